"""The CloudTrail pane's ``i``: the filter run in CloudTrail Lake, cost asked first, stoppable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.apptools import demo_app, wait_for
from tests.demo_fixtures import DEMO_NOW
from tui.demo import lake as demo_lake
from tui.demo.seed import DemoWorld, seed
from tui.demo.server import EmbeddedAws
from tui.dialogs.confirm import ConfirmScreen
from tui.panes.trail import TrailPane
from widgets.filter_bar import FilterBar


@pytest.fixture(scope="module")
def world(emulator: EmbeddedAws) -> Iterator[DemoWorld]:
    emulator.reset()
    yield seed(emulator.url, now=DEMO_NOW)
    emulator.faults.clear()
    demo_lake.set_query_delay(0.2)


def _status(pane: TrailPane) -> str:
    return str(pane.query_one(".pane-status").render())


async def _trail_with_filter(pilot: Any, text: str) -> TrailPane:
    app = pilot.app
    assert await wait_for(pilot, lambda: app.demo_world is not None)
    await pilot.press("1")
    pane = app.screen.query_one(TrailPane)
    assert await wait_for(pilot, lambda: pane._complete and bool(pane.events))
    await pilot.press("slash")
    bar = pane.query_one(FilterBar)
    assert await wait_for(pilot, lambda: bar.has_focus)
    bar.value = text
    await pilot.press("enter")
    assert await wait_for(pilot, lambda: pane.filter.text == text)
    pane.table.focus()
    await pilot.pause()
    return pane


async def test_lake_asks_with_the_sql_then_shows_the_filtered_events(
    emulator: EmbeddedAws, world: DemoWorld
) -> None:
    emulator.faults.clear_seen()
    app = demo_app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        pane = await _trail_with_filter(pilot, "error:AccessDenied*")
        loaded = {e.key for e in pane.view}
        assert loaded
        await pilot.press("i")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        body = app.screen.body
        assert "size is unknown" in body and "$0.005/GB" in body  # said before anything runs
        assert "SELECT " in body and "LIKE 'accessdenied%'" in body
        assert not emulator.calls("cloudtrail", "StartQuery")
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: pane.remote is not None and not pane.remote.running)
        run = pane.remote
        assert run is not None and run.error is None, run
        assert {e.key for e in run.events} == loaded  # Lake finds what the loaded events show
        assert pane.table.rows is not None and len(pane.table.rows) == len(run.events)
        assert all(a is b for a, b in zip(pane.view, run.events, strict=True))  # Lake's, shown
        assert "CloudTrail Lake" in _status(pane) and "Complete" in _status(pane)
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not pane.remote_shown)
        assert "CloudTrail Lake" not in _status(pane) and {e.key for e in pane.view} == loaded


async def test_declining_runs_nothing_and_esc_cancels_a_running_query(
    emulator: EmbeddedAws, world: DemoWorld
) -> None:
    emulator.faults.clear_seen()
    app = demo_app(emulator, world)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        pane = await _trail_with_filter(pilot, "source:kms")
        await pilot.press("i")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert not emulator.calls("cloudtrail", "StartQuery") and pane.remote is None

        demo_lake.set_query_delay(30)
        await pilot.press("i")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await wait_for(pilot, lambda: bool(app.aws and app.aws._queries))
        assert "CloudTrail Lake" in _status(pane) and "esc: stop" in _status(pane)
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: bool(emulator.calls("cloudtrail", "CancelQuery")))
        assert not pane.remote_shown and pane.view  # the loaded events are back
        demo_lake.set_query_delay(0.2)
