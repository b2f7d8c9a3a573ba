"""``i`` in the CloudTrail pane: the filter run where the events are (CloudTrail Lake, Insights).

A day of an organization trail does not load on a bastion; Lake (an event data store) or Logs
Insights (a trail delivered to CloudWatch Logs, ``cwl:GROUP``) scan it on AWS's side. As the
flow pane's ``i``: the cost is shown with the query before anything runs (Lake gives no store
size: the dialog says so), progress goes to the status line, results replace the table's rows
until ``esc``, and ``esc`` or quitting stops a running query (the worker's cancel, and
:meth:`tui.aws.session.Aws.close`). The loaded events, and their polling, are left as they are.
The results are re-filtered locally like every other source (the engines get a widened query
where a term cannot be said exactly).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import work
from textual.actions import SkipAction

from tui.models.cloudtrail import TrailEvent
from tui.models.text import display_safe

__all__ = ["RemoteTrailRun", "TrailRemote"]

LIMIT = 10_000
"""Rows a remote run returns at most (Logs Insights' maximum; Lake gets the same LIMIT)."""


@dataclass
class RemoteTrailRun:
    """One remote run of the pane's filter: its progress, then its events (until ``esc``)."""

    engine: str  # "CloudTrail Lake" or "Logs Insights"
    query: str
    estimate: str
    status: str = "Starting"
    events: list[TrailEvent] = field(default_factory=list)
    bytes_scanned: float = 0.0
    events_scanned: float = 0.0
    rows: int = 0
    error: str | None = None
    shown: bool = True

    @property
    def running(self) -> bool:
        return self.error is None and self.status not in ("Complete", "Stopped")


class TrailRemote:
    """The ``i``/``esc`` actions of :class:`tui.panes.trail.TrailPane` (a mixin: it uses the
    pane's aws, window, filter, source, notify and status)."""

    remote: RemoteTrailRun | None = None

    @property
    def remote_shown(self) -> bool:
        """True while the table shows a remote run's events instead of the loaded ones."""
        return self.remote is not None and self.remote.shown

    def action_remote(self) -> None:
        """Estimate, ask, then run the filter in Lake (or Insights for ``cwl:``)."""
        pane: Any = self
        if pane.aws is None or pane.window is None:
            pane.notify("Not connected to AWS yet", markup=False, timeout=3)
            return
        if self.remote is not None and self.remote.running:
            pane.notify(f"A {self.remote.engine} query is running; esc stops it", markup=False)
            return
        source = pane._source()
        if source.kind == "local":
            pane.notify(
                "Local files have no remote engine: the filter already runs on every loaded "
                "event. Use a trail in CloudTrail Lake, or --trail-source cwl:GROUP.",
                markup=False,
                timeout=8,
            )
            return
        self._ask_remote(source, pane.filter, pane._current_window(pane._now()))

    @work(
        exclusive=True,
        group="trail-remote-ask",
        exit_on_error=False,
        description="trail-remote-ask",
    )
    async def _ask_remote(self, source: Any, flt: Any, window: Any) -> None:
        from tui.aws import insights, lake
        from tui.aws.errors import HamariError
        from tui.dialogs.confirm import ConfirmScreen
        from tui.models.trailsql import to_insights

        pane: Any = self
        engine = "Logs Insights" if source.kind == "cwl" else "CloudTrail Lake"
        pane.set_status(Text(f"{engine}: estimating the cost…"))
        plan: Any = None
        try:
            if source.kind == "cwl":
                cost = await insights.estimate(pane.aws, [source.location], window)
                estimate, query = cost.describe(), to_insights(flt, limit=LIMIT)
                where = f"Log group: {source.location}"
            else:
                plan = await lake.estimate(pane.aws, window, flt, limit=LIMIT)
                estimate, query = plan.describe(), plan.query
                where = f"Event data store: {plan.store.name} ({plan.store.arn})"
        except HamariError as err:
            pane._render_status()
            pane.notify(
                f"{err.message} {err.hint}", title=err.title, severity="error", markup=False
            )
            return
        pane._render_status()
        widened = (
            f"\nNot said exactly in the query (widened; applied here): {', '.join(query.widened)}"
            if query.widened
            else ""
        )
        body = (
            f"Filter: {flt.text or '(none: every event)'}\n{where}\n"
            f"Window: {window.start:%Y-%m-%d %H:%M}–{window.end:%H:%M} UTC\n\n"
            f"{estimate}.\n\nQuery:\n{query.text}\n{widened}\n\n"
            f"At most {LIMIT:,} events (the newest) come back; the query is stopped if you "
            "press esc or quit."
        )
        if not await pane.app.push_screen_wait(
            ConfirmScreen(f"Run this filter in {engine}?", body)
        ):
            pane.notify(f"{engine} query not run", markup=False, timeout=3)
            return
        self.remote = RemoteTrailRun(engine, query.text, estimate)
        pane._refilter()
        self._run_remote(source, flt, window, plan)

    @work(exclusive=True, group="trail-remote", exit_on_error=False, description="trail-remote")
    async def _run_remote(self, source: Any, flt: Any, window: Any, plan: Any) -> None:
        """Progress in the status line; each page of results into the table as it comes."""
        from tui.aws import lake
        from tui.aws.errors import HamariError
        from tui.aws.trailcwl import stream_cwl_insights

        pane: Any = self
        run = self.remote
        assert run is not None

        def progress(p: Any) -> None:
            run.status = str(p.status).title()
            if isinstance(p, lake.LakeProgress):
                run.bytes_scanned, run.events_scanned, run.rows = (
                    p.bytes_scanned,
                    p.events_scanned,
                    p.rows_read,
                )
            else:
                run.bytes_scanned, run.events_scanned = p.bytes_scanned, p.records_scanned
                run.rows = len(p.rows)
            pane._render_status()

        if plan is None:
            stream = stream_cwl_insights(
                pane.aws, source.location, window, flt, limit=LIMIT, on_progress=progress
            )
        else:
            stream = lake.stream_lake(pane.aws, plan, flt, on_progress=progress)
        try:
            async for batch in stream:
                if batch.events:
                    run.events.extend(batch.events)
                    run.events.sort(key=lambda e: (e.event_time, e.key), reverse=True)
                    if run.shown:
                        pane._refilter()
            run.status = "Complete"
        except asyncio.CancelledError:
            run.status = "Stopped"
            raise
        except HamariError as err:
            run.error = f"{err.message} {err.hint}".strip()
            pane.notify(run.error, title=err.title, severity="error", markup=False, timeout=10)
        if run.shown:
            pane._refilter()
        if run.error is None:
            pane.notify(
                f"{run.engine}: {len(run.events):,} matching events; esc returns to the loaded "
                "ones",
                markup=False,
                timeout=6,
            )

    def action_back(self) -> None:
        """esc: from a remote run's events back to the loaded ones (stopping a running query)."""
        if not self.remote_shown:
            raise SkipAction()
        pane: Any = self
        run = self.remote
        assert run is not None
        if run.running:
            pane.workers.cancel_group(pane, "trail-remote")
            run.status = "Stopped"
            pane.notify(f"{run.engine} query stopped", markup=False, timeout=3)
        run.shown = False
        pane._refilter()

    def remote_status(self) -> Text:
        """The status line while a remote run is shown."""
        run = self.remote
        assert run is not None
        text = Text()
        if run.running:
            text.append("⟳ ")
        text.append(run.engine, style="bold")
        text.append(f" · {run.status if run.error is None else 'failed'}")
        text.append(
            f" · {len(run.events):,} events" if not run.running else f" · {run.rows:,} rows"
        )
        if run.bytes_scanned:
            text.append(f" · {run.bytes_scanned / 1024**2:,.1f} MB scanned")
        if run.events_scanned:
            text.append(f" of {run.events_scanned:,.0f} events")
        if not run.running and run.rows >= LIMIT:
            text.append(f" · newest {LIMIT:,} only: narrow the window", style="yellow")
        if run.error:
            text.append(f" · {display_safe(run.error)}", style="red")
        text.append(" · esc: stop" if run.running else " · esc: loaded events")
        return text
