"""Start, seed, keep live and stop the embedded AWS, for ``hamari --demo`` and the screenshots.

Each step is blocking and meant to run in a thread, so the UI paints first. :meth:`begin` starts
the emulator and the seeding in a background thread right away (the CLI calls it before the app
is even imported), so that seeding overlaps the app's own start-up; :meth:`start` and :meth:`seed`
then just wait for what :meth:`begin` started.
"""

from __future__ import annotations

import functools
import gc
import threading
from datetime import datetime
from typing import Any

S3_SETTLE_SECONDS = 4.0


class DemoRuntime:
    """The emulator's life cycle as the app sees it."""

    def __init__(self, *, live_interval: float = 3.0) -> None:
        self.live_interval = live_interval
        self.server: Any = None
        self.world: Any = None
        self.credentials: tuple[str, ...] | None = None  # the operator's, once started
        self.feeder: Any = None
        self._ready = threading.Event()
        self._seeded = threading.Event()
        self._finished = threading.Event()
        self._live = threading.Event()  # start_live was called: the panes are starting
        self._closing = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def begin(self, now: datetime) -> None:
        """Start the emulator and seed it at ``now``, in a background thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, args=(now,), name="hamari-demo-seed", daemon=True
        )
        self._thread.start()

    def _run(self, now: datetime) -> None:
        try:
            self._start_server()
            # moto's import leaves ~250k long-lived objects; move them out of the collector's
            # reach, or every full collection during start-up scans them all (~0.2 s each).
            gc.freeze()
            self._ready.set()
            from tui.demo.seed import seed

            later: list[Any] = []
            self.world = seed(self.server.url, now=now, defer=later.append)
            self._seeded.set()
            # S3 files (trail and flow-log archives): no pane reads them by default, and
            # building them (Parquet, gzip) costs CPU the panes' first loads need. Write them
            # once the panes have had their start, or at once if nobody starts them.
            if self._live.wait(timeout=30):
                self._closing.wait(S3_SETTLE_SECONDS)
            if not self._closing.is_set():  # quitting: nobody will read them
                for write in later:
                    write()
        except BaseException as exc:  # reported to the waiting caller
            self._error = exc
        finally:
            self._ready.set()
            self._seeded.set()
            self._finished.set()

    def _start_server(self) -> str:
        from tui.demo.server import EmbeddedAws

        if self.server is None:
            from tui.demo.seed import operator_credentials

            self.server = EmbeddedAws()
            self.server.start()
            self.credentials = operator_credentials(self.server.url)
        return str(self.server.url)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def start(self) -> str:
        """The emulator's URL (started now, unless :meth:`begin` already did)."""
        if self._thread is None:
            return self._start_server()
        self._ready.wait()
        self._raise()
        return str(self.server.url)

    def seed(self, now: datetime) -> Any:
        """The seeded world (seeded now, unless :meth:`begin` already did)."""
        if self._thread is None:
            from tui.demo.seed import seed

            assert self.server is not None
            self.world = seed(self.server.url, now=now)
            return self.world
        self._seeded.wait()
        self._raise()
        return self.world

    def start_live(self) -> None:
        from tui.demo.live import LiveFeeder

        self._live.set()
        if self.server is None or self.world is None or self.feeder is not None:
            return
        self.feeder = LiveFeeder(self.server.url, self.world, interval=self.live_interval)
        self.feeder.start()

    def stop(self) -> None:
        self._closing.set()
        self._live.set()
        if self.feeder is not None:
            self.feeder.stop()
            self.feeder = None
        if self._thread is not None:
            self._finished.wait(timeout=10)
        if self.server is not None:
            self.server.stop()
            self.server = None


class AttachedRuntime:
    """A runtime for an emulator already started and seeded elsewhere (tests, screenshots).

    The app signs in as the scenario's operator, like with :class:`DemoRuntime`; the world stays
    still (nothing live) and the emulator belongs to whoever started it (nothing is stopped).
    """

    def __init__(self, url: str, world: Any) -> None:
        self.url, self.world = url, world

    @functools.cached_property
    def credentials(self) -> tuple[str, ...]:
        from tui.demo.seed import operator_credentials

        return operator_credentials(self.url, self.world)

    def start(self) -> str:
        return self.url

    def seed(self, now: datetime) -> Any:
        return self.world

    def start_live(self) -> None:
        """The world stays still, so that what is shown or asserted is reproducible."""

    def stop(self) -> None:
        """The emulator belongs to whoever started it."""
