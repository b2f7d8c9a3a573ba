"""``hamari trail --remote`` in a subprocess against the demo's emulator (CloudTrail Lake)."""

from __future__ import annotations

import json

from tests.test_headless_trail import hamari

FILTER = "error:AccessDenied*"


def test_remote_runs_the_filter_in_lake_and_prints_the_same_events_as_lookup() -> None:
    remote = hamari(
        "trail", "--demo", "--remote", "--yes", "--filter", FILTER, "--since", "6h", timeout=180
    )
    assert remote.returncode == 0, remote.stderr
    assert "Lake SQL: SELECT " in remote.stderr and "WHERE eventTime >= " in remote.stderr
    assert "Lake finished" in remote.stderr and "Traceback" not in remote.stderr
    lookup = hamari("trail", "--demo", "--filter", FILTER, "--since", "6h", timeout=180)
    assert lookup.returncode == 0, lookup.stderr
    got = [json.loads(line) for line in remote.stdout.splitlines()]
    want = [json.loads(line) for line in lookup.stdout.splitlines()]
    assert want and {e["eventID"] for e in got} == {e["eventID"] for e in want}
    assert all(e["errorCode"].startswith("AccessDenied") for e in got)


def test_remote_lake_is_refused_without_yes_before_any_query() -> None:
    done = hamari("trail", "--demo", "--remote", "--filter", FILTER, timeout=180)
    assert done.returncode == 2
    assert "no size to check against --max-gb: the query was not started" in done.stderr
    assert "Pass --yes" in done.stderr
    assert "Lake running" not in done.stderr and not done.stdout


def test_remote_on_local_files_says_there_is_no_remote_engine() -> None:
    done = hamari("trail", "--remote", "--source", "/nonexistent-dir")
    assert done.returncode == 2 and "local files have no remote engine" in done.stderr
