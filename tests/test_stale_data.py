"""Data is never shown as live when it is not: behind an endpoint that accepts and never answers,
or answers a byte at a time, every pane turns STALE within seconds of a missed refresh (its title
and border), follow mode says it stalled, and every call ends at its outer deadline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.apptools import AttachedRuntime, fast_aws, wait_for
from tests.faultproxy import FaultProxy
from tui.app import HamariApp
from tui.aws.errors import CallTimeoutError
from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
from tui.models.timewindow import utc_now
from tui.panes.base import STALE_GRACE_SECONDS, Pane, format_age
from tui.panes.flows import FlowsPane
from tui.panes.metrics import MetricsPane
from tui.panes.trail import TrailPane
from tui.settings import Settings


@pytest.fixture
def proxy(emulator: Any) -> Iterator[FaultProxy]:
    emulator.faults.clear()
    with FaultProxy(emulator.url, drip_seconds=0.2) as running:
        yield running


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0.4, "<10s"),
        (9.9, "<10s"),
        (10, "10s"),
        (59, "50s"),
        (61, "1m"),
        (7200, "2h"),
        (3 * 86400, "3d"),
        (-3, "<10s"),
    ],
)
def test_ages_are_short_and_coarse(seconds: float, said: str) -> None:
    assert format_age(seconds) == said


async def test_an_ageing_title_repaints_the_pane_only_when_its_text_changes(
    emulator: Any, demo_world: Any
) -> None:
    """Every repaint of a pane is sent to the terminal whole (~4.5 KB at 80x24): a title that
    ticked each second filled a slow SSH link with the same pane, over and over."""
    from datetime import timedelta

    now = [utc_now()]
    settings = Settings(demo=True, demo_refresh_seconds=600.0)
    app = HamariApp(
        settings,
        clock=lambda: now[0],
        demo_runtime=AttachedRuntime(emulator.url, demo_world),
        aws=fast_aws(settings, emulator.url, demo_world),
    )
    async with app.run_test(size=(80, 24)) as pilot:
        trail = app.screen.query_one(TrailPane)
        assert await wait_for(pilot, lambda: trail.loaded_at is not None, 40)
        trail.loaded_at = now[0]
        trail._tick_age()
        repaints = 0
        real_refresh = trail.refresh

        def counting_refresh(*args: Any, **kwargs: Any) -> Any:
            nonlocal repaints
            repaints += 1
            return real_refresh(*args, **kwargs)

        trail.refresh = counting_refresh  # type: ignore[method-assign]
        titles = []
        for _ in range(12):
            now[0] += timedelta(seconds=1)
            trail._tick_age()
            titles.append(_title(trail))
        trail.refresh = real_refresh  # type: ignore[method-assign]
        assert "<10s ago" in titles[0] and "10s ago" in titles[-1], titles
        assert repaints == 1, (repaints, titles)  # once, when "<10s" became "10s"


@pytest.mark.parametrize("mode", ["black_hole", "drip"])
async def test_every_call_ends_at_its_outer_deadline(proxy: FaultProxy, mode: str) -> None:
    aws = Aws(
        Connection(
            region="us-east-1",
            endpoint_url=proxy.url,
            demo=True,
            static_credentials=DEMO_CREDENTIALS,
            call_timeout=0.5,
        ),
        backoff_base=0,
        max_throttle_retries=0,
    )
    try:
        assert (await aws.call("sts", "GetCallerIdentity"))["Account"]
        proxy.mode = mode  # type: ignore[assignment]
        began = time.monotonic()
        with pytest.raises(CallTimeoutError):
            await aws.call("sts", "GetCallerIdentity")
        assert time.monotonic() - began < 3.0
    finally:
        proxy.mode = "pass"
        await aws.close()


def _title(pane: Pane) -> str:
    title = pane.border_title
    return getattr(title, "plain", str(title))


@pytest.mark.parametrize("mode", ["black_hole", "drip"])
async def test_panes_turn_stale_within_seconds_of_a_missed_refresh(
    emulator: Any, demo_world: Any, proxy: FaultProxy, mode: str
) -> None:
    settings = Settings(demo=True, demo_refresh_seconds=1.0, call_timeout=4.0)
    app = HamariApp(
        settings,
        clock=utc_now,
        demo_runtime=AttachedRuntime(proxy.url, demo_world),
        aws=fast_aws(settings, proxy.url, demo_world),
    )
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        panes = list(app.screen.query(Pane))
        assert await wait_for(
            pilot, lambda: all(p.has_data() and p.loaded_at is not None for p in panes), 40
        )
        await pilot.pause(1.5)
        assert all(" ago" in _title(p) and not p.stale for p in panes), [_title(p) for p in panes]
        trail = app.screen.query_one(TrailPane)
        assert "● follow" in str(trail.border_subtitle)

        proxy.mode = mode  # type: ignore[assignment]
        # Due after 1 s, stale 5 s later; long before any call's deadline gives up (4 s x 5).
        assert await wait_for(
            pilot, lambda: all(p.stale for p in panes), 1 + STALE_GRACE_SECONDS + 3
        )
        for pane in panes:
            assert "⚠ STALE" in _title(pane), _title(pane)
            assert pane.has_class("-stale")
        assert "follow ⚠ stalled" in str(trail.border_subtitle)
        flows = app.screen.query_one(FlowsPane)
        assert "follow ⚠ stalled" in str(flows.query_one(".pane-status").render())
        # The metrics status line says STALE where it is seen: it is cut at the pane's width.
        metrics = app.screen.query_one(MetricsPane)
        status = metrics.query_one(".pane-status")
        assert await wait_for(pilot, lambda: "STALE" in str(status.render()), 10)
        assert "STALE" in str(status.render())[: status.size.width - 1], str(status.render())

        proxy.mode = "pass"
        assert await wait_for(pilot, lambda: not any(p.stale for p in panes), 30), [
            _title(p) for p in panes
        ]
        assert "● follow" in str(trail.border_subtitle)
