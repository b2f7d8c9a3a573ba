"""The fleet sweep against the embedded AWS: the demo's slow instance is found with no target chosen.

The world is seeded once for the module; each test starts with an empty request log. The request
hamari builds is checked against botocore's service model (moto accepts more than AWS does).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from tests.awstools import emulator_aws
from tests.demo_fixtures import DEMO_NOW
from tui.aws.fleet import FleetSweep
from tui.aws.session import Aws
from tui.demo.seed import seed
from tui.models.findings import fleet_findings


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    emulator.reset()
    return seed(emulator.url, now=DEMO_NOW)


@pytest.fixture
async def aws(emulator: Any, world: Any) -> AsyncIterator[Aws]:
    emulator.faults.clear()
    emulator.faults.clear_seen()
    async with emulator_aws(emulator.url, world.region) as session:
        yield session


def _record(aws: Aws) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    original = aws.pages

    def pages(service: str, operation: str, **params: Any) -> Any:
        if operation == "GetMetricData":
            sent.append(params)
        return original(service, operation, **params)

    aws.pages = pages  # type: ignore[method-assign]
    return sent


async def test_sweep_finds_the_slow_instance_in_one_request_and_caches_the_limits(
    aws: Aws, emulator: Any, world: Any
) -> None:
    sent = _record(aws)
    sweeper = FleetSweep(aws)
    fleet = await sweeper.sweep(world.now - timedelta(hours=3), world.now, now=world.now)

    running = {i for n, i in world.instance_ids.items() if i != world.failing_instance_id}
    assert {v.item.instance_id for v in fleet.verdicts} == running
    worst = fleet.worst
    assert worst is not None and worst.bound
    assert worst.item.instance_id == world.slow_instance_id
    assert worst.item.name == world.name_of("slow")
    assert [v.item.instance_id for v in fleet.bound] == [world.slow_instance_id]
    titles = [f.title for f in fleet_findings(fleet)]
    assert any(
        t.startswith(f"{worst.item.name} ({world.slow_instance_id}): IO at the m5.large EBS limit")
        for t in titles
    ), titles

    # one GetMetricData for the whole fleet, every metric on the meter, valid for AWS's model
    assert len(emulator.calls("cloudwatch", "GetMetricData")) == 1 == fleet.requests
    assert (
        aws.meter.quantities["metrics_requested"]
        == fleet.metrics_requested
        == len(sent[0]["MetricDataQueries"])
    )
    model = botocore.session.get_session().get_service_model("cloudwatch")
    report = ParamValidator().validate(sent[0], model.operation_model("GetMetricData").input_shape)
    assert not report.has_errors(), report.generate_report()
    assert sent[0]["EndTime"] - sent[0]["StartTime"] <= timedelta(hours=1, minutes=5)

    # the next sweep describes only the instances: types and volumes are cached
    emulator.faults.clear_seen()
    await sweeper.sweep(world.now - timedelta(hours=3), world.now, now=world.now)
    ops = sorted(r.operation for r in emulator.requests_seen)
    assert ops == ["DescribeInstances", "GetMetricData"]


async def test_basic_monitoring_instance_in_the_sweep_is_asked_at_five_minutes(
    aws: Aws, world: Any
) -> None:
    """The demo's legacy instance has basic monitoring: its EC2 metrics go at 300 s."""
    sent = _record(aws)
    await FleetSweep(aws).sweep(world.now - timedelta(hours=1), world.now, now=world.now)
    basic = {world.instance_ids[i.name] for i in world.spec.instances if i.monitoring == 300}
    assert basic
    periods = {
        (q["MetricStat"]["Metric"]["Dimensions"][0]["Value"], q["MetricStat"]["Period"])
        for q in sent[0]["MetricDataQueries"]
        if q["MetricStat"]["Metric"]["Namespace"] == "AWS/EC2"
    }
    assert {p for i, p in periods if i in basic} == {300}
    assert {p for i, p in periods if i not in basic} == {60}


def test_response_timestamps_are_utc_whatever_their_encoding() -> None:
    """Epochs (CBOR, JSON) go straight to UTC; strings as botocore parses them."""
    from datetime import UTC, datetime

    from tui.aws.session import utc_timestamp

    when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert utc_timestamp(when.timestamp()) == when and utc_timestamp(1_796_117_400).tzinfo is UTC
    assert utc_timestamp("2026-12-01T09:30:00Z") == when
