"""Related events, built around incident 1: StartInstances "succeeds", KMS denies EC2 seconds later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tui.models.cloudtrail import TrailEvent, parse_event
from tui.models.related import Reason, find_related, format_offset, summarize
from tui.models.text import is_display_safe

T0 = datetime(2024, 5, 1, 9, 0, 0, tzinfo=UTC)
ACCOUNT = "111122223333"
ALICE_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/alice"
CAROL_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/data-eng/carol"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"
OTHER_KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/99999999-12ab-34cd-56ef-1234567890ab"
INSTANCE = "i-0f00dfa11ed000001"
VOLUME = "vol-0f00dfa11ed000001"


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def alice(invoked_by: str | None = None) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLE:alice",
        "arn": ALICE_ARN,
        "accountId": ACCOUNT,
        "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "ops-admin"}},
    }
    if invoked_by:
        identity["invokedBy"] = invoked_by
    return identity


def event(
    event_id: str, seconds: float, name: str, source: str, identity: dict[str, Any], **extra: Any
) -> TrailEvent:
    raw = {
        "eventVersion": "1.08",
        "eventID": event_id,
        "eventTime": at(seconds),
        "eventName": name,
        "eventSource": source,
        "awsRegion": "us-east-1",
        "userIdentity": identity,
        "sourceIPAddress": extra.pop("ip", "203.0.113.10"),
        "userAgent": extra.pop("agent", "aws-cli/2.15.0"),
        "requestID": extra.pop("request_id", f"req-{event_id}"),
        "recipientAccountId": ACCOUNT,
        **extra,
    }
    return parse_event(raw)


def instances(*ids: str) -> dict[str, Any]:
    return {"instancesSet": {"items": [{"instanceId": i} for i in ids]}}


def kms_denied(
    event_id: str, seconds: float, name: str, identity: dict[str, Any], key: str, volume: str
) -> TrailEvent:
    params: dict[str, Any] = {"keyId": key, "encryptionContext": {"aws:ebs:id": volume}}
    if name == "CreateGrant":
        params = {
            "keyId": key,
            "granteePrincipal": "ec2.amazonaws.com",
            "operations": ["Decrypt"],
            "constraints": {"encryptionContextSubset": {"aws:ebs:id": volume}},
        }
    return event(
        event_id,
        seconds,
        name,
        "kms.amazonaws.com",
        identity,
        ip="ec2.amazonaws.com",
        agent="ec2.amazonaws.com",
        errorCode="AccessDenied",
        errorMessage=f"User: {ALICE_ARN} is not authorized to perform: kms:{name} on resource: {key}",
        requestParameters=params,
        resources=[{"ARN": key, "accountId": ACCOUNT, "type": "AWS::KMS::Key"}],
        readOnly=False,
    )


STOP = event(
    "stop", 0, "StopInstances", "ec2.amazonaws.com", alice(), requestParameters=instances(INSTANCE)
)
START = event(
    "start",
    60,
    "StartInstances",
    "ec2.amazonaws.com",
    alice(),
    requestParameters=instances(INSTANCE),
    responseElements={
        "instancesSet": {"items": [{"instanceId": INSTANCE, "currentState": {"name": "pending"}}]}
    },
)
GRANT = kms_denied("grant", 62, "CreateGrant", alice("ec2.amazonaws.com"), KEY_ARN, VOLUME)
DECRYPT = kms_denied("decrypt", 63, "Decrypt", alice("ec2.amazonaws.com"), KEY_ID, VOLUME)
# Noise that must not be related to START.
BOB_DESCRIBE = event(
    "bob-describe",
    30,
    "DescribeInstances",
    "ec2.amazonaws.com",
    {"type": "IAMUser", "userName": "bob", "arn": f"arn:aws:iam::{ACCOUNT}:user/bob"},
)
CAROL_DENIED = kms_denied(
    "carol-decrypt",
    61,
    "Decrypt",
    {"type": "AssumedRole", "arn": CAROL_ARN, "invokedBy": "ec2.amazonaws.com"},
    OTHER_KEY_ARN,
    "vol-0aaaaaaaaaaaaaaa1",
)
SERVICE = event(
    "svc",
    61,
    "AssumeRole",
    "sts.amazonaws.com",
    {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
    ip="ec2.amazonaws.com",
)
ALICE_LATER = event(
    "alice-later",
    2 * 3600,
    "GetObject",
    "s3.amazonaws.com",
    alice(),
    requestParameters={"bucketName": "b"},
)
HEALTHY_START = event(
    "healthy-start",
    20 * 60,
    "StartInstances",
    "ec2.amazonaws.com",
    alice(),
    requestParameters=instances("i-0a11900d000000002"),
)
# Same request as START but recorded much later in another account's trail (cross-account copy).
SHARED_COPY = event(
    "shared-copy",
    3 * 3600,
    "StartInstances",
    "ec2.amazonaws.com",
    {"type": "AWSAccount", "accountId": "444455556666"},
    request_id="req-start",
)

TIMELINE = [
    HEALTHY_START,
    DECRYPT,
    BOB_DESCRIBE,
    SHARED_COPY,
    GRANT,
    STOP,
    ALICE_LATER,
    START,
    CAROL_DENIED,
    SERVICE,
]


def test_incident_1_kms_denials_appear_next_to_start_instances() -> None:
    related = find_related(START, TIMELINE)
    ids = [item.event.event_id for item in related.items]
    assert ids == ["stop", "grant", "decrypt", "shared-copy"]  # by time
    by_id = {item.event.event_id: item for item in related.items}
    assert by_id["grant"].offset == timedelta(seconds=2)
    assert by_id["decrypt"].offset == timedelta(seconds=3)
    assert by_id["stop"].offset == timedelta(seconds=-60)
    assert Reason.PRINCIPAL in by_id["grant"].reasons
    assert by_id["grant"].event.invoked_by == "ec2.amazonaws.com"
    assert set(by_id["stop"].reasons) == {Reason.RESOURCE, Reason.PRINCIPAL}
    assert by_id["stop"].shared_resources == (INSTANCE,)
    assert by_id["shared-copy"].reasons == (Reason.REQUEST,)
    assert [item.event.event_id for item in related.errors] == ["grant", "decrypt"]
    assert [i.event.event_id for i in related.by_reason[Reason.RESOURCE]] == ["stop"]
    assert [i.event.event_id for i in related.by_reason[Reason.REQUEST]] == ["shared-copy"]
    assert [i.event.event_id for i in related.by_reason[Reason.PRINCIPAL]] == [
        "stop",
        "grant",
        "decrypt",
    ]
    for noise in ("bob-describe", "carol-decrypt", "svc", "alice-later", "healthy-start", "start"):
        assert noise not in ids


def test_kms_events_relate_through_volume_and_key_id_vs_arn() -> None:
    related = find_related(GRANT, TIMELINE)
    by_id = {item.event.event_id: item for item in related.items}
    # Decrypt names the key by ID, CreateGrant by ARN; both name the same volume.
    assert set(by_id["decrypt"].shared_resources) == {KEY_ARN, VOLUME}
    assert Reason.RESOURCE in by_id["decrypt"].reasons
    assert "carol-decrypt" not in by_id  # other key, other volume, other principal
    assert "svc" not in by_id


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (timedelta(seconds=2), ["grant", "shared-copy"]),
        (timedelta(minutes=1), ["stop", "grant", "decrypt", "shared-copy"]),
        (
            timedelta(hours=3),
            ["stop", "grant", "decrypt", "healthy-start", "alice-later", "shared-copy"],
        ),
    ],
)
def test_window_bounds_resource_and_principal_links(window: timedelta, expected: list[str]) -> None:
    related = find_related(START, TIMELINE, window=window)
    assert [i.event.event_id for i in related.items] == expected


def test_limit_keeps_the_nearest() -> None:
    many = [
        event(f"n{i}", 60 + i, "Decrypt", "kms.amazonaws.com", alice("ec2.amazonaws.com"))
        for i in range(1, 50)
    ]
    related = find_related(START, many, limit=5)
    assert related.truncated
    assert [i.event.event_id for i in related.items] == ["n1", "n2", "n3", "n4", "n5"]


def test_focal_event_and_duplicates_are_skipped() -> None:
    related = find_related(START, [START, GRANT, GRANT])
    assert [i.event.event_id for i in related.items] == ["grant"]


def test_unknown_principal_does_not_link_everything() -> None:
    anon = parse_event({"eventTime": at(60), "eventID": "a1", "eventName": "X"})
    anon2 = parse_event({"eventTime": at(61), "eventID": "a2", "eventName": "Y"})
    assert find_related(anon, [anon2]).items == ()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "±0s"), (2, "+2s"), (-3, "-3s"), (185, "+3m05s"), (-3725, "-1h02m"), (0.4, "±0s")],
)
def test_format_offset(seconds: float, text: str) -> None:
    assert format_offset(timedelta(seconds=seconds)) == text


def test_summarize_failed_service_invoked_call() -> None:
    lines = dict(summarize(GRANT))
    assert lines["Who"] == "ops-admin/alice (AssumedRole) via ec2.amazonaws.com"
    assert lines["What"] == "CreateGrant on kms.amazonaws.com in us-east-1"
    assert lines["Result"].startswith("FAILED AccessDenied: User: ")
    assert KEY_ARN in lines["Resources"]
    assert lines["When"] == "2024-05-01 09:01:02 UTC"
    assert dict(summarize(START))["Result"] == "OK"


def test_summarize_escapes_hostile_values() -> None:
    hostile = event(
        "h",
        0,
        "Get\u202eObject",
        "s3.amazonaws.com",
        {"type": "IAMUser", "userName": "eve\x1b[2J"},
        agent="[link=https://evil]cli[/link]\x1b]52;c;AAAA\x07",
        errorCode="AccessDenied",
        errorMessage="line1\nline2",
    )
    for label, value in summarize(hostile):
        assert is_display_safe(value), label
    lines = dict(summarize(hostile))
    assert "\\x1b" in lines["Who"] and "\\u202e" in lines["What"]
    assert "[link=https://evil]" in lines["From"]  # kept literally; the UI renders it as plain text
    assert "\\n" in lines["Result"]
