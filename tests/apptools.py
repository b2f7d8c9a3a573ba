"""Run the real app against the session's emulator, already seeded, as ``hamari --demo`` would."""

from __future__ import annotations

from typing import Any

from tui.app import HamariApp
from tui.aws.ratelimit import RATES, RateLimiters
from tui.aws.session import Aws, connection_for
from tui.demo.runtime import AttachedRuntime
from tui.settings import Settings

__all__ = ["FAST_RATES", "AttachedRuntime", "demo_app", "fast_aws", "wait_for"]

# AWS's published quotas, which hamari paces itself under, at ten times the rate. At 1.8
# LookupEvents/s the trail pane's first load of the demo's ~9 pages waits ~4 s, and every
# retried call waits its turn again: for a test whose subject is what a pane says or does,
# not the pacing (tests/test_aws_cloudtrail.py asserts the pacing itself), that is idle time.
FAST_RATES = {operation: rate * 10 for operation, rate in RATES.items()}


def fast_aws(settings: Settings, url: str, world: Any) -> Aws:
    """The AWS connection the app would open on ``url`` as the scenario's operator, paced at
    :data:`FAST_RATES`."""
    credentials = AttachedRuntime(url, world).credentials
    conn = connection_for(settings, demo_url=url, credentials=credentials)
    return Aws(conn, limiters=RateLimiters(FAST_RATES))


def demo_app(emulator: Any, world: Any, *, fast: bool = False, **settings: Any) -> HamariApp:
    """A HamariApp in demo mode on ``emulator``, with its clock fixed at the world's ``now``;
    ``fast``: its calls paced at :data:`FAST_RATES` rather than at AWS's quotas."""
    config = Settings(demo=True, **settings)
    return HamariApp(
        config,
        clock=lambda: world.now,
        demo_runtime=AttachedRuntime(emulator.url, world),
        aws=fast_aws(config, emulator.url, world) if fast else None,
    )


async def wait_for(pilot: Any, predicate: Any, timeout: float = 15.0, step: float = 0.1) -> bool:
    """Let the app run until ``predicate()`` is true (or the timeout passes)."""
    waited = 0.0
    while waited < timeout:
        if predicate():
            return True
        await pilot.pause(step)
        waited += step
    return bool(predicate())
