"""Insert throughput of the embedded stores (issue 14.9): what loading costs without pyarrow.

The stores insert through DuckDB itself (the trail store through its appender, the flow store
as text read by its CSV reader). The baseline, same rows and same run, is the Arrow insert they
used before (a table of Arrow arrays registered and ``INSERT ... SELECT``); it needs pyarrow,
a benchmark-only package here (``pip install pyarrow``), and is left out, said so, without it.

* 100k CloudTrail events: :meth:`TrailStore.add` + ``flush`` against the same events' rows built
  by the same ``_row`` and inserted through Arrow with the same copy check (ANTI JOIN);
* 1M flow records added in the pane's 10,000-record batches: :meth:`FlowEngine.add` against the
  same batches through Arrow.
"""

from __future__ import annotations

import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Report = Callable[[str, float, float | None, str], None]


def _arrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        print("(pyarrow not installed: no Arrow baseline; pip install pyarrow)", flush=True)
        return None
    return pa


def _trail_arrow(pa: Any, events: list[Any]) -> float:
    """Seconds to store ``events`` as the store did through Arrow (5,000 a batch)."""
    from tui.models import trailstore as ts

    types = {
        "VARCHAR": pa.string(),
        "BOOLEAN": pa.bool_(),
        "BLOB": pa.binary(),
        "BIGINT": pa.int64(),
        "VARCHAR[]": pa.list_(pa.string()),
        "BIGINT[]": pa.list_(pa.int64()),
    }
    store = ts.TrailStore()
    con = store.con
    t0 = time.perf_counter()
    for lo in range(0, len(events), 5000):
        batch = events[lo : lo + 5000]
        rows = [ts._row(e, lo + i, ts._clean(e.key)) for i, e in enumerate(batch)]
        cols = list(zip(*rows, strict=True))
        table = pa.table(
            {n: pa.array(v, types[t]) for (n, t), v in zip(ts._COLUMNS, cols, strict=True)}
        )
        con.register("hamari_batch", table)
        con.execute(
            "INSERT INTO trail SELECT b.* FROM hamari_batch b ANTI JOIN (SELECT key FROM trail) t "
            "ON b.key = t.key"
        )
        con.unregister("hamari_batch")
    elapsed = time.perf_counter() - t0
    store.close()
    return elapsed


def _trail_appender(events: list[Any]) -> float:
    from tui.models.trailstore import TrailStore

    store = TrailStore()
    t0 = time.perf_counter()
    store.add(events)
    store.flush()
    elapsed = time.perf_counter() - t0
    assert len(store) == len(events)
    store.close()
    return elapsed


def _flows_arrow(pa: Any, records: list[Any]) -> float:
    from tui.models.flowengine import FlowEngine, _csv_columns, _quote

    engine = FlowEngine(memory_limit="256MB")
    columns = _csv_columns(records[0].FORMAT)
    engine._ensure_columns(columns)
    names = ", ".join(_quote(c) for c in ["_file", "_seq", *(c for c, _ in columns)])
    t0 = time.perf_counter()
    for lo in range(0, len(records), 10_000):
        batch = records[lo : lo + 10_000]
        by_column = list(zip(*batch, strict=True))
        arrays = {
            "_file": pa.array([0] * len(batch), pa.int32()),
            "_seq": pa.array(range(lo, lo + len(batch)), pa.int64()),
        }
        for i, (col, typ) in enumerate(columns):
            arrays[col] = pa.array(by_column[i], pa.int64() if typ == "BIGINT" else pa.string())
        engine.con.register("hamari_batch", pa.table(arrays))
        engine.con.execute(f"INSERT INTO flow_store ({names}) SELECT * FROM hamari_batch")
        engine.con.unregister("hamari_batch")
    elapsed = time.perf_counter() - t0
    engine.close()
    return elapsed


def _flows_engine(records: list[Any]) -> float:
    from tui.models.flowengine import FlowEngine

    engine = FlowEngine(memory_limit="256MB")
    t0 = time.perf_counter()
    for lo in range(0, len(records), 10_000):
        engine.add(records[lo : lo + 10_000])
    elapsed = time.perf_counter() - t0
    assert engine.inserted_as_text == len(records) == engine.count()
    engine.close()
    return elapsed


def run(report: Report, *, events: int = 100_000, flows: int = 1_000_000, runs: int = 3) -> None:
    """Each insert ``runs`` times, interleaved with its baseline; medians printed."""
    from tui.bench.flows import generate
    from tui.bench.trail import _parsed_chunks
    from tui.models.flowlog import FlowLogParser

    pa = _arrow()
    trail_events = [e for chunk in _parsed_chunks(events) for e in chunk]
    with tempfile.TemporaryDirectory(prefix="hamari-bench-stores-") as tmp:
        path = generate(flows, Path(tmp) / "v5.log", gzip=False)
        with path.open(encoding="utf-8") as fh:
            records = list(FlowLogParser().parse_lines(fh))
    pairs: list[tuple[str, int, Callable[[], float], Callable[[], float] | None]] = [
        (
            "trail store: insert {n} events (events/s)",
            len(trail_events),
            lambda: _trail_appender(trail_events),
            (lambda: _trail_arrow(pa, trail_events)) if pa else None,
        ),
        (
            "flow store: add {n} records in 10k batches (records/s)",
            len(records),
            lambda: _flows_engine(records),
            (lambda: _flows_arrow(pa, records)) if pa else None,
        ),
    ]
    for label, n, ours, arrow in pairs:
        mine: list[float] = []
        base: list[float] = []
        for _ in range(runs):
            gc.collect()
            mine.append(ours())
            if arrow is not None:
                gc.collect()
                base.append(arrow())
        count = f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"
        report(
            label.format(n=count) + " [>= Arrow]",
            n / statistics.median(mine),
            n / statistics.median(base) if base else None,
            "r/s",
        )


def main(report: Report) -> None:
    """Section entry point."""
    run(report)
