"""``hamari flows FILE --filter ... --format ndjson`` writes a plain matching line without a record.

When every condition of the filter is a literal checked on the line's bytes, the process that
sifts the line writes it out itself (:class:`~tui.models.flowscan.RawBlock`): the output
must be byte for byte what the record path writes, for every line, including hostile values
(quotes, backslashes, ``%``, ``-``, leading zeros, huge numbers), and the counts must agree.
"""

from __future__ import annotations

import gzip
import io
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.test_flow_engines_agree import _line
from tui.headless.flows import _raw_formatter, _Writer
from tui.models.flowengine import scan_files
from tui.models.flowfilter import parse_filter
from tui.models.flowlog import ParseStats, layout_for
from tui.models.flowscan import RawBlock

HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status instance-id subnet-id custom-tag az-id"
)
FIELDS = HEADER.split()
# Values a hostile or broken line may carry in a text column, and in a number column.
TEXT = ["-", '"-"', 'a"b', "a\\b", "%s", "%%", "%(x)s", "{0}", ":", "-,", "é", "a\x1bb", "x"]
NUMBER = ["-", "0", "05", "+5", "-5", "5.5", "12345678901234567890123", "1700000000000", "7"]
# Every filter is pinned literals only: those are the ones whose lines go through unparsed.
FILTERS = [
    "action=REJECT",
    "action=REJECT and dstport=443",
    "dstport=443|22 and action=REJECT",
    "log-status=NODATA",
    "protocol=tcp and action=ACCEPT",
]


def _values(i: int, action: str, iid: str, subnet: str, az: str) -> list[str]:
    """A record of HEADER: the other engines' test line up to log-status, then these."""
    return [*_line(i, action)[:14], iid, subnet, f"tag-{i}", az]


@st.composite
def hostile_file(draw: st.DrawFn) -> bytes:
    n = draw(st.integers(1, 14))
    out = [HEADER]
    for i in range(n):
        action = draw(st.sampled_from(["ACCEPT", "REJECT", "REJECT"]))
        iid, subnet, az = (draw(st.sampled_from(["-", f"{k}-{i}"])) for k in ("i", "subnet", "az"))
        fields = _values(i, action, iid, subnet, az)
        if draw(st.booleans()):
            col = draw(st.sampled_from([1, 2, 3, 14, 15, 16, 17]))
            fields[col] = draw(st.sampled_from(TEXT))
        if draw(st.booleans()):
            col = draw(st.sampled_from([5, 8, 9, 10, 11]))
            fields[col] = draw(st.sampled_from(NUMBER))
        if draw(st.integers(0, 9)) == 0:
            fields = ["5", "123456789012", "eni-9", *["-"] * 7, "1700000000", "1700000060"]
            fields += ["-", "NODATA", "-", "-", "-", "-"]
        out.append(" ".join(fields))
    return "\n".join(out).encode("utf-8") + b"\n"


def _ndjson(path: Path, text: str, *, raw: bool) -> tuple[str, ParseStats, int]:
    stats = ParseStats()
    out = io.StringIO()
    writer = _Writer("ndjson", None, with_explain=False, out=out)
    formatter = _raw_formatter if raw else None
    rows = list(scan_files(path, parse_filter(text), stats=stats, raw=formatter))
    writer.write([rec for _, rec in rows], str(path))
    return out.getvalue(), stats, sum(rec.lines for _, rec in rows if type(rec) is RawBlock)


def _counts(s: ParseStats) -> tuple[object, ...]:
    return (
        s.records,
        s.bad_lines,
        s.nodata,
        s.skipdata,
        sorted((b.lineno, b.reason) for b in s.samples),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=hostile_file(), text=st.sampled_from(FILTERS), gz=st.booleans())
@example(
    data=(HEADER + "\n" + " ".join(_values(1, "REJECT", "-", '"-"', "%s")) + "\n").encode(),
    text="action=REJECT",
    gz=False,
)
def test_a_raw_line_is_written_as_its_record_would_be(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, text: str, gz: bool
) -> None:
    path = tmp_path_factory.mktemp("raw") / ("f.log.gz" if gz else "f.log")
    path.write_bytes(gzip.compress(data) if gz else data)
    want, want_stats, none = _ndjson(path, text, raw=False)
    got, got_stats, _ = _ndjson(path, text, raw=True)
    assert none == 0
    assert got == want
    assert _counts(got_stats) == _counts(want_stats)


def test_plain_lines_go_through_without_records_and_the_rest_are_parsed(tmp_path: Path) -> None:
    """Every where (instance / subnet / AZ, each present or not), and lines that must be parsed
    (a quote, a leading zero, a number too long to be sure of) next to plain ones."""
    lines = [HEADER]
    for i, (iid, subnet, az) in enumerate(
        itertools.product(["i-1", "-"], ["sn-1", "-"], ["a", "-"])
    ):
        lines.append(" ".join(_values(i, "REJECT", iid, subnet, az)))
    quoted, zero, long = (_values(9 + k, "REJECT", "i-9", "sn-9", "az9") for k in range(3))
    quoted[16] = 'x"y'
    zero[9] = "0100"
    long[10] = "170000000000"  # 12 digits: a year in range, but past the plain pattern
    lines += [" ".join(v) for v in (quoted, zero, long)]
    path = tmp_path / "f.log"
    path.write_text("\n".join(lines) + "\n")
    want, _, _ = _ndjson(path, "action=REJECT", raw=False)
    got, stats, raw = _ndjson(path, "action=REJECT", raw=True)
    assert got == want
    assert raw == 8 and stats.records == 11
    assert '"where": "i-1 / sn-1 / a"' in got and '"where": ""' in got
    assert '"where": "sn-1"' in got and '"custom-tag": "x\\"y"' in got
    assert '"bytes": 100,' in got  # 0100 parsed: the number, not the digits


@pytest.mark.parametrize(
    ("line", "plain"),
    [
        (" ".join(_values(1, "REJECT", "i-1", "sn-1", "a")), True),
        (" ".join(_values(1, "REJECT", "-", "-", "-")), True),
        (" ".join(_values(1, "REJECT", "i-1", "sn-1", "a")).replace(" 6 ", " 06 "), False),
        (" ".join(_values(1, "REJECT", "i-1", "sn-1", "a")).replace(" 6 ", " +6 "), False),
        (" ".join(_values(1, "REJECT", "i-1", "sn-1", "a")).replace(" 6 ", "  6 "), False),
        (" ".join(_values(1, "REJECT", "i-1", 'a"', "a")), False),
        (" ".join(_values(1, "REJECT", "i-1", "a\\", "a")), False),
        (" ".join(_values(1, "REJECT", "i-1", "a#b", "a")), False),
        (" ".join(_values(1, "REJECT", "i-1", "é", "a")), False),
        (" ".join(_values(1, "REJECT", "i-1", "a\x7fb", "a")), False),
        (" ".join(_values(1, "REJECT", "i-1", "sn-1", "a")) + " extra", False),
        (
            " ".join(_values(1, "REJECT", "i-1", "sn-1", "a")).replace("1700000001", "17000000010"),
            True,
        ),
        (
            " ".join(_values(1, "REJECT", "i-1", "sn-1", "a")).replace(
                "1700000001", "170000000100"
            ),
            False,
        ),
    ],
)
def test_the_plain_pattern_takes_only_what_the_parser_keeps_as_written(
    line: str, plain: bool
) -> None:
    assert bool(layout_for(tuple(FIELDS)).plain.fullmatch(line.encode())) is plain


def test_a_second_header_mid_file_stops_raw_lines_under_the_old_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concatenated files: a header with the same fields in another order, in a region parsed
    line by line (it holds a comment), after the scan's plan was made. Lines under the new
    header must not be written with the old field names."""
    import tui.models.inflater as inf

    monkeypatch.setattr(inf, "_SCAN_READ", 2048)
    first = [" ".join(_values(i, "REJECT", "i-1", "sn-1", "a")) for i in range(200)]
    swapped = [*FIELDS]
    swapped[14], swapped[15] = swapped[15], swapped[14]  # instance-id <-> subnet-id
    second = [" ".join(_values(i, "REJECT", "sn-2", "i-2", "b")) for i in range(200)]
    text = "\n".join([HEADER, *first, "# next file", " ".join(swapped), *second]) + "\n"
    path = tmp_path / "cat.log.gz"
    path.write_bytes(gzip.compress(text.encode()))
    want, want_stats, _ = _ndjson(path, "action=REJECT", raw=False)
    got, got_stats, raw = _ndjson(path, "action=REJECT", raw=True)
    assert raw and got == want
    assert _counts(got_stats) == _counts(want_stats)
    assert '"instance-id": "i-2"' in got and '"instance-id": "sn-2"' not in got


def test_a_hostile_file_name_is_escaped_in_the_lines_written_without_records(
    tmp_path: Path,
) -> None:
    """The source is the one value of a plain line's NDJSON that is not from the line: a file
    name with an escape sequence, a C1 control or a bidi override must reach no terminal."""
    name = "flows-\x1b]0;owned\x07-\x9b31m-\u202egz.txet.log"
    path = tmp_path / name
    path.write_text("\n".join([HEADER, " ".join(_values(1, "REJECT", "i-1", "sn-1", "a"))]) + "\n")
    want, _, _ = _ndjson(path, "action=REJECT", raw=False)
    got, _, raw = _ndjson(path, "action=REJECT", raw=True)
    assert raw == 1 and got == want
    assert "\x1b" not in got and "\x9b" not in got and "\u202e" not in got
    assert "\\u001b]0;owned\\u0007" in got and "\\u202e" in got
