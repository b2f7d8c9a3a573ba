"""CloudTrail Lake against the emulator: the store found, the filter's events, nothing left running.

tui/aws/lake.py runs the compiled SQL through the same API calls it makes on AWS; the emulator
(tui/demo/lake.py) answers them by running that SQL with DuckDB over the seeded events.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import botocore.session
import pytest

from tests.awstools import emulator_aws
from tui.aws import lake
from tui.aws.operations import ALLOWED, NOT_IDEMPOTENT, is_read_only
from tui.aws.session import Aws
from tui.demo import lake as demo_lake
from tui.demo.extensions import recorded_events
from tui.demo.seed import DemoWorld, seed
from tui.demo.server import EmbeddedAws, FaultKind, FaultRule
from tui.models.cloudtrail import parse_event
from tui.models.timewindow import TimeWindow
from tui.models.trailfilter import compile_filter


@pytest.fixture(scope="module")
def live(emulator: EmbeddedAws) -> Iterator[DemoWorld]:
    emulator.reset()
    yield seed(emulator.url, now=datetime.now(UTC).replace(second=0, microsecond=0))
    emulator.faults.clear()
    demo_lake.set_query_delay(0.2)


@pytest.fixture
async def aws(live: DemoWorld, emulator: EmbeddedAws) -> AsyncIterator[Aws]:
    async with emulator_aws(emulator.url, live.region) as door:
        yield door
    emulator.faults.clear()
    demo_lake.set_query_delay(0.2)


def window(world: DemoWorld) -> TimeWindow:
    return TimeWindow(world.now - timedelta(hours=6), world.now + timedelta(minutes=1), live=False)


def _truth(world: DemoWorld, text: str) -> set[str]:
    """The events the local filter keeps, from what the emulator holds (not through Lake)."""
    w = window(world)
    flt = compile_filter(text)
    events = [parse_event(t) for t in recorded_events(world.account_id)]
    return {e.key for e in events if w.start <= e.event_time <= w.end and flt.matches(e)}


async def _collect(aws: Aws, world: DemoWorld, text: str) -> tuple[set[str], list[str]]:
    flt = compile_filter(text)
    plan = await lake.estimate(aws, window(world), flt)
    seen: list[str] = []
    keys: set[str] = set()
    async for batch in lake.stream_lake(
        aws, plan, flt, poll_seconds=0.05, on_progress=lambda p: seen.append(p.status)
    ):
        keys |= {e.key for e in batch.events}
        assert batch.bad == 0, batch.notes
    return keys, seen


async def test_the_seeded_store_is_found_and_the_estimate_says_what_is_unknown(
    aws: Aws, live: DemoWorld
) -> None:
    stores = await lake.find_stores(aws)
    assert len(stores) == 1 and stores[0].multi_region
    plan = await lake.estimate(aws, window(live), compile_filter("error:AccessDenied*"))
    text = plan.describe()
    assert "unknown" in text and "$0.005/GB" in text and stores[0].name in text
    assert f"FROM {stores[0].id} WHERE" in plan.query.text


@pytest.mark.parametrize(
    "text", ["error:AccessDenied*", "user:*admin* -readonly:true", "source:kms or error:Thrott*"]
)
async def test_lake_returns_exactly_the_filtered_events(
    aws: Aws, live: DemoWorld, text: str
) -> None:
    keys, statuses = await _collect(aws, live, text)
    truth = _truth(live, text)
    assert truth, "the seed must have events for this filter"
    assert keys == truth
    assert statuses[-1] == "FINISHED" and "RUNNING" in statuses  # progress was reported
    assert aws.meter.requests["cloudtrail:StartQuery"] == 1
    assert not aws._queries  # a finished query is no longer tracked


async def test_results_are_paged(
    aws: Aws, live: DemoWorld, emulator: EmbeddedAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lake, "_PAGE", 100)
    since = len(emulator.requests_seen)
    keys, _ = await _collect(aws, live, "")
    pages = [r for r in emulator.requests_seen[since:] if r.operation == "GetQueryResults"]
    assert keys == _truth(live, "")
    assert len(keys) > 200 and len(pages) == -(-len(keys) // 100)


async def _cancel_while_running(aws: Aws, live: DemoWorld) -> asyncio.Task[None]:
    demo_lake.set_query_delay(30)
    plan = await lake.estimate(aws, window(live), compile_filter("error:any"))

    async def consume() -> None:
        async for _ in lake.stream_lake(aws, plan, compile_filter("error:any"), poll_seconds=0.05):
            pass

    task = asyncio.create_task(consume())
    for _ in range(200):
        if aws._queries:
            break
        await asyncio.sleep(0.05)
    assert aws._queries, "StartQuery never answered"
    return task


def _status(emulator: EmbeddedAws, live: DemoWorld) -> list[str]:
    from tui.demo.seed import clients

    ct = clients(emulator.url, region=live.region)["cloudtrail"]
    store = ct.list_event_data_stores()["EventDataStores"][0]["EventDataStoreArn"]
    queries = ct.list_queries(EventDataStore=store)["Queries"]
    return [q["QueryStatus"] for q in queries]


async def test_a_cancelled_query_is_cancelled_in_lake(
    aws: Aws, live: DemoWorld, emulator: EmbeddedAws
) -> None:
    task = await _cancel_while_running(aws, live)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(emulator.calls("cloudtrail", "CancelQuery")) == 1
    assert "RUNNING" not in _status(emulator, live) and "CANCELLED" in _status(emulator, live)
    assert not aws._queries


async def test_quitting_cancels_the_running_query(
    aws: Aws, live: DemoWorld, emulator: EmbeddedAws
) -> None:
    task = await _cancel_while_running(aws, live)
    await aws.close()  # what the app does on quit, before the worker is torn down
    assert "CANCELLED" in _status(emulator, live) and "RUNNING" not in _status(emulator, live)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize(("kind", "starts"), [("lost", 1), ("reset", 2), ("throttle", 2)])
async def test_a_lost_start_query_starts_exactly_one_query(
    aws: Aws, live: DemoWorld, emulator: EmbeddedAws, kind: FaultKind, starts: int
) -> None:
    # A filter no other test runs: its query is the only one with this text.
    text = f"error:any name:*{kind}* or error:any"
    emulator.faults.add(FaultRule("cloudtrail", "StartQuery", kind, times=1))
    since = len(emulator.requests_seen)
    keys, _ = await _collect(aws, live, text)
    assert keys == _truth(live, text)
    ops = [r.operation for r in emulator.requests_seen[since:] if r.service == "cloudtrail"]
    assert ops.count("StartQuery") == starts
    assert ("ListQueries" in ops) == (kind != "throttle")  # looked before sending it again
    statement = (await lake.estimate(aws, window(live), compile_filter(text))).query.text
    from tui.demo.seed import clients

    ct = clients(emulator.url, region=live.region)["cloudtrail"]
    store = ct.list_event_data_stores()["EventDataStores"][0]["EventDataStoreArn"]
    same = [
        q
        for q in ct.list_queries(EventDataStore=store)["Queries"]
        if ct.describe_query(EventDataStore=store, QueryId=q["QueryId"])["QueryString"] == statement
        and q["QueryStatus"] != "CANCELLED"
    ]
    assert len(same) == 1


def test_lake_calls_go_through_the_read_only_door() -> None:
    model = botocore.session.get_session().get_service_model("cloudtrail")
    for op in ("ListEventDataStores", "StartQuery", "DescribeQuery", "GetQueryResults"):
        assert ("cloudtrail", op) in ALLOWED and is_read_only("cloudtrail", op)
        assert op in model.operation_names
    assert ("cloudtrail", "CancelQuery") in ALLOWED and ("cloudtrail", "ListQueries") in ALLOWED
    assert ("cloudtrail", "StartQuery") in NOT_IDEMPOTENT
    assert not is_read_only("cloudtrail", "CreateEventDataStore")


def test_the_start_query_request_is_valid_for_botocore(live: DemoWorld) -> None:
    """moto is lenient: the request hamari builds is checked against botocore's model."""
    from botocore.validate import validate_parameters

    model = botocore.session.get_session().get_service_model("cloudtrail")
    w = window(live)
    sql = lake.to_lake_sql(compile_filter("user:alice"), "EXAMPLE-id", w.start, w.end).text
    validate_parameters({"QueryStatement": sql}, model.operation_model("StartQuery").input_shape)
    assert len(sql) <= 10_000
    json.dumps(sql)
