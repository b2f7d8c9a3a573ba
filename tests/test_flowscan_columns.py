"""The byte sift keeps exactly the lines the pure reader keeps, whatever column a literal sits in.

A literal is found by memchr on its rarest byte and its column by counting the spaces before it
on its line; these files put the literals where a careless search would be fooled (443 as the
source port, twice on one line, REJECT in a text column) and NODATA/SKIPDATA inside other words.
Records, counts and named bad lines must equal the pure reader's.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.models.flowengine import scan_files
from tui.models.flowfilter import parse_filter
from tui.models.flowlog import ParseStats, read_flow_logs

HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status az-id"
)


def _row(srcport: str = "40000", dstport: str = "443", action: str = "REJECT", **kw: str) -> str:
    fields = {
        "version": "2",
        "account": "123456789012",
        "eni": "eni-0abc",
        "src": "10.0.0.1",
        "dst": "10.0.1.2",
        "srcport": srcport,
        "dstport": dstport,
        "proto": "6",
        "packets": "3",
        "bytes": "120",
        "start": "1700000000",
        "end": "1700000060",
        "action": action,
        "status": "OK",
        "az": "use1-az1",
    }
    fields.update(kw)
    return " ".join(fields.values())


_NODATA = "2 123456789012 eni-0abc - - - - - - - 1700000000 1700000060 - NODATA use1-az1"
_SKIPDATA = _NODATA.replace("NODATA", "SKIPDATA")

CASES = [
    ("443 in its column", [_row()]),
    ("443 as the source port only", [_row(srcport="443", dstport="22")]),
    ("443 in both ports", [_row(srcport="443", dstport="443")]),
    ("REJECT as the interface", [_row(eni="REJECT", action="ACCEPT")]),
    ("REJECT as the interface and the action", [_row(eni="REJECT")]),
    ("ACCEPT with 443", [_row(action="ACCEPT")]),
    ("status words inside other fields", [_row(eni="NODATAx"), _row(az="SKIPDATA1"), _NODATA]),
    ("status rows", [_NODATA, _SKIPDATA, _row(), _SKIPDATA]),
    ("status words as the interface", [_row(eni="NODATA"), _row(eni="SKIPDATA", action="ACCEPT")]),
    ("a short line holding the literals", [_row(), _row().replace(" use1-az1", "")]),
    ("443 in both ports, then 22 and 443", [_row(srcport="443"), _row(srcport="22")]),
    ("the protocol number as a port", [_row(srcport="6", dstport="443"), _row(dstport="6")]),
    # One line short and one long: the region's spaces add up, the lines do not.
    (
        "short and long lines that add up",
        [_row().replace(" 10.0.0.1", ""), _row(srcport="443 1", dstport="22")],
    ),
    (
        "many ordinary lines",
        [_row(dstport=str(p), action=a) for p in (22, 443) for a in ("ACCEPT", "REJECT")] * 50,
    ),
]


@pytest.mark.parametrize(("name", "lines"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize(
    "text",
    [
        "action=REJECT and dstport=443",
        "dstport=443",
        "action=REJECT",
        # literals in adjacent columns, sharing the space between them, walked from either one
        "dstport=443 and protocol=6",
        "srcport=443 and dstport=443",
        "dstport=22 and action=REJECT",
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_sift_keeps_what_the_pure_reader_keeps(
    tmp_path: Path, name: str, lines: list[str], text: str, gz: bool
) -> None:
    data = ("\n".join([HEADER, *lines]) + "\n").encode()
    path = tmp_path / ("f.log.gz" if gz else "f.log")
    path.write_bytes(gzip.compress(data) if gz else data)
    flt = parse_filter(text)
    pred = flt.to_predicate()
    want_stats = ParseStats()
    want = [r for r in read_flow_logs(path, stats=want_stats) if pred(r)]
    got_stats = ParseStats()
    got = [r for _, r in scan_files(path, flt, stats=got_stats)]
    assert [r.as_dict() for r in got] == [r.as_dict() for r in want], name
    counts = ("records", "nodata", "skipdata", "bad_lines", "bad_files")
    if name == "short and long lines that add up" and text in _ADDS_UP:
        # Documented in scan_files: a region whose spaces add up is read as well-formed, so a
        # short and a long line that do not hold every literal count as records, not bad lines
        # (never shown, never lost: every line is still counted).
        assert got_stats.records + got_stats.bad_lines == want_stats.records + want_stats.bad_lines
        return
    assert {c: getattr(got_stats, c) for c in counts} == {c: getattr(want_stats, c) for c in counts}
    assert [(b.lineno, b.reason) for b in got_stats.samples] == [
        (b.lineno, b.reason) for b in want_stats.samples
    ]


_ADDS_UP = {"dstport=22 and action=REJECT"}


@given(
    st.binary(max_size=300).map(lambda b: b.replace(b"a", b" ").replace(b"b", b"\n")),
    st.integers(-5, 320),
    st.integers(-5, 320),
    st.integers(0, 400),
)
def test_the_simd_counts_equal_bytes_count(data: bytes, start: int, end: int, held: int) -> None:
    """The sift's line and field counts (a wrong count sends every region to the slow path,
    or lets a short line through): equal to ``bytes.count`` over any bounds, whatever the
    scratch buffer held before."""
    from tui.models.inflater import _newlines, _spaces

    lo, hi = max(0, min(start, len(data))), max(0, min(end, len(data)))
    if hi < lo:
        lo, hi = hi, lo
    scratch = bytearray(b"\x01" * held)
    assert _newlines(data, lo, hi) == data.count(b"\n", lo, hi)
    assert _spaces(data, lo, hi, scratch) == data.count(b" ", lo, hi)
    assert _spaces(data, lo, hi, scratch) == data.count(b" ", lo, hi)  # reused
