"""``i`` in the flow pane: the filter run where the records are (Logs Insights, or Athena).

A day of flow logs does not load on a bastion; Logs Insights (flow logs in CloudWatch Logs) or,
opted in with ``--athena-workgroup``, Athena (flow logs in S3) scan them on AWS's side. The cost
is shown with the query before anything runs, progress goes to the status line, the results
replace the table's rows until ``esc``, and ``esc`` or quitting stops a running query (the
worker's cancel reaches ``StopQuery``). The loaded records, and their polling, are left as they
are. A mixin of :class:`tui.panes.flows.FlowsPane`, like the trail pane's ``TrailRemote``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import work

from tui.host import host
from tui.models.flowfilter import FilterError, FlowFilter, parse_filter
from tui.models.flowlog import FlowRecord, parse_source
from tui.models.network import FlowLogConfig
from tui.models.text import display_safe
from tui.models.timewindow import TimeWindow

if TYPE_CHECKING:
    from datetime import datetime

    from textual.dom import DOMNode

    from tui.aws.errors import HamariError
    from tui.aws.session import Aws
    from tui.settings import Settings

__all__ = ["INSIGHTS_LIMIT", "FlowRemote", "RemoteRun"]

#: Logs Insights returns at most 10,000 rows per query (Athena gets the same LIMIT).
INSIGHTS_LIMIT = 10_000


def _start(record: FlowRecord) -> int:
    return record.start or 0


@dataclass
class RemoteRun:
    """A Logs Insights run of the pane's filter: its progress, then its records.

    Shown in place of the loaded records until ``esc``; the loaded records, and their polling,
    are left as they are.
    """

    query: str
    groups: tuple[str, ...]
    estimate: str
    status: str = "Starting"
    records: list[FlowRecord] = field(default_factory=list)
    bytes_scanned: float = 0.0
    records_scanned: float = 0.0
    rows: int = 0
    limit: int = INSIGHTS_LIMIT
    error: str | None = None
    engine: str = "Logs Insights"  # or "Athena" (S3 sources with --athena-workgroup)

    @property
    def running(self) -> bool:
        return self.error is None and self.status not in ("Complete", "Stopped")


class FlowRemote:
    """The pane's remote runs (mixed into :class:`~tui.panes.flows.FlowsPane`)."""

    if TYPE_CHECKING:  # what the pane provides
        aws: Aws | None
        remote_failure: tuple[str, HamariError] | None
        window: TimeWindow | None
        filter: FlowFilter | None
        remote: RemoteRun | None
        showing_remote: bool
        app: Any
        workers: Any

        def notify(self, message: str, **kw: Any) -> None: ...
        def set_status(self, text: Text) -> None: ...
        def _now(self) -> datetime: ...
        def _cwl_configs(self) -> list[FlowLogConfig]: ...
        def _set_view(self, view: str, *, focus: bool = True) -> None: ...
        def _show_records(self) -> None: ...
        def _update_status(self, *, loading: bool = False, pending: Any = None) -> None: ...
        def _refresh_view(self) -> None: ...

    @property
    def _settings(self) -> Settings:
        return host(cast("DOMNode", self)).settings

    # -- Logs Insights: the filter run remotely --------------------------------------------------

    def action_insights(self) -> None:
        """Estimate, ask, then run the filter in Logs Insights over the pane's window."""
        if self.aws is None or self.window is None:
            self.notify("Not connected to AWS yet", markup=False, timeout=3)
            return
        if self.remote is not None and self.remote.running:
            self.notify("A Logs Insights query is running; esc stops it", markup=False, timeout=4)
            return
        choice = self._settings.flows_source
        kind, where = parse_source(choice) if choice else ("auto", "")
        flt = self.filter if self.filter is not None else parse_filter("")
        if kind == "s3" and self._settings.athena_workgroup:
            window = self.window.at(self._now()) if self.window.live else self.window
            self._ask_athena(flt, window, where)
            return  # opted in: run it in Athena (the one place hamari writes: its results)
        if kind in ("s3", "local"):
            self._explain_athena(flt, kind)
            return
        configs = self._cwl_configs()
        if not configs:
            self.notify(
                "No flow log delivers to CloudWatch Logs here, so Logs Insights has nothing to "
                "query. For flow logs in S3, run the Athena SQL (hamari flows --help).",
                severity="warning",
                markup=False,
                timeout=8,
            )
            return
        window = self.window.at(self._now()) if self.window.live else self.window
        self._ask_insights(configs, flt, window)

    def _explain_athena(self, flt: FlowFilter, kind: str) -> None:
        """S3 and local files are not in Logs Insights: offer the Athena SQL to copy."""
        try:
            sql = flt.to_sql("vpc_flow_logs", dialect="athena")
        except (FilterError, ValueError) as err:
            self.notify(f"No Athena SQL for this filter: {err}", markup=False, timeout=6)
            return
        self.app.copy_to_clipboard(sql)
        self.notify(
            f"Logs Insights reads CloudWatch Logs, and this pane reads {kind} files. "
            f"Athena SQL copied to the clipboard (table vpc_flow_logs): {sql}",
            markup=False,
            timeout=12,
        )

    @work(exclusive=True, group="flows-remote", exit_on_error=False, description="flows-remote")
    async def _ask_insights(
        self, configs: list[FlowLogConfig], flt: FlowFilter, window: TimeWindow
    ) -> None:
        from tui.aws import insights
        from tui.aws.errors import HamariError
        from tui.dialogs.confirm import ConfirmScreen

        assert self.aws is not None
        groups = tuple(sorted({str(c.log_group) for c in configs}))
        self.set_status(Text("Logs Insights: estimating the cost…"))
        try:
            estimate = await insights.estimate(self.aws, groups, window)
        except HamariError as err:
            self._update_status()
            self.notify(
                f"{err.message} {err.hint}", title=err.title, severity="error", markup=False
            )
            return
        self._update_status()
        queries = [
            flt.to_insights(c.fields if c.format_known else None, limit=INSIGHTS_LIMIT)
            for c in configs
        ]
        span = f"{window.start:%Y-%m-%d %H:%M}–{window.end:%H:%M} UTC"
        body = (
            f"Filter: {flt.text or '(none: every record)'}\n"
            f"Log groups: {', '.join(groups)}\nWindow: {span}\n\n"
            f"{estimate.describe()}.\n\nQuery:\n" + "\n".join(queries) + "\n\n"
            f"At most {INSIGHTS_LIMIT:,} records per group come back; the query is stopped "
            "if you press esc or quit."
        )
        answer = await self.app.push_screen_wait(
            ConfirmScreen("Run this filter in CloudWatch Logs Insights?", body)
        )
        if not answer:
            self.notify("Logs Insights query not run", markup=False, timeout=3)
            return
        self.forget_remote_failure()
        self.remote = RemoteRun(query=queries[0], groups=groups, estimate=estimate.describe())
        self.showing_remote = True
        self._set_view("records")
        self._show_records()
        self.run_insights(configs, flt, window)

    @work(exclusive=True, group="flows-insights", exit_on_error=False, description="flows-insights")
    async def run_insights(
        self, configs: list[FlowLogConfig], flt: FlowFilter, window: TimeWindow
    ) -> None:
        """Run the query per log group; progress in the status line, results in the table."""
        from tui.aws import insights

        run = self.remote
        assert self.aws is not None and run is not None

        def progress(p: Any) -> None:
            run.status = p.status
            run.bytes_scanned = p.bytes_scanned
            run.records_scanned = p.records_scanned
            run.rows = len(p.rows)
            self._update_status()

        async def batches() -> AsyncIterator[Any]:
            assert self.aws is not None
            for config in configs:
                async for batch in insights.stream_flow_insights(
                    self.aws, config, window, flt, limit=INSIGHTS_LIMIT, on_progress=progress
                ):
                    yield batch

        await self._collect(run, batches(), show_each=False)
        if run.error is None:
            self.notify(
                f"Logs Insights: {len(run.records):,} matching records; "
                "esc returns to the loaded ones",
                markup=False,
                timeout=6,
            )

    @work(exclusive=True, group="flows-remote", exit_on_error=False, description="flows-remote")
    async def _ask_athena(self, flt: FlowFilter, window: TimeWindow, source: str) -> None:
        """Opted in (--athena-workgroup): estimate from S3, ask, then run it in Athena."""
        from tui.aws import athena
        from tui.aws.errors import HamariError
        from tui.dialogs.confirm import ConfirmScreen

        assert self.aws is not None
        ref = self._settings.athena_table
        self.set_status(Text("Athena: estimating the scan…"))
        try:
            table = await athena.resolve_table(self.aws, ref, source)
            estimate = await athena.estimate(self.aws, table, window)
            sql = athena.compile_query(table, window, flt, limit=INSIGHTS_LIMIT)
        except (HamariError, FilterError) as err:
            self._update_status()
            text = f"{err.message} {err.hint}" if isinstance(err, HamariError) else str(err)
            self.notify(text, severity="error", markup=False)
            return
        self._update_status()
        workgroup = str(self._settings.athena_workgroup)
        body = (
            f"Filter: {flt.text or '(none: every record)'}\nTable: {table.ref} "
            f"(workgroup {workgroup})\nWindow: {window.start:%Y-%m-%d %H:%M}–{window.end:%H:%M} "
            f"UTC\n\n{estimate.describe()}.\n\nQuery:\n{sql}\n\nAthena writes the result to "
            "the workgroup's S3 output location. The query is stopped if you press esc or quit."
        )
        body = display_safe(body, multiline=True)  # Glue's names and AWS's text are untrusted
        if not await self.app.push_screen_wait(ConfirmScreen("Run this filter in Athena?", body)):
            self.notify("Athena query not run", markup=False, timeout=3)
            return
        self.forget_remote_failure()
        self.remote = RemoteRun(sql, (table.ref,), estimate.describe(), engine="Athena")
        self.showing_remote = True
        self._set_view("records")
        self._show_records()
        self.run_athena(table, flt, window, workgroup)

    @work(exclusive=True, group="flows-insights", exit_on_error=False, description="flows-insights")
    async def run_athena(self, table: Any, flt: FlowFilter, window: TimeWindow, wg: str) -> None:
        """Results stream into the table page by page; esc (the group's cancel) stops it."""
        from tui.aws import athena

        run = self.remote
        assert self.aws is not None and run is not None

        def progress(p: athena.AthenaProgress) -> None:
            run.status, run.bytes_scanned, run.rows = p.state.title(), p.bytes_scanned, p.rows
            self._update_status()

        batches = athena.stream_flow_athena(
            self.aws, table, window, flt, workgroup=wg, limit=run.limit, on_progress=progress
        )
        await self._collect(run, batches, show_each=True)

    async def _collect(
        self, run: RemoteRun, batches: AsyncIterator[Any], *, show_each: bool
    ) -> None:
        """Gather a remote run's batches into ``run``; esc stops it, an AWS error is said."""
        from tui.aws.errors import HamariError

        try:
            async for batch in batches:
                run.records.extend(batch.records)
                if show_each:
                    self._show_records()
            run.records.sort(key=_start)
            run.status = "Complete"
        except asyncio.CancelledError:
            run.status = "Stopped"
            self._update_status()
            raise
        except HamariError as err:
            run.error = f"{err.message} {err.hint}".strip()
            if not run.records:
                # Nothing came back (refused at the start, say): the loaded records come back
                # at once, not an empty table that reads as "no match"; the panel says why.
                self.showing_remote = False
                self.remote_failure = (f"{run.engine} · {err.title}", err)
                self.clear_error()
            else:
                self.notify(run.error, title=err.title, severity="error", markup=False, timeout=10)
        self._show_records()
        self._refresh_view()

    def clear_error(self) -> None:
        """The pane's panel: a refresh's failure goes, a remote run's stays until esc or i."""
        from tui.panes.base import ErrorPanel

        panel = cast("DOMNode", self).query_one(ErrorPanel)
        if self.remote_failure is None:
            panel.clear()
        elif panel.shown_error is not self.remote_failure[1]:  # said once, not every refresh
            title, err = self.remote_failure
            panel.show(err, title=title)

    def forget_remote_failure(self) -> bool:
        """esc, or a new remote run: the panel about the last one goes (True if there was one)."""
        if self.remote_failure is None:
            return False
        self.remote_failure = None
        self.clear_error()
        return True

    def leave_remote(self) -> None:
        """Back to the loaded records; a query still running is stopped (StopQuery)."""
        run = self.remote
        if run is not None and run.running:
            self.workers.cancel_group(self, "flows-insights")
            run.status = "Stopped"
            self.notify(f"{run.engine} query stopped", markup=False, timeout=3)
        self.showing_remote = False
        self._show_records()
        self._refresh_view()

    @staticmethod
    def _remote_status(run: RemoteRun) -> Text:
        text = Text()
        if run.running:
            text.append("⟳ ")
        text.append(run.engine, style="bold")
        text.append(f" · {run.status if run.error is None else 'failed'}")
        text.append(
            f" · {len(run.records):,} records" if not run.running else f" · {run.rows:,} rows"
        )
        if run.bytes_scanned:  # AWS reports it as the query runs (the emulator does not)
            text.append(f" · {run.bytes_scanned / 1024**2:,.1f} MB scanned")
        if run.records_scanned:
            text.append(f" of {run.records_scanned:,.0f} events")
        if not run.running and run.rows >= run.limit:
            text.append(f" · first {run.limit:,} only: narrow the window", style="yellow")
        if run.error:
            text.append(f" · {display_safe(run.error)}", style="red")
        text.append(" · esc: stop" if run.running else " · esc: loaded records")
        return text
