"""CloudTrail as users have it (issue 11): log-pipeline exports, zip archives, the console's CSV,
files that are not trails (each with its real reason), and delivery duplicates folded and counted.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from tests.test_trail_model import base_event
from tui.aws.cloudtrail import TrailBatch, TrailFollower, TrailSource, stream_local
from tui.models.cloudtrail import SourceKind, iter_trail_path, read_trail_bytes
from tui.models.related import find_related
from tui.models.timewindow import TimeWindow


def ndjson(*docs: dict[str, Any]) -> bytes:
    return "".join(json.dumps(d) + "\n" for d in docs).encode()


def zipped(members: dict[str, bytes]) -> bytes:
    """A zip of ``members`` with a fixed date: the bytes (and so the test IDs built from them)
    must be the same in every pytest-xdist worker, or collection differs between them."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 1, 12, 0, 0))
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def records(*events: dict[str, Any]) -> bytes:
    return json.dumps({"Records": list(events)}).encode()


def renamed_time(**overrides: Any) -> dict[str, Any]:
    """A CloudTrail event whose eventTime a pipeline moved to @timestamp (Logstash, Fluent Bit)."""
    event = base_event(**overrides)
    event["@timestamp"] = event.pop("eventTime")
    return event


ECS_DOC: dict[str, Any] = {
    "@timestamp": "2024-05-01T12:00:07.000Z",
    "event": {"action": "Decrypt", "provider": "kms.amazonaws.com", "id": "ecs-1"},
    "cloud": {"region": "eu-west-1", "account": {"id": "111122223333"}},
    "source": {"address": "10.9.8.7", "ip": "10.9.8.7"},
    "user": {"name": "bob"},
    "user_agent": {"original": "aws-cli/2"},
    "aws": {
        "cloudtrail": {
            "error_code": "AccessDenied",
            "error_message": "not allowed",
            "user_identity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/bob"},
        }
    },
}

# The console's Event history download. The column set is the console's documented columns
# (its CSV header could not be confirmed from AWS's pages): columns are matched by name, so
# their order and any hidden column do not matter.
CONSOLE_HEADER = (
    "Event ID,Event time,User name,Event name,Resource type,Resource name,AWS access key,"
    "AWS region,Error code,Source IP address,Event source,Resources,Read-only"
)
CONSOLE_ROWS = [
    "e-1,2024-05-01T12:00:00Z,alice,StartInstances,AWS::EC2::Instance,i-0123456789abcdef0,"
    "AKIAEXAMPLE,us-east-1,,10.1.2.3,ec2.amazonaws.com,"
    '"[{""resourceType"":""AWS::EC2::Instance"",""resourceName"":""i-0123456789abcdef0""}]",false',
    '"e-2","July 10, 2023, 11:45:12 (UTC+02:00)",bob,ConsoleLogin,,,,us-east-1,,'
    '"81.2.69.142, 192.168.10.10",signin.amazonaws.com,[],false',
    "e-3,2024-05-01T12:05:00Z,alice,CreateGrant,AWS::KMS::Key,"
    "arn:aws:kms:us-east-1:111122223333:key/k-1,,us-east-1,AccessDenied,ec2.amazonaws.com,"
    "kms.amazonaws.com,,",
]


def console_csv(*rows: str, header: str = CONSOLE_HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


Case = tuple[str, Callable[[], bytes], SourceKind, list[str]]

FORMATS: list[Case] = [
    (
        "ndjson @timestamp, no eventTime",
        lambda: ndjson(renamed_time(eventID="a"), renamed_time(eventID="b", eventName="Decrypt")),
        SourceKind.NDJSON,
        ["StartInstances", "Decrypt"],
    ),
    (
        "one event with @timestamp",
        lambda: json.dumps(renamed_time()).encode(),
        SourceKind.SINGLE,
        ["StartInstances"],
    ),
    ("ECS fields only", lambda: ndjson(ECS_DOC, ECS_DOC | {"event": {}}), SourceKind.NDJSON, []),
    (
        "ECS with event.original",
        lambda: ndjson(
            {
                "@timestamp": "2024-05-01T12:00:00.123Z",
                "event": {"original": json.dumps(base_event(eventName="StopInstances"))},
            }
        ),
        SourceKind.SINGLE,
        ["StopInstances"],
    ),
    (
        "collector lines wrapping the event",
        lambda: ndjson(
            {"message": json.dumps(base_event(eventID="m1"))},
            {"_raw": json.dumps(base_event(eventID="m2", eventName="Decrypt")), "_time": 1},
        ),
        SourceKind.NDJSON,
        ["StartInstances", "Decrypt"],
    ),
    (
        "zip of trail files",
        lambda: zipped(
            {
                "AWSLogs/a.json": records(base_event(eventID="z1")),
                "AWSLogs/b.json.gz": gzip.compress(records(base_event(eventID="z2"))),
                "AWSLogs/c.ndjson": ndjson(renamed_time(eventID="z3", eventName="Decrypt")),
            }
        ),
        SourceKind.ZIP,
        ["StartInstances", "StartInstances", "Decrypt"],
    ),
    (
        "console CSV",
        lambda: console_csv(*CONSOLE_ROWS),
        SourceKind.CSV,
        ["StartInstances", "ConsoleLogin", "CreateGrant"],
    ),
    (
        "console CSV, other column order, with the event JSON",
        lambda: console_csv(
            '"'
            + json.dumps(base_event(eventName="RunInstances")).replace('"', '""')
            + '",RunInstances,2024-05-01T12:00:00Z',
            header="CloudTrail event,Event name,Event time",
        ),
        SourceKind.CSV,
        ["RunInstances"],
    ),
]


@pytest.mark.parametrize(
    ("label", "build", "kind", "names"), FORMATS, ids=[case[0] for case in FORMATS]
)
def test_pipeline_exports_archives_and_csv_are_read(
    label: str, build: Callable[[], bytes], kind: SourceKind, names: list[str]
) -> None:
    result = read_trail_bytes(build(), "export")
    assert result.kind is kind, (label, result.reason, result.bad_samples)
    assert not result.bad_file and not result.skipped
    if names:
        assert [e.event_name for e in result.events] == names
        assert result.bad_count == 0, result.bad_samples


def test_timestamp_becomes_the_event_time_and_the_file_stays_raw() -> None:
    (event,) = read_trail_bytes(json.dumps(renamed_time()).encode(), "x").events
    assert event.event_time == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert "eventTime" not in event.raw and event.raw["@timestamp"] == "2024-05-01T12:00:00Z"
    assert not event.partial


def test_ecs_fields_map_to_the_event() -> None:
    result = read_trail_bytes(ndjson(ECS_DOC), "ecs.ndjson")
    (event,) = result.events
    assert (event.event_name, event.source, event.event_id) == ("Decrypt", "kms", "ecs-1")
    assert (event.aws_region, event.source_ip, event.error_code) == (
        "eu-west-1",
        "10.9.8.7",
        "AccessDenied",
    )
    assert event.principal == "bob" and event.account_id == "111122223333"
    assert event.event_time == datetime(2024, 5, 1, 12, 0, 7, tzinfo=UTC)
    assert event.partial and "Elastic Common Schema" in event.partial_reason
    assert event.raw == ECS_DOC


def test_console_csv_columns_become_fields() -> None:
    result = read_trail_bytes(console_csv(*CONSOLE_ROWS), "event_history.csv")
    start, login, grant = result.events
    assert start.event_id == "e-1" and start.principal == "alice"
    assert start.access_key_id == "AKIAEXAMPLE" and start.read_only is False
    assert "i-0123456789abcdef0" in start.resources
    assert login.event_time == datetime(2023, 7, 10, 9, 45, 12, tzinfo=UTC)
    assert login.ip_chain and login.source == "signin"
    assert grant.error_code == "AccessDenied" and grant.is_error
    assert grant.resources == ("arn:aws:kms:us-east-1:111122223333:key/k-1",)
    assert all(e.partial for e in result.events)  # the columns, not the event JSON
    assert start.raw["Event name"] == "StartInstances"


def test_console_csv_with_bad_rows_keeps_the_rest() -> None:
    data = console_csv(CONSOLE_ROWS[0], "e-9,not a time,x,Y,,,,,,,,,")
    result = read_trail_bytes(data, "h.csv")
    assert [e.event_id for e in result.events] == ["e-1"]
    assert result.bad_count == 1 and "eventTime" in result.bad_samples[0].reason


def test_zip_members_not_read_are_named_with_their_reason() -> None:
    data = zipped(
        {
            "a.json": records(base_event(eventID="z1")),
            "111_CloudTrail-Digest_us-east-1_x.json.gz": b"{}",
            "README.md": b"# notes",
            "empty.json": b"",
            "inner.zip": zipped({"x.json": records(base_event())}),
        }
    )
    result = read_trail_bytes(data, "bundle.zip")
    assert result.kind is SourceKind.ZIP and len(result.events) == 1
    parts = dict(p.split(": ", 1) for p in result.skipped_parts)
    assert set(parts) == {
        "111_CloudTrail-Digest_us-east-1_x.json.gz",
        "README.md",
        "empty.json",
        "inner.zip",
    }
    assert "digest" in parts["111_CloudTrail-Digest_us-east-1_x.json.gz"]
    assert parts["empty.json"] == "empty file"
    assert "zip archive inside a zip" in parts["inner.zip"]


@pytest.mark.parametrize(
    ("data", "reason_part"),
    [
        (zipped({"notes.txt": b"hello"}), "zip archive without events"),
        (zipped({}), "empty zip archive"),
        (b"PK\x03\x04garbage", "corrupt zip archive"),
    ],
)
def test_zip_without_events_says_why(data: bytes, reason_part: str) -> None:
    result = read_trail_bytes(data, "x.zip")
    assert not result.events and reason_part in result.reason


# ------------------------------------------------------------------ item 7: the real reason


NOT_TRAILS: list[tuple[str, bytes, str]] = [
    ("111122223333_CloudTrail-Digest_us-east-1_20240501T1200Z.json.gz", b"{}", "digest"),
    ("digest.json", b'{"digestStartTime": "x", "logFiles": []}', "digest"),
    ("empty.json", b"", "empty file"),
    ("rule.yml", b"Log:\n  eventName: x\n", ".yml"),
    (
        "no-time.ndjson",
        ndjson({"eventName": "A", "eventID": "1"}, {"eventName": "B", "eventID": "2"}),
        "2 records, none readable: missing eventTime",
    ),
    ("flows.ndjson", ndjson({"version": 2, "srcaddr": "10.0.0.1"}, {"x": 1}), "not an event"),
    ("empty.csv", console_csv(), "without rows"),
]


@pytest.mark.parametrize(
    ("name", "data", "reason_part"), NOT_TRAILS, ids=[n[0] for n in NOT_TRAILS]
)
def test_a_file_that_is_not_read_says_why(
    tmp_path: Path, name: str, data: bytes, reason_part: str
) -> None:
    (tmp_path / name).write_bytes(data)
    (result,) = iter_trail_path(tmp_path / name)
    assert not result.events
    assert result.skipped or result.bad_file
    assert reason_part in result.reason
    assert "Extra data" not in result.reason


def run_local(path: Path, **kwargs: Any) -> list[TrailBatch]:
    async def collect() -> list[TrailBatch]:
        return [b async for b in stream_local(str(path), **kwargs)]

    return asyncio.run(collect())


def test_every_file_not_read_gets_one_line(tmp_path: Path) -> None:
    for name, data, _ in NOT_TRAILS:
        (tmp_path / name).write_bytes(data)
    (tmp_path / "ok.json").write_bytes(records(base_event()))
    batches = run_local(tmp_path)
    lines = [line for b in batches for line in b.skipped]
    assert len(lines) == len(NOT_TRAILS)
    for name, _, reason_part in NOT_TRAILS:
        (line,) = [x for x in lines if Path(x.split(": ", 1)[0]).name == name]
        assert reason_part in line
    assert sum(len(b.events) for b in batches) == 1


# ------------------------------------------------------- item 3: delivery duplicates folded


def test_same_event_id_for_other_calls_is_not_a_duplicate(tmp_path: Path) -> None:
    # Test fixtures reuse one eventID for many calls (a Panther rule file: 228 of 279 "copies"
    # had another eventName): each call is its own event.
    shared = "00000000-0000-0000-0000-000000000000"
    events = [
        base_event(eventID=shared, eventName="StartInstances"),
        base_event(eventID=shared, eventName="StopInstances"),
        base_event(eventID=shared, eventName="StartInstances", eventTime="2024-05-01T12:00:01Z"),
        base_event(eventID=shared, eventName="StartInstances", eventSource="kms.amazonaws.com"),
        base_event(eventID=shared, eventName="StartInstances"),  # a true copy of the first
    ]
    (tmp_path / "fixture.json").write_bytes(records(*events))
    batches = run_local(tmp_path)
    assert sum(len(b.events) for b in batches) == 4
    assert sum(b.duplicates for b in batches) == 1


def test_a_file_delivered_twice_is_folded_and_counted(tmp_path: Path) -> None:
    data = records(*(base_event(eventID=f"id-{i}") for i in range(5)))
    (tmp_path / "a.json").write_bytes(data)
    (tmp_path / "copy-of-a.json.gz").write_bytes(gzip.compress(data))
    batches = run_local(tmp_path)
    assert sum(len(b.events) for b in batches) == 5
    assert sum(b.duplicates for b in batches) == 5
    assert sum(b.scanned for b in batches) == 10


def test_a_follow_poll_rereading_known_events_folds_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_bytes(records(*(base_event(eventID=f"i{i}") for i in range(3))))
    follower = TrailFollower(TrailSource("local", str(tmp_path)))
    span = TimeWindow(datetime(2024, 5, 1, 11, tzinfo=UTC), datetime(2024, 5, 1, 13, tzinfo=UTC))
    now = datetime(2024, 5, 1, 13, tzinfo=UTC)

    async def poll() -> list[TrailBatch]:
        return [b async for b in follower.poll(None, span, now)]

    first, second = asyncio.run(poll()), asyncio.run(poll())
    assert sum(len(b.events) for b in first) == 3
    assert sum(len(b.events) for b in second) == 0
    assert sum(b.duplicates for b in first + second) == 0


def test_related_events_keep_another_call_with_the_same_event_id() -> None:
    from tui.models.cloudtrail import parse_event

    focal = parse_event(base_event(eventID="same", requestID="r-1"))
    other = parse_event(base_event(eventID="same", eventName="StopInstances", requestID="r-1"))
    copy = parse_event(base_event(eventID="same", requestID="r-1"))
    related = find_related(focal, [focal, copy, other])
    assert [i.event.event_name for i in related.items] == ["StopInstances"]


@pytest.mark.parametrize(
    ("label", "build", "kind", "names"), FORMATS, ids=[case[0] for case in FORMATS]
)
def test_every_event_raw_parses_back_to_the_same_event(
    label: str, build: Callable[[], bytes], kind: SourceKind, names: list[str]
) -> None:
    # Bundles save event.raw and replay parse_event(raw): a reader whose raw does not parse
    # back would make a saved bundle unreadable.
    from tui.models.cloudtrail import parse_event

    events = read_trail_bytes(build(), "export").events
    assert events
    for event in events:
        again = parse_event(event.raw)
        assert (again.key, again.principal, again.partial) == (
            event.key,
            event.principal,
            event.partial,
        )


def test_a_partial_lookup_entry_parses_back() -> None:
    from tui.models.cloudtrail import parse_event, parse_lookup_response

    item = {
        "EventId": "e-1",
        "EventName": "ConsoleLogin",
        "EventTime": datetime(2024, 5, 1, 12, tzinfo=UTC),
        "EventSource": "signin.amazonaws.com",
        "Username": "alice",
        "CloudTrailEvent": "{not json",
    }
    (event,), _ = parse_lookup_response({"Events": [item]})
    assert event.partial
    assert parse_event(event.raw).key == event.key


CSV_HEAD = st.sampled_from(
    ["Event time,Event name\n", CONSOLE_HEADER + "\n", "Event ID,Event time\n"]
)


@settings(max_examples=150, deadline=None)
@given(CSV_HEAD, st.text(max_size=300))
def test_csv_reader_never_raises(header: str, body: str) -> None:
    result = read_trail_bytes((header + body).encode("utf-8", "replace"), "h.csv")
    assert result.events or result.bad_count or result.reason


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=20), st.binary(max_size=200), max_size=4))
@example(members={"\x00": b""})  # zipfile stores the name as "": ZipInfo.is_dir() raised
def test_zip_reader_never_raises(members: dict[str, bytes]) -> None:
    try:
        data = zipped(members)
    except (IndexError, ValueError):  # zipfile cannot write such a name (e.g. a lone NUL)
        assume(False)
    result = read_trail_bytes(data, "x.zip")
    assert result.kind in SourceKind
    assert result.events or result.bad_count or result.reason
