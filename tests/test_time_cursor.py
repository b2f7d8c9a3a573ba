"""The shared time cursor, the UTC/local toggle and the window prompt, as a user meets them."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from tests.apptools import demo_app, wait_for
from tests.demo_fixtures import DEMO_NOW
from tui.demo.seed import seed
from tui.dialogs.chart import ChartScreen
from tui.dialogs.trail_detail import TrailDetailScreen
from tui.panes.flowrows import FlowRows, nearest_record
from tui.panes.flows import FlowsPane
from tui.panes.metrics import MetricsPane, SeriesRow
from tui.panes.trail import TrailPane
from tui.screens.chrome import HeaderBar
from tui.screens.main import MainScreen, TextPrompt
from widgets.sparkline import LeanSparkline


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    emulator.reset()
    return seed(emulator.url, now=DEMO_NOW)


def screen_text(app: Any) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def header(main: MainScreen) -> str:
    return str(main.query_one(HeaderBar).render())


def loaded(main: MainScreen) -> bool:
    trail, flows = main.query_one(TrailPane), main.query_one(FlowsPane)
    return bool(trail.view) and bool(flows.matched) and not flows.refreshing


async def test_trail_selection_moves_the_shared_cursor_and_the_flows_follow(
    emulator: Any, world: Any
) -> None:
    app = demo_app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        assert await wait_for(pilot, lambda: loaded(main), 20)
        trail, flows = main.query_one(TrailPane), main.query_one(FlowsPane)
        assert main.time_cursor is None and "⌖" not in header(main)
        assert trail.table.has_focus

        await pilot.press("G")  # the oldest event of the window, hours before the newest flows
        event = trail.selected
        assert event is not None
        assert await wait_for(pilot, lambda: main.time_cursor == event.event_time, 10)
        await pilot.pause()
        assert f"⌖ {event.event_time:%H:%M:%S}" in header(main)
        # The trail keeps the user's cursor and marks the event; the flows jump to the nearest.
        assert trail.selected is event and trail._marked_id == event.key
        expected = nearest_record(flows.matched, event.event_time)
        assert expected is not None
        rows = flows.table.rows
        assert isinstance(rows, FlowRows)
        assert flows.table.cursor_row == len(flows.matched) - 1 - expected
        assert rows.style(flows.table.cursor_row) == "mark"
        assert flows.table.cursor_row > 0  # it really moved from the newest record

        await pilot.press("escape")
        assert await wait_for(pilot, lambda: main.time_cursor is None, 10)
        assert "⌖" not in header(main)

        # w asks for the window; 30m makes it the last 30 minutes for every pane.
        await pilot.press("w")
        assert await wait_for(pilot, lambda: isinstance(app.screen, TextPrompt), 10)
        await pilot.press("n", "o", "p", "e", "enter")
        assert isinstance(app.screen, TextPrompt)  # refused with a sentence, still open
        for _ in range(4):
            await pilot.press("backspace")
        await pilot.press("3", "0", "m", "enter")
        assert await wait_for(pilot, lambda: app.screen is main, 10)
        assert main.window.duration == timedelta(minutes=30) and main.window.live
        assert trail.window == main.window and flows.window == main.window
        await pilot.pause()
        assert "⏱ last 30m" in header(main)


async def test_utc_toggle_and_the_metrics_cursor(
    emulator: Any, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        app = demo_app(emulator, world)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            main = app.screen
            assert isinstance(main, MainScreen)
            assert await wait_for(pilot, lambda: loaded(main), 20)
            trail = main.query_one(TrailPane)
            first = trail.view[0]
            utc_cell = trail.table.rows[0][0]
            assert first.event_time.strftime("%H:%M:%S") in utc_cell

            await pilot.press("T")
            await pilot.pause()
            assert not main.utc and "JST" in header(main)
            local = (first.event_time + timedelta(hours=9)).strftime("%H:%M:%S")
            assert local in trail.table.rows[0][0]
            # The detail view speaks the same zone (and keeps UTC beside it).
            trail.table.focus()
            trail.table.move_cursor(0)
            await pilot.press("enter")
            assert await wait_for(pilot, lambda: isinstance(app.screen, TrailDetailScreen), 5)
            summary = "\n".join(screen_text(app))  # the summary, as drawn
            assert f"{local} JST" in summary and f"({first.event_time:%H:%M:%S} UTC)" in summary
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: app.screen is main, 5)
            await pilot.press("T")
            await pilot.pause()
            assert main.utc and "JST" not in header(main)
            assert trail.table.rows[0][0] == utc_cell

            # ←/→ on a metrics row walk its datapoints; every sparkline marks the instant.
            await pilot.press("2")
            metrics = main.query_one(MetricsPane)
            assert await wait_for(pilot, lambda: bool(metrics.query(SeriesRow)), 20)
            row = metrics.query(SeriesRow).first()
            row.focus()
            await pilot.pause()
            await pilot.press("left", "left")
            stamps = row.view.timestamps
            assert await wait_for(pilot, lambda: main.time_cursor == stamps[-2], 10)
            assert row.query_one(LeanSparkline).marker == len(stamps) - 2
            assert f"⌖ {stamps[-2]:%H:%M:%S}" in header(main)

            # The chart draws the cursor; [ and ] select a span that enter makes the window.
            await pilot.press("enter")
            assert await wait_for(pilot, lambda: isinstance(app.screen, ChartScreen), 5)
            chart = app.screen
            assert isinstance(chart, ChartScreen) and chart.cursor == stamps[-2]
            await pilot.press("right_square_bracket", "left", "left", "left", "left_square_bracket")
            span = chart.span()
            assert span is not None and span.end == stamps[-2]
            await pilot.press("enter")
            assert await wait_for(pilot, lambda: app.screen is main, 10)
            assert await wait_for(pilot, lambda: main.window == span, 10)
            assert not main.window.live
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize(
    ("count", "width", "marker", "cell"),
    [
        (3, 10, 0, 3),  # fewer points than cells: the last cell the point spans
        (3, 10, 2, 9),
        (3, 10, -1, 9),
        (100, 10, 55, 5),  # more points than cells: the bucket holding it
        (100, 10, 99, 9),
        (5, 10, 5, None),  # out of range: no mark
        (5, 10, None, None),
        (0, 10, 0, None),
    ],
)
def test_sparkline_marker_cell(count: int, width: int, marker: int | None, cell: Any) -> None:
    spark = LeanSparkline([float(i) for i in range(count)], marker=marker)
    assert spark.marker_cell(width) == cell
    assert LeanSparkline([1.0, 2.0]).marker is None  # backward compatible: no mark by default


def test_detail_views_follow_the_utc_toggle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local/UTC applies everywhere, detail views included: local time with UTC beside it."""
    import time as _time
    from datetime import UTC, datetime

    from tui.dialogs.flow_detail import record_fields
    from tui.models.flowlog import FlowLogParser
    from tui.models.timewindow import format_instant

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    _time.tzset()
    try:
        when = datetime(2026, 11, 28, 14, 18, 20, tzinfo=UTC)
        assert format_instant(when, utc=True) == "2026-11-28 14:18:20 UTC"
        assert format_instant(when, utc=False) == "2026-11-28 23:18:20 JST (14:18:20 UTC)"
        start = int(when.timestamp())
        line = (
            f"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 5555 6 1 40 {start} {start + 60} REJECT OK"
        )
        record = FlowLogParser().feed_line(line)
        assert record is not None
        notes = {name: note for name, _, note in record_fields(record, utc=False)}
        assert notes["start"] == "2026-11-28 23:18:20 JST (14:18:20 UTC)"
        notes = {name: note for name, _, note in record_fields(record, utc=True)}
        assert notes["start"] == "2026-11-28 14:18:20 UTC"
    finally:
        monkeypatch.delenv("TZ")
        _time.tzset()
