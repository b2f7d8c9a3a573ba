"""Parquet fixtures written and read by DuckDB, as the product does (pyarrow is not installed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_parquet(path: Path, columns: dict[str, tuple[str, list[Any]]]) -> Path:
    """Write ``{name: (DuckDB type, values)}`` (equal lengths) as one Parquet file."""
    import duckdb

    names = list(columns)
    rows = list(zip(*(values for _, values in columns.values()), strict=True))
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (" + ", ".join(f'"{n}" {columns[n][0]}' for n in names) + ")")
        appender = con.appender("t")
        appender.append_rows(rows)
        appender.flush()
        con.execute("COPY t TO ? (FORMAT parquet)", [str(path)])
    finally:
        con.close()
    return path


def read_parquet(data: bytes, tmp: Path) -> dict[str, list[Any]]:
    """The columns of a Parquet file's bytes, by name."""
    import duckdb

    path = tmp / "read.parquet"
    path.write_bytes(data)
    con = duckdb.connect()
    try:
        cur = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    finally:
        con.close()
    return {n: [r[i] for r in rows] for i, n in enumerate(names)}
