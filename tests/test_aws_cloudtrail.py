"""CloudTrail sources against the embedded AWS over real HTTP: paging, push-down, rate, fan-out,
S3 trail files, throttling and AccessDenied."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.demo_fixtures import DEMO_NOW
from tui.aws.cloudtrail import (
    TrailBatch,
    TrailFollower,
    TrailSource,
    fanout_regions,
    lookup_params,
    object_overlaps,
    parse_source,
    stream_local,
    stream_lookup,
    stream_s3,
)
from tui.aws.errors import AccessDeniedError, HamariError
from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
from tui.demo import extensions
from tui.demo.seed import seed
from tui.demo.server import FaultRule
from tui.models.timewindow import TimeWindow
from tui.models.trailfilter import compile_filter

pytest_plugins = ["tests.demo_fixtures"]


class Recorder:
    """Wraps ``aws.call`` to keep each request's parameters."""

    def __init__(self, aws: Aws) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        inner = aws.call

        async def call(service: str, operation: str, **params: Any) -> dict[str, Any]:
            self.calls.append((service, operation, dict(params)))
            return await inner(service, operation, **params)

        aws.call = call  # type: ignore[method-assign]

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [p for _, op, p in self.calls if op == operation]


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    """Seeded once for this module (seeding takes seconds); tests clean up their fault rules."""
    emulator.reset()
    seeded = seed(emulator.url, now=DEMO_NOW)
    emulator.faults.clear_seen()
    return seeded


@pytest.fixture
async def aws(world: Any, emulator: Any) -> AsyncIterator[Aws]:
    conn = Connection(
        region="us-east-1",
        endpoint_url=world.url,
        demo=True,
        static_credentials=DEMO_CREDENTIALS,
    )
    client = Aws(conn, backoff_base=0.0)
    await client.open()
    try:
        yield client
    finally:
        emulator.faults.clear()
        await client.close()


async def collect(stream: AsyncIterator[TrailBatch]) -> list[TrailBatch]:
    return [batch async for batch in stream]


def window(minutes: int) -> TimeWindow:
    return TimeWindow(DEMO_NOW - timedelta(minutes=minutes), DEMO_NOW, live=False)


@pytest.mark.parametrize("who", ["alice", "ALICE", "opsadmin"])
async def test_lookup_filters_user_locally_and_pages_at_the_rate(
    aws: Aws, emulator: Any, who: str
) -> None:
    # user: matches the session name or the role name in any case; LookupEvents' Username is
    # one exact name, so the term is not pushed and the denials are still found.
    rec = Recorder(aws)
    flt = compile_filter(f"user:{who} error:AccessDenied*")
    emulator.faults.clear_seen()
    batches = await collect(stream_lookup(aws, window(180), flt))
    events = [e for b in batches for e in b.events]
    # Both failed starts: CreateGrant and Decrypt denied, found by the local part of the filter.
    assert sorted(e.event_name for e in events) == ["CreateGrant"] * 2 + ["Decrypt"] * 2
    assert all(e.invoked_by == "ec2.amazonaws.com" for e in events)
    assert batches[-1].done and not any(b.done for b in batches[:-1])
    requests = rec.of("LookupEvents")
    assert len(requests) >= 2, "the window spans several pages of 50"
    assert sum(b.scanned for b in batches) > 50
    for params in requests:
        assert params["MaxResults"] == 50
        assert "LookupAttributes" not in params
        assert {"StartTime", "EndTime"} <= params.keys()
    assert "NextToken" in requests[-1]
    stamps = [r.at for r in emulator.calls("cloudtrail", "LookupEvents")]
    assert len(stamps) == len(requests)
    # Arrival times at the emulator: over the load at most 2 per second (hamari spaces them at
    # 1.8/s); pairwise with room for the transit jitter of a loaded test machine (~0.35 s seen),
    # which a limiter that let requests through unspaced (~0.05 s apart) would still fail.
    assert stamps[-1] - stamps[0] >= (len(stamps) - 1) / 2.0, "more than 2 LookupEvents/s"
    for earlier, later in zip(stamps, stamps[2:], strict=False):
        assert later - earlier >= 0.5, "3 LookupEvents within half a second"


async def test_lookup_pushes_one_exact_attribute_and_filters_the_rest(aws: Aws) -> None:
    rec = Recorder(aws)
    flt = compile_filter("user:Alice source:kms error:AccessDenied*")
    events = [e for b in await collect(stream_lookup(aws, window(180), flt)) for e in b.events]
    assert sorted(e.event_name for e in events) == ["CreateGrant"] * 2 + ["Decrypt"] * 2
    for params in rec.of("LookupEvents"):
        assert params["LookupAttributes"] == [
            {"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}
        ]


@pytest.mark.parametrize(
    ("expr", "attributes"),
    [
        ("user:alice", None),
        ("user:alice name:StartInstances", [("EventName", "StartInstances")]),
        ("resource:i-0abc123456789def0", None),
        ("accesskey:ASIAQ3EGRE3VALICE01 user:x", [("AccessKeyId", "ASIAQ3EGRE3VALICE01")]),
        ("readonly:false", [("ReadOnly", "false")]),
    ],
)
def test_lookup_params_are_what_botocore_accepts(
    expr: str, attributes: list[tuple[str, str]] | None
) -> None:
    from botocore.session import Session
    from botocore.validate import ParamValidator

    params = lookup_params(DEMO_NOW - timedelta(hours=3), DEMO_NOW, compile_filter(expr))
    sent = [(a["AttributeKey"], a["AttributeValue"]) for a in params.get("LookupAttributes", [])]
    assert sent == (attributes or [])
    model = Session().get_service_model("cloudtrail").operation_model("LookupEvents")
    report = ParamValidator().validate(params, model.input_shape)
    assert not report.has_errors(), report.generate_report()


async def test_region_fanout_dedupes_by_event_id(aws: Aws, world: Any) -> None:
    assert fanout_regions(["eu-west-1"]) == ["eu-west-1", "us-east-1"]
    assert fanout_regions(["us-east-1", "us-east-1"]) == ["us-east-1"]
    at = world.kms_denied_at
    span = TimeWindow(at - timedelta(minutes=2), at + timedelta(minutes=2), live=False)
    flt = compile_filter("source:kms")
    base = [e for b in await collect(stream_lookup(aws, span, flt)) for e in b.events]
    assert base
    # The same records seen from a second region (as global events are): shown once.
    raws = [dict(e.raw) for e in base]
    extensions.record_events(raws, region="eu-west-1")
    batches = await collect(stream_lookup(aws, span, flt, regions=["eu-west-1"]))
    sources = {b.source for b in batches if b.pages}
    assert sources == {"lookup eu-west-1", "lookup us-east-1"}
    ids = [e.event_id for b in batches for e in b.events]
    assert len(ids) == len(set(ids)) == len(base)


async def test_throttling_is_absorbed(aws: Aws, emulator: Any) -> None:
    emulator.faults.clear_seen()
    emulator.faults.add(FaultRule("cloudtrail", "LookupEvents", "throttle", times=3))
    batches = await collect(stream_lookup(aws, window(20), None))
    assert batches[-1].done
    pages = sum(b.pages for b in batches)
    assert pages >= 1 and sum(b.scanned for b in batches) > 0
    sent = len(emulator.calls("cloudtrail", "LookupEvents"))
    assert sent == pages + 3, "each throttled request was retried, none lost"


async def test_access_denied_names_the_action(aws: Aws, emulator: Any) -> None:
    emulator.faults.add(FaultRule("cloudtrail", "LookupEvents", "access_denied"))
    with pytest.raises(AccessDeniedError) as info:
        await collect(stream_lookup(aws, window(20), None))
    assert info.value.action == "cloudtrail:LookupEvents"
    assert "cloudtrail:LookupEvents" in info.value.message


async def test_s3_reads_window_only_skips_digest_counts_corrupt(aws: Aws, world: Any) -> None:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=world.url,
        region_name="us-east-1",
        aws_access_key_id=DEMO_CREDENTIALS[0],
        aws_secret_access_key=DEMO_CREDENTIALS[1],
    )
    bucket = world.trail_bucket
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert any("CloudTrail-Digest" in k for k in keys)
    stamp = f"{DEMO_NOW - timedelta(minutes=20):%Y%m%dT%H%M}Z"
    prefix = f"AWSLogs/123456789012/CloudTrail/us-east-1/{DEMO_NOW:%Y/%m/%d}/"
    corrupt = prefix + f"123456789012_CloudTrail_us-east-1_{stamp}_BAD.json.gz"
    s3.put_object(Bucket=bucket, Key=corrupt, Body=b"\x1f\x8bnot really gzip")
    rec = Recorder(aws)
    span = window(60)
    batches = await collect(stream_s3(aws, "", span, None))
    fetched = [p["Key"] for p in rec.of("GetObject")]
    assert rec.of("DescribeTrails"), "the bucket is found from the trail"
    assert corrupt in fetched
    assert not any("CloudTrail-Digest" in k for k in fetched)
    expected = [k for k in keys if object_overlaps(k, span.start, span.end) and "_CloudTrail_" in k]
    assert len(expected) < len([k for k in keys if "_CloudTrail_" in k]), "older files skipped"
    assert set(fetched) == {*expected, corrupt}
    assert sum(b.bad_files for b in batches) == 1
    events = [e for b in batches for e in b.events]
    assert events and all(span.start <= e.event_time <= span.end for e in events)
    # The same through an explicit s3:// URI.
    again = await collect(stream_s3(aws, f"s3://{bucket}/", span, compile_filter("error:any")))
    denied = [e.event_name for b in again for e in b.events]
    assert sorted(denied) == ["CreateGrant"] * 2 + ["Decrypt"] * 2


async def test_an_object_failing_still_hands_over_those_read_beside_it(
    aws: Aws, emulator: Any, world: Any
) -> None:
    """Objects are fetched several at once. When the listing's first fails past the retries,
    the objects already fetched beside it are still handed over (shown, and marked read) before
    the error is raised, and the load taken up again fetches only what was not read."""
    uri = f"s3://{world.trail_bucket}/"
    span = window(180)
    rec = Recorder(aws)
    whole = await collect(stream_s3(aws, uri, span, None, parallel=4))
    order = [p["Key"] for p in rec.of("GetObject")]
    assert len(order) > 4
    total = sum(len(b.events) for b in whole)
    head = order[0]
    emulator.faults.add(FaultRule("s3", "GetObject", "server_error", path=head))
    read: set[str] = set()
    got: list[TrailBatch] = []
    with pytest.raises(HamariError, match="GetObject"):
        async for batch in stream_s3(aws, uri, span, None, parallel=4, read=read):
            got.append(batch)
    assert head not in read and len(read) >= 3  # those in flight beside it came
    shown = sum(len(b.events) for b in got)
    assert shown > 0
    emulator.faults.clear()
    rec.calls.clear()
    before = set(read)
    rest = await collect(stream_s3(aws, uri, span, None, parallel=4, read=read))
    again = [p["Key"] for p in rec.of("GetObject")]
    assert head in again and not set(again) & before
    assert sorted([*again, *before]) == sorted(order)
    assert shown + sum(len(b.events) for b in rest) == total


async def test_local_folder_and_follower(tmp_path: Path) -> None:
    record = {
        "eventVersion": "1.10",
        "eventTime": f"{DEMO_NOW - timedelta(minutes=30):%Y-%m-%dT%H:%M:%SZ}",
        "eventSource": "kms.amazonaws.com",
        "eventName": "Decrypt",
        "eventID": "e-1",
        "errorCode": "AccessDenied",
        "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
    }
    (tmp_path / "a.json.gz").write_bytes(gzip.compress(json.dumps({"Records": [record]}).encode()))
    (tmp_path / "b.json").write_text(json.dumps({"Records": [record | {"eventID": "e-2"}]}))
    (tmp_path / "broken.json.gz").write_bytes(b"\x1f\x8b\x08garbage")
    batches = await collect(stream_local(str(tmp_path), None, compile_filter("error:Access*")))
    assert sorted(e.event_id for b in batches for e in b.events) == ["e-1", "e-2"]
    assert sum(b.bad_files for b in batches) == 1
    follower = TrailFollower(TrailSource("local", str(tmp_path)))
    span = TimeWindow(DEMO_NOW - timedelta(hours=1), DEMO_NOW, live=False)
    first = [e async for b in follower.poll(None, span, DEMO_NOW) for e in b.events]
    second = [e async for b in follower.poll(None, span, DEMO_NOW) for e in b.events]
    assert len(first) == 2 and second == []


@pytest.mark.parametrize(
    ("text", "kind", "location"),
    [
        ("", "lookup", ""),
        ("lookup", "lookup", ""),
        ("s3://bucket/some/prefix", "s3", "s3://bucket/some/prefix"),
        ("s3", "s3", ""),
        ("trail:org-trail", "s3", "trail:org-trail"),
        ("/tmp/trail", "local", "/tmp/trail"),
    ],
)
def test_parse_source(text: str, kind: str, location: str) -> None:
    source = parse_source(text)
    assert (source.kind, source.location) == (kind, location)
