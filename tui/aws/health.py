"""Read what :mod:`tui.models.health` judges: trails, flow logs, and metrics for the focus.

Calls (all read-only, through the one door): cloudtrail DescribeTrails (shadow trails included,
so a multi-region or organization trail created elsewhere counts) and GetTrailStatus in each
trail's home region; the network topology with its flow logs (:func:`tui.aws.network.
load_topology`); for a focused instance, DescribeInstances/DescribeVolumes and cloudwatch
ListMetrics by dimension. A refused call makes its check ``unknown`` instead of failing the report.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime
from typing import Any

from tui.aws.errors import HamariError
from tui.aws.inventory import describe_instances
from tui.aws.network import load_topology
from tui.aws.session import Aws
from tui.models import scratch
from tui.models.health import (
    FLOW_COST,
    METRIC_COST,
    TRAIL_COST,
    HealthCheck,
    HealthReport,
    TrailInfo,
    flow_log_checks,
    metric_checks,
    sort_checks,
    store_check,
    trail_checks,
)
from tui.models.network import Topology


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


async def load_trails(aws: Aws, region: str | None = None) -> list[TrailInfo]:
    """Every trail that applies to ``region`` (shadow trails included), with its status."""
    region = region or aws.region
    resp = await aws.call("cloudtrail", "DescribeTrails", region=region, includeShadowTrails=True)

    async def one(t: dict[str, Any]) -> TrailInfo:
        arn = str(t.get("TrailARN") or t.get("Name") or "")
        home = str(t.get("HomeRegion") or region)
        status: dict[str, Any] = {}
        try:
            status = await aws.call("cloudtrail", "GetTrailStatus", region=home, Name=arn)
        except HamariError:
            status = {}
        return TrailInfo(
            name=str(t.get("Name", "")),
            arn=arn,
            home_region=home,
            multi_region=bool(t.get("IsMultiRegionTrail", False)),
            organization=bool(t.get("IsOrganizationTrail", False)),
            bucket=t.get("S3BucketName"),
            prefix=str(t.get("S3KeyPrefix") or ""),
            log_group=t.get("CloudWatchLogsLogGroupArn"),
            is_logging=status.get("IsLogging") if status else None,
            latest_delivery=_when(status.get("LatestDeliveryTime")),
            delivery_error=str(status.get("LatestDeliveryError") or ""),
        )

    return list(await asyncio.gather(*(one(t) for t in resp.get("trailList", []) or [])))


async def list_metric_names(aws: Aws, dimension: str, value: str) -> dict[str, list[str]]:
    """Namespace -> metric names that ListMetrics returns for one dimension value."""
    out: dict[str, list[str]] = defaultdict(list)
    dims = [{"Name": dimension, "Value": value}]
    async for page in aws.pages("cloudwatch", "ListMetrics", Dimensions=dims, max_pages=20):
        for m in page.get("Metrics", []) or []:
            ns, name = str(m.get("Namespace", "")), str(m.get("MetricName", ""))
            if name not in out[ns]:
                out[ns].append(name)
    return dict(out)


def _unknown(name: str, err: HamariError, cost: str) -> HealthCheck:
    return HealthCheck(name, "unknown", f"could not check: {err.message}", cost)


async def _focus_parts(
    aws: Aws, focus: str, topology: Topology | None
) -> tuple[list[str], list[HealthCheck], str]:
    """The network ids to check flow logs for, the metric checks, and the focus label."""
    if focus.startswith("i-"):
        insts = await describe_instances(aws, [focus])
        if not insts:
            return [], [HealthCheck(f"metrics {focus}", "unknown", "no such instance")], focus
        inst = insts[0]
        label = f"{inst.name} ({focus})" if inst.name else focus
        names = await list_metric_names(aws, "InstanceId", focus)
        parts = [*inst.eni_ids, inst.subnet_id or ""]
        return parts, metric_checks(focus, names, label=label, region=aws.region), label
    if focus.startswith("vol-"):
        names = await list_metric_names(aws, "VolumeId", focus)
        return [], metric_checks(focus, names, region=aws.region), focus
    label = (topology.names.get(focus) if topology else None) or focus
    return [focus], [], label


async def check_health(aws: Aws, *, focus: str | None, now: datetime) -> HealthReport:
    """Run every check for the region and the focused resource.

    Args:
        aws: The open AWS access point.
        focus: The focused resource id (``i-…``, ``vol-…``, ``eni-…``, ``subnet-…``, ``vpc-…``).
        now: The clock (delivery age).
    """
    region = aws.region
    warnings: list[str] = []

    async def trails() -> list[HealthCheck]:
        try:
            return trail_checks(await load_trails(aws), region, now)
        except HamariError as err:
            return [_unknown(f"CloudTrail {region}", err, TRAIL_COST)]

    async def topo() -> Topology | None:
        try:
            return await load_topology(aws)
        except HamariError as err:
            warnings.append(f"flow logs: {err.message}")
            return None

    trail_result, topology = await asyncio.gather(trails(), topo())
    checks: list[HealthCheck] = list(trail_result)
    focus_parts: list[str] = []
    metric_result: list[HealthCheck] = metric_checks(None, {})
    if focus:
        try:
            focus_parts, metric_result, _ = await _focus_parts(aws, focus, topology)
        except HamariError as err:
            metric_result = [_unknown(f"metrics {focus}", err, METRIC_COST)]
    if topology is None:
        checks.append(
            HealthCheck(
                "flow logs",
                "unknown",
                "could not read: " + "; ".join(warnings),
                FLOW_COST,
            )
        )
    else:
        warnings.extend(topology.warnings)
        checks += flow_log_checks(topology, focus=focus_parts, region=region)
    checks += metric_result
    checks.append(store_check(scratch.place().in_memory, scratch.describe()))
    return HealthReport(tuple(sort_checks(checks)), now, tuple(warnings))
