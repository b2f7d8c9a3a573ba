"""Are logs written? Checks of the evidence sources, each with what its absence costs and the fix.

The talk behind hamari ends incident 3 with "flow logs must have been enabled beforehand". This
module judges, from what the AWS layer read, whether the three sources hamari reads are there:
CloudTrail (a trail covering this region, logging, delivering), VPC flow logs (per VPC, subnet or
ENI, with destination and format) and CloudWatch metrics for the focused resource. Each
:class:`HealthCheck` says what you cannot see without it and the AWS CLI command that enables it;
hamari itself never changes anything. Pure: no network, no UI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from tui.models.flowlog import DEFAULT_FORMAT
from tui.models.network import FLOW_LOGS_PART, FlowLogConfig, Topology

Status = Literal["ok", "warn", "missing", "unknown"]
SYMBOLS: Mapping[str, str] = {"ok": "✓", "warn": "▲", "missing": "✗", "unknown": "?"}
_SEVERITY = {"ok": 0, "unknown": 1, "warn": 2, "missing": 3}

TRAIL_COST = (
    "who called which API, and what it returned: the AccessDenied behind a silent failure "
    "(incident 1) is only in CloudTrail"
)
FLOW_COST = (
    "which packets were ACCEPTed or REJECTed, in which AZ and by which interface: an asymmetric "
    "return path dropped by a NACL (incident 3) cannot be seen afterwards"
)
METRIC_COST = "IOPS, throughput, CPU and burst balances over time: an EBS limit hit (incident 2)"
PLACEHOLDER_BUCKET = "<bucket>"


@dataclass(frozen=True)
class HealthCheck:
    """One "is this written?" answer.

    Attributes:
        name: What is checked (``CloudTrail us-east-1``, ``flow logs vpc-…``).
        status: ``ok``, ``warn``, ``missing`` or ``unknown`` (could not be read).
        detail: What was found (destination, format, last delivery).
        cost_of_missing: What you cannot see without it.
        fix_command: The AWS CLI command that enables it, or None.
        resource: The resource the check is about, when there is one.
    """

    name: str
    status: Status
    detail: str
    cost_of_missing: str = ""
    fix_command: str | None = None
    resource: str | None = None

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.status]


@dataclass(frozen=True)
class TrailInfo:
    """A trail from DescribeTrails (shadow trails included) and its GetTrailStatus.

    Attributes:
        name: The trail name.
        arn: The trail ARN.
        home_region: Where it was created.
        multi_region: IsMultiRegionTrail.
        organization: IsOrganizationTrail.
        bucket: The S3 bucket it delivers to.
        prefix: Its S3 key prefix (S3KeyPrefix), or ``""``.
        log_group: The CloudWatch Logs group ARN, if any.
        is_logging: From GetTrailStatus, None when the status could not be read.
        latest_delivery: LatestDeliveryTime, or None.
        delivery_error: LatestDeliveryError, or ``""``.
    """

    name: str
    arn: str
    home_region: str
    multi_region: bool
    organization: bool = False
    bucket: str | None = None
    log_group: str | None = None
    prefix: str = ""
    is_logging: bool | None = None
    latest_delivery: datetime | None = None
    delivery_error: str = ""

    def covers(self, region: str) -> bool:
        return self.multi_region or self.home_region == region

    @property
    def destination(self) -> str:
        """Where its files are: ``s3://bucket/prefix/AWSLogs/`` (what --source s3:// wants)."""
        if not self.bucket:
            return "?"
        prefix = self.prefix.strip("/")
        return f"s3://{self.bucket}/" + (f"{prefix}/" if prefix else "") + "AWSLogs/"


@dataclass(frozen=True)
class HealthReport:
    """All checks of one run, and when it ran."""

    checks: tuple[HealthCheck, ...] = ()
    checked_at: datetime | None = None
    warnings: tuple[str, ...] = field(default=())

    def badge(self) -> tuple[Status, int]:
        """The header badge: the worst status and how many checks are not ok."""
        return badge(self.checks)


STORE_COST = (
    "past 50,000 events or records the panes keep them in stores on disk (1M CloudTrail events: "
    "~800 MB) so that memory stays bounded; in a RAM folder they take that memory after all"
)


def store_check(in_memory: bool, detail: str) -> HealthCheck:
    """Where hamari's stores go (:mod:`tui.models.scratch`): a warning when that is RAM."""
    return HealthCheck(
        "hamari's store folder",
        "warn" if in_memory else "ok",
        detail,
        STORE_COST,
        "export TMPDIR=/var/tmp  # or any folder on a disk, before starting hamari"
        if in_memory
        else None,
    )


def badge(checks: Iterable[HealthCheck]) -> tuple[Status, int]:
    """The header badge for ``checks``: a status and how many checks need attention.

    ``missing`` only when no trail records the region (the one source nothing replaces);
    ``warn`` with the count of checks that are missing or warn (a VPC without flow logs, a trail
    that stopped delivering); ``ok`` when all are; ``unknown`` when nothing could be judged.
    Unknown checks (no focus, a refused call) count for nothing.
    """
    listed = list(checks)
    judged = [c for c in listed if c.status != "unknown"]
    if not judged:
        return "unknown", 0
    bad = [c for c in judged if c.status != "ok"]
    if any(c.name.startswith("CloudTrail ") and c.status == "missing" for c in judged):
        return "missing", len(bad)
    return ("warn" if bad else "ok"), len(bad)


def sort_checks(checks: Iterable[HealthCheck]) -> list[HealthCheck]:
    """Worst first, stable otherwise."""
    return sorted(checks, key=lambda c: -_SEVERITY[c.status])


# -- CloudTrail --------------------------------------------------------------------------------------


def _age(delivered: datetime | None, now: datetime) -> str:
    if delivered is None:
        return "no delivery yet"
    minutes = max(0, int((now - delivered).total_seconds() // 60))
    if minutes < 120:
        return f"last delivery {minutes} min ago"
    return f"last delivery {minutes // 60} h ago"


def trail_checks(
    trails: Sequence[TrailInfo], region: str, now: datetime, *, stale_after_minutes: int = 60
) -> list[HealthCheck]:
    """Is there a trail logging this region, and is one of them multi-region?

    Args:
        trails: Every trail DescribeTrails returned in ``region`` (shadow trails included).
        region: The region being investigated.
        now: The clock, for the delivery age.
        stale_after_minutes: A logging trail that has not delivered for this long is a warning.
    """
    create = (
        f"aws cloudtrail create-trail --region {region} --name hamari-trail "
        f"--s3-bucket-name {PLACEHOLDER_BUCKET} --is-multi-region-trail && "
        f"aws cloudtrail start-logging --region {region} --name hamari-trail"
    )
    covering = [t for t in trails if t.covers(region)]
    name = f"CloudTrail {region}"
    if not covering:
        return [
            HealthCheck(
                name,
                "missing",
                "no trail covers this region: only 90 days of management events in Event "
                "history (LookupEvents), no data events, nothing to search after that",
                TRAIL_COST,
                create,
            )
        ]
    logging = [t for t in covering if t.is_logging]
    out: list[HealthCheck] = []
    if not logging:
        unknown = all(t.is_logging is None for t in covering)
        trail = covering[0]
        out.append(
            HealthCheck(
                name,
                "unknown" if unknown else "warn",
                f"trail {trail.name} covers this region but "
                + ("its status could not be read" if unknown else "is not logging"),
                TRAIL_COST,
                None
                if unknown
                else f"aws cloudtrail start-logging --region {trail.home_region} --name {trail.name}",
                trail.arn,
            )
        )
    else:
        trail = max(
            logging, key=lambda t: t.latest_delivery or datetime.min.replace(tzinfo=now.tzinfo)
        )
        where = trail.destination
        if trail.log_group:
            where += " + CloudWatch Logs"
        detail = f"{trail.name} logging to {where}; {_age(trail.latest_delivery, now)}"
        status: Status = "ok"
        if trail.delivery_error:
            status, detail = "warn", f"{detail}; delivery error: {trail.delivery_error}"
        elif (
            trail.latest_delivery is not None
            and (now - trail.latest_delivery).total_seconds() > stale_after_minutes * 60
        ):
            status = "warn"
        fix = (
            None
            if status == "ok"
            else f"aws cloudtrail get-trail-status --region {trail.home_region} --name {trail.name}"
        )
        out.append(HealthCheck(name, status, detail, TRAIL_COST, fix, trail.arn))
    multi = [t for t in covering if t.multi_region and t.is_logging is not False]
    if multi:
        out.append(
            HealthCheck(
                "CloudTrail multi-region",
                "ok",
                f"{multi[0].name} records every region (home {multi[0].home_region})",
                "API calls in other regions (and IAM, STS and sign-in, recorded in the global region)",
            )
        )
    else:
        t = covering[0]
        out.append(
            HealthCheck(
                "CloudTrail multi-region",
                "warn",
                f"{t.name} records {t.home_region} only",
                "API calls in other regions (and IAM, STS and sign-in, recorded in the global region)",
                f"aws cloudtrail update-trail --region {t.home_region} --name {t.name} "
                "--is-multi-region-trail",
                t.arn,
            )
        )
    return out


# -- flow logs ---------------------------------------------------------------------------------------


def describe_flow_log(fl: FlowLogConfig) -> str:
    """``s3://bucket/prefix, parquet, custom format (14 fields), ALL, ACTIVE``."""
    if fl.destination_type == "cloud-watch-logs":
        where = f"CloudWatch Logs {fl.log_group or '?'}"
    elif fl.destination_type == "s3":
        where = f"s3://{fl.bucket}/{fl.prefix}".rstrip("/")
        if fl.file_format == "parquet":
            where += " parquet"
    else:
        where = f"Firehose {fl.destination or '?'}"
    if not fl.format_known:
        fmt = "format unknown"
    elif tuple(fl.fields) == tuple(DEFAULT_FORMAT):
        fmt = "default v2 format"
    else:
        fmt = f"custom format ({len(fl.fields)} fields)"
    parts = [where, fmt, fl.traffic_type]
    if fl.status:
        parts.append(fl.status)
    return ", ".join(parts)


# (region prefix, partition), as botocore's endpoint data says: every ARN names its partition,
# and an ``arn:aws:`` ARN is refused in China, GovCloud and the isolated regions.
_PARTITIONS: Final = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-iso-", "aws-iso"),
    ("us-isob-", "aws-iso-b"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-isof-", "aws-iso-f"),
    ("eusc-", "aws-eusc"),
)


def partition_of(region: str | None) -> str:
    """The ARN partition of a region: ``aws-cn`` for cn-north-1, ``aws-us-gov`` for
    us-gov-west-1, ``aws`` for any other (or unknown) region."""
    for prefix, partition in _PARTITIONS:
        if region and region.startswith(prefix):
            return partition
    return "aws"


def flow_log_fix(resource_id: str, region: str | None = None) -> str:
    """The CLI command that creates a flow log for a VPC, subnet or ENI (to S3, all traffic)."""
    kind = (
        "VPC"
        if resource_id.startswith("vpc-")
        else "Subnet"
        if resource_id.startswith("subnet-")
        else "NetworkInterface"
    )
    where = f" --region {region}" if region else ""
    return (
        f"aws ec2 create-flow-logs{where} --resource-type {kind} --resource-ids {resource_id} "
        f"--traffic-type ALL --log-destination-type s3 "
        f"--log-destination arn:{partition_of(region)}:s3:::{PLACEHOLDER_BUCKET}/vpc-flow-logs/ "
        "--max-aggregation-interval 60"
    )


def _flow_check(
    topology: Topology, resource_id: str, label: str, region: str | None
) -> HealthCheck:
    logs = topology.flow_logs_for(resource_id)
    own = [fl for fl in topology.flow_logs if fl.resource_id == resource_id]
    if resource_id.startswith("vpc-") and not logs:
        # Narrower flow logs inside the VPC: partial coverage.
        inside = {s.subnet_id for s in topology.subnets.values() if s.vpc_id == resource_id}
        inside |= {e.eni_id for e in topology.enis.values() if e.vpc_id == resource_id}
        partial = [fl for fl in topology.flow_logs if fl.resource_id in inside]
        if partial:
            return HealthCheck(
                label,
                "warn",
                f"only {len(partial)} subnet/ENI flow log(s) inside; the rest is not recorded",
                FLOW_COST,
                flow_log_fix(resource_id, region),
                resource_id,
            )
    if (
        not logs
        and resource_id.startswith("vpc-")
        and not any(e.vpc_id == resource_id for e in topology.enis.values())
    ):
        return HealthCheck(
            label,
            "ok",
            "no flow log, but no interface either: no traffic to lose yet",
            FLOW_COST,
            flow_log_fix(resource_id, region),
            resource_id,
        )
    if not logs:
        return HealthCheck(
            label,
            "missing",
            "no flow log covers it: nothing records its traffic",
            FLOW_COST,
            flow_log_fix(resource_id, region),
            resource_id,
        )
    chosen = own[0] if own else logs[0]
    bad = [fl for fl in logs if fl.status and fl.status.upper() not in ("ACTIVE", "SUCCESS")]
    traffic = {fl.traffic_type.upper() for fl in logs}
    detail = describe_flow_log(chosen)
    if len(logs) > 1:
        detail += f" (+{len(logs) - 1} more)"
    if not own:
        detail = f"via {chosen.resource_id}: {detail}"
    if bad:
        return HealthCheck(
            label,
            "warn",
            f"{bad[0].flow_log_id} delivery {bad[0].status}: {detail}",
            FLOW_COST,
            f"aws ec2 describe-flow-logs --flow-log-ids {bad[0].flow_log_id}",
            resource_id,
        )
    if "ALL" not in traffic:
        only = "/".join(sorted(traffic))
        return HealthCheck(
            label,
            "warn",
            f"records {only} traffic only: {detail}",
            "the other half of each conversation (ACCEPTed forward legs or REJECTs)",
            flow_log_fix(resource_id, region),
            resource_id,
        )
    return HealthCheck(label, "ok", detail, FLOW_COST, None, resource_id)


def flow_log_checks(
    topology: Topology, *, focus: Sequence[str] = (), region: str | None = None
) -> list[HealthCheck]:
    """One check per VPC (missing for :meth:`Topology.vpcs_without_flow_logs`), and per focus.

    Args:
        topology: The loaded network.
        focus: Subnet / ENI / VPC ids of the focused resource (an instance's ENIs and subnet).
        region: For the fix commands.
    """
    denied = topology.part_warning(FLOW_LOGS_PART)
    if not topology.flow_logs and denied is not None:  # unknown, not "missing"
        why = denied.rstrip(".")
        return [
            HealthCheck(
                "flow logs",
                "unknown",
                f"could not be listed ({why}): grant ec2:DescribeFlowLogs",
                FLOW_COST,
            )
        ]
    vpc_ids = sorted(
        set(topology.vpcs)
        | {s.vpc_id for s in topology.subnets.values()}
        | {e.vpc_id for e in topology.enis.values()}
    )
    out = []
    for vpc in vpc_ids:
        name = topology.names.get(vpc)
        label = f"flow logs {vpc}" + (f" ({name})" if name else "")
        out.append(_flow_check(topology, vpc, label, region))
    for rid in dict.fromkeys(focus):
        if rid in vpc_ids or not rid:
            continue
        name = topology.names.get(rid)
        label = f"flow logs {rid}" + (f" ({name})" if name else "")
        out.append(_flow_check(topology, rid, label, region))
    return out


# -- metrics -----------------------------------------------------------------------------------------


def metric_checks(
    resource_id: str | None,
    metric_names: Mapping[str, Sequence[str]],
    *,
    label: str | None = None,
    region: str | None = None,
) -> list[HealthCheck]:
    """Is CloudWatch data present for the focused resource?

    Args:
        resource_id: The focused instance or volume; None when nothing is focused.
        metric_names: Namespace -> metric names ListMetrics returned for it.
        label: Its display name.
        region: For the fix command.
    """
    if not resource_id:
        return [
            HealthCheck(
                "metrics (no focus)",
                "unknown",
                "focus a resource (:focus i-…) to check its metrics",
                METRIC_COST,
            )
        ]
    who = label or resource_id
    where = f" --region {region}" if region else ""
    total = sum(len(v) for v in metric_names.values())
    if total == 0:
        return [
            HealthCheck(
                f"metrics {who}",
                "missing",
                "ListMetrics has nothing for it (not running in the last 2 weeks, another "
                "region, or a wrong id)",
                METRIC_COST,
                f"aws cloudwatch list-metrics{where} --dimensions "
                f"Name={'VolumeId' if resource_id.startswith('vol-') else 'InstanceId'},"
                f"Value={resource_id}",
                resource_id,
            )
        ]
    spaces = ", ".join(f"{ns} {len(names)}" for ns, names in sorted(metric_names.items()))
    out = [HealthCheck(f"metrics {who}", "ok", spaces, METRIC_COST, None, resource_id)]
    if resource_id.startswith("i-") and "CWAgent" not in metric_names:
        out.append(
            HealthCheck(
                f"agent metrics {who}",
                "warn",
                "no CWAgent metrics: memory and disk usage are not collected",
                "memory pressure and full disks inside the instance",
                f"aws ssm send-command{where} --instance-ids {resource_id} --document-name "
                "AWS-ConfigureAWSPackage --parameters action=Install,name=AmazonCloudWatchAgent",
                resource_id,
            )
        )
    return out
