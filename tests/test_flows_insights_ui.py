"""The flow pane's "run remotely" action: Logs Insights with the cost asked first, stoppable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.apptools import demo_app, wait_for
from tests.demo_fixtures import DEMO_NOW
from tui.demo.seed import DemoWorld, seed
from tui.demo.server import EmbeddedAws, FaultRule
from tui.dialogs.confirm import ConfirmScreen
from tui.panes.flows import FlowsPane
from widgets.filter_bar import FilterBar


@pytest.fixture(scope="module")
def world(emulator: EmbeddedAws) -> Iterator[DemoWorld]:
    emulator.reset()
    yield seed(emulator.url, now=DEMO_NOW)
    emulator.faults.clear()


def _status(pane: FlowsPane) -> str:
    return str(pane.query_one(".pane-status").render())


async def _flows_with_filter(pilot: Any, text: str) -> FlowsPane:
    app = pilot.app
    assert await wait_for(pilot, lambda: app.demo_world is not None)
    await pilot.press("3")
    pane = app.screen.query_one(FlowsPane)
    assert await wait_for(pilot, lambda: bool(pane.records) and pane._loaded_for is not None)
    await pilot.press("slash")
    bar = pane.query_one(FilterBar)
    assert await wait_for(pilot, lambda: bar.has_focus)
    bar.value = text
    await pilot.press("enter")
    assert await wait_for(pilot, lambda: pane.filter is not None and pane.filter.text == text)
    pane.table.focus()
    await pilot.pause()
    return pane


async def test_insights_asks_with_the_cost_then_shows_only_matching_records(
    emulator: EmbeddedAws, world: DemoWorld
) -> None:
    emulator.faults.clear_seen()
    app = demo_app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        pane = await _flows_with_filter(pilot, "action=REJECT")
        loaded = len(pane.records)
        await pilot.press("i")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        body = app.screen.body
        assert "GB" in body and "$" in body  # the estimate, before anything runs
        assert "action=REJECT" in body and '| filter action = "REJECT"' in body
        assert not emulator.calls("logs", "StartQuery")  # nothing runs before the answer
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: pane.remote is not None and not pane.remote.running)
        run = pane.remote
        assert run is not None and run.error is None, run
        assert run.records and all(r.action == "REJECT" for r in run.records)
        assert pane.table.rows is not None and len(pane.table.rows) == len(run.records)
        assert "Logs Insights" in _status(pane) and "Complete" in _status(pane)
        assert emulator.calls("logs", "StartQuery")
        # esc: back to the loaded records, untouched.
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not pane.showing_remote)
        assert len(pane.records) >= loaded
        assert "Logs Insights" not in _status(pane)


async def test_declining_runs_nothing_and_esc_stops_a_running_query(
    emulator: EmbeddedAws, world: DemoWorld
) -> None:
    emulator.faults.clear_seen()
    app = demo_app(emulator, world)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        pane = await _flows_with_filter(pilot, "dstport=443")
        await pilot.press("i")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert not emulator.calls("logs", "StartQuery") and pane.remote is None

        emulator.faults.add(FaultRule("logs", "GetQueryResults", "slow", delay=2.0))
        await pilot.press("i")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await wait_for(pilot, lambda: bool(app.aws and app.aws._queries))
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: bool(emulator.calls("logs", "StopQuery")))
        assert not pane.showing_remote and pane.records  # the loaded records are still there
        emulator.faults.clear()
