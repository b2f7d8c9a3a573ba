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
    done = run("-m", "tui", "metrics", "app-db-01", "--demo", "--since", "30m", "--format", "csv")
    assert done.returncode == 0, done.stderr
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
