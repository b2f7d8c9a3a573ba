"""Athena: run the flow filter over flow logs in S3 where they are (opt-in).

For flow logs delivered to S3 there is no Logs Insights; Athena runs SQL over the objects
themselves. It is opt-in (``--athena-workgroup``) because it is the one place hamari causes a
write: Athena stores each query's result CSV in the workgroup's S3 output location. The access
layer refuses these calls without the flag (:data:`tui.aws.operations.OPT_IN`).

The filter compiles to SQL (:meth:`tui.models.flowfilter.FlowFilter.to_sql_where`) with
partition predicates for the window, so Athena reads only the window's partitions: date/hour
partitions as AWS's flow-log integration and the Athena docs create them (``year``/``month``/
``day``/``hour``, a ``date`` or ``day`` key, or a partition-projected date key with its
``projection.KEY.format``). Athena bills per byte scanned ($5/TB, 10 MB minimum per query), so the
scan is estimated first from the S3 sizes of the objects under those partitions and the caller
decides. StartQueryExecution carries a ClientRequestToken (a retry cannot start a second query);
a running query is registered with :meth:`Aws.track_query` and stopped (StopQueryExecution) on
cancel, timeout and quit. Results are paged (GetQueryResults, 1000 rows) and parsed into
:class:`~tui.aws.flowlogs.FlowBatch` as they arrive, with the exact filter re-applied locally.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tui.aws.errors import ConfigError, HamariError, ThrottledError
from tui.aws.flowlogs import FlowBatch, _list, _stamps, list_flow_objects, s3_location
from tui.aws.session import Aws
from tui.models.flowfilter import FlowFilter
from tui.models.flowlog import FIELDS, FIELDS_BY_ATTR, FlowLogParser, ParseStats
from tui.models.text import display_safe
from tui.models.timewindow import TimeWindow

#: Athena's list price (us-east-1), per TB scanned; each query is billed at least 10 MB.
PRICE_PER_TB_USD: Final = 5.0
TB: Final = 1024**4
GB: Final = 1024**3
MIN_BILLED_BYTES: Final = 10 * 1024**2
#: Rows per GetQueryResults page (the API's maximum).
RESULT_PAGE: Final = 1000
TERMINAL: Final = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
#: Partition listings are bounded: a table with more partitions is estimated from what was read.
_MAX_PARTITION_PAGES: Final = 50

_TABLE_REF: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_INT_TYPES: Final = frozenset({"int", "integer", "bigint", "smallint", "tinyint"})
# Java date patterns of projection.KEY.format -> strftime.
_JAVA_DATE: Final = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"))
_INFERRED: Final = (
    (re.compile(r"\d{4}/\d{2}/\d{2}/\d{2}"), "%Y/%m/%d/%H"),
    (re.compile(r"\d{4}/\d{2}/\d{2}"), "%Y/%m/%d"),
    (re.compile(r"\d{4}-\d{2}-\d{2}-\d{2}"), "%Y-%m-%d-%H"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
    (re.compile(r"\d{10}"), "%Y%m%d%H"),
    (re.compile(r"\d{8}"), "%Y%m%d"),
)


@dataclass(frozen=True)
class AthenaTable:
    """A flow-log table of the Glue catalog (GetTable), as far as the query needs it."""

    database: str
    name: str
    location: str
    columns: tuple[tuple[str, str], ...]
    partition_keys: tuple[tuple[str, str], ...]
    parameters: dict[str, str] = field(default_factory=dict)
    partitions: tuple[tuple[tuple[str, ...], str], ...] = ()  # (values, location), unprojected

    @property
    def ref(self) -> str:
        return f"{self.database}.{self.name}"

    @property
    def sql_name(self) -> str:
        return f"{quote_ident(self.database)}.{quote_ident(self.name)}"

    @property
    def projected(self) -> bool:
        return self.parameters.get("projection.enabled", "").lower() == "true"


def quote_ident(name: str) -> str:
    """A Trino identifier: double-quoted (partition keys such as ``aws-region`` need it)."""
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str, kind: str) -> str:
    if kind.lower() in _INT_TYPES:
        return str(int(value))
    if kind.lower() == "date":
        return f"DATE '{value}'"
    return "'" + value.replace("'", "''") + "'"


def parse_table_ref(ref: str) -> tuple[str, str]:
    """``db.table`` -> ``(db, table)``; anything else is a usage error said in one sentence."""
    if not _TABLE_REF.fullmatch(ref or ""):
        raise ConfigError(
            f"--athena-table {ref!r} is not DATABASE.TABLE.",
            hint="Example: --athena-table flowlogs.vpc_flow_logs (the table in the Glue catalog).",
        )
    db, name = ref.split(".", 1)
    return db, name


async def get_table(aws: Aws, ref: str) -> AthenaTable:
    """Read the table (and, when it is not partition-projected, its partitions) from Glue."""
    db, name = parse_table_ref(ref)
    resp = await aws.call("glue", "GetTable", DatabaseName=db, Name=name)
    table = resp.get("Table") or {}
    sd = table.get("StorageDescriptor") or {}
    columns = tuple((str(c["Name"]), str(c.get("Type", "string"))) for c in sd.get("Columns", []))
    keys = tuple(
        (str(c["Name"]), str(c.get("Type", "string"))) for c in table.get("PartitionKeys", [])
    )
    params = {str(k): str(v) for k, v in (table.get("Parameters") or {}).items()}
    partitions: list[tuple[tuple[str, ...], str]] = []
    if keys and params.get("projection.enabled", "").lower() != "true":
        async for page in aws.pages(
            "glue", "GetPartitions", max_pages=_MAX_PARTITION_PAGES, DatabaseName=db, TableName=name
        ):
            for part in page.get("Partitions", []) or []:
                where = str((part.get("StorageDescriptor") or {}).get("Location") or "")
                partitions.append((tuple(str(v) for v in part.get("Values", [])), where))
    return AthenaTable(
        db, name, str(sd.get("Location") or ""), columns, keys, params, tuple(partitions)
    )


#: Glue listing bounds when a table is looked for by its location (pages of 100 each).
_MAX_CATALOG_PAGES: Final = 10


async def find_table(aws: Aws, source: str) -> str:
    """The ``db.table`` of the Glue catalog whose location holds ``s3://bucket/prefix``, or is
    held by it (GetDatabases, GetTables).

    Raises:
        ConfigError: none, or more than one, match: the user names it with --athena-table.
    """
    bucket, prefix = s3_location(source)
    want = f"s3://{bucket}/{prefix.strip('/')}".rstrip("/") + "/"
    found: list[str] = []
    async for page in aws.pages("glue", "GetDatabases", max_pages=_MAX_CATALOG_PAGES):
        for db in page.get("DatabaseList", []) or []:
            async for tables in aws.pages(
                "glue", "GetTables", max_pages=_MAX_CATALOG_PAGES, DatabaseName=str(db["Name"])
            ):
                for table in tables.get("TableList", []) or []:
                    location = str((table.get("StorageDescriptor") or {}).get("Location") or "")
                    location = location.rstrip("/") + "/"
                    if location != "/" and (location.startswith(want) or want.startswith(location)):
                        found.append(f"{db['Name']}.{table['Name']}")
    if len(found) == 1:
        return found[0]
    which = f": {display_safe(', '.join(sorted(found)[:5]))}" if found else ""
    raise ConfigError(
        f"{len(found) or 'No'} table(s) of the Glue catalog read {display_safe(want)}{which}.",
        hint="Name the flow logs' table with --athena-table DB.TABLE.",
    )


async def resolve_table(aws: Aws, ref: str | None, source: str) -> AthenaTable:
    """The table named by --athena-table, else the one found by the source's location."""
    return await get_table(aws, ref or await find_table(aws, source))


# -- partition predicates ------------------------------------------------------------------------


def _hours(window: TimeWindow) -> list[datetime]:
    """The hours whose objects may hold the window's records (the S3 reader's slack)."""
    lo, hi = _stamps(window)
    hour = lo.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    out = []
    while hour <= hi:
        out.append(hour)
        hour += timedelta(hours=1)
    return out


def _date_format(table: AthenaTable, key: str, kind: str) -> str | None:
    """The strftime format of a date-valued partition key, or None for other keys."""
    java = table.parameters.get(f"projection.{key}.format")
    if table.projected and table.parameters.get(f"projection.{key}.type") == "date" and java:
        for java_part, spec in _JAVA_DATE:
            java = java.replace(java_part, spec)
        return java
    if kind.lower() == "date":
        return "%Y-%m-%d"
    names = [k.lower() for k, _ in table.partition_keys]
    if key.lower() not in ("date", "day", "dt") or kind.lower() in _INT_TYPES:
        return None
    if key.lower() == "day" and "year" in names:
        return None  # year=/month=/day= partitions: the day of the month
    index = names.index(key.lower())
    for values, _ in table.partitions:
        for pattern, spec in _INFERRED:
            if index < len(values) and pattern.fullmatch(values[index]):
                return spec
    return "%Y/%m/%d" if key.lower() == "day" else "%Y-%m-%d"


#: One term per partition key: the values it may take, per day of the window.
Plan = list[dict[str, set[str]]]


def partition_plan(table: AthenaTable, window: TimeWindow) -> Plan:
    """The allowed values of the time partition keys, one dict per day of the window.

    Empty when the table has no time partitions (then Athena reads all of it).
    """
    by_day: dict[datetime, list[datetime]] = {}
    for hour in _hours(window):
        by_day.setdefault(hour.replace(hour=0), []).append(hour)
    plan: Plan = []
    for day, hours in by_day.items():
        terms: dict[str, set[str]] = {}
        for key, kind in table.partition_keys:
            fmt = _date_format(table, key, kind)
            name = key.lower()
            if fmt is not None:
                terms[key] = (
                    {h.strftime(fmt) for h in hours} if "%H" in fmt else {day.strftime(fmt)}
                )
            elif name in ("year", "month", "day"):
                width = 4 if name == "year" else 2
                terms[key] = {f"{getattr(day, name):0{width}d}"}
            elif name == "hour":
                terms[key] = {f"{h.hour:02d}" for h in hours}
        if terms:
            plan.append(terms)
    return plan


def _same(value: str, allowed: set[str], kind: str) -> bool:
    if kind.lower() in _INT_TYPES:
        with contextlib.suppress(ValueError):
            return int(value) in {int(a) for a in allowed}
    return value in allowed


def plan_allows(table: AthenaTable, plan: Plan, values: Sequence[str]) -> bool:
    """Whether a partition with these values is one the predicate keeps."""
    if not plan:
        return True
    kinds = dict(table.partition_keys)
    keys = [k for k, _ in table.partition_keys]
    got = dict(zip(keys, values, strict=False))
    return any(
        all(k in got and _same(got[k], allowed, kinds[k]) for k, allowed in terms.items())
        for terms in plan
    )


def plan_sql(table: AthenaTable, plan: Plan) -> str | None:
    """The plan as a Trino condition, or None when there is nothing to prune on."""
    if not plan:
        return None
    kinds = dict(table.partition_keys)
    days = []
    for terms in plan:
        parts = []
        for key, values in terms.items():
            lits = [_literal(v, kinds[key]) for v in sorted(values)]
            ident = quote_ident(key)
            parts.append(
                f"{ident} = {lits[0]}" if len(lits) == 1 else f"{ident} IN ({', '.join(lits)})"
            )
        days.append("(" + " AND ".join(parts) + ")")
    return days[0] if len(days) == 1 else "(" + " OR ".join(days) + ")"


def compile_query(table: AthenaTable, window: TimeWindow, flt: FlowFilter, *, limit: int) -> str:
    """The SELECT Athena runs: the table's columns, the window's partitions and the filter."""
    names = [c for c, _ in table.columns]
    select = ", ".join(quote_ident(c) for c in names) if names else "*"
    conds = []
    pruning = plan_sql(table, partition_plan(table, window))
    if pruning:
        conds.append(pruning)
    if "start" in names and "end" in names:
        lo, hi = int(window.start.timestamp()), int(window.end.timestamp())
        conds.append(f'"end" >= {lo} AND "start" <= {hi}')
    if not flt.is_empty:
        conds.append(flt.to_sql_where("athena"))
    sql = f"SELECT {select} FROM {table.sql_name}"
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    if "start" in names:
        sql += ' ORDER BY "start" DESC'
    return f"{sql} LIMIT {int(limit)}"


# -- the estimate ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AthenaEstimate:
    """What a query over the window's partitions will scan: the S3 bytes under them."""

    table: str
    objects: int
    estimated_bytes: int
    pruned: bool

    @property
    def estimated_usd(self) -> float:
        return max(self.estimated_bytes, MIN_BILLED_BYTES) / TB * PRICE_PER_TB_USD

    def describe(self) -> str:
        gb = self.estimated_bytes / GB
        size = f"{gb:.3f} GB" if gb >= 0.1 else f"{self.estimated_bytes / 1024**2:.2f} MB"
        where = "under the window's partitions" if self.pruned else "of the whole table"
        return (
            f"Athena will scan ~{size} in {self.objects:,} object(s) of {display_safe(self.table)} "
            f"(~${self.estimated_usd:.4f} at ${PRICE_PER_TB_USD:g}/TB, 10 MB minimum, us-east-1 "
            f"list price; an estimate from the S3 sizes {where})"
        )


def _projected_prefixes(table: AthenaTable, plan: Plan) -> list[str] | None:
    """The S3 prefixes a projected table's ``storage.location.template`` gives for the plan, or
    None when a key of the template is not a time key (an enum of accounts, say)."""
    keys = [k for k, _ in table.partition_keys]
    default = table.location.rstrip("/") + "/" + "/".join(f"{k}=${{{k}}}" for k in keys)
    template = table.parameters.get("storage.location.template") or default  # Athena's default
    out: set[str] = set()
    for terms in plan:
        keys = sorted(terms)
        for combo in itertools.product(*(sorted(terms[k]) for k in keys)):
            path = template
            for key, value in zip(keys, combo, strict=True):
                path = path.replace("${" + key + "}", value)
            if "${" in path:
                return None
            out.add(path.rstrip("/") + "/")
    return sorted(out)


async def estimate(aws: Aws, table: AthenaTable, window: TimeWindow) -> AthenaEstimate:
    """Sum the S3 sizes of the objects under the window's partitions (ListObjectsV2)."""
    plan = partition_plan(table, window)
    objects: list[dict[str, Any]] = []
    prefixes = _projected_prefixes(table, plan) if table.projected and plan else None
    if prefixes is not None:
        for location in prefixes:  # what Athena lists: the template filled in per partition
            bucket, prefix = s3_location(location)
            found, _ = await _list(aws, bucket, prefix)
            objects.extend(found)
    elif table.projected and plan:  # other keys in the template (accounts, regions): the
        bucket, prefix = s3_location(table.location)  # window's folders in AWS's layouts
        objects = await list_flow_objects(aws, bucket, prefix, window)
    elif table.partition_keys:  # registered partitions only (none: Athena reads nothing)
        for values, location in table.partitions:
            if location and plan_allows(table, plan, values):
                bucket, prefix = s3_location(location)
                found, _ = await _list(aws, bucket, prefix.rstrip("/") + "/")
                objects.extend(found)
    else:
        bucket, prefix = s3_location(table.location)
        objects, _ = await _list(aws, bucket, prefix)
    size = sum(int(o.get("Size") or 0) for o in objects)
    return AthenaEstimate(table.ref, len(objects), size, bool(plan))


# -- running ---------------------------------------------------------------------------------------


@dataclass
class AthenaProgress:
    """A running query: its state, what it scanned, the rows read so far."""

    query_id: str
    state: str
    bytes_scanned: int = 0
    rows: int = 0
    reason: str = ""

    @property
    def done(self) -> bool:
        return self.state in TERMINAL


async def start_query(aws: Aws, sql: str, table: AthenaTable, workgroup: str) -> str:
    """StartQueryExecution with a ClientRequestToken: one query, however often it is sent.

    The access layer never resends it after a lost answer (it is in NOT_IDEMPOTENT). Here it
    is sent once more with the same token, which Athena answers with the query already started
    by the first attempt. Cancelled while in flight, the answer is awaited and that query
    stopped: a query nobody reads still bills until it ends.
    """
    params = {
        "QueryString": sql,
        "WorkGroup": workgroup,
        "ClientRequestToken": uuid.uuid4().hex,
        "QueryExecutionContext": {"Database": table.database, "Catalog": "AwsDataCatalog"},
    }
    for attempt in range(2):
        try:
            return await _start_once(aws, params)
        except HamariError as err:
            if attempt or not err.transient or isinstance(err, ThrottledError):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _start_once(aws: Aws, params: dict[str, Any]) -> str:
    call = asyncio.ensure_future(aws.call("athena", "StartQueryExecution", **params))
    try:
        resp = await asyncio.shield(call)
    except asyncio.CancelledError:

        async def stop_it() -> None:
            with contextlib.suppress(Exception):
                started = await call
                await stop_query(aws, str(started["QueryExecutionId"]))

        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(stop_it())
        raise
    return str(resp["QueryExecutionId"])


async def stop_query(aws: Aws, query_id: str) -> None:
    """StopQueryExecution (best effort: a query that already ended cannot be stopped)."""
    with contextlib.suppress(HamariError):
        await aws.call("athena", "StopQueryExecution", QueryExecutionId=query_id)


def _header(fields: Sequence[str]) -> tuple[str, ...]:
    """Result columns as flow-log field names (``account_id`` -> ``account-id``)."""
    out = []
    for name in fields:
        spec = FIELDS_BY_ATTR.get(name) or FIELDS.get(name)
        out.append(spec.name if spec is not None else name)
    return tuple(out)


def _cells(row: dict[str, Any]) -> list[str]:
    return [str(d.get("VarCharValue") or "-") for d in row.get("Data", [])]


async def stream_flow_athena(
    aws: Aws,
    table: AthenaTable,
    window: TimeWindow,
    flt: FlowFilter,
    *,
    workgroup: str,
    limit: int = 10_000,
    poll_seconds: float = 1.0,
    timeout_seconds: float = 900.0,
    on_progress: Callable[[AthenaProgress], None] | None = None,
) -> AsyncIterator[FlowBatch]:
    """Run the filter in Athena over the window's partitions; yield the records page by page.

    Raises:
        HamariError: the query failed, was cancelled by someone else, or timed out (stopped).
    """
    sql = compile_query(table, window, flt, limit=limit)
    source = f"athena:{table.ref}"
    query_id = await start_query(aws, sql, table, workgroup)
    aws.track_query(query_id, service="athena")
    progress = AthenaProgress(query_id, "QUEUED")
    finished = False
    try:
        async with asyncio.timeout(timeout_seconds):
            while True:
                resp = await aws.call("athena", "GetQueryExecution", QueryExecutionId=query_id)
                info = resp.get("QueryExecution") or {}
                status = info.get("Status") or {}
                progress.state = str(status.get("State") or "QUEUED")
                progress.reason = str(status.get("StateChangeReason") or "")
                stats = info.get("Statistics") or {}
                progress.bytes_scanned = int(stats.get("DataScannedInBytes") or 0)
                if on_progress is not None:
                    on_progress(progress)
                if progress.done:
                    finished = True
                    break
                await asyncio.sleep(poll_seconds)
    except TimeoutError:
        raise HamariError(
            f"The Athena query did not finish in {timeout_seconds:.0f} s; it was stopped.",
            hint="Narrow the window or the filter.",
            service="athena",
            operation="GetQueryExecution",
        ) from None
    finally:
        if not finished:  # cancelled, timed out or failed mid-way: it costs nothing more
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(stop_query(aws, query_id))
        aws.untrack_query(query_id, service="athena")
    aws.meter.add("athena_bytes_scanned", progress.bytes_scanned)
    if progress.state != "SUCCEEDED":
        raise HamariError(
            f"The Athena query ended as {progress.state}"
            + (f": {display_safe(progress.reason)}" if progress.reason else "."),
            hint="Check the table (--athena-table) and the workgroup's output location, or "
            "narrow the window or the filter.",
            service="athena",
            operation="GetQueryExecution",
        )
    stats_ = ParseStats()
    parser: FlowLogParser | None = None
    keep = flt.to_predicate()
    pages = 0
    async for page in aws.pages(
        "athena", "GetQueryResults", QueryExecutionId=query_id, MaxResults=RESULT_PAGE
    ):
        rows = (page.get("ResultSet") or {}).get("Rows") or []
        if parser is None:
            if not rows:
                break
            parser = FlowLogParser(_header(_cells(rows[0])), stats=stats_, source=source)
            rows = rows[1:]
        pages += 1
        records = []
        for row in rows:
            record = parser.feed_line(" ".join(_cells(row)))
            if record is not None and keep(record):
                records.append(record)
        progress.rows += len(rows)
        if on_progress is not None:
            on_progress(progress)
        yield FlowBatch(records, stats_, source, pages, not page.get("NextToken"))
    if parser is None:
        yield FlowBatch([], stats_, source, 0, True)
