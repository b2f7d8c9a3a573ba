"""Flow logs: ``hamari flows`` on gzip against ``zcat | awk``, DuckDB re-filter, memory, gunzip.

Generates v5 records (header line, 29 fields, plain and gzip) in a temp directory: 1M by
default, 5M more with ``HAMARI_BENCH_BIG=1`` or ``--big``. Baselines run in the same process
and interleaved with the figures: ``zcat FILE | awk '$13=="REJECT" && $7==443'`` (gawk, the
issue's anchor, and mawk when installed; each named in the output), ``zcat`` alone, and
flowlogs-reader's parse of the same file when it is installed (here or in
``HAMARI_BENCH_FLR_PYTHON``), and the floor: the same gzip inflated by python-isal alone in a
whole process. Targets: ``hamari flows`` faster than zcat|awk, within 2x of the isal floor, and
at least 10x flowlogs-reader; re-filter and re-aggregate of 1M loaded records
< 100 ms median; resident memory with 1M records loaded <= 300 MB, bounded with a memory limit.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

Report = Callable[[str, float, float | None, str], None]
FILTER = "action=REJECT and dstport=443"
AWK = '$13=="REJECT" && $7==443'

# Realistic-looking v5 records: a few hundred hosts in two AZs, service ports on one side and
# ephemeral ports on the other, ~20 % REJECT, 2 % IPv6, some NODATA rows and "-" values.
_GEN = """
COPY (
SELECT 5 AS "version", '123456789012' AS "account-id",
 'eni-0' || lpad(to_hex(h % 64), 16, 'a') AS "interface-id",
 CASE WHEN st THEN NULL ELSE src END AS "srcaddr",
 CASE WHEN st THEN NULL ELSE dst END AS "dstaddr",
 CASE WHEN st OR h % 97 = 0 THEN NULL WHEN h % 2 = 0 THEN 32768 + (h >> 5) % 28000
      ELSE [443, 80, 22, 5432, 3306][1 + (h >> 7) % 5] END AS "srcport",
 CASE WHEN st OR h % 97 = 0 THEN NULL WHEN h % 2 = 1 THEN 32768 + (h >> 9) % 28000
      ELSE [443, 80, 22, 5432, 3306, 53][1 + (h >> 11) % 6] END AS "dstport",
 CASE WHEN st THEN NULL WHEN h % 97 = 0 THEN 1 WHEN h % 13 = 0 THEN 17 ELSE 6 END AS "protocol",
 CASE WHEN st THEN NULL ELSE 1 + (h >> 13) % 200 END AS "packets",
 CASE WHEN st THEN NULL ELSE 40 + (h >> 17) % 150000 END AS "bytes",
 1700000000 + i // 100 AS "start", 1700000060 + i // 100 AS "end",
 CASE WHEN st THEN NULL WHEN (h >> 21) % 10 < 2 THEN 'REJECT' ELSE 'ACCEPT' END AS "action",
 CASE WHEN st THEN 'NODATA' ELSE 'OK' END AS "log-status",
 'vpc-0abc1234def567890' AS "vpc-id", 'subnet-0' || lpad(to_hex(h % 4), 16, 'b') AS "subnet-id",
 CASE WHEN h % 5 = 0 THEN NULL ELSE 'i-0' || lpad(to_hex(h % 32), 16, 'c') END AS "instance-id",
 CASE WHEN st THEN NULL ELSE [2, 18, 16, 1, 3, 19, 4][1 + (h >> 23) % 7] END AS "tcp-flags",
 CASE WHEN h % 50 = 0 THEN 'IPv6' ELSE 'IPv4' END AS "type",
 CASE WHEN st THEN NULL ELSE src END AS "pkt-srcaddr",
 CASE WHEN st THEN NULL ELSE dst END AS "pkt-dstaddr",
 'us-east-1' AS "region", 'use1-az' || (1 + h % 2 * 5) AS "az-id",
 NULL AS "sublocation-type", NULL AS "sublocation-id",
 CASE WHEN h % 11 = 0 THEN 'S3' END AS "pkt-src-aws-service", NULL AS "pkt-dst-aws-service",
 CASE WHEN h % 2 = 0 THEN 'ingress' ELSE 'egress' END AS "flow-direction",
 CASE WHEN h % 2 = 1 THEN 1 END AS "traffic-path"
FROM (
 SELECT i, h, h % 500 = 7 AS st,
  CASE WHEN h % 50 = 0 THEN '2600:1f18:4a2::' || to_hex((h >> 4) % 300)
       ELSE '10.' || (h >> 8) % 2 || '.' || (h >> 16) % 4 || '.' || (h >> 24) % 100 END AS src,
  CASE WHEN h % 50 = 0 THEN '2600:1f18:4a2::' || to_hex((h >> 30) % 300)
       ELSE '10.' || (h >> 32) % 2 || '.' || (h >> 40) % 4 || '.' || (h >> 48) % 100 END AS dst
 FROM (SELECT i, (hash(i) >> 1)::BIGINT AS h FROM range({n}) t(i))
)) TO '{out}' (FORMAT csv, DELIMITER ' ', HEADER, NULLSTR '-', QUOTE '', COMPRESSION {comp})
"""


def generate(n: int, out: Path, *, gzip: bool) -> Path:
    """Write ``n`` v5 records with a header line (gzip or plain) and return the path."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        con.execute(_GEN.format(n=int(n), out=str(out), comp="gzip" if gzip else "none"))
    finally:
        con.close()
    return out


def _awk_name() -> str:
    path = shutil.which("awk") or "awk"
    real = os.path.realpath(path)
    for name in ("gawk", "mawk", "busybox", "nawk"):
        if name in os.path.basename(real):
            return name
    return os.path.basename(real)


# As on a user's machine, the children keep their compiled bytecode (a sandbox may set
# PYTHONDONTWRITEBYTECODE, which would make every run recompile hamari's modules).
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _wall(cmd: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        cmd, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_ENV
    )
    return time.perf_counter() - t0


def _lines_out(cmd: str) -> int:
    out = subprocess.run(cmd, shell=True, check=True, capture_output=True, env=_ENV).stdout
    return out.count(b"\n")


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# Shared by the child scripts below: their own resident memory, in MB.
_RSS = """
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
"""

_LOADED_RSS = (
    _RSS
    + """
import json, sys
from tui.models.flowengine import FlowEngine
base = rss()
engine = FlowEngine(memory_limit=sys.argv[2], on_disk=sys.argv[3] == '1')
stats = engine.load_files(sys.argv[1])
print(json.dumps({'base': base, 'loaded': rss(), 'records': stats.records}))
engine.close()
"""
)


# The flow pane's way: records parsed in Python as a source streams them, the newest
# MAX_RECORDS kept as objects, every batch also added to the DuckDB store.
_PANE_RSS = (
    _RSS
    + """
import gzip, json, sys, time
from tui.models.flowengine import FlowEngine
from tui.models.flowlog import FlowLogParser
from tui.evidence.flows import MAX_RECORDS, STORE_MEMORY
base = rss()
engine = FlowEngine(memory_limit=STORE_MEMORY)
parser = FlowLogParser()
kept, batch, n = [], [], 0
t0 = time.perf_counter()
with gzip.open(sys.argv[1], 'rt') as fh:
    for rec in parser.parse_lines(fh):
        batch.append(rec)
        if len(batch) == 10000:
            engine.add(batch)
            kept.extend(batch)
            del kept[:-MAX_RECORDS]
            n += len(batch)
            batch = []
engine.add(batch)
n += len(batch)
print(json.dumps({'base': base, 'loaded': rss(), 'records': n, 's': time.perf_counter() - t0}))
engine.close()
"""
)


def _child_json(script: str, *args: str) -> dict[str, float]:
    """Run a measuring script in a fresh interpreter; it prints one JSON object."""
    import json

    out = subprocess.run(
        [sys.executable, "-c", script, *args], check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(out))


def _pane_rss(path: Path) -> dict[str, float]:
    return _child_json(_PANE_RSS, str(path))


def _loaded_rss(path: Path, memory_limit: str, on_disk: bool) -> tuple[float, float]:
    got = _child_json(_LOADED_RSS, str(path), memory_limit, "1" if on_disk else "0")
    return got["loaded"], got["base"]


# flowlogs-reader's own path for an S3 object (S3FlowLogsReader._read_file): gzip text through
# csv.DictReader, a FlowRecord per row; the same filter on the records.
_FLOWLOGS_READER = """
import csv, gzip, sys, time
from flowlogs_reader import FlowRecord
path, n = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter()
count = 0
with gzip.open(path, 'rt') as fh:
    reader = csv.DictReader(fh, delimiter=' ')
    reader.fieldnames = [f.replace('-', '_') for f in reader.fieldnames]
    for row in reader:
        rec = FlowRecord(row)
        count += 1
        if rec.action == 'REJECT' and rec.dstport == 443:
            pass
        if count >= n:
            break
print(count / (time.perf_counter() - t0))
"""


def _flowlogs_reader_rate(path: Path, n: int) -> float | None:
    """Records/s of flowlogs-reader, from ``HAMARI_BENCH_FLR_PYTHON`` or this interpreter."""
    import importlib.util

    python = os.environ.get("HAMARI_BENCH_FLR_PYTHON")
    if not python:
        if importlib.util.find_spec("flowlogs_reader") is None:
            return None
        python = sys.executable
    out = subprocess.run(
        [python, "-c", _FLOWLOGS_READER, str(path), str(n)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return float(out.stdout.strip())
    except ValueError:
        return None


def _floor(report: Report, label: str, gz: Path, hamari: str, runs: int) -> None:
    """``hamari flows`` beside inflating the same file with python-isal alone, whole processes.

    The floor is ``python -m isal.igzip -d -c FILE > /dev/null``: an interpreter starting,
    inflating every byte (isal's C reader) and writing it, with nothing read in the data.
    Interleaved, so that the load of a shared machine hits both alike; the load average is
    printed, since on two busy cores the helper process has no core of its own.
    """
    floor_cmd = f"{sys.executable} -m isal.igzip -d -c {gz} > /dev/null"
    t_h: list[float] = []
    t_f: list[float] = []
    load = os.getloadavg()[0]
    for _ in range(runs):
        t_h.append(_wall(hamari))
        t_f.append(_wall(floor_cmd))
    print(f"(load average {load:.2f} before, {os.getloadavg()[0]:.2f} after)", flush=True)
    # On a shared host the second core comes and goes: the medians carry that noise (the floor,
    # one process, barely feels it), the best runs show what the machine can do.
    print(
        f"(best of {runs}: hamari {min(t_h):.3f} s, floor {min(t_f):.3f} s, "
        f"{min(t_h) / min(t_f):.2f}x)",
        flush=True,
    )
    report(
        f"flows {label} gz: hamari flows vs isal inflate alone (s) [target <= 2x]",
        statistics.median(t_h),
        statistics.median(t_f),
        "s",
    )


def _gunzip_rate(path: Path, module: object) -> float:
    data = path.read_bytes()
    t0 = time.perf_counter()
    d = module.decompressobj(wbits=31)  # type: ignore[attr-defined]
    size = 0
    for i in range(0, len(data), 1 << 20):
        size += len(d.decompress(data[i : i + (1 << 20)]))
    return size / (time.perf_counter() - t0) / 1e6


def run(report: Report, *, n: int, big: bool, quick: bool = False) -> None:
    """Generate the data and print every figure; ``quick`` shrinks runs for the smoke test."""
    from tui.models.flowengine import FlowEngine
    from tui.models.flowfilter import parse_filter
    from tui.models.flowlog import FlowLogParser

    runs = 1 if quick else 3
    tmp = Path(tempfile.mkdtemp(prefix="hamari-bench-flows-"))
    try:
        sizes = [n] + ([5_000_000] if big else [])
        for size in sizes:
            label = f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k"
            gz = generate(size, tmp / f"v5-{label}.log.gz", gzip=True)
            plain = generate(size, tmp / f"v5-{label}.log", gzip=False)
            # The anchor is gawk; mawk (Debian's default awk) is faster still. Both are
            # measured when installed, interleaved with hamari so machine load hits all alike.
            awks = [a for a in ("gawk", "mawk") if shutil.which(a)] or [_awk_name()]
            hamari = (
                f"{sys.executable} -m tui flows {gz} --filter '{FILTER}' --format ndjson"
                " > /dev/null"
            )
            zcat_cmd = f"zcat {gz} > /dev/null"
            # Same answer first (and the warm-up run that writes the bytecode).
            got = _lines_out(hamari.removesuffix(" > /dev/null"))
            want = _lines_out(f"zcat {gz} | {awks[0]} '{AWK}'")
            report(f"flows {label} gz: records matched, hamari vs {awks[0]}", got, want, "n")
            t_h: list[float] = []
            t_z: list[float] = []
            t_awk: dict[str, list[float]] = {a: [] for a in awks}
            for _ in range(runs):
                for a in awks:
                    t_awk[a].append(_wall(f"zcat {gz} | {a} '{AWK}' > /dev/null"))
                t_h.append(_wall(hamari))
                t_z.append(_wall(zcat_cmd))
            for a in awks:
                report(
                    f"flows {label} gz: zcat | {a} filter (s)",
                    statistics.median(t_awk[a]),
                    statistics.median(t_z),
                    "s",
                )
            med_a = statistics.median(t_awk[awks[0]])
            for a in awks:
                report(
                    f"flows {label} gz: hamari flows --filter, whole process (s) [target < {a}]",
                    statistics.median(t_h),
                    statistics.median(t_awk[a]),
                    "s",
                )
            _floor(report, label, gz, hamari, 1 if quick else 7)
            if size == sizes[0]:
                rate = _flowlogs_reader_rate(gz, min(size, 100_000 if quick else 200_000))
                if rate is None:
                    print(
                        "(flowlogs-reader not found: pip install flowlogs-reader, or set "
                        "HAMARI_BENCH_FLR_PYTHON to a python that has it)",
                        flush=True,
                    )
                else:
                    report("flowlogs-reader on the same gz (records/s)", rate, None, "r/s")
                    report(
                        f"flows {label} gz: hamari flows whole process (records/s) [>=10x flr]",
                        size / statistics.median(t_h),
                        rate,
                        "r/s",
                    )
            plain_cmd = (
                f"{sys.executable} -m tui flows {plain} --filter '{FILTER}' --format ndjson"
                " > /dev/null"
            )
            t_p = [_wall(plain_cmd) for _ in range(runs)]
            report(
                f"flows {label} plain: hamari flows --filter (s)",
                statistics.median(t_p),
                med_a,
                "s",
            )
            if size == sizes[0]:
                # The pure parser, on a slice, for comparison (records/s).
                parser = FlowLogParser()
                lines = []
                with plain.open(encoding="utf-8") as fh:
                    for i, line in enumerate(fh):
                        lines.append(line)
                        if i >= min(size, 200_000):
                            break
                t0 = time.perf_counter()
                count = sum(1 for _ in parser.parse_lines(lines))
                rate = count / (time.perf_counter() - t0)
                report("flows: pure-Python FlowLogParser (records/s)", rate, None, "r/s")
                with FlowEngine(memory_limit="256MB") as engine:
                    t0 = time.perf_counter()
                    engine.load_files(gz)
                    report(
                        f"flows {label}: DuckDB load of gz (s)",
                        time.perf_counter() - t0,
                        med_a,
                        "s",
                    )
                    filters = [
                        FILTER,
                        "srcaddr in 10.1.0.0/16 and dstport=443",
                        "not action=ACCEPT and flags=syn",
                        "bytes > 100000 or port=22",
                    ]
                    base_ms = _median_ms(lambda: engine.count(), 5)
                    for text in filters:
                        flt = parse_filter(text)
                        ms = _median_ms(
                            lambda f=flt: list(engine.records(f, 1000)), 3 if quick else 7
                        )
                        report(
                            f"flows {label} re-filter: {text[:32]} (ms) [<100]", ms, base_ms, "ms"
                        )
                    for kind in ("rejects-by-az", "rejects-by-port", "top-talkers", "by-action"):
                        flt = parse_filter("action=REJECT" if kind != "by-action" else "")
                        ms = _median_ms(
                            lambda k=kind, f=flt: engine.aggregate(k, f), 3 if quick else 7
                        )
                        report(f"flows {label} re-aggregate: {kind} (ms) [<100]", ms, base_ms, "ms")
                loaded, base = _loaded_rss(gz, "256MB", True)
                report(
                    f"flows {label} loaded, on-disk store, limit 256MB: RSS (MB) [<=300]",
                    loaded,
                    base,
                    "MB",
                )
                pane = _pane_rss(gz)
                report(
                    f"flows {label} streamed into the pane's store: RSS (MB) [<=300]",
                    pane["loaded"],
                    pane["base"],
                    "MB",
                )
                report(
                    f"flows {label} streamed into the pane's store: records/s",
                    pane["records"] / pane["s"],
                    None,
                    "r/s",
                )
                loaded, base = _loaded_rss(gz, "4GB", False)
                report(
                    f"flows {label} loaded, in-memory store, no limit: RSS (MB)", loaded, base, "MB"
                )
                import isal.isal_zlib as isal_zlib

                report(
                    "gunzip: isal (MB/s)",
                    _gunzip_rate(gz, isal_zlib),
                    _gunzip_rate(gz, zlib),
                    "MB/s",
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(report: Report) -> None:
    """Section entry point."""
    big = os.environ.get("HAMARI_BENCH_BIG") == "1"
    run(report, n=1_000_000, big=big)
