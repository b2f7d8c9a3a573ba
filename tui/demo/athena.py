"""Athena in the emulator: queries run with DuckDB over the flow-log objects in moto's S3.

moto 5.2.5's Athena answers every query with canned rows and scans nothing. So that hamari's
Athena path (tui/aws/athena.py) runs end to end in the demo and the tests through the same API
calls, :func:`install` replaces four of its operations:

* **StartQueryExecution** — checks the workgroup and its output location, honours
  ``ClientRequestToken`` (the same token returns the same query, as AWS does), and runs the SQL
  in a thread: QUEUED, RUNNING (for :func:`set_query_delay` seconds), then SUCCEEDED or FAILED.
  The table named after ``FROM`` is read from moto's Glue catalog (columns, partition keys,
  partitions or a projection's ``storage.location.template``, else hive ``key=value`` folders);
  the objects under its location are read from moto's in-process S3 (gzip text with a header
  line, positional columns as Athena's LazySimpleSerDe maps them; Parquet by column name).
  Partition pruning: the WHERE conjuncts that name only partition keys choose the objects
  read, and ``DataScannedInBytes`` is their size. The result CSV is written to
  ``OUTPUT_LOCATION/<id>.csv`` in moto's S3, as Athena does.
* **GetQueryExecution** — state, reason, ``DataScannedInBytes``, the output location.
* **GetQueryResults** — the header row then the rows, ``MaxResults`` (≤ 1000) per page,
  ``NextToken``; refused before the query succeeded, as AWS does.
* **StopQueryExecution** — a query not yet finished becomes CANCELLED.

Athena SQL that DuckDB lacks is rewritten: ``contains(cidr, TRY_CAST(x AS IPADDRESS))`` (a
Python function, IPv4 and IPv6) and ``bitwise_and`` (a macro). Nothing else is emulated.
"""

from __future__ import annotations

import csv
import gzip
import io
import ipaddress
import json
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["install", "reset", "set_query_delay"]

_lock = threading.Lock()
_runs: dict[str, _Run] = {}
_tokens: dict[tuple[str, str, str], str] = {}
_delay = 0.2

_TYPES = {"int": "INTEGER", "integer": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT"}
_TYPES |= {"tinyint": "TINYINT", "double": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN"}
_FROM = re.compile(r'\bFROM\s+((?:"[^"]+"|[\w-]+)(?:\.(?:"[^"]+"|[\w-]+))?)', re.I)
_CIDR = re.compile(
    r"contains\(('(?:[^']|'')*'),\s*TRY_CAST\((\"[^\"]+\"|\w+) AS IPADDRESS\)\)", re.I
)
_KEYWORDS = frozenset(
    [
        "and",
        "or",
        "not",
        "in",
        "between",
        "is",
        "null",
        "true",
        "false",
        "date",
        "like",
        "escape",
        "cast",
        "as",
        "varchar",
    ]
)


@dataclass
class _Run:
    id: str
    account: str
    region: str
    query: str
    workgroup: str
    database: str
    output: str
    state: str = "QUEUED"
    reason: str = ""
    scanned: int = 0
    submitted: float = field(default_factory=time.time)
    completed: float | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)


def set_query_delay(seconds: float) -> None:
    """How long each query stays RUNNING before it is run (so tests can stop one)."""
    global _delay
    _delay = seconds


def reset() -> None:
    """Forget every query."""
    with _lock:
        _runs.clear()
        _tokens.clear()
    set_query_delay(0.2)


def _error(message: str, status: int = 400) -> tuple[str, dict[str, int]]:
    body = {"__type": "InvalidRequestException", "Message": message}
    return json.dumps(body), {"status": status}


# -- the API ---------------------------------------------------------------------------------------


def _start_query_execution(self: Any) -> Any:
    query = str(self._get_param("QueryString") or "")
    name = str(self._get_param("WorkGroup") or "primary")
    token = self._get_param("ClientRequestToken")
    context = self._get_param("QueryExecutionContext") or {}
    config = self._get_param("ResultConfiguration") or {}
    workgroup = self.athena_backend.work_groups.get(name)
    if workgroup is None:
        return _error(f"WorkGroup {name} is not found.")
    wg_config = workgroup.configuration.get("ResultConfiguration") or {}
    output = str(config.get("OutputLocation") or wg_config.get("OutputLocation") or "")
    if not output.startswith("s3://"):
        return _error("No output location provided. An output location is required.")
    key = (self.current_account, self.region, str(token or ""))
    with _lock:
        if token and key in _tokens:
            return json.dumps({"QueryExecutionId": _tokens[key]})
        run = _Run(
            str(uuid.uuid4()),
            self.current_account,
            self.region,
            query,
            name,
            str(context.get("Database") or "default"),
            output.rstrip("/") + "/",
        )
        _runs[run.id] = run
        if token:
            _tokens[key] = run.id
    threading.Thread(target=_execute, args=(run,), name="hamari-athena", daemon=True).start()
    return json.dumps({"QueryExecutionId": run.id})


def _get_run(self: Any) -> _Run | None:
    run = _runs.get(str(self._get_param("QueryExecutionId")))
    if run is None or run.account != self.current_account or run.region != self.region:
        return None
    return run


def _get_query_execution(self: Any) -> Any:
    run = _get_run(self)
    if run is None:
        return _error("QueryExecution was not found")
    status: dict[str, Any] = {"State": run.state, "SubmissionDateTime": run.submitted}
    if run.reason:
        status["StateChangeReason"] = run.reason
    if run.completed is not None:
        status["CompletionDateTime"] = run.completed
    return json.dumps(
        {
            "QueryExecution": {
                "QueryExecutionId": run.id,
                "Query": run.query,
                "StatementType": "DML",
                "ResultConfiguration": {"OutputLocation": f"{run.output}{run.id}.csv"},
                "QueryExecutionContext": {"Database": run.database},
                "Status": status,
                "Statistics": {"DataScannedInBytes": run.scanned},
                "WorkGroup": run.workgroup,
            }
        }
    )


def _get_query_results(self: Any) -> Any:
    run = _get_run(self)
    if run is None:
        return _error("QueryExecution was not found")
    if run.state != "SUCCEEDED":
        return _error(f"Query has not yet finished. Current state: {run.state}")
    size = int(self._get_param("MaxResults") or 1000)
    if not 1 <= size <= 1000:
        return _error("MaxResults must be between 1 and 1000")
    start = int(self._get_param("NextToken") or 0)
    table: list[list[str | None]] = [list(run.columns), *run.rows]
    page = table[start : start + size]
    body: dict[str, Any] = {
        "ResultSet": {
            "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in r]} for r in page],
            "ResultSetMetadata": {
                "ColumnInfo": [{"Name": c, "Label": c, "Type": "varchar"} for c in run.columns]
            },
        },
        "UpdateCount": 0,
    }
    if start + size < len(table):
        body["NextToken"] = str(start + size)
    return json.dumps(body)


def _stop_query_execution(self: Any) -> Any:
    run = _get_run(self)
    if run is None:
        return _error("QueryExecution was not found")
    with _lock:
        if run.state not in ("SUCCEEDED", "FAILED", "CANCELLED"):
            run.state = "CANCELLED"
            run.completed = time.time()
    return json.dumps({})


def install() -> None:
    """Replace moto's canned Athena query operations (idempotent)."""
    from moto.athena.responses import AthenaResponse

    AthenaResponse.start_query_execution = _start_query_execution  # type: ignore[method-assign,assignment]
    AthenaResponse.get_query_execution = _get_query_execution  # type: ignore[method-assign]
    AthenaResponse.get_query_results = _get_query_results  # type: ignore[method-assign]
    AthenaResponse.stop_query_execution = _stop_query_execution  # type: ignore[method-assign]


# -- running a query -------------------------------------------------------------------------------


def _execute(run: _Run) -> None:
    deadline = time.time() + _delay
    with _lock:
        if run.state == "QUEUED":
            run.state = "RUNNING"
    while time.time() < deadline and run.state == "RUNNING":
        time.sleep(0.02)
    if run.state != "RUNNING":
        return
    try:
        columns, rows, scanned = _run_sql(run)
        _write_csv(run, columns, rows)
    except Exception as exc:  # any failure is the query's, as Athena reports it
        with _lock:
            if run.state == "RUNNING":
                run.state, run.reason, run.completed = "FAILED", str(exc)[:500], time.time()
        return
    with _lock:
        if run.state == "RUNNING":
            run.columns, run.rows, run.scanned = columns, rows, scanned
            run.state, run.completed = "SUCCEEDED", time.time()


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def _s3_objects(account: str, location: str) -> list[tuple[str, bytes]]:
    from moto.s3.models import s3_backends

    bucket_name, _, prefix = location.removeprefix("s3://").partition("/")
    bucket = s3_backends[account]["global"].get_bucket(bucket_name)
    out = []
    for name, key in list(bucket.keys.items()):
        if name.startswith(prefix) and hasattr(key, "value"):
            out.append((name, key.value))
    return sorted(out)


def _partition_values(
    key: str, bucket: str, table: dict[str, Any], parts: list[tuple[list[str], str]]
) -> list[str] | None:
    """The partition values of the object at ``key``, or None when it is in no partition."""
    names = [k["Name"] for k in table.get("PartitionKeys", [])]
    if not names:
        return []
    path = f"s3://{bucket}/{key}"
    params = table.get("Parameters") or {}
    if params.get("projection.enabled", "").lower() != "true":
        for values, location in parts:  # registered partitions only, as Athena reads them
            if location and path.startswith(location.rstrip("/") + "/"):
                return values
        return None
    location = str((table.get("StorageDescriptor") or {}).get("Location") or "")
    default = location.rstrip("/") + "/" + "/".join(f"{n}=${{{n}}}" for n in names)
    template = params.get("storage.location.template") or default
    rx = re.escape(template.rstrip("/") + "/")
    for i, name in enumerate(names):
        value = "[^/]+"  # a projected date matches its format (it may hold slashes)
        java = params.get(f"projection.{name}.format")
        if params.get(f"projection.{name}.type") == "date" and java:
            value = re.escape(java)
            for part, digits in (("yyyy", r"\d{4}"), ("MM", r"\d{2}"), ("dd", r"\d{2}")):
                value = value.replace(part, digits)
            value = value.replace("HH", r"\d{2}")
        rx = rx.replace(re.escape("${" + name + "}"), f"(?P<p{i}>{value})")
    m = re.match(rx, path)
    return [m.group(f"p{i}") for i in range(len(names))] if m else None


def _pruning(where: str, partition_keys: set[str]) -> list[str]:
    """The top-level AND conjuncts of ``where`` that name only partition keys."""
    out, depth, last, quoted = [], 0, 0, False
    parts = []
    for i, ch in enumerate(where):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and where[i : i + 5].upper() == " AND ":
            parts.append(where[last:i])
            last = i + 5
    parts.append(where[last:])
    for part in parts:
        bare = re.sub(r"'(?:[^']|'')*'", "", part)
        names = {_unquote(n) for n in re.findall(r'"[^"]+"|[A-Za-z_][\w-]*', bare)}
        names = {n for n in names if n.lower() not in _KEYWORDS}
        if names and names <= partition_keys:
            out.append(part)
    return out


def _in_cidr(con: Any, table: str, m: re.Match[str]) -> str:
    """``contains(cidr, TRY_CAST(col AS IPADDRESS))`` as ``col IN (the table's addresses in
    cidr)``: DuckDB has no IP type without an extension (NULL stays NULL, as in Trino)."""
    network = ipaddress.ip_network(m.group(1)[1:-1].replace("''", "'"), strict=False)
    col = m.group(2)
    inside = []
    rows = con.execute(f"SELECT DISTINCT {col} FROM {table} WHERE {col} IS NOT NULL").fetchall()
    for (value,) in rows:
        try:
            if ipaddress.ip_address(str(value)) in network:
                inside.append("'" + str(value).replace("'", "''") + "'")
        except ValueError:
            continue  # not an address: TRY_CAST gives NULL, which contains nothing
    return f"({col} IN ({', '.join(inside)}))" if inside else f"({col} IS NULL AND NULL)"


def _run_sql(run: _Run) -> tuple[list[str], list[list[str | None]], int]:
    import duckdb
    from moto.glue.models import glue_backends

    m = _FROM.search(run.query)
    if m is None:
        raise ValueError("SYNTAX_ERROR: no table after FROM")
    names = [_unquote(n) for n in re.findall(r'"[^"]+"|[\w-]+', m.group(1))]
    db, name = (run.database, names[0]) if len(names) == 1 else (names[0], names[1])
    glue = glue_backends[run.account][run.region]
    try:
        table = glue.get_table(db, name).as_dict()
    except Exception:
        raise ValueError(f"TABLE_NOT_FOUND: Table '{db}.{name}' does not exist") from None
    parts = [
        (
            [str(v) for v in p.partition_input.get("Values", [])],
            str((p.partition_input.get("StorageDescriptor") or {}).get("Location") or ""),
        )
        for p in glue.get_table(db, name).partitions.values()
    ]
    sd = table.get("StorageDescriptor") or {}
    columns = [
        (c["Name"], _TYPES.get(str(c.get("Type", "")).lower(), "VARCHAR"))
        for c in sd.get("Columns", [])
    ]
    keys = [
        (k["Name"], _TYPES.get(str(k.get("Type", "")).lower(), "VARCHAR"))
        for k in table.get("PartitionKeys", [])
    ]
    location = str(sd.get("Location") or "")
    bucket = location.removeprefix("s3://").partition("/")[0]
    skip = int((table.get("Parameters") or {}).get("skip.header.line.count") or 0)
    parquet = "parquet" in str(sd.get("InputFormat") or "").lower()

    con = duckdb.connect()
    con.execute("CREATE MACRO bitwise_and(a, b) AS (a & b)")
    q = lambda n: '"' + n.replace('"', '""') + '"'  # noqa: E731
    con.execute(f"CREATE SCHEMA {q(db)}")
    all_cols = columns + keys
    con.execute(f"CREATE TABLE {q(db)}.{q(name)} ({', '.join(f'{q(c)} {t}' for c, t in all_cols)})")
    con.execute(
        f"CREATE TABLE parts (idx INTEGER, {', '.join(f'{q(c)} {t}' for c, t in keys) or 'none_ INTEGER'})"
    )
    objects = []
    for key, body in _s3_objects(run.account, location):
        values = _partition_values(key, bucket, table, parts)
        if values is None:
            continue
        objects.append((key, body, values))
        if keys:
            con.execute(
                f"INSERT INTO parts VALUES (?, {', '.join('TRY_CAST(? AS ' + t + ')' for _, t in keys)})",
                [len(objects) - 1, *values],
            )
    where_m = re.search(r"\bWHERE\b(.*?)(?:\bORDER BY\b|\bLIMIT\b|$)", run.query, re.I | re.S)
    chosen = set(range(len(objects)))
    if where_m and keys:
        conds = _pruning(where_m.group(1).strip(), {k for k, _ in keys})
        if conds:
            chosen = {
                r[0]
                for r in con.execute(
                    f"SELECT idx FROM parts WHERE {' AND '.join(conds)}"
                ).fetchall()
            }
    scanned = 0
    with tempfile.TemporaryDirectory(prefix="hamari-athena-") as tmp:
        for i, (key, body, values) in enumerate(objects):
            if i not in chosen:
                continue
            scanned += len(body)
            path = Path(tmp) / f"{i}"
            lits = [f"TRY_CAST(? AS {t})" for _, t in keys]
            if parquet or key.endswith(".parquet"):
                path.write_bytes(body)
                have = {
                    r[0]
                    for r in con.execute(
                        "SELECT name FROM parquet_schema(?)", [str(path)]
                    ).fetchall()
                }
                cols = [f"TRY_CAST({q(c)} AS {t})" if c in have else "NULL" for c, t in columns]
                con.execute(
                    f"INSERT INTO {q(db)}.{q(name)} SELECT {', '.join(cols + lits)} FROM read_parquet(?)",
                    [*values, str(path)],
                )
                continue
            text = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
            lines = text.decode("utf-8", "replace").splitlines()[skip:]
            width = len(columns)
            with open(path, "w", encoding="utf-8") as fh:
                for line in lines:
                    cells = line.split(" ")[:width]
                    cells += ["\\N"] * (width - len(cells))
                    fh.write("\t".join(cells) + "\n")
            spec = "{" + ", ".join(f"'c{j}': 'VARCHAR'" for j in range(width)) + "}"
            cols = [f"TRY_CAST(c{j} AS {t})" for j, (_, t) in enumerate(columns)]
            con.execute(
                f"INSERT INTO {q(db)}.{q(name)} SELECT {', '.join(cols + lits)} FROM read_csv(?, delim='\t', header=false, quote='', escape='', nullstr='\\N', columns={spec})",
                [*values, str(path)],
            )
        sql = _CIDR.sub(lambda mm: _in_cidr(con, f"{q(db)}.{q(name)}", mm), run.query)
        cur = con.execute(sql)
        out_cols = [d[0] for d in cur.description or []]
        rows = [[None if v is None else str(v) for v in r] for r in cur.fetchall()]
    return out_cols, rows, scanned


def _write_csv(run: _Run, columns: list[str], rows: list[list[str | None]]) -> None:
    """The result file Athena writes: every value quoted, NULL as an empty field."""
    from moto.s3.models import s3_backends

    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        buf.write(",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in r) + "\n")
    bucket, _, prefix = run.output.removeprefix("s3://").partition("/")
    s3_backends[run.account]["global"].put_object(
        bucket, f"{prefix}{run.id}.csv", buf.getvalue().encode()
    )
