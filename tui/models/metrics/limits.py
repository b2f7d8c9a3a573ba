"""The EBS limits that can bind an instance: its type's EBS-optimized figures, each volume's, bursts.

It exists so that "which limit is this instance at" has one answer from DescribeInstanceTypes and
DescribeVolumes, with no network and no UI: :func:`instance_ebs_limits` (baseline and maximum
IOPS and MB/s of a type, :func:`has_ebs_burst`), :func:`volume_limits` (the rules of each volume
type, gp2 and st1/sc1 bursts included) and :data:`EXHAUSTED_BALANCE_PCT`, the balance at which a
burst counts as spent. Judging series against these is :mod:`tui.models.metrics.assessment`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tui.models.metrics.units import MIB_IN_MB, finite_number

EXHAUSTED_BALANCE_PCT: Final = 1.0
"""A balance at or below this percentage counts as exhausted (CloudWatch reports 0-100)."""


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
    f = finite_number(value)
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
      1,000 MiB/s above 32,000 IOPS (16 KiB per IOPS: 48,000 IOPS give 750 MiB/s).
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
                base_tp = min(max(iops * 16 / 1024, 500.0), 1000.0)  # 16 KiB per IOPS
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
