"""Asking CloudWatch for metric series and reading the answer honestly.

It exists because a CloudWatch answer is not the chart: the period must be one CloudWatch still
keeps for the window (:func:`choose_period`, :func:`align_window`); queries go out as plain
GetMetricData ``MetricStat`` items, 500 per call, no metric math, so they also work where math
expressions are unavailable (:func:`build_queries`, :func:`split_queries`); and the answer is read
into :class:`Series` (:func:`series_from_results`) with timestamps sorted ascending, duplicates
dropped, NaN and infinities turned into gaps, per-series status and messages kept.

Rates are made on the client: IOPS = Sum(ops) / period seconds and MB/s = Sum(bytes) / period /
10**6, where the period is the one the *data* has, which is not always the one asked for. An
instance with basic monitoring (AWS's default) publishes its AWS/EC2 metrics as 5-minute sums, and
asked at 60 s CloudWatch returns each 5-minute sum in a 1-minute bucket, so a rate made with 60 s
reads 5x too high. Such instances are asked at 300 s (:func:`query_period`) and every answer's
period is read from its timestamps (:func:`detect_period`) for what nobody could know in advance
(a metric added from ListMetrics); :func:`data_note` tells the user which resolution is shown.
AWS/EBS volume metrics are 1-minute sums for every volume type (while attached); balances
(``BurstBalance``, ``EBSIOBalance%``) are percentages at any period.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tui.models.metrics.catalogue import LimitKind, MetricSpec, UnitKind
from tui.models.metrics.units import MB, finite_number

STANDARD_PERIODS: Final[tuple[int, ...]] = (60, 300, 900, 3600, 21600, 86400)
HIGH_RES_PERIODS: Final[tuple[int, ...]] = (1, 5, 10, 30)
MAX_QUERIES_PER_CALL: Final = 500
BASIC_MONITORING_PERIOD: Final = 300
"""EC2 basic monitoring (AWS's default) publishes AWS/EC2 metrics once per 5 minutes, as 5-minute
statistics; detailed monitoring publishes them every minute."""
_QUERY_ID: Final = re.compile(r"^[a-z][a-zA-Z0-9_]*$")


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


def _timestamp(value: object) -> datetime | None:
    try:
        if isinstance(value, datetime):
            return _utc(value)
        if isinstance(value, str):
            text = value.strip()
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            return _utc(datetime.fromisoformat(text))
        num = finite_number(value)
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
                acc["points"].append((t, finite_number(vals[i]) if i < len(vals) else None))
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


_VOLUME_TO_INSTANCE: Final[dict[str, tuple[LimitKind, UnitKind]]] = {
    "volume_ops": ("instance_iops", "iops"),
    "volume_bytes": ("instance_mbps", "mbps"),
}


def volumes_sum(instance_id: str, series: Sequence[Series]) -> list[Series]:
    """An instance's EBS IOPS and MB/s as the sum of its volumes' series.

    Xen instance types (m4, c4, r4, t2, i3...) publish no ``EBSReadOps``/``EBSWriteOps``/
    ``EBSReadBytes``/``EBSWriteBytes`` (those are Nitro-only), yet their EBS-optimized limits
    bind. What the instance moves is what its volumes move, so the sum of every volume's read and
    write series stands for it. A Xen volume reports a datapoint only when it is active, so a
    missing datapoint counts as zero: the sum can only be low, never claim a limit it did not see.

    Args:
        instance_id: The instance the sum stands for.
        series: Volume series (read and write ops and bytes, any volumes); others are ignored.

    Returns:
        Up to two series (IOPS, MB/s), each limited as the instance's, with ``parts`` naming the
        metrics summed; none for a kind whose volumes' periods differ or that has no datapoint.
    """
    groups: dict[str, list[Series]] = {}
    for s in series:
        if s.spec.combine in _VOLUME_TO_INSTANCE and not s.spec.parts:
            groups.setdefault(s.spec.combine, []).append(s)
    out: list[Series] = []
    for combine, parts in groups.items():
        if len({p.period for p in parts}) != 1:
            continue
        sums: dict[datetime, list[float]] = {}
        for p in parts:
            for t, v in p.points():
                sums.setdefault(t, []).append(v)
        if not sums:
            continue
        stamps = sorted(sums)
        limit, unit_kind = _VOLUME_TO_INSTANCE[combine]
        names = tuple(dict.fromkeys(p.spec.metric_name for p in parts))
        volumes = len({p.spec.resource_id for p in parts})
        spec = MetricSpec(
            "AWS/EBS",
            "+".join(names),
            (("InstanceId", instance_id),),
            "Sum",
            unit_kind,
            f"{instance_id} total {parts[0].unit} (sum of {volumes} volumes)",
            limit,
            None,
            names,
        )
        out.append(
            Series(
                spec,
                tuple(stamps),
                tuple(math.fsum(sums[t]) for t in stamps),
                status=next((p.status for p in parts if p.status != "Complete"), "Complete"),
                unit=parts[0].unit,
                period=parts[0].period,
                stale=any(p.stale for p in parts),
            )
        )
    return out
