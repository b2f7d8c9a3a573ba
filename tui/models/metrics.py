"""CloudWatch metric series for EBS and instances, and the limit that binds them (incident 2).

"It was faster on-prem": a migrated instance is slow, CPU and memory look fine, and the cause is an
EBS limit that nobody checked, either on the volume (gp2 burst balance, gp3/io1/io2 provisioned
IOPS and throughput) or on the instance type (EBS-optimized baseline and maximum). This module is
the pure part of that investigation, with no UI and no network:

* which metrics to ask for (:class:`MetricSpec`, :func:`instance_presets`, :func:`volume_presets`);
* how to ask for them (:func:`choose_period`, :func:`align_window`, :func:`build_queries`,
  :func:`split_queries`): GetMetricData, one call per 500 series, no metric math, so that it also
  works where math expressions are unavailable (emulators, restricted accounts);
* how to read the answer (:func:`series_from_results`): timestamps sorted ascending, duplicates
  dropped, NaN and infinities turned into gaps, per-series status and messages kept;
* what the limits are (:func:`instance_ebs_limits`, :func:`volume_limits`) and which one binds
  (:func:`evaluate`), as a one-line verdict and a list of findings.

Units are made honest on the client. Ops and bytes are always requested with ``Stat=Sum``; then
IOPS = Sum(ops) / period seconds and MB/s = Sum(bytes) / period / 10**6, where the period is the
one the *data* has, which is not always the one asked for: an instance with basic monitoring (AWS's
default) publishes its AWS/EC2 metrics as 5-minute sums, and asked at 60 s CloudWatch returns each
5-minute sum in a 1-minute bucket, so a rate made with 60 s reads 5x too high. Such instances are
asked at 300 s (:func:`query_period`) and every answer's period is read from its timestamps
(:func:`detect_period`) for what nobody could know in advance (a metric added from ListMetrics).
AWS/EBS volume metrics are 1-minute sums for every volume type (while attached), so the period
asked for is theirs; balances (``BurstBalance``, ``EBSIOBalance%``) are percentages at any period. AWS states instance EBS
limits in decimal megabytes: DescribeInstanceTypes gives m5.large ``BaselineBandwidthInMbps`` 650
and ``BaselineThroughputInMBps`` 81.25 = 650 / 8, so "MB" there is 10**6 bytes. Volume throughput,
on the other hand, is stated in MiB/s (DescribeVolumes ``Throughput``, the gp2/gp3/st1/sc1
tables), 2**20 bytes. Every comparison is therefore made in MB/s (10**6 B/s) and volume limits are
converted from MiB/s with :data:`MIB_IN_MB`; the verdict prints a volume limit in its native MiB/s
with the MB/s figure beside it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

UnitKind = Literal["iops", "mbps", "percent", "count", "bytes_per_s", "seconds", "raw"]
"""How a series is shown. ``iops``, ``mbps`` and ``bytes_per_s`` are rates made from a Sum."""

LimitKind = Literal[
    "instance_iops",
    "instance_mbps",
    "volume_iops",
    "volume_mbps",
    "burst_balance",
    "instance_io_balance",
    "instance_byte_balance",
]
"""Which limit a series is compared to (the balances tell whether a burst limit still applies)."""

MB: Final = 1_000_000
MIB: Final = 1_048_576
MIB_IN_MB: Final = MIB / MB
"""1 MiB/s expressed in MB/s (1.048576)."""

STANDARD_PERIODS: Final[tuple[int, ...]] = (60, 300, 900, 3600, 21600, 86400)
HIGH_RES_PERIODS: Final[tuple[int, ...]] = (1, 5, 10, 30)
MAX_QUERIES_PER_CALL: Final = 500
BASIC_MONITORING_PERIOD: Final = 300
"""EC2 basic monitoring (AWS's default) publishes AWS/EC2 metrics once per 5 minutes, as 5-minute
statistics; detailed monitoring publishes them every minute."""
EXHAUSTED_BALANCE_PCT: Final = 1.0
"""A balance at or below this percentage counts as exhausted (CloudWatch reports 0-100)."""

_RATE_KINDS: Final = frozenset({"iops", "mbps", "bytes_per_s"})
_QUERY_ID: Final = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_UNIT_LABELS: Final[dict[str, str]] = {
    "iops": "IOPS",
    "mbps": "MB/s",
    "percent": "%",
    "count": "count",
    "bytes_per_s": "B/s",
    "seconds": "s",
    "raw": "",
}

# (namespace, metric name) -> (stat, unit kind, limit kind, combine key). Presets and the
# ListMetrics constructor both read this table, so a query rebuilt from its dict gets the same spec.
_CATALOGUE: Final[dict[tuple[str, str], tuple[str, UnitKind, LimitKind | None, str | None]]] = {
    ("AWS/EC2", "CPUUtilization"): ("Average", "percent", None, None),
    ("AWS/EC2", "NetworkIn"): ("Sum", "bytes_per_s", None, None),
    ("AWS/EC2", "NetworkOut"): ("Sum", "bytes_per_s", None, None),
    ("AWS/EC2", "EBSReadOps"): ("Sum", "iops", "instance_iops", "ebs_ops"),
    ("AWS/EC2", "EBSWriteOps"): ("Sum", "iops", "instance_iops", "ebs_ops"),
    ("AWS/EC2", "EBSReadBytes"): ("Sum", "mbps", "instance_mbps", "ebs_bytes"),
    ("AWS/EC2", "EBSWriteBytes"): ("Sum", "mbps", "instance_mbps", "ebs_bytes"),
    ("AWS/EC2", "EBSIOBalance%"): ("Minimum", "percent", "instance_io_balance", None),
    ("AWS/EC2", "EBSByteBalance%"): ("Minimum", "percent", "instance_byte_balance", None),
    ("AWS/EC2", "StatusCheckFailed"): ("Maximum", "count", None, None),
    ("AWS/EBS", "VolumeReadOps"): ("Sum", "iops", "volume_iops", "volume_ops"),
    ("AWS/EBS", "VolumeWriteOps"): ("Sum", "iops", "volume_iops", "volume_ops"),
    ("AWS/EBS", "VolumeReadBytes"): ("Sum", "mbps", "volume_mbps", "volume_bytes"),
    ("AWS/EBS", "VolumeWriteBytes"): ("Sum", "mbps", "volume_mbps", "volume_bytes"),
    ("AWS/EBS", "VolumeQueueLength"): ("Average", "count", None, None),
    ("AWS/EBS", "BurstBalance"): ("Minimum", "percent", "burst_balance", None),
    ("AWS/EBS", "VolumeThroughputPercentage"): ("Average", "percent", None, None),
    ("AWS/EBS", "VolumeIOPSExceededCheck"): ("Maximum", "count", None, None),
    ("AWS/EBS", "VolumeThroughputExceededCheck"): ("Maximum", "count", None, None),
    ("AWS/EBS", "VolumeTotalReadTime"): ("Sum", "seconds", None, None),
    ("AWS/EBS", "VolumeTotalWriteTime"): ("Sum", "seconds", None, None),
    ("AWS/EBS", "VolumeIdleTime"): ("Sum", "seconds", None, None),
}


# --------------------------------------------------------------------------------------------
# Metric specifications and presets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One CloudWatch metric to fetch, and how to show and judge it.

    Attributes:
        namespace: CloudWatch namespace, e.g. ``AWS/EBS``.
        metric_name: Metric name, e.g. ``VolumeReadOps``.
        dimensions: ``(name, value)`` pairs, in request order.
        stat: Statistic requested (``Sum`` for ops and bytes).
        unit_kind: How values are converted and labelled.
        label: Human label, also sent as the query ``Label``.
        limit: The limit the series is compared to, if any.
        combine: Series of one resource sharing this key are summed into a total (read + write).
        parts: Non-empty for a derived total: the metric names it sums. Never queried.
    """

    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    unit_kind: UnitKind
    label: str
    limit: LimitKind | None = None
    combine: str | None = None
    parts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.unit_kind in _RATE_KINDS and self.stat != "Sum":
            raise ValueError(
                f"{self.metric_name}: a {self.unit_kind} series is made from Stat=Sum, not {self.stat}"
            )

    @property
    def resource_id(self) -> str:
        """The volume or instance ID from the dimensions (else the first dimension value)."""
        dims = dict(self.dimensions)
        for key in ("VolumeId", "InstanceId", "NetworkInterfaceId", "TransitGatewayAttachment"):
            if key in dims:
                return dims[key]
        return self.dimensions[0][1] if self.dimensions else ""

    @property
    def unit(self) -> str:
        """Display unit after conversion (``IOPS``, ``MB/s``, ``%``...)."""
        return _UNIT_LABELS[self.unit_kind]

    def metric(self) -> dict[str, Any]:
        """Return the ``Metric`` structure of a GetMetricData ``MetricStat``."""
        return {
            "Namespace": self.namespace,
            "MetricName": self.metric_name,
            "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
        }

    @classmethod
    def from_list_metrics(
        cls, item: Mapping[str, Any], *, stat: str | None = None, label: str | None = None
    ) -> MetricSpec:
        """Build a spec from one ListMetrics ``Metrics[]`` item.

        Known EC2/EBS metrics get their catalogue statistic, unit and limit; anything else is shown
        raw with ``Average`` (or ``stat``). Asking a rate metric for a statistic other than ``Sum``
        shows it raw, since IOPS and MB/s can only be made honestly from a Sum.

        Args:
            item: ``{"Namespace", "MetricName", "Dimensions": [{"Name", "Value"}]}``.
            stat: Statistic to request instead of the default.
            label: Label instead of ``"<resource> <metric>"``.

        Returns:
            The spec.
        """
        namespace = str(item.get("Namespace") or "")
        name = str(item.get("MetricName") or "")
        dims = _dimensions(item.get("Dimensions"))
        known = _CATALOGUE.get((namespace, name))
        unit: UnitKind
        limit: LimitKind | None
        if known is None:
            chosen_stat, unit, limit, combine = stat or "Average", "raw", None, None
        else:
            chosen_stat, unit, limit, combine = known
            if stat is not None and stat != chosen_stat:
                chosen_stat = stat
                if unit in _RATE_KINDS:
                    unit, limit, combine = "raw", None, None
        resource = next((v for _, v in dims), "")
        return cls(
            namespace=namespace,
            metric_name=name,
            dimensions=dims,
            stat=chosen_stat,
            unit_kind=unit,
            label=label or (f"{resource} {name}".strip()),
            limit=limit,
            combine=combine,
        )

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> MetricSpec:
        """Rebuild a spec from a ``MetricDataQueries`` item (the inverse of :func:`build_queries`).

        Expression queries (metric math from elsewhere) become a raw spec named by the expression.
        """
        stat_block = query.get("MetricStat")
        label = query.get("Label")
        if not isinstance(stat_block, Mapping):
            expr = str(query.get("Expression") or query.get("Id") or "")
            return cls("", expr, (), "Average", "raw", str(label or expr))
        metric = stat_block.get("Metric")
        metric = metric if isinstance(metric, Mapping) else {}
        spec = cls.from_list_metrics(metric, stat=str(stat_block.get("Stat") or "Average"))
        return replace(spec, label=str(label)) if label else spec


def _dimensions(raw: object) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    if isinstance(raw, list | tuple):
        for d in raw:
            if isinstance(d, Mapping) and "Name" in d:
                out.append((str(d["Name"]), str(d.get("Value", ""))))
    return tuple(out)


def _preset(namespace: str, name: str, dim: str, resource: str) -> MetricSpec:
    stat, unit, limit, combine = _CATALOGUE[(namespace, name)]
    return MetricSpec(
        namespace, name, ((dim, resource),), stat, unit, f"{resource} {name}", limit, combine
    )


def has_ebs_burst(instance_type_info: Mapping[str, Any] | None) -> bool:
    """Whether an instance type publishes ``EBSIOBalance%`` / ``EBSByteBalance%``.

    Rule: the type's EBS-optimized baseline is below its maximum, for IOPS or for throughput
    (m5.large: 3,600 < 18,750 IOPS). That is exactly the set of types that can burst on EBS (most
    ``*.large`` and smaller Nitro sizes, burstable ``t3``/``t4g``); for types whose baseline
    equals the maximum (m5.4xlarge, m4.large) there is no balance to report. Types without
    ``EbsOptimizedInfo`` (t2, m1) have no EBS-optimized data at all.
    """
    limits = instance_ebs_limits(instance_type_info)
    return limits is not None and limits.burstable


def instance_presets(
    instance_id: str, instance_type_info: Mapping[str, Any] | None
) -> list[MetricSpec]:
    """Metrics to show for an instance.

    Args:
        instance_id: ``i-...``.
        instance_type_info: The DescribeInstanceTypes item of its type, or None if unknown.

    Returns:
        CPUUtilization, NetworkIn/Out, EBSRead/WriteOps, EBSRead/WriteBytes, the EBS balances when
        the type can burst (see :func:`has_ebs_burst`), and StatusCheckFailed.
    """
    names = [
        "CPUUtilization",
        "NetworkIn",
        "NetworkOut",
        "EBSReadOps",
        "EBSWriteOps",
        "EBSReadBytes",
        "EBSWriteBytes",
    ]
    if has_ebs_burst(instance_type_info):
        names += ["EBSIOBalance%", "EBSByteBalance%"]
    names.append("StatusCheckFailed")
    return [_preset("AWS/EC2", n, "InstanceId", instance_id) for n in names]


def volume_presets(volume: Mapping[str, Any]) -> list[MetricSpec]:
    """Metrics to show for a volume.

    Args:
        volume: A DescribeVolumes item (``VolumeId``, ``VolumeType``...).

    Returns:
        Read/write ops and bytes, queue length; BurstBalance for gp2/st1/sc1;
        VolumeThroughputPercentage for io1/io2; the two ExceededCheck metrics for every type but
        ``standard`` (AWS publishes them for all other types on Nitro instances).
    """
    vid = str(volume.get("VolumeId") or "")
    vtype = str(volume.get("VolumeType") or "")
    names = [
        "VolumeReadOps",
        "VolumeWriteOps",
        "VolumeReadBytes",
        "VolumeWriteBytes",
        "VolumeQueueLength",
    ]
    if vtype in ("gp2", "st1", "sc1"):
        names.append("BurstBalance")
    if vtype in ("io1", "io2"):
        names.append("VolumeThroughputPercentage")
    if vtype != "standard":
        names += ["VolumeIOPSExceededCheck", "VolumeThroughputExceededCheck"]
    return [_preset("AWS/EBS", n, "VolumeId", vid) for n in names]


# --------------------------------------------------------------------------------------------
# Periods, windows and queries
# --------------------------------------------------------------------------------------------


def _utc(dt: datetime) -> datetime:
    tz = dt.tzinfo
    if tz is UTC:  # what the session's parser returns: the common case, kept cheap
        return dt
    return dt.replace(tzinfo=UTC) if tz is None else dt.astimezone(UTC)


def choose_period(
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    max_points: int = 1440,
    high_resolution: bool = False,
) -> int:
    """Pick the GetMetricData period for a window.

    CloudWatch keeps 1-second data for 3 hours (high-resolution metrics only), 60-second data for
    15 days, 5-minute data for 63 days, then 1-hour data. The finest period still retained for
    the *oldest* point of the window (``now - start``) is the floor; then the next standard
    period is taken until the window holds at most ``max_points`` points. Windows too long even at
    one day get a multiple of 86,400 s.

    Args:
        start: Window start (naive datetimes are taken as UTC).
        end: Window end.
        now: Current time.
        max_points: Cap on points per series.
        high_resolution: The metric is stored at 1-second resolution.

    Returns:
        The period in seconds.
    """
    start, end, now = _utc(start), _utc(end), _utc(now)
    age = now - start
    if age >= timedelta(days=63):
        floor = 3600
    elif age >= timedelta(days=15):
        floor = 300
    elif high_resolution and age < timedelta(hours=3):
        floor = 1
    else:
        floor = 60
    span = max((end - start).total_seconds(), 0.0)
    cap = max(int(max_points), 1)
    candidates = (HIGH_RES_PERIODS if floor == 1 else ()) + STANDARD_PERIODS
    for period in candidates:
        if period >= floor and math.ceil(span / period) <= cap:
            return period
    days = math.ceil(span / cap / 86400)
    return 86400 * max(days, 1)


def align_window(start: datetime, end: datetime, period: int) -> tuple[datetime, datetime]:
    """Align a window to the period grid (UTC epoch multiples).

    The start is rounded down, so the first bucket is whole and matches what CloudWatch returns;
    the end is rounded up, so the current, partial bucket is included. The result is never empty.

    Args:
        start: Window start.
        end: Window end.
        period: Period in seconds (> 0).

    Returns:
        ``(aligned_start, aligned_end)`` as aware UTC datetimes.
    """
    if period <= 0:
        raise ValueError("period must be positive")
    s = math.floor(_utc(start).timestamp())
    e = math.ceil(_utc(end).timestamp())
    s -= s % period
    e = e + (-e % period)
    if e <= s:
        e = s + period
    return datetime.fromtimestamp(s, UTC), datetime.fromtimestamp(e, UTC)


def query_period(spec: MetricSpec, period: int, basic_monitoring: Collection[str] = ()) -> int:
    """The period to ask ``spec`` for: ``period``, never finer than the data exists.

    An AWS/EC2 metric of an instance in ``basic_monitoring`` exists only as 5-minute statistics;
    asked for less, CloudWatch hands each 5-minute Sum back as if it were the sum of the shorter
    period. The standard periods above 300 s are multiples of it, so they are kept.
    """
    if (
        period < BASIC_MONITORING_PERIOD
        and spec.namespace == "AWS/EC2"
        and spec.resource_id in basic_monitoring
    ):
        return BASIC_MONITORING_PERIOD
    return period


def build_queries(
    specs: Sequence[MetricSpec], *, period: int = 60, basic_monitoring: Collection[str] = ()
) -> list[dict[str, Any]]:
    """Build ``MetricDataQueries`` items for GetMetricData.

    Ids are ``m0``, ``m1``... in spec order, so they are stable across refreshes and valid
    (``^[a-z][a-zA-Z0-9_]*$``). No metric math: every item returns its own data.

    Args:
        specs: Queryable specs (derived totals are rejected).
        period: Period in seconds.
        basic_monitoring: Instance IDs with basic monitoring: their AWS/EC2 metrics are asked
            at :func:`query_period`.

    Returns:
        One query dict per spec.
    """
    out: list[dict[str, Any]] = []
    for i, spec in enumerate(specs):
        if spec.parts:
            raise ValueError(f"{spec.label}: a derived total is computed, not queried")
        p = query_period(spec, int(period), basic_monitoring)
        out.append(
            {
                "Id": f"m{i}",
                "MetricStat": {"Metric": spec.metric(), "Period": p, "Stat": spec.stat},
                "Label": spec.label,
                "ReturnData": True,
            }
        )
    return out


def is_valid_query_id(query_id: str) -> bool:
    """Whether ``query_id`` is accepted by GetMetricData as a query ``Id``."""
    return bool(_QUERY_ID.match(query_id))


def split_queries(
    queries: Sequence[Mapping[str, Any]], max_per_call: int = MAX_QUERIES_PER_CALL
) -> list[list[Mapping[str, Any]]]:
    """Split queries into batches of at most ``max_per_call`` (GetMetricData accepts 500).

    Returns:
        The batches in order; empty when there are no queries.
    """
    if max_per_call < 1:
        raise ValueError("max_per_call must be >= 1")
    return [list(queries[i : i + max_per_call]) for i in range(0, len(queries), max_per_call)]


# --------------------------------------------------------------------------------------------
# Series
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Series:
    """One metric over time, in display units.

    Attributes:
        spec: What it is.
        timestamps: Ascending, unique, aware UTC.
        values: Same length; None for a gap (missing, NaN or infinite datapoint).
        status: ``Complete``, ``PartialData``, ``InternalError``, ``Forbidden``, ``Missing`` (no
            result came back for the query) or an error code set by the caller.
        message: Error message when the status is an error.
        messages: Per-series ``Messages`` as ``(code, value)`` pairs.
        unit: Display unit.
        period: Period in seconds the values were computed with: the period the data has, which
            may be coarser than the one asked for (:func:`detect_period`).
        stale: True when these are the last good values kept after a failed refresh.
    """

    spec: MetricSpec
    timestamps: tuple[datetime, ...] = ()
    values: tuple[float | None, ...] = ()
    status: str = "Complete"
    message: str = ""
    messages: tuple[tuple[str, str], ...] = ()
    unit: str = ""
    period: int = 60
    stale: bool = False

    @property
    def ok(self) -> bool:
        """True for ``Complete`` and ``PartialData``."""
        return self.status in ("Complete", "PartialData")

    @property
    def latest(self) -> float | None:
        """The last non-gap value, or None."""
        for v in reversed(self.values):
            if v is not None:
                return v
        return None

    @property
    def latest_timestamp(self) -> datetime | None:
        """Timestamp of :attr:`latest`."""
        for t, v in zip(reversed(self.timestamps), reversed(self.values), strict=True):
            if v is not None:
                return t
        return None

    def points(self) -> list[tuple[datetime, float]]:
        """The non-gap ``(timestamp, value)`` pairs."""
        return [(t, v) for t, v in zip(self.timestamps, self.values, strict=True) if v is not None]

    def mark_stale(self, status: str | None = None, message: str = "") -> Series:
        """Return a copy flagged stale, optionally with the error that made it so."""
        if status is None:
            return replace(self, stale=True)
        return replace(self, stale=True, status=status, message=message)

    @classmethod
    def failed(cls, spec: MetricSpec, code: str, message: str, period: int = 60) -> Series:
        """An empty series carrying an error (e.g. AccessDenied on the whole call)."""
        return cls(spec, status=code, message=message, unit=spec.unit, period=period)


# CloudWatch rejects values outside about ±1.17e108 (PutMetricData); anything larger in an
# answer is corrupt, and would overflow to infinity once scaled or summed.
_MAX_DATUM = 1.2e108


def _finite(value: object) -> float | None:
    if type(value) is float:  # nearly every datapoint: the checks below, without the calls
        return value if -_MAX_DATUM <= value <= _MAX_DATUM else None  # NaN fails both
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        f = float(value)
    except OverflowError:  # an int beyond any float
        return None
    return f if math.isfinite(f) and abs(f) <= _MAX_DATUM else None


def _timestamp(value: object) -> datetime | None:
    try:
        if isinstance(value, datetime):
            return _utc(value)
        if isinstance(value, str):
            text = value.strip()
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            return _utc(datetime.fromisoformat(text))
        num = _finite(value)
        if num is not None:
            seconds = num / 1000 if abs(num) > 1e11 else num  # epoch milliseconds (Metric Streams)
            return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _convert(spec: MetricSpec, raw: float | None, period: int) -> float | None:
    if raw is None:
        return None
    if spec.unit_kind == "iops" or spec.unit_kind == "bytes_per_s":
        return raw / period
    if spec.unit_kind == "mbps":
        return raw / period / MB
    return raw


def detect_period(stamps: Sequence[datetime], requested: int) -> int:
    """The period the datapoints really have: ``requested``, or a coarser standard period.

    5-minute data asked at 60 s comes back one point per 5 minutes, each a 5-minute statistic.
    When at least three points sit on the grid of a coarser standard period and every gap is a
    multiple of it, the largest such period is the data's; fewer points prove nothing.
    """
    if len(stamps) < 3 or requested <= 0:
        return requested
    first = prev = int(stamps[0].timestamp())
    gap = 0
    for t in stamps[1:]:
        now = int(t.timestamp())
        gap = math.gcd(gap, now - prev)
        if gap <= requested:  # two points one period apart: the data has the period asked for
            return requested
        prev = now
    found = requested
    for p in STANDARD_PERIODS:
        if p > requested and p % requested == 0 and gap % p == 0 and first % p == 0:
            found = p
    return found


def period_text(seconds: int) -> str:
    """A period as people say it: ``1-min``, ``5-min``, ``1-h``, ``1-day``, ``10-s``."""
    if seconds % 86400 == 0:
        return f"{seconds // 86400}-day"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}-h"
    if seconds % 60 == 0:
        return f"{seconds // 60}-min"
    return f"{seconds}-s"


def data_note(series: Sequence[Series], requested: int) -> str:
    """What resolution the shown data has, e.g. ``5-min data`` or
    ``1-min data · 5-min data for i-0abc (basic monitoring)``."""
    periods: dict[int, list[str]] = {}
    for s in series:
        if s.spec.parts or not s.points():
            continue
        ids = periods.setdefault(s.period, [])
        if s.spec.resource_id not in ids:
            ids.append(s.spec.resource_id)
    if len(periods) <= 1:
        return f"{period_text(next(iter(periods), requested))} data"
    finest, *coarser = sorted(periods)
    parts = [f"{period_text(finest)} data"]
    for p in coarser:
        who = [r for r in periods[p] if r]
        ec2 = all(r.startswith("i-") for r in who)
        names = ", ".join(who[:3]) + (f" +{len(who) - 3}" if len(who) > 3 else "")
        parts.append(
            f"{period_text(p)} data for {names}" + (" (basic monitoring)" if ec2 and who else "")
        )
    return " · ".join(parts)


def _fill_gaps(
    stamps: list[datetime], values: list[float | None], period: int
) -> tuple[list[datetime], list[float | None]]:
    """Insert None at missing grid points when the timestamps sit on a ``period`` grid."""
    if len(stamps) < 2 or period <= 0:
        return stamps, values
    first = stamps[0]
    offsets = [(t - first).total_seconds() for t in stamps]
    if any(o % period for o in offsets) or offsets[-1] / period > 100_000:
        return stamps, values
    by_offset = {int(o // period): v for o, v in zip(offsets, values, strict=True)}
    n = int(offsets[-1] // period) + 1
    step = timedelta(seconds=period)
    return [first + step * i for i in range(n)], [by_offset.get(i) for i in range(n)]


def _iter_results(results: object) -> Iterable[Mapping[str, Any]]:
    """Yield result items from a response, a list of responses (pages) or a list of results."""
    if isinstance(results, Mapping):
        results = [results]
    if not isinstance(results, Iterable) or isinstance(results, str | bytes):
        return
    for item in results:
        if not isinstance(item, Mapping):
            continue
        inner = item.get("MetricDataResults")
        if isinstance(inner, list):
            yield from (r for r in inner if isinstance(r, Mapping))
        elif "Id" in item:
            yield item


def series_from_results(
    results: Iterable[Mapping[str, Any]] | Mapping[str, Any],
    queries: Sequence[Mapping[str, Any]],
    period: int,
    *,
    fill_gaps: bool = True,
) -> list[Series]:
    """Read GetMetricData ``MetricDataResults`` into :class:`Series`, one per query.

    Pages of one request (``NextToken``) may be passed together: results with the same ``Id`` are
    merged, and the status of the last page wins. Timestamps are sorted ascending (CloudWatch
    returns newest first by default); a duplicated timestamp keeps its first non-gap value;
    ``Values`` shorter than ``Timestamps`` leave gaps; NaN, infinities and non-numbers become
    gaps; on a regular grid, missing periods become gaps too. A query without any result gets
    status ``Missing``; queries sent with ``ReturnData: false`` (inputs of an expression) get no
    series; a result whose ``Id`` matches no query is still returned, shown raw.

    Args:
        results: A GetMetricData response, a list of responses, or a list of result items.
        queries: The ``MetricDataQueries`` sent (see :func:`build_queries`).
        period: Period in seconds, used when a query carries none.
        fill_gaps: Insert None for missing periods on the grid.

    Returns:
        Series in query order, then unmatched results in arrival order.
    """
    specs: dict[str, MetricSpec] = {}
    periods: dict[str, int] = {}
    order: list[str] = []
    for q in queries:
        if not isinstance(q, Mapping) or q.get("ReturnData") is False:
            continue
        qid = str(q.get("Id") or f"q{len(order)}")
        if qid in specs:
            continue
        specs[qid] = MetricSpec.from_query(q)
        stat = q.get("MetricStat")
        p = stat.get("Period") if isinstance(stat, Mapping) else q.get("Period")
        periods[qid] = p if isinstance(p, int) and not isinstance(p, bool) and p > 0 else period
        order.append(qid)

    merged: dict[str, dict[str, Any]] = {}
    for r in _iter_results(results):
        rid = str(r.get("Id"))
        acc = merged.get(rid)
        if acc is None:
            acc = {"points": [], "status": "Complete", "messages": [], "label": r.get("Label")}
            merged[rid] = acc
            if rid not in specs:
                label = str(r.get("Label") or rid)
                specs[rid] = MetricSpec("", label, (), "Average", "raw", label)
                periods[rid] = period
                order.append(rid)
        stamps = r.get("Timestamps")
        vals = r.get("Values")
        stamps = stamps if isinstance(stamps, list | tuple) else []
        vals = vals if isinstance(vals, list | tuple) else []
        for i, ts in enumerate(stamps):
            t = _timestamp(ts)
            if t is not None:
                acc["points"].append((t, _finite(vals[i]) if i < len(vals) else None))
        if r.get("StatusCode"):
            acc["status"] = str(r["StatusCode"])
        msgs = r.get("Messages")
        if isinstance(msgs, list):
            for m in msgs:
                if isinstance(m, Mapping):
                    acc["messages"].append((str(m.get("Code", "")), str(m.get("Value", ""))))

    out: list[Series] = []
    for qid in order:
        spec, p = specs[qid], max(periods[qid], 1)
        acc = merged.get(qid)
        if acc is None:
            out.append(Series(spec, status="Missing", unit=spec.unit, period=p))
            continue
        by_time: dict[datetime, float | None] = {}
        for t, v in acc["points"]:
            if by_time.get(t) is None:
                by_time[t] = v
        stamps_sorted = sorted(by_time)
        p = detect_period(stamps_sorted, p)
        values = [_convert(spec, by_time[t], p) for t in stamps_sorted]
        if fill_gaps:
            stamps_sorted, values = _fill_gaps(stamps_sorted, values, p)
        status = acc["status"]
        error_text = "; ".join(v for _, v in acc["messages"] if v)
        out.append(
            Series(
                spec,
                tuple(stamps_sorted),
                tuple(values),
                status=status,
                message=error_text if status not in ("Complete", "PartialData") else "",
                messages=tuple(acc["messages"]),
                unit=spec.unit,
                period=p,
            )
        )
    return out


def with_totals(series: Sequence[Series]) -> list[Series]:
    """Return ``series`` plus a total for each read/write pair of one resource.

    The total exists at a timestamp only when every part has a value there (a missing write
    datapoint does not mean zero writes); it is None otherwise. Its status is the first non-
    ``Complete`` status of its parts; it is stale if any part is.
    """
    groups: dict[tuple[str, str, str], list[Series]] = {}
    for s in series:
        if s.spec.combine and not s.spec.parts:
            groups.setdefault((s.spec.namespace, s.spec.resource_id, s.spec.combine), []).append(s)
    out = list(series)
    for (_, resource, _), parts in groups.items():
        names = tuple(dict.fromkeys(p.spec.metric_name for p in parts))
        if len(names) < 2:
            continue
        maps = [dict(zip(p.timestamps, p.values, strict=True)) for p in parts]
        stamps = sorted(set().union(*maps))
        values: list[float | None] = []
        for t in stamps:
            vs = [m.get(t) for m in maps]
            values.append(None if any(v is None for v in vs) else math.fsum(v for v in vs if v))
        first = parts[0]
        spec = replace(
            first.spec,
            metric_name="+".join(names),
            label=f"{resource} total {first.spec.unit}",
            combine=None,
            parts=names,
        )
        status = next((p.status for p in parts if p.status != "Complete"), "Complete")
        out.append(
            Series(
                spec,
                tuple(stamps),
                tuple(values),
                status=status,
                message="; ".join(p.message for p in parts if p.message),
                unit=first.unit,
                period=first.period,
                stale=any(p.stale for p in parts),
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EbsLimits:
    """EBS-optimized limits of an instance type, in IOPS and MB/s (10**6 B/s).

    Attributes:
        instance_type: e.g. ``m5.large``.
        baseline_iops: Sustained IOPS.
        maximum_iops: IOPS during a burst (equal to the baseline when the type cannot burst).
        baseline_mbps: Sustained MB/s.
        maximum_mbps: MB/s during a burst.
    """

    instance_type: str
    baseline_iops: float
    maximum_iops: float
    baseline_mbps: float
    maximum_mbps: float

    @property
    def burstable(self) -> bool:
        """True when the baseline is below the maximum for IOPS or throughput."""
        return self.baseline_iops < self.maximum_iops or self.baseline_mbps < self.maximum_mbps


def _num(value: object) -> float | None:
    f = _finite(value)
    return f if f is not None and f >= 0 else None


def instance_ebs_limits(instance_type_info: Mapping[str, Any] | None) -> EbsLimits | None:
    """EBS limits of an instance type from its DescribeInstanceTypes item.

    Throughput comes from ``*ThroughputInMBps``, or from ``*BandwidthInMbps`` / 8 when only the
    bandwidth is given. A missing maximum is taken equal to the baseline.

    Returns:
        The limits, or None when the type has no ``EbsInfo.EbsOptimizedInfo`` (older or
        non-EBS-optimized types such as t2 and m1) or it lacks a baseline.
    """
    if not isinstance(instance_type_info, Mapping):
        return None
    ebs = instance_type_info.get("EbsInfo")
    info = ebs.get("EbsOptimizedInfo") if isinstance(ebs, Mapping) else None
    if not isinstance(info, Mapping):
        return None

    def mbps(kind: str) -> float | None:
        direct = _num(info.get(f"{kind}ThroughputInMBps"))
        if direct is not None:
            return direct
        bandwidth = _num(info.get(f"{kind}BandwidthInMbps"))
        return bandwidth / 8 if bandwidth is not None else None

    base_iops = _num(info.get("BaselineIops"))
    base_mbps = mbps("Baseline")
    if base_iops is None or base_mbps is None:
        return None
    max_iops = _num(info.get("MaximumIops"))
    max_mbps = mbps("Maximum")
    return EbsLimits(
        instance_type=str(instance_type_info.get("InstanceType") or "unknown type"),
        baseline_iops=base_iops,
        maximum_iops=max(max_iops if max_iops is not None else base_iops, base_iops),
        baseline_mbps=base_mbps,
        maximum_mbps=max(max_mbps if max_mbps is not None else base_mbps, base_mbps),
    )


@dataclass(frozen=True, slots=True)
class VolumeLimits:
    """Performance limits of one EBS volume.

    Throughput is kept in MiB/s, the unit AWS states it in; :attr:`baseline_mbps` and
    :attr:`burst_mbps` give it in MB/s for comparison with CloudWatch bytes.

    Attributes:
        volume_id: ``vol-...``.
        volume_type: ``gp2``, ``gp3``, ``io1``, ``io2``, ``st1``, ``sc1``, ``standard`` or other.
        size_gib: Size in GiB (0 when unknown).
        baseline_iops: Sustained IOPS (None when unknown).
        burst_iops: IOPS while burst credits last (None when the volume cannot burst on IOPS).
        baseline_mibps: Sustained throughput in MiB/s (None when unknown).
        burst_mibps: Burst throughput in MiB/s (None when it cannot burst).
        attached_to: Instance IDs from ``Attachments`` (empty when detached).
        approximate: The figures are typical values, not guarantees (magnetic volumes).
    """

    volume_id: str
    volume_type: str
    size_gib: float
    baseline_iops: float | None
    burst_iops: float | None
    baseline_mibps: float | None
    burst_mibps: float | None
    attached_to: tuple[str, ...] = ()
    approximate: bool = False

    @property
    def baseline_mbps(self) -> float | None:
        """Baseline throughput in MB/s (10**6 B/s)."""
        return None if self.baseline_mibps is None else self.baseline_mibps * MIB_IN_MB

    @property
    def burst_mbps(self) -> float | None:
        """Burst throughput in MB/s (10**6 B/s)."""
        return None if self.burst_mibps is None else self.burst_mibps * MIB_IN_MB


def volume_limits(volume: Mapping[str, Any]) -> VolumeLimits:
    """Limits of a volume from its DescribeVolumes item.

    Rules (EBS user guide, volume types):

    * gp2: 3 IOPS per GiB, at least 100 and at most 16,000; volumes under 1,000 GiB (baseline
      below 3,000) burst to 3,000 IOPS on credits. Throughput: up to 170 GiB, 128 MiB/s; from
      170 to 334 GiB, 128 MiB/s sustained and 250 MiB/s on credits; from 334 GiB, 250 MiB/s.
    * gp3: the provisioned ``Iops`` (default 3,000) and ``Throughput`` (default 125 MiB/s).
    * io1: provisioned ``Iops``; throughput 0.256 MiB/s per IOPS up to 500 MiB/s, and up to
      1,000 MiB/s above 32,000 IOPS (0.016 MiB/s per IOPS).
    * io2 (Block Express): provisioned ``Iops``; throughput 0.256 MiB/s per IOPS, up to 4,000.
    * st1: 40 MiB/s per TiB sustained, 250 MiB/s per TiB burst, both capped at 500; 500 IOPS.
    * sc1: 12 MiB/s per TiB sustained, 80 MiB/s per TiB burst, both capped at 250; 250 IOPS.
    * standard (magnetic): roughly 40 to 200 IOPS and 40 to 90 MiB/s (approximate).

    Unknown types get the provisioned figures if present, else no limit.
    """
    vid = str(volume.get("VolumeId") or "")
    vtype = str(volume.get("VolumeType") or "")
    size = _num(volume.get("Size")) or 0.0
    iops = _num(volume.get("Iops"))
    throughput = _num(volume.get("Throughput"))
    attachments = volume.get("Attachments")
    attached = tuple(
        str(a.get("InstanceId"))
        for a in (attachments if isinstance(attachments, list) else [])
        if isinstance(a, Mapping) and a.get("InstanceId")
    )
    base_iops: float | None = None
    burst_iops: float | None = None
    base_tp: float | None = None
    burst_tp: float | None = None
    approximate = False
    if vtype == "gp2":
        base_iops = min(max(3 * size, 100.0), 16000.0)
        burst_iops = 3000.0 if base_iops < 3000 else None
        if size < 334:
            base_tp = 128.0
            burst_tp = 250.0 if size > 170 else None
        else:
            base_tp = 250.0
    elif vtype == "gp3":
        base_iops = iops if iops else 3000.0
        base_tp = throughput if throughput else 125.0
    elif vtype in ("io1", "io2"):
        base_iops = iops
        if iops:
            if vtype == "io2":
                base_tp = min(iops * 0.256, 4000.0)
            elif iops <= 32000:
                base_tp = min(iops * 0.256, 500.0)
            else:
                base_tp = min(max(iops * 0.016, 500.0), 1000.0)
    elif vtype in ("st1", "sc1"):
        tib = size / 1024
        per_base, per_burst, cap, cap_iops = (
            (40.0, 250.0, 500.0, 500.0) if vtype == "st1" else (12.0, 80.0, 250.0, 250.0)
        )
        base_iops = cap_iops
        base_tp = min(per_base * tib, cap)
        burst_tp = min(per_burst * tib, cap)
        if burst_tp <= base_tp:
            burst_tp = None
    elif vtype == "standard":
        base_iops, burst_iops, base_tp, burst_tp, approximate = 40.0, 200.0, 40.0, 90.0, True
    else:
        base_iops, base_tp = iops, throughput
    return VolumeLimits(
        vid, vtype, size, base_iops, burst_iops, base_tp, burst_tp, attached, approximate
    )


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppliedLimit:
    """The limit a series is judged against right now.

    Attributes:
        value: In the series' unit (IOPS or MB/s).
        figure: The limit as stated by AWS, e.g. ``3,000 IOPS`` or ``125 MiB/s (131 MB/s)``.
        label: e.g. ``3,000 IOPS gp3 baseline``.
        kind: The limit kind.
        resource_id: Volume or instance ID.
        exhausted: A burst ran out, so this is the baseline that remains.
        note: Burst state, e.g. ``burst to 594 MB/s exhausted: EBSByteBalance% 0``.
        balance_text: The balance reading alone, e.g. ``BurstBalance 0%``.
    """

    value: float
    figure: str
    label: str
    kind: LimitKind
    resource_id: str
    exhausted: bool = False
    note: str = ""
    balance_text: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """A limit reached or a burst balance exhausted, with its evidence.

    Attributes:
        kind: ``volume_iops``, ``volume_mbps``, ``instance_iops``, ``instance_mbps``,
            ``burst_balance``, ``instance_io_balance`` or ``instance_byte_balance``.
        resource_id: Volume or instance ID.
        value: Latest value (for a balance: the balance in %).
        limit: The limit (for a balance: the baseline that now applies, or None).
        unit: Unit of ``value`` and ``limit``.
        ratio: ``value / limit`` (1.0 for an exhausted balance).
        evidence: Timestamps of the points at or above the threshold (or at zero balance).
        text: One line for the verdict.
    """

    kind: str
    resource_id: str
    value: float
    limit: float | None
    unit: str
    ratio: float
    evidence: tuple[datetime, ...]
    text: str


@dataclass(frozen=True, slots=True)
class SeriesAssessment:
    """One series judged against its limit.

    Attributes:
        series: The series.
        latest: Latest value, or None.
        limit: Applied limit, or None.
        percent: ``latest`` as a percentage of the limit.
        peak_percent: Highest value in the series as a percentage of the limit.
        saturated: At least ``hits`` of the last ``window`` points are >= threshold x limit.
    """

    series: Series
    latest: float | None
    limit: AppliedLimit | None
    percent: float | None
    peak_percent: float | None
    saturated: bool


@dataclass(frozen=True, slots=True)
class Assessment:
    """The verdict for a target.

    Attributes:
        verdict: One line naming the limit that binds, or saying none does.
        binding: The finding the verdict names, if any.
        findings: Every limit reached and balance exhausted, binding one first.
        rows: Each input series (and read+write totals) with its limit.
        instance_limits: Limits of the instance type, if known.
        volume_limits: Limits by volume ID.
    """

    verdict: str
    binding: Finding | None
    findings: tuple[Finding, ...]
    rows: tuple[SeriesAssessment, ...]
    instance_limits: EbsLimits | None
    volume_limits: dict[str, VolumeLimits] = field(default_factory=dict)


def fmt_number(value: float) -> str:
    """Format a figure for a verdict: ``3,000``, ``81``, ``594``, ``5.4``, ``0``."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 10 or float(value).is_integer():
        return f"{round(value):,}"
    return f"{value:.1f}"


def _mib_text(mib: float) -> str:
    return f"{fmt_number(mib)} MiB/s ({fmt_number(mib * MIB_IN_MB)} MB/s)"


def _burst_choice(
    base: float, burst: float | None, balance: float | None
) -> tuple[float, bool, bool]:
    """Return (limit, is_burst, exhausted) for a baseline/burst pair and a balance reading."""
    exhausted = balance is not None and balance <= EXHAUSTED_BALANCE_PCT
    if burst is None or burst <= base:
        return base, False, False
    if exhausted:
        return base, False, True
    return burst, True, False


def _volume_limit(kind: LimitKind, vol: VolumeLimits, balance: float | None) -> AppliedLimit | None:
    vt = vol.volume_type or "volume"
    bal_text = f"BurstBalance {fmt_number(balance)}%" if balance is not None else ""
    if kind == "volume_iops":
        if vol.baseline_iops is None:
            return None
        base, burst = vol.baseline_iops, vol.burst_iops
        if vol.approximate:  # magnetic: no balance metric, judge against the typical maximum
            top = burst if burst is not None else base
            fig = f"~{fmt_number(top)} IOPS"
            return AppliedLimit(
                top, fig, f"{fig} magnetic maximum (approximate)", kind, vol.volume_id
            )
        value, is_burst, exhausted = _burst_choice(base, burst, balance)
        fig = f"{fmt_number(value)} IOPS"
        if is_burst:
            word = "burst"
        elif vt in ("io1", "io2") or (vt == "gp3" and base != 3000):
            word = "provisioned"
        elif vt in ("st1", "sc1"):
            word = "maximum"
        else:
            word = "baseline"
        note = ""
        if exhausted and burst is not None:
            note = f"burst to {fmt_number(burst)} IOPS exhausted: {bal_text}"
        elif is_burst:
            note = bal_text
        return AppliedLimit(
            value, fig, f"{fig} {vt} {word}", kind, vol.volume_id, exhausted, note, bal_text
        )
    if kind == "volume_mbps":
        if vol.baseline_mibps is None:
            return None
        base_mib, burst_mib = vol.baseline_mibps, vol.burst_mibps
        if vol.approximate:
            top = burst_mib if burst_mib is not None else base_mib
            fig = f"~{_mib_text(top)}"
            return AppliedLimit(
                top * MIB_IN_MB, fig, f"{fig} magnetic maximum (approximate)", kind, vol.volume_id
            )
        mib, is_burst, exhausted = _burst_choice(base_mib, burst_mib, balance)
        fig = _mib_text(mib)
        word = "burst throughput" if is_burst else "throughput"
        note = ""
        if exhausted and burst_mib is not None:
            note = f"burst to {fmt_number(burst_mib)} MiB/s exhausted: {bal_text}"
        elif is_burst:
            note = bal_text
        return AppliedLimit(
            mib * MIB_IN_MB,
            fig,
            f"{fig} {vt} {word}",
            kind,
            vol.volume_id,
            exhausted,
            note,
            bal_text,
        )
    return None


def _instance_limit(
    kind: LimitKind, limits: EbsLimits, resource: str, balance: float | None
) -> AppliedLimit | None:
    if kind == "instance_iops":
        base, top, unit, metric = limits.baseline_iops, limits.maximum_iops, "IOPS", "EBSIOBalance%"
    elif kind == "instance_mbps":
        base, top, unit, metric = (
            limits.baseline_mbps,
            limits.maximum_mbps,
            "MB/s",
            "EBSByteBalance%",
        )
    else:
        return None
    bal_text = f"{metric} {fmt_number(balance)}" if balance is not None else ""
    value, _, exhausted = _burst_choice(base, top, balance)
    fig = f"{fmt_number(value)} {unit}"
    if top <= base:
        return AppliedLimit(value, fig, f"{fig} EBS limit", kind, resource)
    if exhausted:
        note = f"burst to {fmt_number(top)} {unit} exhausted: {bal_text}"
        return AppliedLimit(value, fig, f"{fig} EBS baseline", kind, resource, True, note, bal_text)
    return AppliedLimit(
        value, fig, f"{fig} EBS burst maximum", kind, resource, False, bal_text, bal_text
    )


def _saturation(
    series: Series, limit: float, threshold: float, window: int, hits: int
) -> tuple[bool, tuple[datetime, ...]]:
    if limit <= 0:
        return False, ()
    recent = series.points()[-max(window, 1) :]
    over = tuple(t for t, v in recent if v >= threshold * limit)
    need = min(max(hits, 1), len(recent))
    return bool(recent) and len(over) >= need, over


def evaluate(
    instance_info: Mapping[str, Any] | None,
    volumes: Sequence[Mapping[str, Any]],
    series: Sequence[Series],
    *,
    threshold: float = 0.9,
    window: int = 5,
    hits: int = 3,
) -> Assessment:
    """Judge every series against the limit that applies and name the one that binds.

    Burst limits depend on the balances: a gp2/st1/sc1 volume is judged against its burst
    figure while its BurstBalance is above :data:`EXHAUSTED_BALANCE_PCT` (or unknown), against its
    baseline once it is exhausted; an instance likewise with EBSIOBalance% and EBSByteBalance%.
    Judging against the higher figure when the balance is unknown keeps the verdict from claiming
    a limit it cannot prove. Read and write series are summed (:func:`with_totals`) and the total
    is what is judged when both exist.

    When several limits are reached, the one used at the highest fraction binds (ties: the smaller
    limit), so an instance whose EBS baseline caps a faster volume is named, not the volume.

    Args:
        instance_info: DescribeInstanceTypes item of the instance's type, or None.
        volumes: DescribeVolumes items (detached volumes are judged on their own limits).
        series: Series from :func:`series_from_results` (stale ones are judged too).
        threshold: Fraction of the limit that counts as "at the limit".
        window: How many of the latest points are looked at.
        hits: How many of them must be at the limit (fewer when fewer points exist).

    Returns:
        The assessment.
    """
    ilimits = instance_ebs_limits(instance_info)
    vlimits: dict[str, VolumeLimits] = {}
    for v in volumes:
        if isinstance(v, Mapping) and v.get("VolumeId"):
            vl = volume_limits(v)
            vlimits[vl.volume_id] = vl
    instance_type = (
        str((instance_info or {}).get("InstanceType") or "")
        if isinstance(instance_info, Mapping)
        else ""
    )

    base = [s for s in series if not s.spec.parts]
    all_series = with_totals(base) if len(base) == len(series) else list(series)

    balances: dict[tuple[str, str], Series] = {}
    for s in all_series:
        if s.spec.limit in ("burst_balance", "instance_io_balance", "instance_byte_balance"):
            balances.setdefault((s.spec.resource_id, s.spec.limit), s)

    def balance_of(resource: str, kind: str) -> float | None:
        s = balances.get((resource, kind))
        return s.latest if s is not None else None

    rows: list[SeriesAssessment] = []
    has_instance_series = False
    for s in all_series:
        kind = s.spec.limit
        resource = s.spec.resource_id
        applied: AppliedLimit | None = None
        if kind in ("instance_iops", "instance_mbps"):
            has_instance_series = True
            if ilimits is not None:
                bal_kind = (
                    "instance_io_balance" if kind == "instance_iops" else "instance_byte_balance"
                )
                applied = _instance_limit(kind, ilimits, resource, balance_of(resource, bal_kind))
        elif kind in ("volume_iops", "volume_mbps") and resource in vlimits:
            applied = _volume_limit(kind, vlimits[resource], balance_of(resource, "burst_balance"))
        latest = s.latest
        percent = peak = None
        saturated = False
        if applied is not None and applied.value > 0:
            pts = s.points()
            if latest is not None:
                percent = 100 * latest / applied.value
            if pts:
                peak = 100 * max(v for _, v in pts) / applied.value
            saturated, _ = _saturation(s, applied.value, threshold, window, hits)
        rows.append(SeriesAssessment(s, latest, applied, percent, peak, saturated))

    findings = _findings(rows, vlimits, ilimits, instance_type, threshold, window, hits)
    binding = findings[0] if findings else None
    verdict = binding.text if binding else _no_limit_verdict(rows)
    note = _instance_note(instance_info, ilimits, instance_type, has_instance_series)
    if note:
        verdict = f"{verdict}; {note}"
    return Assessment(verdict, binding, tuple(findings), tuple(rows), ilimits, vlimits)


def _findings(
    rows: Sequence[SeriesAssessment],
    vlimits: Mapping[str, VolumeLimits],
    ilimits: EbsLimits | None,
    instance_type: str,
    threshold: float,
    window: int,
    hits: int,
) -> list[Finding]:
    # One candidate per (resource, limit kind): the total when it exists, else the busiest part.
    best: dict[tuple[str, str], SeriesAssessment] = {}
    for row in rows:
        if row.limit is None or not row.saturated:
            continue
        key = (row.series.spec.resource_id, row.limit.kind)
        cur = best.get(key)
        if (
            cur is None
            or (row.series.spec.parts and not cur.series.spec.parts)
            or (
                bool(row.series.spec.parts) == bool(cur.series.spec.parts)
                and (row.percent or 0) > (cur.percent or 0)
            )
        ):
            best[key] = row

    limit_findings: list[Finding] = []
    exhausted_limits: set[tuple[str, str]] = set()
    for row in best.values():
        lim = row.limit
        assert lim is not None
        value = row.latest if row.latest is not None else 0.0
        _, evidence = _saturation(row.series, lim.value, threshold, window, hits)
        if lim.kind.startswith("volume"):
            vol = vlimits[lim.resource_id]
            if lim.exhausted:
                text = (
                    f"{vol.volume_type} burst balance exhausted on {lim.resource_id} "
                    f"({lim.balance_text}, baseline {lim.figure})"
                )
            else:
                text = f"volume {lim.resource_id} at its {lim.label}"
        else:
            text = f"instance {instance_type or lim.resource_id} at its {lim.label}"
        if lim.note and not (lim.kind.startswith("volume") and lim.exhausted):
            text += f" ({lim.note})"
        if lim.exhausted:
            balance_kind = {
                "volume_iops": "burst_balance",
                "volume_mbps": "burst_balance",
                "instance_iops": "instance_io_balance",
                "instance_mbps": "instance_byte_balance",
            }[lim.kind]
            exhausted_limits.add((lim.resource_id, balance_kind))
        limit_findings.append(
            Finding(
                lim.kind,
                lim.resource_id,
                value,
                lim.value,
                row.series.unit,
                value / lim.value,
                evidence,
                text,
            )
        )
    limit_findings.sort(key=lambda f: (-f.ratio, f.limit or 0.0))

    balance_findings: list[Finding] = []
    for row in rows:
        kind = row.series.spec.limit
        if kind not in ("burst_balance", "instance_io_balance", "instance_byte_balance"):
            continue
        latest = row.latest
        resource = row.series.spec.resource_id
        if latest is None or latest > EXHAUSTED_BALANCE_PCT or (resource, kind) in exhausted_limits:
            continue
        recent = row.series.points()[-max(window, 1) :]
        evidence = tuple(t for t, v in recent if v <= EXHAUSTED_BALANCE_PCT)
        limit: float | None = None
        if kind == "burst_balance":
            bvol = vlimits.get(resource)
            baselines = []
            if bvol is not None and bvol.burst_iops is not None and bvol.baseline_iops is not None:
                baselines.append(f"{fmt_number(bvol.baseline_iops)} IOPS")
                limit = bvol.baseline_iops
            if (
                bvol is not None
                and bvol.burst_mibps is not None
                and bvol.baseline_mibps is not None
            ):
                baselines.append(_mib_text(bvol.baseline_mibps))
            extra = f", baseline {' / '.join(baselines)}" if baselines else ""
            vt = bvol.volume_type if bvol is not None else "volume"
            text = (
                f"{vt} burst balance exhausted on {resource} "
                f"(BurstBalance {fmt_number(latest)}%{extra})"
            )
        else:
            extra = ""
            if ilimits is not None and kind == "instance_io_balance":
                limit, extra = ilimits.baseline_iops, f"{fmt_number(ilimits.baseline_iops)} IOPS"
            elif ilimits is not None:
                limit, extra = ilimits.baseline_mbps, f"{fmt_number(ilimits.baseline_mbps)} MB/s"
            text = (
                f"instance {instance_type or resource} EBS burst exhausted "
                f"({row.series.spec.metric_name} {fmt_number(latest)}"
                + (f", baseline {extra})" if extra else ")")
            )
        balance_findings.append(Finding(kind, resource, latest, limit, "%", 1.0, evidence, text))
    return limit_findings + balance_findings


def _no_limit_verdict(rows: Sequence[SeriesAssessment]) -> str:
    judged = [r for r in rows if r.limit is not None and r.peak_percent is not None]
    if not judged:
        if any(r.series.points() for r in rows):
            return "no EBS limit reached (no limit known for these series)"
        return "no EBS limit reached (no data yet)"
    top = max(judged, key=lambda r: r.peak_percent or 0.0)
    return (
        f"no EBS limit reached (peak {fmt_number(top.peak_percent or 0.0)}% of "
        f"{top.series.spec.resource_id} {top.series.unit})"
    )


def _instance_note(
    info: Mapping[str, Any] | None, limits: EbsLimits | None, instance_type: str, has_series: bool
) -> str:
    if limits is not None:
        return ""
    if isinstance(info, Mapping):
        who = instance_type or "this instance type"
        return f"instance type {who} has no EBS-optimized limits in DescribeInstanceTypes"
    if has_series:
        return "instance type unknown: instance EBS limits not checked"
    return ""
