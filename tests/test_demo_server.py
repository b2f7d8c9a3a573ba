"""The embedded AWS: free port, silence, and faults in the shape botocore expects."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from tui.demo.server import EmbeddedAws, FaultRule


def client(aws: EmbeddedAws, service: str, **config: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=aws.url,
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config),
    )


def call(aws: EmbeddedAws, service: str, **config: Any) -> Any:
    c = client(aws, service, **config)
    now = datetime.now(UTC)
    return {
        "cloudtrail": lambda: c.lookup_events(MaxResults=1),
        "logs": lambda: c.describe_log_groups(),
        "ec2": lambda: c.describe_vpcs(),
        "sts": lambda: c.get_caller_identity(),
        "cloudwatch": lambda: c.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "m",
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization"},
                        "Period": 60,
                        "Stat": "Average",
                    },
                }
            ],
            StartTime=now - timedelta(minutes=5),
            EndTime=now,
        ),
        "s3": lambda: c.list_buckets(),
    }[service]()


@pytest.fixture
def aws(emulator: EmbeddedAws) -> EmbeddedAws:
    emulator.faults.clear()
    emulator.faults.clear_seen()
    yield emulator
    emulator.faults.clear()


def test_starts_on_a_free_loopback_port_and_stops() -> None:
    server = EmbeddedAws()
    url = server.start()
    assert url == f"http://127.0.0.1:{server.port}" and server.port > 0
    with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=5) as resp:
        assert resp.status == 200
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2)


def test_context_manager_and_second_server_on_another_port(emulator: EmbeddedAws) -> None:
    with EmbeddedAws() as other:
        assert other.port != emulator.port


def test_nothing_reaches_the_terminal_on_404_and_500(aws: EmbeddedAws, capfd: Any) -> None:
    capfd.readouterr()
    with pytest.raises(urllib.error.HTTPError) as not_found:
        urllib.request.urlopen(f"{aws.url}/moto-api/no-such-thing", timeout=5)
    assert not_found.value.code == 404
    # An operation moto does not implement: moto raises, werkzeug answers 500.
    with pytest.raises(ClientError) as failed:
        client(aws, "cloudtrail").list_imports()
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    aws.faults.add(FaultRule("sts", None, "server_error"))
    with pytest.raises(ClientError):
        call(aws, "sts")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize(
    ("service", "kind", "code"),
    [
        ("cloudtrail", "throttle", "ThrottlingException"),
        ("logs", "throttle", "ThrottlingException"),
        ("ec2", "throttle", "RequestLimitExceeded"),
        ("sts", "throttle", "Throttling"),
        ("cloudwatch", "throttle", "Throttling"),
        ("s3", "throttle", "SlowDown"),
        ("cloudtrail", "access_denied", "AccessDeniedException"),
        ("logs", "access_denied", "AccessDeniedException"),
        ("ec2", "access_denied", "UnauthorizedOperation"),
        ("sts", "access_denied", "AccessDenied"),
        ("cloudwatch", "access_denied", "AccessDenied"),
        ("s3", "access_denied", "AccessDenied"),
        ("cloudtrail", "expired_token", "ExpiredTokenException"),
        ("logs", "expired_token", "ExpiredTokenException"),
        ("ec2", "expired_token", "RequestExpired"),
        ("sts", "expired_token", "ExpiredToken"),
        ("cloudwatch", "expired_token", "ExpiredToken"),
        ("logs", "server_error", "InternalFailure"),
        ("ec2", "server_error", "InternalError"),
    ],
)
def test_fault_has_the_aws_error_shape(
    aws: EmbeddedAws, service: str, kind: str, code: str
) -> None:
    aws.faults.add(FaultRule(service, None, kind))
    with pytest.raises(ClientError) as raised:
        call(aws, service)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["Error"].get("Message")


def test_rule_matches_operation_only(aws: EmbeddedAws) -> None:
    aws.faults.add(FaultRule("cloudtrail", "LookupEvents", "throttle"))
    client(aws, "cloudtrail").describe_trails()  # another operation passes
    with pytest.raises(ClientError):
        call(aws, "cloudtrail")


def test_times_one_then_success(aws: EmbeddedAws) -> None:
    aws.faults.add(FaultRule("cloudtrail", "LookupEvents", "throttle", times=1))
    with pytest.raises(ClientError):
        call(aws, "cloudtrail")
    assert call(aws, "cloudtrail")["Events"] is not None


@pytest.mark.parametrize("service", ["ec2", "logs"])
def test_reset_drops_the_connection(aws: EmbeddedAws, service: str) -> None:
    aws.faults.add(FaultRule(service, None, "reset"))
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        call(aws, service)


def test_slow_answers_late_and_timeout_never_answers(aws: EmbeddedAws) -> None:
    aws.faults.add(FaultRule("sts", None, "slow", times=1, delay=0.3))
    started = time.monotonic()
    assert call(aws, "sts")["Account"] == "123456789012"
    assert time.monotonic() - started >= 0.3
    aws.faults.add(FaultRule("sts", None, "timeout", delay=0.6))
    with pytest.raises((ReadTimeoutError, ConnectionClosedError)):
        call(aws, "sts", read_timeout=0.2, connect_timeout=1)


def test_requests_seen_records_service_and_operation(aws: EmbeddedAws) -> None:
    call(aws, "cloudtrail")
    call(aws, "ec2")
    call(aws, "cloudwatch")
    seen = [(r.service, r.operation) for r in aws.requests_seen]
    assert seen == [
        ("cloudtrail", "LookupEvents"),
        ("ec2", "DescribeVpcs"),
        ("cloudwatch", "GetMetricData"),
    ]
    assert len(aws.calls(operation="LookupEvents")) == 1
