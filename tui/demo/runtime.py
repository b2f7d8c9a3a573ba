"""Start, seed, keep live and stop the embedded AWS, for ``hamari --demo`` and the screenshots.

Each step is blocking and meant to run in a thread, so the UI paints first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


class DemoRuntime:
    """The emulator's life cycle as the app sees it."""

    def __init__(self, *, live_interval: float = 3.0) -> None:
        self.live_interval = live_interval
        self.server: Any = None
        self.world: Any = None
        self.feeder: Any = None

    def start(self) -> str:
        from tui.demo.server import EmbeddedAws

        self.server = EmbeddedAws()
        return str(self.server.start())

    def seed(self, now: datetime) -> Any:
        from tui.demo.seed import seed

        assert self.server is not None
        self.world = seed(self.server.url, now=now)
        return self.world

    def start_live(self) -> None:
        from tui.demo.live import LiveFeeder

        if self.server is None or self.world is None or self.feeder is not None:
            return
        self.feeder = LiveFeeder(self.server.url, self.world, interval=self.live_interval)
        self.feeder.start()

    def stop(self) -> None:
        if self.feeder is not None:
            self.feeder.stop()
            self.feeder = None
        if self.server is not None:
            self.server.stop()
            self.server = None
