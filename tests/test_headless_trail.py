"""``hamari trail`` in a subprocess: the KMS denials of incident 1, local corpus files, no textual."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path("/work/shared/corpus/cloudtrail")


def hamari(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=Path(__file__).resolve().parents[1],
    )


def test_demo_ndjson_prints_the_kms_denials() -> None:
    done = hamari("trail", "--demo", "--filter", "error:AccessDenied*", "--format", "ndjson")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events, done.stderr
    assert {e["eventName"] for e in events} == {"CreateGrant", "Decrypt"}
    assert all(e["errorCode"] == "AccessDenied" for e in events)
    assert all(e["userIdentity"]["invokedBy"] == "ec2.amazonaws.com" for e in events)
    assert "scanned" in done.stderr


def test_malformed_filter_points_at_its_column() -> None:
    done = hamari("trail", "--source", "/nonexistent", "--filter", "name:Start* bogus:x")
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert "unknown field" in lines[0]
    caret = lines[-1]
    assert caret.index("^") - 2 == len("name:Start* ")


@pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus absent")
def test_local_corpus_folder_prints_events_and_counts_bad_files() -> None:
    done = hamari("trail", "--source", str(CORPUS), "--format", "csv")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("time,event_name,source,principal")
    assert len(lines) > 100
    summary = done.stderr.splitlines()[-1]  # "188 files: 154 read (…), …, 17 unreadable, …"
    assert " files: " in summary and " unreadable" in summary, summary


def test_trail_verb_does_not_import_textual() -> None:
    code = (
        "import sys, tui.cli as c; c._load_verbs(); import tui.headless.trail, tui.aws.cloudtrail;"
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------------------- issue 11


def _records(*events: dict[str, object]) -> str:
    return json.dumps({"Records": list(events)})


def _event(event_id: str, name: str = "StartInstances") -> dict[str, object]:
    return {
        "eventTime": "2024-05-01T12:00:00Z",
        "eventID": event_id,
        "eventName": name,
        "eventSource": "ec2.amazonaws.com",
        "userIdentity": {"type": "IAMUser", "userName": "alice"},
    }


def test_files_not_read_get_one_line_each_and_nothing_read_exits_non_zero(tmp_path: Path) -> None:
    (tmp_path / "111_CloudTrail-Digest_us-east-1_20240501T1200Z_x.json.gz").write_text("{}")
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "rule.yml").write_text("Log:\n  eventName: x\n")
    (tmp_path / "export.ndjson").write_text('{"eventName": "A"}\n{"eventName": "B"}\n')
    done = hamari("trail", "--source", str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    for name, why in [
        ("CloudTrail-Digest", "digest"),
        ("empty.json", "empty file"),
        ("rule.yml", ".yml"),
        ("export.ndjson", "missing eventTime"),
    ]:
        (line,) = [x for x in lines if name in x]
        assert why in line and line.startswith("hamari: not read: ")
    assert "Extra data" not in done.stderr
    assert "nothing could be read" in done.stderr and "fix:" in done.stderr


def test_a_readable_file_beside_unreadable_ones_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "ok.json").write_text(_records(_event("a")))
    done = hamari("trail", "--source", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1
    assert "empty.json: empty file" in done.stderr


def test_summary_says_how_many_duplicates_were_folded(tmp_path: Path) -> None:
    shared = [_event("same", "StartInstances"), _event("same", "StopInstances")]
    (tmp_path / "a.json").write_text(_records(*shared, _event("b")))
    (tmp_path / "a-again.json").write_text(_records(*shared))  # delivered twice
    done = hamari("trail", "--source", str(tmp_path), "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1 + 3  # header + the three distinct calls
    assert "3 events matched; scanned 5 events in 2 files; 2 duplicates folded" in done.stderr


@pytest.mark.parametrize("verb", ["trail", "flows"])
def test_a_negated_filter_term_is_not_taken_for_an_option(verb: str, tmp_path: Path) -> None:
    source = tmp_path / "x.json"
    source.write_text(_records(_event("a"), _event("b") | {"eventSource": "kms.amazonaws.com"}))
    done = hamari(verb, "--source", str(source), "--filter", "-source:ec2")
    assert "expected one argument" not in done.stderr
    assert "unrecognized arguments" not in done.stderr
    if verb == "trail":
        assert done.returncode == 0, done.stderr
        (event,) = [json.loads(line) for line in done.stdout.splitlines()]
        assert event["eventID"] == "b"


def test_ndjson_from_files_is_written_one_file_at_a_time(tmp_path: Path) -> None:
    """On an unbuffered stdout (``python -u``) each write is a system call: one per file with
    matches, not two per event."""
    import gzip
    import io

    from tui.aws.cloudtrail import parse_source
    from tui.headless.trail import _drain_local, _Totals
    from tui.models.trailfilter import compile_filter

    def event(n: int, i: int) -> dict[str, object]:
        return {
            "eventVersion": "1.09",
            "eventTime": f"2025-03-01T08:{n:02d}:{i:02d}Z",
            "eventSource": "kms.amazonaws.com",
            "eventName": "Decrypt",
            "eventID": f"evt-{n}-{i}",
            **({"errorCode": "AccessDenied"} if i % 4 == 0 else {}),
        }

    for n in range(3):
        body = json.dumps({"Records": [event(n, i) for i in range(20)]}).encode()
        (tmp_path / f"{n}.json.gz").write_bytes(gzip.compress(body))
    (tmp_path / "3.json.gz").write_bytes(
        gzip.compress(b'{"Records":[' + json.dumps(event(3, 1)).encode() + b"]}")
    )

    class Counted(io.StringIO):
        writes = 0

        def write(self, text: str) -> int:
            self.writes += 1
            return super().write(text)

    out = Counted()
    flt = compile_filter("error:AccessDenied*")
    _drain_local(parse_source(str(tmp_path)), None, flt, _Totals(), "ndjson", out)
    lines = out.getvalue().splitlines()
    assert [json.loads(line)["eventID"] for line in lines[:5]] == [
        f"evt-0-{i}" for i in range(0, 20, 4)
    ]
    assert (len(lines), out.writes) == (15, 3)


# ------------------------------------------------------------------ hostile files and folders

_DEEP = 50_000  # far past any JSON decoder's nesting limit


_DEEP_FILES = {
    "deep-records.json": '{"Records":[' + "[" * _DEEP + "]" * _DEEP + "]}",
    "deep-params.json": (
        '{"Records":[{"eventTime":"2024-05-01T12:00:00Z","eventID":"d","eventName":"X",'
        '"eventSource":"ec2.amazonaws.com","requestParameters":'
        + '{"a":' * _DEEP
        + "1"
        + "}" * _DEEP
        + "}]}"
    ),
}


@pytest.mark.parametrize("name", sorted(_DEEP_FILES))
@pytest.mark.parametrize("flt", ["", "error:AccessDenied*", "name:StartInstances"])
def test_a_deeply_nested_file_is_named_and_the_others_are_still_read(
    tmp_path: Path, name: str, flt: str
) -> None:
    """A file nested past the decoder's limit crashed the whole run with a RecursionError
    traceback (the fast route's decoder let it through) and printed nothing of the good files."""
    (tmp_path / name).write_text(_DEEP_FILES[name])
    (tmp_path / "ok.json").write_text(_records(_event("a") | {"errorCode": "AccessDenied"}))
    done = hamari("trail", "--source", str(tmp_path), "--filter", flt)
    assert "Traceback" not in done.stderr, done.stderr[-1500:]
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["eventID"] for line in done.stdout.splitlines()] == ["a"]
    assert f"hamari: not read: {tmp_path / name}: JSON nested too deeply" in done.stderr


def test_a_fifo_or_a_link_in_a_folder_is_named_not_opened(tmp_path: Path) -> None:
    """A FIFO in a folder made `hamari trail --source DIR` wait forever for a writer; a symlink
    to a folder was left out without a word."""
    import os

    (tmp_path / "ok.json").write_text(_records(_event("a")))
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "more.json").write_text(_records(_event("b")))
    (tmp_path / "linked").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "gone.json").symlink_to(tmp_path / "nowhere.json")
    done = hamari("trail", "--source", str(tmp_path), timeout=30)
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(line)["eventID"] for line in done.stdout.splitlines()) == ["a", "b"]
    for entry, why in [
        ("pipe.json", "a FIFO (named pipe), not a regular file"),
        ("linked", "a symlink to a folder: not followed"),
        ("gone.json", "a broken symlink"),
    ]:
        assert f"hamari: not read: {tmp_path / entry}: {why}" in done.stderr, done.stderr


def test_a_pipe_named_as_the_source_is_read(tmp_path: Path) -> None:
    """`--source <(zcat trail.json.gz)`: a pipe the user names is read, not refused."""
    import os
    import threading

    fifo = tmp_path / "named-pipe"
    os.mkfifo(fifo)
    body = _records(_event("a"), _event("b")).encode()

    def feed() -> None:
        with open(fifo, "wb") as w:
            w.write(body)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    done = hamari("trail", "--source", str(fifo), timeout=30)
    writer.join(5)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["eventID"] for line in done.stdout.splitlines()] == ["a", "b"]


@pytest.mark.parametrize("flt", ["", "name:StartInstances"])
@pytest.mark.parametrize(("bad", "unnamed"), [(2, 0), (14, 11)])
def test_bad_records_past_those_named_are_said_to_exist(
    tmp_path: Path, flt: str, bad: int, unnamed: int
) -> None:
    """14 bad records, 3 named, and nothing said of the other 11."""
    lines = [json.dumps(_event("ok"))] + [json.dumps({"eventName": f"b{i}"}) for i in range(bad)]
    (tmp_path / "export.ndjson").write_text("\n".join(lines) + "\n")
    done = hamari("trail", "--source", str(tmp_path), "--filter", flt)
    assert done.returncode == 0, done.stderr
    named = [x for x in done.stderr.splitlines() if x.startswith("hamari: skipped: ")]
    assert len(named) == bad - unnamed, done.stderr
    more = f"hamari: … and {unnamed} more bad record(s) not listed here (the count is exact)"
    assert (more in done.stderr.splitlines()) is (unnamed > 0), done.stderr
    assert f"; {bad} bad records skipped" in done.stderr


def test_at_a_terminal_rows_are_a_table_that_never_starts_on_the_progress_line() -> None:
    """A person at a terminal gets the columns, not walls of JSON; the progress line on the same
    terminal is erased before the first row (a row began after '… ~1 s' on that line)."""
    import os
    import re

    from tests.ptyrun import hamari_argv, spawn

    shared = (
        os.environ.get("HAMARI_CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "corpus"
    )
    corpus = Path(shared) / "cloudtrail" / "invictus-ir_aws_dataset"
    if not corpus.is_dir():
        pytest.skip("the shared corpus is not here")
    proc = spawn(
        hamari_argv("trail", "--source", str(corpus), "--filter", "error:AccessDenied*"),
        dict(os.environ),
        size=(200, 50),
    )
    try:
        assert proc.wait(90) == 0, proc.output.decode(errors="replace")
    finally:
        proc.close()
    screen = []
    for line in proc.output.decode(errors="replace").split("\n"):
        shown = line.rstrip("\r").split("\r")[-1]  # what a carriage return leaves visible
        screen.append(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown))
    header = [ln for ln in screen if "EVENT_NAME" in ln]
    assert header and header[0].startswith("TIME"), header
    assert not any(ln.lstrip().startswith("{") for ln in screen)  # no raw JSON at a terminal
    assert any("AccessDenied" in ln and "AssumeRole" in ln for ln in screen)


def test_sts_refused_is_one_warning_in_words_for_a_command_and_the_events_still_print(
    worlds: Any, emulator: Any
) -> None:
    """GetCallerIdentity refused (an STS VPC endpoint policy) does not stop ``hamari trail``:
    one warning on stderr, in words that fit a command (no "panes"), with where to look; AWS's
    message (untrusted: a C1 CSI and a bidi override here) never reaches the terminal raw; and
    the events are printed."""
    from tests.world2 import run_hamari
    from tui.demo.server import FaultRule

    world = worlds.demo
    hostile = "Not allowed by the endpoint policy \x9b2J\u202eevil"
    emulator.faults.add(FaultRule("sts", "GetCallerIdentity", "access_denied", message=hostile))
    try:
        proc = run_hamari(world, "trail", "--format", "ndjson", timeout=90)
    finally:
        emulator.faults.clear()
    assert proc.returncode == 0, proc.stderr
    warning = [line for line in proc.stderr.splitlines() if "GetCallerIdentity" in line]
    assert len(warning) == 1 and "STS VPC endpoint" in warning[0], proc.stderr
    assert "goes on without them" in warning[0] and "pane" not in warning[0], proc.stderr
    assert "\x9b" not in proc.stderr and "\u202e" not in proc.stderr, repr(proc.stderr)
    assert [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr
