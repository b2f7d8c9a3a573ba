"""Which EBS limit binds a target: the verdict, the findings and the evidence behind them.

It exists so that the metrics pane, the fleet sweep, the findings strip and ``hamari diagnose``
judge series the same way (:func:`evaluate`): each series against the limit that applies now
(burst figures while the balance lasts, the baseline once it is spent), read and write summed,
and the limit used at the highest fraction named in a one-line verdict with its evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tui.models.metrics.catalogue import LimitKind
from tui.models.metrics.limits import (
    EXHAUSTED_BALANCE_PCT,
    EbsLimits,
    VolumeLimits,
    instance_ebs_limits,
    volume_limits,
)
from tui.models.metrics.series import Series, volumes_sum, with_totals
from tui.models.metrics.units import MIB_IN_MB, fmt_number, mib_text


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
class LimitHit:
    """A limit reached or a burst balance exhausted, with its evidence: the metrics' reading,
    which :func:`tui.models.findings.compute_findings` turns into a ``Finding`` (the one kind).

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
    binding: LimitHit | None
    findings: tuple[LimitHit, ...]
    rows: tuple[SeriesAssessment, ...]
    instance_limits: EbsLimits | None
    volume_limits: dict[str, VolumeLimits] = field(default_factory=dict)


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
            fig = f"~{mib_text(top)}"
            return AppliedLimit(
                top * MIB_IN_MB, fig, f"{fig} magnetic maximum (approximate)", kind, vol.volume_id
            )
        mib, is_burst, exhausted = _burst_choice(base_mib, burst_mib, balance)
        fig = mib_text(mib)
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
    summed_for = _instance_without_ebs_data(ilimits, all_series, vlimits)
    if summed_for:
        attached = [
            s
            for s in base
            if s.spec.resource_id in vlimits
            and summed_for in (vlimits[s.spec.resource_id].attached_to or (summed_for,))
        ]
        all_series += volumes_sum(summed_for, attached)

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
        if (
            applied is not None
            and kind in ("instance_iops", "instance_mbps")
            and s.spec.namespace == "AWS/EBS"
        ):
            said = "sum of its volumes: no instance EBS metrics"
            applied = replace(applied, note=f"{applied.note}; {said}" if applied.note else said)
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


def _instance_without_ebs_data(
    ilimits: EbsLimits | None,
    series: Sequence[Series],
    vlimits: Mapping[str, VolumeLimits],
) -> str:
    """The instance whose EBS limits must be judged on its volumes' sum, or ''.

    That is an instance with known limits, with no datapoint in any of its own EBS ops or bytes
    series: Xen types publish none (they are Nitro-only metrics). Its ID comes from its (empty)
    series, else from the one instance its volumes are attached to.
    """
    if ilimits is None:
        return ""
    own = [s for s in series if s.spec.limit in ("instance_iops", "instance_mbps")]
    if any(s.points() for s in own):
        return ""
    ids = {s.spec.resource_id for s in own if s.spec.resource_id}
    if not ids:
        ids = {i for v in vlimits.values() for i in v.attached_to}
    return next(iter(ids)) if len(ids) == 1 else ""


def _findings(
    rows: Sequence[SeriesAssessment],
    vlimits: Mapping[str, VolumeLimits],
    ilimits: EbsLimits | None,
    instance_type: str,
    threshold: float,
    window: int,
    hits: int,
) -> list[LimitHit]:
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

    limit_findings: list[LimitHit] = []
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
            LimitHit(
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

    balance_findings: list[LimitHit] = []
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
                baselines.append(mib_text(bvol.baseline_mibps))
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
        balance_findings.append(LimitHit(kind, resource, latest, limit, "%", 1.0, evidence, text))
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
