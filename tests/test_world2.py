"""The incidents are found in a world that is not the demo's, and a healthy world gives none.

``tests/world2.py`` builds WORLD2 (another region, account, names, CIDRs, instance types, AZ
letters, NACL rule numbers; basic monitoring; the trail under a key prefix; a custom flow-log
format; decoys) and HEALTHY (the same, without the incidents), beside the demo world. Evidence
is read as the product reads it (the same AWS code paths, signed in as the world's operator)
and judged by the findings model; the headless verbs and the app are run against it too.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.apptools import wait_for
from tests.world2 import CUSTOM_FIELDS, Worlds, aws_env, run_hamari
from tui.aws.cloudtrail import stream_lookup
from tui.aws.flowlogs import stream_cloudwatch
from tui.aws.inventory import describe_instances
from tui.aws.network import load_flow_logs, load_topology
from tui.aws.ratelimit import RATES, RateLimiters
from tui.aws.session import Aws, Connection
from tui.demo.seed import DemoWorld, operator_credentials
from tui.demo.seed.spec import BUSY, SLOW
from tui.models.cloudtrail import TrailEvent
from tui.models.findings import Finding, compute_findings, explain_rejections
from tui.models.flowlog import FlowRecord, one_sided_conversations
from tui.models.network import Topology
from tui.models.timewindow import TimeWindow

ROOT = Path(__file__).resolve().parents[1]
EBS_KINDS = {"instance_ebs_limit", "volume_limit", "burst_exhausted"}


# ----------------------------------------------------------------------------------- helpers


@dataclass
class Evidence:
    events: list[TrailEvent]
    instances: list[Any]
    records: list[FlowRecord]
    topology: Topology
    findings: list[Finding]


async def _open(world: DemoWorld) -> Aws:
    fast = {("s3", "ListObjectsV2"): 500.0, ("s3", "GetObject"): 500.0}
    aws = Aws(
        Connection(
            region=world.region,
            endpoint_url=world.url,
            demo=True,
            static_credentials=operator_credentials(world.url, world),
        ),
        limiters=RateLimiters({**RATES, **fast}),
    )
    aws.backoff_base = 0
    await aws.open()
    return aws


@pytest.fixture
async def read() -> AsyncIterator[Any]:
    """``await read(world)``: the trail, instances, flow records and topology, and the findings."""
    opened: list[Aws] = []

    async def collect(world: DemoWorld) -> Evidence:
        aws = await _open(world)
        opened.append(aws)
        window = TimeWindow(world.now - timedelta(hours=3), world.now, live=False)
        events = [e async for batch in stream_lookup(aws, window) for e in batch.events]
        instances = await describe_instances(aws)
        records: list[FlowRecord] = []
        for config in await load_flow_logs(aws):
            if config.log_group:
                async for batch in stream_cloudwatch(aws, config, window):
                    records.extend(batch.records)
        topology = await load_topology(aws)
        conversations = one_sided_conversations(records, topology.eni_az())
        findings = compute_findings(
            events=events,
            instances=instances,
            conversations=conversations,
            explanations=explain_rejections(conversations, records, topology),
            topology=topology,
        )
        return Evidence(events, instances, records, topology, findings)

    yield collect
    for aws in opened:
        await aws.close()


def hamari(world: DemoWorld, verb: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``hamari <verb> …`` signed in to ``world``'s account and region, over its window."""
    return run_hamari(world, verb, *args)


# ------------------------------------------------------------------------- the world itself


def test_world2_shares_none_of_the_demos_choices(worlds: Worlds) -> None:
    demo, w2 = worlds.demo, worlds.world2
    assert (w2.region, w2.account_id) != (demo.region, demo.account_id)
    assert not set(w2.instance_ids) & set(demo.instance_ids)
    assert not set(w2.instance_types.values()) & set(demo.instance_types.values())
    assert not set(w2.subnet_cidrs.values()) & set(demo.subnet_cidrs.values())
    assert not set(w2.az_names) & set(demo.az_names) and w2.onprem_cidr != demo.onprem_cidr
    assert w2.nacl_deny_rule != demo.nacl_deny_rule and w2.kms_alias != demo.kms_alias
    assert not set(w2.instance_ids.values()) & set(demo.instance_ids.values())
    slow = w2.name_of(SLOW)
    running = sorted(n for n in w2.instance_ids if n != w2.name_of("legacy"))
    assert running[0] != slow and sorted(w2.instance_ids.values())[0] != w2.slow_instance_id
    basic = {i.name for i in w2.spec.instances if i.monitoring == 300}
    assert slow in basic and w2.name_of(BUSY) in basic and basic != set(w2.instance_ids)
    assert w2.spec.trail_prefix and not w2.log_group_v2 and not w2.log_group_v5


async def test_the_product_signed_in_to_world2_sees_world2_only(worlds: Worlds) -> None:
    """Monitoring, the trail's prefix and the custom format are what AWS reports there."""
    w2 = worlds.world2
    aws = await _open(w2)
    try:
        assert aws.region == w2.region
        reservations = await aws.call("ec2", "DescribeInstances")
        items = [i for r in reservations["Reservations"] for i in r["Instances"]]
        assert {i["InstanceId"] for i in items} == set(w2.instance_ids.values())
        monitoring = {i["InstanceId"]: i["Monitoring"]["State"] for i in items}
        assert monitoring[w2.slow_instance_id] == "disabled"
        assert monitoring[w2.web_instance_id] == "enabled"
        trails = (await aws.call("cloudtrail", "DescribeTrails"))["trailList"]
        assert [(t["Name"], t.get("S3KeyPrefix")) for t in trails] == [
            (w2.trail_name, w2.spec.trail_prefix)
        ]
        (cwl,) = [fl for fl in await load_flow_logs(aws) if fl.log_group]
        assert cwl.fields == CUSTOM_FIELDS and cwl.format_known
    finally:
        await aws.close()
    demo = await _open(worlds.demo)  # and the demo's operator, beside it, sees the demo only
    try:
        reservations = await demo.call("ec2", "DescribeInstances")
        ids = {i["InstanceId"] for r in reservations["Reservations"] for i in r["Instances"]}
        assert ids == set(worlds.demo.instance_ids.values())
    finally:
        await demo.close()


# ---------------------------------------------------------------- incidents 1 and 3, model


async def test_incidents_1_and_3_are_found_in_world2(worlds: Worlds, read: Any) -> None:
    w2 = worlds.world2
    seen = await read(w2)
    kinds = [f.kind for f in seen.findings]
    # The decoys (Lambda denied kms:Decrypt, throttled CI role, scanners) add nothing.
    assert sorted(kinds) == ["return_rejected", "start_failed"], kinds

    (start,) = [f for f in seen.findings if f.kind == "start_failed"]
    assert start.resource_id == w2.failing_instance_id
    said = f"{start.title} {start.detail}"
    assert "CreateGrant" in said and (w2.kms_key_arn in said or w2.kms_alias in said), said
    assert w2.name_of("failing") in said

    (back,) = [f for f in seen.findings if f.kind == "return_rejected"]
    other_az = w2.az_names[1]
    assert other_az in back.title and w2.nacl_id in back.title and "rule 130" in back.title
    assert back.resource_id == w2.nacl_id
    # Read in the custom format: every record has its AZ and direction, from that layout.
    ok = [r for r in seen.records if r.log_status == "OK"]
    assert ok and all(r.az_id and r.flow_direction and r.vpc_id == w2.vpc_id for r in ok)


async def test_the_healthy_world_gives_no_finding(worlds: Worlds, read: Any) -> None:
    healthy = worlds.healthy
    seen = await read(healthy)
    assert seen.findings == [], [(f.kind, f.title) for f in seen.findings]
    # Not empty-handed: the decoys are in what was read.
    lambda_denials = [
        e
        for e in seen.events
        if e.event_name == "Decrypt"
        and e.error_code == "AccessDenied"
        and "-fn-role" in e.principal_arn
    ]
    throttled = [e for e in seen.events if e.error_code == "Client.RequestLimitExceeded"]
    starts = [e for e in seen.events if e.event_name == "StartInstances"]
    scans = [r for r in seen.records if r.action == "REJECT" and r.dstport in (22, 23, 3389)]
    assert len(lambda_denials) >= 15 and len(throttled) >= 40 and len(starts) >= 3
    assert len(scans) >= 100
    assert {i.state for i in seen.instances} == {"running"}


# ---------------------------------------------------------- incident 2 on basic monitoring


@pytest.mark.parametrize(("role", "fires"), [(SLOW, True), (BUSY, False)])
async def test_ebs_limits_at_5_minute_basic_monitoring_in_world2(
    worlds: Worlds, role: str, fires: bool
) -> None:
    """The slow instance (r5.xlarge, basic monitoring) is at its limits; the busy one
    (m5.4xlarge, baseline = maximum, basic monitoring) is not: 5-minute sums read as 1-minute
    sums would put it at 5x its ~4,000 IOPS and ~110 MB/s, past its 18,750 IOPS / 593.75 MB/s."""
    from tui.aws.metrics import MetricsSource
    from tui.models.findings import ebs_limit_findings

    w2 = worlds.world2
    iid = w2.instance_ids[w2.name_of(role)]
    aws = await _open(w2)
    try:
        source = MetricsSource(aws)
        target = await source.discover(iid)
        result = await source.fetch(
            target, w2.now - timedelta(hours=1), w2.now, now=w2.now + timedelta(minutes=10)
        )
    finally:
        await aws.close()
    assert iid in target.basic_monitoring
    found = ebs_limit_findings(result.assessment, iid)
    assert bool(found) is fires, [f.title for f in found]
    if fires:
        kinds = {f.kind for f in found}
        assert "instance_ebs_limit" in kinds and "burst_exhausted" in kinds, kinds
        (inst,) = [f for f in found if f.kind == "instance_ebs_limit"]
        assert "r5.xlarge" in inst.title and "baseline" in inst.title, inst.title


# ------------------------------------------------------------------------ headless verbs


def _kms_denials_by_ec2(stdout: str) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return [e for e in events if e.get("userIdentity", {}).get("invokedBy") == "ec2.amazonaws.com"]


def _assert_world2_denials(w2: DemoWorld, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr
    denied = _kms_denials_by_ec2(done.stdout)
    assert {e["eventName"] for e in denied} == {"CreateGrant", "Decrypt"}, done.stderr
    assert len(denied) == 4  # two start attempts, two calls each
    assert {e["recipientAccountId"] for e in denied} == {w2.account_id}
    assert {e["userIdentity"]["arn"] for e in denied} == {w2.principal_arn}


def test_hamari_trail_reads_world2_from_its_bucket_and_prefix(worlds: Worlds) -> None:
    w2 = worlds.world2
    source = f"s3://{w2.trail_bucket}/{w2.spec.trail_prefix}/"
    done = hamari(w2, "trail", "--source", source, "--filter", "error:AccessDenied* source:kms")
    _assert_world2_denials(w2, done)


def test_hamari_trail_finds_the_prefix_of_a_bucket_given_without_it(worlds: Worlds) -> None:
    w2 = worlds.world2
    done = hamari(
        w2, "trail", "--source", f"s3://{w2.trail_bucket}", "--filter", "error:AccessDenied*"
    )
    _assert_world2_denials(w2, done)


def test_hamari_flows_reads_world2s_custom_format_and_names_the_other_az(worlds: Worlds) -> None:
    w2 = worlds.world2
    other_az_id = w2.az_ids[w2.az_names[1]]
    done = hamari(
        w2,
        "flows",
        "--filter",
        f"action=REJECT and addr in {w2.onprem_cidr}",
        "--explain",
        "--format",
        "ndjson",
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert rows, done.stderr
    assert {r["interface-id"] for r in rows} == {w2.tgw_eni_ids[w2.az_names[1]]}
    assert {r["az-id"] for r in rows} == {other_az_id}
    assert {r["srcaddr"] for r in rows} <= set(w2.onprem_hosts.values())
    assert all(w2.nacl_id in json.dumps(r) and "130" in json.dumps(r) for r in rows)


def test_hamari_flows_reads_world2s_s3_text_files_in_the_custom_format(worlds: Worlds) -> None:
    w2 = worlds.world2
    done = hamari(
        w2,
        "flows",
        "--source",
        f"s3://{w2.flowlogs_bucket}/{w2.spec.flow_logs[1].prefix}/",  # the flow log's destination
        "--filter",
        "action=REJECT",
        "--aggregate",
        "rejects-by-az",
        "--format",
        "table",
    )
    assert done.returncode == 0, done.stderr
    assert w2.az_ids[w2.az_names[1]] in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("tail", ["", "/vpc/AWSLogs/"])
def test_hamari_flows_reads_world2s_s3_files_from_the_bucket_or_its_awslogs_folder(
    worlds: Worlds, tail: str
) -> None:
    w2 = worlds.world2
    done = hamari(
        w2,
        "flows",
        "--source",
        f"s3://{w2.flowlogs_bucket}{tail}",
        "--filter",
        "action=REJECT",
        "--aggregate",
        "rejects-by-az",
        "--format",
        "table",
    )
    assert done.returncode == 0, done.stderr
    assert w2.az_ids[w2.az_names[1]] in done.stdout, done.stdout + done.stderr


# ------------------------------------------------------------------------------- the app


def world_app(world: DemoWorld, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Any:
    """The real app as a user of ``world`` starts it: not in demo mode, nothing seeded known.

    It signs in with the operator's credentials from the environment, to the world's region,
    through ``--endpoint-url``; its clock stands at the world's ``now``. No demo world is handed
    over, so nothing can pick the slow instance by being told which it is.
    """
    from tui.app import HamariApp
    from tui.settings import Settings

    for name, value in aws_env(world).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return HamariApp(
        Settings(region=world.region, endpoint_url=world.url, **settings), clock=lambda: world.now
    )


def _kinds(screen: Any) -> set[str]:
    return {f.kind for f in screen.findings or ()}


async def test_the_app_names_incidents_1_and_3_of_world2_with_no_key_pressed(
    worlds: Worlds, monkeypatch: pytest.MonkeyPatch
) -> None:
    w2 = worlds.world2
    app = world_app(w2, monkeypatch)
    async with app.run_test(size=(120, 36)) as pilot:
        main = app.screen
        wanted = {"start_failed", "return_rejected"}
        assert await wait_for(pilot, lambda: _kinds(main) >= wanted, 30), _kinds(main)
        titles = " | ".join(f.title for f in main.findings or ())
        assert w2.failing_instance_id in titles and w2.nacl_id in titles, titles
        assert w2.az_names[1] in titles and "rule 130" in titles, titles


async def test_the_app_names_incident_2_of_world2_on_basic_monitoring_with_no_key_pressed(
    worlds: Worlds, monkeypatch: pytest.MonkeyPatch
) -> None:
    w2 = worlds.world2
    slow, busy = w2.name_of(SLOW), w2.name_of(BUSY)
    app = world_app(w2, monkeypatch)
    async with app.run_test(size=(120, 36)) as pilot:
        main = app.screen

        def ebs() -> list[Finding]:
            return [f for f in main.findings or () if f.kind in EBS_KINDS]

        def names_slow(f: Finding) -> bool:
            return (
                f.resource_id == w2.slow_instance_id
                or slow in f.title
                or (w2.slow_instance_id in f.title)
            )

        assert await wait_for(pilot, lambda: any(names_slow(f) for f in ebs()), 30), [
            (f.resource_id, f.title) for f in ebs()
        ]
        await pilot.pause(1.0)
        wrong = [
            f.title
            for f in ebs()
            if not names_slow(f)
            and (busy in f.title or w2.instance_ids[busy] in f.title + f.resource_id)
        ]
        assert not wrong, wrong  # the busy decoy (basic monitoring) is inside its limits


async def test_the_app_finds_nothing_in_the_healthy_world(
    worlds: Worlds, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoys everywhere (Lambda denials, CI throttling, scanners, a busy basic-monitoring
    instance), every pane loaded, and the findings strip stays empty."""
    app = world_app(worlds.healthy, monkeypatch)
    async with app.run_test(size=(120, 36)) as pilot:
        main = app.screen

        def loaded() -> bool:
            return main.findings is not None and all(p.has_data() for p in main.panes)

        assert await wait_for(pilot, loaded, 30)
        await pilot.pause(6.0)  # findings are recomputed at most every 2 s after new data
        assert not main.findings, [(f.kind, f.title) for f in main.findings or ()]


def test_the_live_feeder_keeps_world2_live_in_its_own_account(worlds: Worlds) -> None:
    """A tick writes world2's metrics, flow lines (custom format) and events; the demo's
    account and region get nothing from it."""
    from tui.demo import extensions
    from tui.demo.live import LiveFeeder
    from tui.demo.seed import clients

    w2, demo = worlds.world2, worlds.demo
    before = len(extensions._events[(demo.account_id, demo.region)])
    feeder = LiveFeeder(w2.url, w2, failed_start_every=1)
    feeder.tick()
    assert feeder.errors == 0
    logs = clients(w2.url, w2.region, w2.account_id)["logs"]
    fresh = logs.filter_log_events(
        logGroupName=w2.spec.flow_logs[0].log_group,
        startTime=int(w2.now.timestamp() * 1000) + 60_000,
        limit=20,
    )["events"]
    assert fresh and all(e["message"].split()[1] == w2.account_id for e in fresh)
    assert all(len(e["message"].split()) == len(CUSTOM_FIELDS) for e in fresh)
    new = extensions._events[(w2.account_id, w2.region)]
    assert any(
        item["EventName"] == "StartInstances" and t > w2.now.timestamp() for t, _, item in new
    )
    assert len(extensions._events[(demo.account_id, demo.region)]) == before


@pytest.mark.parametrize("source", ["", "s3"])
async def test_the_pane_and_hamari_flows_read_the_same_source_the_same_way(
    worlds: Worlds, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """One planner: by default both read world2's CloudWatch Logs flow log (not its S3 copy of
    the same traffic too); given the S3 folder, both read its header-less objects in the flow
    log's custom format. The same records, counted the same, prove the same choice."""
    from collections import Counter

    w2 = worlds.world2
    where = f"s3://{w2.flowlogs_bucket}/{w2.spec.flow_logs[1].prefix}" if source else ""
    lo, hi = w2.now - timedelta(hours=2, minutes=50), w2.now - timedelta(minutes=10)

    keys = ("interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "start", "end", "bytes")

    def steady(rows: Any) -> Counter[tuple[Any, ...]]:
        """REJECTs well inside the window (the live feeder keeps adding at its end)."""
        return Counter(
            tuple(r.get(k) for k in keys)
            for r in rows
            if r.get("action") == "REJECT" and lo.timestamp() <= int(r["start"]) <= hi.timestamp()
        )

    args = ["flows", "--format", "ndjson", *(["--source", where] if where else [])]
    done = hamari(w2, *args)
    assert done.returncode == 0, done.stderr
    headless = steady(json.loads(line) for line in done.stdout.splitlines() if line.strip())
    assert headless, done.stderr

    app = world_app(w2, monkeypatch, flows_source=where or None)
    async with app.run_test(size=(120, 36)) as pilot:
        main = app.screen
        flows = main.query_one("#flows")
        label = f"s3://{w2.flowlogs_bucket}/vpc" if source else "cwl:/acme/vpc/billing"
        assert await wait_for(
            pilot, lambda: flows.counts.source == label and flows._loaded_for is not None, 40
        ), flows.counts.source
        pane = steady(r.as_dict() for r in main.flow_evidence.records)
    assert pane == headless
