"""Logs Insights against the emulator: estimate first, exact results, and no query left running."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tui.aws import insights
from tui.aws.network import load_flow_logs
from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
from tui.demo.seed import DemoWorld, seed
from tui.demo.server import EmbeddedAws, FaultRule
from tui.models.flowfilter import parse_filter
from tui.models.timewindow import TimeWindow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def live(emulator: EmbeddedAws) -> Iterator[DemoWorld]:
    emulator.reset()
    yield seed(emulator.url, now=datetime.now(UTC).replace(second=0, microsecond=0))
    emulator.faults.clear()


@pytest.fixture
async def aws(live: DemoWorld, emulator: EmbeddedAws) -> AsyncIterator[Aws]:
    a = Aws(
        Connection(
            region="us-east-1",
            endpoint_url=emulator.url,
            demo=True,
            static_credentials=DEMO_CREDENTIALS,
        )
    )
    a.backoff_base = 0
    await a.open()
    yield a
    await a.close()
    emulator.faults.clear()


def window(world: DemoWorld) -> TimeWindow:
    return TimeWindow(world.now - timedelta(hours=3), world.now + timedelta(minutes=1), live=False)


async def test_estimate_is_shown_in_gb_and_dollars(aws: Aws, live: DemoWorld) -> None:
    cost = await insights.estimate(aws, [live.log_group_v5], window(live))
    assert cost.stored_bytes > 0 and cost.estimated_bytes <= cost.stored_bytes
    assert "GB" in cost.describe() and "$" in cost.describe()


async def test_remote_query_returns_exactly_the_filtered_records(aws: Aws, live: DemoWorld) -> None:
    config = next(fl for fl in await load_flow_logs(aws) if fl.log_group == live.log_group_v5)
    flt = parse_filter("action=REJECT")
    records = []
    async for batch in insights.stream_flow_insights(aws, config, window(live), flt):
        records.extend(batch.records)
        assert batch.pushed_down and "filter" in batch.pushed_down
    assert records and all(r.action == "REJECT" for r in records)
    assert aws.meter.requests["logs:StartQuery"] == 1
    assert not aws._queries  # finished queries are no longer tracked


async def test_cancelled_query_is_stopped(aws: Aws, live: DemoWorld, emulator: EmbeddedAws) -> None:
    emulator.faults.add(FaultRule("logs", "GetQueryResults", "slow", delay=3.0))
    before = len(emulator.calls("logs", "StopQuery"))

    async def consume() -> None:
        async for _ in insights.run_query(
            aws, [live.log_group_v2], "fields @message", window(live)
        ):
            pass

    task = asyncio.create_task(consume())
    # Cancel once the query is really running (StartQuery answered), however loaded the machine is.
    for _ in range(200):
        if aws._queries:
            break
        await asyncio.sleep(0.05)
    assert aws._queries, "StartQuery never answered"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.2)
    assert len(emulator.calls("logs", "StopQuery")) == before + 1
    assert not aws._queries


def test_headless_remote_refuses_above_the_budget() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui",
            "flows",
            "--demo",
            "--remote",
            "--max-gb",
            "0",
            "--filter",
            "action=REJECT",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "Logs Insights will scan" in out.stderr and "--max-gb" in out.stderr
    assert "Traceback" not in out.stderr
