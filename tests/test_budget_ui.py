"""Polling that cannot run up a bill, as a user sees it: budget pause, R, idle pause, the $ meter.

Requests are counted where they land, in the emulator's request log, not in hamari's own meter.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.apptools import demo_app, wait_for
from tests.demo_fixtures import DEMO_NOW
from tui.demo.seed import seed
from tui.panes.base import Pane
from tui.screens.chrome import StatusLine
from tui.screens.meter import MeterScreen

# The panes' own polling operations (the instance list and the health check poll on their own,
# every few minutes: not within these tests).
PANE_OPS = (
    ("cloudtrail", "LookupEvents"),
    ("cloudwatch", "GetMetricData"),
    ("logs", "FilterLogEvents"),
)
REFRESH = 0.3  # seconds between pane refreshes in these tests


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    emulator.reset()
    seeded = seed(emulator.url, now=DEMO_NOW)
    emulator.faults.clear_seen()
    return seeded


def pane_calls(emulator: Any) -> int:
    return sum(len(emulator.calls(service, op)) for service, op in PANE_OPS)


def status_text(app: Any) -> str:
    return str(app.screen.query_one(StatusLine).render())


def quiet(app: Any) -> bool:
    return not any(p.refreshing for p in app.screen.query(Pane))


async def test_budget_pauses_polling_the_meter_shows_it_and_R_resumes(
    emulator: Any, world: Any
) -> None:
    emulator.faults.clear_seen()
    app = demo_app(
        emulator, world, since="70m", demo_refresh_seconds=REFRESH, budget_requests_per_hour=10
    )
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        assert await wait_for(pilot, lambda: app.budget.last is not None and app.budget.last.paused)
        assert await wait_for(pilot, lambda: quiet(app))
        await pilot.pause(0.2)
        before = pane_calls(emulator)
        await pilot.pause(REFRESH * 4)  # a couple of refresh intervals and then some
        assert pane_calls(emulator) == before, "panes kept polling over budget"
        text = status_text(app)
        assert "⏸ paused:" in text
        assert "requests in the last hour exceed the budget of 10" in text
        assert "press $ to review, R to resume" in text

        # $: per-API counts, as the emulator saw them (nothing is in flight while paused).
        await pilot.press("dollar_sign")
        assert await wait_for(pilot, lambda: isinstance(app.screen, MeterScreen), 3)
        body = str(app.screen.query_one("#meter-body").render())
        for service, op in PANE_OPS:
            seen = len(emulator.calls(service, op))
            assert seen > 0
            assert f"{service}:{op}".ljust(20) in body
            row = next(line for line in body.splitlines() if f"{service}:{op} " in line)
            assert row.split()[1] == str(seen), row
        assert "Estimated cost (us-east-1 list prices, estimate)" in body
        assert "CloudTrail LookupEvents" in body and "free" in body
        assert "polling is paused" in body
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, MeterScreen), 3)

        # R: polling resumes (for an hour), the status line says so.
        before = pane_calls(emulator)
        await pilot.press("R")
        assert await wait_for(pilot, lambda: pane_calls(emulator) > before, 5)
        assert "⏸" not in status_text(app)
        assert app.budget.last is not None and app.budget.last.resumed


async def test_idle_pauses_polling_and_any_key_resumes(emulator: Any, world: Any) -> None:
    emulator.faults.clear_seen()
    idle_minutes = 0.03  # 1.8 s
    app = demo_app(
        emulator,
        world,
        since="70m",
        demo_refresh_seconds=REFRESH,
        idle_pause_minutes=idle_minutes,
    )
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        panes = list(app.screen.query(Pane))
        assert await wait_for(pilot, lambda: all(p._last_ok is not None for p in panes))
        # Nobody touches a key: after the idle limit, polling stops.
        assert await wait_for(
            pilot, lambda: time.monotonic() - app.last_input_at > idle_minutes * 60 + 0.1
        )
        assert await wait_for(pilot, lambda: quiet(app))
        await pilot.pause(0.2)
        before = pane_calls(emulator)
        await pilot.pause(REFRESH * 4)
        assert pane_calls(emulator) == before, "panes kept polling while idle"
        assert "⏸ idle for 2 s: polling paused, any key resumes" in status_text(app)

        await pilot.press("f9")  # any key, bound or not
        assert "idle" not in status_text(app)
        assert await wait_for(pilot, lambda: pane_calls(emulator) > before, 3)
