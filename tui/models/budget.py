"""The cost side of polling: a per-hour request budget and a list-price estimate. Pure.

A detached tmux session or a forgotten terminal must not run up a bill. The AWS layer counts
every request and billable quantity into a cumulative meter; :class:`Budget` turns samples of
those counters into "how much in the last hour" and says when polling should pause, and
:func:`estimate_cost` prices the meter at public list prices. Time is passed in (monotonic
seconds), so everything here is table-testable without a clock or a UI.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

HOUR = 3600.0
# Meter quantity names (see tui.aws.session.Meter.add).
METRICS_REQUESTED = "metrics_requested"
S3_OBJECTS = "s3_objects"
S3_BYTES = "s3_bytes"
INSIGHTS_BYTES_SCANNED = "insights_bytes_scanned"


@dataclass(frozen=True)
class BudgetStatus:
    """Usage in the last hour against the budget, and whether polling is paused for it."""

    requests: int
    metrics: int
    requests_limit: int
    metrics_limit: int
    over: str | None = None
    """``"requests"`` or ``"metrics"`` when that budget is exceeded, else None."""
    resumed: bool = False
    """The user resumed polling despite the budget (for an hour)."""

    @property
    def paused(self) -> bool:
        return self.over is not None and not self.resumed

    def message(self, *, compact: bool = False) -> str:
        """The status line's sentence when paused, else ``""`` (``compact`` for 80 columns)."""
        if not self.paused:
            return ""
        if self.over == "metrics":
            used, limit, what = self.metrics, self.metrics_limit, "metrics requested"
        else:
            used, limit, what = self.requests, self.requests_limit, "requests"
        if compact:
            short = "metrics" if self.over == "metrics" else "requests"
            return f"⏸ paused: {used:,} {short}/h > budget {limit:,} — $ review, R resume"
        return (
            f"⏸ paused: {used:,} {what} in the last hour exceed the budget of {limit:,}"
            " — press $ to review, R to resume"
        )


class Budget:
    """How many requests and metrics the app sent in the last hour, and whether that is too many.

    Feed it the meter's cumulative totals with :meth:`check` as often as convenient (every poll,
    every status-line tick). It keeps one sample per ``resolution`` seconds, at most an hour's
    worth. The count for the last hour is the current total minus the total at the newest sample
    taken at least an hour ago (zero while the app is younger than that): an over-estimate by at
    most ``resolution`` seconds of traffic, never an under-estimate.

    A limit of 0 or less disables that budget.
    """

    def __init__(
        self,
        requests_per_hour: float,
        metrics_per_hour: float,
        *,
        window: float = HOUR,
        resolution: float = 10.0,
    ) -> None:
        self.requests_limit = int(requests_per_hour)
        self.metrics_limit = int(metrics_per_hour)
        self.window = window
        self.resolution = resolution
        self._samples: deque[tuple[float, int, int]] = deque()
        self._resumed_until: float | None = None
        self.last: BudgetStatus | None = None
        """The status of the latest :meth:`check`."""

    def check(self, now: float, requests: int, metrics: int) -> BudgetStatus:
        """Record the meter's totals at ``now`` and return the usage over the last window."""
        samples = self._samples
        if samples and (requests < samples[-1][1] or metrics < samples[-1][2]):
            samples.clear()  # a new meter (reconnected): start counting again
        if not samples or now - samples[-1][0] >= self.resolution:
            samples.append((now, requests, metrics))
        horizon = now - self.window
        while len(samples) >= 2 and samples[1][0] <= horizon:
            samples.popleft()
        base_requests, base_metrics = (
            (samples[0][1], samples[0][2]) if samples[0][0] <= horizon else (0, 0)
        )
        used_requests = requests - base_requests
        used_metrics = metrics - base_metrics
        over = None
        if self.requests_limit > 0 and used_requests > self.requests_limit:
            over = "requests"
        elif self.metrics_limit > 0 and used_metrics > self.metrics_limit:
            over = "metrics"
        resumed = self._resumed_until is not None and now < self._resumed_until
        self.last = BudgetStatus(
            used_requests, used_metrics, self.requests_limit, self.metrics_limit, over, resumed
        )
        return self.last

    def resume(self, now: float) -> bool:
        """Poll again despite the budget, for one more window (the user pressed R).

        Returns False, and grants nothing, when the latest check was not paused: a stray R must
        not switch the budget off for an hour in advance.
        """
        if self.last is None or not self.last.paused:
            return False
        self._resumed_until = now + self.window
        self.last = BudgetStatus(
            self.last.requests,
            self.last.metrics,
            self.requests_limit,
            self.metrics_limit,
            self.last.over,
            resumed=True,
        )
        return True


# -- cost estimate -------------------------------------------------------------------------------

# us-east-1 list prices, estimate only (no free tier, no discounts, no data transfer):
# - CloudWatch GetMetricData: $0.01 per 1,000 metrics requested; GetMetricStatistics and
#   ListMetrics: $0.01 per 1,000 requests (https://aws.amazon.com/cloudwatch/pricing/, "APIs").
# - CloudWatch Logs: FilterLogEvents/GetLogEvents have no per-call charge; Logs Insights queries
#   cost $0.005 per GB of data scanned (https://aws.amazon.com/cloudwatch/pricing/, "Logs").
# - CloudTrail LookupEvents (management events, Event history): free
#   (https://aws.amazon.com/cloudtrail/pricing/).
# - S3 Standard: GET (and "all other requests", GetBucketLocation included) $0.0004 per 1,000
#   requests; LIST $0.005 per 1,000 requests (https://aws.amazon.com/s3/pricing/, "Requests &
#   data retrievals").
# - EC2 Describe* and STS GetCallerIdentity: no charge.
PRICE_NOTE = "us-east-1 list prices, estimate"
GB = 1024**3
_INSIGHTS_CALLS = frozenset({"logs:StartQuery", "logs:GetQueryResults", "logs:StopQuery"})


@dataclass(frozen=True)
class CostLine:
    """One priced item of the estimate."""

    label: str
    quantity: int
    unit: str
    price: str
    usd: float


def estimate_cost(requests: Mapping[str, int], quantities: Mapping[str, int]) -> list[CostLine]:
    """Price the meter (requests per ``service:Operation`` and billable quantities).

    Returns one line per item that was used, free ones included (so that "LookupEvents is free"
    is visible); the total is ``sum(line.usd for line in lines)``.
    """
    lines: list[CostLine] = []
    metrics = quantities.get(METRICS_REQUESTED, 0)
    if metrics or requests.get("cloudwatch:GetMetricData"):
        lines.append(
            CostLine(
                "CloudWatch GetMetricData",
                metrics,
                "metrics",
                "$0.01/1k metrics",
                metrics * 0.01 / 1000,
            )
        )
    cw_requests = sum(
        requests.get(f"cloudwatch:{op}", 0) for op in ("GetMetricStatistics", "ListMetrics")
    )
    if cw_requests:
        lines.append(
            CostLine(
                "CloudWatch ListMetrics",
                cw_requests,
                "requests",
                "$0.01/1k requests",
                cw_requests * 0.01 / 1000,
            )
        )
    lookups = requests.get("cloudtrail:LookupEvents", 0)
    if lookups:
        lines.append(CostLine("CloudTrail LookupEvents", lookups, "requests", "free", 0.0))
    logs_calls = sum(
        v for k, v in requests.items() if k.startswith("logs:") and k not in _INSIGHTS_CALLS
    )
    if logs_calls:
        lines.append(CostLine("CloudWatch Logs API calls", logs_calls, "requests", "free", 0.0))
    scanned = quantities.get(INSIGHTS_BYTES_SCANNED, 0)
    if scanned or requests.get("logs:StartQuery"):
        lines.append(
            CostLine(
                "Logs Insights scanned", scanned, "bytes", "$0.005/GB scanned", scanned / GB * 0.005
            )
        )
    gets = sum(
        v for k, v in requests.items() if k.startswith("s3:") and not k.startswith("s3:List")
    )
    if gets:
        lines.append(
            CostLine("S3 GET", gets, "requests", "$0.0004/1k requests", gets * 0.0004 / 1000)
        )
    lists = sum(v for k, v in requests.items() if k.startswith("s3:List"))
    if lists:
        lines.append(
            CostLine("S3 LIST", lists, "requests", "$0.005/1k requests", lists * 0.005 / 1000)
        )
    return lines
