"""``hamari trail --remote``: the filter runs where the events are, as ``hamari flows --remote``.

A trail delivered to CloudWatch Logs (``--source cwl:GROUP``) is queried with Logs Insights:
the estimate (stored bytes over the window) is printed, and a scan above ``--max-gb`` is refused
unless ``--yes``. Otherwise the account's CloudTrail Lake event data store is queried: Lake
gives no store size, so the scan cannot be known below ``--max-gb`` and ``--yes`` is required;
the SQL is printed first either way. Progress goes to stderr, one line per state; a running
query is cancelled when the verb is interrupted (the access layer's close). The filter is
re-applied to every row, as for every other source. No textual or rich here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tui.aws.errors import HamariError
from tui.headless.common import open_aws
from tui.models.text import display_safe

if TYPE_CHECKING:
    from tui.aws.cloudtrail import TrailSource
    from tui.models.cloudtrail import TrailEvent
    from tui.models.timewindow import TimeWindow
    from tui.models.trailfilter import TrailFilter
    from tui.settings import Settings

__all__ = ["add_arguments", "remote_events"]


def _say(text: str) -> None:
    print(f"hamari: {display_safe(text)}", file=sys.stderr, flush=True)


class _StatusLines:
    """One stderr line each time the query's state changes (not on every poll)."""

    def __init__(self) -> None:
        self.last = ""

    def __call__(self, progress: Any) -> None:
        status = str(progress.status)
        if status != self.last:
            self.last = status
            _say(progress.describe() if hasattr(progress, "describe") else f"Insights {status}")


async def remote_events(
    settings: Settings,
    source: TrailSource,
    window: TimeWindow | None,
    flt: TrailFilter,
    totals: Any,
    ns: argparse.Namespace,
) -> AsyncIterator[TrailEvent]:
    """The events of the remote query (Lake, or Insights for ``cwl:``), counted in ``totals``.

    Raises:
        HamariError: refused (over --max-gb, or Lake without --yes), no event data store, or
            the query failed.
    """
    from tui.aws import insights, lake
    from tui.aws.trailcwl import stream_cwl_insights

    if source.kind == "local":
        raise HamariError(
            "--remote runs the filter on AWS's side: local files have no remote engine.",
            hint="Drop --remote, or give --source cwl:GROUP (Logs Insights) or no --source "
            "(CloudTrail Lake).",
        )
    span = window or settings.window(datetime.now(UTC))
    async with open_aws(settings) as aws:
        if source.kind == "cwl":
            cost = await insights.estimate(aws, [source.location], span)
            _say(cost.describe())
            _say(f"Logs Insights query: {stream_query(flt)}")
            if cost.estimated_bytes > ns.max_gb * insights.GB and not ns.yes:
                raise HamariError(
                    f"{cost.describe()} is above --max-gb {ns.max_gb:g}.",
                    hint="Narrow --since/--until or --filter, raise --max-gb, or pass --yes.",
                )
            stream = stream_cwl_insights(
                aws, source.location, span, flt, on_progress=_StatusLines()
            )
        else:
            plan = await lake.estimate(aws, span, flt, store=ns.lake_store)
            _say(plan.describe())
            _say(f"Lake SQL: {plan.query.text}")
            if not ns.yes:
                raise HamariError(
                    "CloudTrail Lake gives no size to check against --max-gb: the query was "
                    "not started.",
                    hint="Pass --yes to run it (billed per GB scanned), or narrow "
                    "--since/--until first.",
                )
            stream = lake.stream_lake(aws, plan, flt, on_progress=_StatusLines())
        async for batch in stream:
            totals.add(batch)
            for event in batch.events:
                yield event


def stream_query(flt: TrailFilter) -> str:
    """The Insights query text, for the confirm line."""
    from tui.models.trailsql import to_insights

    return to_insights(flt).text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--remote, --max-gb, --yes and --lake-store, worded as ``hamari flows``'."""
    parser.add_argument(
        "--remote",
        action="store_true",
        help="run the filter on AWS's side: CloudTrail Lake SQL over the account's event data "
        "store, or Logs Insights with --source cwl:GROUP (both billed per GB scanned; the "
        "estimate and the query are printed first); a running query is cancelled on exit",
    )
    parser.add_argument(
        "--max-gb",
        type=float,
        default=10.0,
        metavar="GB",
        help="with --remote, refuse when the estimated scan is larger (default 10); Lake gives "
        "no size, so it always needs --yes",
    )
    parser.add_argument("--yes", action="store_true", help="with --remote, run it all the same")
    parser.add_argument(
        "--lake-store",
        metavar="NAME",
        default=None,
        help="with --remote, the event data store (name, ID or ARN; default: the first enabled)",
    )
