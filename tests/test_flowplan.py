"""The one flow-source planner: what is read for a --flows-source value and the region's flow logs."""

from __future__ import annotations

import pytest

from tui.models.flowlog import DEFAULT_FORMAT
from tui.models.flowplan import NoFlowLogs, plan_sources
from tui.models.network import FlowLogConfig

V5 = (*DEFAULT_FORMAT, "vpc-id", "subnet-id", "az-id")


def cwl(resource: str, group: str, fields: tuple[str, ...] | None = None) -> FlowLogConfig:
    extra = {"fields": fields} if fields else {}
    return FlowLogConfig(f"fl-{group}", resource, "cloud-watch-logs", group, None, **extra)


def s3(resource: str, dest: str, fields: tuple[str, ...] | None = None) -> FlowLogConfig:
    extra = {"fields": fields} if fields else {}
    return FlowLogConfig(f"fl-{dest}", resource, "s3", None, f"arn:aws:s3:::{dest}", **extra)


@pytest.mark.parametrize(
    ("source", "flow_logs", "expected"),
    [
        # A resource logged to both: CloudWatch Logs (followable), once.
        (None, [s3("vpc-1", "b/p"), cwl("vpc-1", "/g")], [("cwl", "cwl:/g")]),
        # A resource logged only to S3 is still read, from S3.
        (None, [cwl("vpc-1", "/g"), s3("vpc-2", "b/p")], [("cwl", "cwl:/g"), ("s3", "s3://b/p")]),
        # Two flow logs of one resource in CloudWatch: the richest format.
        (None, [cwl("vpc-1", "/v2"), cwl("vpc-1", "/v5", V5)], [("cwl", "cwl:/v5")]),
        # One log group shared by two VPCs is read once.
        (None, [cwl("vpc-1", "/g"), cwl("vpc-2", "/g")], [("cwl", "cwl:/g")]),
        ("cwl:/hand", [], [("cwl", "cwl:/hand")]),
        ("s3://bucket/pre/fix", [], [("s3", "s3://bucket/pre/fix")]),
        ("/tmp/flows", [cwl("vpc-1", "/g")], [("local", "/tmp/flows")]),
    ],
)
def test_plans(
    source: str | None, flow_logs: list[FlowLogConfig], expected: list[tuple[str, str]]
) -> None:
    assert [(p.kind, p.label) for p in plan_sources(source, flow_logs)] == expected


def test_s3_plan_carries_the_flow_logs_format_for_headerless_objects() -> None:
    (plan,) = plan_sources("s3://bucket/p", [s3("vpc-1", "bucket/p", V5)])
    assert plan.fields == V5
    (plan,) = plan_sources(None, [s3("vpc-1", "bucket/p", V5)])
    assert plan.fields == V5 and plan.bucket == "bucket" and plan.prefix == "p"


def test_named_log_group_uses_its_known_format() -> None:
    (plan,) = plan_sources("cwl:/g", [cwl("vpc-1", "/g", V5)])
    assert plan.config is not None and plan.config.fields == V5 and plan.config.format_known
    (plan,) = plan_sources("cwl:/other", [cwl("vpc-1", "/g", V5)])
    assert plan.config is not None and not plan.config.format_known


def test_no_usable_flow_log_is_said() -> None:
    firehose = FlowLogConfig("fl-1", "vpc-1", "kinesis-data-firehose", None, "arn:fh")
    with pytest.raises(NoFlowLogs):
        plan_sources(None, [firehose])


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # The bucket alone: the flow log writing under vpc/ is read with its prefix and format.
        ("s3://b", [("s3://b/vpc", V5)]),
        # A deeper folder (the README's …/AWSLogs/ form) keeps the flow log's format.
        ("s3://b/vpc/AWSLogs/", [("s3://b/vpc/AWSLogs", V5)]),
        # Another bucket: read as given, format unknown (header lines decide).
        ("s3://other/x", [("s3://other/x", None)]),
    ],
)
def test_s3_bucket_or_folder_finds_the_flow_log_that_writes_there(
    source: str, expected: list[tuple[str, tuple[str, ...] | None]]
) -> None:
    plans = plan_sources(source, [s3("vpc-1", "b/vpc", V5)])
    assert [(p.label, p.fields) for p in plans] == expected


def test_the_users_log_format_wins_everywhere() -> None:
    mine = ("version", "srcaddr", "dstaddr", "action")
    (local,) = plan_sources("/tmp/x.log", [], mine)
    assert local.fields == mine
    (cwl_plan,) = plan_sources("cwl:/g", [cwl("vpc-1", "/g", V5)], mine)
    assert cwl_plan.config is not None and cwl_plan.config.fields == mine
    (s3_plan,) = plan_sources("s3://b/vpc", [s3("vpc-1", "b/vpc", V5)], mine)
    assert s3_plan.fields == mine
