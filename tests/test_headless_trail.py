"""``hamari trail`` in a subprocess: the KMS denials of incident 1, local corpus files, no textual."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    assert "bad files" in done.stderr


def test_trail_verb_does_not_import_textual() -> None:
    code = (
        "import sys, tui.cli as c; c._load_verbs(); import tui.headless.trail, tui.aws.cloudtrail;"
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
