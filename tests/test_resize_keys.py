"""After the terminal shrinks below the minimum and grows back, the pane keys still work."""

from __future__ import annotations

from tests.apptools import demo_app, wait_for
from tui.panes.trail import TrailPane


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
