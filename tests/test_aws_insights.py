"""Logs Insights against the emulator: estimate first, exact results, and no query left running."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tui.aws import insights
from tui.aws.errors import AccessDeniedError, CallTimeoutError, HamariError, ThrottledError
from tui.aws.network import load_flow_logs
from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
from tui.demo.seed import DemoWorld, clients, seed
from tui.demo.server import EmbeddedAws, FaultKind, FaultRule
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


# --- StartQuery is not idempotent: a lost answer is never sent again blindly -----------------


def _queries_with(live: DemoWorld, group: str, query: str) -> list[dict[str, Any]]:
    """What the emulator says exists (moto's DescribeQueries), asked directly, not via hamari."""
    logs = clients(live.url)["logs"]
    return [
        q for q in logs.describe_queries(logGroupName=group)["queries"] if q["queryString"] == query
    ]


async def _run(aws: Aws, group: str, query: str, live: DemoWorld) -> insights.InsightsProgress:
    last = None
    async for progress in insights.run_query(aws, [group], query, window(live), poll_seconds=0):
        last = progress
    assert last is not None
    return last


def _logs_ops(emulator: EmbeddedAws, since: int) -> list[str]:
    return [r.operation for r in emulator.requests_seen[since:] if r.service == "logs"]


@pytest.mark.parametrize(
    ("kind", "starts", "looked"),
    [
        # AWS started the query but the answer was lost: found and adopted, none started again
        # (neither botocore nor hamari resent it)
        ("lost", 1, True),
        # the request never arrived: looked for, not found, started once more
        ("reset", 2, True),
        # a throttle is AWS refusing the call: nothing started, the access layer retries it
        ("throttle", 2, False),
    ],
)
async def test_start_query_failure_starts_exactly_one_query(
    aws: Aws, live: DemoWorld, emulator: EmbeddedAws, kind: FaultKind, starts: int, looked: bool
) -> None:
    query = parse_filter("action=REJECT").to_insights(limit=9100 + starts * 10 + looked)
    emulator.faults.add(FaultRule("logs", "StartQuery", kind, times=1))
    since = len(emulator.requests_seen)
    last = await _run(aws, live.log_group_v2, query, live)
    assert last.status == "Complete" and last.rows
    ops = _logs_ops(emulator, since)
    assert ops.count("StartQuery") == starts
    assert ops[1] == ("DescribeQueries" if looked else "StartQuery")  # looked before resending
    assert ("DescribeQueries" in ops) == looked
    assert len(_queries_with(live, live.log_group_v2, query)) == 1
    assert not aws._queries


class _ScriptedAws:
    """Just enough of Aws for start_query: scripted answers, every call recorded."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.clock_offset = 0.0

    async def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        self.calls.append((operation, params))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def pages(self, service: str, operation: str, **params: Any) -> AsyncIterator[Any]:
        params = {
            k: v for k, v in params.items() if k not in ("token_in", "token_out", "max_pages")
        }
        yield await self.call(service, operation, **params)


async def test_a_copy_of_the_lost_query_that_surfaces_late_is_stopped() -> None:
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    q = "fields @message"
    fake = _ScriptedAws(
        [
            CallTimeoutError("StartQuery did not answer in time.", service="logs"),
            {"queries": []},  # not visible yet
            {"queryId": "q-second"},
            {
                "queries": [
                    {
                        "queryId": "q-first",
                        "queryString": q,
                        "status": "Running",
                        "createTime": now_ms,
                    },
                    {
                        "queryId": "q-second",
                        "queryString": q,
                        "status": "Running",
                        "createTime": now_ms,
                    },
                    {
                        "queryId": "q-old",
                        "queryString": q,
                        "status": "Running",
                        "createTime": now_ms - 3_600_000,
                    },
                    {
                        "queryId": "q-other",
                        "queryString": "x",
                        "status": "Running",
                        "createTime": now_ms,
                    },
                ]
            },
            {},  # StopQuery
        ]
    )
    start, end = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC)
    got = await insights.start_query(fake, ["/g"], q, TimeWindow(start, end, live=False), limit=10)  # type: ignore[arg-type]
    assert got == "q-second"
    assert [op for op, _ in fake.calls] == [
        "StartQuery",
        "DescribeQueries",
        "StartQuery",
        "DescribeQueries",
        "StopQuery",
    ]
    assert fake.calls[-1][1] == {"queryId": "q-first"}  # not someone's hour-old query
    assert fake.calls[1][1] == {"logGroupName": "/g"}


async def test_lost_answer_without_a_way_to_check_is_not_sent_again() -> None:
    fake = _ScriptedAws(
        [
            CallTimeoutError("StartQuery did not answer in time.", service="logs"),
            AccessDeniedError("Not allowed to call logs:DescribeQueries", service="logs"),
        ]
    )
    start, end = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC)
    with pytest.raises(HamariError) as info:
        await insights.start_query(fake, ["/g"], "q", TimeWindow(start, end, live=False), limit=10)  # type: ignore[arg-type]
    assert "not sent again" in info.value.message and "logs:DescribeQueries" in info.value.hint
    assert [op for op, _ in fake.calls] == ["StartQuery", "DescribeQueries"]


async def test_cancelled_while_start_query_is_in_flight_stops_the_query_it_started(
    aws: Aws, live: DemoWorld, emulator: EmbeddedAws
) -> None:
    """esc (or quitting) before StartQuery answered: the query AWS starts is stopped, not left."""
    query = parse_filter("dstport=22").to_insights(limit=9104)
    emulator.faults.add(FaultRule("logs", "StartQuery", "slow", times=1, delay=1.0))
    before = len(emulator.calls("logs", "StartQuery"))
    task = asyncio.create_task(_run(aws, live.log_group_v2, query, live))
    for _ in range(200):
        if len(emulator.calls("logs", "StartQuery")) > before:
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (started,) = _queries_with(live, live.log_group_v2, query)
    assert started["status"] == "Cancelled"  # StopQuery reached it
    assert not aws._queries


async def test_still_throttled_start_query_is_not_looked_for_nor_resent() -> None:
    """A throttle is a refusal: nothing started, so no DescribeQueries and no second StartQuery."""
    fake = _ScriptedAws([ThrottledError("StartQuery is throttled.", service="logs")])
    start, end = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC)
    with pytest.raises(ThrottledError):
        await insights.start_query(fake, ["/g"], "q", TimeWindow(start, end, live=False), limit=10)  # type: ignore[arg-type]
    assert [op for op, _ in fake.calls] == ["StartQuery"]
