"""Client-side rate limits per account, region and API.

AWS enforces per-account, per-region request rates (CloudTrail LookupEvents: 2/s; CloudWatch Logs
FilterLogEvents: 5/s). Retrying after a throttle wastes the budget that the user's other tools
share, so hamari spaces its own calls below the limit before sending them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Requests per second by (service, operation); the default applies to everything else.
# Sources: the quotas pages of CloudTrail, CloudWatch Logs, CloudWatch and EC2 (defaults).
# The published quotas are per account and region and measured where they arrive: hamari stays
# 10% under them, so network jitter never turns its own spacing into a throttle.
RATES: dict[tuple[str, str], float] = {
    ("cloudtrail", "LookupEvents"): 1.8,  # quota 2/s
    ("logs", "FilterLogEvents"): 4.5,  # quota 5/s
    ("logs", "DescribeLogGroups"): 5.0,
    ("logs", "DescribeLogStreams"): 5.0,
    ("logs", "StartQuery"): 5.0,
    ("logs", "GetQueryResults"): 5.0,
    ("logs", "StopQuery"): 5.0,
    ("cloudwatch", "GetMetricData"): 50.0,
    ("cloudwatch", "ListMetrics"): 25.0,
    ("s3", "GetObject"): 50.0,
    ("s3", "ListObjectsV2"): 20.0,
    ("cloudtrail", "DescribeTrails"): 1.0,
    ("cloudtrail", "GetTrailStatus"): 1.0,
}
DEFAULT_RATE = 10.0


@dataclass
class TokenBucket:
    """An async token bucket: ``await acquire()`` waits until a request may be sent."""

    rate: float
    burst: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(init=False)
    _stamp: float = field(init=False)
    _lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)
    waited: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._tokens = self.burst
        self._stamp = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                delay = (1.0 - self._tokens) / self.rate
                self.waited += delay
                await asyncio.sleep(delay)

    def slow_down(self, factor: float = 0.5, floor: float = 0.2) -> None:
        """After a throttle, lower the rate (AIMD); :meth:`recover` raises it back slowly."""
        self.rate = max(floor, self.rate * factor)

    def recover(self, ceiling: float, step: float = 0.1) -> None:
        if self.rate < ceiling:
            self.rate = min(ceiling, self.rate + step)


class RateLimiters:
    """One bucket per (account, region, service, operation), created on first use."""

    def __init__(self, rates: dict[tuple[str, str], float] | None = None) -> None:
        self._rates = dict(RATES if rates is None else rates)
        self._buckets: dict[tuple[str, str, str, str], TokenBucket] = {}

    def ceiling(self, service: str, operation: str) -> float:
        return self._rates.get((service, operation), DEFAULT_RATE)

    def bucket(self, account: str, region: str, service: str, operation: str) -> TokenBucket:
        key = (account, region, service, operation)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self.ceiling(service, operation))
            self._buckets[key] = bucket
        return bucket
