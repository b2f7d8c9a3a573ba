"""CloudTrail Lake in the emulator: event data stores whose queries run with DuckDB.

moto 5.2.5 has no CloudTrail Lake. So that hamari's Lake path (tui/aws/lake.py) runs end to end
in the demo and the tests through the same API calls, :func:`install` adds these operations to
moto's CloudTrail:

* **CreateEventDataStore** (for the seed) and **ListEventDataStores**: stores per (account,
  region); each holds every event :func:`tui.demo.extensions.record_events` stored for its
  account, in every region (a multi-region store).
* **StartQuery**: only ``SELECT``; the store named after ``FROM`` must exist (its ID, the last
  part of its ARN). The query is QUEUED, RUNNING for :func:`set_query_delay` seconds, then run in
  a thread with DuckDB over a table in Lake's schema (:func:`load_events`): FINISHED or FAILED
  with the engine's message. ``BytesScanned`` is the size of the store's events (Lake has no
  partition pruning by filter).
* **DescribeQuery**, **GetQueryResults** (``MaxQueryResults`` ≤ 1000 a page, ``NextToken``; rows
  as lists of one-column maps, nulls left out), **CancelQuery** (a finished query cannot be
  cancelled: InactiveQueryException), **ListQueries** (newest first, ``StartTime``).

Trino that DuckDB lacks is rewritten by a macro: ``json_format(x)`` (text of a JSON value).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["create_event_data_store", "install", "load_events", "reset", "set_query_delay"]

_lock = threading.Lock()
_stores: dict[tuple[str, str], list[dict[str, Any]]] = {}
_queries: dict[str, _Query] = {}
_delay = 0.2
_FROM = re.compile(r"\bFROM\s+([A-Za-z0-9-]+)", re.I)
_PAGE_MAX = 1000

# Lake's CloudTrail schema, as far as hamari's queries read it.
_IDENTITY = (
    "STRUCT(type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, "
    "accessKeyId VARCHAR, userName VARCHAR, invokedBy VARCHAR, sessionContext STRUCT("
    "sessionIssuer STRUCT(type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, "
    "userName VARCHAR)))"
)
_SCALARS = [
    "eventVersion",
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
    "sharedEventID",
]
_JSON = ("requestParameters", "responseElements", "additionalEventData", "resources")


@dataclass
class _Query:
    id: str
    account: str
    region: str
    store_arn: str
    statement: str
    status: str = "QUEUED"
    error: str = ""
    created: float = field(default_factory=time.time)
    elapsed_ms: int = 0
    scanned_events: int = 0
    scanned_bytes: int = 0
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)


def set_query_delay(seconds: float) -> None:
    """How long each query stays RUNNING before it runs (so tests can cancel one)."""
    global _delay
    _delay = seconds


def reset() -> None:
    """Forget every store and query."""
    with _lock:
        _stores.clear()
        _queries.clear()
    set_query_delay(0.2)


def create_event_data_store(name: str, account: str, region: str) -> dict[str, Any]:
    """Create (or return the existing) store called ``name``; its ARN ends with its ID."""
    with _lock:
        stores = _stores.setdefault((account, region), [])
        for store in stores:
            if store["Name"] == name:
                return store
        now = datetime.now(UTC).timestamp()
        store = {
            "EventDataStoreArn": f"arn:aws:cloudtrail:{region}:{account}:eventdatastore/{uuid.uuid4()}",
            "Name": name,
            "Status": "ENABLED",
            "MultiRegionEnabled": True,
            "OrganizationEnabled": False,
            "RetentionPeriod": 2557,
            "TerminationProtectionEnabled": True,
            "CreatedTimestamp": now,
            "UpdatedTimestamp": now,
        }
        stores.append(store)
        return store


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def _row(record: dict[str, Any]) -> tuple[Any, ...]:
    ui = record.get("userIdentity") if isinstance(record.get("userIdentity"), dict) else {}
    assert isinstance(ui, dict)
    ctx = ui.get("sessionContext") if isinstance(ui.get("sessionContext"), dict) else {}
    issuer = ctx.get("sessionIssuer") if isinstance(ctx, dict) else None
    identity: dict[str, Any] = {
        k: _text(ui.get(k)) for k in ("type", "principalId", "arn", "accountId")
    }
    identity |= {k: _text(ui.get(k)) for k in ("accessKeyId", "userName", "invokedBy")}
    keys = ("type", "principalId", "arn", "accountId", "userName")
    identity["sessionContext"] = (
        {"sessionIssuer": {k: _text(issuer.get(k)) for k in keys}}
        if isinstance(issuer, dict)
        else None
    )
    read_only = record.get("readOnly")
    if isinstance(read_only, str):
        read_only = read_only.lower() == "true"
    when = datetime.fromisoformat(str(record["eventTime"]).replace("Z", "+00:00"))
    return (
        when.astimezone(UTC).replace(tzinfo=None),
        *(_text(record.get(k)) for k in _SCALARS),
        read_only if isinstance(read_only, bool) else None,
        identity,
        *(_json(record.get(k)) for k in _JSON),
    )


def load_events(conn: Any, table: str, records: Iterable[dict[str, Any]]) -> int:
    """Create ``table`` in DuckDB connection ``conn`` with Lake's columns, filled with ``records``.

    Returns:
        The number of events loaded.
    """
    columns = ["eventTime TIMESTAMP", *(f"{c} VARCHAR" for c in _SCALARS), "readOnly BOOLEAN"]
    columns += [f"userIdentity {_IDENTITY}", *(f"{c} JSON" for c in _JSON)]
    conn.execute(f'CREATE OR REPLACE TABLE "{table}" ({", ".join(columns)})')
    conn.execute("CREATE OR REPLACE MACRO json_format(x) AS CAST(x AS VARCHAR)")
    rows = [_row(r) for r in records]
    if rows:
        marks = ", ".join("?" * len(rows[0]))
        conn.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)
    return len(rows)


# -- the API ---------------------------------------------------------------------------------------


def _error(code: str, message: str) -> tuple[str, dict[str, int]]:
    return json.dumps({"__type": code, "Message": message}), {"status": 400}


def _find_store(account: str, region: str, ref: str) -> dict[str, Any] | None:
    with _lock:
        for store in _stores.get((account, region), []):
            arn = store["EventDataStoreArn"]
            if ref in (arn, arn.rsplit("/", 1)[-1]):
                return store
    return None


def _create_event_data_store(self: Any) -> str:
    store = create_event_data_store(str(self._get_param("Name")), self.current_account, self.region)
    return json.dumps(store)


def _list_event_data_stores(self: Any) -> str:
    with _lock:
        stores = list(_stores.get((self.current_account, self.region), []))
    return json.dumps({"EventDataStores": stores})


def _start_query(self: Any) -> Any:
    statement = str(self._get_param("QueryStatement") or "")
    if not statement.lstrip().upper().startswith("SELECT"):
        return _error("InvalidQueryStatementException", "Only SELECT statements are allowed.")
    found = _FROM.search(statement)
    store = _find_store(self.current_account, self.region, found.group(1)) if found else None
    if store is None:
        return _error("EventDataStoreNotFoundException", "The event data store was not found.")
    query = _Query(
        str(uuid.uuid4()),
        self.current_account,
        self.region,
        store["EventDataStoreArn"],
        statement,
    )
    with _lock:
        _queries[query.id] = query
    threading.Thread(target=_execute, args=(query,), name="hamari-lake", daemon=True).start()
    return json.dumps({"QueryId": query.id})


def _get_query(self: Any) -> _Query | None:
    with _lock:
        query = _queries.get(str(self._get_param("QueryId")))
    if query is None or query.account != self.current_account:
        return None
    return query


def _statistics(query: _Query) -> dict[str, Any]:
    return {
        "EventsMatched": len(query.rows),
        "EventsScanned": query.scanned_events,
        "BytesScanned": query.scanned_bytes,
        "ExecutionTimeInMillis": query.elapsed_ms,
        "CreationTime": query.created,
    }


def _describe_query(self: Any) -> Any:
    query = _get_query(self)
    if query is None:
        return _error("QueryIdNotFoundException", "The query ID does not exist.")
    body = {
        "QueryId": query.id,
        "QueryString": query.statement,
        "QueryStatus": query.status,
        "QueryStatistics": _statistics(query),
    }
    if query.error:
        body["ErrorMessage"] = query.error
    return json.dumps(body)


def _get_query_results(self: Any) -> Any:
    query = _get_query(self)
    if query is None:
        return _error("QueryIdNotFoundException", "The query ID does not exist.")
    size = int(self._get_param("MaxQueryResults") or _PAGE_MAX)
    if not 1 <= size <= _PAGE_MAX:
        return _error("InvalidMaxResultsException", "MaxQueryResults must be 1..1000.")
    token = self._get_param("NextToken")
    try:
        offset = int(token) if token else 0
    except ValueError:
        return _error("InvalidNextTokenException", "Invalid NextToken.")
    page = query.rows[offset : offset + size] if query.status == "FINISHED" else []
    rows = [
        [{c: _cell(v)} for c, v in zip(query.columns, row, strict=True) if v is not None]
        for row in page
    ]
    body: dict[str, Any] = {
        "QueryStatus": query.status,
        "QueryStatistics": {
            "ResultsCount": len(rows),
            "TotalResultsCount": len(query.rows),
            "BytesScanned": query.scanned_bytes,
        },
        "QueryResultRows": rows,
    }
    if query.status == "FINISHED" and offset + size < len(query.rows):
        body["NextToken"] = f"{offset + size:08d}"  # AWS tokens are at least 4 long
    if query.error:
        body["ErrorMessage"] = query.error
    return json.dumps(body)


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cancel_query(self: Any) -> Any:
    query = _get_query(self)
    if query is None:
        return _error("QueryIdNotFoundException", "The query ID does not exist.")
    with _lock:
        if query.status not in ("QUEUED", "RUNNING"):
            return _error("InactiveQueryException", f"The query is {query.status}.")
        query.status = "CANCELLED"
    return json.dumps({"QueryId": query.id, "QueryStatus": "CANCELLED"})


def _list_queries(self: Any) -> Any:
    store = _find_store(self.current_account, self.region, str(self._get_param("EventDataStore")))
    if store is None:
        return _error("EventDataStoreNotFoundException", "The event data store was not found.")
    since = float(self._get_param("StartTime") or 0)
    with _lock:
        found = [
            q
            for q in _queries.values()
            if q.store_arn == store["EventDataStoreArn"] and q.created >= since
        ]
    found.sort(key=lambda q: q.created, reverse=True)
    queries = [{"QueryId": q.id, "QueryStatus": q.status, "CreationTime": q.created} for q in found]
    return json.dumps({"Queries": queries})


def _no_events(account: str) -> Iterable[str]:
    return ()


_events_of: Callable[[str], Iterable[str]] = _no_events
"""The recorded CloudTrail events (JSON text) of an account: handed over by :func:`install`."""


def install(events_of: Callable[[str], Iterable[str]]) -> None:
    """Add the Lake operations to moto's CloudTrail (idempotent).

    Args:
        events_of: The recorded events of an account (``extensions.recorded_events``), given
            here so that this module does not import the one that installs it.
    """
    global _events_of
    _events_of = events_of
    from moto.cloudtrail.responses import CloudTrailResponse as R

    R.create_event_data_store = _create_event_data_store  # type: ignore[attr-defined]
    R.list_event_data_stores = _list_event_data_stores  # type: ignore[attr-defined]
    R.start_query = _start_query  # type: ignore[attr-defined]
    R.describe_query = _describe_query  # type: ignore[attr-defined]
    R.get_query_results = _get_query_results  # type: ignore[attr-defined]
    R.cancel_query = _cancel_query  # type: ignore[attr-defined]
    R.list_queries = _list_queries  # type: ignore[attr-defined]


# -- running a query -------------------------------------------------------------------------------


def _execute(query: _Query) -> None:
    deadline = time.time() + _delay
    with _lock:
        if query.status == "QUEUED":
            query.status = "RUNNING"
    while time.time() < deadline and query.status == "RUNNING":
        time.sleep(0.02)
    if query.status != "RUNNING":
        return
    started = time.time()
    try:
        import duckdb

        texts = _events_of(query.account)
        table = query.store_arn.rsplit("/", 1)[-1]
        conn = duckdb.connect()
        try:
            load_events(conn, table, (json.loads(t) for t in texts))
            sql = _FROM.sub(lambda m: f'FROM "{m.group(1)}"', query.statement, count=1)
            cursor = conn.execute(sql)
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        finally:
            conn.close()
    except Exception as exc:  # the query's failure, as Lake reports it
        with _lock:
            if query.status == "RUNNING":
                query.status, query.error = "FAILED", str(exc)[:500]
        return
    with _lock:
        if query.status == "RUNNING":
            query.columns, query.rows = columns, rows
            query.scanned_events = len(texts)
            query.scanned_bytes = sum(len(t) for t in texts)
            query.elapsed_ms = int((time.time() - started) * 1000)
            query.status = "FINISHED"
