"""Run the real app against the session's emulator, already seeded, as ``hamari --demo`` would."""

from __future__ import annotations

from typing import Any

from tui.app import HamariApp
from tui.demo.runtime import AttachedRuntime
from tui.settings import Settings

__all__ = ["AttachedRuntime", "demo_app", "wait_for"]


def demo_app(emulator: Any, world: Any, **settings: Any) -> HamariApp:
    """A HamariApp in demo mode on ``emulator``, with its clock fixed at the world's ``now``."""
    return HamariApp(
        Settings(demo=True, **settings),
        clock=lambda: world.now,
        demo_runtime=AttachedRuntime(emulator.url, world),
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
