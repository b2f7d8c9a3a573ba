"""FlowEngine (DuckDB) and scan_files agree with the pure reader, predicate and aggregations."""

from __future__ import annotations

import gzip
import os
import random
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("duckdb")

from tests.parquet import write_parquet
from tui.models.flowagg import AGGREGATIONS, aggregate
from tui.models.flowengine import FlowEngine, scan_files
from tui.models.flowfilter import FilterError, parse_filter
from tui.models.flowlog import DEFAULT_FORMAT, ParseStats, read_flow_logs

V5 = [
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
]
CUSTOM = [
    "srcaddr",
    "dstaddr",
    "action",
    "dstport",
    "srcport",
    "interface-id",
    "az-id",
    "bytes",
    "packets",
    "protocol",
    "log-status",
    "tcp-flags",
    "flow-direction",
    "start",
    "end",
]

FILTERS = [
    "",
    "action=REJECT",
    "action=REJECT and dstport=443",
    "srcaddr in 10.1.0.0/16 and dstport=443",
    "not dstport=443",
    "dstport=80|443 or port=22",
    "flags=syn",
    "bytes > 5000 and protocol=tcp",
    "az=use1-az1 direction=ingress",
    "status=NODATA",
    "dstport!=443",
    "10.0.0.5",
    "eni=eni-0a*",
]


def _value(rng: random.Random, name: str, i: int, status: str) -> str:
    if status != "OK" and name not in (
        "version",
        "account-id",
        "interface-id",
        "start",
        "end",
        "log-status",
    ):
        return "-"
    v6 = i % 9 == 0
    if name in ("srcaddr", "dstaddr", "pkt-srcaddr", "pkt-dstaddr"):
        if v6:
            return f"2600:1f18::{rng.randrange(50):x}"
        return f"10.{rng.randrange(3)}.0.{rng.randrange(12)}"
    table = {
        "version": "5",
        "account-id": "012345678901",
        "interface-id": f"eni-0{rng.choice('ab')}{rng.randrange(4)}",
        "srcport": str(rng.choice([443, 22, 80, 40000 + rng.randrange(9)])),
        "dstport": str(rng.choice([443, 22, 80, 5432, 40000 + rng.randrange(9)])),
        "protocol": rng.choice(["6", "6", "17", "1"]),
        "packets": str(rng.randrange(1, 50)),
        "bytes": str(rng.randrange(40, 10000)),
        "start": str(1700000000 + i),
        "end": str(1700000060 + i),
        "action": rng.choice(["ACCEPT", "ACCEPT", "REJECT"]),
        "log-status": status,
        "vpc-id": "vpc-1",
        "subnet-id": "subnet-1",
        "instance-id": rng.choice(["i-1", "-"]),
        "tcp-flags": str(rng.choice([2, 18, 16, 1, 19])),
        "type": "IPv6" if v6 else "IPv4",
        "region": "us-east-1",
        "az-id": rng.choice(["use1-az1", "use1-az6"]),
        "sublocation-type": "-",
        "sublocation-id": "-",
        "pkt-src-aws-service": rng.choice(["-", "S3"]),
        "pkt-dst-aws-service": "-",
        "flow-direction": rng.choice(["ingress", "egress"]),
        "traffic-path": rng.choice(["1", "-"]),
    }
    return table[name]


def _lines(fields: list[str], n: int, seed: int, *, bad: bool = True) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        status = "OK"
        if i % 37 == 5:
            status = "NODATA"
        elif i % 53 == 7:
            status = "SKIPDATA"
        out.append(" ".join(_value(rng, f, i, status) for f in fields))
        if bad and i % 61 == 3:
            out.append("garbage line")
        if bad and i % 71 == 4:
            out.append(" ".join(["x"] * len(fields)))  # right count, not numbers
        if bad and i % 83 == 2:
            out.append("")
    return out


@pytest.fixture
def corpus(tmp_path: Path) -> list[Path]:
    v5 = tmp_path / "a-v5.log.gz"
    v5.write_bytes(gzip.compress(("\n".join([" ".join(V5), *_lines(V5, 600, 1)]) + "\n").encode()))
    plain = tmp_path / "b-custom.log"
    plain.write_text("\n".join([" ".join(CUSTOM), *_lines(CUSTOM, 400, 2)]) + "\n")
    v2 = tmp_path / "c-v2-noheader.log"
    v2.write_text("\n".join(_lines(list(DEFAULT_FORMAT), 300, 3)) + "\n")
    whole = gzip.compress(
        ("\n".join([" ".join(V5), *_lines(V5, 3000, 4, bad=False)]) + "\n").encode()
    )
    trunc = tmp_path / "d-truncated.log.gz"
    trunc.write_bytes(whole[: len(whole) // 2])
    return [v5, plain, v2, trunc]


def _pure(paths: list[Path]) -> tuple[list, ParseStats]:
    stats = ParseStats()
    return list(read_flow_logs(paths, stats=stats)), stats


def _counts(s: ParseStats) -> tuple[int, ...]:
    return (s.records, s.bad_lines, s.nodata, s.skipdata, s.bad_files)


def test_load_counts_match_the_pure_reader(corpus: list[Path], tmp_path: Path) -> None:
    records, stats = _pure(corpus)
    with FlowEngine(temp_directory=tmp_path) as engine:
        got = engine.load_files(corpus)
        assert _counts(got) == _counts(stats)
        assert stats.nodata and stats.skipdata and stats.bad_lines and stats.bad_files == 1
        assert engine.count() == len(records)


@pytest.mark.parametrize("on_disk", [True, False])
def test_query_equals_pure_predicate(corpus: list[Path], tmp_path: Path, on_disk: bool) -> None:
    records, _ = _pure(corpus)
    with FlowEngine(temp_directory=tmp_path, on_disk=on_disk) as engine:
        engine.load_files(corpus)
        for text in FILTERS:
            flt = parse_filter(text)
            pred = flt.to_predicate()
            want = sorted(_norm(r.as_dict()) for r in records if pred(r))
            got = sorted(_norm(d) for d in engine.query(flt))
            assert got == want, text
            assert engine.count(flt) == len(want), text
            assert engine.fallback is None


def _norm(d: dict) -> tuple:
    """Union-format rows carry None for fields a file lacks: compare on present values."""
    return tuple(sorted((k, v) for k, v in d.items() if v is not None))


@pytest.mark.parametrize("kind", AGGREGATIONS)
@pytest.mark.parametrize("text", ["", "action=REJECT", "not port=22"])
def test_aggregations_equal_pure(corpus: list[Path], tmp_path: Path, kind: str, text: str) -> None:
    records, _ = _pure(corpus)
    flt = parse_filter(text)
    pred = flt.to_predicate()
    with FlowEngine(temp_directory=tmp_path) as engine:
        engine.load_files(corpus)
        assert engine.aggregate(kind, flt, limit=500) == aggregate(
            [r for r in records if pred(r)], kind, limit=500
        )


def test_ipv6_cidr_falls_back_to_python_and_says_so(corpus: list[Path], tmp_path: Path) -> None:
    records, _ = _pure(corpus)
    flt = parse_filter("srcaddr in 2600:1f18::/32")
    with pytest.raises(FilterError):
        flt.to_sql_where("duckdb")
    pred = flt.to_predicate()
    with FlowEngine(temp_directory=tmp_path) as engine:
        engine.load_files(corpus)
        got = list(engine.query(flt))
        assert engine.fallback and "Python" in engine.fallback
        assert len(got) == sum(1 for r in records if pred(r)) > 0
        assert engine.aggregate("by-action", flt) == aggregate(
            [r for r in records if pred(r)], "by-action"
        )


def test_parquet_loads_like_the_pure_reader(tmp_path: Path) -> None:
    rng = random.Random(5)
    rows = [[_value(rng, f, i, "OK") for f in V5] for i in range(200)]
    cols: dict[str, tuple[str, list[Any]]] = {}
    for j, name in enumerate(V5):
        vals = [r[j] for r in rows]
        if name in ("srcport", "dstport", "packets", "bytes", "start", "end", "version"):
            cols[name.replace("-", "_")] = ("BIGINT", [None if v == "-" else int(v) for v in vals])
        else:
            cols[name.replace("-", "_")] = ("VARCHAR", [None if v == "-" else v for v in vals])
    path = write_parquet(tmp_path / "f.parquet", cols)
    records, stats = _pure([path])
    with FlowEngine(temp_directory=tmp_path) as engine:
        assert _counts(engine.load_files(path)) == _counts(stats)
        flt = parse_filter("action=REJECT")
        pred = flt.to_predicate()
        assert sorted(_norm(d) for d in engine.query(flt)) == sorted(
            _norm(r.as_dict()) for r in records if pred(r)
        )


@pytest.mark.parametrize("text", [*FILTERS, "srcaddr in 2600:1f18::/32"])
def test_scan_files_equals_pure(corpus: list[Path], text: str) -> None:
    records, stats = _pure(corpus)
    flt = parse_filter(text)
    pred = flt.to_predicate()
    got_stats = ParseStats()
    got = [r.as_dict() for _, r in scan_files(corpus, flt, stats=got_stats)]
    assert got == [r.as_dict() for r in records if pred(r)]
    # Documented difference: a well-formed line with a non-number is only counted as bad when
    # the byte pre-filter makes it a candidate; this corpus's "x x x" lines can never be.
    assert (got_stats.nodata, got_stats.skipdata, got_stats.bad_files) == (
        stats.nodata,
        stats.skipdata,
        stats.bad_files,
    )
    assert got_stats.records + got_stats.bad_lines == stats.records + stats.bad_lines


def test_scan_prefilter_counts_exactly_on_clean_files(tmp_path: Path) -> None:
    path = tmp_path / "clean.log.gz"
    path.write_bytes(
        gzip.compress(("\n".join([" ".join(V5), *_lines(V5, 5000, 9, bad=False)]) + "\n").encode())
    )
    records, stats = _pure([path])
    got_stats = ParseStats()
    flt = parse_filter("action=REJECT and dstport=443")
    got = [r for _, r in scan_files(path, flt, stats=got_stats)]
    assert [r.as_dict() for r in got] == [r.as_dict() for r in records if flt.to_predicate()(r)]
    assert _counts(got_stats) == _counts(stats)


@pytest.mark.parametrize("read_size", [7, 64, 1000, 1 << 18])
@pytest.mark.parametrize("status_at", ["first", "middle", "last"])
def test_scan_counts_and_matches_across_any_chunking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_size: int, status_at: str
) -> None:
    """Lines split across decompressed chunks, statuses in any column: same as the pure reader."""
    import tui.models.inflater as inf

    monkeypatch.setattr(inf, "_SCAN_READ", read_size)
    fields = [f for f in V5 if f != "log-status"]
    where = {"first": 0, "middle": len(fields) // 2, "last": len(fields)}[status_at]
    fields.insert(where, "log-status")
    rng = random.Random(11)
    lines = []
    for i in range(1500):
        status = "NODATA" if i % 97 == 0 else "SKIPDATA" if i % 131 == 0 else "OK"
        lines.append(" ".join(_value(rng, f, i, status) for f in fields))
    path = tmp_path / "chunked.log.gz"
    path.write_bytes(gzip.compress(("\n".join([" ".join(fields), *lines]) + "\n").encode()))
    records, stats = _pure([path])
    assert stats.nodata and stats.skipdata
    for text in ("action=REJECT and dstport=443", "protocol=6 and action=ACCEPT"):
        flt = parse_filter(text)
        got_stats = ParseStats()
        got = [r.as_dict() for _, r in scan_files(path, flt, stats=got_stats)]
        assert got == [r.as_dict() for r in records if flt.to_predicate()(r)]
        assert _counts(got_stats) == _counts(stats)


def _big_file(
    tmp_path: Path, *, long_line_at: int = -1, truncate: bool = False, gz: bool = True
) -> Path:
    """~6,000 v5 records (NODATA, SKIPDATA, and bad lines in the middle third) in gzip; optionally one line
    longer than the test's slots, or the stream cut short."""
    lines = [" ".join(V5), *_lines(V5, 3000, 13, bad=False)]
    lines += [*_lines(V5, 1500, 14, bad=True), *_lines(V5, 1500, 15, bad=False)]
    if long_line_at >= 0:
        lines.insert(long_line_at, "x" * 300_000)  # a bad line bigger than a slot
    data = ("\n".join(lines) + "\n").encode()
    if not gz:
        path = tmp_path / "big.log"
        path.write_bytes(data)
        return path
    data = gzip.compress(data, mtime=0)
    path = tmp_path / "big.log.gz"
    path.write_bytes(data[: len(data) * 2 // 3] if truncate else data)
    return path


def _scan(path: Path, text: str) -> tuple[list[dict], tuple[int, ...], list[str]]:
    stats = ParseStats()
    got = [r.as_dict() for _, r in scan_files(path, parse_filter(text), stats=stats)]
    return got, _counts(stats), [f"{f}: {why}" for f, why in [*stats.partial, *stats.skipped]]


@pytest.mark.parametrize(
    "case",
    ["inflater", "plain-text", "a-line-longer-than-a-slot", "inflater-dies", "truncated-gzip"],
)
def test_scan_with_an_inflating_process_equals_the_single_process_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """Big gzip files are inflated and counted by a second process while this one sifts. The
    records, counts and named bad files must not change when it stops half-way for any reason
    (a line bigger than its slots, its death, a broken stream): this process reads on from the
    region where it stopped, and meets and reports the broken stream itself."""
    import tui.models.inflater as inf

    monkeypatch.setattr(inf, "_HELPER_MIN_BYTES", 0)
    monkeypatch.setattr(inf, "_SCAN_READ", 16384)  # regions of ~128 KB
    monkeypatch.setattr(inf, "_SCAN_PIECE", 128 << 10)
    monkeypatch.setattr(inf, "_SLOTS", 2)  # the inflater waits for this process, often
    monkeypatch.setattr(inf, "_SLOT_BYTES", 256 << 10)
    path = _big_file(
        tmp_path,
        long_line_at=4000 if case == "a-line-longer-than-a-slot" else -1,
        truncate=case == "truncated-gzip",
        gz=case != "plain-text",
    )
    if case == "inflater-dies":
        parent = os.getpid()
        real_write = inf._write_exactly
        notes = [0]

        def write(fd: int, payload: bytes) -> None:
            if os.getpid() != parent:
                notes[0] += 1
                if notes[0] > 5:  # its layout and four regions, then gone
                    os._exit(3)
            real_write(fd, payload)

        monkeypatch.setattr(inf, "_write_exactly", write)
    counted: list[bool] = []
    real_regions = inf.Inflater.regions

    def regions(self: Any, spaces: int, column: int) -> Any:
        for region in real_regions(self, spaces, column):
            counted.append(region[3] is not inf.UNCOUNTED)
            yield region

    monkeypatch.setattr(inf.Inflater, "regions", regions)
    for text in ("action=REJECT and dstport=443", "protocol=6"):
        monkeypatch.setenv("HAMARI_SCAN_HELPER", "0")
        alone = _scan(path, text)
        assert not counted
        monkeypatch.setenv("HAMARI_SCAN_HELPER", "1")
        shared = _scan(path, text)
        assert alone[0] and shared == alone
        assert alone[1][1]  # bad lines: the line-by-line path ran too
        assert any(counted)  # regions came from the inflater, counted there
        if case in ("inflater", "plain-text"):
            assert all(counted)
        elif case == "truncated-gzip":  # what precedes the break came, the break is said here
            assert "truncated" in " ".join(shared[2])
        else:  # and the rest were read here
            assert not all(counted) and counted[-1] is False
        # NDJSON with the plain matching lines written without records, the same
        want = _ndjson(path, parse_filter(text), raw=False)
        assert _ndjson(path, parse_filter(text), raw=True) == want
        counted.clear()


def test_the_inflater_counts_nothing_for_another_layout_and_the_regions_stay_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inflater counts with the layout it read from the header; a reader that parsed
    another gets every region uncounted, cut as it would cut them itself."""
    import tui.models.inflater as inf

    monkeypatch.setattr(inf, "_SCAN_READ", 16384)
    path = _big_file(tmp_path)
    local = [bytes(d[s:e]) for d, s, e in inf.regions(inf.chunks(path, True))]
    spaces, column = len(V5) - 1, V5.index("log-status")
    for asked, counted in (((spaces, column), True), ((spaces + 1, column), False)):
        inflater = inf.Inflater(path, True)
        try:
            got = [(bytes(d[s:e]), c) for d, s, e, c in inflater.regions(*asked)]
        finally:
            inflater.close()
        assert [g for g, _ in got] == local
        assert all((c is not inf.UNCOUNTED) is counted for _, c in got)
        if counted:
            assert [c for _, c in got][1:] == [
                inf.counts(r, 0, len(r), spaces, column, bytearray()) for r in local[1:]
            ]


def test_a_prefetched_inflater_is_adopted_only_for_the_same_file_and_stopped_if_unused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``hamari flows FILE.gz`` starts inflating before the rest of hamari is imported: the
    scan of that very file takes it over; a file changed since, or never scanned, does not
    keep a process alive."""
    import tui.models.inflater as inf

    monkeypatch.setattr(inf, "_HELPER_MIN_BYTES", 0)
    monkeypatch.setenv("HAMARI_SCAN_HELPER", "1")
    path = _big_file(tmp_path)
    want = _scan(path, "action=REJECT")
    inf.prefetch(["--filter", "action=REJECT", str(path), "ndjson"])
    started = inf._prefetched
    assert started is not None
    assert _scan(path, "action=REJECT") == want
    assert inf._prefetched is None  # adopted, and closed by the scan
    with pytest.raises(ChildProcessError):
        os.waitpid(started.pid, os.WNOHANG)

    inf.prefetch([str(path)])
    unused = inf._prefetched
    assert unused is not None
    os.utime(path, ns=(1, 1))  # the file changed since: not adopted
    assert inf.adopt(path, True) is None
    inf.discard_prefetched()
    with pytest.raises(ChildProcessError):
        os.waitpid(unused.pid, os.WNOHANG)
    inf.prefetch([str(path), str(tmp_path / "missing.gz")])
    inf.prefetch([str(path), str(path.with_name("copy.log.gz"))])
    assert inf._prefetched is not None  # one file named (the other does not exist)
    inf.discard_prefetched()
    path.with_name("copy.log.gz").write_bytes(path.read_bytes())
    inf.prefetch([str(path), str(path.with_name("copy.log.gz"))])
    assert inf._prefetched is None  # two files: which one is scanned is not guessed

    # The command stops it when it fails before any scan (here: a filter that does not parse).
    from tui.cli import main

    started_by_cli: list[Any] = []
    real_prefetch = inf.prefetch

    def prefetch(args: Any) -> None:
        real_prefetch(args)
        started_by_cli.append(inf._prefetched)

    monkeypatch.setattr(inf, "prefetch", prefetch)
    assert main(["flows", str(path), "--filter", "action=("]) == 2
    assert started_by_cli and started_by_cli[0] is not None
    assert inf._prefetched is None
    with pytest.raises(ChildProcessError):
        os.waitpid(started_by_cli[0].pid, os.WNOHANG)


def _ndjson(path: Path, flt: Any, *, raw: bool) -> tuple[str, Any]:
    """What ``hamari flows FILE --format ndjson`` writes, and its counts; with ``raw``, some
    lines must have been written without a record (RawBlock)."""
    import io

    from tui.headless.flows import _raw_formatter, _Writer
    from tui.models.flowscan import RawBlock

    out = io.StringIO()
    stats = ParseStats()
    rows = [
        rec for _, rec in scan_files(path, flt, stats=stats, raw=_raw_formatter if raw else None)
    ]
    _Writer("ndjson", None, with_explain=False, out=out).write(rows, str(path))
    blocks = sum(r.lines for r in rows if isinstance(r, RawBlock))
    assert blocks if raw else not blocks
    return out.getvalue(), _counts(stats)


# --- the pane's store: records added as they stream, a topology, a focused resource ----------


def _topology() -> Any:
    from tui.models.network import EniInfo, Topology

    enis = {}
    for k, eni in enumerate(f"eni-0{c}{n}" for c in "ab" for n in range(3)):  # eni-0?3 unknown
        enis[eni] = EniInfo(
            eni,
            "i-1" if k == 0 else None,
            "subnet-1",
            "vpc-1",
            "us-east-1a" if k % 2 else "us-east-1c",
            "use1-az1" if k % 2 else "use1-az6",
            tuple(f"10.{k % 3}.0.{j}" for j in range(k, 12, 3)),
            "tgw-attach-1" if k == 3 else None,
            "",
            "transit_gateway" if k == 3 else "interface",
            (),
        )
    return Topology(enis=enis, az_names={"use1-az6": "us-east-1c", "use1-az1": "us-east-1a"})


def _scope() -> Any:
    from tui.models.focus import FocusScope

    return FocusScope("i-1", frozenset({"i-1", "vol-1"}), frozenset({"eni-0a0", "eni-0b2"}))


@pytest.mark.parametrize("kind", AGGREGATIONS)
@pytest.mark.parametrize("text", ["", "action=REJECT", "srcaddr in 2600:1f18::/32 or port=22"])
@pytest.mark.parametrize("scoped", [False, True], ids=["all", "focused"])
def test_added_records_aggregate_like_pure_with_topology_and_focus(
    corpus: list[Path], tmp_path: Path, kind: str, text: str, scoped: bool
) -> None:
    """v2 records get their AZ and direction from the topology in SQL exactly as in Python;
    a focused resource keeps only its interfaces' flows (the IPv6 CIDR runs in Python)."""
    from tui.models.focus import flow_in_scope

    records, _ = _pure(corpus)
    topo, scope = _topology(), (_scope() if scoped else None)
    flt = parse_filter(text)
    pred = flt.to_predicate()
    want_records = [r for r in records if pred(r) and (scope is None or flow_in_scope(r, scope))]
    with FlowEngine(temp_directory=tmp_path) as engine:
        for i in range(0, len(records), 700):  # batches, as a stream delivers them
            engine.add(records[i : i + 700])
        got = engine.aggregate(kind, flt, limit=500, topology=topo, scope=scope)
        assert got == aggregate(want_records, kind, topo, limit=500)
        assert engine.count(flt, scope=scope) == len(want_records)
    if kind == "rejects-by-az" and not text and not scoped:
        assert any(row.label == "use1-az6 (us-east-1c)" for row in got)


@pytest.mark.parametrize("text", ["", "action=REJECT", "srcaddr in 2600:1f18::/32"])
def test_newest_matches_are_the_last_of_a_stable_sort_by_start(
    corpus: list[Path], tmp_path: Path, text: str
) -> None:
    records, _ = _pure(corpus)
    flt = parse_filter(text)
    pred = flt.to_predicate()
    matched = sorted((r for r in records if pred(r)), key=lambda r: r.start or 0)
    with FlowEngine(temp_directory=tmp_path) as engine:
        engine.add(records)
        for limit in (1, 50, len(records) + 1):
            got = engine.newest(flt, limit)
            want = matched[-limit:]
            assert [(r.start, r.raw) for r in got] == [(r.start, r.raw) for r in want] or [
                _norm(r.as_dict()) for r in got
            ] == [_norm(r.as_dict()) for r in want]


def test_conversation_records_pair_like_every_record(corpus: list[Path], tmp_path: Path) -> None:
    """The store hands over only the conversations with a REJECTed leg; pairing those finds
    exactly what pairing every record finds (ACCEPT one way, REJECT the other)."""
    from tui.models.flowlog import one_sided_conversations

    records, _ = _pure(corpus)
    eni_az = {"eni-0a0": "use1-az1", "eni-0b1": "use1-az6"}
    want = one_sided_conversations(records, eni_az)
    assert want  # the corpus has such conversations
    with FlowEngine(temp_directory=tmp_path) as engine:
        engine.add(records)
        subset = engine.conversation_records()
        assert 0 < len(subset) < len(records)
        assert one_sided_conversations(subset, eni_az) == want
