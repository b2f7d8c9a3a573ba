"""The fleet-wide EBS limits sweep, pure: every running instance judged against the limit that binds.

Incident 2 ("it was faster on-prem") is found only if someone looks at the right instance; on an
account with 200 instances nobody knows which one. The sweep looks at all of them: for each running
instance and every volume attached to it, the EBS series (ops and bytes, read and write, and the
burst balances where the type or volume can burst) are judged by :func:`tui.models.metrics.evaluate`,
the same rules the metrics pane shows, and the instances are ranked worst first: an instance whose
limit binds before one that is merely close, then by how close.

This module decides what to ask for (:func:`sweep_specs`), how often to ask so that the sweep keeps
within its share of the hourly metrics budget (:func:`sweep_interval`), and how to read the answer
(:func:`assess_fleet`). Fetching lives in :mod:`tui.aws.fleet`; nothing here does I/O.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from tui.models.inventory import tag_value
from tui.models.metrics.assessment import Assessment, evaluate
from tui.models.metrics.catalogue import MetricSpec, instance_presets, volume_presets
from tui.models.metrics.limits import EXHAUSTED_BALANCE_PCT
from tui.models.metrics.series import Series, data_note
from tui.models.text import name_label

SWEEP_SECONDS: Final = 300.0
"""The shortest time between two sweeps: limits are judged over minutes, not seconds."""
BUDGET_SHARE: Final = 0.5
"""At most this share of the hourly metrics budget goes to the sweep (the panes need the rest)."""

_INSTANCE_METRICS: Final = frozenset(
    {
        "EBSReadOps",
        "EBSWriteOps",
        "EBSReadBytes",
        "EBSWriteBytes",
        "EBSIOBalance%",
        "EBSByteBalance%",
    }
)
_VOLUME_METRICS: Final = frozenset(
    {"VolumeReadOps", "VolumeWriteOps", "VolumeReadBytes", "VolumeWriteBytes", "BurstBalance"}
)


@dataclass(frozen=True, slots=True)
class FleetInstance:
    """One running instance with what its limits come from.

    Attributes:
        instance: The DescribeInstances item.
        type_info: The DescribeInstanceTypes item of its type, or None when AWS does not know it.
        volumes: DescribeVolumes items of the volumes attached to it.
    """

    instance: Mapping[str, Any]
    type_info: Mapping[str, Any] | None
    volumes: tuple[Mapping[str, Any], ...] = ()

    @property
    def instance_id(self) -> str:
        return str(self.instance.get("InstanceId") or "")

    @property
    def name(self) -> str:
        """The Name tag (raw AWS text: display code makes it safe)."""
        return tag_value(self.instance.get("Tags")) or ""

    @property
    def instance_type(self) -> str:
        return str(self.instance.get("InstanceType") or "")

    @property
    def label(self) -> str:
        """How people know it: ``app-db-01 (i-0abc…)``, or the ID alone (also when the Name
        tag shows nothing: only whitespace, zero-width or bidi characters)."""
        name = name_label(self.name, None)
        return f"{name} ({self.instance_id})" if name else self.instance_id


def sweep_specs(item: FleetInstance) -> list[MetricSpec]:
    """The EBS series of one instance and its volumes: what a limit is judged on, nothing more.

    CPU, network, queue length and status checks are left to the pane: every metric costs money
    (GetMetricData is billed per metric), and a sweep of 500 instances asks for thousands.
    """
    specs = [
        s
        for s in instance_presets(item.instance_id, item.type_info)
        if s.metric_name in _INSTANCE_METRICS
    ]
    for vol in item.volumes:
        specs += [s for s in volume_presets(vol) if s.metric_name in _VOLUME_METRICS]
    return specs


def sweep_interval(
    metrics_per_sweep: int,
    budget_metrics_per_hour: float,
    *,
    floor: float = SWEEP_SECONDS,
    share: float = BUDGET_SHARE,
) -> float:
    """Seconds between sweeps: ``floor``, or longer when a sweep would eat more than ``share`` of
    the hourly metrics budget (500 instances with 2 volumes ask for ~7,000 metrics; at the default
    20,000 per hour that is one sweep every ~40 minutes)."""
    if metrics_per_sweep <= 0 or budget_metrics_per_hour <= 0:
        return floor
    allowed_per_hour = budget_metrics_per_hour * share
    return max(floor, math.ceil(3600 * metrics_per_sweep / allowed_per_hour))


@dataclass(frozen=True, slots=True)
class InstanceVerdict:
    """One instance of the sweep, judged.

    Attributes:
        item: The instance and its volumes.
        assessment: Its EBS series against their limits (:func:`tui.models.metrics.evaluate`).
        closeness: How close it is to a limit, as a fraction: the binding finding's ratio, else
            the highest latest value over its limit (an exhausted balance counts as 1.0).
    """

    item: FleetInstance
    assessment: Assessment
    closeness: float

    @property
    def bound(self) -> bool:
        """A limit binds (or a burst balance is exhausted)."""
        return self.assessment.binding is not None


@dataclass(frozen=True, slots=True)
class FleetAssessment:
    """What one sweep found, worst instance first.

    Attributes:
        verdicts: One per running instance, bound ones first, then by closeness.
        at: When the sweep's window ended.
        volumes: Volumes swept.
        requests: GetMetricData requests made (pages included).
        metrics_requested: Metrics asked for (what AWS bills).
        data: The resolution of the data (``1-min data · 5-min data for …``).
        failed: Series that came back with an error status, as ``resource metric: status``.
    """

    verdicts: tuple[InstanceVerdict, ...]
    at: datetime | None = None
    volumes: int = 0
    requests: int = 0
    metrics_requested: int = 0
    data: str = ""
    failed: tuple[str, ...] = field(default=())

    @property
    def instances(self) -> int:
        return len(self.verdicts)

    @property
    def worst(self) -> InstanceVerdict | None:
        """The instance to open first: the one a limit binds hardest, else the closest."""
        return self.verdicts[0] if self.verdicts else None

    @property
    def bound(self) -> tuple[InstanceVerdict, ...]:
        """The instances a limit binds."""
        return tuple(v for v in self.verdicts if v.bound)

    def covers(self) -> set[str]:
        """Every instance and volume ID the sweep judged."""
        out: set[str] = set()
        for v in self.verdicts:
            out.add(v.item.instance_id)
            out.update(str(vol.get("VolumeId") or "") for vol in v.item.volumes)
        return out


def _closeness(assessment: Assessment) -> float:
    if assessment.binding is not None:
        return assessment.binding.ratio
    best = 0.0
    for row in assessment.rows:
        if row.percent is not None:
            best = max(best, row.percent / 100)
        elif (
            row.series.spec.limit
            in ("burst_balance", "instance_io_balance", "instance_byte_balance")
            and row.latest is not None
            and row.latest <= EXHAUSTED_BALANCE_PCT
        ):
            best = max(best, 1.0)
    return best


def assess_fleet(
    items: Sequence[FleetInstance],
    series: Sequence[Series],
    *,
    at: datetime | None = None,
    requested_period: int = 60,
    requests: int = 0,
    metrics_requested: int = 0,
) -> FleetAssessment:
    """Judge every instance on its own series and its volumes', and rank them worst first.

    Args:
        items: The running instances with their volumes and type information.
        series: Every series the sweep fetched (any order; matched by resource ID).
        at: The end of the sweep's window.
        requested_period: The period asked for (for the data note when nothing came back).
        requests: GetMetricData requests made.
        metrics_requested: Metrics asked for.

    Returns:
        The fleet's assessment.
    """
    by_resource: dict[str, list[Series]] = defaultdict(list)
    for s in series:
        by_resource[s.spec.resource_id].append(s)
    verdicts: list[InstanceVerdict] = []
    volumes = 0
    for item in items:
        own = list(by_resource.get(item.instance_id, ()))
        for vol in item.volumes:
            volumes += 1
            own += by_resource.get(str(vol.get("VolumeId") or ""), ())
        assessment = evaluate(item.type_info, item.volumes, own)
        verdicts.append(InstanceVerdict(item, assessment, _closeness(assessment)))
    verdicts.sort(key=lambda v: (not v.bound, -v.closeness, v.item.name or "~", v.item.instance_id))
    failed = tuple(
        f"{s.spec.resource_id} {s.spec.metric_name}: {s.status}"
        for s in series
        if not s.ok and s.status != "Missing"
    )
    return FleetAssessment(
        tuple(verdicts),
        at,
        volumes,
        requests,
        metrics_requested,
        data_note(series, requested_period),
        failed,
    )


__all__ = [
    "BUDGET_SHARE",
    "SWEEP_SECONDS",
    "FleetAssessment",
    "FleetInstance",
    "InstanceVerdict",
    "assess_fleet",
    "sweep_interval",
    "sweep_specs",
]
