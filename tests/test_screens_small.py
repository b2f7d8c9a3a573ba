"""What a user meets at 80x24: keys that must keep working after the panes change under them,
and text that must stay readable (wrapped under its own column, never cut) in dialogs."""

from __future__ import annotations

from typing import Any

from tests.apptools import demo_app, wait_for
from tui.dialogs.trail_detail import TrailDetailScreen
from tui.panes.base import Pane
from tui.panes.metrics import MetricsPane
from tui.panes.trail import TrailPane
from tui.screens.main import MainScreen


def screen_lines(app: Any) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_metrics_keys_work_after_a_focus_changed_its_target(emulator, demo_world) -> None:
    """:focus an instance, U, then 2: the metrics pane rebuilds its rows for the new target as
    it is shown. The focus went to an old row that was then removed: t, a, m, d did nothing."""
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert await wait_for(pilot, lambda: all(p.has_data() for p in screen.query(Pane)), 30)
        metrics = screen.query_one(MetricsPane)
        before = metrics._row_keys
        screen.focused_resource = demo_world.failing_instance_id
        await pilot.pause(0.5)
        screen.focused_resource = None
        await pilot.pause(0.5)
        await pilot.press("2")
        assert await wait_for(pilot, lambda: metrics._row_keys and metrics._row_keys != before)
        await pilot.pause(0.5)
        assert app.focused is not None and metrics in app.focused.ancestors_with_self
        await pilot.press("t")
        await pilot.pause(0.3)
        assert metrics.query_one("ContentSwitcher").current == "metrics-picker"


async def test_event_detail_shows_the_whole_key_arn_at_80_columns(emulator, demo_world) -> None:
    """The KMS denial's detail: the key ARN (what the key policy fix needs) was cut with an
    ellipsis in the summary; it wraps under its own column now."""
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        pane = app.screen.query_one(TrailPane)
        assert await wait_for(pilot, lambda: any(e.event_name == "Decrypt" for e in pane.view))
        index = next(i for i, e in enumerate(pane.view) if e.event_name == "Decrypt")
        event = pane.view[index]
        arn = next(r for r in event.resources if ":key/" in r)
        pane.table.focus()
        pane.table.move_cursor(index)
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, TrailDetailScreen))
        await pilot.pause(0.2)
        box = app.screen.query_one("#detail-summary").region
        lines = screen_lines(app)[box.y + 1 : box.bottom - 1]
        at = next(i for i, line in enumerate(lines) if "Resources" in line)
        value_col = lines[at].index("arn:")
        shown = ""
        for line in lines[at:]:
            part = line[value_col:].rstrip(" │")
            if line[:value_col].strip(" │") and shown:
                break  # the next label
            shown += part
        assert "…" not in shown and arn in shown, (arn, lines)
