"""The CloudTrail filter language: matching, errors with columns, push-down and completion."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.models.cloudtrail import TrailEvent, parse_event
from tui.models.trailfilter import (
    FIELD_NAMES,
    FilterError,
    compile_filter,
    complete,
)

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:111122223333:key/{KEY_ID}"


def make(**overrides: Any) -> TrailEvent:
    raw: dict[str, Any] = {
        "eventVersion": "1.08",
        "eventID": "ev-start",
        "eventTime": "2024-05-01T12:00:00Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "StartInstances",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "10.1.2.3",
        "userAgent": "aws-cli/2.15.0 Python/3.11",
        "readOnly": False,
        "userIdentity": {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::111122223333:assumed-role/ops-admin/alice",
            "principalId": "AROAEXAMPLE:alice",
            "accessKeyId": "ASIAEXAMPLE",
        },
        "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0abc123456789def0"}]}},
        "recipientAccountId": "111122223333",
    }
    raw.update(overrides)
    return parse_event(raw)


START = make()
DENIED = make(
    eventID="ev-grant",
    eventSource="kms.amazonaws.com",
    eventName="CreateGrant",
    errorCode="AccessDenied",
    errorMessage="User is not authorized to perform kms:CreateGrant",
    sourceIPAddress="ec2.amazonaws.com",
    userAgent="ec2.amazonaws.com",
    readOnly=None,
    userIdentity={
        "type": "AssumedRole",
        "arn": "arn:aws:sts::111122223333:assumed-role/ops-admin/alice",
        "invokedBy": "ec2.amazonaws.com",
    },
    resources=[{"ARN": KEY_ARN}],
    requestParameters={"keyId": KEY_ID},
)
THROTTLED = make(
    eventID="ev-throttle",
    eventSource="sts.amazonaws.com",
    eventName="GetCallerIdentity",
    errorCode="ThrottlingException",
    readOnly=True,
    sourceIPAddress="2001:db8::5",
    awsRegion="eu-west-1",
    userIdentity={"type": "IAMUser", "userName": "Jane Doe", "arn": "arn:aws:iam::1:user/Jane Doe"},
    requestParameters=None,
)
SERVICE = make(
    eventID="ev-svc",
    eventSource="s3.amazonaws.com",
    eventName="PutObject",
    sourceIPAddress="s3.amazonaws.com",
    userAgent="s3.amazonaws.com",
    userIdentity={"type": "AWSService", "invokedBy": "s3.amazonaws.com"},
    readOnly=False,
    requestParameters={"bucketName": "logs"},
)
ALL = (START, DENIED, THROTTLED, SERVICE)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("", {"ev-start", "ev-grant", "ev-throttle", "ev-svc"}),
        ("error:AccessDenied*", {"ev-grant"}),
        ("error:accessdenied", {"ev-grant"}),
        ("error:*", {"ev-grant", "ev-throttle"}),
        ("error:any", {"ev-grant", "ev-throttle"}),
        ("error:none", {"ev-start", "ev-svc"}),
        ("-error:none", {"ev-grant", "ev-throttle"}),
        ("error:*Exception", {"ev-throttle"}),
        ("user:alice", {"ev-start", "ev-grant"}),
        ("user:ops-admin/alice", {"ev-start", "ev-grant"}),
        ("user:ALI*", {"ev-start", "ev-grant"}),
        ('user:"Jane Doe"', {"ev-throttle"}),
        ("user:jane", set()),
        ("name:Start*", {"ev-start"}),
        ("name:*grant", {"ev-grant"}),
        ("name:Get?allerIdentity", {"ev-throttle"}),
        ("name:[CP]*", {"ev-grant", "ev-svc"}),
        ("source:kms", {"ev-grant"}),
        ("source:kms.amazonaws.com", {"ev-grant"}),
        ("-source:sts", {"ev-start", "ev-grant", "ev-svc"}),
        ("source:s*", {"ev-throttle", "ev-svc"}),
        ("ip:10.0.0.0/8", {"ev-start"}),
        ("ip:10.1.2.3", {"ev-start"}),
        ("ip:10.1.2.4", set()),
        ("ip:192.168.0.0/16", set()),
        ("ip:2001:db8::/32", {"ev-throttle"}),
        ("ip:ec2.amazonaws.com", {"ev-grant"}),
        ("ip:*.amazonaws.com", {"ev-grant", "ev-svc"}),
        ("-ip:10.0.0.0/8", {"ev-grant", "ev-throttle", "ev-svc"}),
        ("resource:i-0abc", {"ev-start"}),
        ("resource:I-0ABC", {"ev-start"}),
        ("resource:i-0abd", set()),
        (f"resource:{KEY_ID}", {"ev-grant"}),
        ("resource:1234abcd", {"ev-grant"}),
        ("resource:arn:aws:kms:*", {"ev-grant"}),
        ("resource:*def0", {"ev-start"}),
        ("readonly:false", {"ev-start", "ev-svc"}),
        ("readonly:true", {"ev-throttle"}),
        ("-readonly:true", {"ev-start", "ev-grant", "ev-svc"}),
        ("region:eu-*", {"ev-throttle"}),
        ("id:ev-grant", {"ev-grant"}),
        ("invokedby:ec2*", {"ev-grant"}),
        ("type:AWSService", {"ev-svc"}),
        ("type:assumed*", {"ev-start", "ev-grant"}),
        ("account:111122223333", {"ev-start", "ev-grant", "ev-throttle", "ev-svc"}),
        ("account:9*", set()),
        ("accesskey:ASIA*", {"ev-start"}),
        ("agent:*python*", {"ev-start", "ev-throttle"}),
        ("createGRANT", {"ev-grant"}),
        ('"not authorized"', {"ev-grant"}),
        ("-kms", {"ev-start", "ev-throttle", "ev-svc"}),
        ("source:kms error:AccessDenied* invokedby:ec2.amazonaws.com", {"ev-grant"}),
        ("source:kms user:bob", set()),
        ("name:Start* or error:Throttling*", {"ev-start", "ev-throttle"}),
        ("name:Start* OR source:kms error:any", {"ev-start", "ev-grant"}),
        ("err:AccessDenied", {"ev-grant"}),
        ("principal:alice src:ec2", {"ev-start"}),
    ],
)
def test_matches(expr: str, expected: set[str]) -> None:
    flt = compile_filter(expr)
    assert {e.event_id for e in ALL if flt.matches(e)} == expected
    assert {e.event_id for e in flt.apply(ALL)} == expected


@pytest.mark.parametrize(
    ("expr", "column", "message_part"),
    [
        ("foo:bar", 0, "unknown field"),
        ("name:Start* bogus:1", 12, "unknown field"),
        ('user:"abc', 5, "unterminated quote"),
        ('"abc', 0, "unterminated quote"),
        ("readonly:maybe", 9, "true or false"),
        ("error:any readonly:2", 19, "true or false"),
        ("ip:10.0.0.300/8", 3, "CIDR"),
        ("ip:10.0.0.0/33", 3, "CIDR"),
        ("-", 0, "followed by a term"),
        ("name:x - y", 7, "followed by a term"),
        ("name:", 0, "missing value"),
        ("name: x", 0, "missing value"),
        ("or name:x", 0, "'or'"),
        ("name:x or", 7, "'or'"),
        ("name:x or or name:y", 10, "'or'"),
        ("name:x -or name:y", 7, "negated"),
        ('a"b', 1, "quote"),
        (":x", 0, "field name"),
        ('user:"a"b', 8, "closing quote"),
        ('user:""', 5, "empty value"),
        ('""', 0, "empty"),
        ("http://example.com", 0, "quote text"),
    ],
)
def test_errors_point_at_the_offending_token(expr: str, column: int, message_part: str) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(expr)
    assert info.value.column == column
    assert message_part in info.value.message
    # It is shown in the filter bar's one-line border: ~70 columns at 80x24, or it is cut (the
    # list of known fields is longer: the bar shows it whole in a notification too).
    if not info.value.message.startswith("unknown field"):
        assert len(f"col {column + 1}: {info.value.message}") <= 70, info.value.message


def test_quoted_values_and_escapes() -> None:
    flt = compile_filter(
        r'"arn:aws:sts::111122223333:assumed-role/ops-admin" user:"Jane \"JD\" Doe"'
    )
    texts = [(t.key, t.value) for t in flt.terms]
    assert texts == [
        ("text", "arn:aws:sts::111122223333:assumed-role/ops-admin"),
        ("user", 'Jane "JD" Doe'),
    ]


@pytest.mark.parametrize(
    ("expr", "attribute"),
    [
        ("", None),
        ("error:AccessDenied*", None),
        ("name:StartInstances", ("EventName", "StartInstances")),
        ("name:startinstances", None),  # LookupEvents is case-sensitive: never push a guess
        ("name:Start*", None),
        ("source:kms", ("EventSource", "kms.amazonaws.com")),
        ("source:KMS.amazonaws.com", ("EventSource", "kms.amazonaws.com")),
        # user: matches session and role names in any case; LookupEvents' Username is one exact,
        # case-sensitive name: pushing it loses events, so it stays local.
        ("user:alice", None),
        ("user:alice source:kms", ("EventSource", "kms.amazonaws.com")),
        ("-user:alice source:kms", ("EventSource", "kms.amazonaws.com")),
        ("user:ali* readonly:false", ("ReadOnly", "false")),
        ("readonly:yes", ("ReadOnly", "true")),
        ("resource:i-0abc", None),  # a prefix, not an identifier
        # resource: also matches IDs found in the request, which ResourceName does not list
        ("resource:i-0abc123456789def0 user:alice", None),
        (f"resource:{KEY_ARN} name:Decrypt", ("EventName", "Decrypt")),
        ("id:ev-1 resource:i-0abc123456789def0", ("EventId", "ev-1")),
        ("id:EV-1", None),  # CloudTrail writes event IDs lower-case; the API compares exactly
        ("accesskey:ASIAEXAMPLE name:Decrypt", ("AccessKeyId", "ASIAEXAMPLE")),
        ("accesskey:asiaexample name:Decrypt", ("EventName", "Decrypt")),
        ("name:StartInstances or name:StopInstances", None),
        ("user:alice name:StartInstances or user:alice name:StopInstances", None),
        (
            "source:kms name:Decrypt or source:kms name:Encrypt",
            ("EventSource", "kms.amazonaws.com"),
        ),
        ("ip:10.0.0.0/8 region:us-east-1", None),
    ],
)
def test_lookup_attribute(expr: str, attribute: tuple[str, str] | None) -> None:
    assert compile_filter(expr).lookup_attribute() == attribute


def test_pushed_attribute_never_narrows_local_result() -> None:
    # the pushed term is also one of the local terms, so local matching is unchanged
    flt = compile_filter("user:alice source:kms")
    assert flt.lookup_attribute() == ("EventSource", "kms.amazonaws.com")
    assert [e.event_id for e in flt.apply(ALL)] == ["ev-grant"]


def test_cheap_terms_evaluated_first() -> None:
    flt = compile_filter('"free text" resource:i-0 error:any readonly:true')
    keys = [t.key for t in flt.branches[0]]
    assert keys.index("readonly") < keys.index("resource") < keys.index("text")
    assert keys.index("error") < keys.index("text")


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("er", ["error:"]),
        ("-so", ["-source:"]),
        ("re", ["resource:", "readonly:", "region:"]),
        ("readonly:t", ["readonly:true"]),
        ("error:n", ["error:none"]),
        ("zzz", []),
    ],
)
def test_complete(prefix: str, expected: list[str]) -> None:
    assert complete(prefix) == expected


def test_every_field_name_compiles() -> None:
    for name in FIELD_NAMES:
        value = "true" if name == "readonly" else "x"
        assert compile_filter(f"{name}:{value}").terms[0].key == name


def _synthetic(n: int) -> list[TrailEvent]:
    rnd = random.Random(7)
    names = ["StartInstances", "StopInstances", "Decrypt", "CreateGrant", "GetObject"]
    sources = ["ec2", "ec2", "kms", "kms", "s3"]
    out = []
    for i in range(n):
        k = rnd.randrange(5)
        overrides: dict[str, Any] = {
            "eventID": f"e{i}",
            "eventName": names[k],
            "eventSource": f"{sources[k]}.amazonaws.com",
            "sourceIPAddress": rnd.choice(
                ["10.0.0.1", "10.9.9.9", "192.0.2.1", "ec2.amazonaws.com"]
            ),
            "readOnly": rnd.choice([True, False, None]),
            "userIdentity": {"type": "IAMUser", "userName": rnd.choice(["alice", "bob", "carol"])},
        }
        if rnd.random() < 0.3:
            overrides["errorCode"] = rnd.choice(["AccessDenied", "ThrottlingException"])
        out.append(make(**overrides))
    return out


@pytest.mark.parametrize(
    "expr",
    [
        "error:AccessDenied* source:kms ip:10.0.0.0/8",
        "name:Start* or user:bob -readonly:true",
        "-error:none user:a* decrypt",
        "ip:ec2* or ip:192.0.2.0/24 readonly:false",
    ],
)
def test_apply_agrees_with_matches_and_a_reference(expr: str) -> None:
    events = _synthetic(2000)
    flt = compile_filter(expr)
    fast = [e.event_id for e in flt.apply(events)]
    slow = [e.event_id for e in events if flt.matches(e)]
    assert fast == slow
    assert 0 < len(fast) < len(events)


# Hypothesis: the parser never raises anything but FilterError, and a compiled filter never
# raises while matching.
_FILTERISH = st.lists(
    st.sampled_from(
        [
            *[f"{n}:" for n in FIELD_NAMES],
            "-",
            '"',
            "'",
            " ",
            " or ",
            "*",
            "?",
            "[",
            "]",
            "\\",
            "10.0.0.0/8",
            "::1",
            "/",
            "true",
            "x",
            "é",
            "\x00",
        ]
    )
    | st.text(max_size=5),
    max_size=12,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(_FILTERISH, st.text(max_size=40)))
def test_filter_parser_only_raises_filter_error(text: str) -> None:
    try:
        flt = compile_filter(text)
    except FilterError as exc:
        assert 0 <= exc.column <= len(text)
        return
    for event in ALL:
        assert flt.matches(event) in (True, False)
    attribute = flt.lookup_attribute()
    assert attribute is None or attribute[0] in {
        "EventId",
        "ResourceName",
        "AccessKeyId",
        "Username",
        "EventName",
        "EventSource",
        "ReadOnly",
    }


# ---------------------------------------------------------------- issue 11: items 4 and 5


def _api_username(event: TrailEvent) -> str:
    """What LookupEvents' Username holds: the session name of a role, else the user name."""
    identity = event.raw.get("userIdentity") or {}
    if identity.get("type") == "AssumedRole":
        return str(identity.get("arn", "")).rpartition("/")[2]
    return str(identity.get("userName", ""))


def _api_selects(event: TrailEvent, key: str, value: str) -> bool:
    """LookupEvents' exact, case-sensitive match of one attribute (AWS's documented rule)."""
    actual = {
        "EventId": event.event_id,
        "EventName": event.event_name,
        "EventSource": event.event_source,
        "AccessKeyId": event.access_key_id,
        "ReadOnly": "" if event.read_only is None else str(event.read_only).lower(),
        "Username": _api_username(event),
    }[key]
    return actual == value


ROLE_ALICE = make(
    eventID="ev-role",
    userIdentity={
        "type": "AssumedRole",
        "arn": "arn:aws:sts::111122223333:assumed-role/alice/ci-run-42",
        "accessKeyId": "ASIAROLE",
    },
)
SESSION_CAPS = make(
    eventID="ev-caps",
    userIdentity={
        "type": "AssumedRole",
        "arn": "arn:aws:sts::111122223333:assumed-role/ops-admin/Alice",
        "accessKeyId": "ASIACAPS",
    },
)
USER_ALICE = make(
    eventID="ev-user",
    userIdentity={"type": "IAMUser", "userName": "alice", "arn": "arn:aws:iam::1:user/alice"},
)
PEOPLE = [START, DENIED, THROTTLED, SERVICE, ROLE_ALICE, SESSION_CAPS, USER_ALICE]


def test_user_is_filtered_locally_where_lookup_would_miss_role_and_case() -> None:
    flt = compile_filter("user:alice")
    local = {e.event_id for e in flt.apply(PEOPLE)}
    assert {"ev-role", "ev-caps", "ev-user", "ev-start"} <= local
    # Pushed as Username=alice, LookupEvents would have returned neither the role named alice
    # nor the session named Alice: that is why the term is not pushed.
    by_api = {e.event_id for e in PEOPLE if _api_selects(e, "Username", "alice")}
    assert not local <= by_api
    assert flt.lookup_attribute() is None


@pytest.mark.parametrize(
    "expr",
    [
        "user:alice",
        "user:Alice name:StartInstances",
        "user:ALICE source:ec2",
        "resource:i-0abc123456789def0",
        f"resource:{KEY_ID}",
        "name:StartInstances",
        "name:CreateGrant error:any",
        "source:kms",
        "source:EC2",
        "accesskey:ASIAROLE",
        "accesskey:asiarole",
        "id:ev-role",
        "id:EV-ROLE",
        "readonly:false",
        "readonly:true user:jane*",
        "user:alice name:StartInstances or user:alice name:CreateGrant",
    ],
)
def test_a_pushed_attribute_never_drops_an_event_the_filter_keeps(expr: str) -> None:
    flt = compile_filter(expr)
    local = flt.apply(PEOPLE)
    pushed = flt.lookup_attribute()
    if pushed is None:
        return
    fetched = [e for e in PEOPLE if _api_selects(e, *pushed)]
    assert {e.event_id for e in local} <= {e.event_id for e in fetched}, pushed


FORWARDED = make(eventID="ev-fwd", sourceIPAddress="81.2.69.142, 192.168.10.10")


@pytest.mark.parametrize(
    ("expr", "matches"),
    [
        ("ip:81.2.69.142", True),
        ("ip:192.168.10.10", True),
        ("ip:192.168.0.0/16", True),
        ("ip:81.2.69.0/24", True),
        ("ip:192.168.*", True),
        ("ip:81.2.*", True),
        ("ip:10.0.0.0/8", False),
        ("-ip:192.168.0.0/16", False),
        ("-ip:10.0.0.0/8", True),
    ],
)
def test_ip_matches_any_address_of_a_forwarded_chain(expr: str, matches: bool) -> None:
    assert compile_filter(expr).matches(FORWARDED) is matches


FAILED_LOGIN = make(
    eventID="ev-login",
    eventSource="signin.amazonaws.com",
    eventName="ConsoleLogin",
    errorMessage="Failed authentication",
    responseElements={"ConsoleLogin": "Failure"},
)


@pytest.mark.parametrize(
    ("expr", "matches"),
    [
        ("error:any", True),
        ("error:*", True),
        ("error:none", False),
        ("-error:any", False),
        ("-error:none", True),
        ("error:AccessDenied*", False),
    ],
)
def test_a_failure_with_only_an_error_message_is_an_error(expr: str, matches: bool) -> None:
    assert FAILED_LOGIN.error_code == "" and FAILED_LOGIN.is_error
    assert compile_filter(expr).matches(FAILED_LOGIN) is matches
    assert compile_filter(expr).apply([FAILED_LOGIN, START]).count(FAILED_LOGIN) == int(matches)
