"""The moto extensions: LookupEvents, filter patterns, GetMetricData, EC2 details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tui.demo import extensions
from tui.demo.extensions import compile_filter_pattern
from tui.demo.server import EmbeddedAws

T0 = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)


def client(aws: EmbeddedAws, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=aws.url,
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="secret",
    )


@pytest.fixture
def aws(emulator: EmbeddedAws) -> EmbeddedAws:
    emulator.reset()
    return emulator


def make_event(i: int, name: str, user: str, read_only: bool, instance: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.10",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": f"arn:aws:sts::123456789012:assumed-role/Ops/{user}",
            "accessKeyId": f"ASIA{user.upper():0<16}",
        },
        "eventTime": (T0 + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "eventID": f"00000000-0000-4000-8000-{i:012d}",
        "readOnly": read_only,
        "requestParameters": {"instancesSet": {"items": [{"instanceId": instance}]}},
    }


@pytest.fixture
def trail(aws: EmbeddedAws) -> Any:
    events = [
        make_event(
            i,
            "DescribeInstances" if i % 3 else "StartInstances",
            "alice" if i % 2 else "bob",
            bool(i % 3),
            f"i-{i % 4:017x}",
        )
        for i in range(120)
    ]
    extensions.record_events(events)
    return client(aws, "cloudtrail")


def test_lookup_events_item_shape_and_newest_first(trail: Any) -> None:
    events = trail.lookup_events(MaxResults=3)["Events"]
    assert [e["EventId"][-3:] for e in events] == ["119", "118", "117"]
    first = events[0]
    assert first["ReadOnly"] in ("true", "false")
    assert first["EventTime"] == T0 + timedelta(minutes=119)
    assert first["Username"] in ("alice", "bob") and first["AccessKeyId"].startswith("ASIA")
    assert first["Resources"] == [
        {"ResourceType": "AWS::EC2::Instance", "ResourceName": f"i-{119 % 4:017x}"}
    ]
    assert (
        '"eventName":"StartInstances"' in first["CloudTrailEvent"]
        or '"eventName":"DescribeInstances"' in first["CloudTrailEvent"]
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("EventName", "StartInstances", 40),
        ("Username", "alice", 60),
        ("ReadOnly", "false", 40),
        ("ResourceName", f"i-{1:017x}", 30),
        ("ResourceType", "AWS::EC2::Instance", 120),
        ("EventSource", "ec2.amazonaws.com", 120),
        ("EventId", "00000000-0000-4000-8000-000000000007", 1),
        ("AccessKeyId", "ASIABOB0000000000000", 60),
    ],
)
def test_lookup_attribute_filtering(trail: Any, key: str, value: str, expected: int) -> None:
    pages = trail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}]
    )
    events = [e for page in pages for e in page["Events"]]
    assert len(events) == expected
    assert len({e["EventId"] for e in events}) == expected


def test_lookup_time_range(trail: Any) -> None:
    events = trail.lookup_events(
        StartTime=T0 + timedelta(minutes=10), EndTime=T0 + timedelta(minutes=19)
    )["Events"]
    assert len(events) == 10


def test_max_results_default_cap_and_pagination(trail: Any) -> None:
    first = trail.lookup_events()
    assert len(first["Events"]) == 50 and "NextToken" in first
    second = trail.lookup_events(NextToken=first["NextToken"])
    third = trail.lookup_events(NextToken=second["NextToken"])
    assert len(third["Events"]) == 20 and "NextToken" not in third
    ids = [e["EventId"] for p in (first, second, third) for e in p["Events"]]
    assert len(set(ids)) == 120


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        ({"NextToken": "not-a-token"}, "InvalidNextTokenException"),
        (
            {
                "LookupAttributes": [
                    {"AttributeKey": "EventName", "AttributeValue": "StartInstances"},
                    {"AttributeKey": "Username", "AttributeValue": "alice"},
                ]
            },
            "InvalidLookupAttributesException",
        ),
        ({"StartTime": T0 + timedelta(hours=2), "EndTime": T0}, "InvalidTimeRangeException"),
    ],
)
def test_lookup_errors(trail: Any, kwargs: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientError) as raised:
        trail.lookup_events(**kwargs)
    assert raised.value.response["Error"]["Code"] == code


def test_next_token_bound_to_its_query(trail: Any) -> None:
    token = trail.lookup_events()["NextToken"]
    with pytest.raises(ClientError):
        trail.lookup_events(
            NextToken=token,
            LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "alice"}],
        )


V2 = "2 123456789012 eni-0a1b2c3d4e5f60718 192.168.100.10 10.20.1.10 5432 45022 6 3 180 1700000000 1700000055 REJECT OK"
V2_OK = "2 123456789012 eni-0a1b2c3d4e5f60718 10.20.1.10 203.0.113.9 443 51515 6 40 52000 1700000000 1700000055 ACCEPT OK"
NODATA = "2 123456789012 eni-0a1b2c3d4e5f60718 - - - - - - - 1700000000 1700000055 - NODATA"
FIELDS = "version, account, eni, src, dst, srcport, dstport, protocol, packets, bytes, start, end"
APACHE = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 2326'


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("", V2, True),
        (f"[{FIELDS}, action=REJECT, status]", V2, True),
        (f"[{FIELDS}, action=REJECT, status]", V2_OK, False),
        (f"[{FIELDS}, action!=REJECT, status]", V2_OK, True),
        (f'[{FIELDS}, action="REJECT", status]', V2, True),
        ('[version, account, eni, src, dst, srcport="5432", ...]', V2, True),
        ("[version, account, eni, src, dst, srcport=5432, ...]", V2, True),
        ("[version, account, eni, src, dst, srcport=443, ...]", V2, False),
        ("[version, account, eni, src=192.168.100.*, ...]", V2, True),
        ("[version, account, eni, src=192.168.200.*, ...]", V2, False),
        ("[..., packets, bytes>=50000, start, end, action, status]", V2_OK, True),
        ("[..., packets, bytes>=50000, start, end, action, status]", V2, False),
        ("[..., packets<5, bytes, start, end, action, status]", V2, True),
        (
            "[..., dstport>=1024 && dstport<=65535, protocol, packets, bytes, start, end, action, status]",
            V2,
            True,
        ),
        ("[v, a, e, s, d, sp, dstport=22 || dstport=45022, ...]", V2, True),
        ("[v, a, e, s, d, sp, dstport=22 || dstport=443, ...]", V2, False),
        (f"[{FIELDS}, action, status=NODATA]", NODATA, True),
        ("[..., bytes>0, start, end, action, status]", NODATA, False),
        ("[version, account, eni, src, dst]", V2, False),  # field count must match
        ("[ip, id, user, timestamp, request, status_code=4*, size]", APACHE, True),
        ('[ip, id, user, timestamp, request="GET *", status_code, size]', APACHE, True),
        ("REJECT", V2, True),
        ("REJECT 5432", V2, True),
        ("REJECT 5433", V2, False),
        ('"5432 10.20.1.10"', V2, False),
        ('"192.168.100.10 10.20.1.10"', V2, True),
        ("?NODATA ?REJECT", V2, True),
        ("?NODATA ?SKIPDATA", V2, False),
        ("OK -ACCEPT", V2, True),
        ("OK -ACCEPT", V2_OK, False),
    ],
)
def test_filter_patterns(pattern: str, message: str, expected: bool) -> None:
    assert compile_filter_pattern(pattern)(message) is expected


def test_malformed_space_delimited_pattern_is_an_error() -> None:
    with pytest.raises(ValueError):
        compile_filter_pattern("[a, , b]")


@pytest.fixture
def flow_group(aws: EmbeddedAws) -> Any:
    logs = client(aws, "logs")
    logs.create_log_group(logGroupName="/t/flows")
    base = int(T0.timestamp()) * 1000
    for s, stream in enumerate(("eni-a-all", "eni-b-all")):
        logs.create_log_stream(logGroupName="/t/flows", logStreamName=stream)
        logs.put_log_events(
            logGroupName="/t/flows",
            logStreamName=stream,
            logEvents=[
                {"timestamp": base + (2 * i + s) * 1000, "message": V2 if i % 4 == 0 else V2_OK}
                for i in range(40)
            ],
        )
    return logs


def test_filter_log_events_space_delimited_end_to_end(flow_group: Any) -> None:
    pattern = f"[{FIELDS}, action=REJECT, status]"
    pages = flow_group.get_paginator("filter_log_events").paginate(
        logGroupName="/t/flows", filterPattern=pattern, PaginationConfig={"PageSize": 7}
    )
    events = [e for p in pages for e in p["events"]]
    assert len(events) == 20 and all("REJECT" in e["message"] for e in events)
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)  # streams interleaved, as AWS always does
    assert {e["logStreamName"] for e in events} == {"eni-a-all", "eni-b-all"}


def test_filter_log_events_empty_pages_with_next_token(flow_group: Any) -> None:
    extensions.set_empty_filter_pages(2)
    first = flow_group.filter_log_events(logGroupName="/t/flows", limit=50)
    assert first["events"] == [] and first["nextToken"]
    second = flow_group.filter_log_events(
        logGroupName="/t/flows", limit=50, nextToken=first["nextToken"]
    )
    assert second["events"] == []
    third = flow_group.filter_log_events(
        logGroupName="/t/flows", limit=50, nextToken=second["nextToken"]
    )
    assert len(third["events"]) == 50 and third["nextToken"]


def test_get_metric_data_sums_per_aligned_period(aws: EmbeddedAws) -> None:
    cw = client(aws, "cloudwatch")
    cw.put_metric_data(
        Namespace="AWS/EBS",
        MetricData=[
            {
                "MetricName": "VolumeReadOps",
                "Dimensions": [{"Name": "VolumeId", "Value": "vol-1"}],
                "Timestamp": T0 + timedelta(minutes=m),
                "Value": 180000.0,
                "Unit": "Count",
            }
            for m in range(30)
        ],
    )
    result = cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "ops",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/EBS",
                        "MetricName": "VolumeReadOps",
                        "Dimensions": [{"Name": "VolumeId", "Value": "vol-1"}],
                    },
                    "Period": 300,
                    "Stat": "Sum",
                },
            },
            {"Id": "iops", "Expression": "ops / PERIOD(ops)"},
        ],
        StartTime=T0 + timedelta(seconds=20),
        EndTime=T0 + timedelta(minutes=30),
    )["MetricDataResults"]
    ops, iops = result
    assert ops["Timestamps"][0] == T0 + timedelta(minutes=25)  # newest first, aligned to 5 min
    assert ops["Values"][0] == 900000.0
    assert iops["Values"][0] == pytest.approx(3000.0)


def test_flow_logs_keep_destination_options_and_prefix(aws: EmbeddedAws) -> None:
    ec2, s3 = client(aws, "ec2"), client(aws, "s3")
    s3.create_bucket(Bucket="flows-bucket")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    for dest, options in (
        ("arn:aws:s3:::flows-bucket", {"FileFormat": "plain-text"}),
        (
            "arn:aws:s3:::flows-bucket/parquet",
            {"FileFormat": "parquet", "HiveCompatiblePartitions": True, "PerHourPartition": True},
        ),
    ):
        resp = ec2.create_flow_logs(
            ResourceIds=[vpc],
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="s3",
            LogDestination=dest,
            DestinationOptions=options,
        )
        assert resp["FlowLogIds"], resp["Unsuccessful"]
    logs = sorted(ec2.describe_flow_logs()["FlowLogs"], key=lambda f: f["LogDestination"])
    assert logs[1]["LogDestination"] == "arn:aws:s3:::flows-bucket/parquet"
    assert logs[1]["DestinationOptions"] == {
        "FileFormat": "parquet",
        "HiveCompatiblePartitions": True,
        "PerHourPartition": True,
    }
    assert logs[0]["DestinationOptions"]["FileFormat"] == "plain-text"


def test_tgw_attachment_creates_requester_managed_enis(aws: EmbeddedAws) -> None:
    ec2 = client(aws, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/28", AvailabilityZone=az)["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate(("us-east-1a", "us-east-1c"))
    ]
    tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    att = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw, VpcId=vpc, SubnetIds=subnets
    )
    att_id = att["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc]}])[
        "NetworkInterfaces"
    ]
    assert sorted(e["SubnetId"] for e in enis) == sorted(subnets)
    for eni in enis:
        assert eni["InterfaceType"] == "transit_gateway" and eni["RequesterManaged"] is True
        assert eni["Description"] == f"Network Interface for Transit Gateway Attachment {att_id}"


def test_set_instance_state_reason(aws: EmbeddedAws) -> None:
    ec2 = client(aws, "ec2")
    iid = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"
    ]
    extensions.set_instance_state(iid, "stopped")
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["State"]["Name"] == "stopped"
    assert inst["StateReason"] == {
        "Code": "Client.InternalError",
        "Message": "Client.InternalError: Client error on launch",
    }
