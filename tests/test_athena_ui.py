"""Athena from the flow pane (`i`) and from `hamari flows --remote`, against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.apptools import demo_app, wait_for
from tests.demo_fixtures import DEMO_NOW
from tests.hostile import HOSTILE
from tests.test_flows_insights_ui import _flows_with_filter, _status
from tui.aws.session import DEMO_CREDENTIALS
from tui.demo import athena as emulated
from tui.demo.seed import DemoWorld, clients, seed
from tui.demo.seed.catalog import DATABASE, WORKGROUP
from tui.demo.server import EmbeddedAws
from tui.dialogs.confirm import ConfirmScreen

ROOT = Path(__file__).resolve().parent.parent
TABLE = f"{DATABASE}.flow_logs_s3_parquet"


@pytest.fixture(scope="module")
def world(emulator: EmbeddedAws) -> Iterator[DemoWorld]:
    emulator.reset()
    yield seed(emulator.url, now=DEMO_NOW)
    emulator.faults.clear()
    emulated.set_query_delay(0.2)


def _source(world: DemoWorld) -> str:
    return f"s3://{world.flowlogs_bucket}/parquet/"


def _app(emulator: EmbeddedAws, world: DemoWorld, **settings: Any) -> Any:
    """The demo app on the world's S3 Parquet flow logs, opted in to Athena unless overridden."""
    opted_in = {"athena_workgroup": WORKGROUP, "athena_table": TABLE}
    return demo_app(emulator, world, flows_source=_source(world), **{**opted_in, **settings})


async def test_i_on_an_s3_source_asks_with_the_estimate_then_shows_athena_results(
    emulator: EmbeddedAws, world: DemoWorld
) -> None:
    emulated.set_query_delay(0.2)
    app = _app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        pane = await _flows_with_filter(pilot, "action=REJECT")
        emulator.faults.clear_seen()
        await pilot.press("i")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        body = app.screen.body
        assert "Athena will scan" in body and "$5/TB" in body  # the estimate, before anything
        assert '"hour" IN' in body and "action = 'REJECT'" in body  # the SQL, window pruned
        assert not emulator.calls("athena", "StartQueryExecution")
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: pane.remote is not None and not pane.remote.running)
        run = pane.remote
        assert run is not None and run.error is None and run.engine == "Athena", run
        loaded = [r for r in pane.records if r.action == "REJECT"]
        assert run.records and all(r.action == "REJECT" for r in run.records)
        assert len(run.records) == len(loaded)  # the same window, the same filter, same answer
        assert pane.table.rows is not None and len(pane.table.rows) == len(run.records)
        assert "Athena" in _status(pane) and "Complete" in _status(pane)
        assert len(emulator.calls("athena", "StartQueryExecution")) == 1
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not pane.showing_remote)
        assert "Athena" not in _status(pane)


async def test_esc_stops_a_running_athena_query(emulator: EmbeddedAws, world: DemoWorld) -> None:
    emulated.set_query_delay(60)
    app = _app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        pane = await _flows_with_filter(pilot, "action=REJECT")
        emulator.faults.clear_seen()
        await pilot.press("i")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: "Running" in _status(pane))
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: bool(emulator.calls("athena", "StopQueryExecution")))
        assert [r.state for r in emulated._runs.values() if r.state == "RUNNING"] == []
    emulated.set_query_delay(0.2)


async def test_without_the_flag_i_copies_the_sql_and_calls_nothing(
    emulator: EmbeddedAws, world: DemoWorld
) -> None:
    app = _app(emulator, world, athena_workgroup=None)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        pane = await _flows_with_filter(pilot, "action=REJECT")
        emulator.faults.clear_seen()
        await pilot.press("i")
        assert await wait_for(
            pilot, lambda: any("Athena SQL copied" in str(n.message) for n in app._notifications)
        )
        assert not isinstance(app.screen, ConfirmScreen) and pane.remote is None
    assert not emulator.calls("athena") and not emulator.calls("glue")


# -- hamari flows --remote -----------------------------------------------------------------------


def _verb(world: DemoWorld, emulator: EmbeddedAws, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": DEMO_CREDENTIALS[0],
        "AWS_SECRET_ACCESS_KEY": DEMO_CREDENTIALS[1],
        "AWS_REGION": world.region,
        "HAMARI_ATHENA_WORKGROUP": "",
    }
    since = (world.now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%MZ")
    until = world.now.strftime("%Y-%m-%dT%H:%MZ")
    args = ["flows", "--endpoint-url", emulator.url, "--source", _source(world)]
    args += ["--since", since, "--until", until, "--filter", "action=REJECT"]
    args += ["--format", "ndjson", "--remote", *extra]
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_flows_remote_runs_athena_with_the_estimate_and_the_budget(
    emulator: EmbeddedAws, world: DemoWorld
) -> None:
    emulator.faults.clear_seen()
    refused = _verb(
        world, emulator, "--athena-workgroup", WORKGROUP, "--athena-table", TABLE, "--max-gb", "0"
    )
    assert refused.returncode == 2, refused.stderr
    assert "Athena will scan" in refused.stderr and "--max-gb" in refused.stderr
    assert not emulator.calls("athena", "StartQueryExecution")  # refused before it ran
    ran = _verb(world, emulator, "--athena-workgroup", WORKGROUP)  # the table found by location
    assert ran.returncode == 0, ran.stderr
    assert "Athena will scan" in ran.stderr and "Traceback" not in ran.stderr
    rows = [json.loads(line) for line in ran.stdout.splitlines()]
    assert rows and all(r["action"] == "REJECT" for r in rows)
    assert {r["source"] for r in rows} == {f"athena:{TABLE}"}
    assert len(emulator.calls("athena", "StartQueryExecution")) == 1
    # Without the flag: read from S3 as before, and not one Athena or Glue request.
    emulator.faults.clear_seen()
    plain = _verb(world, emulator, "--athena-table", TABLE)
    assert plain.returncode == 0, plain.stderr
    assert "Athena" not in plain.stderr
    assert len(plain.stdout.splitlines()) == len(rows)
    assert not emulator.calls("athena") and not emulator.calls("glue")


async def test_hostile_glue_names_reach_the_dialog_escaped(
    emulator: EmbeddedAws, world: DemoWorld
) -> None:
    """A column of the Glue table named by an attacker shows in the SQL as text, not as codes."""
    glue = clients(world.url, world.region)["glue"]
    table = glue.get_table(DatabaseName=DATABASE, Name=TABLE.split(".")[1])["Table"]
    sd = {**table["StorageDescriptor"]}
    sd["Columns"] = [*sd["Columns"], *({"Name": h, "Type": "string"} for h in HOSTILE[:6])]
    glue.create_table(
        DatabaseName=DATABASE,
        TableInput={
            "Name": "hostile",
            "StorageDescriptor": sd,
            "PartitionKeys": table["PartitionKeys"],
        },
    )
    app = _app(emulator, world, athena_table=f"{DATABASE}.hostile")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await _flows_with_filter(pilot, "action=REJECT")
        await pilot.press("i")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        body = app.screen.body
        assert "Athena will scan" in body
        assert "\x1b" not in body and "\x07" not in body and "\\x1b" in body
        await pilot.press("escape")
