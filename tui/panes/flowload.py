"""The flow pane's loader: which sources it reads, how a window is loaded, and follow mode.

Lifted out of :class:`tui.panes.flows.FlowsPane` (a mixin, like :mod:`tui.panes.flowremote`) so
the pane module keeps the widget and its views. The loader plans the sources with the planner
``hamari flows`` and ``diagnose`` use (:func:`~tui.models.flowplan.plan_sources`), loads the
window once (unfiltered, so that re-filtering is local; the filter is pushed down only once the
memory cap dropped records for good), windows local files here (so an empty table can say what
the window hides and ``W`` can fit it), and in follow mode re-reads CloudWatch Logs from a little
before the newest record (flow records arrive minutes late; the evidence's ``seen`` dedupes).
Everything loaded goes to the screen's :class:`~tui.evidence.flows.FlowEvidence`.

Local files go straight into the evidence's DuckDB store
(:meth:`~tui.evidence.flows.FlowEvidence.load_files`), the status line saying how far the read
is; the pure reader streams them only when the store cannot be used or the filter is pushed down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from tui.aws.errors import OfflineError
from tui.aws.flowsources import open_plan
from tui.aws.network import load_topology
from tui.host import host
from tui.models.flowlog import FlowRecord, parse_log_format
from tui.models.flowplan import FlowPlan, NoFlowLogs, plan_sources
from tui.models.network import FlowLogConfig, Topology
from tui.models.timewindow import TimeWindow
from tui.panes.base import unexpected_error

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from tui.aws.session import Aws
    from tui.evidence.flows import Added, Counts, FlowEvidence
    from tui.models.flowfilter import FlowFilter

__all__ = ["FOLLOW_OVERLAP_MS", "FlowLoader"]

#: Follow mode re-reads this far back: flow records reach CloudWatch Logs minutes late.
FOLLOW_OVERLAP_MS = 10 * 60 * 1000


class FlowLoader:
    """Loading the window into the evidence (mixed into :class:`~tui.panes.flows.FlowsPane`).

    Attributes:
        _loaded_for: The window the last full load was for (None: load it).
        _follow_from_ms: Where the next follow poll reads from (CloudWatch Logs time).
    """

    _loaded_for: TimeWindow | None = None
    _follow_from_ms: int | None = None

    if TYPE_CHECKING:  # what the pane provides
        aws: Aws | None
        window: TimeWindow | None
        filter: FlowFilter | None
        evidence: FlowEvidence
        following: bool
        outside_window: int
        data_span: tuple[datetime, datetime] | None
        _with_date: bool
        size: Any

        @property
        def counts(self) -> Counts: ...
        @property
        def topology(self) -> Any: ...
        @property
        def _lost(self) -> bool: ...
        def _now(self) -> datetime: ...
        def _reset(self) -> None: ...
        def _fit_columns(self, pane_width: int) -> None: ...
        def update_warning(self) -> None: ...
        def _update_status(
            self, *, loading: bool = False, pending: Any = None, reading: str | None = None
        ) -> None: ...
        async def _show_added(self, added: Added) -> None: ...
        def post_message(self, message: Any) -> bool: ...
        def DataChanged(self, pane: Any) -> Any: ...

    async def refresh_data(self) -> None:
        assert self.aws is not None and self.window is not None
        aws = self.aws
        if self._loaded_for is not None and (
            self._loaded_for.duration != self.window.duration
            or self._loaded_for.live != self.window.live
            or (not self.window.live and self._loaded_for != self.window)
        ):
            self._reset()
        self._raise_if_full()  # until the window changes: reading again would store nothing
        before = self.topology
        if before is None or before.warnings:  # a part refused (AccessDenied): asked again
            try:
                self.evidence.topology = await load_topology(aws, interfaces_required=False)
            except OfflineError as err:  # local files offline: records without network context
                self.evidence.topology = Topology(
                    warnings=(f"interfaces, subnets and NACLs: {err.message}",)
                )
            if before is not None and not before.flow_logs and self.topology.flow_logs:
                self._loaded_for = None  # the flow logs are known now: load the window
            if self.topology != before:
                self.update_warning()
                self.post_message(self.DataChanged(self))
        first = self._loaded_for is None
        if not first and not (self.following and self.window.live):
            return
        window = self.window.at(self._now()) if self.window.live else self.window
        with_date = window.duration.total_seconds() > 86400
        if with_date != self._with_date:
            self._with_date = with_date
            self._fit_columns(self.size.width)
        streams = self._streams(aws, window, first=first)
        if not streams:
            self.update_warning()
            self._update_status()
            self._loaded_for = self.window
            return
        for stream in streams:
            if self.evidence.full is not None:
                break  # the store folder filled: the other sources are not read either
            if isinstance(stream, FlowPlan):
                if await self._load_files(stream, window):
                    continue
                stream = self._windowed(open_plan(None, stream, None, None), window)
            await self._consume(stream)
        self._loaded_for = self.window
        newest = self.evidence.newest_ms or int(window.start.timestamp() * 1000)
        # Late events (flow logs arrive minutes after the fact) are re-read; `seen` dedupes them.
        self._follow_from_ms = max(int(window.start.timestamp() * 1000), newest - FOLLOW_OVERLAP_MS)
        self._update_status()
        await self._refresh_conversations()
        self._raise_if_full()

    def _raise_if_full(self) -> None:
        """The store folder filled: say so (with the fix) on every refresh, as the trail pane
        does, until a new window or source resets the evidence; nothing is read meanwhile."""
        if self.evidence.full is not None:
            raise unexpected_error(self.evidence.full)

    async def _refresh_conversations(self) -> None:
        """The store's REJECTed conversations, for the findings (at most every minute)."""
        if await self.evidence.refresh_conversations(asyncio.get_running_loop().time()):
            self.post_message(self.DataChanged(self))

    def _flt_for_source(self) -> FlowFilter | None:
        # The full window is loaded unfiltered so that re-filtering is local and instant; once
        # the memory cap dropped records for good (no store), the filter is pushed down instead.
        if self._lost and self.filter is not None and not self.filter.is_empty:
            return self.filter
        return None

    def plans(self) -> list[FlowPlan]:
        """The sources to read: :func:`~tui.models.flowplan.plan_sources`, as ``hamari flows``.

        One flow log per resource (CloudWatch Logs first, S3 when that is all there is), each
        headerless S3 object or file read with its flow log's (or ``--flows-format``'s) fields.
        """
        settings = host(cast("DOMNode", self)).settings
        choice = settings.flows_source
        fmt = settings.flows_format
        try:
            fields = parse_log_format(fmt) if fmt else None
        except ValueError:  # names no field: as if none was given (a guessed layout is said)
            fields = None
        flow_logs = getattr(self.topology, "flow_logs", None) or ()
        try:
            return plan_sources(choice, flow_logs, fields)
        except NoFlowLogs:  # the warning above the table says so, with the command to enable
            return []

    def _streams(
        self, aws: Aws, window: TimeWindow, *, first: bool
    ) -> list[AsyncIterator[Any] | FlowPlan]:
        """What to read: a stream per plan, or a local plan itself (see :meth:`_load_files`)."""
        plans = self.plans()
        flt = self._flt_for_source()
        self.counts.source = ", ".join(sorted({p.label for p in plans}))
        follow_from = None if first else self._follow_from_ms
        streams: list[AsyncIterator[Any] | FlowPlan] = []
        for plan in plans:
            if plan.live:  # CloudWatch Logs: followed, re-reading an overlap (see `seen`)
                seen = self.evidence.seen
                streams.append(
                    open_plan(aws, plan, window, flt, seen=seen, follow_from_ms=follow_from)
                )
            elif not first:
                continue  # S3 and files are read once per window
            elif plan.kind == "local" and flt is None:
                streams.append(plan)  # read by DuckDB into the store, windowed there
            elif plan.kind == "local":
                # Read it all and window it here: what the window hides is counted (and its
                # span kept), so an empty table can say so and `W` can fit the window to the data.
                streams.append(self._windowed(open_plan(None, plan, None, flt), window))
            else:
                streams.append(open_plan(aws, plan, window, flt))
        return streams

    def _cwl_configs(self) -> list[FlowLogConfig]:
        """The CloudWatch Logs flow logs the plan reads (what Logs Insights can query)."""
        return [p.config for p in self.plans() if p.kind == "cwl" and p.config is not None]

    async def _windowed(self, stream: AsyncIterator[Any], window: TimeWindow) -> AsyncIterator[Any]:
        """The batches of a local source, keeping the records in ``window``; counts the rest
        (``outside_window``) and the span of all of them (``data_span``)."""
        lo, hi = int(window.start.timestamp()), int(window.end.timestamp())
        first, last = None, None
        async for batch in stream:
            kept: list[FlowRecord] = []
            for record in batch.records:
                start, end = record.start, record.end
                if start is not None:
                    first = start if first is None or start < first else first
                    last = start if last is None or start > last else last
                if end is not None and (last is None or end > last):
                    last = end
                if (end is None or end >= lo) and (start is None or start <= hi):
                    kept.append(record)
            self.outside_window += len(batch.records) - len(kept)
            if first is not None and last is not None:
                self.data_span = (
                    datetime.fromtimestamp(first, UTC),
                    datetime.fromtimestamp(last, UTC),
                )
            yield replace(batch, records=kept)

    async def _load_files(self, plan: FlowPlan, window: TimeWindow) -> bool:
        """Read a local plan with DuckDB into the evidence's store, windowed as
        :meth:`_windowed` windows a stream; False when the store cannot be used."""
        lo, hi = int(window.start.timestamp()), int(window.end.timestamp())
        label = plan.label

        def progress(percent: float | None) -> None:
            done = f" {percent:.0f}%" if percent is not None else ""
            self._update_status(loading=True, reading=f"{label}{done}")

        progress(None)
        loaded = await self.evidence.load_files(plan.path, plan.fields, (lo, hi), progress)
        if loaded is None:  # the store cannot be used (the pure reader then), or a reset came
            return self.evidence.counts.store_error is None
        self.outside_window += loaded.outside
        if loaded.span is not None:
            first, last = loaded.span
            self.data_span = (datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC))
        await self._show_added(loaded.added)
        self._update_status(loading=True)
        return True

    async def _consume(self, stream: AsyncIterator[Any]) -> None:
        async with contextlib.aclosing(self.evidence.load(stream)) as batches:
            async for added, pending in batches:
                await self._show_added(added)
                self._update_status(loading=True, pending=pending)
