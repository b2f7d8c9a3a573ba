"""``hamari metrics TARGET --demo``: IOPS and MB/s rows with their limits, without the UI stack."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=90
    )


def test_csv_for_the_slow_instance_has_iops_and_mbps_with_limits() -> None:
    """In a pipe, without --format, the answer is csv (scripts keep working; the terminal's
    default is the test below), with the limits of the slow instance's series."""
    done = run("-m", "tui", "metrics", "app-db-01", "--demo", "--since", "30m")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("time,resource,metric,")  # csv when not a terminal
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert rows and set(rows[0]) >= {"time", "resource", "metric", "value", "unit", "limit"}
    iops = [r for r in rows if r["unit"] == "IOPS" and r["limit"]]
    mbps = [r for r in rows if r["unit"] == "MB/s" and r["limit"]]
    assert iops and mbps
    assert any(r["limit_label"] == "81 MB/s EBS baseline" for r in mbps)
    assert any(r["limit_label"] == "3,000 IOPS gp3 baseline" for r in iops)
    assert all(float(r["percent_of_limit"]) >= 0 for r in iops if r["percent_of_limit"])
    assert "verdict: instance m5.large at its 81 MB/s EBS baseline" in done.stderr
    assert "1 GetMetricData request(s)" in done.stderr


def test_unknown_target_fails_with_a_hint_and_never_imports_the_ui() -> None:
    done = run("-X", "importtime", "-m", "tui", "metrics", "i-0123456789abcdef0", "--demo")
    assert done.returncode == 2
    assert "No instance 'i-0123456789abcdef0'" in done.stderr and "fix:" in done.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()}
    assert "textual" not in imported and "rich" not in imported


def test_at_a_terminal_the_default_is_a_line_per_series_under_the_verdict() -> None:
    """Mid-incident, ``hamari metrics app-db-01`` answers in a screen, not 4,500 CSV rows; the
    ones at their limit come first. (In a pipe the default stays csv: the test above.)"""
    import os

    from tests.ptyrun import hamari_argv, spawn

    proc = spawn(hamari_argv("metrics", "app-db-01", "--demo", "--since", "30m"), dict(os.environ))
    try:
        assert proc.wait(90) == 0, proc.output.decode(errors="replace")
    finally:
        proc.close()
    lines = proc.output.decode().replace("\r\n", "\n").splitlines()
    assert lines[0].startswith("verdict: instance m5.large at its 81 MB/s EBS baseline")
    header = next(i for i, ln in enumerate(lines) if ln.startswith("RESOURCE"))
    rows = lines[header + 1 :]
    assert 10 <= len(rows) <= 40  # one per series, not one per datapoint
    at_limit = [r for r in rows if r.rstrip().endswith("baseline") and "▲" in r]
    assert at_limit and rows[: len(at_limit)] == at_limit  # the ones at their limit lead
    assert any("MB/s" in r and "81 MB/s EBS baseline" in r for r in at_limit)
    assert not any("B/s" in r.split()[2:3] for r in rows)  # bytes shown as MB/s, not raw B/s
