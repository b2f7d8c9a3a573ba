"""Findings are pure functions of loaded records: each fires on its incident and stays quiet
on the look-alikes (a start that worked, a limit not reached, REJECTs that are not one-sided)."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.test_flow_nacl import _topology
from tests.test_metrics_model import GP2, GP3, IP, M5_LARGE, VP2, VP3, fetch, spec_of
from tui.demo.seed import PRINCIPAL, start_attempt_events
from tui.models.cloudtrail import TrailEvent, parse_event
from tui.models.findings import (
    Finding,
    compute_findings,
    conversation_id,
    denial_burst_findings,
    ebs_limit_findings,
    error_rate_findings,
    explain_rejections,
    filter_value,
    return_path_findings,
    series_id,
    start_failed_findings,
    throttling_findings,
)
from tui.models.flowfilter import parse_filter
from tui.models.flowlog import FlowLogParser, FlowRecord, one_sided_conversations
from tui.models.metrics import evaluate
from tui.models.trailfilter import compile_filter
from tui.panes.metrics import series_key

T0 = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
IID = "i-0a1b2c3d4e5f60718"
TWIN = "i-0fedcba9876543210"
VOL = "vol-0a1b2c3d4e5f60718"
KEY = "arn:aws:kms:us-east-1:123456789012:key/0ec6dfcf-3d47-4d07-80e8-a62dd4d62887"


# ------------------------------------------------------------------------------- builders


def start_events(
    when: datetime, instance_id: str = IID, *, denied: bool, seed: int = 1
) -> list[TrailEvent]:
    """StartInstances and the KMS calls EC2 makes for it, as the demo (and AWS) write them."""
    raw = start_attempt_events(random.Random(seed), when, instance_id, VOL, KEY, denied=denied)
    return [parse_event(r) for r in raw]


def call(
    when: datetime,
    name: str,
    *,
    source: str = "ec2.amazonaws.com",
    user: str = "alice",
    error: str = "",
    invoked_by: str = "",
    resources: tuple[str, ...] = (),
    n: int = 0,
) -> TrailEvent:
    identity: dict[str, Any] = {
        "type": "IAMUser",
        "arn": f"arn:aws:iam::123456789012:user/{user}",
        "userName": user,
    }
    if invoked_by:
        identity["invokedBy"] = invoked_by
    raw: dict[str, Any] = {
        "eventVersion": "1.09",
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventID": f"{name}-{user}-{when.timestamp():.0f}-{n}",
        "eventName": name,
        "eventSource": source,
        "awsRegion": "us-east-1",
        "sourceIPAddress": invoked_by or "198.51.100.7",
        "userIdentity": identity,
        "resources": [{"ARN": r} for r in resources],
    }
    if error:
        raw["errorCode"] = error
        raw["errorMessage"] = f"{error} for {user}"
    return parse_event(raw)


@dataclass(frozen=True)
class Vol:
    volume_id: str
    kms_key_id: str | None


@dataclass(frozen=True)
class Inst:
    instance_id: str
    state: str
    state_reason_code: str | None = None
    state_reason_message: str | None = None
    name: str | None = None
    volumes: tuple[Vol, ...] = ()
    eni_ids: tuple[str, ...] = ()


STOPPED = Inst(
    IID,
    "stopped",
    "Client.InternalError",
    "Client.InternalError: Client error on launch",
    "app-batch-01",
    (Vol(VOL, KEY),),
)


# ------------------------------------------------------------------ incident 1: start failed


@pytest.mark.parametrize(
    ("case", "events", "instances", "fires"),
    [
        ("denied, state known", start_events(T0, denied=True), [STOPPED], True),
        ("denied, state unknown", start_events(T0, denied=True), [], True),
        (
            "two attempts, both denied",
            start_events(T0, denied=True) + start_events(T0 + timedelta(minutes=20), denied=True),
            [STOPPED],
            True,
        ),
        (
            "state reason alone (the denials fell outside the window)",
            start_events(T0, denied=False),
            [STOPPED],
            True,
        ),
        # Must not fire:
        ("start worked", start_events(T0, denied=False), [], False),
        (
            "start worked, instance running",
            start_events(T0, denied=False),
            [replace(STOPPED, state="running", state_reason_code=None)],
            False,
        ),
        (
            "denied before, fixed since: the latest start worked",
            start_events(T0, denied=True) + start_events(T0 + timedelta(minutes=30), denied=False),
            [],
            False,
        ),
        (
            "denied, but the instance runs now",
            start_events(T0, denied=True),
            [replace(STOPPED, state="running", state_reason_code=None)],
            False,
        ),
        (
            "denials 10 minutes after the start are not its doing",
            [
                *start_events(T0, denied=False),
                call(
                    T0 + timedelta(minutes=10),
                    "Decrypt",
                    source="kms.amazonaws.com",
                    error="AccessDenied",
                    invoked_by="ec2.amazonaws.com",
                ),
            ],
            [],
            False,
        ),
        (
            "someone else's unrelated denial right after the start",
            [
                *start_events(T0, denied=False),
                call(
                    T0 + timedelta(seconds=5),
                    "GetObject",
                    source="s3.amazonaws.com",
                    user="bob",
                    error="AccessDenied",
                ),
            ],
            [],
            False,
        ),
        ("a failed StartInstances (UnauthorizedOperation) is not accepted", [], [], False),
    ],
)
def test_start_failed(
    case: str, events: list[TrailEvent], instances: list[Any], fires: bool
) -> None:
    found = start_failed_findings(events, instances)
    assert bool(found) is fires, case
    if fires:
        (f,) = found
        assert f.kind == "start_failed" and f.severity == "error" and f.resource_id == IID


def test_start_failed_names_the_key_by_its_alias_and_other_keys_are_not_its_ebs_key() -> None:
    events = start_events(T0, denied=True)
    key_id = KEY.rsplit("/", 1)[1]
    (f,) = start_failed_findings(events, [STOPPED], key_aliases={key_id: "alias/batch-ebs"})
    assert f.title.endswith("kms:CreateGrant denied on alias/batch-ebs (its EBS key)")
    assert f"{KEY} (alias/batch-ebs)" in f.detail
    other = Inst(IID, "stopped", "Client.InternalError", "", "app-batch-01", (Vol(VOL, "k-2"),))
    (g,) = start_failed_findings(events, [other])
    assert "(its EBS key)" not in g.title


def test_stopped_with_internal_error_and_no_events_points_at_the_ebs_key() -> None:
    (f,) = start_failed_findings([], [STOPPED])
    assert (
        f.title
        == f"{IID} (app-batch-01) will not start (Client.InternalError): check key 0ec6dfcf…, its EBS key"
    )


def test_start_failed_names_the_denied_actions_the_key_and_the_state_reason() -> None:
    events = start_events(T0, denied=True)
    (f,) = start_failed_findings(events, [STOPPED])
    # Cause first, named as people know it: the Name tag, the denied action, the volume's key.
    assert f.title == (
        f"{IID} (app-batch-01) will not start: kms:CreateGrant denied "
        "on key 0ec6dfcf… (its EBS key)"
    )
    assert "kms:CreateGrant AccessDenied" in f.detail and "kms:Decrypt AccessDenied" in f.detail
    assert KEY in f.detail and "Client.InternalError" in f.detail and "app-batch-01" in f.detail
    assert "invoked by ec2.amazonaws.com" in f.detail
    # The call succeeds and the instance stops again: the text says both, not "succeeded ...
    # 1 failed", which reads as a contradiction mid-incident.
    assert "StartInstances by OpsAdmin/alice returned success at 10:00:00 UTC" in f.detail
    assert "yet the instance is stopped (1 attempt, 1 followed by denials)" in f.detail
    assert f.evidence[1].label == "the StartInstances call"
    # Evidence: a trail query that selects exactly the start and its denials, cursor on a denial.
    ev = f.evidence[0]
    assert ev.pane == "trail" and ev.query is not None
    shown = compile_filter(ev.query).apply(events)
    assert {e.event_name for e in shown} == {"StartInstances", "CreateGrant", "Decrypt"}
    denials = {e.event_id for e in events if e.is_error}
    assert ev.record_key in denials
    start = next(e for e in events if e.event_name == "StartInstances")
    assert f.evidence[1].record_key == start.event_id
    assert f.at == max(e.event_time for e in events if e.is_error)


def test_start_failed_links_by_the_volume_or_key_without_invoked_by() -> None:
    """Another principal's KMS error on the instance's own key counts (the key is known)."""
    start = start_events(T0, denied=False)[:1]
    other = call(
        T0 + timedelta(seconds=3),
        "CreateGrant",
        source="kms.amazonaws.com",
        user="svc",
        error="KMSInvalidStateException",
        resources=(KEY,),
    )
    assert start_failed_findings([*start, other], [replace(STOPPED, state_reason_code=None)])
    assert not start_failed_findings([*start, other], [])  # nothing ties it to the instance


def test_failed_start_call_is_not_a_start() -> None:
    failed = call(T0, "StartInstances", error="UnauthorizedOperation", resources=(IID,))
    assert start_failed_findings([failed]) == []


# --------------------------------------------------------------------- incident 2: EBS limits


def test_ebs_limits_instance_volume_and_burst() -> None:
    series = fetch(
        [
            (spec_of(IP, "EBSReadBytes"), [60e6 * 60] * 5),
            (spec_of(IP, "EBSWriteBytes"), [21.25e6 * 60] * 5),
            (spec_of(IP, "EBSByteBalance%"), [12, 4, 0, 0, 0]),
            (spec_of(VP3, "VolumeReadOps"), [2000 * 60] * 5),
            (spec_of(VP3, "VolumeWriteOps"), [1000 * 60] * 5),
            (spec_of(VP2, "VolumeReadOps"), [3000 * 60, 3000 * 60, 300 * 60, 300 * 60, 300 * 60]),
            (spec_of(VP2, "VolumeWriteOps"), [0] * 5),
            (spec_of(VP2, "BurstBalance"), [2.0, 1.5, 0.0, 0.0, 0.0]),
        ]
    )
    assessment = evaluate(M5_LARGE, [GP3, GP2], series)
    found = ebs_limit_findings(assessment, "i-1")
    kinds = {f.kind: f for f in found}
    assert set(kinds) == {"instance_ebs_limit", "volume_limit", "burst_exhausted"}
    inst = kinds["instance_ebs_limit"]
    assert inst.title == "IO at the m5.large EBS limit (81 MB/s baseline, burst exhausted)"
    assert kinds["volume_limit"].title == "IO at the volume's limit on vol-0abc (3,000 IOPS)"
    assert kinds["burst_exhausted"].title.startswith("burst balance exhausted on vol-0def")
    assert all(f.severity == "warning" for f in found)
    # Evidence: the metrics pane, the target to show, and a series row that exists.
    keys = {series_id(r.series.spec) for r in assessment.rows}
    for f in found:
        (ev,) = f.evidence
        assert ev.pane == "metrics" and ev.query == "i-1" and ev.record_key in keys
    assert found[0].kind == "instance_ebs_limit"  # the binding one first


@pytest.mark.parametrize(
    ("case", "pairs", "volumes"),
    [
        ("nothing loaded", [], [GP3]),
        ("gp3 at 50 %", [(spec_of(VP3, "VolumeReadOps"), [1500 * 60] * 5)], [GP3]),
        (
            "one spike is not a limit",
            [(spec_of(VP3, "VolumeReadOps"), [100 * 60, 100 * 60, 100 * 60, 100 * 60, 3000 * 60])],
            [GP3],
        ),
        ("gp2 with burst left", [(spec_of(VP2, "BurstBalance"), [90.0, 80.0, 70.0])], [GP2]),
    ],
)
def test_ebs_limits_do_not_fire(case: str, pairs: list[Any], volumes: list[Any]) -> None:
    assessment = evaluate(M5_LARGE, volumes, fetch(pairs)) if pairs else None
    assert ebs_limit_findings(assessment) == [], case


def test_series_id_is_the_metrics_pane_row_key() -> None:
    for spec in [*IP, *VP3, *VP2]:
        assert series_id(spec) == series_key(spec)


# --------------------------------------------------------------------- incident 3: return path

V5 = (
    "version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end "
    "action log-status flow-direction az-id"
)


def flows(*lines: str) -> list[FlowRecord]:
    parser = FlowLogParser(V5.split())
    out = []
    for line in lines:
        record = parser.feed_line(line)
        assert record is not None
        out.append(record)
    return out


def conversation(port: int, *, back: str = "REJECT", eni: str = "eni-tgwc", az: str = "use1-az3"):
    """app-web (AZ a) -> on-prem db, the answer logged on ``eni`` in ``az``."""
    t = 1_717_236_000 + port
    return [
        f"5 eni-web 10.20.1.10 192.168.100.10 {port} 5432 6 3 180 {t} {t + 5} ACCEPT OK egress use1-az1",
        f"5 {eni} 192.168.100.10 10.20.1.10 5432 {port} 6 2 120 {t + 1} {t + 6} {back} OK ingress {az}",
    ]


def analyse(records: list[FlowRecord]) -> list[Finding]:
    topo = _topology()
    convs = one_sided_conversations(records, topo.eni_az())
    return return_path_findings(convs, explain_rejections(convs, records, topo), topo)


def test_return_traffic_rejected_in_another_az_names_the_rule() -> None:
    records = flows(*conversation(40001), *conversation(40002), *conversation(40003))
    (f,) = analyse(records)
    assert f.kind == "return_rejected" and f.severity == "error"
    assert f.title == "return traffic REJECTed in us-east-1c (acl-c rule 100)"
    assert "3 conversations" in f.detail and "denied by NACL acl-c rule 100" in f.detail
    assert f.resource_id == "acl-c"
    (ev,) = f.evidence
    assert ev.pane == "flows" and ev.query is not None
    shown = [r for r in records if parse_filter(ev.query).to_predicate()(r)]
    assert shown and all(r.action == "REJECT" for r in shown)
    keys = {conversation_id(c.key) for c in one_sided_conversations(records)}
    assert ev.record_key in keys


def test_one_sided_rejects_in_the_same_az_are_a_warning() -> None:
    same_az = [
        line for port in (40001, 40002) for line in conversation(port, eni="eni-web", az="use1-az1")
    ]
    (f,) = analyse(flows(*same_az))
    assert f.kind == "one_sided_rejects" and f.severity == "warning"
    assert f.title.startswith("one-sided REJECTs between 10.20.1.10 and 192.168.100.10")


@pytest.mark.parametrize(
    ("case", "lines"),
    [
        ("all accepted", conversation(40001, back="ACCEPT") + conversation(40002, back="ACCEPT")),
        (
            "a scan: rejected inbound, never answered",
            [
                "5 eni-web 45.1.2.3 10.20.1.10 51000 22 6 1 44 1717236000 1717236005 REJECT OK ingress use1-az1",
                "5 eni-web 45.1.2.3 10.20.1.10 51001 23 6 1 44 1717236000 1717236005 REJECT OK ingress use1-az1",
            ],
        ),
        (
            "a single same-AZ one-sided conversation with no NACL reason",
            [
                "5 eni-web 10.20.1.10 8.8.8.8 40001 53 17 1 60 1717236000 1717236005 ACCEPT OK egress use1-az1",
                "5 eni-web 8.8.8.8 10.20.1.10 53 40001 17 1 90 1717236001 1717236006 REJECT OK ingress use1-az1",
            ],
        ),
    ],
)
def test_return_path_does_not_fire(case: str, lines: list[str]) -> None:
    assert analyse(flows(*lines)) == [], case


# ------------------------------------------------------------------------------------ generic


def denials(count: int, spacing: timedelta, user: str = "mallory") -> list[TrailEvent]:
    return [
        call(
            T0 + i * spacing,
            "ListSecrets",
            source="secretsmanager.amazonaws.com",
            user=user,
            error="AccessDeniedException",
            n=i,
        )
        for i in range(count)
    ]


@pytest.mark.parametrize(
    ("case", "events", "fires"),
    [
        ("6 in 2 minutes", denials(6, timedelta(seconds=20)), True),
        ("5 in 4 minutes", denials(5, timedelta(minutes=1)), True),
        ("4 in 1 minute is not a burst", denials(4, timedelta(seconds=10)), False),
        ("6 over an hour is not a burst", denials(6, timedelta(minutes=12)), False),
        (
            "5 spread over 5 principals is not a burst",
            [e for i in range(5) for e in denials(1, timedelta(0), user=f"u{i}")],
            False,
        ),
        (
            "throttling is not a denial",
            [call(T0, "DescribeInstances", error="RequestLimitExceeded", n=i) for i in range(8)],
            False,
        ),
    ],
)
def test_denial_bursts(case: str, events: list[TrailEvent], fires: bool) -> None:
    found = denial_burst_findings(events)
    assert bool(found) is fires, case
    if fires:
        (f,) = found
        assert f.kind == "denial_burst" and "mallory" in f.title
        assert f.evidence[0].query is not None
        assert compile_filter(f.evidence[0].query).apply(events)


def test_denials_explained_by_a_failed_start_are_not_a_burst_too() -> None:
    events = [
        e
        for i in range(3)
        for e in start_events(T0 + timedelta(seconds=40 * i), denied=True, seed=i)
    ]
    kinds = [f.kind for f in compute_findings(events=events)]
    assert kinds == ["start_failed"]
    assert [f.kind for f in denial_burst_findings(events)] == ["denial_burst"]


@pytest.mark.parametrize(
    ("case", "events", "fires"),
    [
        (
            "12 RequestLimitExceeded in 2 minutes",
            [
                call(
                    T0 + timedelta(seconds=10 * i),
                    "DescribeInstances",
                    error="RequestLimitExceeded",
                    n=i,
                )
                for i in range(12)
            ],
            True,
        ),
        (
            "ThrottlingException from a service",
            [
                call(
                    T0 + timedelta(seconds=5 * i),
                    "GetMetricData",
                    source="monitoring.amazonaws.com",
                    error="ThrottlingException",
                    n=i,
                )
                for i in range(10)
            ],
            True,
        ),
        (
            "9 is below the threshold",
            [
                call(
                    T0 + timedelta(seconds=5 * i),
                    "DescribeInstances",
                    error="RequestLimitExceeded",
                    n=i,
                )
                for i in range(9)
            ],
            False,
        ),
        ("denials are not throttling", denials(20, timedelta(seconds=5)), False),
    ],
)
def test_throttling(case: str, events: list[TrailEvent], fires: bool) -> None:
    assert bool(throttling_findings(events)) is fires, case


def steady(minutes: int, per_minute: int, error_every: int = 0) -> list[TrailEvent]:
    out = []
    for m in range(minutes):
        for i in range(per_minute):
            n = m * per_minute + i
            err = "InternalError" if error_every and n % error_every == 0 else ""
            out.append(
                call(T0 + timedelta(minutes=m, seconds=i), "DescribeVolumes", error=err, n=n)
            )
    return out


@pytest.mark.parametrize(
    ("case", "events", "fires"),
    [
        (
            "a spike of errors in one 5-minute bucket",
            steady(60, 10)
            + [
                call(
                    T0 + timedelta(minutes=30, seconds=i),
                    "PutObject",
                    source="s3.amazonaws.com",
                    error="InternalError",
                    n=1000 + i,
                )
                for i in range(30)
            ],
            True,
        ),
        ("no errors", steady(60, 10), False),
        ("a steady 25 % error rate is the baseline", steady(60, 10, error_every=4), False),
        (
            "a handful of errors is not a rate",
            steady(60, 10)
            + [
                call(
                    T0 + timedelta(minutes=30, seconds=i),
                    "PutObject",
                    error="InternalError",
                    n=1000 + i,
                )
                for i in range(5)
            ],
            False,
        ),
        (
            "one bucket only: nothing to compare with",
            [
                call(T0 + timedelta(seconds=i), "PutObject", error="InternalError", n=i)
                for i in range(30)
            ],
            False,
        ),
    ],
)
def test_error_rate(case: str, events: list[TrailEvent], fires: bool) -> None:
    found = error_rate_findings(events)
    assert bool(found) is fires, case
    if fires:
        assert found[0].kind == "error_rate" and "baseline" in found[0].title


# ---------------------------------------------------------------------------------- combined


def test_compute_findings_sorts_by_severity_then_time_and_deduplicates() -> None:
    records = flows(*conversation(40001), *conversation(40002))
    topo = _topology()
    convs = one_sided_conversations(records, topo.eni_az())
    events = start_events(T0, denied=True)
    series = fetch([(spec_of(VP3, "VolumeReadOps"), [3000 * 60] * 5)])
    found = compute_findings(
        events=events + events,  # loaded twice: still one finding
        instances=[STOPPED],
        assessment=evaluate(M5_LARGE, [GP3], series),
        conversations=convs,
        explanations=explain_rejections(convs, records, topo),
        topology=topo,
    )
    assert [f.kind for f in found] == ["return_rejected", "start_failed", "volume_limit"]
    assert [f.severity for f in found] == ["error", "error", "warning"]


def test_nothing_loaded_nothing_found() -> None:
    assert compute_findings() == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("alice", "alice"),
        ("Jane Doe", "Jane?Doe"),
        ('x" or name:*', "x??or?name:?"),
        ("[/admin]", "?/admin?"),
        ("", "?"),
    ],
)
def test_filter_value_never_widens_a_query(value: str, expected: str) -> None:
    assert filter_value(value) == expected
    compile_filter(f"user:{filter_value(value)}")  # always parses


def test_hostile_principal_stays_in_the_finding_as_data() -> None:
    hostile = "[link=https://evil]x[/link] [/admin]\x1b]52;c;AAAA\x07"
    events = denials(6, timedelta(seconds=5), user=hostile)
    (f,) = denial_burst_findings(events)
    assert hostile in f.title  # raw here; the UI escapes it
    assert f.evidence[0].query is not None
    assert len(compile_filter(f.evidence[0].query).apply(events)) == 6


def test_principal_arn_of_the_demo_is_the_same_principal() -> None:
    events = start_events(T0, denied=True)
    assert {e.principal_arn for e in events} == {PRINCIPAL}


@pytest.mark.parametrize(
    ("offset", "linked"),
    [
        (timedelta(seconds=-1), False),  # before the start: not caused by it
        (timedelta(0), True),
        (timedelta(minutes=2), True),
        (timedelta(minutes=5), True),  # the window's last second still counts
        (timedelta(minutes=5, seconds=1), False),
    ],
)
def test_a_start_is_linked_to_the_errors_within_its_window(offset: timedelta, linked: bool) -> None:
    """Among many other starts and errors (a day of an org trail), each start is linked to
    the errors of its own window only."""
    noise = []
    for k in range(200):  # other instances' starts and denials, hours apart
        at = T0 + timedelta(hours=2, minutes=k)
        noise.append(call(at, "StartInstances", resources=(f"i-{k:017x}",), n=k))
        noise.append(call(at, "CreateGrant", source="kms.amazonaws.com", error="AccessDenied",
                          invoked_by="ec2.amazonaws.com", n=k))  # fmt: skip
    start = call(T0, "StartInstances", resources=(IID,))
    denied = call(
        T0 + offset, "CreateGrant", source="kms.amazonaws.com", error="AccessDenied",
        invoked_by="ec2.amazonaws.com", n=999,
    )  # fmt: skip
    found = [f for f in start_failed_findings([*noise, denied, start]) if IID in f.title]
    assert bool(found) is linked


def test_the_trail_findings_are_kept_while_their_events_stay_the_same() -> None:
    """A day of an org trail takes seconds to link; metrics and flows update every few seconds,
    so the CloudTrail part is recomputed only when its events, instances or aliases change."""
    from tui.models.findings import TrailMemo

    memo = TrailMemo()
    events = start_events(T0, denied=True)
    first = [f.title for f in compute_findings(events=events, trail_key=1, memo=memo)]
    assert any(IID in t for t in first)
    # the same key says the same events: the kept answer (the events are not read again)
    assert [f.title for f in compute_findings(events=[], trail_key=1, memo=memo)] == first
    # new events, other instances: computed again
    assert compute_findings(events=[], trail_key=2, memo=memo) == []
    assert compute_findings(events=events, trail_key=2, memo=memo) == []  # key 2 is kept
    running = replace(STOPPED, state="running", state_reason_code=None)
    assert compute_findings(events=events, instances=[running], trail_key=2, memo=memo) == []
    # without a key nothing is kept
    assert compute_findings(events=events, memo=TrailMemo()) != []
