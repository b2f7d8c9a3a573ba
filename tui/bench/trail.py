"""CloudTrail: re-filtering 100k events on a keystroke, opening the table at the end, memory.

100k realistic events are generated as CloudTrail dicts and parsed with
:func:`tui.models.cloudtrail.parse_event`. Figures, each beside a same-run baseline:

* re-filter (``compile_filter(text).apply(events)``) for several filters, median of runs, against
  a plain list comprehension on one field; target < 100 ms;
* a :class:`widgets.record_table.RecordTable` with 100k rows mounted and jumped to the end in a
  headless ``App.run_test()``, against an empty app frame; target < 100 ms;
* memory per 100k events (tracemalloc of the parsed events), against the raw dicts alone;
* reading ~200 trail objects from the embedded emulator's S3 with :data:`S3_PARALLEL` objects in
  flight, against one at a time (the same objects, same run), with no added latency and with
  each GetObject answered 30 ms late (a bastion a region away from its bucket). The client-side
  rate limit (GetObject 50/s) stays on, as the product runs;
* the store past 50,000 events (:func:`store_figures`): RSS growth loading 1M events against
  the same events held as TrailEvents (100k measured, extrapolated), and a re-filter over 1M
  against the Python filter over the in-memory events (extrapolated), same run: the count and
  the newest 1,000, and what the pane waits for (the count, its newest 10,000 as a view, one
  screen of rows parsed);
* ``hamari trail`` over 1M events in gzip deliveries (:func:`headless_vs_jq`), whole process,
  against ``zcat | jq`` selecting the same events (target: 10x faster), with other filters and
  csv beside the same jq run.
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

Report = Callable[[str, float, float | None, str], None]

_CALLS = [
    ("ec2.amazonaws.com", "DescribeInstances", True),
    ("ec2.amazonaws.com", "StartInstances", False),
    ("ec2.amazonaws.com", "StopInstances", False),
    ("kms.amazonaws.com", "Decrypt", True),
    ("kms.amazonaws.com", "CreateGrant", False),
    ("kms.amazonaws.com", "GenerateDataKeyWithoutPlaintext", True),
    ("s3.amazonaws.com", "GetObject", True),
    ("s3.amazonaws.com", "PutObject", False),
    ("iam.amazonaws.com", "ListRoles", True),
    ("sts.amazonaws.com", "AssumeRole", True),
    ("logs.amazonaws.com", "FilterLogEvents", True),
    ("monitoring.amazonaws.com", "GetMetricData", True),
]
_USERS = ["alice", "bob", "carol", "deploy-bot", "ops-oncall", "ci-runner"]
FILTERS = [
    "error:AccessDenied*",
    "user:alice",
    "name:Start*",
    "source:kms readonly:false",
    "ip:10.0.0.0/8",
    "resource:i-0abc",
    "decrypt",
]


def make_event(i: int, rng: random.Random, start: datetime) -> dict[str, Any]:
    """One realistic CloudTrail event dict (IAM user, assumed role or AWS service caller)."""
    source, name, read_only = _CALLS[rng.randrange(len(_CALLS))]
    user = _USERS[rng.randrange(len(_USERS))]
    account = "123456789012"
    kind = rng.random()
    if kind < 0.5:
        identity: dict[str, Any] = {
            "type": "IAMUser",
            "principalId": f"AIDA{i % 997:016d}",
            "arn": f"arn:aws:iam::{account}:user/{user}",
            "accountId": account,
            "accessKeyId": f"AKIA{i % 503:016d}",
            "userName": user,
        }
    elif kind < 0.9:
        identity = {
            "type": "AssumedRole",
            "principalId": f"AROA{i % 211:016d}:{user}",
            "arn": f"arn:aws:sts::{account}:assumed-role/Admin/{user}",
            "accountId": account,
            "accessKeyId": f"ASIA{i % 401:016d}",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": f"arn:aws:iam::{account}:role/Admin",
                    "userName": "Admin",
                },
                "attributes": {"creationDate": "2024-05-01T10:00:00Z", "mfaAuthenticated": "true"},
            },
        }
    else:
        identity = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    instance = f"i-0abc{rng.randrange(16**12):012x}"
    error = rng.random() < 0.08
    event: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": (start + timedelta(seconds=i * 0.5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": (
            f"10.{rng.randrange(4)}.{rng.randrange(256)}.{rng.randrange(256)}"
            if kind < 0.9
            else "ec2.amazonaws.com"
        ),
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 botocore/2.4.5",
        "requestParameters": {"instancesSet": {"items": [{"instanceId": instance}]}},
        "responseElements": None,
        "requestID": f"{rng.getrandbits(128):032x}",
        "eventID": f"{rng.getrandbits(128):032x}",
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error:
        event["errorCode"] = (
            "AccessDenied" if rng.random() < 0.7 else "Client.UnauthorizedOperation"
        )
        event["errorMessage"] = f"User: {identity.get('arn', 'service')} is not authorized"
    return event


def make_events(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` event dicts, deterministic for a seed."""
    rng = random.Random(seed)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    return [make_event(i, rng, start) for i in range(n)]


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _row(ev: Any) -> tuple[str, ...]:
    return (
        ev.event_time.strftime("%H:%M:%S"),
        ev.event_name,
        ev.source,
        ev.principal,
        ev.source_ip,
        ev.error_code,
        " ".join(ev.resources),
    )


async def _table_times(events: list[Any], runs: int) -> tuple[float, float]:
    """(median ms to mount a 100k-row RecordTable and jump to the end, empty-frame ms)."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    from widgets.record_table import CallableRows, Column, RecordTable

    columns = [
        Column("time", "time", width=8),
        Column("name", "event", min_width=12, max_width=28, flex=True),
        Column("source", "source", width=7),
        Column("principal", "principal", min_width=10, max_width=18),
        Column("ip", "source ip", min_width=9, max_width=17),
        Column("error", "error", min_width=8, max_width=18),
        Column("resources", "resources", min_width=6, max_width=60, flex=True),
    ]

    class Empty(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("")

    class Table(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("")

    async def empty_frame() -> float:
        app = Empty()
        async with app.run_test(size=(120, 40)) as pilot:
            t0 = time.perf_counter()
            await app.mount(Static("frame"))
            await pilot.pause()
            return time.perf_counter() - t0

    async def table_open() -> float:
        app = Table()
        async with app.run_test(size=(120, 40)) as pilot:
            t0 = time.perf_counter()
            rows = CallableRows(len(events), lambda i: _row(events[i]))
            table = RecordTable(columns, rows, row_key=lambda i: events[i].event_id)
            await app.mount(table)
            table.focus()
            table.action_last()
            await pilot.pause()
            elapsed = time.perf_counter() - t0
            assert table.cursor_row == len(events) - 1
            return elapsed

    empty = [await empty_frame() for _ in range(runs)]
    opened = [await table_open() for _ in range(runs)]
    return statistics.median(opened) * 1000, statistics.median(empty) * 1000


def run(report: Report, *, n: int = 100_000, quick: bool = False) -> None:
    """Generate ``n`` events and print the figures; ``quick`` uses fewer runs."""
    from tui.models.cloudtrail import parse_event
    from tui.models.trailfilter import compile_filter

    runs = 3 if quick else 9
    dicts = make_events(n)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    events = [parse_event(d) for d in dicts]
    parsed = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    # Baseline for memory: the raw dicts themselves (json.loads output), measured the same way.
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    again = make_events(n)
    raw = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del again
    scale = 100_000 / n
    report(
        "trail: memory per 100k events, parsed + raw dicts (MB)",
        (parsed + raw) * scale / 2**20,
        raw * scale / 2**20,
        "MB",
    )
    label = f"{n // 1000}k"
    base = _median_ms(lambda: [e for e in events if e.event_name == "StartInstances"], runs)
    for text in FILTERS:
        flt = compile_filter(text)
        ms = _median_ms(lambda f=flt: f.apply(events), runs)
        report(f"trail {label} re-filter '{text}' (ms) [<100]", ms, base, "ms")
    opened, empty = asyncio.run(_table_times(events, 3 if quick else 5))
    report(f"trail {label}: RecordTable open + jump to end (ms) [<100]", opened, empty, "ms")


S3_OBJECTS = 200
S3_EVENTS_PER_OBJECT = 250


async def _s3_read_seconds(latencies: tuple[float, ...]) -> list[tuple[float, float, float, int]]:
    """(latency, sequential s, parallel s, events) for each GetObject latency, same objects."""
    import gzip
    import json

    from tui.aws.cloudtrail import S3_PARALLEL, stream_s3
    from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
    from tui.demo.seed.common import clients
    from tui.demo.server import EmbeddedAws, FaultRule
    from tui.models.timewindow import TimeWindow

    start = datetime(2024, 5, 1, tzinfo=UTC)
    account, region, bucket = "123456789012", "eu-west-1", "bench-org-trail"
    with EmbeddedAws() as emulator:
        s3 = clients(emulator.url, "us-east-1")["s3"]  # the emulator's side seeds with boto3
        s3.create_bucket(Bucket=bucket)
        events = make_events(S3_OBJECTS * S3_EVENTS_PER_OBJECT)
        for i in range(S3_OBJECTS):
            part = events[i * S3_EVENTS_PER_OBJECT : (i + 1) * S3_EVENTS_PER_OBJECT]
            when = datetime.strptime(part[-1]["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
            stamp = f"{when:%Y%m%dT%H%M}Z"
            key = (
                f"AWSLogs/o-bench00001/{account}/CloudTrail/{region}/{when:%Y/%m/%d}/"
                f"{account}_CloudTrail_{region}_{stamp}_{i:016d}.json.gz"
            )
            body = gzip.compress(json.dumps({"Records": part}).encode(), compresslevel=6)
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        end = datetime.strptime(events[-1]["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
        window = TimeWindow(start, end.replace(tzinfo=UTC), live=False)
        conn = Connection(
            region=region, endpoint_url=emulator.url, demo=True, static_credentials=DEMO_CREDENTIALS
        )
        aws = Aws(conn, backoff_base=0.0)
        await aws.open()
        out = []
        try:

            async def read(parallel: int) -> tuple[float, int]:
                t0 = time.perf_counter()
                n = 0
                async for batch in stream_s3(aws, f"s3://{bucket}/", window, parallel=parallel):
                    n += len(batch.events)
                return time.perf_counter() - t0, n

            await read(S3_PARALLEL)  # warm: clients, connections
            for latency in latencies:
                emulator.faults.clear()
                if latency:
                    emulator.faults.add(FaultRule("s3", "GetObject", "slow", delay=latency))
                sequential, n = await read(1)
                parallel, n2 = await read(S3_PARALLEL)
                assert n == n2 == len(events), (n, n2, len(events))
                out.append((latency, sequential, parallel, n))
        finally:
            emulator.faults.clear()
            await aws.close()
    return out


def s3_read(report: Report) -> None:
    """Objects read at once against one at a time, same objects, same run."""
    from tui.aws.cloudtrail import S3_PARALLEL

    for latency, sequential, parallel, n in asyncio.run(_s3_read_seconds((0.0, 0.03))):
        label = f"trail S3 {S3_OBJECTS} objects/{n // 1000}k events, {latency * 1000:.0f} ms"
        report(f"{label}: {S3_PARALLEL} in flight (s)", parallel, sequential, "s")


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def _parsed_chunks(n: int, chunk: int = 20_000) -> Any:
    """``n`` parsed events in chunks (a loader's batches: only one chunk alive at a time)."""
    from tui.models.cloudtrail import parse_event

    rng = random.Random(11)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    for lo in range(0, n, chunk):
        yield [parse_event(make_event(i, rng, start)) for i in range(lo, min(n, lo + chunk))]


def store_figures(report: Report, *, n: int = 1_000_000, quick: bool = False) -> None:
    """The trail store past 50,000 events (issue 14.1): RSS growth for ``n`` loaded events
    against the same events as TrailEvents (100k held in memory, extrapolated), and a
    re-filter over ``n`` (count of matches, and the newest 1,000 parsed for the table; together,
    and each alone) against the Python filter over the 100k in-memory events, extrapolated.
    Same run."""
    from tui.models.trailfilter import compile_filter
    from tui.models.trailstore import TrailStore

    label = f"{n // 1000}k"
    gc.collect()
    before = _rss_mb()
    store = TrailStore()
    t0 = time.perf_counter()
    for chunk in _parsed_chunks(n):
        store.add(chunk)
    store.flush()
    load_s = time.perf_counter() - t0
    gc.collect()
    grown = _rss_mb() - before
    base_n = min(n, 100_000)
    gc.collect()
    before = _rss_mb()
    held = [e for chunk in _parsed_chunks(base_n) for e in chunk]
    gc.collect()
    in_memory = (_rss_mb() - before) * n / base_n
    report(f"trail store: RSS growth loading {label} events (MB) [<=300]", grown, in_memory, "MB")
    report(f"trail store: parse + store {label} events (s)", load_s, None, "s")
    runs = 3 if quick else 7
    for text in FILTERS:
        flt = compile_filter(text)
        python = _median_ms(lambda f=flt: f.apply(held), runs) * n / base_n
        # What the pane waits for on a keystroke: the count, then the newest rows parsed.
        both = _median_ms(lambda f=flt: (store.count(f), store.newest(f, 1000)), runs)
        count = _median_ms(lambda f=flt: store.count(f), runs)
        newest = _median_ms(lambda f=flt: store.newest(f, 1000), runs)
        name = f"trail store {label} re-filter '{text}'"
        report(f"{name}: count + newest 1,000 (ms) [<100]", both, python, "ms")
        report(f"{name}: count alone (ms)", count, python, "ms")
        report(f"{name}: newest 1,000 parsed (ms)", newest, None, "ms")
    from tui.panes.trail import STORE_TABLE  # the pane's table holds this many

    def pane(flt: Any) -> None:
        """What the pane waits for: the count, the table's newest rows, one screen drawn."""
        store.count(flt)
        view = store.newest(flt, STORE_TABLE)
        for i in range(min(40, len(view))):
            _ = view[i].event_name

    for text in FILTERS:
        flt = compile_filter(text)
        python = _median_ms(lambda f=flt: f.apply(held), runs) * n / base_n
        ms = _median_ms(lambda f=flt: pane(f), runs)
        report(
            f"trail store {label} '{text}': pane re-filter (count, newest {STORE_TABLE:,}, "
            "a screen of rows parsed) (ms) [<100]",
            ms,
            python,
            "ms",
        )
    store.close()


JQ_FILTER = '.Records[] | select((.errorCode // "") | startswith("AccessDenied"))'


def _write_deliveries(n: int, folder: Any, per_file: int = 5000) -> int:
    """``n`` events as S3 deliveries (``{"Records": [...]}``, gzip) in ``folder``; files."""
    import gzip
    import json

    rng = random.Random(13)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    files = 0
    for lo in range(0, n, per_file):
        part = [make_event(i, rng, start) for i in range(lo, min(n, lo + per_file))]
        body = json.dumps({"Records": part}).encode()
        (folder / f"123456789012_CloudTrail_us-east-1_{files:06d}.json.gz").write_bytes(
            gzip.compress(body, compresslevel=6)
        )
        files += 1
    return files


def headless_vs_jq(report: Report, *, n: int = 1_000_000, runs: int = 3) -> None:
    """``hamari trail --source DIR --filter 'error:AccessDenied*' --format ndjson`` over ``n``
    events in gzip deliveries against ``zcat | jq`` selecting the same events (issue 14.1: hamari
    >= 10x faster), whole processes, interleaved, same files; the match counts first."""
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    jq = shutil.which("jq")
    if jq is None:
        print("(jq not installed: no jq baseline)", flush=True)
    with tempfile.TemporaryDirectory(prefix="hamari-bench-trail-") as tmp:
        folder = Path(tmp)
        _write_deliveries(n, folder)
        hamari = (
            f"{sys.executable} -m tui trail --source {tmp} --filter 'error:AccessDenied*' "
            "--format ndjson"
        )
        base = f"zcat {tmp}/*.json.gz | {jq} -c '{JQ_FILTER}'" if jq else f"zcat {tmp}/*.json.gz"

        def lines(cmd: str) -> tuple[int, float]:
            t0 = time.perf_counter()
            out = subprocess.run(cmd, shell=True, check=True, capture_output=True).stdout
            return out.count(b"\n"), time.perf_counter() - t0

        label = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
        t_h: list[float] = []
        t_b: list[float] = []
        for _ in range(runs):
            got, seconds = lines(hamari)
            t_h.append(seconds)
            want, seconds = lines(base)
            t_b.append(seconds)
        if jq:
            report(f"trail {label} gz: events matched, hamari vs jq", got, want, "n")
        name = "jq" if jq else "zcat alone"
        report(
            f"trail {label} gz: hamari trail --filter ndjson, whole process (s) [<= {name}/10]",
            statistics.median(t_h),
            statistics.median(t_b),
            "s",
        )
        # Other filters hamari decides without building whole events (user: by its names,
        # ip: by CIDR), and csv (each kept event built whole), beside the same jq run.
        for text, fmt in (("user:alice", "ndjson"), ("ip:10.0.0.0/8 name:Start*", "ndjson")):
            cmd = f"{sys.executable} -m tui trail --source {tmp} --filter '{text}' --format {fmt}"
            seconds = statistics.median(lines(cmd)[1] for _ in range(runs))
            report(
                f"trail {label} gz: hamari trail '{text}' {fmt} (s)",
                seconds,
                statistics.median(t_b),
                "s",
            )
        cmd = hamari.replace("--format ndjson", "--format csv")
        seconds = statistics.median(lines(cmd)[1] for _ in range(runs))
        report(
            f"trail {label} gz: hamari trail --filter csv (s)", seconds, statistics.median(t_b), "s"
        )


def main(report: Report) -> None:
    """Section entry point."""
    run(report)
    s3_read(report)
    store_figures(report)
    headless_vs_jq(report)
