"""Headless output is a terminal too: no control sequence from data is written raw, in any format.

``hamari trail|flows|metrics`` write to a pipe, a file that is ``cat``-ed later, or straight to
the bastion's terminal. NDJSON escapes every control, bidi and zero-width character as
``\\uXXXX`` (valid JSON, lossless) and writes NaN/Infinity as ``null``; CSV and table cells carry
the TUI's visible escapes. The writers are checked with Hypothesis; then every verb runs in a
pseudo-terminal on hostile data (the emulator seeded as ``tests/pty_app.py`` does, and local
files), and what the terminal received is searched for the payloads.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile import HOSTILE
from tests.ptyrun import PtyProcess, hamari_argv, spawn, wait_all
from tests.test_safety_pty import LEAKS
from tui.models.text import display_safe, json_terminal_safe
from tui.models.writers import ndjson_line, write_csv, write_ndjson, write_table

ROOT = Path(__file__).resolve().parents[1]

# What must never be written raw: C0 but TAB/LF/CR, DEL, C1, and every format, surrogate and
# line/paragraph separator code point (bidi overrides, zero-width characters, tag characters).
_RAW = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|"
    + "|".join(
        re.escape(chr(cp))
        for cp in range(0x80, sys.maxunicode + 1)
        if unicodedata.category(chr(cp)) in ("Cf", "Cs", "Zl", "Zp")
    )
)


def raw_controls(text: str) -> list[str]:
    return sorted({repr(m.group()) for m in _RAW.finditer(text)})


def _no_constants(name: str) -> Any:
    raise AssertionError(f"bare {name} in NDJSON: not JSON")


ANY_TEXT = st.text(alphabet=st.characters(codec=None), max_size=40)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), ANY_TEXT, st.sampled_from(HOSTILE)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)


def _expected(value: Any) -> Any:
    """What a JSON reader gets back: NaN and infinities as null, everything else as it was."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _expected(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expected(v) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(ANY_TEXT, VALUES, max_size=6))
def test_ndjson_is_valid_lossless_and_terminal_safe(row: dict[str, Any]) -> None:
    line = ndjson_line(row)
    assert "\n" not in line and raw_controls(line) == []
    assert json.loads(line, parse_constant=_no_constants) == _expected(row)


def test_ndjson_writes_nan_and_infinity_as_null() -> None:
    """Today's bug: a NaN in a record was written as bare NaN (not JSON)."""
    out = io.StringIO()
    write_ndjson([{"v": math.nan, "w": [math.inf, -math.inf, 1.5]}], out)
    assert out.getvalue() == '{"v": null, "w": [null, null, 1.5]}\n'


def test_every_control_and_format_code_point_is_escaped_in_json() -> None:
    missed = [
        hex(cp)
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)) in ("Cc", "Cf", "Cs", "Zl", "Zp")
        and chr(cp) in json_terminal_safe(json.dumps(chr(cp), ensure_ascii=False))
    ]
    assert missed == []


@pytest.mark.parametrize("value", HOSTILE)
def test_ndjson_keeps_the_raw_value_and_shows_it_escaped(value: str) -> None:
    line = ndjson_line({"userAgent": value})
    assert json.loads(line) == {"userAgent": value}
    assert raw_controls(line) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(ANY_TEXT, st.sampled_from(HOSTILE), st.floats()), min_size=1, max_size=5))
def test_csv_and_table_cells_are_the_tuis_visible_escapes(cells: list[Any]) -> None:
    columns = [f"c{i}" for i in range(len(cells))]
    row = dict(zip(columns, cells, strict=True))
    out = io.StringIO()
    write_csv([row], columns, out)
    assert raw_controls(out.getvalue()) == []
    header, back = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == columns
    for got, value in zip(back, cells, strict=True):
        shown = display_safe(value)
        # Formula-looking cells keep their ' prefix (a spreadsheet would run them).
        assert got in (shown, "'" + shown), (got, value)
    table = io.StringIO()
    write_table([row], columns, table)
    assert raw_controls(table.getvalue()) == []
    assert len(table.getvalue().splitlines()) == 2  # one line per row, whatever the data


def test_csv_still_neutralises_formulas() -> None:
    out = io.StringIO()
    write_csv([{"a": '=HYPERLINK("x")', "b": "-1.5", "c": "@SUM(A1)"}], ["a", "b", "c"], out)
    assert list(csv.reader(io.StringIO(out.getvalue())))[1] == [
        '\'=HYPERLINK("x")',
        "-1.5",
        "'@SUM(A1)",
    ]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("-inf", "'-inf"),  # float() takes these; a spreadsheet runs them as =-inf, =+nan
        ("+nan", "'+nan"),
        ("-Infinity", "'-Infinity"),
        ("-1_000", "'-1_000"),
        ("-1 ", "'-1 "),
        (float("-inf"), "'-inf"),
        ("-1.5", "-1.5"),  # plain numbers stay numbers
        ("+3", "+3"),
        ("-.5", "-.5"),
        ("-1e5", "-1e5"),
        (-2, "-2"),
    ],
)
def test_csv_prefixes_what_a_spreadsheet_would_read_as_a_formula(value: Any, cell: str) -> None:
    out = io.StringIO()
    write_csv([{"a": value}], ["a"], out)
    assert list(csv.reader(io.StringIO(out.getvalue())))[1] == [cell]


def _flow_records(fields: list[str], lines: list[str]) -> list[Any]:
    from tui.models.flowlog import FlowLogParser

    parser = FlowLogParser(fields)
    return [r for line in lines if (r := parser.feed_line(line)) is not None]


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "table"])
def test_flows_writer_every_format_hostile_fields(fmt: str) -> None:
    """The flows verb's own writer (the generated NDJSON encoder, its fallback, csv, table)."""
    from tui.headless.flows import _Writer

    fields = ["version", "interface-id", "srcaddr", "srcport", "action", "subnet-id"]
    tokens = [re.sub(r"\s", "_", h) for h in HOSTILE if "\x00" not in h]
    recs = _flow_records(fields, [f"5 eni-{t} 10.0.0.1 443 REJECT {t}" for t in tokens])
    assert len(recs) == len(tokens)
    odd = tuple.__new__(type(recs[0]), (5, "eni-\x9b2J", "10.0.0.1", math.nan, "REJECT",
                                        "s\u202e", recs[0].raw))  # fmt: skip
    out = io.StringIO()
    _Writer(fmt, None, with_explain=False, out=out).write([*recs, odd], "src\x1b]0;t\x07")
    text = out.getvalue()
    assert raw_controls(text) == []
    if fmt == "ndjson":
        rows = [json.loads(line, parse_constant=_no_constants) for line in text.splitlines()]
        assert [r["subnet-id"] for r in rows[:-1]] == tokens  # lossless
        assert rows[-1]["srcport"] is None and rows[-1]["interface-id"] == "eni-\x9b2J"
        assert {r["source"] for r in rows} == {"src\x1b]0;t\x07"}


# -- every verb, in a pseudo-terminal ------------------------------------------------------


FORMATS = ("ndjson", "csv", "table")
# Shown escaped: proof that the hostile records reached the output at all.
SHOWN = {"ndjson": "\\u001b]52;c;aGFtYXJp", "csv": "\\x1b]52;c;aGFtYXJp", "table": "\\x1b]52;"}


def _env(home: Path) -> dict[str, str]:
    from tui.aws.session import DEMO_CREDENTIALS

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAMARI_"))}
    env.update(
        HOME=str(home),
        TERM="xterm-256color",
        PYTHONPATH=str(ROOT),
        LANG="C.UTF-8",
        AWS_CONFIG_FILE=str(home / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "none"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ACCESS_KEY_ID=DEMO_CREDENTIALS[0],
        AWS_SECRET_ACCESS_KEY=DEMO_CREDENTIALS[1],
    )
    return env


def _hostile_files(folder: Path, now: Any) -> tuple[Path, Path]:
    from tests.pty_app import trail_records

    trail = folder / "trail.json"
    trail.write_text(json.dumps({"Records": trail_records(now)}))
    fields = "version interface-id srcaddr dstaddr srcport dstport protocol packets bytes"
    fields += " start end action log-status subnet-id"
    stamp = int(now.timestamp()) - 120
    lines = [fields]
    for h in HOSTILE:
        token = re.sub(r"\s", "_", h) or "x"
        if "\x00" in token or re.search("[\ud800-\udfff]", token):
            continue
        lines.append(
            f"5 eni-{token} 10.0.0.1 10.0.0.2 4444 22 6 1 40 {stamp} {stamp + 60} REJECT OK {token}"
        )
    lines += [h.replace("\n", " ") for h in HOSTILE if not re.search("[\x00\ud800-\udfff]", h)]
    flows = folder / "flows.log"
    flows.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return trail, flows


@pytest.fixture(scope="module")
def captures(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, PtyProcess]:
    from datetime import timedelta

    from tests.demo_fixtures import DEMO_NOW
    from tests.pty_app import inject
    from tui.demo.seed import seed

    emulator.reset()
    world = seed(emulator.url, now=DEMO_NOW)
    inject(world)
    folder = tmp_path_factory.mktemp("headless-pty")
    trail_file, flows_file = _hostile_files(folder, DEMO_NOW)
    aws = ["--endpoint-url", emulator.url, "--region", world.region]
    since = ["--since", f"{DEMO_NOW - timedelta(hours=3):%Y-%m-%dT%H:%MZ}"]
    runs: dict[str, list[str]] = {}
    for fmt in FORMATS:
        f = ["--format", fmt]
        runs[f"trail-lookup-{fmt}"] = ["trail", *aws, *since, *f]
        runs[f"trail-file-{fmt}"] = ["trail", "--source", str(trail_file), *f]
        runs[f"flows-cwl-{fmt}"] = ["flows", "--source", f"cwl:{world.log_group_v5}", *aws,
                                    *since, *f]  # fmt: skip
        runs[f"flows-file-{fmt}"] = ["flows", str(flows_file), "--filter", "action=REJECT", *f]
        runs[f"flows-agg-{fmt}"] = ["flows", str(flows_file), "--engine", "python",
                                    "--aggregate", "rejects-by-eni", *f]  # fmt: skip
        runs[f"metrics-{fmt}"] = ["metrics", world.slow_instance_id, *aws, "--since", "1h", *f]
    runs["metrics-hostile-target"] = ["metrics", HOSTILE[0] + HOSTILE[7], *aws]
    procs = {name: spawn(hamari_argv(*argv), _env(folder), size=(200, 50))
             for name, argv in runs.items()}  # fmt: skip
    wait_all(list(procs.values()), 150)  # all run at once, every terminal read as it writes
    yield procs
    for proc in procs.values():
        proc.close()


VERB_RUNS = [
    f"{kind}-{fmt}"
    for kind in ("trail-lookup", "trail-file", "flows-cwl", "flows-file", "flows-agg", "metrics")
    for fmt in FORMATS
] + ["metrics-hostile-target"]


@pytest.mark.parametrize("name", VERB_RUNS)
def test_no_data_borne_sequence_reaches_the_terminal(
    captures: dict[str, PtyProcess], name: str
) -> None:
    proc = captures[name]
    text = bytes(proc.output).decode("utf-8", "surrogateescape")
    assert "Traceback" not in text, text[-2000:]
    leaks = {n: m.group() for n, p in LEAKS.items() if (m := p.search(text))}
    assert leaks == {}, {k: repr(v) for k, v in leaks.items()}
    assert "\x1b" not in text, repr(text[text.index("\x1b") - 40 :][:120])
    assert raw_controls(text.replace("\r", "")) == [], raw_controls(text)
    fmt = name.rsplit("-", 1)[1]
    if name.startswith(("trail", "flows-file", "flows-cwl")):
        assert SHOWN[fmt] in text, text[-1500:]  # the hostile records were written
    if name == "metrics-hostile-target":
        assert proc.status == 2 and "\\x1b]52;" in text, text[-1500:]
    else:
        assert proc.status == 0, text[-2000:]
