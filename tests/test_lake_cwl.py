"""CloudTrail delivered to CloudWatch Logs (``cwl:GROUP``): FilterLogEvents and Logs Insights.

The trail's events are written to a log group of the emulator, one JSON record per log event
as CloudTrail sends them; hamari reads them through the same calls it makes on AWS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.awstools import emulator_aws
from tui.aws.cloudtrail import TrailBatch, parse_source, stream_source
from tui.aws.errors import InvalidRequestError
from tui.aws.session import Aws
from tui.aws.trailcwl import stream_cwl_insights
from tui.demo.extensions import recorded_events
from tui.demo.seed import DemoWorld, clients, seed
from tui.demo.server import EmbeddedAws
from tui.models.cloudtrail import parse_event
from tui.models.timewindow import TimeWindow
from tui.models.trailfilter import compile_filter
from tui.models.trailsql import to_insights

GROUP = "/hamari-test/cloudtrail"


@pytest.fixture(scope="module")
def live(emulator: EmbeddedAws) -> Iterator[DemoWorld]:
    emulator.reset()
    world = seed(emulator.url, now=datetime.now(UTC).replace(second=0, microsecond=0))
    logs = clients(emulator.url, region=world.region)["logs"]
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName=f"{world.account_id}_CloudTrail")
    texts = recorded_events(world.account_id)
    events = [{"timestamp": int(parse_event(t).timestamp * 1000), "message": t} for t in texts]
    events.append({"timestamp": events[-1]["timestamp"], "message": "not json {"})
    logs.put_log_events(
        logGroupName=GROUP, logStreamName=f"{world.account_id}_CloudTrail", logEvents=events
    )
    yield world
    emulator.faults.clear()


@pytest.fixture
async def aws(live: DemoWorld, emulator: EmbeddedAws) -> AsyncIterator[Aws]:
    async with emulator_aws(emulator.url, live.region) as door:
        yield door


def window(world: DemoWorld) -> TimeWindow:
    return TimeWindow(world.now - timedelta(hours=6), world.now + timedelta(minutes=1), live=False)


def _truth(world: DemoWorld, text: str) -> set[str]:
    w, flt = window(world), compile_filter(text)
    events = [parse_event(t) for t in recorded_events(world.account_id)]
    return {e.key for e in events if w.start <= e.event_time <= w.end and flt.matches(e)}


async def _read(stream: AsyncIterator[TrailBatch]) -> tuple[set[str], int, list[str]]:
    keys: set[str] = set()
    bad = 0
    notes: list[str] = []
    async for batch in stream:
        keys |= {e.key for e in batch.events}
        bad += batch.bad
        notes += batch.notes
    return keys, bad, notes


def test_cwl_source_is_parsed() -> None:
    source = parse_source(f"cwl:{GROUP}")
    assert (source.kind, source.location, source.label) == ("cwl", GROUP, f"cwl:{GROUP}")
    assert source.live
    with pytest.raises(InvalidRequestError):
        parse_source("cwl:")


@pytest.mark.parametrize("text", ["error:AccessDenied*", "", "user:*admin* -readonly:true"])
async def test_filter_log_events_reads_the_trail_group(
    aws: Aws, live: DemoWorld, text: str
) -> None:
    stream = stream_source(aws, parse_source(f"cwl:{GROUP}"), window(live), compile_filter(text))
    keys, bad, notes = await _read(stream)
    assert keys == _truth(live, text) and keys
    assert bad == 1 and "message" in notes[0]  # the line that is not an event: counted, named
    assert aws.meter.requests["logs:FilterLogEvents"] >= 1


async def test_insights_pushdown_returns_the_filtered_events(
    aws: Aws, live: DemoWorld, emulator: EmbeddedAws
) -> None:
    since = len(emulator.requests_seen)
    text = "error:AccessDenied* source:kms"
    keys, _, _ = await _read(stream_cwl_insights(aws, GROUP, window(live), compile_filter(text)))
    assert keys == _truth(live, text) and keys
    starts = [r for r in emulator.requests_seen[since:] if r.operation == "StartQuery"]
    assert len(starts) == 1
    assert not aws._queries  # finished: no longer tracked for cancel-on-quit
    logs = clients(emulator.url, region=live.region)["logs"]
    sent = [q["queryString"] for q in logs.describe_queries(logGroupName=GROUP)["queries"]]
    assert sent == [to_insights(compile_filter(text)).text]  # the filter was pushed down
    assert "filter ((ispresent(errorCode) and errorCode =~ /(?i)^AccessDenied.*$/) and" in sent[0]
