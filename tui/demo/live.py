"""Keep the demo live: new datapoints, flow records and CloudTrail events every few seconds.

The seeded world covers the 3 hours before ``world.now``; :class:`LiveFeeder` extends it to the
real present, through the same boto3 and extension paths as :mod:`tui.demo.seed`, so the product's
follow modes and pollers have something new to show.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from . import extensions
from .seed import (
    DemoWorld,
    clients,
    flow_records,
    metric_data,
    noise_events,
    put_flow_records_cwl,
    put_metrics,
    start_attempt_events,
)

__all__ = ["MAX_CATCH_UP", "LiveFeeder"]

# After a pause (or with a seeded ``now`` in the past) a tick writes at most this much history.
MAX_CATCH_UP = timedelta(minutes=10)


class LiveFeeder:
    """A daemon thread that appends fresh demo data every ``interval`` seconds.

    Each tick writes the datapoints of the minutes since the last tick (the current minute
    included), the flow records of the elapsed time (REJECTed return legs included), and now and
    then CloudTrail events: noise, and every ``failed_start_every`` ticks another failed start of
    the failing instance.
    """

    def __init__(
        self,
        url: str,
        world: DemoWorld,
        *,
        interval: float = 3.0,
        failed_start_every: int = 20,
        clock: type[datetime] = datetime,
    ) -> None:
        self.url = url
        self.world = world
        self.interval = interval
        self.failed_start_every = max(1, failed_start_every)
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = random.Random(world.seed + 1)
        self._last = world.now
        self._next_minute = -(-int(world.now.timestamp()) // 60) * 60
        self._streams: set[tuple[str, str]] = set()
        self.ticks = 0
        self.errors = 0

    def start(self) -> None:
        """Start the thread (a no-op if it runs)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="hamari-demo-live", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the thread and wait for it (at most ``timeout`` seconds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        # The seed already covers up to now: the first tick can wait one interval, which also
        # keeps it off the CPU while the panes make their first calls.
        if self._stop.wait(self.interval):
            return
        c = clients(self.url, self.world.region, self.world.account_id)
        while not self._stop.is_set():
            try:
                self.tick(c)
            except Exception:  # the demo must survive a failed tick (e.g. during a reset)
                self.errors += 1
            self._stop.wait(self.interval)

    def tick(self, c: dict[str, Any] | None = None) -> None:
        """Write one tick of data (also callable directly, e.g. from a test)."""
        c = c or clients(self.url, self.world.region, self.world.account_id)
        now = self._clock.now(UTC)
        start = max(self._last, now - MAX_CATCH_UP)
        if now <= start:
            return
        rng, world = self._rng, self.world
        now_s = now.timestamp()
        # Datapoints: each whole minute once, the minute in progress when it is over.
        first_minute = max(self._next_minute, int(now_s - MAX_CATCH_UP.total_seconds()) // 60 * 60)
        last_minute = int(now_s) // 60 * 60  # exclusive: the current minute is still open
        if last_minute > first_minute:
            put_metrics(
                c["cloudwatch"],
                metric_data(
                    world,
                    rng,
                    datetime.fromtimestamp(first_minute, UTC),
                    datetime.fromtimestamp(last_minute, UTC),
                ),
            )
            self._next_minute = last_minute
        # Flow records whose aggregation window started in (start, now].
        lo, hi = int(start.timestamp()), int(now_s)
        by_eni = flow_records(world, rng, start - timedelta(seconds=60), now)
        fresh = {
            eni: kept
            for eni, records in by_eni.items()
            if (kept := [r for r in records if lo < int(r.values["start"]) <= hi])
        }
        if fresh:
            put_flow_records_cwl(c["logs"], world, fresh, self._streams)
        events = noise_events(rng, start, now, 240, list(world.instance_ids.values()), world.spec)
        self.ticks += 1
        if self.ticks % self.failed_start_every == 0:
            events += start_attempt_events(
                rng,
                now - timedelta(seconds=3),
                world.failing_instance_id,
                world.failing_volume_id,
                world.kms_key_arn,
                denied=world.spec.incidents,
                spec=world.spec,
            )
        if events:
            extensions.record_events(events, region=world.region, account=world.account_id)
        self._last = now
