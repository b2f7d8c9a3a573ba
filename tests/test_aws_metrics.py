"""The CloudWatch source against the embedded AWS over real HTTP (incident 2's seeded world).

The world is seeded once per module (seeding costs seconds and these tests only read it); each
test starts with no fault rule and an empty request log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.awstools import emulator_aws
from tests.demo_fixtures import DEMO_NOW
from tui.aws.errors import AccessDeniedError, NotFoundError
from tui.aws.metrics import MetricsSource, classify
from tui.aws.session import Aws
from tui.demo.seed import seed
from tui.demo.server import FaultRule
from tui.models.metrics import MetricSpec


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    emulator.reset()
    return seed(emulator.url, now=DEMO_NOW)


@pytest.fixture
def demo_world(emulator: Any, world: Any) -> Any:
    """The module's world, with fault rules and the request log cleared around each test."""
    emulator.faults.clear()
    emulator.faults.clear_seen()
    yield world
    emulator.faults.clear()


@pytest.fixture
async def aws(emulator: Any, demo_world: Any) -> AsyncIterator[Aws]:
    async with emulator_aws(emulator.url, demo_world.region) as session:
        yield session


def window(world: Any, hours: float = 3) -> tuple[Any, Any]:
    return world.now - timedelta(hours=hours), world.now


async def test_one_get_metric_data_per_refresh_with_limits_and_verdict(
    aws: Aws, emulator: Any, demo_world: Any
) -> None:
    source = MetricsSource(aws)
    target = await source.discover("app-db-01")  # the Name tag works as well as the ID
    assert target.resource_id == demo_world.slow_instance_id
    assert target.instance_type == "m5.large"
    assert {v["VolumeType"] for v in target.volumes} == {"gp2", "gp3"}

    emulator.faults.clear_seen()
    start, end = window(demo_world)
    result = await source.fetch(target, start, end, now=demo_world.now)
    assert len(emulator.calls("cloudwatch", "GetMetricData")) == 1
    assert [r.operation for r in emulator.requests_seen] == ["GetMetricData"]
    assert result.requests == 1 and result.metrics_requested == len(target.specs)
    assert aws.meter.quantities["metrics_requested"] == len(target.specs)
    assert result.period == 60 and result.start.timestamp() % 60 == 0

    limits = result.assessment.instance_limits
    assert limits is not None
    assert (limits.baseline_iops, limits.baseline_mbps) == (3600, 81.25)
    by_type = {vl.volume_type: vl for vl in result.assessment.volume_limits.values()}
    assert by_type["gp3"].baseline_iops == 3000
    assert by_type["gp2"].baseline_iops == 300 and by_type["gp2"].burst_iops == 3000

    verdict = result.assessment.verdict
    assert result.assessment.binding is not None
    assert "m5.large" in verdict and "81 MB/s EBS baseline" in verdict
    texts = " | ".join(f.text for f in result.assessment.findings)
    assert "3,000 IOPS gp3 baseline" in texts and "gp2 burst balance exhausted" in texts
    assert all(s.points() for s in result.series if s.spec.metric_name == "VolumeReadOps")


async def test_more_than_500_series_are_split_into_calls_of_500(
    aws: Aws, emulator: Any, demo_world: Any
) -> None:
    source = MetricsSource(aws)
    target = await source.discover(demo_world.slow_instance_id)
    extra = [
        MetricSpec.from_list_metrics(
            {
                "Namespace": "Custom/Load",
                "MetricName": "Depth",
                "Dimensions": [{"Name": "Shard", "Value": f"s{i}"}],
            }
        )
        for i in range(500)
    ]
    emulator.faults.clear_seen()
    start, end = window(demo_world, 1)
    result = await source.fetch(target, start, end, now=demo_world.now, extra=extra)
    assert len(emulator.calls("cloudwatch", "GetMetricData")) == 2
    assert result.metrics_requested == len(target.specs) + 500
    assert len(result.series) == len(target.specs) + 500


async def test_access_denied_on_get_metric_data_leaves_describe_working(
    aws: Aws, emulator: Any, demo_world: Any
) -> None:
    emulator.faults.add(FaultRule("monitoring", "GetMetricData", "access_denied"))
    source = MetricsSource(aws)
    target = await source.discover("app-db-01")
    start, end = window(demo_world)
    with pytest.raises(AccessDeniedError) as info:
        await source.fetch(target, start, end, now=demo_world.now)
    assert "cloudwatch:GetMetricData" in info.value.hint
    again = await source.discover(demo_world.slow_instance_id)
    assert again.volumes == target.volumes


async def test_a_target_that_does_not_exist_is_not_found_with_a_hint(aws: Aws) -> None:
    source = MetricsSource(aws)
    for missing in (
        "i-0123456789abcdef0",
        "vol-0123456789abcdef0",
        "no-such-host",
        "eni-0123456789abcdef0",
        "tgw-attach-0123456789abcdef0",
    ):
        with pytest.raises(NotFoundError) as info:
            await source.discover(missing)
        assert missing in info.value.message
        assert "region" in info.value.hint


async def test_volume_eni_and_tgw_attachment_targets(aws: Aws, demo_world: Any) -> None:
    source = MetricsSource(aws)
    gp2 = demo_world.volume_ids["app-db-01:gp2"]
    volume = await source.discover(gp2)
    assert volume.kind == "volume"
    assert "BurstBalance" in {s.metric_name for s in volume.specs}
    start, end = window(demo_world)
    result = await source.fetch(volume, start, end, now=demo_world.now)
    assert "burst balance exhausted" in result.assessment.verdict

    eni = await source.discover(demo_world.eni_ids["app-db-01"])
    assert eni.resource_id == demo_world.slow_instance_id and "attached" in eni.note

    tgw = await source.discover(demo_world.tgw_attachment_id)
    assert {s.namespace for s in tgw.specs} == {"AWS/TransitGateway"}
    assert classify(demo_world.tgw_attachment_id) == "tgw_attachment"


async def test_target_list_names_types_and_states(aws: Aws, demo_world: Any) -> None:
    targets = await MetricsSource(aws).list_targets()
    db = next(t for t in targets if t.resource_id == demo_world.slow_instance_id)
    assert (db.name, db.detail, db.state) == ("app-db-01", "m5.large", "running")
    assert targets[0].kind == "instance" and targets[0].state == "running"
    assert demo_world.volume_ids["app-db-01:gp3"] in {t.resource_id for t in targets}


async def test_list_metrics_offers_what_the_presets_do_not_show(aws: Aws, demo_world: Any) -> None:
    source = MetricsSource(aws)
    target = await source.discover("app-db-01")
    offered = await source.available_metrics(target)
    shown = {(s.namespace, s.metric_name, s.dimensions) for s in target.specs}
    assert all((s.namespace, s.metric_name, s.dimensions) not in shown for s in offered)
