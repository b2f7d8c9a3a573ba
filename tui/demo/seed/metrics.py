"""Incident 2 in CloudWatch: the slow instance's IO at its limits, and everyone else's metrics.

The slow instance's gp3 volume sits at its provisioned IOPS, its gp2 volume's burst balance
drains to 0, and the instance's EBS throughput falls from burst to its type's baseline (the
spec says which figures). EBS volume metrics are 1-minute data; an instance's AWS/EC2 metrics
are 1-minute sums with detailed monitoring and 5-minute sums with basic monitoring, as AWS
publishes them. A healthy world (``incidents=False``) keeps the slow instance well inside.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from .spec import BUSY, FAILING, HISTORY, SLOW, TWIN, WEB, WEB_OTHER, DemoWorld

__all__ = ["metric_data", "put_metrics"]

MB = 1024 * 1024
# Everyday instances: (role, CPU %); the order is part of the demo's reproducible stream.
_QUIET = ((WEB, 14), (WEB_OTHER, 12), (TWIN, 43), (FAILING, 38))


def metric_data(
    world: DemoWorld, rng: random.Random, start: datetime, end: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Datapoints by namespace in [start, end): per minute, per 5 minutes on basic monitoring."""
    spec = world.spec
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    t0 = int(start.timestamp()) // 60 * 60
    t_end = int(end.timestamp())
    history_start = world.now - HISTORY

    def put(ns: str, name: str, dim: tuple[str, str], ts: int, value: float, unit: str) -> None:
        out[ns].append(
            {
                "MetricName": name,
                "Dimensions": [{"Name": dim[0], "Value": dim[1]}],
                "Timestamp": datetime.fromtimestamp(ts, UTC),
                "Value": round(value, 3),
                "Unit": unit,
            }
        )

    slow = world.spec.name(SLOW)
    db = world.instance_ids[slow]
    gp3 = world.volume_ids[f"{slow}:gp3"]
    gp2 = world.volume_ids[f"{slow}:gp2"]
    gp3_limit = spec.slow_gp3[1]
    gp2_baseline = max(100, 3 * spec.slow_gp2_size)
    burst_mbps, baseline_mbps = spec.slow_mbps
    failed_at = int(world.kms_denied_at.timestamp()) - 600
    quiet = [(world.spec.name(role), cpu) for role, cpu in _QUIET]
    failing = world.spec.name(FAILING)
    busy = world.spec.name(BUSY) if world.spec.has(BUSY) else None
    for ts in range(t0, t_end, 60):
        minutes = (ts - history_start.timestamp()) / 60  # since the migration load started
        j = lambda spread=0.03: 1 + rng.uniform(-spread, spread)  # noqa: E731
        if spec.incidents:
            # gp2: bursts at 3,000 IOPS until BurstBalance (100 %) is gone, then its baseline.
            burst = min(100.0, max(0.0, 100 - minutes * 3.0))  # full before it
            gp2_iops = 3000 * j(0.02) if burst > 0 else gp2_baseline * j(0.01)
            gp3_iops = (gp3_limit - 10) * j(0.005)  # pinned at its provisioned IOPS
            byte_balance = min(100.0, max(0.0, 100 - minutes * 2.5))
            inst_mbps = (burst_mbps if byte_balance > 0 else baseline_mbps) * (
                j(0.01) if byte_balance > 0 else 1
            )
            if byte_balance <= 0:
                inst_mbps = baseline_mbps * (1 - rng.uniform(0, 0.004))
        else:  # healthy: well inside every limit, balances full
            burst, byte_balance = 100.0, 100.0
            gp2_iops, gp3_iops = 0.4 * gp2_baseline * j(0.1), 0.4 * gp3_limit * j(0.1)
            inst_mbps = 0.4 * baseline_mbps * j(0.1)
        gp3_mbps = inst_mbps * 0.82
        gp2_mbps = inst_mbps - gp3_mbps
        for vol, iops, mbps in ((gp3, gp3_iops, gp3_mbps), (gp2, gp2_iops, gp2_mbps)):
            reads = iops * 0.7 * 60
            writes = iops * 60 - reads
            put("AWS/EBS", "VolumeReadOps", ("VolumeId", vol), ts, reads, "Count")
            put("AWS/EBS", "VolumeWriteOps", ("VolumeId", vol), ts, writes, "Count")
            put("AWS/EBS", "VolumeReadBytes", ("VolumeId", vol), ts, mbps * MB * 0.6 * 60, "Bytes")
            put("AWS/EBS", "VolumeWriteBytes", ("VolumeId", vol), ts, mbps * MB * 0.4 * 60, "Bytes")
            put("AWS/EBS", "VolumeQueueLength", ("VolumeId", vol), ts, 28 * j(0.2), "Count")
            put("AWS/EBS", "VolumeIdleTime", ("VolumeId", vol), ts, 0.0, "Seconds")
        put("AWS/EBS", "BurstBalance", ("VolumeId", gp2), ts, burst, "Percent")
        total_ops = (gp3_iops + gp2_iops) * 60
        put("AWS/EC2", "EBSReadOps", ("InstanceId", db), ts, total_ops * 0.7, "Count")
        put("AWS/EC2", "EBSWriteOps", ("InstanceId", db), ts, total_ops * 0.3, "Count")
        put("AWS/EC2", "EBSReadBytes", ("InstanceId", db), ts, inst_mbps * MB * 0.6 * 60, "Bytes")
        put("AWS/EC2", "EBSWriteBytes", ("InstanceId", db), ts, inst_mbps * MB * 0.4 * 60, "Bytes")
        put("AWS/EC2", "EBSByteBalance%", ("InstanceId", db), ts, byte_balance, "Percent")
        put(
            "AWS/EC2",
            "EBSIOBalance%",
            ("InstanceId", db),
            ts,
            min(100.0, max(0.0, 100 - minutes * 0.2)) if spec.incidents else 100.0,
            "Percent",
        )
        put("AWS/EC2", "CPUUtilization", ("InstanceId", db), ts, 20 * j(0.2), "Percent")
        put("AWS/EC2", "NetworkIn", ("InstanceId", db), ts, 2.1e8 * j(0.2), "Bytes")
        put("AWS/EC2", "NetworkOut", ("InstanceId", db), ts, 6.3e8 * j(0.2), "Bytes")
        for name, cpu in quiet:
            if name == failing and spec.incidents and ts >= failed_at:
                continue  # the failing instance is stopped: no datapoints
            iid = world.instance_ids[name]
            put("AWS/EC2", "CPUUtilization", ("InstanceId", iid), ts, cpu * j(0.3), "Percent")
            put("AWS/EC2", "NetworkIn", ("InstanceId", iid), ts, 3.0e7 * j(0.4), "Bytes")
            put("AWS/EC2", "NetworkOut", ("InstanceId", iid), ts, 9.0e7 * j(0.4), "Bytes")
            put("AWS/EC2", "EBSReadOps", ("InstanceId", iid), ts, 120 * 60 * j(0.3), "Count")
            put("AWS/EC2", "EBSWriteOps", ("InstanceId", iid), ts, 80 * 60 * j(0.3), "Count")
            put("AWS/EC2", "EBSReadBytes", ("InstanceId", iid), ts, 4 * MB * 60 * j(0.3), "Bytes")
            put("AWS/EC2", "EBSWriteBytes", ("InstanceId", iid), ts, 3 * MB * 60 * j(0.3), "Bytes")
            put("AWS/EC2", "EBSByteBalance%", ("InstanceId", iid), ts, 100.0, "Percent")
            root = world.volume_ids.get(f"{name}:root")
            if root:
                put("AWS/EBS", "VolumeReadOps", ("VolumeId", root), ts, 120 * 60 * j(0.3), "Count")
                put("AWS/EBS", "VolumeWriteOps", ("VolumeId", root), ts, 80 * 60 * j(0.3), "Count")
        if busy is not None:  # ~4,000 IOPS and ~110 MB/s: busy, far from its type's limits
            iid, root = world.instance_ids[busy], world.volume_ids[f"{busy}:root"]
            iops, mbps = 4000 * j(0.05), 110 * j(0.05)
            for ns, dim, prefix in (
                ("AWS/EC2", ("InstanceId", iid), "EBS"),
                ("AWS/EBS", ("VolumeId", root), "Volume"),
            ):
                put(ns, f"{prefix}ReadOps", dim, ts, iops * 0.6 * 60, "Count")
                put(ns, f"{prefix}WriteOps", dim, ts, iops * 0.4 * 60, "Count")
                put(ns, f"{prefix}ReadBytes", dim, ts, mbps * MB * 0.6 * 60, "Bytes")
                put(ns, f"{prefix}WriteBytes", dim, ts, mbps * MB * 0.4 * 60, "Bytes")
            put("AWS/EC2", "EBSByteBalance%", ("InstanceId", iid), ts, 100.0, "Percent")
            put("AWS/EC2", "EBSIOBalance%", ("InstanceId", iid), ts, 100.0, "Percent")
            put("AWS/EC2", "CPUUtilization", ("InstanceId", iid), ts, 55 * j(0.2), "Percent")
    basic = {
        world.instance_ids[i.name]
        for i in spec.instances
        if i.monitoring != 60 and i.name in world.instance_ids
    }
    if basic and "AWS/EC2" in out:
        out["AWS/EC2"] = _five_minute(out["AWS/EC2"], basic)
    return out


def _five_minute(points: list[dict[str, Any]], instances: set[str]) -> list[dict[str, Any]]:
    """Basic monitoring: the instances' 1-minute points as AWS publishes them, one per 5 minutes.

    Counts and bytes become 5-minute sums, percentages 5-minute averages, stamped at the start
    of the period. A period cut by the range's edge gives a partial point; CloudWatch adds the
    rest when the next range's points arrive with the same stamp.
    """
    kept: list[dict[str, Any]] = []
    groups: dict[tuple[str, str, datetime], list[dict[str, Any]]] = {}
    for p in points:
        iid = p["Dimensions"][0]["Value"]
        if iid not in instances:
            kept.append(p)
            continue
        ts = p["Timestamp"]
        stamp = datetime.fromtimestamp(int(ts.timestamp()) // 300 * 300, UTC)
        groups.setdefault((p["MetricName"], iid, stamp), []).append(p)
    for (_name, _iid, stamp), items in groups.items():
        total = sum(p["Value"] for p in items)
        value = total / len(items) if items[0]["Unit"] == "Percent" else total
        kept.append({**items[0], "Timestamp": stamp, "Value": round(value, 3)})
    return kept


def put_metrics(cw: Any, data: dict[str, list[dict[str, Any]]]) -> int:
    """PutMetricData in batches of at most 1,000 datapoints."""
    total = 0
    for ns, items in data.items():
        for i in range(0, len(items), 1000):
            cw.put_metric_data(Namespace=ns, MetricData=items[i : i + 1000])
        total += len(items)
    return total
