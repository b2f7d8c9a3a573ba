"""Athena, opt-in: the door, the partition predicates, the estimate, the run, the emulator."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.demo_fixtures import DEMO_NOW
from tui.aws import athena
from tui.aws.errors import ConfigError, ReadOnlyViolation
from tui.aws.flowlogs import stream_s3
from tui.aws.operations import NOT_IDEMPOTENT, OPT_IN, iam_policy
from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
from tui.demo import athena as emulated
from tui.demo.seed import DemoWorld, clients, seed
from tui.demo.seed.catalog import DATABASE, WORKGROUP, results_bucket
from tui.demo.server import EmbeddedAws, FaultRule
from tui.models.flowfilter import parse_filter
from tui.models.timewindow import TimeWindow
from tui.settings import load_settings

TEXT = f"{DATABASE}.flow_logs_s3_text"
PARQUET = f"{DATABASE}.flow_logs_s3_parquet"


@pytest.fixture(scope="module")
def world(emulator: EmbeddedAws) -> Iterator[DemoWorld]:
    emulator.reset()
    world = seed(emulator.url, now=DEMO_NOW)
    # An older day of text flow logs: outside every window here, so never scanned.
    old = world.now - timedelta(days=2)
    acct, region = world.account_id, world.region
    line = f"2 {acct} eni-0old 10.0.0.1 10.0.0.2 1 2 6 1 40 {int(old.timestamp())} "
    line += f"{int(old.timestamp()) + 60} REJECT OK"
    body = gzip.compress(
        f"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n{line}\n".encode()
    )
    clients(world.url, region)["s3"].put_object(
        Bucket=world.flowlogs_bucket,
        Key=f"AWSLogs/{acct}/vpcflowlogs/{region}/{old:%Y/%m/%d}/{acct}_vpcflowlogs_{region}_fl-old_{old:%Y%m%dT%H%MZ}_0.log.gz",
        Body=body,
    )
    yield world
    emulator.faults.clear()


@pytest.fixture
async def aws(world: DemoWorld, emulator: EmbeddedAws) -> AsyncIterator[Aws]:
    emulator.faults.clear()
    emulated.set_query_delay(0.05)
    door = emulator_door(emulator, world.region, athena_workgroup=WORKGROUP)
    await door.open()
    yield door
    await door.close()


def emulator_door(emulator: EmbeddedAws, region: str, **options: str) -> Aws:
    """The product's door on the emulator with the demo's keys (no backoff: faults fail fast)."""
    conn = Connection(
        region=region,
        endpoint_url=emulator.url,
        demo=True,
        static_credentials=DEMO_CREDENTIALS,
        **options,  # type: ignore[arg-type]
    )
    return Aws(conn, backoff_base=0)


def _window(world: DemoWorld, hours: float = 1) -> TimeWindow:
    return TimeWindow(world.now - timedelta(hours=hours), world.now)


# -- the door ------------------------------------------------------------------------------------


async def test_without_the_workgroup_flag_no_athena_call_can_be_made(
    world: DemoWorld, emulator: EmbeddedAws
) -> None:
    emulator.faults.clear_seen()
    door = emulator_door(emulator, world.region)  # no --athena-workgroup
    await door.open()
    try:
        for service, operation in sorted(OPT_IN):
            with pytest.raises(ReadOnlyViolation, match="--athena-workgroup"):
                await door.call(service, operation)
        with pytest.raises(ReadOnlyViolation):
            await athena.get_table(door, TEXT)
    finally:
        await door.close()
    assert not emulator.calls("athena") and not emulator.calls("glue")


def test_the_policy_ships_athena_as_a_separate_optional_statement() -> None:
    statements = {s["Sid"]: s for s in iam_policy()["Statement"]}  # type: ignore[union-attr,index]
    read_only = set(statements["HamariReadOnly"]["Action"])
    assert not {a for a in read_only if a.startswith(("athena:", "glue:"))}
    assert "s3:PutObject" not in read_only
    opt_in = set(statements["HamariAthenaOptIn"]["Action"])
    assert {"athena:StartQueryExecution", "athena:StopQueryExecution", "glue:GetTable"} <= opt_in
    results = statements["HamariAthenaOptInResults"]
    assert "s3:PutObject" in results["Action"] and results["Resource"] != "*"
    shipped = json.loads((Path(__file__).parent.parent / "tui" / "iam-policy.json").read_text())
    assert shipped["Statement"][1:] == iam_policy()["Statement"][1:]  # type: ignore[index]
    assert ("athena", "StartQueryExecution") in NOT_IDEMPOTENT


def test_settings_layers_for_the_workgroup(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('athena_workgroup = "from-config"\n')
    assert load_settings({}, env={}, config_file=config).athena_workgroup == "from-config"
    env = {"HAMARI_ATHENA_WORKGROUP": "from-env"}
    assert load_settings({}, env=env, config_file=config).athena_workgroup == "from-env"
    flags = {"athena_workgroup": "from-flag"}
    assert load_settings(flags, env=env, config_file=config).athena_workgroup == "from-flag"
    assert load_settings({}, env={}, config_file=tmp_path / "none").athena_workgroup is None


# -- partition predicates ------------------------------------------------------------------------


def _table(keys: list[tuple[str, str]], **params: str) -> athena.AthenaTable:
    cols = (("srcaddr", "string"), ("start", "bigint"), ("end", "bigint"))
    return athena.AthenaTable("db", "t", "s3://b/p/", cols, tuple(keys), dict(params))


def test_hive_hours_only_the_window_is_named() -> None:
    table = _table([("year", "string"), ("month", "string"), ("day", "string"), ("hour", "int")])
    window = TimeWindow(
        datetime(2026, 3, 1, 12, 30, tzinfo=UTC), datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    )
    sql = athena.plan_sql(table, athena.partition_plan(table, window))
    # 12:30-13:00, widened by the S3 reader's slack (10 min before, 1 h of delivery after).
    assert (
        sql
        == '("year" = \'2026\' AND "month" = \'03\' AND "day" = \'01\' AND "hour" IN (12, 13, 14))'
    )


def test_a_window_across_midnight_names_both_days_with_a_projected_date() -> None:
    table = _table(
        [("region", "string"), ("day", "string")],
        **{
            "projection.enabled": "true",
            "projection.day.type": "date",
            "projection.day.format": "yyyy/MM/dd",
        },
    )
    window = TimeWindow(
        datetime(2026, 3, 1, 23, 0, tzinfo=UTC), datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
    )
    sql = athena.compile_query(table, window, parse_filter("srcaddr=10.0.0.1"), limit=5)
    assert "(\"day\" = '2026/03/01') OR (\"day\" = '2026/03/02')" in sql
    assert '"region"' not in sql  # not a time key: not constrained
    assert f'"end" >= {int(window.start.timestamp())}' in sql and sql.endswith("LIMIT 5")


def test_a_table_without_time_partitions_has_no_predicate() -> None:
    table = _table([("region", "string")])
    assert athena.partition_plan(table, TimeWindow.parse("1h", None, now=DEMO_NOW)) == []


def test_a_bad_table_name_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match=r"DATABASE\.TABLE"):
        athena.parse_table_ref("vpc_flow_logs")


# -- estimate and run against the emulator ----------------------------------------------------------


@pytest.mark.parametrize("ref", [TEXT, PARQUET])
async def test_the_query_finds_what_reading_s3_finds_and_scans_only_the_window(
    aws: Aws, world: DemoWorld, emulator: EmbeddedAws, ref: str
) -> None:
    table = await athena.get_table(aws, ref)
    window = _window(world)
    flt = parse_filter("action=REJECT")
    cost = await athena.estimate(aws, table, window)
    assert cost.objects and cost.estimated_bytes > 0 and "$5/TB" in cost.describe()
    progress: list[tuple[str, int]] = []
    got = []
    async for batch in athena.stream_flow_athena(
        aws,
        table,
        window,
        flt,
        workgroup=WORKGROUP,
        poll_seconds=0.05,
        on_progress=lambda p: progress.append((p.state, p.bytes_scanned)),
    ):
        got += batch.records
        assert batch.stats.bad_lines == 0
    bucket, prefix = table.location.removeprefix("s3://").split("/", 1)
    local = []
    async for batch in stream_s3(aws, bucket, prefix, window, flt):
        local += batch.records
    key = lambda r: (r.interface_id, r.start, r.srcaddr, r.srcport, r.dstport)  # noqa: E731
    assert got and sorted(map(key, got)) == sorted(map(key, local))
    assert all(r.action == "REJECT" for r in got)
    # The emulator scanned only the window's partitions, and the estimate said so beforehand.
    scanned = progress[-1][1]
    assert progress[-1][0] == "SUCCEEDED" and scanned == cost.estimated_bytes
    everything = sum(
        o["Size"]
        for o in clients(world.url, world.region)["s3"].list_objects_v2(
            Bucket=bucket, Prefix=prefix
        )["Contents"]
    )
    assert scanned < everything
    # The result was written where Athena writes it: the workgroup's output location.
    results = clients(world.url, world.region)["s3"].list_objects_v2(Bucket=results_bucket(world))
    assert any(o["Key"].endswith(".csv") for o in results.get("Contents", []))


async def test_results_are_paged_a_thousand_rows_at_a_time(
    aws: Aws, world: DemoWorld, emulator: EmbeddedAws
) -> None:
    table = await athena.get_table(aws, PARQUET)
    emulator.faults.clear_seen()
    batches = [
        b
        async for b in athena.stream_flow_athena(
            aws, table, _window(world, 3), parse_filter(""), workgroup=WORKGROUP, poll_seconds=0.05
        )
    ]
    records = sum(len(b.records) for b in batches)
    assert records > 1000 and len(batches) == len(emulator.calls("athena", "GetQueryResults"))
    assert len(batches) == (records + 1) // 1000 + 1  # the header row counts in the first page


async def test_a_lost_start_is_sent_once_more_with_the_same_token_and_runs_once(
    aws: Aws, world: DemoWorld, emulator: EmbeddedAws
) -> None:
    table = await athena.get_table(aws, TEXT)
    before = set(emulated._runs)
    emulator.faults.clear_seen()
    emulator.faults.add(FaultRule("athena", "StartQueryExecution", "lost", times=1))
    batches = [
        b
        async for b in athena.stream_flow_athena(
            aws,
            table,
            _window(world),
            parse_filter("action=REJECT"),
            workgroup=WORKGROUP,
            poll_seconds=0.05,
        )
    ]
    assert batches[-1].done
    assert len(emulator.calls("athena", "StartQueryExecution")) == 2
    started = set(emulated._runs) - before
    assert len(started) == 1  # the second send returned the first query, not a new one


async def test_cancelling_stops_the_query_and_quitting_stops_a_tracked_one(
    aws: Aws, world: DemoWorld, emulator: EmbeddedAws
) -> None:
    table = await athena.get_table(aws, TEXT)
    emulated.set_query_delay(30)
    states: list[str] = []

    async def consume() -> None:
        async for _ in athena.stream_flow_athena(
            aws,
            table,
            _window(world),
            parse_filter(""),
            workgroup=WORKGROUP,
            poll_seconds=0.05,
            on_progress=lambda p: states.append(p.state),
        ):
            pass

    emulator.faults.clear_seen()
    task = asyncio.create_task(consume())
    while "RUNNING" not in states:
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert emulator.calls("athena", "StopQueryExecution")
    assert [r.state for r in emulated._runs.values() if r.state == "RUNNING"] == []
    # A query left tracked (the app quits mid-run) is stopped by close().
    query_id = await athena.start_query(aws, "SELECT 1 FROM " + table.sql_name, table, WORKGROUP)
    aws.track_query(query_id, service="athena")
    await aws.close()
    assert emulated._runs[query_id].state == "CANCELLED"


async def test_without_a_table_name_the_table_is_found_by_its_location(
    aws: Aws, world: DemoWorld
) -> None:
    found = await athena.resolve_table(aws, None, f"s3://{world.flowlogs_bucket}/parquet/")
    assert found.ref == PARQUET
    with pytest.raises(ConfigError, match="2 table") as err:
        await athena.find_table(aws, f"s3://{world.flowlogs_bucket}/")  # both tables are under it
    assert TEXT in err.value.message and PARQUET in err.value.message
    with pytest.raises(ConfigError, match="No table"):
        await athena.find_table(aws, "s3://another-bucket/flow-logs/")


async def test_unregistered_partitions_are_not_read_and_projection_defaults_to_hive_paths(
    aws: Aws, world: DemoWorld
) -> None:
    glue = clients(world.url, world.region)["glue"]
    base = glue.get_table(DatabaseName=DATABASE, Name=PARQUET.split(".")[1])["Table"]
    for name, params in (("unregistered", {}), ("projected_hive", {"projection.enabled": "true"})):
        glue.create_table(
            DatabaseName=DATABASE,
            TableInput={
                "Name": name,
                "StorageDescriptor": base["StorageDescriptor"],
                "PartitionKeys": base["PartitionKeys"],
                "Parameters": params,
            },
        )
    window, flt = _window(world), parse_filter("action=REJECT")

    async def run(ref: str) -> tuple[athena.AthenaEstimate, list[Any], int]:
        table = await athena.get_table(aws, ref)
        cost = await athena.estimate(aws, table, window)
        scanned: list[int] = []
        records = [
            r
            async for b in athena.stream_flow_athena(
                aws,
                table,
                window,
                flt,
                workgroup=WORKGROUP,
                poll_seconds=0.05,
                on_progress=lambda p: scanned.append(p.bytes_scanned),
            )
            for r in b.records
        ]
        return cost, records, scanned[-1]

    registered = await run(PARQUET)
    # Partitions nobody added (no MSCK REPAIR, no projection): Athena reads nothing.
    cost, records, scanned = await run(f"{DATABASE}.unregistered")
    assert (cost.objects, cost.estimated_bytes, records, scanned) == (0, 0, [], 0)
    # Projection without a template: LOCATION/year=…/month=…/day=…/hour=…/, as registered.
    cost, records, scanned = await run(f"{DATABASE}.projected_hive")
    assert cost.estimated_bytes == scanned == registered[0].estimated_bytes > 0
    assert len(records) == len(registered[1]) > 0
