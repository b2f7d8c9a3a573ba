"""A trail that writes under a key prefix (issue 11, item 6): found, or a clear "not found".

The trail here is not the demo's: its own bucket, region and S3KeyPrefix ``cloudtrail``, so its
files are under ``cloudtrail/AWSLogs/{account}/CloudTrail/{region}/...``.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.awstools import emulator_door
from tui.aws.cloudtrail import TrailBatch, stream_s3
from tui.aws.errors import NotFoundError
from tui.aws.health import load_trails
from tui.aws.session import DEMO_CREDENTIALS, Aws
from tui.demo.server import FaultRule
from tui.models.health import TrailInfo, trail_checks
from tui.models.timewindow import TimeWindow

REGION = "ap-southeast-2"
ACCOUNT = "123456789012"  # the emulator's account


def _client(emulator: Any, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=emulator.url,
        region_name=REGION,
        aws_access_key_id=DEMO_CREDENTIALS[0],
        aws_secret_access_key=DEMO_CREDENTIALS[1],
    )


def _put_trail_file(emulator: Any, bucket: str, prefix: str, when: datetime, name: str) -> str:
    record = {
        "eventVersion": "1.10",
        "eventTime": f"{when:%Y-%m-%dT%H:%M:%SZ}",
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "eventID": str(uuid.uuid4()),
        "awsRegion": REGION,
        "errorCode": "AccessDenied",
        "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
    }
    stamp = f"{when + timedelta(minutes=5):%Y%m%dT%H%M}Z"
    key = (
        f"{prefix}AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{when:%Y/%m/%d}/"
        f"{ACCOUNT}_CloudTrail_{REGION}_{stamp}_{uuid.uuid4().hex[:16]}.json.gz"
    )
    body = gzip.compress(json.dumps({"Records": [record]}).encode())
    _client(emulator, "s3").put_object(Bucket=bucket, Key=key, Body=body)
    return key


@pytest.fixture
def trail_bucket(emulator: Any) -> str:
    """A bucket of a trail with S3KeyPrefix 'cloudtrail', holding one KMS denial."""
    bucket = f"audit-{uuid.uuid4().hex[:12]}"
    s3 = _client(emulator, "s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    _client(emulator, "cloudtrail").create_trail(
        Name=f"audit-{bucket[-6:]}", S3BucketName=bucket, S3KeyPrefix="cloudtrail"
    )
    _put_trail_file(emulator, bucket, "cloudtrail/", _now() - timedelta(minutes=30), "Decrypt")
    return bucket


def _now() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def _window(hours: float = 2) -> TimeWindow:
    now = _now()
    return TimeWindow(now - timedelta(hours=hours), now, live=False)


@pytest.fixture
async def aws(emulator: Any) -> AsyncIterator[Aws]:
    emulator.faults.clear()
    door = emulator_door(emulator, REGION)
    await door.open()
    yield door
    await door.close()
    emulator.faults.clear()


async def _iter_batches(stream: AsyncIterator[TrailBatch]) -> list[TrailBatch]:
    return [b async for b in stream]


async def test_bucket_alone_finds_the_trails_key_prefix(aws: Aws, trail_bucket: str) -> None:
    batches = await _iter_batches(stream_s3(aws, f"s3://{trail_bucket}", _window()))
    assert [e.event_name for b in batches for e in b.events] == ["Decrypt"]


async def test_a_shared_log_bucket_reads_the_trails_prefix_beside_other_awslogs(
    aws: Aws, emulator: Any, trail_bucket: str
) -> None:
    """Load balancer logs under AWSLogs/ at the top must not hide the trail's own prefix."""
    elb = f"AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/2026/01/01/lb.log.gz"
    _client(emulator, "s3").put_object(Bucket=trail_bucket, Key=elb, Body=b"x")
    batches = await _iter_batches(stream_s3(aws, f"s3://{trail_bucket}", _window()))
    assert [e.event_name for b in batches for e in b.events] == ["Decrypt"]


async def test_without_describe_trails_the_prefix_is_found_one_level_down(
    aws: Aws, emulator: Any, trail_bucket: str
) -> None:
    emulator.faults.add(FaultRule("cloudtrail", "DescribeTrails", "access_denied"))
    batches = await _iter_batches(stream_s3(aws, f"s3://{trail_bucket}/", _window()))
    assert [e.event_name for b in batches for e in b.events] == ["Decrypt"]


async def test_a_bucket_without_trail_files_says_what_was_searched(aws: Aws, emulator: Any) -> None:
    bucket = f"empty-{uuid.uuid4().hex[:12]}"
    s3 = _client(emulator, "s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="other/readme.txt", Body=b"not a trail")
    with pytest.raises(NotFoundError) as info:
        await _iter_batches(stream_s3(aws, f"s3://{bucket}", _window()))
    message = info.value.message
    assert f"s3://{bucket}/AWSLogs/" in message
    assert f"s3://{bucket}/other/AWSLogs/" in message
    assert "S3KeyPrefix" in info.value.hint


async def test_no_file_in_the_window_names_where_it_looked(aws: Aws, trail_bucket: str) -> None:
    old = TimeWindow(_now() - timedelta(days=40), _now() - timedelta(days=39), live=False)
    with pytest.raises(NotFoundError) as info:
        await _iter_batches(stream_s3(aws, f"s3://{trail_bucket}", old))
    assert f"s3://{trail_bucket}/cloudtrail/AWSLogs/{ACCOUNT}/CloudTrail/" in info.value.message
    assert REGION in info.value.message
    # A follow poll over the last minutes: nothing new is no error.
    quiet = await _iter_batches(stream_s3(aws, f"s3://{trail_bucket}", old, empty_ok=True))
    assert quiet[-1].done and not [e for b in quiet for e in b.events]


def test_headless_exits_non_zero_with_the_searched_folders(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Any
) -> None:
    from tui.cli import main

    bucket = f"empty-{uuid.uuid4().hex[:12]}"
    _client(emulator, "s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DEMO_CREDENTIALS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DEMO_CREDENTIALS[1])
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    code = main(
        ["trail", "--endpoint-url", emulator.url, "--region", REGION, "--source", f"s3://{bucket}"]
    )
    err = capsys.readouterr().err
    assert code != 0
    assert f"s3://{bucket}/AWSLogs/" in err


async def test_health_shows_the_trails_full_destination(aws: Aws, trail_bucket: str) -> None:
    trails = [t for t in await load_trails(aws) if t.bucket == trail_bucket]
    assert trails and trails[0].prefix == "cloudtrail"
    info = TrailInfo(**{**trails[0].__dict__, "is_logging": True, "multi_region": True})
    checks = trail_checks([info], REGION, _now())
    assert f"s3://{trail_bucket}/cloudtrail/AWSLogs/" in checks[0].detail


async def test_the_trail_pane_says_what_was_searched(emulator: Any) -> None:
    from tests.apptools import wait_for
    from tui.app import HamariApp
    from tui.panes.base import ErrorPanel
    from tui.panes.trail import TrailPane
    from tui.settings import Settings

    bucket = f"empty-{uuid.uuid4().hex[:12]}"
    _client(emulator, "s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    app = HamariApp(
        Settings(endpoint_url=emulator.url, region=REGION, trail_source=f"s3://{bucket}"),
        credentials=DEMO_CREDENTIALS,
    )
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        panel = app.screen.query_one(TrailPane).query_one(ErrorPanel)
        assert await wait_for(pilot, lambda: panel.has_class("-shown"), 30)
        said = " ".join(str(panel.render()).split())
        assert f"s3://{bucket}/AWSLogs/" in said and "S3KeyPrefix" in said
