"""The CloudTrail pane as a user sees it: the app in demo mode against the embedded AWS."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tests.demo_fixtures import DEMO_NOW
from tests.hostile import HOSTILE
from tui.app import HamariApp
from tui.demo import extensions
from tui.demo.runtime import AttachedRuntime
from tui.demo.seed import seed
from tui.demo.server import FaultRule
from tui.dialogs.trail_detail import TrailDetailScreen
from tui.panes.base import ErrorPanel
from tui.panes.trail import ERROR_MARK, TrailPane
from tui.settings import Settings
from widgets.filter_bar import FilterBar
from widgets.record_table import RecordTable

pytest_plugins = ["tests.demo_fixtures"]


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    emulator.reset()
    seeded = seed(emulator.url, now=DEMO_NOW)
    emulator.faults.clear_seen()
    return seeded


def make_app(emulator: Any, world: Any) -> HamariApp:
    # 70 minutes hold both failed starts and keep the load to a few pages (2 requests/s).
    settings = Settings(demo=True, since="70m")
    return HamariApp(
        settings, clock=lambda: world.now, demo_runtime=AttachedRuntime(emulator.url, world)
    )


async def wait_for(pilot: Any, cond: Callable[[], bool], seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


def visible_rows(table: RecordTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


def static_text(widget: Any) -> str:
    content = widget.content
    if isinstance(content, Text):
        return content.plain
    if isinstance(content, Table):  # the event summary's grid, rendered wide
        console = Console(width=400, record=True, file=io.StringIO())
        console.print(content)
        return console.export_text()
    return str(content)


async def test_filter_detail_and_related(emulator: Any, world: Any) -> None:
    app = make_app(emulator, world)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        pane = app.screen.query_one(TrailPane)
        table = pane.table
        await wait_for(pilot, lambda: pane._complete and table.row_count > 50)
        status = static_text(pane.query_one(".pane-status"))
        assert "scanned" in status and "pages" in status and "complete up to" in status
        assert "req/s" in status
        total = table.row_count

        # A malformed filter: error at its column, the table unchanged.
        await pilot.press("slash", *"name:Start* bogus:x", "enter")
        bar = pane.query_one(FilterBar)
        assert bar.error is not None and "col 13" in bar.error
        assert table.row_count == total

        # Denials only.
        bar.value = ""
        await pilot.press(*"error:AccessDenied*", "enter")
        await wait_for(pilot, lambda: table.row_count == 4)
        assert {e.event_name for e in pane.view} == {"CreateGrant", "Decrypt"}
        rows = [r for r in visible_rows(table) if ERROR_MARK in r]
        assert len(rows) == 4 and all("AccessDenied" in r for r in rows)

        # The failed start, and its related events one key away.
        await pilot.press("slash")
        bar.value = ""
        await pilot.press(*"name:StartInstances", "enter")
        await wait_for(pilot, lambda: table.row_count == 2)
        start = pane.selected
        assert start is not None and start.event_name == "StartInstances"
        assert start.event_time > world.now - timedelta(minutes=40)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TrailDetailScreen))
        detail = app.screen
        assert "StartInstances" in static_text(detail.query_one("#detail-summary"))
        await pilot.press("r")
        related = detail.related
        assert related is not None
        denied = [i.event for i in related.errors]
        assert sorted(e.event_name for e in denied) == ["CreateGrant", "Decrypt"]
        assert all(e.invoked_by == "ec2.amazonaws.com" for e in denied)
        shown = "\n".join(visible_rows(detail.query_one("#detail-related", RecordTable)))
        assert "kms:CreateGrant" in shown and "✖ AccessDenied" in shown and "via ec2" in shown
        # enter opens the related event under the cursor (the first failure); esc comes back.
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not detail)
        assert app.screen.event.is_error
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TrailDetailScreen))


async def test_hostile_strings_render_literally(emulator: Any, world: Any) -> None:
    at = world.now - timedelta(minutes=3)
    records = []
    for index, text in enumerate(HOSTILE):
        records.append(
            {
                "eventVersion": "1.10",
                "eventTime": f"{at + timedelta(seconds=index):%Y-%m-%dT%H:%M:%SZ}",
                "eventSource": "ec2.amazonaws.com",
                "eventName": f"Hostile{index}{text}",
                "eventID": f"hostile-{index:04d}",
                "userAgent": text,
                "sourceIPAddress": text,
                "awsRegion": "us-east-1",
                "userIdentity": {"type": "IAMUser", "userName": text, "arn": "arn:x"},
            }
        )
    extensions.record_events(records)
    app = make_app(emulator, world)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        pane = app.screen.query_one(TrailPane)
        await wait_for(pilot, lambda: pane._complete)
        await pilot.press("slash", *"name:Hostile*", "enter")
        await wait_for(pilot, lambda: pane.table.row_count == len(HOSTILE))
        lines = visible_rows(pane.table)
        joined = "\n".join(lines)
        for bad in ("\x1b", "\x07", "\x9b", "\x00", "\u202e"):
            assert bad not in joined
        assert "\\x1b" in joined and "[/]" in joined  # shown, not interpreted
        # The detail screen too (titles, summary, JSON), for escape sequences and markup.
        picks = [
            i for i, e in enumerate(pane.view) if "[" in e.event_name or "\x1b]52" in e.event_name
        ]
        for index in picks[:4]:
            pane.table.move_cursor(index)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, TrailDetailScreen))
            summary = static_text(app.screen.query_one("#detail-summary"))
            assert "\x1b" not in summary
            await pilot.press("r")
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, TrailDetailScreen))
        assert app.is_running


async def test_access_denied_on_lookup_is_inline(emulator: Any, world: Any) -> None:
    emulator.faults.add(FaultRule("cloudtrail", "LookupEvents", "access_denied"))
    try:
        app = make_app(emulator, world)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            pane = app.screen.query_one(TrailPane)
            panel = pane.query_one(ErrorPanel)
            await wait_for(pilot, lambda: panel.has_class("-shown"))
            assert "cloudtrail:LookupEvents" in static_text(panel)
            metrics = app.screen.query_one("#metrics")
            await wait_for(pilot, metrics.has_data, seconds=20)
    finally:
        emulator.faults.clear()


async def test_status_says_how_many_duplicates_were_folded(
    emulator: Any, world: Any, tmp_path: Any
) -> None:
    import json

    def event(event_id: str, name: str) -> dict[str, Any]:
        return {
            "eventTime": f"{world.now - timedelta(minutes=30):%Y-%m-%dT%H:%M:%SZ}",
            "eventID": event_id,
            "eventName": name,
            "eventSource": "ec2.amazonaws.com",
            "userIdentity": {"type": "IAMUser", "userName": "alice"},
        }

    # One eventID for two calls (kept apart), and the whole file delivered twice (folded).
    calls = [event("same", "StartInstances"), event("same", "StopInstances"), event("b", "X")]
    (tmp_path / "a.json").write_text(json.dumps({"Records": calls}))
    (tmp_path / "b.json").write_text(json.dumps({"Records": calls}))
    settings = Settings(demo=True, since="70m", trail_source=str(tmp_path))
    app = HamariApp(
        settings, clock=lambda: world.now, demo_runtime=AttachedRuntime(emulator.url, world)
    )
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.screen.query_one(TrailPane)
        await wait_for(pilot, lambda: pane._complete and len(pane.view) == 3)
        status = static_text(pane.query_one(".pane-status"))
        assert "3 shown · 3 duplicates folded" in status
        assert sorted(e.event_name for e in pane.view) == ["StartInstances", "StopInstances", "X"]
