"""``hamari flows`` as a user runs it: a subprocess, the demo, pipes, and a bad filter."""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tui.demo.server import FaultRule

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", "flows", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_demo_rejects_by_az_shows_the_other_az() -> None:
    proc = _run(
        "--demo", "--filter", "action=REJECT", "--aggregate", "rejects-by-az", "--format", "table"
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["LABEL", "FLOWS", "REJECTS"]
    # The return legs REJECTed on the AZ-c Transit Gateway attachment outnumber the rest.
    assert "(us-east-1c)" in lines[1]
    assert int(lines[1].split()[3]) > int(lines[2].split()[3]) > 0
    assert "no flow log is enabled for" in proc.stderr and "(legacy)" in proc.stderr
    assert 'action="REJECT"' in proc.stderr  # the pattern pushed down is reported


def test_local_file_ndjson_without_textual_rich_or_the_aws_layer(tmp_path: Path) -> None:
    """A local file is a pipe stage: no UI, and not asyncio or botocore either (start-up time),
    nor what only a store, a topology, a config file or a misspelt field needs."""
    path = tmp_path / "flows.log.gz"
    lines = [
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status",
        "2 123 eni-1 10.0.0.1 10.0.0.2 40000 443 6 3 180 100 160 ACCEPT OK",
        "2 123 eni-1 10.0.0.2 10.0.0.1 443 40000 6 3 180 100 160 REJECT OK",
    ]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    code = (
        "import sys\n"
        "from tui.cli import main\n"
        f"rc = main(['flows', '--source', {str(path)!r}, '--filter', 'action=REJECT', '--format', 'ndjson'])\n"
        "heavy = ('textual', 'rich', 'moto', 'asyncio', 'botocore', 'aiobotocore', 'ssl',\n"
        "    'duckdb', 'tomllib', 'difflib', 'tempfile', 'tui.models.network', 'tui.models.nacl',\n"
        "    'tui.models.focus')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy)\n"
        "print('MODULES', bad, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert "MODULES []" in proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["action"], r["srcport"]) for r in rows] == [("REJECT", 443)]
    assert "1 row(s) shown of 2 read from 1 file(s); records 2" in proc.stderr


def test_bad_filter_exits_2_with_a_caret_under_the_column() -> None:
    proc = _run("--filter", "action=REJECT and dstprot=443", timeout=30)
    assert proc.returncode == 2
    err = proc.stderr.splitlines()
    assert err[0].startswith("hamari: bad --filter: unknown field 'dstprot'")
    assert err[1] == "  action=REJECT and dstprot=443"
    assert err[2] == "  " + " " * len("action=REJECT and ") + "^"
    assert proc.stdout == ""


@pytest.mark.parametrize("with_explain", [False, True])
@pytest.mark.parametrize(
    "line",
    [
        "5 123 eni-1 10.0.0.1 10.0.0.2 40000 443 6 3 180 100 160 REJECT OK",
        "5 123 eni-1 - - - - - - - 100 160 - NODATA",
        '5 "quo\\te" eni-\x1b[31mred 10.0.0.1 ::1 0 0 17 1 1 1 2 ACCEPT OK',
        "5 ｱｶｳﾝﾄ eni-ü\u2028 2600:1f18::1 10.0.0.2 1 2 1 3 4 5 6 ACCEPT OK",
    ],
    ids=["plain", "nodata", "quotes-escapes", "unicode"],
)
def test_fast_ndjson_lines_equal_the_json_encoder(line: str, with_explain: bool) -> None:
    """The generated per-format encoder writes exactly what json writes, hostile text included."""
    from tui.headless.flows import _line_encoder
    from tui.models.flowlog import FlowLogParser
    from tui.models.text import json_terminal_safe
    from tui.models.writers import ndjson_line

    fmt = "version account-id interface-id srcaddr dstaddr srcport dstport protocol"
    fmt += " packets bytes start end action log-status mystery-field"
    rec = FlowLogParser(fmt.split()).feed_line(line + " x\\y\t")
    assert rec is not None
    why = 'DENY by acl-1 rule 100 "in"' if with_explain else None
    row = {**rec.as_dict(), "where": "i-1 / subnet-1\n", "source": "/tmp/ü.log"}
    if with_explain:
        row = {**rec.as_dict(), "where": row["where"], "explain": why, "source": row["source"]}
    got = _line_encoder(rec.FORMAT, with_explain)(rec, row["where"], why, row["source"])
    assert json_terminal_safe(got) == ndjson_line(row)
    assert json.loads(got) == row


def test_a_value_of_an_unexpected_type_falls_back_to_the_json_encoder() -> None:
    import io

    from tui.headless.flows import _Writer
    from tui.models.flowlog import FlowLogParser

    fields = ["version", "interface-id", "srcport", "action"]
    rec = FlowLogParser(fields).feed_line("5 eni-1 443 ACCEPT")
    assert rec is not None
    odd = tuple.__new__(type(rec), (5, "eni-1", "443?", "ACCEPT", rec.raw))  # str in an int field
    out = io.StringIO()
    _Writer("ndjson", None, with_explain=False, out=out).write([rec, odd], "f.log")
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["srcport"] for r in rows] == [443, "443?"]


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_bad_lines_and_files_are_named_on_stderr_without_escapes(
    tmp_path: Path, engine: str
) -> None:
    """Counts say how many; the first samples say where and why, with terminal escapes
    neutralised (the file's text is untrusted). Both engines count files as files."""
    header = "version interface-id srcaddr dstaddr action log-status"
    good = gzip.compress(
        f"{header}\n5 eni-1 10.0.0.1 10.0.0.2 REJECT OK\n\x1b]0;pwned\x07x\n".encode()
    )
    (tmp_path / "a.log.gz").write_bytes(good)
    (tmp_path / "b.log.gz").write_bytes(good[: len(good) // 2])  # truncated
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "tui", "flows", str(tmp_path)),
            *("--filter", "action=REJECT", "--engine", engine),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "from 2 file(s)" in proc.stderr and "bad lines 1, bad files 1" in proc.stderr
    assert "a.log.gz:3: too few fields" in proc.stderr
    assert "b.log.gz" in proc.stderr and "truncated" in proc.stderr
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr


def test_millisecond_epochs_and_a_23_digit_count_are_named_lines_not_tracebacks(
    tmp_path: Path,
) -> None:
    """Issue 12.3: `ValueError: year 58889` in the table and `OverflowError` in --aggregate."""
    header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    good = "2 123 eni-1 10.0.0.1 10.0.0.2 40000 443 6 3 180 1700000000 1700000060 REJECT OK"
    ms = "2 123 eni-1 10.0.0.3 10.0.0.2 40000 443 6 3 180 1700000000000 1700000060000 REJECT OK"
    huge = "2 123 eni-1 10.0.0.4 10.0.0.2 40000 443 6 3 12345678901234567890123 1700000000 1700000060 REJECT OK"
    path = tmp_path / "flows.log"
    path.write_text("\n".join([header, good, ms, huge]) + "\n")
    for engine in ("auto", "python"):
        table = _run(str(path), "--filter", "bytes > 1", "--format", "table", "--engine", engine)
        agg = _run(str(path), "--aggregate", "top-talkers", "--format", "csv", "--engine", engine)
        for proc in (table, agg):
            assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
            assert "bad lines 2" in proc.stderr
            assert f"{path}:3: start is not a Unix time in seconds (milliseconds?)" in proc.stderr
            assert f"{path}:4: bytes is too large for a 64-bit count" in proc.stderr
        assert "2023-11-14 22:13:20" in table.stdout and "10.0.0.3" not in table.stdout
        assert agg.stdout.splitlines()[1].startswith("10.0.0.1 → 10.0.0.2,1,")


def _unreadable_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.log").write_bytes(b"")
    (folder / "notes.txt").write_text("hello world\n")
    (folder / "conf.yml").write_text("a: 1\n")
    whole = gzip.compress(
        ("\n".join(["2 123 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK"] * 5000)).encode()
    )
    (folder / "trunc.log.gz").write_bytes(whole[: len(whole) // 3])
    (folder / "bad.parquet").write_bytes(b"PAR1garbagePAR1")
    (folder / "x.json").write_text('{"a": 1}\n')
    return folder


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_every_file_not_read_is_named_with_its_reason_and_nothing_read_exits_2(
    tmp_path: Path, engine: str
) -> None:
    """Issue 11.7: each skipped file gets one line with the real reason; a run that read
    nothing is a failure, whatever the path through the engines."""
    folder = _unreadable_folder(tmp_path)
    (folder / "trunc.log.gz").rename(tmp_path / "trunc.log.gz")
    for extra in (
        [],
        ["--filter", "bytes > 1"],
        ["--filter", "action=REJECT"],
        ["--aggregate", "by-action"],
    ):
        proc = _run(str(folder), "--engine", engine, "--format", "csv", *extra)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        why = {
            "empty.log": "empty: no flow-log record in it",
            "notes.txt": "not a flow log: its one line is not a flow-log record (line 1: too few fields",
            "conf.yml": "not a flow-log file name",
            "bad.parquet": "corrupt Parquet: ",
            "x.json": "not a flow log: JSON that holds no flow-log line",
        }
        for name, reason in why.items():
            assert f"hamari: not read: {folder / name}: {reason}" in proc.stderr, (
                name,
                proc.stderr,
            )
        assert "hamari: nothing could be read: no flow-log record in" in proc.stderr
    # a truncated gzip: what precedes the break is kept, and the break is named
    (tmp_path / "trunc.log.gz").rename(folder / "trunc.log.gz")
    proc = _run(str(folder), "--engine", engine, "--format", "csv", "--filter", "bytes > 1")
    assert proc.returncode == 0, proc.stderr
    assert f"hamari: read in part: {folder / 'trunc.log.gz'}: truncated gzip" in proc.stderr
    assert "rows before it were read" in proc.stderr


def test_a_folder_of_unreadable_files_exits_2_and_one_good_file_makes_it_0(tmp_path: Path) -> None:
    folder = _unreadable_folder(tmp_path)
    (folder / "trunc.log.gz").unlink()
    proc = _run(str(folder), "--format", "csv", "--filter", "bytes > 1")
    assert (
        proc.returncode == 2
        and "hamari: nothing could be read: no flow-log record in" in proc.stderr
    )
    assert "fix: " in proc.stderr
    (folder / "good.log").write_text("2 123 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK\n")
    proc = _run(str(folder), "--format", "csv", "--filter", "bytes > 1")
    assert proc.returncode == 0, proc.stderr
    assert f"hamari: not read: {folder / 'empty.log'}: empty" in proc.stderr


def test_a_missing_source_is_one_line_and_exit_2() -> None:
    for args in (["--source", "/nonexistent/flows"], ["/nonexistent/flows", "--filter", "bytes>1"]):
        proc = _run(*args)
        assert proc.returncode == 2
        assert proc.stderr.startswith("hamari: No such file or folder: /nonexistent/flows\n")
        assert "Traceback" not in proc.stderr and "FileNotFoundError" not in proc.stderr


CORPUS_DOCS = ROOT.parent / "shared" / "corpus" / "flowlogs" / "awsdocs_amazon-vpc-user-guide"


@pytest.mark.skipif(not CORPUS_DOCS.is_dir(), reason="corpus not found")
@pytest.mark.parametrize("engine", ["auto", "python"])
def test_log_format_reads_a_headerless_custom_file(tmp_path: Path, engine: str) -> None:
    """Issue 11.11: lines copied from CloudWatch Logs in a custom format, no header line: 0
    records before ("too many fields for the default format"); --log-format reads them."""
    path = tmp_path / "copied.log"  # no .format sidecar beside it
    path.write_text((CORPUS_DOCS / "custom_tcp-flag-sequence.log").read_text())
    names = (CORPUS_DOCS / "custom_tcp-flag-sequence.format").read_text().split()
    fmt = " ".join(f"${{{n}}}" for n in names)  # as DescribeFlowLogs and the console write it
    without = _run(str(path), "--engine", engine, "--format", "csv", "--filter", "flags=syn")
    assert without.returncode == 2 and "--log-format" in without.stderr
    with_fmt = _run(
        str(path),
        "--engine",
        engine,
        "--format",
        "csv",
        "--filter",
        "flags=syn",
        "--log-format",
        fmt,
    )
    assert with_fmt.returncode == 0, with_fmt.stderr
    rows = list(csv.DictReader(io.StringIO(with_fmt.stdout)))
    assert [r["srcport"] for r in rows] == ["43416", "43418", "43638"]


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_a_guessed_layout_is_said_on_stderr(tmp_path: Path, engine: str) -> None:
    from tests.test_flowlog_parse import _v5_line

    path = tmp_path / "v5.log.gz"
    path.write_bytes(gzip.compress((_v5_line() + "\n" + _v5_line("ACCEPT", "22") + "\n").encode()))
    proc = _run(
        str(path), "--engine", engine, "--format", "csv", "--filter", "az=use1-az2 and bytes > 1"
    )
    assert proc.returncode == 0, proc.stderr
    assert f"hamari: note: {path}: no header line and no log format: its 29 fields" in proc.stderr
    assert "give --log-format if that is wrong" in proc.stderr
    assert len(proc.stdout.splitlines()) == 3  # header + both records


def test_a_log_format_naming_no_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    path.write_text("x\n")
    proc = _run(str(path), "--log-format", "   ")
    assert proc.returncode == 2 and "--log-format names no field" in proc.stderr


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_hamari_flows_reads_firehose_wrapped_lines_and_parsed_records(
    tmp_path: Path, engine: str
) -> None:
    """Issue 11.12: {"message": "2 123... REJECT OK"} lines and Insights-spelled records."""
    line = "2 123 eni-1 10.0.0.1 10.0.0.2 40000 5432 6 3 180 1700000000 1700000060 REJECT OK"
    record = {
        "srcAddr": "10.0.0.9",
        "dstAddr": "10.0.0.2",
        "dstPort": "5432",
        "action": "REJECT",
        "startTime": "1700000000",
        "endTime": "1700000060",
        "logStatus": "OK",
    }
    path = tmp_path / "firehose.json.gz"
    docs = [{"message": line}, {"message": line.replace("REJECT", "ACCEPT")}, record]
    path.write_bytes(gzip.compress("".join(json.dumps(d) for d in docs).encode()))  # concatenated
    proc = _run(
        str(path),
        "--engine",
        engine,
        "--format",
        "csv",
        "--filter",
        "action=REJECT and dstport=5432",
    )
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [r["srcaddr"] for r in rows] == ["10.0.0.1", "10.0.0.9"]
    assert "bad lines 0" in proc.stderr


# ------------------------------------------------------- several files, folders and odd entries

_HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status\n"
)


def _flow_file(path: Path, eni: str, action: str = "REJECT") -> Path:
    path.write_text(
        _HEADER + f"2 123 {eni} 10.0.0.1 10.0.0.2 40000 443 6 1 40 1700000000 1700000060 "
        f"{action} OK\n"
    )
    return path


@pytest.mark.parametrize(
    "extra",
    [
        ["--engine", "auto"],
        ["--engine", "python"],
        ["--filter", "action=REJECT"],
        ["--engine", "python", "--filter", "action=REJECT"],
        ["--since", "2023-11-14T00:00Z", "--until", "2023-11-16T00:00Z"],  # the Python path
    ],
)
def test_several_paths_are_read_as_one_source_each_record_naming_its_file(
    tmp_path: Path, extra: list[str]
) -> None:
    """README: `hamari flows ./flowlogs/*.gz --filter ...`. A glob of two files or more failed
    with "unrecognized arguments"; and the Python path named the folder, not the file, as each
    record's source (the DuckDB path named the file)."""
    a = _flow_file(tmp_path / "a.log", "eni-a")
    b = _flow_file(tmp_path / "b.log", "eni-b")
    folder = tmp_path / "more"
    folder.mkdir()
    c = _flow_file(folder / "c.log", "eni-c")
    proc = _run(str(a), str(b), str(folder), "--format", "ndjson", *extra)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["interface-id"], r["source"]) for r in rows] == [
        ("eni-a", str(a)),
        ("eni-b", str(b)),
        ("eni-c", str(c)),
    ]
    proc = _run(str(folder), "--format", "csv", *extra)  # one folder: its file, not itself
    assert [r["source"] for r in csv.DictReader(io.StringIO(proc.stdout))] == [str(c)]


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_several_paths_aggregate_together_and_a_missing_one_is_named(
    tmp_path: Path, engine: str
) -> None:
    a = _flow_file(tmp_path / "a.log", "eni-a")
    b = _flow_file(tmp_path / "b.log", "eni-b")
    proc = _run(str(a), str(b), "--engine", engine, "--aggregate", "by-action", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    (row,) = csv.DictReader(io.StringIO(proc.stdout))
    assert (row["label"], row["flows"], row["rejects"]) == ("REJECT", "2", "2")
    proc = _run(str(a), str(tmp_path / "gone.log"), "--engine", engine)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"hamari: No such file or folder: {tmp_path / 'gone.log'}\n")


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_a_fifo_and_odd_links_in_a_folder_are_named_not_skipped_in_silence(
    tmp_path: Path, engine: str
) -> None:
    """A FIFO, a broken symlink and a symlink to a folder were left out without a word."""
    import os

    _flow_file(tmp_path / "ok.log", "eni-ok")
    os.mkfifo(tmp_path / "pipe.log")
    (tmp_path / "gone.log").symlink_to(tmp_path / "nowhere.log")
    (tmp_path / "self.log").symlink_to(tmp_path / "self.log")  # a loop
    (tmp_path / "linked").symlink_to(tmp_path)
    proc = _run(str(tmp_path), "--engine", engine, "--format", "csv", timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 2
    for entry, why in [
        ("pipe.log", "a FIFO (named pipe), not a regular file"),
        ("gone.log", "a broken symlink (No such file or directory)"),
        ("self.log", "a broken symlink (Too many levels of symbolic links)"),
        ("linked", "a symlink to a folder: not followed"),
    ]:
        assert f"hamari: not read: {tmp_path / entry}: {why}" in proc.stderr, proc.stderr


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_bad_lines_past_those_named_are_said_to_exist(tmp_path: Path, engine: str) -> None:
    """12 bad lines, 3 named, and nothing said of the other 9."""
    path = _flow_file(tmp_path / "a.log", "eni-a")
    with path.open("a") as fh:
        fh.writelines(f"bogus line {n}\n" for n in range(12))
    proc = _run(str(path), "--engine", engine, "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    named = [line for line in proc.stderr.splitlines() if f"{path}:" in line]
    assert len(named) == 10, proc.stderr
    assert "  … and 2 more bad line(s) not listed here (the count is exact)" in proc.stderr
    assert "bad lines 12" in proc.stderr


def test_a_deeply_nested_json_file_is_named_in_words(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text('{"logEvents":' + "[" * 50_000 + "]" * 50_000 + "}")
    _flow_file(tmp_path / "ok.log", "eni-ok")
    proc = _run(str(tmp_path), "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    line = f"hamari: not read: {tmp_path / 'deep.json'}: not a flow log: JSON nested too deeply"
    assert line in proc.stderr.splitlines(), proc.stderr
    assert "RecursionError" not in proc.stderr


_PIPED_LINE = "2 123 eni-p 10.0.0.1 10.0.0.2 40000 443 6 1 40 1700000000 1700000060 REJECT OK"


@pytest.mark.parametrize(
    "body",
    [
        (_HEADER + _PIPED_LINE + "\n").encode(),
        gzip.compress((_HEADER + _PIPED_LINE + "\n").encode()),
        json.dumps({"logEvents": [{"id": "1", "timestamp": 1, "message": _PIPED_LINE}]}).encode(),
        b"    " + json.dumps({"logEvents": [{"message": _PIPED_LINE}]}).encode(),
    ],
    ids=["text", "gzip", "cwl-json", "indented-json"],
)
@pytest.mark.parametrize("engine", ["auto", "duckdb", "python"])
def test_a_pipe_is_read_as_a_source(body: bytes, engine: str) -> None:
    """`aws s3 cp s3://…/x.log.gz - | hamari flows /dev/stdin`: a pipe was "not read:
    UnsupportedOperation: File or stream is not seekable." and the run exited 2."""
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "flows", "/dev/stdin", "--engine", engine, "--format",
         "csv", "--filter", "action=REJECT"],
        input=body, capture_output=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    stderr = proc.stderr.decode()
    assert proc.returncode == 0, stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout.decode())))
    assert [(r["interface_id"], r["action"]) for r in rows] == [("eni-p", "REJECT")], stderr
    assert "seekable" not in stderr


_GOOD = "2 123 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK\n"
_TRAIL = '{"Records": [{"eventName": "StartInstances", "eventSource": "ec2.amazonaws.com"}]}\n'
_WHOLE = gzip.compress((_GOOD * 5000).encode())
_TRUNCATED = _WHOLE[: len(_WHOLE) // 3]


@pytest.mark.parametrize(
    ("files", "engine", "code", "counts", "loss"),
    [
        # a CloudTrail file given by mistake: named, skipped, no data lost
        ({"trail.json": _TRAIL}, "auto", 2, "bad files 0, not flow logs 1", False),
        # a README and a CloudTrail file among flow logs
        (
            {"a.log": _GOOD, "README.txt": "Flow logs of prod\n", "trail.json": _TRAIL},
            "auto",
            0,
            "bad lines 1, bad files 0, not flow logs 1",
            False,
        ),
        (
            {"a.log": _GOOD, "README.txt": "Flow logs of prod\n", "trail.json": _TRAIL},
            "python",
            0,
            "bad lines 1, bad files 0, not flow logs 1",
            False,
        ),
        # a truncated gzip is real loss, and says so
        ({"a.log": _GOOD, "b.log.gz": _TRUNCATED}, "auto", 0, "bad files 1", True),
        ({"trail.json": _TRAIL, "b.log.gz": _TRUNCATED}, "auto", 0, "not flow logs 1", True),
    ],
)
def test_a_file_that_is_not_a_flow_log_is_named_and_skipped_not_data_loss(
    tmp_path: Path, files: dict[str, str | bytes], engine: str, code: int, counts: str, loss: bool
) -> None:
    """A README or a CloudTrail file beside the flow logs is not lost data: it is counted and
    named as not a flow log; DATA LOSS stays for files whose records are missing."""
    for name, body in files.items():
        path = tmp_path / name
        path.write_bytes(body) if isinstance(body, bytes) else path.write_text(body)
    args = [str(tmp_path / n) for n in files]
    proc = _run(*args, "--engine", engine, "--format", "csv")
    assert proc.returncode == code, proc.stderr
    assert counts in proc.stderr
    assert ("DATA LOSS" in proc.stderr) is loss, proc.stderr
    if "trail.json" in files:
        why = "not a flow log: JSON that holds no flow-log line"
        assert f"hamari: not read: {tmp_path / 'trail.json'}: {why}" in proc.stderr


@pytest.mark.parametrize(
    ("source", "code", "says"),
    [
        ([], 2, "name the source: --source cwl:LOG_GROUP"),
        (["--source", "FILE"], 0, "reading FILE as you named it"),
    ],
    ids=["no-source", "source-named"],
)
def test_flow_logs_not_listed_advice_depends_on_the_source_named(
    worlds: Any, emulator: Any, tmp_path: Path, source: list[str], code: int, says: str
) -> None:
    """DescribeFlowLogs refused: never "no flow log is enabled" nor "returned none"; --source
    is suggested only to a user who has not passed it."""
    from tests.world2 import run_hamari

    world = worlds.demo
    path = tmp_path / "a.log"
    path.write_text(_GOOD)
    source = [str(path) if a == "FILE" else a for a in source]
    says = says.replace("FILE", str(path))
    emulator.faults.add(FaultRule("ec2", "DescribeFlowLogs", "access_denied"))
    try:
        proc = run_hamari(world, "flows", "--explain", *source, timeout=90)
    finally:
        emulator.faults.clear()
    assert proc.returncode == code, proc.stderr
    err = proc.stderr
    assert "could not be listed (Not allowed to call ec2:DescribeFlowLogs)" in err, err
    assert says in err, err
    assert ("--source cwl:" in err) is (not source), err
    assert "no flow log is enabled" not in err and "returned none" not in err, err
