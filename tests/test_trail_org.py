"""Organization trails (issue 14 item 2): ``AWSLogs/o-…/ACCOUNT/CloudTrail/REGION/…`` in one bucket.

The account and region folders hamari lists are chosen from the window (day folders) and the
filter's ``account:``/``region:`` terms before anything is listed; these tests capture the
ListObjectsV2 prefixes hamari builds (what AWS would receive), not only the events that come
back. The objects are read several at a time, handed over in the listing's order, with progress.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.awstools import emulator_door, sent_requests
from tui.aws.cloudtrail import S3_PARALLEL, S3Progress, TrailBatch, stream_s3
from tui.aws.errors import NotFoundError
from tui.aws.session import DEMO_CREDENTIALS, Aws
from tui.models.cloudtrail import parse_event
from tui.models.timewindow import TimeWindow
from tui.models.trailfilter import compile_filter

pytest_plugins = ["tests.demo_fixtures"]

SESSION_REGION = "ca-central-1"  # the session's region: no org file is there
ORG = "o-a1b2c3d4e5"
ACCOUNTS = {  # member account -> region folders its trail files are in
    "111111111111": ("eu-west-1",),
    "222222222222": ("us-east-1", "eu-west-1"),
    "333333333333": ("ap-southeast-2",),
}
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)  # S3 keeps any age: a fixed past window
WINDOW = TimeWindow(T0, T0 + timedelta(hours=2), live=False)
DAY = f"{T0:%Y/%m/%d}"


def _s3(emulator: Any) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=emulator.url,
        region_name="us-east-1",
        aws_access_key_id=DEMO_CREDENTIALS[0],
        aws_secret_access_key=DEMO_CREDENTIALS[1],
    )


def _record(account: str, region: str, when: datetime, name: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.10",
        "eventTime": f"{when:%Y-%m-%dT%H:%M:%SZ}",
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "eventID": str(uuid.uuid4()),
        "awsRegion": region,
        "recipientAccountId": account,
        "userIdentity": {"type": "AssumedRole", "accountId": account},
    }


def _key(root: str, account: str, region: str, when: datetime) -> str:
    stamp = f"{when + timedelta(minutes=5):%Y%m%dT%H%M}Z"
    return (
        f"{root}{account}/CloudTrail/{region}/{when:%Y/%m/%d}/"
        f"{account}_CloudTrail_{region}_{stamp}_{uuid.uuid4().hex[:16]}.json.gz"
    )


@pytest.fixture
def org_bucket(emulator: Any) -> str:
    """An org trail's bucket under key prefix ``central/``: three accounts, four region folders,
    two files per folder (a digest beside them), and an account folder from another day only."""
    bucket = f"org-{uuid.uuid4().hex[:12]}"
    s3 = _s3(emulator)
    s3.create_bucket(Bucket=bucket)
    root = f"central/AWSLogs/{ORG}/"
    for account, regions in ACCOUNTS.items():
        for region in regions:
            for minutes in (10, 70):
                when = T0 + timedelta(minutes=minutes)
                body = {"Records": [_record(account, region, when, f"Describe{minutes}")]}
                key = _key(root, account, region, when)
                s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(json.dumps(body).encode()))
            digest = f"{root}{account}/CloudTrail-Digest/{region}/{DAY}/digest.json.gz"
            s3.put_object(Bucket=bucket, Key=digest, Body=b"{}")
    return bucket


@pytest.fixture
async def aws(emulator: Any) -> AsyncIterator[Aws]:
    door = emulator_door(emulator, SESSION_REGION)
    await door.open()
    yield door
    await door.close()


async def _read(aws: Aws, uri: str, text: str = "") -> tuple[list[str], list[TrailBatch]]:
    """The ListObjectsV2 prefixes hamari sent (delimiter listings marked ``/``) and the batches."""

    async def run() -> list[TrailBatch]:
        return [b async for b in stream_s3(aws, uri, WINDOW, compile_filter(text))]

    requests, batches = await sent_requests(aws, "s3", "ListObjectsV2", run)
    prefixes = [("/ " if r.get("Delimiter") else "") + r.get("Prefix", "") for r in requests]
    return prefixes, batches


def _objects(prefixes: list[str]) -> list[str]:
    """Object listings (no delimiter), relative to the organization folder."""
    root = f"central/AWSLogs/{ORG}/"
    return sorted(p.removeprefix(root) for p in prefixes if not p.startswith("/ "))


def _where(batches: list[TrailBatch]) -> set[tuple[str, str]]:
    return {(e.account_id, e.aws_region) for b in batches for e in b.events}


def _folders(accounts: dict[str, tuple[str, ...]]) -> list[str]:
    return sorted(f"{a}/CloudTrail/{r}/{DAY}/" for a, rs in accounts.items() for r in rs)


async def test_org_bucket_reads_every_account_and_every_region_folder_there_is(
    aws: Aws, org_bucket: str
) -> None:
    """No account or region term: every member account, every region folder each one has (one
    delimiter listing per account), not the session's region (where the org wrote nothing)."""
    prefixes, batches = await _read(aws, f"s3://{org_bucket}/central/")
    assert _objects(prefixes) == _folders(ACCOUNTS)
    assert f"/ central/AWSLogs/{ORG}/" in prefixes  # the member accounts, listed once
    assert _where(batches) == {(a, r) for a, rs in ACCOUNTS.items() for r in rs}
    assert sum(len(b.events) for b in batches) == 8


async def test_account_term_lists_only_that_account_without_listing_the_org(
    aws: Aws, org_bucket: str
) -> None:
    prefixes, batches = await _read(aws, f"s3://{org_bucket}", "account:222222222222")
    assert _objects(prefixes) == _folders({"222222222222": ACCOUNTS["222222222222"]})
    # The organization's folder (a thousand accounts in a real org) is never listed.
    assert f"/ central/AWSLogs/{ORG}/" not in prefixes
    assert _where(batches) == {("222222222222", "us-east-1"), ("222222222222", "eu-west-1")}


async def test_region_term_lists_only_that_region_in_every_account(
    aws: Aws, org_bucket: str
) -> None:
    prefixes, batches = await _read(aws, f"s3://{org_bucket}/central/", "region:eu-west-1")
    # Spelled out: the region folder is built, not looked for (no CloudTrail/ delimiter listing).
    assert not [p for p in prefixes if p.endswith("/CloudTrail/")]
    assert _objects(prefixes) == sorted(f"{a}/CloudTrail/eu-west-1/{DAY}/" for a in ACCOUNTS)
    assert _where(batches) == {("111111111111", "eu-west-1"), ("222222222222", "eu-west-1")}


async def test_globs_or_and_negation_narrow_the_folders_without_losing_a_match(
    aws: Aws, org_bucket: str
) -> None:
    text = "account:1111* region:eu-* or account:3* -region:us-*"
    prefixes, batches = await _read(aws, f"s3://{org_bucket}/central/", text)
    assert _objects(prefixes) == _folders(
        {"111111111111": ("eu-west-1",), "333333333333": ("ap-southeast-2",)}
    )
    assert _where(batches) == {("111111111111", "eu-west-1"), ("333333333333", "ap-southeast-2")}
    prefixes, batches = await _read(aws, f"s3://{org_bucket}/central/", "-account:222222222222")
    assert _objects(prefixes) == _folders(
        {a: rs for a, rs in ACCOUNTS.items() if a != "222222222222"}
    )


async def test_a_term_naming_no_folder_says_so(aws: Aws, org_bucket: str) -> None:
    with pytest.raises(NotFoundError) as info:
        await _read(aws, f"s3://{org_bucket}/central/", "account:999999999999")
    assert "No CloudTrail log file" in info.value.message


async def test_default_layout_keeps_the_sessions_regions_and_a_region_term_overrides(
    aws: Aws, emulator: Any
) -> None:
    """``AWSLogs/ACCOUNT/…`` (no org): the session's region fan-out, unless region: names one."""
    bucket = f"plain-{uuid.uuid4().hex[:12]}"
    s3 = _s3(emulator)
    s3.create_bucket(Bucket=bucket)
    account = aws.account or "123456789012"
    for region in (SESSION_REGION, "eu-west-1"):
        when = T0 + timedelta(minutes=20)
        body = {"Records": [_record(account, region, when, "DescribeThings")]}
        s3.put_object(
            Bucket=bucket,
            Key=_key("AWSLogs/", account, region, when),
            Body=gzip.compress(json.dumps(body).encode()),
        )
    prefixes, batches = await _read(aws, f"s3://{bucket}/AWSLogs/")
    listed = {p.split("/CloudTrail/")[1].split("/")[0] for p in prefixes if "/CloudTrail/" in p}
    assert listed == {SESSION_REGION, "us-east-1"}  # the session's region and the global one
    assert _where(batches) == {(account, SESSION_REGION)}
    prefixes, batches = await _read(aws, f"s3://{bucket}/AWSLogs/", "region:eu-west-1")
    assert [p for p in prefixes if "/CloudTrail/" in p] == [
        f"AWSLogs/{account}/CloudTrail/eu-west-1/{DAY}/"
    ]
    assert _where(batches) == {(account, "eu-west-1")}


async def test_objects_are_read_several_at_a_time_in_the_listings_order_with_progress(
    aws: Aws, emulator: Any
) -> None:
    bucket = f"many-{uuid.uuid4().hex[:12]}"
    s3 = _s3(emulator)
    s3.create_bucket(Bucket=bucket)
    account = "444444444444"
    for i in range(30):
        when = T0 + timedelta(minutes=2 * i)
        body = {"Records": [_record(account, "eu-west-1", when, f"Call{i:02d}")] * 3}
        key = _key(f"AWSLogs/{ORG}/", account, "eu-west-1", when)
        s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(json.dumps(body).encode()))
    in_flight = peak = 0
    inner = aws.call

    async def call(service: str, operation: str, **params: Any) -> dict[str, Any]:
        nonlocal in_flight, peak
        if operation != "GetObject":
            return await inner(service, operation, **params)
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.01)  # a network round trip: the others start meanwhile
            return await inner(service, operation, **params)
        finally:
            in_flight -= 1

    aws.call = call  # type: ignore[method-assign]
    batches = [b async for b in stream_s3(aws, f"s3://{bucket}", WINDOW)]
    assert peak == S3_PARALLEL  # several in flight, never more than the bound
    names = [e.event_name for b in batches for e in b.events]
    assert names == [f"Call{i:02d}" for i in range(30)]  # delivery order, whatever finished first
    progress = [b.progress for b in batches if b.progress is not None]
    assert progress[0].objects_done == 0 and progress[0].objects_total == 30
    last = progress[-1]
    assert (last.objects_done, last.events) == (30, 90)
    assert last.bytes_done == last.bytes_total > 0
    assert [p.objects_done for p in progress] == list(range(31))


def test_progress_line_says_objects_bytes_events_rate_and_what_is_left() -> None:
    half = S3Progress(50, 200, 5 << 20, 20 << 20, 12_000, 2.0)
    assert half.describe() == (
        "50/200 objects · 5.0/20.0 MB · 12,000 events · 6,000 ev/s · 150 left, ~6 s"
    )
    done = S3Progress(200, 200, 20 << 20, 20 << 20, 48_000, 8.0)
    assert done.describe() == "200/200 objects · 20.0/20.0 MB · 48,000 events · 6,000 ev/s in 8.0 s"
    assert S3Progress(0, 10, 0, 100, 0, 0.0).seconds_left is None
    # Resumed after 150 objects (15 MB, 36,000 events): those count in the totals, not the rate.
    resumed = S3Progress(170, 200, 17 << 20, 20 << 20, 4_000, 2.0, earlier=15 << 20)
    resumed = dataclasses.replace(resumed, earlier_events=36_000)
    assert resumed.describe() == (
        "170/200 objects · 17.0/20.0 MB · 40,000 events · 2,000 ev/s · 30 left, ~3 s"
    )


def test_account_column_source_is_the_recipient_account() -> None:
    """The folder's account is the recipient's: the account: term matches it."""
    event = parse_event(_record("111111111111", "eu-west-1", T0, "X"))
    assert event.account_id == "111111111111"
    assert compile_filter("account:111111111111").matches(event)


# ------------------------------------------------------ the tests' second world: an org trail


def _world2_trail(w2: Any) -> str:
    return f"s3://{w2.trail_bucket}/{w2.spec.trail_prefix}/"


def _world2_accounts(w2: Any) -> set[str]:
    return {w2.account_id, *(a for a, _ in w2.spec.org_members)}


async def test_world2s_org_trail_loads_three_accounts_and_incident_1_is_found(
    worlds: Any,
) -> None:
    from tests.test_world2 import _open
    from tui.aws.inventory import describe_instances
    from tui.models.findings import compute_findings

    w2 = worlds.world2
    assert w2.spec.trail_org and len(_world2_accounts(w2)) == 3
    aws = await _open(w2)
    try:
        window = TimeWindow(w2.now - timedelta(hours=3), w2.now, live=False)
        requests, batches = await sent_requests(
            aws,
            "s3",
            "ListObjectsV2",
            lambda: _collect(stream_s3(aws, _world2_trail(w2), window)),
        )
        events = [e for b in batches for e in b.events]
        instances = await describe_instances(aws)
    finally:
        await aws.close()
    assert {e.account_id for e in events} == _world2_accounts(w2)
    # Every member's own region folder is read, not only the session's region.
    member_regions = {(a, r) for a, r in w2.spec.org_members}
    assert member_regions <= {(e.account_id, e.aws_region) for e in events}
    org = f"{w2.spec.trail_prefix}/AWSLogs/{w2.spec.trail_org}/"
    assert {r["Prefix"] for r in requests if r.get("Delimiter")} >= {org}
    findings = compute_findings(events=events, instances=instances)
    assert [f.kind for f in findings] == ["start_failed"], [f.title for f in findings]
    assert findings[0].resource_id == w2.failing_instance_id


async def _collect(stream: AsyncIterator[TrailBatch]) -> list[TrailBatch]:
    return [b async for b in stream]


def test_hamari_trail_csv_has_an_account_column_and_a_read_summary(worlds: Any) -> None:
    import csv
    import io

    from tests.test_world2 import hamari

    w2 = worlds.world2
    done = hamari(w2, "trail", "--source", _world2_trail(w2), "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {r["account"] for r in rows} == _world2_accounts(w2)
    # stderr is a pipe here: no ticker, one summary of the S3 read at the end.
    (summary,) = [line for line in done.stderr.splitlines() if line.startswith("hamari: read ")]
    assert "objects" in summary and "events" in summary and " in " in summary
    assert "\r" not in done.stderr
    narrowed = hamari(
        w2, "trail", "--source", _world2_trail(w2), "--format", "csv", "--filter", "region:eu-*"
    )
    rows = list(csv.DictReader(io.StringIO(narrowed.stdout)))
    (member,) = [a for a, r in w2.spec.org_members if r.startswith("eu-")]
    assert rows and {r["account"] for r in rows} == {member}


async def test_the_app_shows_the_account_column_for_world2s_org_trail(
    worlds: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.apptools import wait_for
    from tests.test_world2 import aws_env
    from tui.app import HamariApp
    from tui.panes.trail import TrailPane
    from tui.settings import Settings

    w2 = worlds.world2
    for name, value in aws_env(w2).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings = Settings(region=w2.region, endpoint_url=w2.url, trail_source=_world2_trail(w2))
    app = HamariApp(settings, clock=lambda: w2.now)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = app.screen.query_one(TrailPane)
        assert await wait_for(pilot, lambda: pane._complete and pane.table.row_count > 0, 30)
        assert {e.account_id for e in pane.evidence.loaded_events} == _world2_accounts(w2)
        assert "account" in pane._keys
        header = pane.table.render_line(0).text
        assert "account" in header, header
        # The finding is found in the org layout by the app too.
        found = lambda: {f.kind for f in app.screen.findings or ()}  # noqa: E731
        assert await wait_for(pilot, lambda: "start_failed" in found(), 30), found()


def test_the_ticker_is_shown_at_most_once_a_second_and_ends_in_one_summary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from tui.headless import trail as headless

    now = [100.0]
    monkeypatch.setattr(headless.time, "monotonic", lambda: now[0])
    err = io.StringIO()
    line = headless._ProgressLine(err, live=True)
    for done in range(5):  # five objects within 0.4 s: one line
        line.update(S3Progress(done, 10, done * 10, 100, done * 3, now[0] - 100))
        now[0] += 0.1
    assert err.getvalue().count("\r") == 1
    now[0] += 1.0
    line.update(S3Progress(6, 10, 60, 100, 18, 1.5))
    assert err.getvalue().count("\r") == 2 and "6/10 objects" in err.getvalue()
    line.update(S3Progress(10, 10, 100, 100, 30, 2.0))
    line.finish()
    assert err.getvalue().endswith(
        "\r\x1b[Khamari: read 10/10 objects · 0.0/0.0 MB · 30 events · 15 ev/s in 2.0 s\n"
    )
    quiet = io.StringIO()
    piped = headless._ProgressLine(quiet, live=False)
    piped.update(S3Progress(3, 10, 30, 100, 9, 1.0))
    piped.update(S3Progress(10, 10, 100, 100, 30, 2.0))
    piped.finish()
    assert (
        quiet.getvalue()
        == "hamari: read 10/10 objects · 0.0/0.0 MB · 30 events · 15 ev/s in 2.0 s\n"
    )


def test_hamari_trail_on_a_terminal_shows_the_s3_progress_on_stderr(worlds: Any) -> None:
    from tests.ptyrun import hamari_argv, spawn
    from tests.world2 import aws_env, window_args

    w2 = worlds.world2
    argv = hamari_argv(
        "trail",
        "--source",
        _world2_trail(w2),
        "--format",
        "table",
        "--endpoint-url",
        w2.url,
        "--region",
        w2.region,
        *window_args(w2),
    )
    proc = spawn(argv, aws_env(w2), size=(200, 50))
    proc.read_until(lambda out: False, timeout=90)
    out = bytes(proc.output).decode(errors="replace")
    assert proc.status is not None, out[-2000:]
    assert "\r\x1b[Khamari: 0/" in out and " objects · " in out  # the ticker, rewritten in place
    assert "hamari: read " in out and " left" not in out.split("hamari: read ", 1)[1]


@pytest.mark.parametrize("width", [78, 70, 120])
def test_the_account_column_fits_the_layouts_and_only_when_asked(width: int) -> None:
    from tui.panes.trail import columns_for, event_cells

    one = [c.key for c in columns_for(width)]
    many = columns_for(width, accounts=True)
    assert "account" not in one and [c.key for c in many][1] == "account"

    # At their fixed or smallest widths, the columns need no more room than without the account.
    def least(columns: list[Any]) -> int:
        return sum((c.width or c.min_width or 1) + 1 for c in columns)

    assert least(many) <= max(width, least(columns_for(width))), width
    event = parse_event(_record("333333333333", "ap-southeast-2", T0, "DescribeThings"))
    cells = event_cells(event, [c.key for c in many])
    assert cells[1] == "333333333333"


@pytest.mark.parametrize(
    "text", ["", "name:Describe10", "account:2222* name:Describe70", "region:eu-*"]
)
async def test_fast_route_from_s3_keeps_what_the_whole_read_keeps(
    aws: Aws, org_bucket: str, text: str
) -> None:
    """``hamari trail --source s3://…`` reads objects through the fast route: the same events,
    in the listing's order, with the same counts, as the pane's whole read."""
    uri = f"s3://{org_bucket}/central/"
    whole = [b async for b in stream_s3(aws, uri, WINDOW, compile_filter(text))]
    fast = [b async for b in stream_s3(aws, uri, WINDOW, compile_filter(text), fast=True)]
    assert [m.key for b in fast for m in b.matches()] == [e.key for b in whole for e in b.events]
    assert sum(len(b.kept) for b in fast) == sum(len(b.events) for b in whole) > 0
    assert [b.scanned for b in fast] == [b.scanned for b in whole]
    assert fast[-1].progress is None and fast[-2].progress is not None
    assert fast[-2].progress.events == sum(b.scanned for b in fast)
