"""``hamari diagnose``: the incidents found headless, each source failing alone, honest exit codes."""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.demo_fixtures import DEMO_NOW
from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
from tui.demo.server import FaultRule
from tui.headless.diagnose import (
    Collected,
    collect,
    diagnose,
    evidence_lines,
    exit_status,
    report,
    show_command,
    write_json,
    write_text,
)
from tui.models.findings import Evidence, Finding
from tui.models.timewindow import TimeWindow
from tui.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def world(worlds: Any) -> Any:
    """The demo world, seeded beside the tests' second world and a healthy one (one reset)."""
    return worlds.demo


@pytest.fixture
async def aws(world: Any, emulator: Any) -> AsyncIterator[Aws]:
    conn = Connection(
        region=world.region,
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


def _text(findings: list[Finding], c: Collected, settings: Settings) -> str:
    out = io.StringIO()
    write_text(findings, c, settings, out)
    return out.getvalue()


async def test_demo_world_names_the_kms_denial_and_the_nacl_with_evidence(
    aws: Aws, world: Any
) -> None:
    settings = Settings(region=world.region)
    c = await collect(settings, now=DEMO_NOW, aws=aws)
    assert not c.problems, c.problems
    findings = diagnose(c)
    kinds = {f.kind for f in findings}
    assert "start_failed" in kinds
    assert "return_rejected" in kinds
    assert exit_status(findings, c) == 1
    text = _text(findings, c, settings)
    # The KMS denial made on the caller's behalf is printed as evidence, with the command.
    assert "kms:CreateGrant AccessDenied" in text
    assert "via ec2.amazonaws.com" in text
    assert "show: hamari trail '--filter=" in text
    # The NACL rule that drops the return leg is named under the flow finding.
    assert "denied by NACL acl-" in text
    assert "show: hamari flows '--filter=" in text
    # Each EBS finding leads its evidence with its own series, the latest value with its unit.
    ebs = [f for f in findings if f.evidence and f.evidence[0].pane == "metrics"]
    assert len(ebs) >= 2
    firsts = set()
    for f in ebs:
        lines = evidence_lines(f, c)
        firsts.add(lines[0])
        assert re.search(r"latest [\d,.]+ (IOPS|MB/s), limit ", lines[0]), (f.title, lines)
        assert lines[0].split()[0] in f.title, (f.title, lines)  # its own volume or instance
    assert len(firsts) == len(ebs)  # not the same first line for every finding


async def test_one_source_failing_is_named_and_the_others_still_count(
    aws: Aws, world: Any, emulator: Any
) -> None:
    emulator.faults.add(FaultRule("cloudtrail", "LookupEvents", "access_denied"))
    settings = Settings(region=world.region)
    c = await collect(settings, now=DEMO_NOW, aws=aws)
    assert [p.source for p in c.problems] == ["trail"]
    assert "cloudtrail:LookupEvents" in c.problems[0].message + c.problems[0].hint
    findings = diagnose(c)
    assert "return_rejected" in {f.kind for f in findings}
    assert not c.events
    assert "NOT READ trail" in _text(findings, c, settings)


def _trail_file(path: Path, events: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps({"Records": events}))


def _event(name: str, when: datetime, **extra: Any) -> dict[str, Any]:
    event = {
        "eventVersion": "1.08",
        "eventID": f"id-{name}-{when.timestamp()}",
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventName": name,
        "eventSource": "ec2.amazonaws.com",
        "awsRegion": "eu-west-3",
        "sourceIPAddress": "10.1.2.3",
        "userAgent": "aws-cli/2",
        "userIdentity": {"type": "IAMUser", "userName": "bob", "arn": "arn:aws:iam::1:user/bob"},
    }
    event.update(extra)
    return event


def test_healthy_local_files_exit_zero(tmp_path: Path) -> None:
    when = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    _trail_file(tmp_path / "trail.json", [_event("DescribeInstances", when)])
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "f.log").write_text(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets "
        "bytes start end action log-status\n"
        "2 111122223333 eni-1 10.0.0.1 10.0.0.2 40000 443 6 3 300 1740823200 1740823260 "
        "ACCEPT OK\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui",
            "diagnose",
            "--trail-source",
            str(tmp_path / "trail.json"),
            "--flows-source",
            str(flows),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings." in done.stdout
    assert "1 events" in done.stdout and "1 flow records" in done.stdout
    # Files from 2025 were read although the window is today's last 3 h: the header says so.
    assert "local trail and flows files read whole" in done.stdout.splitlines()[0]


async def test_past_the_memory_cap_records_spill_to_the_store_and_are_all_analysed(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """As in the app, records beyond what memory keeps go to DuckDB: the REJECTed return leg
    read first (long out of memory) still makes its conversation, and nothing is said cut."""
    monkeypatch.setattr("tui.evidence.flows.MAX_RECORDS", 10)
    monkeypatch.setattr("tui.evidence.trail.STORE_ABOVE", 5)
    t0 = 1740823200
    header = (
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets "
        "bytes start end action log-status\n"
    )
    lines = [
        f"2 1 eni-1 10.0.0.1 192.168.1.1 40000 443 6 3 300 {t0} {t0 + 60} ACCEPT OK\n",
        f"2 1 eni-2 192.168.1.1 10.0.0.1 443 40000 6 3 300 {t0} {t0 + 60} REJECT OK\n",
    ]
    for i in range(38):  # newer, answered traffic
        start = t0 + 120 + i
        lines.append(
            f"2 1 eni-1 10.0.0.1 10.0.9.9 {41000 + i} 443 6 3 300 {start} {start} ACCEPT OK\n"
        )
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "f.log").write_text(header + "".join(lines))
    when = datetime.fromtimestamp(t0, UTC)
    events = [_event("DescribeInstances", when + timedelta(seconds=i)) for i in range(12)]
    _trail_file(tmp_path / "trail.json", events)
    settings = Settings(trail_source=str(tmp_path / "trail.json"), flows_source=str(flows))

    c = await collect(settings, now=when + timedelta(hours=1))

    assert c.read["flows"].startswith("40 flow records"), c.read
    assert c.read["trail"].startswith("12 events"), c.read
    assert not any("only the newest" in n or "store failed" in n for n in c.notes), c.notes
    assert [(conv.forward.src, conv.rejected) for conv in c.conversations] == [
        ("10.0.0.1", "reverse")
    ]
    assert c.flows is not None and c.flows.store is None  # closed: its temp files are gone


def test_unreadable_evidence_without_findings_exits_two(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui",
            "diagnose",
            "--trail-source",
            str(tmp_path / "missing-trail"),
            "--flows-source",
            str(flows),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert doc["findings"] == []
    assert "trail" in {p["source"] for p in doc["problems"]}


def test_json_and_text_never_carry_control_or_bidi_characters() -> None:
    hostile = "evil\x1b]52;c;ZWNobyBwd25lZA==\x07\x9b31m\u202ename[/x]"
    finding = Finding(
        kind="denial_burst",
        severity="error",
        title=f"AccessDenied burst for {hostile}",
        detail=f"by {hostile}",
        resource_id=hostile,
        evidence=(Evidence("trail", "x", query=f"user:{hostile}"),),
        at=DEMO_NOW,
    )
    window = TimeWindow(DEMO_NOW - timedelta(hours=1), DEMO_NOW, live=False)
    c = Collected(window, problems=[], notes=[f"note {hostile}"])
    settings = Settings()
    out = io.StringIO()
    write_json(report([finding], c, settings), out)
    raw = out.getvalue()
    assert json.loads(raw)["findings"][0]["title"].endswith("name[/x]")
    assert not any(ch in raw for ch in "\x1b\x07\x9b\u202e")
    text = _text([finding], c, settings)
    assert not any(ch in text for ch in "\x1b\x07\x9b\u202e")


def _shown(pane: str, query: str) -> Finding:
    """A finding with one piece of evidence: what ``show_command`` reads."""
    return Finding("x", "info", "t", "d", "", (Evidence(pane, "x", query=query),))  # type: ignore[arg-type]


def test_show_command_quotes_a_filter_that_starts_with_a_dash() -> None:
    finding = _shown("trail", "-source:ec2 error:any")
    window = TimeWindow(DEMO_NOW - timedelta(hours=1), DEMO_NOW, live=False)
    cmd = show_command(finding, Settings(profile="prod"), window)
    assert cmd.startswith("hamari trail '--filter=-source:ec2 error:any' --profile prod --since ")


def test_diagnose_does_not_import_textual() -> None:
    code = (
        "import sys, tui.cli as c; c._load_verbs(['diagnose']); import tui.headless.diagnose;"
        "import tui.aws.flowsources, tui.models.findings;"
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------ a world that is not the demo


def _diagnose_in(world: Any, *args: str) -> subprocess.CompletedProcess[str]:
    from tests.world2 import run_hamari

    return run_hamari(world, "diagnose", *args, timeout=180)


def test_world2_three_incidents_named_with_their_causes_exit_one(worlds: Any) -> None:
    w2 = worlds.world2
    done = _diagnose_in(w2, "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert doc["problems"] == [], doc["problems"]
    kinds = {f["kind"] for f in doc["findings"]}
    assert "start_failed" in kinds
    assert "return_rejected" in kinds
    ebs = [f for f in doc["findings"] if f["kind"] in ("instance_ebs_limit", "volume_limit")]
    assert ebs, kinds
    # The slow instance is named (its Name tag), not the busy decoy that sorts first.
    assert any(
        w2.slow_instance_id in f["resource"] or w2.slow_instance_id in f["title"] for f in ebs
    )
    assert all("m5.4xlarge" not in f["title"] for f in ebs)
    # Each finding says how to see it.
    assert all(f["show"].startswith("hamari ") for f in doc["findings"])


def test_healthy_world_exits_zero_with_nothing_found(worlds: Any) -> None:
    done = _diagnose_in(worlds.healthy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings." in done.stdout


def test_evidence_is_listed_for_the_first_findings_and_each_keeps_its_show_command(
    monkeypatch: Any,
) -> None:
    """Each finding's evidence is a search over every loaded event: thousands of findings over
    a day of an org trail took 12 minutes. Past the first few, the show: command stands in."""
    from tui.headless import diagnose as d

    monkeypatch.setattr(d, "EVIDENCE_FINDINGS", 2)
    from tui.models.cloudtrail import parse_event

    events = [parse_event(_event("ListSecrets", DEMO_NOW - timedelta(minutes=i))) for i in range(3)]
    findings = [
        Finding(
            "x", "warning", f"finding {i}", "d", "", (Evidence("trail", "x", "name:ListSecrets"),)
        )
        for i in range(4)
    ]
    window = TimeWindow(DEMO_NOW - timedelta(hours=1), DEMO_NOW, live=False)
    c = Collected(window, problems=[], notes=[])
    c.events = events
    text = _text(findings, c, Settings())
    assert "evidence is listed for the first 2" in text
    assert text.count("  evidence:") == 2 and text.count("  show: ") == 4
    doc = report(findings, c, Settings())
    assert [bool(f["evidence"]) for f in doc["findings"]] == [True, True, False, False]
    assert doc["findings"][3]["evidence"] is None and doc["findings"][3]["show"]


async def test_past_the_threshold_trail_events_are_inserted_as_they_arrive(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Past the store threshold the evidence buffers events for a query to insert; diagnose
    has no query until the end, and held every event (6.9 GB at its peak for 1M)."""
    from tui.models.trailstore import TrailStore

    monkeypatch.setattr("tui.evidence.trail.STORE_ABOVE", 5)
    monkeypatch.setattr("tui.headless.diagnose.STORE_FLUSH", 10)
    held: list[int] = []
    flush = TrailStore.flush

    def counting(self: TrailStore) -> None:
        held.append(self.buffered)
        flush(self)

    monkeypatch.setattr(TrailStore, "flush", counting)
    when = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    for part in range(6):
        evs = [
            _event("DescribeInstances", when + timedelta(seconds=part * 10 + i)) for i in range(8)
        ]
        _trail_file(tmp_path / f"t{part}.json", evs)
    trail = tmp_path / "trail"
    trail.mkdir()
    for f in tmp_path.glob("t*.json"):
        f.rename(trail / f.name)
    flows = tmp_path / "f.log"
    flows.write_text("version account-id interface-id srcaddr dstaddr srcport dstport protocol\n")
    settings = Settings(trail_source=str(trail), flows_source=str(flows))
    c = await collect(settings, now=when + timedelta(hours=1))
    assert c.read["trail"].startswith("48 events"), c.read
    assert max(held) <= 10 + 8  # never more than a flush's worth and one file
    assert len([h for h in held if h]) >= 3  # inserted during the load, not all at the end


async def test_a_local_folder_read_by_worker_processes_gives_the_same_report(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Big local folders are read by worker processes (as the pane reads them); what diagnose
    collects is the same as from the thread reader: counts, events, the window kept."""
    from tui.aws import trailfiles

    monkeypatch.setattr("tui.evidence.trail.STORE_ABOVE", 2)  # both routes store
    when = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    trail = tmp_path / "trail"
    trail.mkdir()
    for part in range(5):
        evs = [
            _event("DescribeInstances" if i % 4 else "ListSecrets", when + timedelta(minutes=part * 30 + i),
                   errorCode="" if i % 4 else "AccessDenied")
            for i in range(12)
        ]  # fmt: skip
        _trail_file(trail / f"t{part}.json", evs)
    flows = tmp_path / "f.log"
    flows.write_text("version account-id interface-id srcaddr dstaddr srcport dstport protocol\n")
    settings = Settings(
        trail_source=str(trail), flows_source=str(flows), since="2025-03-01T10:20Z",
        until="2025-03-01T12:00Z",
    )  # fmt: skip

    async def collected() -> tuple[Any, ...]:
        c = await collect(settings, now=when + timedelta(hours=3))
        return c.read["trail"], sorted(e.key for e in c.events), c.trail_totals

    from tui.models.trailstore import TrailStore

    chunks: list[int] = []
    add_chunk = TrailStore.add_chunk
    monkeypatch.setattr(
        TrailStore,
        "add_chunk",
        lambda self, chunk: chunks.append(chunk.rows) or add_chunk(self, chunk),
    )
    thread = await collected()
    assert not chunks
    monkeypatch.setattr(trailfiles, "WORKERS_ABOVE", 0)
    workers = await collected()
    assert chunks  # the workers' store rows
    assert workers == thread
    assert thread[0].startswith("37 events"), thread  # 23 of 60 fall outside the window


@pytest.mark.parametrize(
    ("records", "azs", "said"),
    [
        (1, ("use1-az2",), "(1 record, seen in use1-az2)"),
        (2, ("use1-az6",), "(2 records, seen in use1-az6)"),
        (3, (), "(3 records, seen in ?)"),
    ],
)
def test_a_conversation_leg_counts_its_records_in_words(
    records: int, azs: tuple[str, ...], said: str
) -> None:
    from types import SimpleNamespace

    from tui.headless.diagnose import _leg_line

    leg = SimpleNamespace(
        src="10.0.0.1", srcport=40000, dst="10.0.1.1", dstport=5432, records=records, azs=azs
    )
    assert _leg_line(leg, rejected=records == 1) == (
        f"10.0.0.1:40000 -> 10.0.1.1:5432 {'REJECT' if records == 1 else 'ACCEPT'} {said}"
    )


def _denials(path: Path) -> Path:
    """Twelve AccessDenied for alice in a 2024 trail file, three of them in one second."""
    base = {
        "eventVersion": "1.08",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": "us-east-1",
        "recipientAccountId": "123456789012",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice"},
        "errorCode": "AccessDenied",
    }
    records = [
        base | {"eventTime": f"2024-05-01T12:00:{i:02d}Z", "eventID": f"e{i}"} for i in range(9)
    ]
    records += [base | {"eventTime": "2024-05-01T12:00:30Z", "eventID": f"s{i}"} for i in range(3)]
    path.write_text(json.dumps({"Records": records}))
    return path


def test_a_local_files_show_command_shows_the_evidence(tmp_path: Path) -> None:
    """Local files are read whole, but each `show:` command carried the default 3-hour window
    (--since/--until of today): run as printed, it showed none of a past incident's events.
    The evidence said "the newest 5" over fewer lines: calls in one second were folded uncounted.
    """
    trail = _denials(tmp_path / "trail.json")
    flows = tmp_path / "f.log"
    flows.write_text("2 111122223333 eni-1 10.0.0.1 10.0.0.2 40000 443 6 3 300 1 2 ACCEPT OK\n")
    done = subprocess.run(
        [sys.executable, "-m", "tui", "diagnose", "--trail-source", str(trail),
         "--flows-source", str(flows)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "    2024-05-01T12:00:30Z ec2:DescribeInstances AccessDenied by alice (3 times)\n" in (
        done.stdout
    )
    (show,) = [line.split("show: ", 1)[1] for line in done.stdout.splitlines() if "show: " in line]
    argv = shlex.split(show)
    assert argv[0] == "hamari" and "--since" not in argv
    shown = subprocess.run(
        [sys.executable, "-m", "tui", *argv[1:]], capture_output=True, text=True, timeout=60,
        cwd=ROOT,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert len(shown.stdout.splitlines()) == 12, shown.stderr


@pytest.mark.parametrize(
    ("pane", "sources", "windowed"),
    [
        ("trail", {"trail_source": "/logs/trail"}, False),
        ("trail", {"trail_source": "/logs/trail", "since": "2h"}, True),
        ("trail", {"trail_source": "/logs/trail", "until": "2026-11-28T10:00Z"}, True),
        ("trail", {"trail_source": "s3://bucket/AWSLogs/"}, True),
        ("trail", {}, True),  # LookupEvents
        ("flows", {"flows_source": "/logs/flows"}, False),
        ("flows", {"flows_source": "/logs/flows", "since": "1d"}, True),
        ("flows", {"flows_source": "cwl:/vpc/flow-logs"}, True),
        ("flows", {"trail_source": "/logs/trail"}, True),  # flows from AWS, trail local
    ],
)
def test_show_command_carries_the_window_unless_local_files_were_read_whole(
    pane: str, sources: dict[str, str], windowed: bool
) -> None:
    finding = _shown(pane, "action=REJECT" if pane == "flows" else "error:any")
    window = TimeWindow(DEMO_NOW - timedelta(hours=1), DEMO_NOW, live=False)
    argv = shlex.split(show_command(finding, Settings(**sources), window))
    assert argv[1] == pane
    assert ("--since" in argv and "--until" in argv) is windowed, argv


_GOOD_FLOWS = "2 111122223333 eni-1 10.0.0.1 10.0.0.2 40000 443 6 3 300 1 2 ACCEPT OK\n"
_GOOD_TRAIL = json.dumps(
    {"Records": [{"eventTime": "2024-05-01T12:00:00Z", "eventID": "a", "eventName": "X",
                  "eventSource": "ec2.amazonaws.com"}]}
)  # fmt: skip


@pytest.mark.parametrize(
    ("trail", "flows", "not_read"),
    [
        ('{"Records": [' + "[" * 50_000 + "]" * 50_000 + "]}", _GOOD_FLOWS, {"trail"}),
        ("", _GOOD_FLOWS, {"trail"}),  # an empty file
        (_GOOD_TRAIL, "not a flow log\n", {"flows"}),
        ('{"Records": []}', "", {"trail", "flows"}),
        (_GOOD_TRAIL, _GOOD_FLOWS, set()),
    ],
    ids=["deep-trail", "empty-trail", "bad-flows", "both", "healthy"],
)
def test_local_files_of_which_nothing_could_be_read_are_not_called_healthy(
    tmp_path: Path, trail: str, flows: str, not_read: set[str]
) -> None:
    """A trail file nested too deeply and a flow file that holds no record: "No findings.",
    exit 0, the same as a healthy account (and the trail file's reason was not shown)."""
    (tmp_path / "trail.json").write_text(trail)
    (tmp_path / "flows.log").write_text(flows)
    done = subprocess.run(
        [sys.executable, "-m", "tui", "diagnose", "--trail-source", str(tmp_path / "trail.json"),
         "--flows-source", str(tmp_path / "flows.log"), "--format", "json"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    doc = json.loads(done.stdout)
    assert done.returncode == (2 if not_read else 0), done.stdout + done.stderr
    assert {p["source"] for p in doc["problems"]} == not_read
    for p in doc["problems"]:
        assert p["message"].startswith("nothing could be read: ") and p["hint"]
    if "trail" in not_read:  # the file's own reason, not only a count
        assert any(
            n.startswith(f"trail: not read: {tmp_path / 'trail.json'}: ") for n in doc["notes"]
        )


def test_more_skipped_than_listed_says_which_command_names_them_all(tmp_path: Path) -> None:
    folder = tmp_path / "trail"
    folder.mkdir()
    (folder / "ok.json").write_text(_GOOD_TRAIL)
    for i in range(12):
        (folder / f"empty-{i:02d}.json").write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "tui", "diagnose", "--trail-source", str(folder),
         "--flows-source", str(tmp_path / "f.log"), "--format", "json"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    notes = json.loads(done.stdout)["notes"]
    named = [n for n in notes if n.startswith("trail: not read: ")]
    assert len(named) == 10, notes
    assert f"trail: more was skipped than is listed here: `hamari trail --source {folder}`" in (
        "\n".join(notes)
    )


@pytest.mark.parametrize(
    ("flows_source", "problem", "says"),
    [
        (None, True, "name the source: --flows-source cwl:LOG_GROUP"),
        ("/nonexistent-flows/", False, "reading /nonexistent-flows/ as you named it"),
    ],
)
async def test_flow_logs_not_listed_is_not_none_exist_and_advises_by_the_source_named(
    aws: Aws, world: Any, emulator: Any, flows_source: str | None, problem: bool, says: str
) -> None:
    """DescribeFlowLogs refused: never "no flow log is enabled" nor "enable VPC flow logs";
    --flows-source is suggested only to a user who has not passed it."""
    from tui.headless.diagnose import _flows

    emulator.faults.add(FaultRule("ec2", "DescribeFlowLogs", "access_denied"))
    settings = Settings(region=world.region, flows_source=flows_source)
    c = Collected(settings.window(DEMO_NOW))
    await _flows(aws, settings, c, c.window, None)
    said = " | ".join(c.notes + [p.message + " " + p.hint for p in c.problems])
    assert "no flow log is enabled" not in said and "enable VPC flow logs" not in said, said
    assert says in said, said
    assert ("--flows-source" in said) is (flows_source is None), said
    listed = [p.message for p in c.problems if "could not be listed" in p.message]
    assert len(listed) == problem, c.problems
