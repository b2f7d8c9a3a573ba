"""Pytest fixtures for the embedded AWS: one emulator per session, a fresh seeded world per test.

Use from a test module with ``pytest_plugins = ["tests.demo_fixtures"]`` or import the fixtures
into ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tui.demo.seed import DemoWorld, seed
from tui.demo.server import EmbeddedAws

# The demo's "now" in tests, screenshots and benchmarks: fixed for the session (the start of the
# current UTC hour), so every reseed gives the same world. It cannot be a constant date: like AWS,
# CloudWatch Logs drops events older than 14 days and LookupEvents looks back 90 days by default.
DEMO_NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)

__all__ = ["DEMO_NOW", "demo_now", "demo_world", "emulator"]


@pytest.fixture(scope="session")
def demo_now() -> datetime:
    """The demo's fixed "now" for this session."""
    return DEMO_NOW


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmbeddedAws]:
    """The embedded AWS, started once for the whole session."""
    aws = EmbeddedAws()
    aws.start()
    try:
        yield aws
    finally:
        aws.stop()


_SEEDED: dict[str, Any] = {}  # the last world seeded here, and the emulator's state token after


@pytest.fixture
def demo_world(emulator: EmbeddedAws) -> DemoWorld:
    """The demo world as seeded, with no fault rule and an empty request log."""
    return seeded_demo(emulator)


def seeded_demo(emulator: EmbeddedAws) -> DemoWorld:
    """The demo world as seeded, with no fault rule and an empty request log.

    Seeding costs seconds; when nothing has written to the emulator since the last seeding (no
    reset, no mutating request, no direct write: :meth:`EmbeddedAws.state_token`), that world is
    handed out again instead of resetting and seeding anew.
    """
    assert emulator.faults is not None
    emulator.faults.clear()
    world = _SEEDED.get("world")
    if world is None or _SEEDED.get("token") != emulator.state_token():
        emulator.reset()
        world = seed(emulator.url, now=DEMO_NOW)
        _SEEDED.update(world=world, token=emulator.state_token())
    emulator.faults.clear_seen()  # the seeding's own requests are not the product's
    return world
