"""The seeded demo reproduces the three incidents, through the same APIs the product reads."""

from __future__ import annotations

import gzip
import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.parquet import read_parquet
from tui.demo.live import LiveFeeder
from tui.demo.seed import V2_FIELDS, DemoWorld, clients, seed
from tui.demo.server import EmbeddedAws


@pytest.fixture(scope="module")
def world(emulator: EmbeddedAws, demo_now: datetime) -> DemoWorld:
    """One seeding for this module's read-only checks (each test only reads)."""
    emulator.reset()
    return seed(emulator.url, now=demo_now)


@pytest.fixture(scope="module")
def aws(world: DemoWorld) -> dict[str, Any]:
    return clients(world.url, world.region)


def instance(aws: dict[str, Any], iid: str) -> dict[str, Any]:
    return aws["ec2"].describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


def test_seed_is_complete(world: DemoWorld) -> None:
    # How fast is the start-up benchmark's business ("demo: seeded"), not a timed unit test's.
    assert world.counts["cloudtrail_events"] > 300 and world.counts["datapoints"] > 5000
    assert world.az_ids[world.az_names[0]] != world.az_ids[world.az_names[1]]


def test_incident1_twins_differ_by_kms_key(world: DemoWorld, aws: dict[str, Any]) -> None:
    bad, good = instance(aws, world.failing_instance_id), instance(aws, world.healthy_twin_id)
    assert bad["InstanceType"] == good["InstanceType"] == "m5.large"
    assert bad["State"]["Name"] == "stopped"
    assert bad["StateReason"]["Code"] == "Client.InternalError"
    assert good["State"]["Name"] == "running"
    vols = {v["VolumeId"]: v for v in aws["ec2"].describe_volumes()["Volumes"]}
    bad_vol = vols[world.volume_ids["app-batch-01:root"]]
    good_vol = vols[world.volume_ids["app-batch-02:root"]]
    assert bad_vol["KmsKeyId"] == world.kms_key_arn
    assert good_vol["KmsKeyId"] == world.aws_managed_key_arn != world.kms_key_arn
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in aws["kms"].list_aliases()["Aliases"]}
    assert aliases["alias/app-ebs"] == world.kms_key_id


def test_incident1_cloudtrail_shows_start_then_kms_denied(
    world: DemoWorld, aws: dict[str, Any]
) -> None:
    ct = aws["cloudtrail"]
    window = {"StartTime": world.now - timedelta(hours=3), "EndTime": world.now}
    starts = ct.lookup_events(
        LookupAttributes=[
            {"AttributeKey": "ResourceName", "AttributeValue": world.failing_instance_id}
        ],
        **window,
    )["Events"]
    names = [e["EventName"] for e in starts]
    assert "StartInstances" in names and "StopInstances" in names
    denied = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateGrant"}], **window
    )["Events"]
    records = [json.loads(e["CloudTrailEvent"]) for e in denied]
    failing = [r for r in records if r.get("errorCode") == "AccessDenied"]
    assert failing and all(r["userIdentity"]["invokedBy"] == "ec2.amazonaws.com" for r in failing)
    assert all(r["userIdentity"]["arn"] == world.principal_arn for r in failing)
    assert any(r["requestParameters"]["keyId"] == world.kms_key_arn for r in failing)
    assert any(r.get("errorCode") is None for r in records)  # the twin's grant succeeded
    start = next(
        json.loads(e["CloudTrailEvent"]) for e in starts if e["EventName"] == "StartInstances"
    )
    assert start["eventVersion"] in ("1.08", "1.09", "1.10", "1.11") and "tlsDetails" in start


def test_incident2_metrics_show_saturated_iops(world: DemoWorld, aws: dict[str, Any]) -> None:
    vol = world.volume_ids["app-db-01:gp3"]

    def query(qid: str, ns: str, name: str, dim: tuple[str, str], stat: str) -> dict[str, Any]:
        return {
            "Id": qid,
            "MetricStat": {
                "Metric": {
                    "Namespace": ns,
                    "MetricName": name,
                    "Dimensions": [{"Name": dim[0], "Value": dim[1]}],
                },
                "Period": 300,
                "Stat": stat,
            },
        }

    results = aws["cloudwatch"].get_metric_data(
        MetricDataQueries=[
            query("r", "AWS/EBS", "VolumeReadOps", ("VolumeId", vol), "Sum"),
            query("w", "AWS/EBS", "VolumeWriteOps", ("VolumeId", vol), "Sum"),
            query(
                "b",
                "AWS/EBS",
                "BurstBalance",
                ("VolumeId", world.volume_ids["app-db-01:gp2"]),
                "Minimum",
            ),
            query("t", "AWS/EC2", "EBSReadBytes", ("InstanceId", world.slow_instance_id), "Sum"),
            query("u", "AWS/EC2", "EBSWriteBytes", ("InstanceId", world.slow_instance_id), "Sum"),
            query(
                "c", "AWS/EC2", "CPUUtilization", ("InstanceId", world.slow_instance_id), "Average"
            ),
        ],
        StartTime=world.now - timedelta(hours=1),
        EndTime=world.now,
    )["MetricDataResults"]
    by_id = {r["Id"]: r["Values"] for r in results}
    iops = [(r + w) / 300 for r, w in zip(by_id["r"], by_id["w"], strict=True)]
    assert len(iops) == 12 and all(2900 <= v <= 3000 for v in iops)
    assert max(by_id["b"]) == 0.0
    mbps = [(r + w) / 300 / 1024 / 1024 for r, w in zip(by_id["t"], by_id["u"], strict=True)]
    assert all(80 <= v <= 81.3 for v in mbps)
    assert max(by_id["c"]) < 40


def test_incident3_reject_on_return_leg_through_other_az(
    world: DemoWorld, aws: dict[str, Any]
) -> None:
    a, c = world.az_names
    pattern = (
        "[" + ", ".join(f.replace("-", "_") for f in V2_FIELDS[:12]) + ", action=REJECT, status]"
    )
    pages = (
        aws["logs"]
        .get_paginator("filter_log_events")
        .paginate(
            logGroupName=world.log_group_v2,
            filterPattern=pattern,
            startTime=int((world.now - timedelta(minutes=30)).timestamp() * 1000),
        )
    )
    events = [e for p in pages for e in p["events"]]
    from_onprem = [e for e in events if e["message"].split()[3].startswith("192.168.100.")]
    assert from_onprem
    assert {e["logStreamName"] for e in from_onprem} == {f"{world.tgw_eni_ids[c]}-all"}
    assert all(e["message"].split()[4] == world.private_ips["app-web-01"] for e in from_onprem)
    # The forward legs of the same conversations are ACCEPTed on the instance's ENI.
    forward = aws["logs"].filter_log_events(
        logGroupName=world.log_group_v2,
        logStreamNames=[f"{world.eni_ids['app-web-01']}-all"],
        filterPattern="[v, a, e, src, dst=192.168.100.*, sp, dp, p, pk, b, s, en, action=ACCEPT, st]",
        limit=50,
    )["events"]
    assert forward
    enis = aws["ec2"].describe_network_interfaces(NetworkInterfaceIds=[world.tgw_eni_ids[c]])
    assert enis["NetworkInterfaces"][0]["InterfaceType"] == "transit_gateway"
    nacl = aws["ec2"].describe_network_acls(NetworkAclIds=[world.nacl_id])["NetworkAcls"][0]
    deny = [e for e in nacl["Entries"] if e["Egress"] and e["RuleNumber"] == world.nacl_deny_rule]
    assert deny[0]["RuleAction"] == "deny" and deny[0]["CidrBlock"] == world.subnet_cidrs[a]
    assert {x["SubnetId"] for x in nacl["Associations"]} == {
        world.subnet_ids[c],
        world.tgw_subnet_ids[c],
    }


def test_flow_logs_registered_and_legacy_vpc_has_none(
    world: DemoWorld, aws: dict[str, Any]
) -> None:
    logs = aws["ec2"].describe_flow_logs()["FlowLogs"]
    assert {f["ResourceId"] for f in logs} == {world.vpc_id}
    by_id = {f["FlowLogId"]: f for f in logs}
    assert "${az-id}" in by_id[world.flow_log_ids["cwl-v5"]]["LogFormat"]
    assert by_id[world.flow_log_ids["s3-parquet"]]["DestinationOptions"]["FileFormat"] == "parquet"
    legacy = aws["ec2"].describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": [world.legacy_vpc_id]}]
    )
    assert legacy["FlowLogs"] == []


def test_s3_objects_in_both_layouts_parse(
    world: DemoWorld, aws: dict[str, Any], tmp_path: Path
) -> None:
    s3 = aws["s3"]
    keys = [
        o["Key"]
        for p in s3.get_paginator("list_objects_v2").paginate(Bucket=world.flowlogs_bucket)
        for o in p.get("Contents", [])
    ]
    text = [k for k in keys if k.startswith(f"AWSLogs/{world.account_id}/vpcflowlogs/us-east-1/")]
    hive = [
        k
        for k in keys
        if "/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year="
        in k
    ]
    assert text and hive and all("/hour=" in k and k.endswith(".parquet") for k in hive)
    body = gzip.decompress(s3.get_object(Bucket=world.flowlogs_bucket, Key=text[0])["Body"].read())
    lines = body.decode().splitlines()
    assert lines[0] == " ".join(V2_FIELDS) and len(lines[1].split()) == 14
    table = read_parquet(
        s3.get_object(Bucket=world.flowlogs_bucket, Key=hive[-1])["Body"].read(), tmp_path
    )
    assert {"az_id", "flow_direction", "tcp_flags", "pkt_srcaddr"} <= set(table)
    assert "REJECT" in table["action"]
    trail_keys = [o["Key"] for o in s3.list_objects_v2(Bucket=world.trail_bucket)["Contents"]]
    logs = [k for k in trail_keys if "/CloudTrail/us-east-1/" in k]
    assert logs and any("/CloudTrail-Digest/" in k for k in trail_keys)
    records = json.loads(
        gzip.decompress(s3.get_object(Bucket=world.trail_bucket, Key=logs[0])["Body"].read())
    )
    assert records["Records"] and "eventID" in records["Records"][0]
    status = aws["cloudtrail"].get_trail_status(Name=world.trail_name)
    assert status["IsLogging"] is True


def test_live_feeder_adds_data_and_stops_quickly(world: DemoWorld, aws: dict[str, Any]) -> None:
    feeder = LiveFeeder(world.url, world, interval=0.3, failed_start_every=1)
    feeder.start()
    deadline = time.monotonic() + 5
    while feeder.ticks < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    feeder.stop()
    # The quit path (SIGHUP included) has 2 s in all; a tick in flight may finish first.
    assert time.monotonic() - started < 2.0 and not feeder.running
    assert feeder.ticks >= 2 and feeder.errors == 0
    fresh = aws["logs"].filter_log_events(
        logGroupName=world.log_group_v2,
        startTime=int(world.now.timestamp() * 1000) + 60_000,
        limit=10,
    )["events"]
    assert fresh
    ct = aws["cloudtrail"].lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "StartInstances"}],
        StartTime=world.now + timedelta(minutes=1),
    )["Events"]
    assert ct


def test_demo_world_fixture_reseeds_deterministically(
    demo_world: DemoWorld, emulator: EmbeddedAws, demo_now: datetime
) -> None:
    emulator.reset()
    again = seed(emulator.url, now=demo_now)
    assert again.instance_ids == demo_world.instance_ids
    assert again.vpc_id == demo_world.vpc_id and again.kms_key_arn != ""


def test_the_seeded_world_is_reused_only_while_nothing_wrote_to_it(emulator: EmbeddedAws) -> None:
    import boto3

    from tests.demo_fixtures import seeded_demo

    first = seeded_demo(emulator)
    ec2 = boto3.client(
        "ec2",
        region_name=first.region,
        endpoint_url=emulator.url,
        aws_access_key_id="AKIAHAMARIDEMO000000",
        aws_secret_access_key="x",
    )
    instance = next(iter(first.instance_ids.values()))
    ec2.describe_instances(InstanceIds=[instance])  # reading leaves the world as seeded
    assert seeded_demo(emulator) is first
    assert emulator.requests_seen == []  # and the next test starts with an empty log
    ec2.create_tags(Resources=[instance], Tags=[{"Key": "Name", "Value": "renamed"}])
    again = seeded_demo(emulator)
    assert again is not first  # a write: reset and seeded anew
    tags = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert {"Key": "Name", "Value": "renamed"} not in tags.get("Tags", [])


def test_direct_backend_writes_read_back_like_http_writes(world: DemoWorld) -> None:
    """The in-process fast path (tui/demo/direct.py) stores what the HTTP path stores.

    The same batch goes over HTTP into one region and straight into moto's backend of another;
    both are then read back over HTTP, the way the product reads them.
    """
    import random

    from tui.demo.direct import DirectLogs, DirectMetrics
    from tui.demo.seed import flow_records, metric_data, put_flow_records_cwl, put_metrics

    end = world.now
    start = end - timedelta(minutes=20)
    points = metric_data(world, random.Random(3), start, end)
    flows = flow_records(world, random.Random(3), start, end)
    regions = {"http": "eu-west-1", "direct": "eu-west-2"}
    for how, region in regions.items():
        c = clients(world.url, region)
        for group in (world.log_group_v2, world.log_group_v5):
            c["logs"].create_log_group(logGroupName=group)
        if how == "http":
            put_metrics(c["cloudwatch"], points)
            put_flow_records_cwl(c["logs"], world, flows)
        else:
            put_metrics(DirectMetrics(world.account_id, region), points)
            put_flow_records_cwl(DirectLogs(world.account_id, region), world, flows)

    def read(region: str) -> tuple[Any, ...]:
        c = clients(world.url, region)
        query = {
            "Id": "m",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/EC2",
                    "MetricName": "EBSReadBytes",
                    "Dimensions": [{"Name": "InstanceId", "Value": world.slow_instance_id}],
                },
                "Period": 60,
                "Stat": "Sum",
            },
        }
        got = c["cloudwatch"].get_metric_data(
            MetricDataQueries=[query], StartTime=start, EndTime=end
        )["MetricDataResults"][0]
        events = c["logs"].filter_log_events(
            logGroupName=world.log_group_v5, filterPattern="REJECT", limit=10000
        )["events"]
        streams = c["logs"].describe_log_streams(logGroupName=world.log_group_v2)["logStreams"]
        return (
            got["Timestamps"],
            got["Values"],
            sorted((e["logStreamName"], e["timestamp"], e["message"]) for e in events),
            sorted(s["logStreamName"] for s in streams),
        )

    http, direct = read(regions["http"]), read(regions["direct"])
    assert http[1] and http[2]  # something was written and found
    assert direct == http


def test_every_demo_balance_is_a_percentage(world: DemoWorld) -> None:
    """Burst and EBS balances stay within 0-100 %, also when the clock is not on a minute (the
    first minute of a live demo's history was floored before its start: 102 %)."""
    import random

    from tui.demo.seed.metrics import metric_data
    from tui.demo.seed.spec import HISTORY

    start = world.now - HISTORY - timedelta(seconds=37)
    data = metric_data(world, random.Random(7), start, world.now)
    balances = [
        d
        for items in data.values()
        for d in items
        if d["MetricName"] in ("BurstBalance", "EBSByteBalance%", "EBSIOBalance%")
    ]
    assert len({d["MetricName"] for d in balances}) == 3
    assert all(0 <= d["Value"] <= 100 for d in balances), max(d["Value"] for d in balances)
