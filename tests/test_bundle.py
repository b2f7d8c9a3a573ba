"""The incident bundle, pure: round trip, versioning, and clear errors on anything else."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tui.models.bundle import (
    FORMAT,
    VERSION,
    Bundle,
    BundleError,
    MetricsSnapshot,
    dumps,
    encode,
    load,
    loads,
    save,
    to_document,
)
from tui.models.cloudtrail import parse_event
from tui.models.findings import Evidence, Finding
from tui.models.flowlog import FlowLogParser
from tui.models.inventory import InstanceInfo, VolumeInfo
from tui.models.metrics import MetricSpec, Series
from tui.models.network import EniInfo, FlowLogConfig, NaclEntry, SubnetInfo, Topology
from tui.models.timewindow import TimeWindow

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
V5 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status az-id"
)


def sample() -> Bundle:
    events = tuple(
        parse_event(
            {
                "eventTime": (NOW - timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "eventID": f"ev-{m}",
                "eventName": name,
                "eventSource": "kms.amazonaws.com",
                "errorCode": err,
                "userAgent": "[link=https://evil]cli[/link]",
                "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/R/a"},
            }
        )
        for m, name, err in ((5, "StartInstances", None), (4, "CreateGrant", "AccessDenied"))
    )
    parser = FlowLogParser(V5.split())
    start = int((NOW - timedelta(minutes=3)).timestamp())
    lines = [
        f"5 1 eni-a 10.0.1.5 192.168.0.9 40000 5432 6 3 180 {start} {start + 60} ACCEPT OK use1-az1",
        f"5 1 eni-b 192.168.0.9 10.0.1.5 5432 40000 6 3 180 {start + 1} {start + 61} REJECT OK "
        "use1-az6",
    ]
    flows = tuple(r for r in (parser.feed_line(x) for x in lines) if r is not None)
    default = FlowLogParser().feed_line(
        f"2 1 eni-c 10.0.0.1 10.0.0.2 1 22 6 1 40 {start} {start + 5} ACCEPT OK"
    )
    assert default is not None
    spec = MetricSpec(
        "AWS/EBS",
        "VolumeReadOps",
        (("VolumeId", "vol-1"),),
        "Sum",
        "iops",
        "vol-1 read",
        limit="volume_iops",
        combine="ops",
    )
    stamps = tuple(NOW - timedelta(minutes=5 - i) for i in range(5))
    series = Series(spec, stamps, (1.0, None, 3.5, 4.0, 5.0), unit="IOPS", period=60)
    topology = Topology(
        enis={
            "eni-a": EniInfo(
                "eni-a",
                "i-1",
                "subnet-a",
                "vpc-1",
                "us-east-1a",
                "use1-az1",
                ("10.0.1.5",),
                None,
                "web",
                "interface",
                ("sg-1",),
            )
        },
        subnets={
            "subnet-a": SubnetInfo(
                "subnet-a", "vpc-1", "10.0.1.0/24", "us-east-1a", "use1-az1", "acl-1", "app-a"
            )
        },
        nacls={"acl-1": (NaclEntry(100, True, "deny", "10.0.3.0/24", "-1"),)},
        names={"i-1": "app-web-01"},
        flow_logs=(FlowLogConfig("fl-1", "vpc-1", "cloud-watch-logs", "/vpc/fl", None),),
        vpcs={"vpc-1": "10.0.0.0/16"},
        az_names={"use1-az1": "us-east-1a"},
    )
    instance = InstanceInfo(
        "i-1",
        "app-web-01",
        "m5.large",
        "stopped",
        "Client.InternalError",
        "Client.InternalError: Client error on launch",
        None,
        "us-east-1a",
        "subnet-a",
        "vpc-1",
        "10.0.1.5",
        None,
        ("sg-1",),
        (VolumeInfo("vol-1", "/dev/xvda", "gp3", 8, 3000, 125, True, "arn:key/1", "in-use"),),
        ("eni-a",),
        "2026-11-28T09:00:00+00:00",
        True,
        raw={"InstanceId": "i-1", "LaunchTime": NOW},
    )
    finding = Finding(
        "start_failed",
        "error",
        "StartInstances accepted, but i-1 returned to stopped",
        "KMS denied CreateGrant",
        "i-1",
        (Evidence("trail", "KMS denials", "error:AccessDenied*", "ev-4", NOW),),
        NOW,
    )
    return Bundle(
        saved_at=NOW,
        window=TimeWindow(NOW - timedelta(hours=3), NOW, live=True),
        focus="i-1",
        time_cursor=NOW - timedelta(minutes=4),
        utc=False,
        source={"account": "123456789012", "region": "us-east-1", "demo": True},
        queries={"trail": {"filter": "source:kms", "errors_only": True}},
        trail_events=events,
        flow_records=(*flows, default),
        topology=topology,
        metrics=MetricsSnapshot(
            kind="volume",
            resource_id="vol-1",
            volumes=({"VolumeId": "vol-1", "VolumeType": "gp3", "Iops": 3000},),
            specs=(spec,),
            series=(series,),
            start=stamps[0],
            end=NOW,
            verdict="no limit reached",
            limits=({"series": "vol-1 read", "limit": 3000.0, "saturated": False},),
        ),
        instances=(instance,),
        findings=(finding,),
        hamari_version="0.1.0",
    )


def test_round_trip_keeps_every_record(tmp_path: Path) -> None:
    bundle = sample()
    path = save(tmp_path / "b.json.gz", bundle)
    assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    assert path.stat().st_mode & 0o777 == 0o600
    again = load(path)
    assert again.window == TimeWindow(bundle.window.start, bundle.window.end, live=False)
    assert (again.focus, again.time_cursor, again.utc) == ("i-1", bundle.time_cursor, False)
    assert again.source == bundle.source and again.queries == bundle.queries
    assert [e.event_id for e in again.trail_events] == ["ev-4", "ev-5"]  # newest first
    assert again.trail_events[0].raw == bundle.trail_events[1].raw
    assert again.trail_events[0].error_code == "AccessDenied"
    assert sorted(r.raw for r in again.flow_records) == sorted(r.raw for r in bundle.flow_records)
    assert {r.FORMAT for r in again.flow_records} == {r.FORMAT for r in bundle.flow_records}
    assert again.topology == bundle.topology
    assert again.metrics == bundle.metrics
    assert again.metrics is not None and again.metrics.series[0].values[1] is None
    assert again.instances == bundle.instances
    assert again.instances[0].raw["LaunchTime"] == NOW
    assert again.findings == bundle.findings
    assert again.version == VERSION


def test_empty_bundle_round_trips() -> None:
    bundle = Bundle(saved_at=NOW, window=TimeWindow(NOW - timedelta(minutes=15), NOW, live=False))
    again = loads(dumps(bundle))
    assert again.trail_events == () and again.metrics is None and again.topology is None


def test_plain_json_is_accepted() -> None:
    doc = to_document(sample())
    again = loads(json.dumps(doc).encode())
    assert len(again.trail_events) == 2


def _doc_bytes(**changes: object) -> bytes:
    doc = json.loads(json.dumps(to_document(sample())))
    doc.update(changes)
    return gzip.compress(json.dumps(doc).encode(), mtime=0)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "not JSON"),
        (b"\x1f\x8bgarbage", "gzip data is damaged"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a hamari bundle"),
        (json.dumps({"format": "other", "version": 1}).encode(), "not a hamari bundle"),
        (_doc_bytes(version=VERSION + 1), "newer than this hamari reads"),
        (_doc_bytes(version="1"), "version '1' is unknown"),
        (_doc_bytes(version=0), "version 0 is unknown"),
        (_doc_bytes(window={"start": 1}), "window.start"),
        (_doc_bytes(trail={"events": [{"eventName": "x"}]}), "trail.events[0]"),
        (_doc_bytes(flows={"groups": [{"format": ["version"], "lines": ["a b c"]}]}), "flows"),
        (_doc_bytes(instances=[{"instance_id": "i-1"}]), "instances[0]"),
        (_doc_bytes(findings=[{"kind": "x", "severity": "fatal"}]), "findings[0]"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_malformed_input_is_one_clear_error(data: bytes, expected: str) -> None:
    with pytest.raises(BundleError) as info:
        loads(data)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_load_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"cannot read the bundle .*missing\.json"):
        load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "hamari-bundle", "version": 99}')
    with pytest.raises(BundleError, match=r"bad.json' cannot be replayed: it is a version 99"):
        load(bad)


def test_document_is_versioned_and_readable() -> None:
    doc = to_document(sample())
    assert doc["format"] == FORMAT and doc["version"] == VERSION
    assert doc["flows"]["groups"][0]["format"][0] == "version"
    assert doc["metrics"]["verdict"] == "no limit reached"
    assert doc["trail"]["events"][0]["eventID"] in {"ev-4", "ev-5"}


def test_the_data_layer_stays_ui_free() -> None:
    import subprocess
    import sys

    code = "import sys, tui.models.bundle; print('textual' in sys.modules, 'rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def _shown_by_replay(bundle: Bundle) -> tuple[int, int]:
    """What a replay shows: the events and flow records its window contains (tui/screens/main)."""
    window = bundle.window
    lo, hi = window.start.timestamp(), window.end.timestamp()
    events = [e for e in bundle.trail_events if window.contains(e.event_time)]
    records = [r for r in bundle.flow_records if r.start is None or lo <= r.start <= hi]
    return len(events), len(records)


def test_a_bundle_saved_with_n_events_replays_n() -> None:
    # A live window slid between the load and ctrl+s: the oldest events and flows lie before
    # its start (the demo saved 432 events and replayed 431).
    bundle = sample()
    slid = TimeWindow(NOW - timedelta(minutes=2), NOW + timedelta(minutes=1), live=False)
    bundle = Bundle(
        saved_at=NOW,
        window=slid,
        trail_events=bundle.trail_events,
        flow_records=bundle.flow_records,
    )
    assert _shown_by_replay(bundle) == (0, 0)
    again = loads(dumps(bundle))
    assert _shown_by_replay(again) == (len(bundle.trail_events), len(bundle.flow_records))
    assert again.window.start <= min(e.event_time for e in bundle.trail_events)
    assert again.window.end == slid.end and not again.window.live


def test_a_bundle_written_before_the_fix_is_widened_on_load() -> None:
    bundle = sample()
    doc = to_document(bundle)
    later = NOW + timedelta(minutes=1)
    doc["window"] = {"start": encode(later), "end": encode(later + timedelta(hours=3))}
    again = loads(gzip.compress(json.dumps(doc).encode()))
    assert _shown_by_replay(again) == (len(bundle.trail_events), len(bundle.flow_records))


def test_events_sharing_an_event_id_all_replay() -> None:
    shared = [
        parse_event(
            {
                "eventTime": "2026-11-28T09:59:00Z",
                "eventID": "same",
                "eventName": name,
                "eventSource": "ec2.amazonaws.com",
            }
        )
        for name in ("StartInstances", "StopInstances")
    ]
    bundle = Bundle(
        saved_at=NOW,
        window=TimeWindow(NOW - timedelta(hours=1), NOW, live=False),
        trail_events=tuple(shared),
    )
    again = loads(dumps(bundle))
    assert sorted(e.event_name for e in again.trail_events) == ["StartInstances", "StopInstances"]
    assert len({e.key for e in again.trail_events}) == 2
