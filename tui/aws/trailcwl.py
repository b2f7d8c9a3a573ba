"""CloudTrail delivered to CloudWatch Logs (``--trail-source cwl:/group``).

A trail can send every event to a log group, one JSON record per log event. This module reads
them like the other trail sources (:func:`tui.aws.cloudtrail.stream_source` dispatches here):
FilterLogEvents over the window, paged (empty pages with a nextToken followed, as AWS returns
them while it scans), each message parsed as a CloudTrail record, the window and filter applied
and delivery duplicates folded by the same selector. For ``i`` and ``--remote`` the filter runs
as a Logs Insights query instead (:func:`tui.models.trailsql.to_insights`, billed per GB
scanned: estimated first by the caller with :func:`tui.aws.insights.estimate`), and the whole
filter is re-applied to what comes back.

No textual or rich here: the headless verb uses this module too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from tui.aws.trailbatch import TrailBatch, _Selector
from tui.models.cloudtrail import EventParseError, TrailEvent, parse_event
from tui.models.trailsql import to_insights

if TYPE_CHECKING:
    from tui.aws.insights import InsightsProgress
    from tui.aws.session import Aws
    from tui.models.timewindow import TimeWindow
    from tui.models.trailfilter import TrailFilter

__all__ = ["stream_cwl", "stream_cwl_insights"]

_MAX_NOTES: Final = 3


def _batch(messages: Iterable[str], source: str, selector: _Selector) -> TrailBatch:
    """One page's batch: the messages that are events, windowed, filtered and folded; the
    others counted, with a few reasons."""
    events: list[TrailEvent] = []
    bad = 0
    notes: list[str] = []
    for index, message in enumerate(messages):
        try:
            events.append(parse_event(message))
        except EventParseError as err:
            bad += 1
            if len(notes) < _MAX_NOTES:
                notes.append(f"{source}: message {index}: {err}")
    return TrailBatch(
        events=selector.take(events),
        bad=bad,
        source=source,
        pages=1,
        done=False,
        scanned=len(events),
        duplicates=selector.last_folded,
        notes=tuple(notes),
    )


async def stream_cwl(
    aws: Aws,
    group: str,
    window: TimeWindow,
    flt: TrailFilter | None = None,
    *,
    seen: set[str] | None = None,
) -> AsyncIterator[TrailBatch]:
    """Stream the trail's events in log group ``group`` over ``window``, one batch per page.

    Raises:
        HamariError: e.g. the group does not exist (after the batches already yielded).
    """
    selector = _Selector(window, flt, seen)
    source = f"cwl:{group}"
    async for page in aws.pages(
        "logs",
        "FilterLogEvents",
        token_in="nextToken",
        token_out="nextToken",
        logGroupName=group,
        startTime=int(window.start.timestamp() * 1000),
        endTime=int(window.end.timestamp() * 1000),
    ):
        items: list[Mapping[str, Any]] = page.get("events", []) or []
        yield _batch((str(e.get("message", "")) for e in items), source, selector)
    yield TrailBatch([], 0, source, 0, True)


async def stream_cwl_insights(
    aws: Aws,
    group: str,
    window: TimeWindow,
    flt: TrailFilter,
    *,
    limit: int = 10_000,
    poll_seconds: float = 1.0,
    on_progress: Callable[[InsightsProgress], None] | None = None,
) -> AsyncIterator[TrailBatch]:
    """The events matching ``flt`` in ``group``, found by Logs Insights (one batch at the end).

    The query keeps the newest ``limit`` matches (Insights' own maximum is 10,000); the exact
    filter is re-applied locally.
    """
    from tui.aws.insights import run_query

    query = to_insights(flt, limit=limit).text
    source = f"insights:{group}"
    selector = _Selector(window, flt)
    async for progress in run_query(
        aws, [group], query, window, limit=limit, poll_seconds=poll_seconds
    ):
        if on_progress is not None:
            on_progress(progress)
        if not progress.done:
            continue
        yield _batch((row.get("@message", "") for row in progress.rows), source, selector)
    yield TrailBatch([], 0, source, 0, True)
