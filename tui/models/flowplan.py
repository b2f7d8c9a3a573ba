"""Which flow-log sources to read: one planner for the flows pane, ``hamari flows`` and diagnose.

A ``--flows-source`` value (``cwl:GROUP``, ``s3://bucket/prefix``, a path, or nothing) and the flow
logs DescribeFlowLogs returned decide what is read. Two answers used to live in two places (the
pane read CloudWatch Logs only and S3 objects without their format; the headless verb fell back to
S3 and passed the format), so the same account gave two answers. The plan is pure data; opening
each planned source is :func:`tui.aws.flowsources.open_plan`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from tui.models.flowlog import DEFAULT_FORMAT, parse_source
from tui.models.network import FlowLogConfig

__all__ = ["FlowPlan", "NoFlowLogs", "pick_default", "plan_sources", "unlisted_advice"]

PlanKind = Literal["local", "s3", "cwl"]


class NoFlowLogs(Exception):
    """No flow log delivers to CloudWatch Logs or S3 in the region, and no source was named."""


@dataclass(frozen=True, slots=True)
class FlowPlan:
    """One source to read.

    Attributes:
        kind: ``local``, ``s3`` or ``cwl``.
        label: What the user sees (``cwl:/vpc/flow-logs/app``, ``s3://bucket/prefix``, a path).
        path: The local file or folder (``local``).
        bucket: The bucket (``s3``).
        prefix: The key prefix (``s3``).
        fields: The format of headerless objects or files, when DescribeFlowLogs (or the
            user's ``--log-format``) gave it.
        config: The flow log it reads (``cwl``; ``s3`` when known).
    """

    kind: PlanKind
    label: str
    path: str = ""
    bucket: str = ""
    prefix: str = ""
    fields: tuple[str, ...] | None = None
    config: FlowLogConfig | None = None

    @property
    def live(self) -> bool:
        """True when new records keep arriving (CloudWatch Logs can be followed)."""
        return self.kind == "cwl"


def unlisted_advice(
    source: str | None,
    *,
    source_flag: str = "--flows-source",
    format_flag: str | None = "--flows-format",
) -> str:
    """What to do when the region's flow logs could not be listed (DescribeFlowLogs refused).

    Without a source hamari cannot tell where flow records are, so the user names one; with one
    (``source``, as given by the user) it is read as given, and only what DescribeFlowLogs adds
    is missing: which VPCs log at all, and the layout of records without a header line.

    Args:
        source: The source the user named (``--flows-source``/``--source``), or None/"".
        source_flag: The flag that names a source, in the words of the command at hand.
        format_flag: The flag that gives the log format, likewise (None: the command has none).
    """
    if parse_source(source or "")[0] != "auto":
        fmt = f" unless {format_flag} gives theirs" if format_flag else ""
        return (
            f"reading {(source or '').strip()} as you named it; which VPCs have flow logs is "
            f"unknown, and records without a header line are read in the default format{fmt}. "
            "Grant ec2:DescribeFlowLogs to know both."
        )
    return (
        "hamari cannot tell where flow records are. Grant ec2:DescribeFlowLogs, or name the "
        f"source: {source_flag} cwl:LOG_GROUP (or s3://BUCKET/PREFIX/, or a folder of files)."
    )


def _s3_plan(bucket: str, prefix: str, config: FlowLogConfig | None) -> FlowPlan:
    label = f"s3://{bucket}/{prefix}".rstrip("/")
    fields = config.fields if config is not None and config.format_known else None
    return FlowPlan("s3", label, bucket=bucket, prefix=prefix, fields=fields, config=config)


def _cwl_plan(config: FlowLogConfig) -> FlowPlan:
    return FlowPlan("cwl", f"cwl:{config.log_group}", config=config)


def pick_default(flow_logs: Sequence[FlowLogConfig]) -> list[FlowLogConfig]:
    """One flow log per logged resource: CloudWatch Logs first, then S3; the richest format.

    Two flow logs of one resource carry the same traffic, so reading both would double every
    record; CloudWatch Logs is preferred because it can be followed live and filtered remotely.
    A resource logged only to S3 is still read (from S3), so no logged traffic is left out.
    """
    best: dict[str, FlowLogConfig] = {}
    for config in flow_logs:
        usable = (config.destination_type == "cloud-watch-logs" and config.log_group) or (
            config.destination_type == "s3" and config.bucket
        )
        if not usable:
            continue
        held = best.get(config.resource_id)
        if held is None:
            best[config.resource_id] = config
            continue
        held_cwl = held.destination_type == "cloud-watch-logs"
        this_cwl = config.destination_type == "cloud-watch-logs"
        if this_cwl != held_cwl:
            if this_cwl:
                best[config.resource_id] = config
            continue
        if len(config.fields or DEFAULT_FORMAT) > len(held.fields or DEFAULT_FORMAT):
            best[config.resource_id] = config
    # A log group or bucket prefix shared by several resources is read once.
    seen: set[tuple[str, str]] = set()
    out: list[FlowLogConfig] = []
    for config in best.values():
        where = (
            ("cwl", str(config.log_group))
            if config.destination_type == "cloud-watch-logs"
            else ("s3", f"{config.bucket}/{config.prefix}")
        )
        if where not in seen:
            seen.add(where)
            out.append(config)
    return out


def plan_sources(
    source: str | None,
    flow_logs: Sequence[FlowLogConfig],
    fields: tuple[str, ...] | None = None,
) -> list[FlowPlan]:
    """The sources to read for a ``--flows-source`` value and the region's flow logs.

    Args:
        source: ``cwl:GROUP``, ``s3://bucket/prefix``, a local path, ``auto`` or None/"".
        flow_logs: What DescribeFlowLogs returned (may be empty for local sources).
        fields: A format the user gave (``--log-format``): it wins over DescribeFlowLogs'.

    Returns:
        The plans, in reading order.

    Raises:
        NoFlowLogs: When no source is named and no usable flow log exists.
    """
    kind, where = parse_source(source or "")
    if kind == "local":
        return [FlowPlan("local", where, path=where, fields=fields)]
    if fields is not None:  # the user's --log-format over DescribeFlowLogs' (or none)
        flow_logs = [replace(c, fields=fields, format_known=True) for c in flow_logs]
    if kind == "s3":
        return _s3_plans(where, flow_logs, fields)
    if kind == "cwl":
        known_cwl = [c for c in flow_logs if c.log_group == where]
        config = (
            max(known_cwl, key=lambda c: len(c.fields or DEFAULT_FORMAT))
            if known_cwl
            else FlowLogConfig(
                f"cwl:{where}",
                "",
                "cloud-watch-logs",
                where,
                None,
                fields=fields or DEFAULT_FORMAT,
                format_known=fields is not None,
            )
        )
        return [_cwl_plan(config)]
    configs = pick_default(flow_logs)
    if not configs:
        raise NoFlowLogs()
    return [
        _cwl_plan(c)
        if c.destination_type == "cloud-watch-logs"
        else _s3_plan(str(c.bucket), c.prefix, c)
        for c in configs
    ]


def _s3_plans(
    where: str, flow_logs: Sequence[FlowLogConfig], fields: tuple[str, ...] | None
) -> list[FlowPlan]:
    """``s3://bucket/prefix``: the flow log writing there, or those writing below it.

    A bucket (or a parent folder) named alone reads each flow log that writes under it, with
    its own prefix and format, so ``s3://bucket`` finds a flow log under ``vpc/``; a deeper
    folder (``…/AWSLogs/``, an account) is read as given with the format of the flow log above it.
    """
    bucket, _, prefix = where.partition("/")
    given = prefix.strip("/")
    in_bucket = [c for c in flow_logs if c.destination_type == "s3" and c.bucket == bucket]
    exact = [c for c in in_bucket if c.prefix.strip("/") == given]
    if exact:
        return [_s3_plan(bucket, prefix, exact[0])]
    below = [c for c in in_bucket if not given or c.prefix.strip("/").startswith(given + "/")]
    if below:
        return [_s3_plan(bucket, c.prefix, c) for c in below]
    above = [
        c
        for c in in_bucket
        if not c.prefix.strip("/") or given.startswith(c.prefix.strip("/") + "/")
    ]
    plan = _s3_plan(bucket, prefix, None)
    if above:
        plan = replace(plan, fields=above[0].fields if above[0].format_known else None)
    elif fields is not None:
        plan = replace(plan, fields=fields)
    return [plan]
