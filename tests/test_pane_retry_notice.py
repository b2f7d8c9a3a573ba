"""A first load that AWS throttles (or fails transiently) is retried after a backoff of up to
~8 s: the pane says so at once (which API, that it retries, when), not only the app's status
line, while the table is still empty; and nothing else on its status line is lost."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.apptools import demo_app, wait_for
from tui.demo.server import FaultRule
from tui.panes.trail import TrailPane

BACKOFF = 4.0


@pytest.mark.parametrize(
    ("kind", "message", "said"),
    [
        ("throttled", "", "⚠ AWS is throttling cloudtrail:LookupEvents: retry 1 of 4 in 3 s"),
        (
            "retrying",
            "cloudtrail:LookupEvents failed on the AWS side (InternalFailure).",
            "⚠ cloudtrail:LookupEvents failed on the AWS side (InternalFailure): retry 1 of 4 in 3 s",
        ),
        (
            "retrying",
            "\x1b[31mInternalFailure\x1b[0m",  # AWS's text: escaped, and the API named
            "⚠ cloudtrail:LookupEvents: \\x1b[31mInternalFailure\\x1b[0m: retry 1 of 4 in 3 s",
        ),
    ],
)
def test_the_notice_says_what_is_retried_and_when(kind: str, message: str, said: str) -> None:
    """The words of the notice for each kind of retry (the pane test below drives one of them
    end to end: a throttled first load)."""
    from types import SimpleNamespace

    from tui.aws.session import AwsEvent
    from tui.panes.base import Pane

    event = AwsEvent(kind, "cloudtrail", "LookupEvents", message, 2.5, attempt=1, attempts=4)
    pane = SimpleNamespace(_retry=(event, time.monotonic() + 2.5))
    assert Pane.retry_notice(pane) == said  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "said"),
    [("throttle", "⚠ AWS is throttling cloudtrail:LookupEvents: retry 1 of 4 in ")],
)
async def test_a_throttled_first_load_is_said_in_the_pane_at_once_with_when_it_retries(
    emulator: Any, demo_world: Any, monkeypatch: pytest.MonkeyPatch, kind: str, said: str
) -> None:
    monkeypatch.setattr("tui.aws.session.Aws._backoff", lambda self, attempt: BACKOFF)
    emulator.faults.add(FaultRule("cloudtrail", "LookupEvents", kind, times=1))
    app = demo_app(emulator, demo_world, fast=True, demo_refresh_seconds=30.0)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        pane = app.screen.query_one(TrailPane)

        def status() -> str:
            return str(pane.query_one(".pane-status").render())

        def refused() -> bool:
            return any(r.operation == "LookupEvents" for r in emulator.requests_seen)

        assert await wait_for(pilot, refused, 30)
        started = time.monotonic()
        assert await wait_for(pilot, lambda: said in status(), 1.0), status()
        assert time.monotonic() - started < BACKOFF / 2  # at once, not after the backoff
        line = status()
        assert "retry 1 of 4 in 4 s" in line or "retry 1 of 4 in 3 s" in line, line
        assert said in pane.table.empty_text  # the empty table says why it is empty
        rest = line.split(" · ", 1)[1]  # what the line said before is still there
        assert rest.startswith("scanned 0 events in 0 pages") and "loading…" in rest, line
        assert "complete up to" not in rest, line  # nothing is loaded yet
        # The retry answers: the notice goes, the events come.
        assert await wait_for(pilot, lambda: pane._complete and pane.has_data(), 20)
        await pilot.pause(0.2)
        assert "⚠" not in status() and "scanned " in status(), status()
        assert "retry" not in pane.table.empty_text
