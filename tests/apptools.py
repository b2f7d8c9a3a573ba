"""Run the real app against the session's emulator, already seeded, as ``hamari --demo`` would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.app import HamariApp
from tui.settings import Settings


@dataclass
class AttachedRuntime:
    """A demo runtime that points at an emulator the test already started and seeded."""

    url: str
    world: Any

    @property
    def credentials(self) -> tuple[str, ...]:
        """Signed in as the scenario's operator, like the real demo runtime."""
        from tui.demo.seed import operator_credentials

        return operator_credentials(self.url)

    def start(self) -> str:
        return self.url

    def seed(self, now: Any) -> Any:
        return self.world

    def start_live(self) -> None:
        """The tests' world stays still, so what they assert is reproducible."""

    def stop(self) -> None:
        """The emulator belongs to the test session."""


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
