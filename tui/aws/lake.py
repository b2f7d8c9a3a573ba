"""CloudTrail Lake: run the trail filter where an organization's events are stored.

A day of an org trail is millions of events; when an event data store holds them, the filter
compiles to Lake SQL (:func:`tui.models.trailsql.to_lake_sql`) and Lake scans them on AWS's
side. Lake bills per GB scanned and its API gives no store size, so the estimate says the scan
is unknown and the caller still asks before starting. As with Logs Insights
(tui/aws/insights.py): the query is registered with :meth:`Aws.track_query` (quitting cancels
it), cancelled when its consumer is, StartQuery is never sent again blindly after a lost answer
(:data:`tui.aws.operations.NOT_IDEMPOTENT`), and the whole filter is re-applied to the rows.

No textual or rich here: the headless verb uses this module too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from tui.aws.cloudtrail import TrailBatch
from tui.aws.errors import HamariError, NotFoundError, ThrottledError
from tui.models.cloudtrail import EventParseError, TrailEvent, parse_event
from tui.models.trailsql import PushedQuery, to_lake_sql

if TYPE_CHECKING:
    from tui.aws.session import Aws
    from tui.models.timewindow import TimeWindow
    from tui.models.trailfilter import TrailFilter

__all__ = [
    "PRICE_PER_GB_USD",
    "EventDataStore",
    "LakeEstimate",
    "LakeProgress",
    "estimate",
    "find_stores",
    "record_from_row",
    "run_query",
    "stream_lake",
]

PRICE_PER_GB_USD: Final = 0.005
"""Lake's list price per GB scanned by a query (us-east-1)."""
GB: Final = 1024**3
TERMINAL: Final = frozenset({"FINISHED", "FAILED", "CANCELLED", "TIMED_OUT"})
_LIVE: Final = frozenset({"QUEUED", "RUNNING", "FINISHED"})
_CLOCK_SLACK_S: Final = 10.0
_PAGE: Final = 1000


@dataclass(frozen=True, slots=True)
class EventDataStore:
    """One enabled event data store (Lake's table)."""

    arn: str
    name: str
    retention_days: int
    multi_region: bool
    organization: bool

    @property
    def id(self) -> str:
        """The ID part of the ARN: the table name in FROM."""
        return self.arn.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class LakeEstimate:
    """What is known of a query's cost before it runs (Lake gives no store size)."""

    store: EventDataStore
    query: PushedQuery

    def describe(self) -> str:
        return (
            f"CloudTrail Lake will scan event data store {self.store.name!r} "
            f"({self.store.retention_days} days retained): the size is unknown (Lake's API "
            f"gives none), billed ${PRICE_PER_GB_USD}/GB scanned (us-east-1 list price)"
        )


@dataclass(frozen=True, slots=True)
class LakeProgress:
    """The state of a running query."""

    query_id: str
    status: str
    events_scanned: int = 0
    bytes_scanned: int = 0
    rows_read: int = 0

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def describe(self) -> str:
        gb = self.bytes_scanned / GB
        return (
            f"Lake {self.status.lower()}: {self.events_scanned:,} events, {gb:.3f} GB scanned"
            + (f", {self.rows_read:,} rows read" if self.rows_read else "")
        )


async def find_stores(aws: Aws) -> list[EventDataStore]:
    """The enabled event data stores of the account (ListEventDataStores, paged)."""
    found: list[EventDataStore] = []
    async for page in aws.pages(
        "cloudtrail", "ListEventDataStores", token_in="NextToken", token_out="NextToken"
    ):
        for item in page.get("EventDataStores", []) or []:
            if str(item.get("Status", "ENABLED")) != "ENABLED" or not item.get("EventDataStoreArn"):
                continue
            found.append(
                EventDataStore(
                    arn=str(item["EventDataStoreArn"]),
                    name=str(item.get("Name") or item["EventDataStoreArn"]),
                    retention_days=int(item.get("RetentionPeriod") or 0),
                    multi_region=bool(item.get("MultiRegionEnabled")),
                    organization=bool(item.get("OrganizationEnabled")),
                )
            )
    return found


async def estimate(
    aws: Aws, window: TimeWindow, flt: TrailFilter, *, store: str | None = None, limit: int = 10_000
) -> LakeEstimate:
    """The store to query (``store``: a name, ID or ARN; default the first) and the SQL.

    Raises:
        NotFoundError: no enabled event data store (or none by that name).
    """
    stores = await find_stores(aws)
    chosen = [s for s in stores if store in (None, s.name, s.id, s.arn)]
    if not chosen:
        names = ", ".join(s.name for s in stores) or "none"
        raise NotFoundError(
            f"No CloudTrail Lake event data store{f' {store!r}' if store else ''} "
            f"(enabled stores: {names}).",
            hint="Create one in the CloudTrail console (Lake), or read the trail another way "
            "(--source s3 or lookup).",
            service="cloudtrail",
            operation="ListEventDataStores",
        )
    target = chosen[0]
    return LakeEstimate(target, to_lake_sql(flt, target.id, window.start, window.end, limit=limit))


async def start_query(aws: Aws, store: EventDataStore, statement: str) -> str:
    """StartQuery, never sent again blindly: returns the id of the one query that runs.

    After a lost answer the query is looked for first (ListQueries since this call began, then
    DescribeQuery for the same text) and adopted; only when none is found is it started once
    more. A throttle (refused) is retried by the access layer.
    """
    since = time.time() - (aws.clock_offset or 0.0) - _CLOCK_SLACK_S
    lost: HamariError | None = None
    for _ in range(2):
        try:
            started = await _start_once(aws, statement)
        except HamariError as err:
            if not err.transient or isinstance(err, ThrottledError):
                raise
            lost = err
            try:
                copies = await _started_copies(aws, store, statement, since)
            except HamariError as check:
                raise HamariError(
                    f"StartQuery's answer was lost ({err.message}) and hamari could not check "
                    f"whether the query started ({check.message}); it was not sent again.",
                    hint="Look for it in CloudTrail Lake's query history (it may still be "
                    "running), and grant cloudtrail:ListQueries and cloudtrail:DescribeQuery.",
                    service="cloudtrail",
                    operation="StartQuery",
                ) from None
            if copies:
                await _cancel(aws, store, copies[1:])
                return copies[0]
            continue
        query_id = str(started["QueryId"])
        if lost is not None:
            with contextlib.suppress(HamariError):
                strays = await _started_copies(aws, store, statement, since)
                await _cancel(aws, store, [q for q in strays if q != query_id])
        return query_id
    assert lost is not None
    raise lost


async def _start_once(aws: Aws, statement: str) -> dict[str, Any]:
    """One StartQuery; cancelled in flight, it waits for the answer and cancels that query."""
    call = asyncio.ensure_future(aws.call("cloudtrail", "StartQuery", QueryStatement=statement))
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:

        async def cancel_it() -> None:
            with contextlib.suppress(Exception):
                started = await call
                await aws.call("cloudtrail", "CancelQuery", QueryId=str(started["QueryId"]))

        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(cancel_it())
        raise


async def _started_copies(
    aws: Aws, store: EventDataStore, statement: str, since: float
) -> list[str]:
    """Ids of live queries with this statement on this store created since ``since``."""
    resp = await aws.call(
        "cloudtrail",
        "ListQueries",
        EventDataStore=store.arn,
        StartTime=datetime.fromtimestamp(since, UTC),
        EndTime=datetime.fromtimestamp(time.time() + 3600, UTC),
    )
    found: list[str] = []
    for info in resp.get("Queries", []) or []:
        if info.get("QueryStatus") not in _LIVE or not info.get("QueryId"):
            continue
        desc = await aws.call(
            "cloudtrail", "DescribeQuery", EventDataStore=store.arn, QueryId=info["QueryId"]
        )
        if desc.get("QueryString") == statement:
            found.append(str(info["QueryId"]))
    return found


async def _cancel(aws: Aws, store: EventDataStore, query_ids: Sequence[str]) -> None:
    for query_id in query_ids:
        with contextlib.suppress(HamariError):
            await aws.call("cloudtrail", "CancelQuery", EventDataStore=store.arn, QueryId=query_id)


async def run_query(
    aws: Aws,
    store: EventDataStore,
    statement: str,
    *,
    poll_seconds: float = 1.0,
    timeout_seconds: float = 900.0,
) -> AsyncIterator[tuple[LakeProgress, list[dict[str, str]]]]:
    """Start a Lake query; yield (progress, rows of this page) until the last page is read.

    Rows come only once the query is FINISHED (GetQueryResults, paged). Cancelling the
    consumer, a timeout or a failure cancels the query (CancelQuery).

    Raises:
        HamariError: the query failed, was cancelled by someone else, or timed out.
    """
    query_id = await start_query(aws, store, statement)
    aws.track_query(query_id, service="cloudtrail")
    finished = False
    try:
        async with asyncio.timeout(timeout_seconds):
            while True:
                desc = await aws.call(
                    "cloudtrail", "DescribeQuery", EventDataStore=store.arn, QueryId=query_id
                )
                stats = desc.get("QueryStatistics") or {}
                progress = LakeProgress(
                    query_id,
                    str(desc.get("QueryStatus", "QUEUED")),
                    int(stats.get("EventsScanned") or 0),
                    int(stats.get("BytesScanned") or 0),
                )
                if progress.done:
                    finished = True
                    aws.meter.add("lake_bytes_scanned", progress.bytes_scanned)
                    if progress.status != "FINISHED":
                        why = str(desc.get("ErrorMessage") or "").strip()
                        raise HamariError(
                            f"The CloudTrail Lake query ended as {progress.status}"
                            + (f": {why}" if why else "."),
                            hint="Narrow the window or the filter and run it again.",
                            service="cloudtrail",
                            operation="DescribeQuery",
                        )
                    break
                yield progress, []
                await asyncio.sleep(poll_seconds)
        read = 0
        params: dict[str, Any] = {"EventDataStore": store.arn, "QueryId": query_id}
        async for page in aws.pages(
            "cloudtrail",
            "GetQueryResults",
            token_in="NextToken",
            token_out="NextToken",
            MaxQueryResults=_PAGE,
            **params,
        ):
            rows = [_row(r) for r in page.get("QueryResultRows", []) or []]
            read += len(rows)
            yield (
                LakeProgress(
                    query_id, "FINISHED", progress.events_scanned, progress.bytes_scanned, read
                ),
                rows,
            )
    except TimeoutError:
        raise HamariError(
            f"The CloudTrail Lake query did not finish in {timeout_seconds:.0f} s; it was "
            "cancelled.",
            hint="Narrow the window or the filter.",
            service="cloudtrail",
            operation="DescribeQuery",
        ) from None
    finally:
        if not finished:
            with contextlib.suppress(HamariError, asyncio.CancelledError):
                await asyncio.shield(
                    aws.call(
                        "cloudtrail", "CancelQuery", EventDataStore=store.arn, QueryId=query_id
                    )
                )
        aws.untrack_query(query_id, service="cloudtrail")


def _row(cells: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """One result row: a list of one-column maps, nulls absent."""
    out: dict[str, str] = {}
    for cell in cells:
        for key, value in cell.items():
            out[str(key)] = str(value)
    return out


def _loads(text: str | None) -> Any:
    if not text:
        return None
    with contextlib.suppress(ValueError):
        return json.loads(text)
    return None


def _resources(text: str | None) -> list[dict[str, str]]:
    """Lake's resources as CloudTrail writes them; a ROW cast to JSON may be an array."""
    out: list[dict[str, str]] = []
    for item in _loads(text) or []:
        if isinstance(item, dict):
            lower = {str(k).lower(): v for k, v in item.items()}
            out.append({"ARN": str(lower.get("arn") or ""), "type": str(lower.get("type") or "")})
        elif isinstance(item, list):
            arns = [str(v) for v in item if isinstance(v, str) and v.startswith("arn:")]
            if arns:
                out.append({"ARN": arns[0]})
    return out


def record_from_row(row: Mapping[str, str]) -> dict[str, Any]:
    """A CloudTrail record rebuilt from the columns :data:`LAKE_COLUMNS` selects."""
    identity: dict[str, Any] = {}
    for key, alias in (
        ("type", "identityType"),
        ("arn", "identityArn"),
        ("principalId", "identityPrincipalId"),
        ("accountId", "identityAccountId"),
        ("accessKeyId", "identityAccessKeyId"),
        ("userName", "identityUserName"),
        ("invokedBy", "identityInvokedBy"),
    ):
        if row.get(alias):
            identity[key] = row[alias]
    if row.get("issuerUserName") or row.get("issuerArn"):
        issuer = {"userName": row.get("issuerUserName", ""), "arn": row.get("issuerArn", "")}
        identity["sessionContext"] = {"sessionIssuer": issuer}
    record: dict[str, Any] = {}
    for name in (
        "eventID",
        "eventName",
        "eventSource",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "errorCode",
        "errorMessage",
        "recipientAccountId",
        "eventType",
        "requestID",
    ):
        if row.get(name):
            record[name] = row[name]
    when = row.get("eventTime", "")
    record["eventTime"] = when.replace(" ", "T") + ("Z" if when and "+" not in when else "")
    if row.get("readOnly"):
        record["readOnly"] = row["readOnly"].lower() == "true"
    record["userIdentity"] = identity
    for name in ("requestParameters", "responseElements"):
        value = _loads(row.get(name))
        if value is not None:
            record[name] = value
    resources = _resources(row.get("resources"))
    if resources:
        record["resources"] = resources
    return record


async def stream_lake(
    aws: Aws,
    plan: LakeEstimate,
    flt: TrailFilter,
    *,
    poll_seconds: float = 1.0,
    on_progress: Callable[[LakeProgress], None] | None = None,
) -> AsyncIterator[TrailBatch]:
    """The events ``plan``'s query finds, one batch per result page, the filter re-applied.

    Yields:
        One batch per GetQueryResults page, then a final ``done`` batch.
    """
    source = f"lake:{plan.store.name}"
    async for progress, rows in run_query(
        aws, plan.store, plan.query.text, poll_seconds=poll_seconds
    ):
        if on_progress is not None:
            on_progress(progress)
        if not rows:
            continue
        events: list[TrailEvent] = []
        bad = 0
        notes: list[str] = []
        for row in rows:
            try:
                event = parse_event(record_from_row(row))
            except EventParseError as err:
                bad += 1
                if len(notes) < 3:
                    notes.append(f"{source}: row {progress.rows_read}: {err}")
                continue
            if flt.matches(event):
                events.append(event)
        yield TrailBatch(events, bad, source, 1, False, scanned=len(rows), notes=tuple(notes))
    yield TrailBatch([], 0, source, 0, True)
