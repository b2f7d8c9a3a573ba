"""CloudTrail event model and parsers: normalisation, tolerance of bad input, file layouts."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.models.cloudtrail import (
    MAX_BAD_SAMPLES,
    SEARCH_TEXT_LIMIT,
    EventParseError,
    SourceKind,
    TrailEvent,
    event_key_of,
    iter_trail_path,
    loads_json,
    parse_event,
    parse_lookup_response,
    read_trail_bytes,
)

KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def base_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::111122223333:user/alice",
            "accountId": "111122223333",
            "accessKeyId": "AKIAEXAMPLE",
            "userName": "alice",
        },
        "eventTime": "2024-05-01T12:00:00Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "StartInstances",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "10.1.2.3",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0123456789abcdef0"}]}},
        "responseElements": None,
        "requestID": "req-1",
        "eventID": "11111111-2222-3333-4444-555555555555",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    }
    event.update(overrides)
    return event


# ------------------------------------------------------------------------------ parse_event


def test_fields_are_normalised() -> None:
    ev = parse_event(base_event())
    assert ev.event_id == "11111111-2222-3333-4444-555555555555"
    assert ev.event_time == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert (ev.event_name, ev.event_source, ev.source) == (
        "StartInstances",
        "ec2.amazonaws.com",
        "ec2",
    )
    assert ev.principal == "alice"
    assert ev.identity_type == "IAMUser"
    assert ev.read_only is False
    assert ev.resources == ("i-0123456789abcdef0",)
    assert ev.account_id == "111122223333"
    assert ev.access_key_id == "AKIAEXAMPLE"
    assert not ev.is_error
    assert ev.ip_version == 4 and ev.ip_value == (10 << 24) + (1 << 16) + (2 << 8) + 3


@pytest.mark.parametrize(
    ("identity", "principal", "names_include"),
    [
        ({"type": "IAMUser", "userName": "bob", "arn": "arn:aws:iam::1:user/bob"}, "bob", "bob"),
        (
            {
                "type": "AssumedRole",
                "principalId": "AROAX:alice",
                "arn": "arn:aws:sts::1:assumed-role/ops-admin/alice",
                "sessionContext": {"sessionIssuer": {"userName": "ops-admin"}},
            },
            "ops-admin/alice",
            "alice",
        ),
        (
            {"type": "AssumedRole", "principalId": "AROAX:sess", "sessionContext": {}},
            "AROAX:sess",
            "sess",
        ),
        ({"type": "Root", "arn": "arn:aws:iam::1:root"}, "root", "root"),
        ({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}, "ec2.amazonaws.com", None),
        (
            {"type": "AWSAccount", "principalId": "AIDAQ", "accountId": "777"},
            "account 777",
            "aidaq",
        ),
        (
            {"type": "FederatedUser", "arn": "arn:aws:sts::1:federated-user/Bob"},
            "Bob",
            "bob",
        ),
        (
            {
                "type": "IdentityCenterUser",
                "userId": "d-123",
                "arn": "arn:aws:iam::1:user/ic-user",
            },
            "ic-user",
            "d-123",
        ),
        ({"type": "IdentityCenterUser", "onBehalfOf": {"userId": "u-9"}}, "u-9", "u-9"),
        ({"type": "SAMLUser", "userName": "SamlExample"}, "SamlExample", "samlexample"),
        ({"type": "SomeFutureType", "principalId": "PID9"}, "PID9", "pid9"),
        ({"type": "SomeFutureType"}, "SomeFutureType", None),
        ({"invokedBy": "secretsmanager.amazonaws.com"}, "secretsmanager.amazonaws.com", None),
        ({}, "", None),
    ],
)
def test_principal_for_identity_types(
    identity: dict[str, Any], principal: str, names_include: str | None
) -> None:
    ev = parse_event(base_event(userIdentity=identity))
    assert ev.principal == principal
    assert ev.identity_type == identity.get("type", "")
    if names_include is not None:
        assert names_include in ev.user_names


def test_missing_user_identity_and_garbage_identity() -> None:
    raw = base_event()
    del raw["userIdentity"]
    assert parse_event(raw).principal == ""
    assert parse_event(base_event(userIdentity="not an object")).principal == ""
    assert parse_event(base_event(userIdentity={"type": 5, "userName": ["x"]})).identity_type == "5"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
        ("2021-11-18T09:41:02-08:00", datetime(2021, 11, 18, 17, 41, 2, tzinfo=UTC)),
        ("2024-05-01T12:00:00.250Z", datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)),
        (datetime(2024, 5, 1, 12, 0), datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
        (1714564800000, datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
        (1714564800, datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
    ],
)
def test_event_time_is_aware_utc(value: Any, expected: datetime) -> None:
    ev = parse_event(base_event(eventTime=value))
    assert ev.event_time == expected
    assert ev.event_time.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("obj", "reason_part"),
    [
        ("[]", "array"),
        ("1", "number"),
        ("null", "null"),
        ('"text"', "string"),
        ("{", "invalid JSON"),
        ("", "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
        (json.dumps({"eventName": "X"}), "missing eventTime"),
        (json.dumps(base_event(eventTime="2025-10-21TT00:52:27Z")), "unreadable eventTime"),
        (json.dumps(base_event(eventTime="")), "empty eventTime"),
        (json.dumps(base_event(eventTime=None)), "missing eventTime"),
        (json.dumps(base_event(eventTime=True)), "bool"),
        (json.dumps(base_event(eventTime=1e300)), "out of range"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_parse_errors_are_event_parse_errors(obj: str | bytes, reason_part: str) -> None:
    with pytest.raises(EventParseError) as info:
        parse_event(obj)
    assert reason_part in info.value.reason


@pytest.mark.parametrize(
    "version",
    ["1.0", "1.01", "1.02", "1.03", "1.04", "1.05", "1.06", "1.07", "1.08", "1.09", "1.10", "1.11"],
)
def test_every_event_version_parses(version: str) -> None:
    raw = {"eventVersion": version, "eventTime": "2014-07-18T15:07:39Z", "eventName": "X"}
    ev = parse_event(raw)
    assert ev.event_version == version
    # every optional field missing: empty strings and None, never an exception
    assert ev.principal == "" and ev.error_code == "" and ev.read_only is None
    assert ev.resources == ()
    assert ev.event_id.startswith("~")


def test_synthetic_event_id_is_stable_and_distinct() -> None:
    a = {"eventTime": "2024-01-01T00:00:00Z", "eventName": "A"}
    b = {"eventTime": "2024-01-01T00:00:00Z", "eventName": "B"}
    assert parse_event(a).event_id == parse_event(dict(a)).event_id
    assert parse_event(a).event_id != parse_event(b).event_id


def test_resources_from_resources_list_and_parameters() -> None:
    raw = base_event(
        eventSource="kms.amazonaws.com",
        eventName="CreateGrant",
        resources=[{"ARN": KEY_ARN, "accountId": "111122223333", "type": "AWS::KMS::Key"}],
        requestParameters={
            "keyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
            "constraints": {"encryptionContextSubset": {"aws:ebs:id": "vol-0abcdef1234567890"}},
            "networkInterfaceId": "eni-0123456789abcdef0",
            "subnetId": "subnet-0123456789abcdef0",
            "vpcId": "vpc-0123abcd",
            "transitGatewayAttachmentId": "tgw-attach-0123456789abcdef0",
            "description": "vpc-endpoints are not IDs",
            "alias": "alias/my-key",
        },
        responseElements={"grantId": "abc", "instanceId": "i-EXAMPLE56126103cb"},
    )
    ev = parse_event(raw)
    assert ev.resources[0] == KEY_ARN
    for expected in (
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "vol-0abcdef1234567890",
        "eni-0123456789abcdef0",
        "subnet-0123456789abcdef0",
        "vpc-0123abcd",
        "tgw-attach-0123456789abcdef0",
        "i-EXAMPLE56126103cb",
    ):
        assert expected in ev.resources
    assert "vpc-endpoints are not IDs" not in ev.resources
    assert "abc" not in ev.resources


def test_huge_request_parameters_are_capped() -> None:
    items = [{"instanceId": f"i-{n:017x}"} for n in range(200_000)]
    raw = base_event(requestParameters={"instancesSet": {"items": items}, "blob": "x" * 1_000_000})
    ev = parse_event(json.dumps(raw))
    assert 0 < len(ev.resources) <= 64
    assert ev.resources[0] == "i-00000000000000000"
    assert len(ev.search_text) <= SEARCH_TEXT_LIMIT
    assert len(ev.raw["requestParameters"]["instancesSet"]["items"]) == 200_000


def test_deeply_nested_request_parameters_do_not_crash() -> None:
    nested: Any = "i-0123456789abcdef0"
    for _ in range(500):
        nested = {"a": nested}
    ev = parse_event(base_event(requestParameters=nested))
    assert "i-0123456789abcdef0" not in ev.resources  # beyond the walk depth
    assert ev.event_name == "StartInstances"


def test_omitted_truncation_marker_is_tolerated() -> None:
    raw = base_event(requestParameters={"omitted": True, "originalSize": 123456})
    ev = parse_event(raw)
    assert ev.resources == ()
    assert ev.raw["requestParameters"]["omitted"] is True


def test_non_utf8_bytes_are_replaced() -> None:
    data = b'{"eventTime":"2024-01-01T00:00:00Z","eventName":"Get\xffObject","userAgent":"a\xc3"}'
    ev = parse_event(data)
    assert ev.event_name == "Get\ufffdObject"
    assert ev.user_agent == "a\ufffd"


def test_duplicate_keys_last_wins() -> None:
    text = '{"eventTime":"2024-01-01T00:00:00Z","eventName":"First","eventName":"Last"}'
    assert parse_event(text).event_name == "Last"


def test_five_thousand_digit_number_is_kept_as_digits() -> None:
    digits = "9" * 5000
    text = (
        '{"eventTime":"2024-01-01T00:00:00Z","eventName":"Put",'
        f'"requestParameters":{{"size":{digits}}},"eventVersion":{digits}}}'
    )
    ev = parse_event(text)
    assert ev.raw["requestParameters"]["size"] == digits
    assert ev.event_version == digits
    assert loads_json(b"[" + b"1" * 5000 + b"]") == ["1" * 5000]
    assert loads_json("[12]") == [12]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("FALSE", False), ("x", None)],
)
def test_read_only_values(value: Any, expected: bool | None) -> None:
    assert parse_event(base_event(readOnly=value)).read_only is expected


@pytest.mark.parametrize(
    ("ip", "version"),
    [("10.0.0.1", 4), ("2001:db8::1", 6), ("ec2.amazonaws.com", 0), ("AWS Internal", 0), ("", 0)],
)
def test_source_ip_is_preparsed(ip: str, version: int) -> None:
    ev = parse_event(base_event(sourceIPAddress=ip))
    assert ev.ip_version == version
    assert (ev.ip_value >= 0) is (version != 0)


def test_raw_values_kept_and_search_text_lowercased() -> None:
    agent = "[link=https://evil]cli[/link]\x1b]52;c;AAAA\x07"
    ev = parse_event(base_event(userAgent=agent, errorCode="AccessDenied", errorMessage="Nope"))
    assert ev.user_agent == agent  # raw, for export; display escapes it
    assert "accessdenied" in ev.search_text and "startinstances" in ev.search_text
    assert ev.search_text == ev.search_text.lower()
    assert ev.is_error


def test_event_is_frozen_and_hashable() -> None:
    ev = parse_event(base_event())
    with pytest.raises(AttributeError):
        ev.event_name = "x"  # type: ignore[misc]
    assert hash(ev) == hash(parse_event(base_event()))


# Hypothesis: arbitrary JSON-ish input never raises anything but EventParseError.
_KEYS = st.sampled_from(
    [
        "eventTime",
        "eventName",
        "eventSource",
        "userIdentity",
        "type",
        "arn",
        "userName",
        "principalId",
        "invokedBy",
        "sessionContext",
        "sessionIssuer",
        "resources",
        "ARN",
        "requestParameters",
        "responseElements",
        "keyId",
        "readOnly",
        "sourceIPAddress",
        "errorCode",
        "eventID",
        "onBehalfOf",
        "x",
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.sampled_from(["2024-01-01T00:00:00Z", "i-0123456789abcdef0", "arn:aws:kms:x", "::1"])
)
_JSONISH = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=6),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_JSONISH)
def test_parse_event_only_raises_event_parse_error(value: Any) -> None:
    if isinstance(value, dict) and "eventTime" not in value and value:
        value = {**value, "eventTime": "2024-01-01T00:00:00Z"}
    for candidate in (value, json.dumps(value), json.dumps(value).encode()):
        try:
            ev = parse_event(candidate)
        except EventParseError as exc:
            assert exc.reason
        else:
            assert isinstance(ev, TrailEvent)
            assert ev.event_time.tzinfo is not None
            assert len(ev.search_text) <= SEARCH_TEXT_LIMIT


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_parse_event_on_random_text(data: bytes | str) -> None:
    try:
        ev = parse_event(data)
    except EventParseError as exc:
        assert exc.reason
    else:
        assert ev.event_time.tzinfo is not None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_read_trail_bytes_never_raises(data: bytes) -> None:
    result = read_trail_bytes(data, "random.json")
    assert result.kind in SourceKind
    assert result.events or result.bad_count or result.reason or result.kind is SourceKind.EMPTY


# ------------------------------------------------------------------------------ LookupEvents


def lookup_item(event: dict[str, Any] | None, **outer: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "EventId": "outer-id",
        "EventName": "StartInstances",
        "EventTime": "2024-05-01T12:00:00Z",
        "Username": "alice",
        "EventSource": "ec2.amazonaws.com",
        "Resources": [
            {"ResourceType": "AWS::EC2::Instance", "ResourceName": "i-0fedcba9876543210"}
        ],
    }
    if event is not None:
        item["CloudTrailEvent"] = json.dumps(event)
    item.update(outer)
    return item


def test_lookup_page_parses_each_event_on_its_own() -> None:
    resp = {
        "Events": [
            lookup_item(base_event(eventID="e1")),
            lookup_item(None, CloudTrailEvent='{"eventTime": "2024-', EventId="e2"),
            lookup_item(None, EventId="e3"),
            lookup_item(None, CloudTrailEvent="[]", EventTime=None, EventId="e4"),
            "not an object",
            lookup_item(base_event(eventID="e6", eventName="StopInstances")),
        ],
        "NextToken": "abc",
    }
    events, bad = parse_lookup_response(resp)
    assert [e.event_id for e in events] == ["e1", "e2", "e3", "e6"]
    first, broken, missing, last = events
    assert not first.partial and first.principal == "alice"
    # outer Resources merged into the parsed event
    assert first.resources == ("i-0123456789abcdef0", "i-0fedcba9876543210")
    assert broken.partial and broken.event_name == "StartInstances"
    assert broken.principal == "alice" and broken.resources == ("i-0fedcba9876543210",)
    assert "invalid JSON" in broken.partial_reason
    assert missing.partial and missing.partial_reason == "CloudTrailEvent missing"
    assert last.event_name == "StopInstances"
    assert [b.index for b in bad] == [3, 4]
    assert "no EventTime" in bad[0].reason


def test_lookup_event_time_as_botocore_datetime() -> None:
    when = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)
    events, bad = parse_lookup_response({"Events": [lookup_item(None, EventTime=when)]})
    assert not bad and events[0].event_time == when


def test_lookup_response_without_events() -> None:
    events, bad = parse_lookup_response({"NextToken": "x"})
    assert events == [] and len(bad) == 1


# ------------------------------------------------------------------------------ files


def records_file(*events: dict[str, Any]) -> bytes:
    return json.dumps({"Records": list(events)}).encode()


def test_records_file_plain_and_gzip() -> None:
    data = records_file(base_event(eventID="a"), base_event(eventID="b"), {"eventName": "noTime"})
    for blob, name in (
        (data, "x.json"),
        (gzip.compress(data), "x.json.gz"),
        (gzip.compress(data), "x"),
    ):
        result = read_trail_bytes(blob, name)
        assert result.kind is SourceKind.RECORDS
        assert [e.event_id for e in result.events] == ["a", "b"]
        assert result.bad_count == 1 and result.bad_samples[0].index == 2


def test_multi_member_gzip() -> None:
    blob = gzip.compress(json.dumps(base_event(eventID="a")).encode() + b"\n") + gzip.compress(
        json.dumps(base_event(eventID="b")).encode() + b"\n"
    )
    result = read_trail_bytes(blob, "x.gz")
    assert [e.event_id for e in result.events] == ["a", "b"]


def test_ndjson_with_a_bad_line_keeps_the_others() -> None:
    lines = [
        json.dumps(base_event(eventID="a")),
        '{"eventTime": "2024-01-01T00:00:00Z", broken',
        "garbage line",
        json.dumps(base_event(eventID="c")) + json.dumps(base_event(eventID="d")),
        "",
    ]
    result = read_trail_bytes("\n".join(lines).encode(), "events.ndjson")
    assert result.kind is SourceKind.NDJSON
    assert [e.event_id for e in result.events] == ["a", "c", "d"]
    assert result.bad_count == 2
    assert {b.index for b in result.bad_samples} == {2, 3}


@pytest.mark.parametrize(
    ("payload", "kind", "count"),
    [
        ([base_event(eventID="a"), base_event(eventID="b")], SourceKind.ARRAY, 2),
        (base_event(eventID="a"), SourceKind.SINGLE, 1),
        ({"Events": [lookup_item(base_event(eventID="a"))]}, SourceKind.LOOKUP, 1),
        ({"Events": [base_event(eventID="inline")]}, SourceKind.LOOKUP, 1),
        (
            {
                "messageType": "DATA_MESSAGE",
                "logEvents": [{"id": "1", "message": json.dumps(base_event())}],
            },
            SourceKind.CWL_SUBSCRIPTION,
            1,
        ),
    ],
)
def test_layouts(payload: Any, kind: SourceKind, count: int) -> None:
    result = read_trail_bytes(json.dumps(payload).encode(), "file.json")
    assert result.kind is kind
    assert len(result.events) == count
    assert not result.skipped and not result.bad_file


def test_cwl_subscription_gzip_with_bad_message() -> None:
    payload = {
        "messageType": "DATA_MESSAGE",
        "logEvents": [
            {"id": "1", "message": json.dumps(base_event(eventID="ok"))},
            {"id": "2", "message": "not json"},
            {"id": "3"},
        ],
    }
    result = read_trail_bytes(gzip.compress(json.dumps(payload).encode()), "cwl")
    assert result.kind is SourceKind.CWL_SUBSCRIPTION
    assert [e.event_id for e in result.events] == ["ok"]
    assert result.bad_count == 2


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [
        (b"", "a.json", SourceKind.EMPTY),
        (b"  \n\t ", "a.json", SourceKind.EMPTY),
        (b'{"Records": []}', "a.json", SourceKind.EMPTY),
        (b"{}", "x_CloudTrail-Digest_us-east-1.json.gz", SourceKind.DIGEST),
        (b'{"digestStartTime": "x", "logFiles": []}', "digest.json", SourceKind.DIGEST),
        (b'{"QueryResultRows": [[{"eventName": "X"}]]}', "lake.json", SourceKind.LAKE),
    ],
)
def test_skipped_files_have_reasons(data: bytes, name: str, kind: SourceKind) -> None:
    result = read_trail_bytes(data, name)
    assert result.kind is kind and result.skipped
    assert result.reason and not result.events


@pytest.mark.parametrize(
    ("data", "reason_part"),
    [
        (b'{\n  "Records": [\n    {"eventTime": ...}\n  ]\n}', "line 3"),
        (b'{"foo": 1}', "not a CloudTrail layout"),
        (b"42", "not a CloudTrail layout"),
        (gzip.compress(b'{"Records": []}', mtime=0)[:-12], "gzip"),
        (b"\x1f\x8bnot really gzip", "gzip"),
        (b'{"Records": "nope"}', ""),
    ],
)
def test_bad_files_have_reasons(data: bytes, reason_part: str) -> None:
    result = read_trail_bytes(data, "bad.json")
    assert not result.events
    assert result.bad_file or result.bad_count
    if result.bad_file:
        assert reason_part in result.reason


def test_bom_and_invalid_utf8_in_file() -> None:
    data = b"\xef\xbb\xbf" + records_file(base_event(userAgent="ok")).replace(b"ok", b"o\xffk")
    result = read_trail_bytes(data, "x.json")
    assert result.events[0].user_agent == "o\ufffdk"
    assert any("UTF-8" in note for note in result.notes)


def test_bad_samples_are_capped_but_count_exact() -> None:
    data = records_file(*[{"eventName": "noTime"}] * 100)
    result = read_trail_bytes(data, "x.json")
    assert result.bad_count == 100 and len(result.bad_samples) == MAX_BAD_SAMPLES


def test_folder_walk_reports_every_file_and_keeps_going(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.json").write_bytes(records_file(base_event(eventID="a")))
    (tmp_path / "sub" / "b.json.gz").write_bytes(
        gzip.compress(records_file(base_event(eventID="b")))
    )
    (tmp_path / "broken.json").write_bytes(b'{"Records": [')
    (tmp_path / "LICENSE").write_text("MIT")
    (tmp_path / "c.ndjson").write_text(json.dumps(base_event(eventID="c")) + "\n")
    (tmp_path / "111_CloudTrail-Digest_x.json").write_text("{}")
    results = {Path(r.name).name: r for r in iter_trail_path(tmp_path)}
    assert set(results) == {
        "a.json",
        "b.json.gz",
        "broken.json",
        "LICENSE",
        "c.ndjson",
        "111_CloudTrail-Digest_x.json",
    }
    assert results["broken.json"].bad_file and "invalid JSON" in results["broken.json"].reason
    assert results["LICENSE"].kind is SourceKind.NOT_A_LOG
    assert results["111_CloudTrail-Digest_x.json"].kind is SourceKind.DIGEST
    ids = sorted(e.event_id for r in results.values() for e in r.events)
    assert ids == ["a", "b", "c"]
    single = list(iter_trail_path(tmp_path / "a.json"))
    assert len(single) == 1 and single[0].events[0].event_id == "a"


def test_truncated_pretty_printed_file_recovers_intact_events() -> None:
    text = json.dumps({"Records": [base_event(eventID="a"), base_event(eventID="b")]}, indent=2)
    cut = text[: text.rindex('"eventID": "b"')]  # second event cut off mid-way
    result = read_trail_bytes(cut.encode(), "truncated.json")
    assert result.kind is SourceKind.NDJSON
    assert [e.event_id for e in result.events] == ["a"]
    assert result.bad_count > 0


@pytest.mark.parametrize(
    "over",
    [
        {},
        {"eventTime": "2025-03-01T09:00:00+09:00"},
        {"eventTime": " 2025-03-01T08:00:00.250Z"},
        {"eventTime": 1740816000},
        {"eventTime": 1740816000123},
        {"eventName": 7, "eventSource": None},
        {"eventID": ""},
        {"eventID": 12},
        {"eventTime": "yesterday"},
        {"eventTime": None},
    ],
)
def test_event_key_of_is_the_full_parses_key_and_time(over: dict[str, Any]) -> None:
    """Read from four fields, with or without the times remembered from earlier events."""
    obj = base_event(**over)
    stamps: dict[str, float] = {}
    first, again = event_key_of(obj, stamps), event_key_of(obj, stamps)
    assert first == again == event_key_of(obj)
    try:
        event = parse_event(obj)
    except EventParseError:
        assert first is None
        return
    if not isinstance(obj.get("eventID"), str) or not obj["eventID"]:
        assert first is None  # the full parse derives an id from the whole event
        return
    assert first == (event.key, event.event_time.timestamp())
