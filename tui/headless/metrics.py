"""``hamari metrics TARGET``: a target's CloudWatch series with their limits, for pipes and tickets.

The same discovery, single GetMetricData request and verdict as the CloudWatch pane, printed as
rows (one per datapoint) that a spreadsheet or ``jq`` can read; the verdict goes to stderr for csv
and ndjson (so stdout stays machine-readable) and is the last line of the table. At a terminal the
default is the summary: a line per series (latest, peak, share of its limit) under the verdict,
what an engineer reads mid-incident instead of thousands of datapoints. No textual or rich is
imported on this path.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from tui.aws.metrics import MetricsResult, MetricsSource
from tui.headless.common import open_aws
from tui.models.metrics.series import data_note
from tui.models.metrics.units import format_value
from tui.models.text import display_safe
from tui.models.writers import write_csv, write_ndjson, write_table
from tui.settings import Settings
from tui.verbs import verb

COLUMNS = (
    "time",
    "resource",
    "metric",
    "stat",
    "value",
    "unit",
    "limit",
    "limit_label",
    "percent_of_limit",
    "saturated",
    "status",
)


SUMMARY_COLUMNS = ("resource", "metric", "latest", "peak", "of_limit", "limit")


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def result_rows(result: MetricsResult, *, totals: bool = True) -> Iterator[dict[str, Any]]:
    """One row per datapoint of every series (read+write totals included), with its limit."""
    for row in result.assessment.rows:
        spec = row.series.spec
        if spec.parts and not totals:
            continue
        limit = row.limit
        for when, value in zip(row.series.timestamps, row.series.values, strict=True):
            percent = None
            if limit is not None and limit.value > 0 and value is not None:
                percent = 100 * value / limit.value
            yield {
                "time": when,
                "resource": spec.resource_id,
                "metric": spec.metric_name,
                "stat": "Sum" if spec.parts else spec.stat,
                "value": _round(value),
                "unit": row.series.unit,
                "limit": _round(limit.value) if limit else None,
                "limit_label": limit.label if limit else "",
                "percent_of_limit": _round(percent, 1),
                "saturated": row.saturated,
                "status": row.series.status,
            }


def summary_rows(result: MetricsResult) -> Iterator[dict[str, Any]]:
    """One row per series: its latest and peak values, and how close they are to its limit.

    Series at their limit first (▲), then those with a limit, then the rest, each in the pane's
    order; a series with no datapoint says so instead of a value.
    """
    rows = result.assessment.rows
    for row in sorted(rows, key=lambda r: 0 if r.saturated else 1 if r.limit is not None else 2):
        spec, unit = row.series.spec, row.series.unit
        values = [v for v in row.series.values if v is not None]
        peak = max(values) if values else None
        # The latest against the limit that applies now (a gp2 volume's peak was against its
        # burst, not the baseline it is held to since: a peak share would mislead).
        share = ""
        if row.percent is not None:
            share = f"{row.percent:.0f}%" + (" ▲" if row.saturated else "")
        yield {
            "resource": spec.resource_id,
            "metric": spec.metric_name,
            "latest": format_value(row.latest, unit),
            "peak": format_value(peak, unit) if peak is not None else "",
            "of_limit": share,
            "limit": row.limit.label if row.limit else "",
        }


async def collect(settings: Settings, target_id: str) -> MetricsResult:
    """Open AWS (or the demo), discover the target and fetch its series over the window."""
    async with open_aws(settings) as aws:
        source = MetricsSource(aws)
        target = await source.discover(target_id)
        now = datetime.now(UTC)
        window = settings.window(now)
        return await source.fetch(target, window.start, window.end, now=now)


def run(settings: Settings, ns: argparse.Namespace) -> int:
    """Print the rows in the chosen format; the verdict on stderr (csv/ndjson) or last (table)."""
    result = asyncio.run(collect(settings, ns.target))
    rows = result_rows(result)
    verdict = display_safe(result.assessment.verdict)
    summary = (
        f"verdict: {verdict} "
        f"({len(result.series)} series, {data_note(result.series, result.period)}, "
        f"{result.requests} GetMetricData request(s), {result.metrics_requested} metrics)"
    )
    fmt = ns.format or ("summary" if sys.stdout.isatty() else "csv")
    if fmt == "summary":
        print(summary, flush=True)
        print(flush=True)
        write_table(summary_rows(result), SUMMARY_COLUMNS)
        return 0
    if fmt == "ndjson":
        write_ndjson(rows)
    elif fmt == "table":
        write_table(rows, COLUMNS)
    else:
        write_csv(rows, COLUMNS)
    if fmt == "table":
        print(summary, flush=True)
    else:
        print(summary, file=sys.stderr, flush=True)
    return 0


@verb("metrics")
def register(parser: argparse.ArgumentParser) -> None:
    """CloudWatch IOPS and MB/s of an instance or volume, against its EBS limits."""
    parser.add_argument(
        "target",
        metavar="TARGET",
        help="instance (i-…), volume (vol-…), ENI (eni-…), TGW attachment, or instance Name tag",
    )
    parser.add_argument(
        "--format",
        choices=("summary", "csv", "ndjson", "table"),
        default=None,
        help="summary: the verdict, then a line per series (latest, peak, share of its limit); "
        "csv/ndjson/table: a row per datapoint. Default: summary at a terminal, csv in a pipe; "
        "the verdict goes to stderr for csv/ndjson",
    )
    parser.set_defaults(run=run)
