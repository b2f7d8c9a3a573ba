"""After the terminal shrinks below the minimum and grows back, the pane keys still work."""

from __future__ import annotations

from tests.apptools import demo_app, wait_for
from tui.panes.trail import TrailPane
from widgets.filter_bar import FilterBar


async def test_pane_keys_work_after_a_resize_to_tiny_and_back(emulator, demo_world) -> None:
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        trail = app.screen.query_one(TrailPane)
        assert await wait_for(pilot, lambda: trail.has_data() and not trail.refreshing, 30)
        await pilot.resize_terminal(20, 5)
        await pilot.pause(0.2)
        await pilot.resize_terminal(120, 36)
        await pilot.pause(0.2)
        before = trail.errors_only
        await pilot.press("e")
        await pilot.pause(0.1)
        assert trail.errors_only is not before, app.focused
        await pilot.press("slash")
        await pilot.pause(0.1)
        assert trail.filter_bar.has_focus


async def test_keys_typed_ahead_reach_the_pane_they_were_typed_for(emulator, demo_world) -> None:
    """Over a slow link keys arrive in a burst: "3" then "/" must open the flow pane's filter,
    even when both are read before the screen refreshes (the pane's focus used to wait for it)."""
    from textual import events

    from tui.panes.flows import FlowsPane

    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(120, 36)) as pilot:
        trail = app.screen.query_one(TrailPane)
        flows = app.screen.query_one(FlowsPane)
        assert await wait_for(pilot, lambda: trail.has_data() and not trail.refreshing, 30)
        assert trail in app.focused.ancestors_with_self
        for key, char in (("3", "3"), ("slash", "/")):  # one burst: no refresh in between
            app.post_message(events.Key(key, char))
        await pilot.pause(0.3)
        assert flows.query_one(FilterBar).has_focus, app.focused
        assert not trail.filter_bar.has_class("-shown")
        await pilot.press("escape")
        for key, char in (("1", "1"), ("slash", "/")):
            app.post_message(events.Key(key, char))
        await pilot.pause(0.3)
        assert trail.filter_bar.has_focus, app.focused
