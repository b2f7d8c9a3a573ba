"""Rates from the period the data has (issue 11 item 1): basic monitoring is 5-minute data.

A world of the test's own, in its own region: an m5a.4xlarge (a Nitro type, which publishes
AWS/EC2 EBS metrics; EBS baseline = maximum: 16,000 IOPS, 360 MB/s) with basic monitoring, truly
doing 3,600 IOPS and 80 MB/s, publishes its AWS/EC2 EBS metrics as 5-minute sums; its gp3 volume
publishes 1-minute sums (843 IOPS). Read as 1-minute sums the instance would show 18,000 IOPS and
400 MB/s: "at its EBS limit", which it is not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.awstools import emulator_aws
from tests.demo_fixtures import DEMO_NOW
from tui.aws.metrics import MetricsSource
from tui.aws.session import Aws
from tui.models.metrics import data_note

REGION = "ap-southeast-2"
TRUE_IOPS, TRUE_MBPS, VOLUME_IOPS = 3600.0, 80.0, 843.0


@dataclass(frozen=True)
class BasicWorld:
    url: str
    now: datetime
    instance_id: str
    volume_id: str


def _points(
    name: str, dim: tuple[str, str], rate: float, period: int, start: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    """One Sum per ``period`` (what CloudWatch stores), each ``rate * period``."""
    t = start
    while t < end:
        yield {
            "MetricName": name,
            "Dimensions": [{"Name": dim[0], "Value": dim[1]}],
            "Timestamp": t,
            "Value": rate * period,
            "Unit": "Count" if name.endswith("Ops") else "Bytes",
        }
        t += timedelta(seconds=period)


def seed_basic_world(url: str, now: datetime) -> BasicWorld:
    kw: dict[str, Any] = {
        "region_name": REGION,
        "endpoint_url": url,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    ec2, cw = boto3.client("ec2", **kw), boto3.client("cloudwatch", **kw)
    inst = ec2.run_instances(
        ImageId="ami-0c7217cdde317cfec",
        MinCount=1,
        MaxCount=1,
        InstanceType="m5a.4xlarge",
        EbsOptimized=True,
        BlockDeviceMappings=[
            {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 500, "VolumeType": "gp3"}}
        ],
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "ledger-7"}]}
        ],
    )["Instances"][0]
    iid = inst["InstanceId"]
    vid = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])[
        "Volumes"
    ][0]["VolumeId"]
    start = now - timedelta(hours=3)
    ec2_points = [
        *_points("EBSReadOps", ("InstanceId", iid), TRUE_IOPS * 0.7, 300, start, now),
        *_points("EBSWriteOps", ("InstanceId", iid), TRUE_IOPS * 0.3, 300, start, now),
        *_points("EBSReadBytes", ("InstanceId", iid), TRUE_MBPS * 1e6 * 0.6, 300, start, now),
        *_points("EBSWriteBytes", ("InstanceId", iid), TRUE_MBPS * 1e6 * 0.4, 300, start, now),
    ]
    ebs_points = [
        *_points("VolumeReadOps", ("VolumeId", vid), VOLUME_IOPS * 0.7, 60, start, now),
        *_points("VolumeWriteOps", ("VolumeId", vid), VOLUME_IOPS * 0.3, 60, start, now),
    ]
    for ns, items in (("AWS/EC2", ec2_points), ("AWS/EBS", ebs_points)):
        for i in range(0, len(items), 1000):
            cw.put_metric_data(Namespace=ns, MetricData=items[i : i + 1000])
    return BasicWorld(url, now, iid, vid)


@pytest.fixture(scope="module")
def world(emulator: Any) -> BasicWorld:
    emulator.reset()
    return seed_basic_world(emulator.url, DEMO_NOW)


@pytest.fixture
async def aws(emulator: Any, world: BasicWorld) -> AsyncIterator[Aws]:
    emulator.faults.clear()
    async with emulator_aws(world.url, REGION) as session:
        yield session


def _sent_periods(aws: Aws) -> list[dict[str, int]]:
    """Record, per GetMetricData request hamari builds, each metric's period."""
    sent: list[dict[str, int]] = []
    original = aws.pages

    def pages(service: str, operation: str, **params: Any) -> Any:
        if operation == "GetMetricData":
            sent.append(
                {
                    q["MetricStat"]["Metric"]["MetricName"]: q["MetricStat"]["Period"]
                    for q in params["MetricDataQueries"]
                }
            )
        return original(service, operation, **params)

    aws.pages = pages  # type: ignore[method-assign]
    return sent


def _total(result: Any, resource: str, metric: str) -> Any:
    return next(
        r
        for r in result.assessment.rows
        if r.series.spec.resource_id == resource and r.series.spec.parts
        if metric in r.series.spec.parts
    )


async def test_basic_monitoring_instance_shows_its_true_rate_and_no_false_limit(
    aws: Aws, world: BasicWorld
) -> None:
    sent = _sent_periods(aws)
    source = MetricsSource(aws)
    target = await source.discover("ledger-7")
    assert target.basic_monitoring == {world.instance_id}
    result = await source.fetch(target, world.now - timedelta(hours=3), world.now, now=world.now)

    # the request asks the instance's metrics at the period its data has, the volume's at 60 s
    (periods,) = sent
    assert periods["EBSReadOps"] == periods["EBSWriteBytes"] == 300
    assert periods["VolumeReadOps"] == 60
    assert result.start.timestamp() % 300 == 0

    iops = _total(result, world.instance_id, "EBSReadOps")
    mbps = _total(result, world.instance_id, "EBSReadBytes")
    assert iops.latest == pytest.approx(TRUE_IOPS, rel=1e-3)
    assert mbps.latest == pytest.approx(TRUE_MBPS, rel=1e-3)
    assert iops.series.period == 300
    vol = _total(result, world.volume_id, "VolumeReadOps")
    assert vol.latest == pytest.approx(VOLUME_IOPS, rel=1e-3) and vol.series.period == 60

    # m5a.4xlarge: baseline = maximum; 3,600 of 16,000 IOPS and 80 of 360 MB/s: no limit reached
    assert result.assessment.binding is None
    assert not [f for f in result.assessment.findings if f.kind.startswith("instance")]
    assert result.assessment.verdict.startswith("no EBS limit reached")
    note = data_note(result.series, result.period)
    assert note == f"1-min data · 5-min data for {world.instance_id} (basic monitoring)"


async def test_five_minute_data_is_detected_when_the_monitoring_state_is_unknown(
    aws: Aws, world: BasicWorld
) -> None:
    """Asked at 60 s (nothing says the instance has basic monitoring), the timestamps tell."""
    sent = _sent_periods(aws)
    source = MetricsSource(aws)
    target = await source.discover(world.instance_id)
    instance = {k: v for k, v in (target.instance or {}).items() if k != "Monitoring"}
    target = replace(target, instance=instance)
    assert not target.basic_monitoring
    result = await source.fetch(target, world.now - timedelta(hours=1), world.now, now=world.now)
    assert sent[0]["EBSReadOps"] == 60
    iops = _total(result, world.instance_id, "EBSReadOps")
    assert iops.latest == pytest.approx(TRUE_IOPS, rel=1e-3)
    assert iops.series.period == 300
    assert result.assessment.binding is None
