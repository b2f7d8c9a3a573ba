"""Every engine reads a flow-log file the same way: the pure reader, the byte pre-filter, the
DuckDB scan of ``hamari flows`` and the DuckDB store of ``--aggregate`` (issue 12, item 2).

Generated files carry what real files carry when something went wrong upstream: a bad byte, a
tab, a comment, a double space, CRLF, a millisecond epoch, a 23-digit count, ``5.5`` where an
integer belongs. Every line must end up a record or a counted, named bad line, whatever the
engine.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb")

from tests.parquet import write_parquet
from tui.models.flowengine import FlowEngine, scan_files
from tui.models.flowfilter import parse_filter
from tui.models.flowlog import FlowRecord, ParseStats, read_flow_logs

HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status az-id"
)
# (column, value) pairs a broken line may carry instead of the right one
NUMBER_JUNK = [
    "5.5",
    "1e3",
    "0x10",
    "0b11",
    "-5",
    "+5",
    "05",
    "1_000",
    "12345678901234567890123",
    "9223372036854775807",
    "9223372036854775808",
    "1700000000000",
    "x",
    "\u0663",
]
TEXT_JUNK = ["a\tb", "a\u00a0b", "\u00e9t\u00e9", "a\x0bb", "a\x00b", "#c", "a#b", "\ufffd"]
BYTE_JUNK = [b"\xff", b"\xc3", b"\r", b"  ", b" # trailing comment", b" ", b"\t"]


def _line(i: int, action: str, status: str = "OK") -> list[str]:
    if status != "OK":
        start, end = str(1700000000 + i), str(1700000060 + i)
        return ["2", "123456789012", "eni-1", *["-"] * 7, start, end, "-", status, "use1-az1"]
    return [
        "2",
        "123456789012",
        f"eni-{i % 3}",
        f"10.0.0.{i % 7}",
        f"10.0.1.{i % 5}",
        str(40000 + i),
        "443" if i % 2 else "22",
        "6",
        str(1 + i % 9),
        str(100 * (i + 1)),
        str(1700000000 + i),
        str(1700000060 + i),
        action,
        status,
        f"use1-az{1 + i % 2}",
    ]


@st.composite
def broken_file(draw: st.DrawFn) -> bytes:
    """A header and up to 18 lines, some of them broken in one of the ways above."""
    n = draw(st.integers(1, 18))
    out = [HEADER.encode()]
    for i in range(n):
        status = draw(st.sampled_from(["OK", "OK", "OK", "NODATA", "SKIPDATA"]))
        fields = _line(i, draw(st.sampled_from(["ACCEPT", "REJECT"])), status)
        how = draw(st.sampled_from(["clean", "clean", "number", "text", "bytes", "count", "blank"]))
        if how == "number":
            col = draw(st.sampled_from([5, 6, 7, 8, 9, 10, 11]))
            fields[col] = draw(st.sampled_from(NUMBER_JUNK))
        elif how == "text":
            col = draw(st.sampled_from([2, 3, 12, 14]))
            fields[col] = draw(st.sampled_from(TEXT_JUNK))
        elif how == "count":
            del fields[draw(st.integers(0, len(fields) - 1))]
        line = " ".join(fields).encode()
        if how == "bytes":
            at = draw(st.integers(0, len(line)))
            line = line[:at] + draw(st.sampled_from(BYTE_JUNK)) + line[at:]
        elif how == "blank":
            line = draw(st.sampled_from([b"", b"   ", b"# a comment", b"  # indented comment"]))
        out.append(line)
    data = b"\n".join(out)
    return data + (b"\n" if draw(st.booleans()) else b"")


def _key(rec: FlowRecord) -> str:
    return repr(sorted(rec.as_dict().items(), key=lambda kv: kv[0]))


def _counts(s: ParseStats) -> tuple[int, int, int, int, int]:
    return (s.records, s.bad_lines, s.nodata, s.skipdata, s.bad_files)


def _named(s: ParseStats) -> list[tuple[int, str]]:
    return sorted((b.lineno, b.reason) for b in s.samples)


def _write(tmp: Path, data: bytes, gz: bool) -> Path:
    path = tmp / ("f.log.gz" if gz else "f.log")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


# The first pins a literal (the byte pre-filter), the others run in DuckDB.
FILTERS = ["action=REJECT", "bytes > 300", "not dstport=22", "srcaddr in 10.0.0.0/30"]
_ONE = HEADER + "\n2 123456789012 eni-0 10.0.0.0 10.0.1.0 40000 22 6 1 100 1700000000 1700000060 "


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=broken_file(), gz=st.booleans(), text=st.sampled_from(FILTERS))
@example(
    data=(_ONE + "ACCEPT OK use1-az1").replace("40000", "5.5").encode(), gz=False, text="bytes > 3"
)
@example(
    data=(_ONE + "ACCEPT OK use1-az1").replace("eni-0", "a\tb").encode(), gz=False, text="bytes > 3"
)
@example(data=(_ONE + "REJECT OK use1-az1 #").encode(), gz=True, text="bytes > 3")
@example(data=(_ONE + "REJECT OK #c").encode(), gz=True, text="bytes > 3")
@example(data=(_ONE + "REJECT OK use1-az1\n  # note").encode(), gz=False, text="bytes > 3")
@example(
    data=(_ONE + "REJECT OK use1-az1").replace("1700000000", "1700000000000").encode(),
    gz=False,
    text="bytes > 3",
)
@example(
    data=(_ONE + "REJECT OK use1-az1").replace(" 100 ", " 12345678901234567890123 ").encode(),
    gz=True,
    text="srcaddr in 10.0.0.0/30",
)
def test_scan_and_store_read_a_broken_file_as_the_pure_reader(
    tmp_path: Path, data: bytes, gz: bool, text: str
) -> None:
    """Same records, same counts and the same named bad lines (file:line, why) everywhere.

    The byte pre-filter (a literal in the filter) parses only the lines holding the literal and
    counts the others from their bytes, so a line it never parses is a record (or a status
    row) to it even when a number in it is bad: there the lines accounted for must agree.
    """
    path = _write(tmp_path, data, gz)
    flt = parse_filter(text)
    pred = flt.to_predicate()
    want_stats = ParseStats()
    every = list(read_flow_logs(path, stats=want_stats))
    want = sorted(_key(r) for r in every if pred(r))

    got_stats = ParseStats()
    got = sorted(_key(r) for _, r in scan_files(path, flt, stats=got_stats))
    assert got == want
    if text == FILTERS[0]:
        assert got_stats.bad_files == want_stats.bad_files
        assert sum(_counts(got_stats)[:4]) == sum(_counts(want_stats)[:4])
    else:
        assert _counts(got_stats) == _counts(want_stats)
        assert _named(got_stats) == _named(want_stats)

    with FlowEngine(temp_directory=tmp_path, on_disk=False) as engine:
        stored = engine.load_files(path)
        assert _counts(stored) == _counts(want_stats)
        assert _named(stored) == _named(want_stats)
        assert sorted(_key(r) for r in engine.records(flt)) == want


def test_a_reject_with_a_bad_byte_or_a_huge_count_is_never_lost(tmp_path: Path) -> None:
    """The issue's file: DuckDB dropped the REJECT with one bad byte, and the one with a 23-digit
    count, and said "bad lines 0"."""
    lines = [HEADER] + [" ".join(_line(i, "ACCEPT")) for i in range(30)]
    bad_byte = " ".join(_line(40, "REJECT")).replace("10.0.0.5", "10.0.0.\udcff")
    huge = _line(41, "REJECT")
    huge[9] = "12345678901234567890123"
    data = "\n".join(lines).encode() + b"\n"
    data += bad_byte.encode("utf-8", "surrogateescape") + b"\n" + " ".join(huge).encode() + b"\n"
    path = _write(tmp_path, data, gz=True)
    stats = ParseStats()
    got = [r for _, r in scan_files(path, parse_filter("bytes > 10"), stats=stats)]
    assert [r.srcaddr for r in got if r.action == "REJECT"] == ["10.0.0.\ufffd"]
    assert stats.bad_lines == 1 and stats.samples[0].lineno == 33
    assert "bytes is too large" in stats.samples[0].reason
    with FlowEngine(temp_directory=tmp_path) as engine:
        engine.load_files(path)
        assert engine.stats.bad_lines == 1 and engine.count(parse_filter("action=REJECT")) == 1


def test_parquet_with_bad_numbers_loads_as_the_pure_reader(tmp_path: Path) -> None:
    """A float count, a negative port and a millisecond epoch in Parquet: DuckDB's casts would
    round or keep them; the store names them as the pure reader does."""
    path = write_parquet(
        tmp_path / "f.parquet",
        {
            "version": ("BIGINT", [2, 2, 2, 2]),
            "srcaddr": ("VARCHAR", ["10.0.0.1"] * 4),
            "dstport": ("DOUBLE", [443.0, 5.5, 443.0, 443.0]),
            "srcport": ("BIGINT", [1, 2, -3, 4]),
            "start": ("BIGINT", [1700000000, 1700000000, 1700000000, 1700000000000]),
            "action": ("VARCHAR", ["REJECT"] * 4),
            "log_status": ("VARCHAR", ["OK"] * 4),
        },
    )
    want = ParseStats()
    recs = list(read_flow_logs(path, stats=want))
    assert (len(recs), want.bad_lines) == (1, 3)
    with FlowEngine(temp_directory=tmp_path) as engine:
        got = engine.load_files(path)
        assert _counts(got) == _counts(want) and _named(got) == _named(want)
        assert [r.dstport for r in engine.records()] == [443]


def test_the_panes_store_takes_a_big_file_with_one_overflowing_count(tmp_path: Path) -> None:
    """The pane streams parsed records into the store once memory is full: a 23-digit count
    used to fail Arrow's int64 conversion there and lose the store. It is a named bad line."""
    lines = [HEADER] + [" ".join(_line(i, "ACCEPT")) for i in range(60_000)]
    huge = _line(29_999, "REJECT")
    huge[9] = "123456789012345678901234567"  # bytes
    lines[30_000] = " ".join(huge)
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode(), gz=True)
    stats = ParseStats()
    records = list(read_flow_logs(path, stats=stats))
    assert (len(records), stats.bad_lines) == (59_999, 1)
    assert stats.samples[0].lineno == 30_001 and "too large" in stats.samples[0].reason
    with FlowEngine(temp_directory=tmp_path) as engine:
        engine.add(records)
        assert engine.count() == 59_999
