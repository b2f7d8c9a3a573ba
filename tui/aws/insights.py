"""CloudWatch Logs Insights: run the flow filter where the logs are, at scale.

FilterLogEvents pulls every matching event to the bastion; for weeks of flow logs that is slow
and, over a slow link, hopeless. The same filter compiles to a Logs Insights query
(:meth:`tui.models.flowfilter.FlowFilter.to_insights`) that AWS runs on its side. Insights is
billed per GB scanned, so the cost is estimated first (from the log groups' stored bytes) and
the caller decides. Running queries are registered with :meth:`Aws.track_query` so that quitting,
an SSH drop or a cancelled worker stops them (StopQuery) instead of letting them burn money; a
concurrency limit (LimitExceededException) is retried with backoff by the access layer, never
hammered.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tui.aws.errors import HamariError, ThrottledError
from tui.aws.session import Aws
from tui.models.flowfilter import FlowFilter
from tui.models.network import FlowLogConfig
from tui.models.timewindow import TimeWindow

if TYPE_CHECKING:
    from tui.aws.flowlogs import FlowBatch

# us-east-1 list price of Logs Insights, per GB scanned (the estimate says it is an estimate).
PRICE_PER_GB_USD = 0.005
GB = 1024**3
TERMINAL = frozenset({"Complete", "Failed", "Cancelled", "Timeout", "Unknown"})


@dataclass(frozen=True)
class InsightsEstimate:
    """An upper bound of what a query over these groups and this window will scan."""

    log_groups: tuple[str, ...]
    stored_bytes: int
    window_fraction: float
    estimated_bytes: int

    @property
    def estimated_usd(self) -> float:
        return self.estimated_bytes / GB * PRICE_PER_GB_USD

    def describe(self) -> str:
        gb = self.estimated_bytes / GB
        usd = self.estimated_usd
        cost = f"~${usd:.4f}" if usd >= 0.0001 else "< $0.0001"
        return (
            f"Logs Insights will scan at most ~{gb:.3f} GB in {len(self.log_groups)} log group(s) "
            f"({cost} at ${PRICE_PER_GB_USD}/GB, us-east-1 list price; "
            "an estimate from the groups' stored bytes)"
        )


@dataclass
class InsightsProgress:
    """The state of a running query: its status, what it scanned, the rows so far."""

    query_id: str
    status: str
    rows: list[dict[str, str]] = field(default_factory=list)
    bytes_scanned: float = 0.0
    records_scanned: float = 0.0

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


async def estimate(aws: Aws, log_groups: Sequence[str], window: TimeWindow) -> InsightsEstimate:
    """Estimate the bytes a query will scan: stored bytes times the share of retention in the window."""
    stored = 0
    widest_days = 0.0
    for group in log_groups:
        resp = await aws.call("logs", "DescribeLogGroups", logGroupNamePrefix=group, limit=5)
        for item in resp.get("logGroups", []):
            if item.get("logGroupName") != group:
                continue
            stored += int(item.get("storedBytes") or 0)
            retention = item.get("retentionInDays")
            widest_days = max(widest_days, float(retention) if retention else 0.0)
    window_days = max(window.duration.total_seconds() / 86400, 1 / 1440)
    # Without a retention setting the data may span any age: assume the window holds all of it.
    fraction = min(1.0, window_days / widest_days) if widest_days else 1.0
    return InsightsEstimate(tuple(log_groups), stored, fraction, int(stored * fraction))


def _row(fields: Sequence[dict[str, Any]]) -> dict[str, str]:
    return {str(f.get("field")): str(f.get("value", "")) for f in fields if f.get("field")}


#: Statuses of a query that is or was really running (and whose results can be read).
_LIVE = frozenset({"Scheduled", "Running", "Complete"})
#: Clock slack when matching DescribeQueries' createTime against our own clock.
_CLOCK_SLACK_S = 10.0


async def start_query(
    aws: Aws, log_groups: Sequence[str], query: str, window: TimeWindow, *, limit: int
) -> str:
    """StartQuery, never sent again blindly: returns the id of the one query that runs.

    StartQuery is not idempotent: when its answer is lost (timed out, connection dropped, 5xx)
    the query may be running all the same, and sending it again would start a second one that
    nothing stops, billed per GB. So after a lost answer the query is looked for first
    (DescribeQueries: same log group and query text, created since this call began) and
    adopted; only when none is found is it started once more, and a copy from the lost attempt
    that shows up late is stopped. The access layer retries a throttle (AWS refused it) but
    never a lost answer of this call (:data:`tui.aws.operations.NOT_IDEMPOTENT`).

    Raises:
        HamariError: when it could not be started (the last error).
    """
    offset = aws.clock_offset or 0.0  # the bastion's clock minus AWS's
    since_ms = int((time.time() - offset - _CLOCK_SLACK_S) * 1000)
    params: dict[str, Any] = {
        "logGroupNames": list(log_groups),
        "startTime": int(window.start.timestamp()),
        "endTime": int(window.end.timestamp()),
        "queryString": query,
        "limit": limit,
    }
    lost: HamariError | None = None
    for _ in range(2):
        try:
            started = await _start_once(aws, params)
        except HamariError as err:
            if not err.transient or isinstance(err, ThrottledError):
                raise  # refused (a throttle was already retried): nothing was started
            lost = err
            try:
                copies = await _started_copies(aws, log_groups[0], query, since_ms)
            except HamariError as check:
                raise HamariError(
                    f"StartQuery's answer was lost ({err.message}) and hamari could not check "
                    f"whether the query started ({check.message}); it was not sent again.",
                    hint="Look for it in the console's Logs Insights query history (it may still "
                    "be running), and grant logs:DescribeQueries.",
                    service="logs",
                    operation="StartQuery",
                ) from None
            if copies:
                await _stop(aws, copies[1:])
                return copies[0]
            continue
        query_id = str(started["queryId"])
        if lost is not None:  # the lost attempt's query may surface only now (best effort)
            with contextlib.suppress(HamariError):
                strays = await _started_copies(aws, log_groups[0], query, since_ms)
                await _stop(aws, [q for q in strays if q != query_id])
        return query_id
    assert lost is not None
    raise lost


async def _start_once(aws: Aws, params: dict[str, Any]) -> dict[str, Any]:
    """One StartQuery. Cancelled while it is in flight, it waits for the answer and stops the
    query it started: a query nobody reads still bills until it ends."""
    call = asyncio.ensure_future(aws.call("logs", "StartQuery", **params))
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:

        async def stop_it() -> None:
            with contextlib.suppress(Exception):
                started = await call
                await aws.call("logs", "StopQuery", queryId=str(started["queryId"]))

        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(stop_it())
        raise


async def _started_copies(aws: Aws, group: str, query: str, since_ms: int) -> list[str]:
    """Ids of queries with this text on this group created since ``since_ms``, newest first."""
    found: list[tuple[int, str]] = []
    async for page in aws.pages(
        "logs",
        "DescribeQueries",
        token_in="nextToken",
        token_out="nextToken",
        max_pages=5,
        logGroupName=group,
    ):
        for info in page.get("queries", []) or []:
            created = int(info.get("createTime") or 0)
            if (
                info.get("queryString") == query
                and info.get("status") in _LIVE
                and created >= since_ms
                and info.get("queryId")
            ):
                found.append((created, str(info["queryId"])))
    return [qid for _, qid in sorted(found, reverse=True)]


async def _stop(aws: Aws, query_ids: Sequence[str]) -> None:
    """Stop queries nobody will read (one that already ended cannot be stopped: ignored)."""
    for query_id in query_ids:
        with contextlib.suppress(HamariError):
            await aws.call("logs", "StopQuery", queryId=query_id)


async def run_query(
    aws: Aws,
    log_groups: Sequence[str],
    query: str,
    window: TimeWindow,
    *,
    limit: int = 10_000,
    poll_seconds: float = 1.0,
    timeout_seconds: float = 900.0,
) -> AsyncIterator[InsightsProgress]:
    """Start a Logs Insights query and yield its progress until it ends.

    Cancelling the consumer (a worker cancelled, the app quitting) stops the query with
    StopQuery; so does a timeout.

    Raises:
        HamariError: when the query fails, is cancelled by AWS, or times out.
    """
    query_id = await start_query(aws, log_groups, query, window, limit=limit)
    aws.track_query(query_id)
    finished = False
    try:
        async with asyncio.timeout(timeout_seconds):
            while True:
                resp = await aws.call("logs", "GetQueryResults", queryId=query_id)
                stats = resp.get("statistics") or {}
                progress = InsightsProgress(
                    query_id=query_id,
                    status=str(resp.get("status", "Unknown")),
                    rows=[_row(r) for r in resp.get("results", [])],
                    bytes_scanned=float(stats.get("bytesScanned") or 0),
                    records_scanned=float(stats.get("recordsScanned") or 0),
                )
                yield progress
                if progress.done:
                    finished = True
                    aws.meter.add("insights_bytes_scanned", int(progress.bytes_scanned))
                    if progress.status != "Complete":
                        raise HamariError(
                            f"The Logs Insights query ended as {progress.status}.",
                            hint="Narrow the window or the filter and run it again.",
                            service="logs",
                            operation="GetQueryResults",
                        )
                    return
                await asyncio.sleep(poll_seconds)
    except TimeoutError:
        raise HamariError(
            f"The Logs Insights query did not finish in {timeout_seconds:.0f} s; it was stopped.",
            hint="Narrow the window or the filter.",
            service="logs",
            operation="GetQueryResults",
        ) from None
    finally:
        if not finished:
            # Cancelled, timed out or failed mid-way: stop it so it costs nothing more.
            with contextlib.suppress(HamariError, asyncio.CancelledError):
                await asyncio.shield(aws.call("logs", "StopQuery", queryId=query_id))
        aws.untrack_query(query_id)


async def stream_flow_insights(
    aws: Aws,
    config: FlowLogConfig,
    window: TimeWindow,
    flt: FlowFilter,
    *,
    limit: int = 10_000,
    poll_seconds: float = 1.0,
    on_progress: Callable[[InsightsProgress], None] | None = None,
) -> AsyncIterator[FlowBatch]:
    """The flow records matching ``flt`` in one CloudWatch Logs group, found by Logs Insights.

    The query is compiled from the filter for the group's format; the exact filter is re-applied
    locally to what comes back (Insights' own parsing is not trusted to be exact), as with every
    other source. One batch is yielded when the query completes.
    """
    from tui.aws.flowlogs import FlowBatch
    from tui.models.flowlog import FlowLogParser, ParseStats

    fields = config.fields if config.format_known else None
    query = flt.to_insights(fields, limit=limit)
    group = str(config.log_group)
    stats = ParseStats()
    parser = FlowLogParser(fields, stats=stats, source=f"insights:{group}")
    keep = flt.to_predicate()
    async for progress in run_query(
        aws, [group], query, window, limit=limit, poll_seconds=poll_seconds
    ):
        if on_progress is not None:
            on_progress(progress)
        if not progress.done:
            continue
        records = []
        for row in progress.rows:
            record = parser.feed_line(row.get("@message", ""))
            if record is not None and keep(record):
                records.append(record)
        yield FlowBatch(records, stats, f"insights:{group}", 1, True, pushed_down=query)
