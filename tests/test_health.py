"""Are logs written? Pure checks, and the same checks against the seeded emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.demo_fixtures import DEMO_NOW
from tui.aws.health import check_health, load_trails
from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
from tui.demo.seed import seed
from tui.models.health import (
    HealthCheck,
    TrailInfo,
    badge,
    flow_log_checks,
    metric_checks,
    trail_checks,
)
from tui.models.network import EniInfo, FlowLogConfig, SubnetInfo, Topology

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def trail(**over: Any) -> TrailInfo:
    base: dict[str, Any] = {
        "name": "org-trail",
        "arn": "arn:aws:cloudtrail:us-east-1:1:trail/org-trail",
        "home_region": "us-east-1",
        "multi_region": True,
        "bucket": "b",
        "is_logging": True,
        "latest_delivery": NOW - timedelta(minutes=5),
    }
    base.update(over)
    return TrailInfo(**base)


# -- CloudTrail -----------------------------------------------------------------------------------


def test_a_region_without_a_trail_is_missing_with_create_trail() -> None:
    checks = trail_checks([trail(multi_region=False)], "eu-west-1", NOW)
    assert [c.status for c in checks] == ["missing"]
    assert checks[0].name == "CloudTrail eu-west-1"
    assert checks[0].fix_command and checks[0].fix_command.startswith(
        "aws cloudtrail create-trail --region eu-west-1"
    )
    assert "incident 1" in checks[0].cost_of_missing
    assert badge(checks) == ("missing", 1)


@pytest.mark.parametrize(
    ("over", "status", "fix"),
    [
        ({}, "ok", None),
        ({"is_logging": False}, "warn", "aws cloudtrail start-logging"),
        ({"is_logging": None}, "unknown", None),
        ({"delivery_error": "AccessDenied"}, "warn", "aws cloudtrail get-trail-status"),
        ({"latest_delivery": NOW - timedelta(hours=5)}, "warn", "aws cloudtrail get-trail-status"),
    ],
)
def test_trail_status(over: dict[str, Any], status: str, fix: str | None) -> None:
    check = trail_checks([trail(**over)], "us-east-1", NOW)[0]
    assert check.status == status
    assert (check.fix_command or "").startswith(fix or "")
    assert (check.fix_command is None) == (fix is None)


def test_single_region_trail_warns_for_multi_region() -> None:
    checks = trail_checks([trail(multi_region=False)], "us-east-1", NOW)
    assert [c.status for c in checks] == ["ok", "warn"]
    assert "--is-multi-region-trail" in (checks[1].fix_command or "")


# -- flow logs ------------------------------------------------------------------------------------


def topology(flow_logs: tuple[FlowLogConfig, ...]) -> Topology:
    def eni(eid: str, subnet: str, vpc: str) -> EniInfo:
        return EniInfo(eid, None, subnet, vpc, "us-east-1a", None, (), None, "", "interface", ())

    return Topology(
        enis={
            "eni-1": eni("eni-1", "subnet-1", "vpc-app"),
            "eni-9": eni("eni-9", "subnet-9", "vpc-old"),
        },
        subnets={
            "subnet-1": SubnetInfo(
                "subnet-1", "vpc-app", "10.0.1.0/24", "us-east-1a", None, None, None
            ),
            "subnet-9": SubnetInfo(
                "subnet-9", "vpc-old", "10.9.1.0/24", "us-east-1a", None, None, None
            ),
        },
        names={"vpc-old": "legacy"},
        flow_logs=flow_logs,
        vpcs={"vpc-app": "10.0.0.0/16", "vpc-old": "10.9.0.0/16", "vpc-empty": "10.8.0.0/16"},
    )


def fl(resource: str, **over: Any) -> FlowLogConfig:
    base: dict[str, Any] = {
        "flow_log_id": f"fl-{resource}",
        "resource_id": resource,
        "destination_type": "s3",
        "log_group": None,
        "destination": "arn:aws:s3:::flows/vpc",
        "status": "ACTIVE",
    }
    base.update(over)
    return FlowLogConfig(**base)


def by_resource(checks: list[HealthCheck]) -> dict[str | None, HealthCheck]:
    return {c.resource: c for c in checks}


def test_vpc_without_flow_logs_is_missing_with_create_flow_logs() -> None:
    checks = by_resource(flow_log_checks(topology((fl("vpc-app"),)), region="us-east-1"))
    old = checks["vpc-old"]
    assert old.status == "missing" and "(legacy)" in old.name
    assert old.fix_command is not None
    assert old.fix_command.startswith("aws ec2 create-flow-logs --region us-east-1")
    assert "--resource-type VPC --resource-ids vpc-old" in old.fix_command
    assert checks["vpc-app"].status == "ok"
    assert "s3://flows/vpc" in checks["vpc-app"].detail
    assert "default v2 format" in checks["vpc-app"].detail
    # A VPC with no interface has no traffic to lose: not flagged.
    assert checks["vpc-empty"].status == "ok"


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("eu-west-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        (None, "aws"),
    ],
)
def test_create_flow_logs_commands_name_arns_in_the_regions_partition(
    region: str | None, partition: str
) -> None:
    """Copied in China or GovCloud, an ``arn:aws:`` destination or role is refused."""
    from tui.panes.flowtext import flow_log_warning

    checks = by_resource(flow_log_checks(topology((fl("vpc-app"),)), region=region))
    fix = checks["vpc-old"].fix_command
    assert fix is not None and f" arn:{partition}:s3:::" in fix, fix
    warning = flow_log_warning(topology(()), None, "123456789012", region or "")
    assert warning is not None
    assert f"arn:{partition}:iam::123456789012:role/" in warning.plain, warning.plain


@pytest.mark.parametrize(
    ("flow_logs", "status"),
    [
        ((fl("subnet-9"),), "warn"),  # partial: a subnet flow log only
        ((fl("vpc-old", status="FAILED"),), "warn"),
        ((fl("vpc-old", traffic_type="REJECT"),), "warn"),
        ((fl("vpc-old"),), "ok"),
    ],
)
def test_flow_log_states(flow_logs: tuple[FlowLogConfig, ...], status: str) -> None:
    checks = by_resource(flow_log_checks(topology(flow_logs)))
    assert checks["vpc-old"].status == status


def test_focused_eni_is_checked_through_its_vpc() -> None:
    checks = by_resource(flow_log_checks(topology((fl("vpc-app"),)), focus=["eni-1", "subnet-9"]))
    assert checks["eni-1"].status == "ok" and checks["eni-1"].detail.startswith("via vpc-app")
    assert checks["subnet-9"].status == "missing"
    assert "--resource-type Subnet" in (checks["subnet-9"].fix_command or "")


# -- metrics and badge ----------------------------------------------------------------------------


def test_metrics_for_the_focus() -> None:
    assert metric_checks(None, {})[0].status == "unknown"
    missing = metric_checks("i-1", {})[0]
    assert missing.status == "missing" and "Name=InstanceId,Value=i-1" in (
        missing.fix_command or ""
    )
    ok = metric_checks("i-1", {"AWS/EC2": ["CPUUtilization"], "CWAgent": ["mem_used_percent"]})
    assert [c.status for c in ok] == ["ok"]
    no_agent = metric_checks("i-1", {"AWS/EC2": ["CPUUtilization"]})
    assert [c.status for c in no_agent] == ["ok", "warn"]
    assert metric_checks("vol-1", {"AWS/EBS": ["VolumeReadOps"]})[0].status == "ok"


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], ("unknown", 0)),
        (["unknown"], ("unknown", 0)),
        (["ok", "ok", "unknown"], ("ok", 0)),
        (["ok", "missing"], ("warn", 1)),
        (["warn", "missing", "ok"], ("warn", 2)),
    ],
)
def test_badge(statuses: list[str], expected: tuple[str, int]) -> None:
    checks = [HealthCheck(f"flow logs {i}", s, "") for i, s in enumerate(statuses)]  # type: ignore[arg-type]
    assert badge(checks) == expected


# -- against the emulator -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    emulator.reset()
    return seed(emulator.url, now=DEMO_NOW)


async def _aws(emulator: Any) -> Aws:
    aws = Aws(
        Connection(
            region="us-east-1",
            endpoint_url=emulator.url,
            demo=True,
            static_credentials=DEMO_CREDENTIALS,
        )
    )
    await aws.open()
    return aws


async def test_demo_trail_is_logging_and_multi_region(emulator: Any, world: Any) -> None:
    aws = await _aws(emulator)
    try:
        trails = await load_trails(aws)
    finally:
        await aws.close()
    assert [t.name for t in trails] == [world.trail_name]
    assert trails[0].is_logging and trails[0].multi_region


async def test_demo_report_flags_the_legacy_vpc(emulator: Any, world: Any) -> None:
    aws = await _aws(emulator)
    try:
        report = await check_health(aws, focus=world.failing_instance_id, now=world.now)
    finally:
        await aws.close()
    checks = by_resource(list(report.checks))
    legacy = checks[world.legacy_vpc_id]
    assert legacy.status == "missing"
    assert legacy.fix_command is not None
    assert (
        f"aws ec2 create-flow-logs --region us-east-1 --resource-type VPC --resource-ids {world.legacy_vpc_id}"
        in legacy.fix_command
    )
    assert checks[world.vpc_id].status == "ok"
    trail_check = next(c for c in report.checks if c.name == "CloudTrail us-east-1")
    assert trail_check.status == "ok" and world.trail_name in trail_check.detail
    # The focused instance: its ENI is covered through the VPC, and it has metrics.
    assert checks[world.eni_ids["app-batch-01"]].status == "ok"
    assert any(
        c.name.startswith("metrics app-batch-01") and c.status == "ok" for c in report.checks
    )
    assert report.checks[0].status == "missing"  # worst first
    store = next(c for c in report.checks if c.name == "hamari's store folder")
    assert "free" in store.detail and store.status in ("ok", "warn")
    status, count = report.badge()
    assert status == "warn" and count >= 1


def _unlisted() -> Topology:
    """The topology when DescribeFlowLogs was refused: the flow logs are unknown, not absent."""
    from dataclasses import replace

    return replace(topology(()), warnings=("flow logs: Not allowed to call ec2:DescribeFlowLogs.",))


@pytest.mark.parametrize(
    ("source", "says", "never"),
    [
        (None, "name the source: --flows-source cwl:LOG_GROUP", "as you named it"),
        ("", "name the source: --flows-source cwl:LOG_GROUP", "as you named it"),
        ("auto", "name the source: --flows-source cwl:LOG_GROUP", "as you named it"),
        ("cwl:/vpc/flows", "reading cwl:/vpc/flows as you named it", "--flows-source"),
        ("s3://flows/AWSLogs/", "reading s3://flows/AWSLogs/ as you named it", "--flows-source"),
        ("./flows/", "reading ./flows/ as you named it", "--flows-source"),
    ],
)
def test_flow_logs_not_listed_says_what_to_do_given_the_source_named(
    source: str | None, says: str, never: str
) -> None:
    """DescribeFlowLogs refused: the pane never says flow logs do not exist, and suggests
    --flows-source only to a user who has not already passed it."""
    from tui.panes.flowtext import flow_log_warning

    warning = flow_log_warning(_unlisted(), None, "123456789012", "us-east-1", source)
    assert warning is not None
    text = warning.plain
    assert "could not be listed (Not allowed to call ec2:DescribeFlowLogs)" in text, text
    assert says in text and never not in text, text
    assert "No VPC flow logs exist" not in text and "create-flow-logs" not in text


def test_flow_logs_not_listed_are_unknown_in_health_not_missing() -> None:
    """Nothing is said to lack flow logs (nor a create command offered) when they could not
    be listed at all."""
    unlisted = _unlisted()
    assert unlisted.vpcs_without_flow_logs() == []
    checks = flow_log_checks(unlisted, focus=("subnet-1",), region="us-east-1")
    assert [(c.status, c.fix_command) for c in checks] == [("unknown", None)]
    assert "ec2:DescribeFlowLogs" in checks[0].detail
