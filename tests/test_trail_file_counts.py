"""How many trail files were read, and what became of the others: every file counted once, in
exactly one named part, the parts adding up to the total, said the same way by the pane's
status line and by ``hamari trail`` on stderr ("173 files … 17 bad files; 34 not read" read as
if the unreadable files were counted twice: they were, and digests, empty files and archive
members were counted with them)."""

from __future__ import annotations

import gzip
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.apptools import AttachedRuntime, wait_for
from tui.app import HamariApp
from tui.aws.trailbatch import FileTally
from tui.panes.trail import TrailPane
from tui.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("tally", "scanned", "pages", "unit", "said"),
    [
        (FileTally(read=12), 432, 12, "files", "scanned 432 events in 12 files"),
        (FileTally(read=1), 1, 1, "files", "scanned 1 event in 1 file"),
        (
            FileTally(read=139, unreadable=17, skipped=17),
            5000,
            156,
            "files",
            "173 files: 139 read (5,000 events), 17 unreadable, "
            "17 skipped (digest, empty or not a log)",
        ),
        (
            FileTally(read=2, no_record=1, unreadable=1, skipped=2, parts_skipped=1),
            3,
            4,
            "files",
            "6 files: 2 read (3 events), 1 with no readable record, 1 unreadable, "
            "2 skipped (digest, empty or not a log); 1 archive member not read",
        ),
        (
            FileTally(read=1, parts_skipped=2),
            3,
            1,
            "files",
            "scanned 3 events in 1 file; 2 archive members not read",
        ),
        (
            FileTally(skipped=1),
            0,
            0,
            "files",
            "1 file: 0 read (0 events), 1 skipped (digest, empty or not a log)",
        ),
        (FileTally(), 0, 0, "files", "scanned 0 events in 0 files"),
        (FileTally(), 120, 3, "pages", "scanned 120 events in 3 pages"),
        (FileTally(), 50, 1, "pages", "scanned 50 events in 1 page"),
    ],
)
def test_the_file_summary_names_every_part_and_the_parts_add_up(
    tally: FileTally, scanned: int, pages: int, unit: str, said: str
) -> None:
    text = tally.describe(scanned, pages, unit)
    assert text == said
    whole = re.match(r"([\d,]+) files?: (.*?)(;|$)", text)
    if whole:  # "N files: a read (…), b …, c …": a + b + c == N, each part named
        parts = re.split(r", (?![^(]*\))", whole.group(2))  # not inside parentheses
        numbers = [int(p.split()[0].replace(",", "")) for p in parts]
        assert sum(numbers) == int(whole.group(1).replace(",", "")) == tally.total
        assert all(len(p.split()) > 1 for p in parts)


def _event(i: int) -> dict[str, Any]:
    return {
        "eventTime": "2024-05-01T12:00:00Z",
        "eventID": f"e{i}",
        "eventName": "StartInstances",
        "eventSource": "ec2.amazonaws.com",
        "userIdentity": {"type": "IAMUser", "userName": "alice"},
    }


def _folder(root: Path) -> None:
    """Six files: two read (one with a bad record, one an archive with a member not read),
    one whose every record is bad, one unreadable, a digest and an empty file."""
    records = lambda *r: json.dumps({"Records": list(r)})  # noqa: E731
    (root / "good.json").write_text(records(_event(1), _event(2), {"eventName": "x"}))
    (root / "bad.json.gz").write_bytes(b"\x1f\x8bnot really gzip")
    (root / "empty.json").write_text("")
    (root / "111_CloudTrail-Digest_us-east-1_20240501T1200Z_x.json.gz").write_bytes(
        gzip.compress(b"{}")
    )
    (root / "allbad.json").write_text(records({"eventName": "A"}, {"eventName": "B"}))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("x.json", records(_event(9)))
    with zipfile.ZipFile(root / "archive.zip", "w") as z:
        z.writestr("m.json", records(_event(3)))
        z.writestr("nested.zip", inner.getvalue())


FILES = (
    "6 files: 2 read (3 events), 1 with no readable record, 1 unreadable, "
    "2 skipped (digest, empty or not a log); 1 archive member not read"
)


def test_hamari_trail_says_every_file_once_with_a_line_for_each_not_read(tmp_path: Path) -> None:
    _folder(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "tui", "trail", "--source", str(tmp_path), "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    summary = done.stderr.splitlines()[-1]
    assert summary == (
        f"hamari: 3 events matched; {FILES}; 0 duplicates folded; 3 bad records skipped"
    ), done.stderr
    not_read = [line for line in done.stderr.splitlines() if line.startswith("hamari: not read:")]
    # One line per file not read (4 of the 6) and per archive member (1).
    assert len(not_read) == 4 + 1, not_read


async def test_the_pane_says_the_files_as_hamari_trail_does(
    emulator: Any, demo_world: Any, tmp_path: Path
) -> None:
    _folder(tmp_path)
    settings = Settings(demo=True, since="70m", trail_source=str(tmp_path))
    app = HamariApp(
        settings,
        clock=lambda: demo_world.now,
        demo_runtime=AttachedRuntime(emulator.url, demo_world),
    )
    async with app.run_test(size=(200, 40)) as pilot:
        pane = app.screen.query_one(TrailPane)
        assert await wait_for(pilot, lambda: pane._complete, 30)
        await pilot.pause(0.2)
        status = str(pane.query_one(".pane-status").render())
        assert f"{FILES} (b: list)" in status, status
        assert "3 bad records skipped (b: list)" in status, status
        assert "not read (b: list)" not in status.replace(FILES, "")  # said once, not twice
