"""The CloudTrail pane: who called which API, when, from where, with what error.

Incident 1 is why it exists: ``StartInstances`` returns no error, and the KMS calls EC2 then makes
on the caller's behalf are denied seconds later. The pane streams events into a virtual table as
pages arrive (newest first), filters them locally on every enter (the filter's best exact term is
also pushed to LookupEvents when the unfiltered load had to stop early), marks failed calls with a
symbol as well as a colour, keeps polling the newest part of a live window (follow mode, the cursor
stays on the event the user is reading), and opens any event in the detail screen where the
related events (the KMS denials) are one key away.

All AWS work runs in the base pane's poll worker or in named exclusive workers; re-filtering above
50k events runs in a thread worker. Every AWS string is made display-safe before it is drawn.

What is loaded (events, the store past its threshold, copies folded, what was skipped, the
accounts seen) is a :class:`~tui.evidence.trail.TrailEvidence` the main screen owns and passes
down: this pane fills it and shows its filter's and focus's part; the findings and the bundle
read it whole.

Size (~1,030 lines): the pure row formatting at the top is the seam (to tui/models); left whole
while another change edits this pane.
"""

from __future__ import annotations

import asyncio
import bisect
import csv
import dataclasses
import io
import json
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message

from tui.aws.cloudtrail import (
    S3Progress,
    TrailBatch,
    TrailFollower,
    TrailSource,
    parse_source,
    stream_source,
    watermark,
)
from tui.aws.errors import HamariError
from tui.aws.trailfiles import stream_files
from tui.dialogs.clipboard import copy_event
from tui.dialogs.export import ExportPrompt
from tui.evidence import trail as _evidence
from tui.evidence.trail import TrailEvidence, sort_key
from tui.host import host
from tui.models import scratch
from tui.models.cloudtrail import TrailEvent
from tui.models.findings import Evidence
from tui.models.focus import FocusScope, event_in_scope
from tui.models.skipped import Skipped
from tui.models.text import display_safe
from tui.models.timewindow import TimeWindow
from tui.models.trailfilter import FIELD_NAMES, FilterError, TrailFilter, compile_filter
from tui.models.trailstore import StoredView, TrailStore
from tui.panes.base import Pane, unexpected_error, window_hint
from tui.panes.trailremote import TrailRemote
from widgets.filter_bar import FilterBar
from widgets.record_table import CallableRows, Column, RecordTable

ERROR_MARK = "✖"
"""Shown in the first column of a failed call, so that errors do not rely on colour."""

THREAD_FILTER_ABOVE = 50_000
"""Re-filter in a thread worker above this many events, so keys stay responsive."""

STORE_TABLE = 10_000
"""Past tui.evidence.trail.STORE_ABOVE loaded events the events live in a TrailStore; the table shows the newest
this many matches (each is parsed back from the store for display)."""

MAX_LOOKUP_PAGES = 400
"""An unfiltered LookupEvents load stops after this many pages per region (20,000 events, about
3 minutes at 2 requests/s); a filter with an exact term then fetches the rest server-side."""


# ----------------------------------------------------------------------------- pure row formatting


def columns_for(width: int, *, with_date: bool = False, accounts: bool = False) -> list[Column]:
    """The columns that fit ``width`` cells (80x24 single pane ~78; 120x36 three-pane ~70).

    ``accounts``: the events span several accounts (an organization trail), so the account is
    shown, in place of the short source on mid-width layouts.
    """
    time_col = Column(
        "time", "  time (UTC)" if with_date else "  time", width=13 if with_date else 10
    )
    name = Column("name", "event", min_width=12, max_width=28, flex=True)
    source = Column("source", "source", width=7)
    principal = Column("principal", "principal", min_width=10, max_width=18)
    ip = Column("ip", "source ip", min_width=9, max_width=17)
    error = Column("error", "error", min_width=8, max_width=18)
    resources = Column("resources", "resources", min_width=6, max_width=60, flex=True)
    account = Column("account", "account", width=12)
    if width >= 110:
        if accounts:
            return [time_col, account, name, source, principal, ip, error, resources]
        return [time_col, name, source, principal, ip, error, resources]
    if width >= 64:
        name = Column("name", "event", min_width=12, width=17)
        principal = Column("principal", "principal", width=13)
        error = Column("error", "error", width=14)
        if accounts:  # the account in place of the source, the name shrinking first
            name = Column("name", "event", min_width=12, max_width=17, flex=True)
            return [time_col, account, name, principal, error, resources]
        return [time_col, name, source, principal, error, resources]
    name = Column("name", "event", min_width=10, flex=True)
    return [time_col, name, Column("principal", "principal", width=12), error]


def short_resource(resource: str) -> str:
    """``arn:aws:kms:…:key/1234…`` -> ``key/1234…``: the part a human recognises."""
    if resource.startswith("arn:"):
        tail = resource.split(":", 5)[-1]
        return tail
    return resource


def event_cells(
    event: TrailEvent,
    keys: Sequence[str],
    *,
    with_date: bool = False,
    short: bool = True,
    utc: bool = True,
) -> tuple[str, ...]:
    """One table row: display-safe plain strings, error rows marked with a symbol.

    ``short`` shows the session or user name only (``alice``, not ``OpsAdmin/alice``) for narrow
    layouts; calls a service made for the principal read ``alice@ec2``. Times are in UTC, or in
    the local zone (``TZ``) when ``utc`` is false.
    """
    mark = ERROR_MARK if event.is_error else " "
    stamp = event.event_time if utc else event.event_time.astimezone()
    when = stamp.strftime("%m-%d %H:%M" if with_date else "%H:%M:%S")
    principal = event.principal
    if short:
        principal = principal.rpartition("/")[2] or principal
    if event.invoked_by and event.invoked_by != event.principal:
        principal = f"{principal}@{event.invoked_by.removesuffix('.amazonaws.com')}"
    values = {
        "time": f"{mark} {when}",
        "name": event.event_name,
        "source": event.source,
        "principal": principal,
        "ip": event.source_ip,
        "error": event.error_code or ("error" if event.is_error else ""),
        "resources": " ".join(short_resource(r) for r in event.resources[:4]),
        "account": event.account_id,
    }
    return tuple(display_safe(values[key]) for key in keys)


def nearest_event(view: Sequence[TrailEvent], when: datetime) -> int | None:
    """Index in ``view`` (newest first) of the event closest in time to ``when``."""
    if not view:
        return None
    target = -when.timestamp()
    i = bisect.bisect_left(view, target, key=lambda e: -e.timestamp)
    candidates = [j for j in (i - 1, i) if 0 <= j < len(view)]
    return min(candidates, key=lambda j: abs(view[j].timestamp + target))


def export_text(events: Sequence[TrailEvent], fmt: str) -> str:
    """The events as ``json`` (an array), ``ndjson`` (raw events) or ``csv`` (the columns)."""
    if fmt == "json":
        return json.dumps([e.raw for e in events], indent=2, ensure_ascii=False, default=str)
    if fmt == "ndjson":
        return "".join(json.dumps(e.raw, ensure_ascii=False, default=str) + "\n" for e in events)
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["time", "event_name", "source", "principal", "source_ip", "error_code", "resources"]
    writer.writerow(header)
    for e in events:
        row = [
            e.event_time.isoformat(),
            e.event_name,
            e.source,
            e.principal,
            e.source_ip,
            e.error_code,
            " ".join(e.resources),
        ]
        # A cell starting with = + - @ would run as a formula in a spreadsheet.
        writer.writerow(["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in row])
    return out.getvalue()


# ------------------------------------------------------------------------------------ export dialog


# ------------------------------------------------------------------------------------------ pane


class TrailPane(TrailRemote, Pane):
    """Who called which API, when, from where, with what error."""

    title = "CloudTrail"
    key = "1"

    DEFAULT_CSS = """
    TrailPane > FilterBar { display: none; }
    TrailPane > FilterBar.-shown { display: block; }
    TrailPane > RecordTable { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", id="trail.filter", tooltip="Filter events"),
        Binding("e", "toggle_errors", "Errors", id="trail.errors", tooltip="Errors only on/off"),
        Binding("f", "toggle_follow", "Follow", id="trail.follow", tooltip="Follow new events"),
        Binding("x", "export", "Export", id="trail.export", tooltip="Export filtered events"),
        Binding("c", "copy", "Copy", id="trail.copy", tooltip="Copy the event JSON (OSC 52)"),
        Binding(
            "i",
            "remote",
            "Lake",
            id="trail.remote",
            tooltip="Run the filter in CloudTrail Lake, or Logs Insights for cwl: (cost shown first)",
        ),
        Binding("escape", "back", "Back", id="trail.back", show=False, tooltip="Back to events"),
    ]

    class TimeCursorMoved(Message):
        """The user selected an event: its time becomes the shared time cursor."""

        def __init__(self, pane: TrailPane, when: datetime) -> None:
            super().__init__()
            self.pane = pane
            self.when = when

        @property
        def control(self) -> TrailPane:
            return self.pane

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, TrailPane.TimeCursorMoved)

    class DataChanged(Message):
        """Events were added or cleared (findings are recomputed from them)."""

        def __init__(self, pane: TrailPane) -> None:
            super().__init__()
            self.pane = pane

        @property
        def control(self) -> TrailPane:
            return self.pane

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, TrailPane.DataChanged)

    def __init__(
        self,
        *,
        evidence: TrailEvidence | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        # What is loaded (events, store, counts, accounts) is the screen's, shared with the
        # findings and the bundle; this pane fills it and shows its filter's and focus's part.
        self.evidence = evidence if evidence is not None else TrailEvidence()
        self._view: Sequence[TrailEvent] = []  # what the table shows
        self._view_index: dict[str, int] | None = None
        self.filter: TrailFilter = compile_filter("")
        self.focus_scope: FocusScope | None = None
        self.errors_only = False
        self.follow = True
        self.source: TrailSource | None = None
        self._loaded_key: object = None
        self._complete = False
        self._capped = False
        self._loading = False
        # A full load that failed part-way (an S3 500 past the retries) is taken up again by
        # the next refresh: it must count every file and event once, as one load would.
        self._attempted = False
        self._read_objects: set[str] = set()  # S3 objects the load handed over
        self._events_earlier = 0  # events of those objects, when a load resumes
        self._follower: TrailFollower | None = None
        self._rate_samples: list[tuple[float, int]] = []
        self._columns_layout: tuple[int, bool, bool] | None = None
        self._s3_progress: S3Progress | None = None
        self._keys: tuple[str, ...] = ()
        self._with_date = False
        # The shared time cursor: the event marked for it, and the event the table cursor was on
        # when this pane last moved it itself (a move to another event is the user's).
        self._marked_id: str | None = None
        self._cursor_key: str | None = None
        self.replaying = False
        self._store_matches = 0  # matches of the filter among the stored events
        self._store_shown = 0.0  # when the table last took the store's newest matches
        self._store_every = 1.0  # how often it follows them while loading (see _store_view)
        # Store queries run in threads that cannot be stopped: a slow older one may answer
        # after a newer one. Each is numbered when asked; only the last asked is shown.
        self._store_asked = 0

    # -- composition -----------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        columns = columns_for(78)
        self._keys = tuple(c.key for c in columns)
        yield RecordTable(columns, empty_text="no events yet", id="trail-table")
        yield FilterBar(
            compile_filter,
            FIELD_NAMES,
            placeholder="/ filter: error:AccessDenied* user:alice name:Start* source:kms ip:10.0.0.0/8",
            id="trail-filter",
        )

    @property
    def table(self) -> RecordTable:
        return self.query_one("#trail-table", RecordTable)

    @property
    def filter_bar(self) -> FilterBar:
        return self.query_one("#trail-filter", FilterBar)

    def on_resize(self) -> None:
        self._fit_columns()

    def _fit_columns(self) -> None:
        width = self.size.width - 3  # borders and the scrollbar
        if width <= 0:
            return
        accounts = len(self.evidence.accounts) > 1
        layout = (width, self._with_date, accounts)
        if layout == self._columns_layout:
            return
        self._columns_layout = layout
        columns = columns_for(width, with_date=self._with_date, accounts=accounts)
        self._keys = tuple(c.key for c in columns)
        self.table.set_columns(columns)
        self._set_rows()

    def has_data(self) -> bool:
        return self.evidence.has_data()

    # -- the evidence, read through ---------------------------------------------------------------

    @property
    def events(self) -> dict[str, TrailEvent]:
        """The events memory holds, by key (the evidence's; empty once they are stored)."""
        return self.evidence.events

    @property
    def _ordered(self) -> list[TrailEvent]:
        """Every event memory holds, newest first (the evidence's)."""
        return self.evidence.ordered

    @property
    def _store(self) -> TrailStore | None:
        """The evidence's store, past its threshold."""
        return self.evidence.store

    @property
    def view(self) -> Sequence[TrailEvent]:
        """The events the table shows, newest first (filtered, errors only if toggled); from
        the store, a :class:`~tui.models.trailstore.StoredView` parsed as rows are drawn."""
        return self._view

    @property
    def selected(self) -> TrailEvent | None:
        row = self.table.cursor_row
        if row is None or row >= len(self._view):
            return None
        return self._view[row]

    # -- loading ---------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return host(self).clock()

    def _current_window(self, now: datetime) -> TimeWindow:
        assert self.window is not None
        return self.window.at(now) if self.window.live else self.window

    def _source(self) -> TrailSource:
        if self.source is None:
            self.source = parse_source(host(self).settings.trail_source)
        return self.source

    def _window_for(self, source: TrailSource, window: TimeWindow) -> TimeWindow | None:
        """Local files are read whole and windowed here (as the flow pane does): what the
        window hides is counted and its span kept, so that `W` can fit the window to it."""
        return None if source.kind == "local" else window

    def _windowed(self, batch: TrailBatch, window: TimeWindow) -> TrailBatch:
        """Keep a local batch's events in ``window``; count the rest and widen ``data_span``
        (a worker's store rows come windowed, with their count and span)."""
        if batch.span is not None:
            self.outside_window += batch.outside
            lo, hi = batch.span
            if self.data_span is not None:
                lo, hi = min(lo, self.data_span[0]), max(hi, self.data_span[1])
            self.data_span = (lo, hi)
            return batch
        if not batch.events:
            return batch
        times = [e.event_time for e in batch.events]
        lo, hi = min(times), max(times)
        if self.data_span is not None:
            lo, hi = min(lo, self.data_span[0]), max(hi, self.data_span[1])
        self.data_span = (lo, hi)
        kept = [e for e in batch.events if window.contains(e.event_time)]
        self.outside_window += len(batch.events) - len(kept)
        return replace(batch, events=kept)

    def _regions(self) -> list[str]:
        region = host(self).settings.region
        return [region] if region else []

    async def refresh_data(self) -> None:
        assert self.window is not None
        now = self._now()
        window = self._current_window(now)
        source = self._source()
        with_date = window.duration.total_seconds() > 86400
        if with_date != self._with_date:
            self._with_date = with_date
            self._fit_columns()
        key = (
            source,
            ("live", window.duration) if self.window.live else window,
            self._folder_filter(source).text,
        )
        if key != self._loaded_key:
            self._reset(key)
        if not self._complete:
            await self._full_load(source, window, now)
        elif self.follow and source.live and self.window.live:
            await self._follow_poll(window, now)
        self._render_status()
        if self._store is not None and self._store.full is not None:
            raise self._store.full  # said on every refresh until the window or source changes

    def _reset(self, key: object) -> None:
        self._loaded_key = key
        self._complete = False
        self._capped = False
        self._attempted = False
        self._read_objects = set()
        self._events_earlier = 0
        self.evidence.reset()
        self._store_matches = 0
        self.outside_window = 0
        self.data_span = None
        self._s3_progress = None
        self.loaded_at = None  # a new window: loading, not stale
        self._follower = None
        self._refilter()
        self.post_message(self.DataChanged(self))

    async def _full_load(self, source: TrailSource, window: TimeWindow, now: datetime) -> None:
        """Load the window; after a failed attempt, take the load up again.

        An S3 load resumes: the objects the failed attempt handed over are not read again.
        Other sources read again from the start, with the counts of the failed attempt
        forgotten (its events stay shown; met again, they are not added twice).
        """
        resumed, self._attempted = self._attempted, True
        if resumed and source.kind != "s3":
            self.evidence.restart_counts()
        # A resumed S3 load does not read again the objects already read: their events count
        # in the progress's total (the stream counts only its own).
        self._events_earlier = self.evidence.scanned if resumed and source.kind == "s3" else 0
        self._loading = True
        pages = 0
        try:
            # Every event held came from this load's failed attempt (a load starts empty):
            # read again from the start, they are the same events, neither new nor copies.
            seen = set(self.events) if source.kind == "s3" else set()
            if source.kind == "local":  # read whole: big folders in worker processes
                stream = stream_files(
                    source.location,
                    seen=seen,
                    store_after=max(0, _evidence.STORE_ABOVE - self.evidence.loaded_count),
                    store_window=window,
                )
            else:
                stream = stream_source(
                    self.aws,
                    source,
                    self._window_for(source, window),
                    self._folder_filter(source),
                    regions=self._regions(),
                    max_pages=MAX_LOOKUP_PAGES,
                    seen=seen,
                    read=self._read_objects,
                )
            async for batch in stream:
                pages += batch.pages
                if batch.chunk is not None:  # a worker's store rows: DuckDB inserts, no GIL
                    store = self.evidence.ensure_store()
                    await asyncio.to_thread(store.add_chunk, batch.chunk)
                if source.kind == "local":
                    batch = self._windowed(batch, window)
                self._add_batch(batch)
        except OSError as exc:
            if self._store is not None and scratch.disk_full(exc):
                self._store.stop(exc)  # what was stored stays; the load is over
            raise
        finally:
            self._loading = False
            if self._store is not None and self._store.full is not None:
                self._complete = True  # a full disk ended the load: reading again stores nothing
                self._refilter()  # what was stored
        self._capped = source.kind == "lookup" and pages >= MAX_LOOKUP_PAGES
        self._complete = True
        if self._store is not None:
            self._refilter()  # the whole load, newest matches
        self._follower = TrailFollower(
            source,
            self._regions(),
            seen=set(self.events),
            read=self._read_objects if source.kind == "s3" else None,
        )
        self._follower.last_end = now

    async def _follow_poll(self, window: TimeWindow, now: datetime) -> None:
        assert self._follower is not None
        self._follower.seen.update(self.events)
        flt = self._folder_filter(self._source())
        async for batch in self._follower.poll(self.aws, window, now, flt):
            self._add_batch(batch, follow=True)

    def _folder_filter(self, source: TrailSource) -> TrailFilter:
        """What an S3 load asks for: the filter's account:/region: terms, which choose the
        folders of an organization trail listed (every other term is applied here, so that
        typing it costs no reload); other sources load everything."""
        return self.filter.folder_terms() if source.kind == "s3" else compile_filter("")

    @work(exclusive=True, group="trail-pushdown", exit_on_error=False, description="trail-pushdown")
    async def _pushdown(self, flt: TrailFilter) -> None:
        """The unfiltered load stopped early: fetch what the filter's exact term selects."""
        if self.aws is None or self.window is None:
            return
        window = self._current_window(self._now())
        try:
            async for batch in stream_source(
                self.aws,
                self._source(),
                window,
                flt,
                regions=self._regions(),
                seen=set(self.events),
            ):
                self._add_batch(batch)
        except HamariError as err:
            self.on_failure(err)

    def _add_batch(self, batch: TrailBatch, *, follow: bool = False) -> None:
        evidence = self.evidence
        accounts = len(evidence.accounts)
        added = evidence.take(batch, follow=follow)
        if batch.progress is not None:
            self._s3_progress = dataclasses.replace(
                batch.progress, earlier_events=0 if follow else self._events_earlier
            )
        if accounts < 2 <= len(evidence.accounts):
            self._columns_layout = None  # an organization's events: show the account column
            self._fit_columns()
        meter = self.aws.meter.requests["cloudtrail:LookupEvents"] if self.aws else 0
        self._rate_samples.append((time.monotonic(), meter))
        if added.stored:
            # Inserting and querying run in the filter thread; the table follows about once
            # a second (the findings are told once the store answered, see _store_view).
            if time.monotonic() - self._store_shown >= self._store_every:
                self._store_shown = time.monotonic()
                self._refilter()
        elif added.fresh:
            shown = self._select(added.fresh)
            if shown and not self.remote_shown:
                if not isinstance(self._view, list):
                    self._view = []  # the view of a store closed since (a new window)
                self._view.extend(shown)
                self._view.sort(key=sort_key, reverse=True)
                self._set_rows()
            self.post_message(self.DataChanged(self))
        self._render_status()

    def skipped_items(self) -> list[Skipped]:
        return self.evidence.skipped_items()

    def skipped_total(self) -> int:
        return self.evidence.skipped_total()

    # -- filtering -------------------------------------------------------------------------------

    def _select(self, events: list[TrailEvent]) -> list[TrailEvent]:
        return _narrow(events, self.filter, self.errors_only, self.focus_scope)

    def set_focus_scope(self, scope: FocusScope | None) -> None:
        """Data down from the screen: show only the events of the focused resource and its parts."""
        if scope == self.focus_scope:
            return
        self.focus_scope = scope
        self._refilter()

    def _refilter(self) -> None:
        if self.remote is not None and self.remote.shown:  # `i`'s results until esc
            self._set_view(self._select(self.remote.events), self.filter, self.errors_only)
            return
        if self._store is not None:
            self._store_asked += 1
            self._refilter_store(self.filter, self.errors_only, self._store_asked)
            return
        if len(self._ordered) > THREAD_FILTER_ABOVE:
            self._refilter_in_thread(self.filter, self.errors_only)
            return
        self._set_view(self._select(self._ordered), self.filter, self.errors_only)

    @work(
        exclusive=True,
        group="trail-filter",
        thread=True,
        exit_on_error=False,
        description="trail-filter",
    )
    def _refilter_in_thread(self, flt: TrailFilter, errors_only: bool) -> None:
        events = list(self._ordered)
        view = _narrow(events, flt, errors_only, self.focus_scope)
        hidden = self._hidden_by(events, view, flt, errors_only)
        self.app.call_from_thread(self._set_view, view, flt, errors_only, hidden)

    # -- the evidence's store (past its threshold) -----------------------------------------------

    @work(
        exclusive=True,
        group="trail-filter",
        thread=True,
        exit_on_error=False,
        description="trail-filter",
    )
    def _refilter_store(self, flt: TrailFilter, errors_only: bool, asked: int) -> None:
        if self._store is not None:
            self._store_view(self._store, flt, errors_only, asked)

    def _store_view(
        self, store: TrailStore, flt: TrailFilter, errors_only: bool, asked: int
    ) -> None:
        """(Thread) the newest matches of everything stored, and how many match; shown only
        when no newer query was asked meanwhile (its answer is on its way)."""
        scope = self.focus_scope
        keep = (lambda e: event_in_scope(e, scope)) if scope is not None else None
        started = time.monotonic()
        try:
            matches = store.count(flt, errors_only=errors_only, keep=keep)
            view = store.newest(flt, STORE_TABLE, errors_only=errors_only, keep=keep)
        except Exception as exc:  # a failing store says so; the loaded events stay on disk
            if store is self._store and scratch.disk_full(exc):  # said until it is fixed
                self.app.call_from_thread(self.on_failure, unexpected_error(exc))
            elif store is self._store:
                said = f"trail store: {exc}"
                self.app.call_from_thread(self.app.notify, said, severity="error", markup=False)
            return
        if store is not self._store:
            return  # reset meanwhile

        # What findings read (StartInstances and failed calls), once the load is over.
        found = not self._loading and self.evidence.refresh_findings()

        def show() -> None:
            if asked != self._store_asked:
                return
            self._store_matches = matches
            self._set_view(view, flt, errors_only, 0)
            # While loading, the table follows at most every five query-and-draw times (at
            # least 1 s): back to back, they held the CPU the keys need.
            self._store_every = max(1.0, 5 * (time.monotonic() - started))
            if found:
                self.post_message(self.DataChanged(self))

        self.app.call_from_thread(show)

    def on_unmount(self) -> None:
        self.evidence.close()  # its files live in a private temp directory

    def _hidden_by(
        self,
        events: list[TrailEvent],
        view: Sequence[TrailEvent],
        flt: TrailFilter,
        errors_only: bool,
    ) -> int:
        """How many events the focus alone hides, when it hides every one of them."""
        if self.focus_scope is None or view:
            return 0
        return len(_narrow(events, flt, errors_only, None))

    def _set_view(
        self,
        view: Sequence[TrailEvent],
        flt: TrailFilter,
        errors_only: bool,
        hidden: int | None = None,
    ) -> None:
        if flt is not self.filter or errors_only != self.errors_only:
            return  # a newer filter is on its way
        if hidden is None:
            hidden = self._hidden_by(self._ordered, view, flt, errors_only)
        self.hidden_by_focus = hidden
        before = self.selected
        self._view = view
        self._set_rows()
        if self.is_mounted and (before is None or self._index_of_event(before) is None):
            self.table.move_cursor(0)
            self._note_cursor()
        self._render_status()

    def _index_of_event(self, event: TrailEvent) -> int | None:
        if self._view_index is None:
            self._view_index = _index(self._view)
        return self._view_index.get(event.key)

    def _set_rows(self) -> None:
        view = self._view
        keys = self._keys
        with_date = self._with_date
        short = "ip" not in keys
        utc = self.utc
        self._view_index = None

        def cells(index: int) -> tuple[str, ...]:
            return event_cells(view[index], keys, with_date=with_date, short=short, utc=utc)

        def row_key(index: int) -> Hashable:
            return view[index].key

        def row_style(index: int) -> str | None:
            event = view[index]
            if event.key == self._marked_id:
                return "mark"
            if event.is_error:
                return "error"
            return "dim" if event.partial else None

        def index_of(key: Hashable) -> int | None:
            if self._view is not view:
                return None
            if self._view_index is None:
                self._view_index = _index(view)
            return self._view_index.get(str(key))

        self.table.set_rows(
            CallableRows(len(view), cells),
            row_key=row_key,
            row_style=row_style,
            index_of=index_of,
        )
        self._note_cursor()
        self._render_subtitle()

    # -- status ----------------------------------------------------------------------------------

    def _rate(self) -> float:
        now = time.monotonic()
        samples = [s for s in self._rate_samples if now - s[0] <= 10.0]
        self._rate_samples = samples[-50:]
        if len(samples) < 2 or not self._loading:
            return 0.0
        (t0, n0), (t1, n1) = samples[0], samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def _render_status(self) -> None:
        if not self.is_mounted or self.replaying:
            return
        if self.remote_shown:  # a CloudTrail Lake or Insights run (tui/panes/trailremote.py)
            self.set_status(self.remote_status())
            self._render_subtitle()
            return
        source = self._source()
        unit = "pages" if source.kind in ("lookup", "cwl") else "files"
        ev = self.evidence
        text = Text()
        # Every file once, in one part of the total (as `hamari trail` says it).
        text.append(ev.files.describe(ev.scanned, ev.pages, unit))
        if not ev.files.all_read:
            text.append(" (b: list)", style="yellow")
        if source.kind == "lookup":
            text.append(f" · {self._rate():.1f} req/s")
        if self._loading and self._s3_progress is not None:
            text.append(f" · {self._s3_progress.describe()}", style="italic")
        elif self._loading or not self._complete:  # not "complete up to" before it is
            text.append(" · loading…", style="italic")
        elif self.window is not None:
            mark = watermark(source, self._now(), self._current_window(self._now()))
            if mark is not None:
                text.append(f" · complete up to {mark:%H:%M}")
        if ev.bad:
            records = "record" if ev.bad == 1 else "records"
            text.append(f" · {ev.bad:,} bad {records} skipped (b: list)", style="yellow")
        if self._store is not None:
            total = len(self._store)
            text.append(f" · {total:,} loaded · {self._store_matches:,} match")
            text.append(f" · table: newest {len(self._view):,}")
            if self._store.duplicates:
                text.append(f" · {self._store.duplicates:,} duplicates folded")
            if self._store.unstored:
                why = "disk full" if self._store.full is not None else "insert failed"
                text.append(f" · {self._store.unstored:,} not stored ({why})", style="red")
        if ev.duplicates:
            # Copies are folded, never dropped unsaid (the eventID alone once hid 279 of 436).
            text.append(f" · {len(ev.ordered):,} shown · {ev.duplicates:,} duplicates folded")
        for line in ev.region_errors.values():
            # "us-east-1: not reachable" (the details are in the line's tail): the other
            # regions' events are shown; this one's are missing.
            text.append(f" · {display_safe(': '.join(line.split(': ')[:2]))}", style="yellow")
        if self._capped:
            # Only the terms LookupEvents matches exactly are sent (user: and resource: are not).
            text.append(" · stopped early: filter by name:/source:/accesskey:", style="yellow")
        if self.hidden_by_focus and self.focus_scope is not None:
            text.append(f" · ◎ hides {self.hidden_by_focus:,} (U: unfocus)", style="yellow")
        if self.outside_window:
            text.append(f" · {self.outside_window:,} outside the window (W: fit)", style="yellow")
        self.set_status(text)
        self._render_subtitle()
        self._show_empty_text()

    def on_retry_changed(self) -> None:
        """An empty table on a first load says that a call is being retried, and when."""
        if self.is_mounted and not self.replaying:
            self._show_empty_text()

    def _show_empty_text(self) -> None:
        table = self.table
        empty = self._empty_text()
        if table.empty_text != empty:
            table.empty_text = empty
            table.refresh()

    def _empty_text(self) -> str:
        """Why the table is empty, and the key that changes it."""
        notice = self.retry_notice()
        if notice and not self.has_data():
            return notice  # "⚠ AWS is throttling cloudtrail:LookupEvents: retry 1 of 4 in 2 s"
        if self.hidden_by_focus and self.focus_scope is not None:
            return (
                f"The focus ◎ {display_safe(self.focus_scope.resource_id)} hides "
                f"{self.hidden_by_focus:,} events: U clears the focus"
            )
        if not self._ordered and self.outside_window and self.window is not None:
            return window_hint(self.outside_window, "events", self.window, self.utc)
        if self._ordered and (not self.filter.is_empty or self.errors_only):
            return "no loaded event matches the filter"
        return "no events yet" if not self._complete else "no events in the window"

    def _render_subtitle(self) -> None:
        parts = [f"{len(self._view):,} of {self.evidence.loaded_count:,}"]  # shown of loaded
        if self.focus_scope is not None:
            parts.append(f"◎ {display_safe(self.focus_scope.resource_id)}")
        if self.errors_only:
            parts.append(f"{ERROR_MARK} errors only")
        if not self.filter.is_empty:
            parts.append("filtered")
        source = self._source() if self.is_mounted else None
        if source is not None and source.live and self.window is not None and self.window.live:
            if not self.follow:
                parts.append("follow off")
            else:
                parts.append("follow ⚠ stalled" if self.stale else "● follow")
        if source is not None and source.kind != "lookup":
            parts.append(display_safe(source.label)[:30])
        self.border_subtitle = Content(" · ".join(parts))  # never markup: holds a path

    # -- messages and actions --------------------------------------------------------------------

    @on(FilterBar.Applied)
    def _filter_applied(self, message: FilterBar.Applied) -> None:
        message.stop()
        before = self._folder_filter(self._source()).text
        self.filter = compile_filter(message.text)
        self._refilter()
        if self._folder_filter(self._source()).text != before:
            self.wake()  # an S3 trail: other account or region folders to list
        if not message.text.strip():
            self.filter_bar.remove_class("-shown")
        self.table.focus()
        if (
            self._capped
            and self._source().kind == "lookup"
            and self.filter.lookup_attribute() is not None
        ):
            self._pushdown(self.filter)

    @on(FilterBar.Cleared)
    def _filter_cleared(self, message: FilterBar.Cleared) -> None:
        message.stop()
        before = self._folder_filter(self._source()).text
        self.filter = compile_filter("")
        self._refilter()
        if before:
            self.wake()  # an S3 trail narrowed by account:/region: reads every folder again
        self.filter_bar.remove_class("-shown")
        self.table.focus()

    @on(RecordTable.Selected, "#trail-table")
    def _selected(self, message: RecordTable.Selected) -> None:
        message.stop()
        if 0 <= message.index < len(self._view):
            self.open_detail(self._view[message.index])

    # -- the shared time cursor and clock --------------------------------------------------------

    def _note_cursor(self) -> None:
        """Remember the event under the cursor: a later move to another one is the user's."""
        event = self.selected if self.is_mounted else None
        self._cursor_key = event.key if event is not None else None

    @on(RecordTable.CursorMoved, "#trail-table")
    def _cursor_moved(self, message: RecordTable.CursorMoved) -> None:
        message.stop()
        index = message.index
        if index is None or not 0 <= index < len(self._view):
            return
        event = self._view[index]
        if event.key == self._cursor_key:
            return  # rows arrived, or the pane followed the shared cursor
        self._cursor_key = event.key
        if self.table.has_focus:
            self.post_message(self.TimeCursorMoved(self, event.event_time))

    def watch_time_cursor(self, _old: datetime | None, new: datetime | None) -> None:
        """Mark the event nearest the shared cursor, and jump to it.

        The table the user is working in (it has the focus: it set the cursor, or the user is
        reading it) keeps its cursor; it only marks the row.
        """
        if not self.is_mounted:
            return
        index = nearest_event(self._view, new) if new is not None else None
        marked = self._view[index].key if index is not None else None
        if marked != self._marked_id:
            self._marked_id = marked
            self.table.refresh_rows()
        if index is not None and not self.table.has_focus:
            self.table.move_cursor(index)
            self._note_cursor()

    def watch_utc(self, _old: bool, _new: bool) -> None:
        """Times in UTC or in the local zone: redraw the rows."""
        if self.is_mounted:
            self._set_rows()

    def on_stale_changed(self, stale: bool) -> None:
        self._render_subtitle()

    def load_snapshot(self, events: Sequence[TrailEvent], queries: dict[str, object]) -> None:
        """Replay: show saved events instead of polling CloudTrail (no AWS is ever opened)."""
        self.evidence.replace(events)
        self._store_matches = 0
        self.replaying = True
        self.follow = False
        flt = str(queries.get("filter") or "")
        self._columns_layout = None
        self._fit_columns()
        self._complete = True
        try:
            self.filter = compile_filter(flt)
        except FilterError:
            self.filter = compile_filter("")
        if flt:
            self.filter_bar.value = flt
            self.filter_bar.add_class("-shown")
        self.errors_only = bool(queries.get("errors_only"))
        self._refilter()
        self.set_status(Text(f"replay: {len(self._ordered):,} saved events"))
        self.post_message(self.DataChanged(self))

    def snapshot_queries(self) -> dict[str, object]:
        """The exact source, filter and window this pane loaded (for the incident bundle)."""
        source = self._source()
        return {
            "api": "cloudtrail:LookupEvents" if source.kind == "lookup" else source.kind,
            "source": source.label,
            "regions": self._regions(),
            "filter": self.filter.text,
            "errors_only": self.errors_only,
            "scanned": self.evidence.scanned,
            "pages": self.evidence.pages,
            "capped": self._capped,
        }

    def show_evidence(self, evidence: Evidence) -> None:
        """Apply the evidence's filter and put the cursor on its event."""
        bar = self.filter_bar
        if evidence.query is not None:
            try:
                compile_filter(evidence.query)
            except FilterError as err:
                self.app.notify(f"Cannot show the evidence: {err.message}", markup=False)
                return
            bar.value = evidence.query
            bar.add_class("-shown")
            self._filter_applied(FilterBar.Applied(bar, evidence.query))
        if evidence.record_key:
            self.call_after_refresh(self._move_to_event, evidence.record_key)

    def _move_to_event(self, record_key: str) -> None:
        # Findings name an event by its eventID; the pane keys events by TrailEvent.key.
        event = self.evidence.find(record_key)
        index = self._index_of_event(event) if event is not None else None
        if index is not None:
            self.table.move_cursor(index)
        self.table.focus()
        if index is None and self.hidden_by_focus and self.focus_scope is not None:
            self.app.notify(
                f"The focus ◎ {display_safe(self.focus_scope.resource_id)} hides this evidence "
                f"({self.hidden_by_focus:,} events). Press U to clear the focus.",
                title="Hidden by the focus",
                severity="warning",
                markup=False,
                timeout=10,
            )

    def open_detail(self, event: TrailEvent) -> None:
        from tui.dialogs.trail_detail import TrailDetailScreen

        def loaded() -> Sequence[TrailEvent]:
            # Past STORE_ABOVE the store picks the candidates (find_related asks it).
            return self.evidence.candidates()  # type: ignore[return-value]

        self.app.push_screen(TrailDetailScreen(event, loaded, utc=self.utc))

    def action_focus_filter(self) -> None:
        bar = self.filter_bar
        bar.add_class("-shown")
        self.screen.set_focus(bar)  # at once: the filter typed right after "/" goes in the bar

    def action_toggle_errors(self) -> None:
        self.errors_only = not self.errors_only
        self._refilter()

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self._render_subtitle()
        if self.follow:
            self.wake()

    def action_copy(self) -> None:
        event = self.selected
        if event is None:
            self.app.notify("No event selected.", markup=False)
            return
        copy_event(self.app, event)

    def action_export(self) -> None:
        events = list(self._view)
        if not events:
            self.app.notify("Nothing to export: the table is empty.", markup=False)
            return
        stamp = self._now().strftime("%Y%m%dT%H%M%S")
        # Relative to the current folder: its absolute name is not ours to show (it may hold
        # anything, e.g. escape sequences under /tmp on a shared bastion).
        default = f"hamari-trail-{stamp}.ndjson"

        store = self._store
        flt, errors_only, scope = self.filter, self.errors_only, self.focus_scope

        def chosen(path: str | None) -> None:
            if not path:
                return
            if store is None:
                self._export(events, path)
                return

            def matches() -> list[TrailEvent]:  # every match in the store, not the table's
                keep = (lambda e: event_in_scope(e, scope)) if scope is not None else None
                return list(store.matching(flt, errors_only=errors_only, keep=keep))

            self._export(matches, path)

        count = self._store_matches if store is not None else len(events)
        message = (
            f"Export {count:,} filtered events (path relative to the current folder). "
            "The extension picks the format: .json (array), .ndjson (one raw event per line), "
            ".csv (columns). enter writes, esc cancels."
        )
        self.app.push_screen(ExportPrompt(message, default), chosen)

    @work(group="trail-export", thread=True, exit_on_error=False, description="trail-export")
    def _export(self, events: list[TrailEvent] | Callable[[], list[TrailEvent]], path: str) -> None:
        target = Path(path).expanduser()
        suffix = target.suffix.lower().lstrip(".")
        fmt = suffix if suffix in ("json", "ndjson", "csv") else "ndjson"
        try:
            if callable(events):
                events = events()
            text = export_text(events, fmt)
            target.write_text(text, encoding="utf-8")
        except (OSError, ValueError) as exc:
            self.app.call_from_thread(
                self.app.notify,
                f"Export failed: {display_safe(str(exc))}",
                severity="error",
                markup=False,
            )
            return
        self.app.call_from_thread(
            self.app.notify,
            f"Wrote {len(events)} events ({fmt}) to {display_safe(str(target.resolve()))}",
            title="Export",
            markup=False,
        )


def _narrow(
    events: list[TrailEvent],
    flt: TrailFilter,
    errors_only: bool,
    scope: FocusScope | None,
) -> list[TrailEvent]:
    """The events the table shows: the filter, errors only, and the focused resource."""
    selected = flt.apply(events) if not flt.is_empty else list(events)
    if errors_only:
        selected = [e for e in selected if e.is_error]
    if scope is not None:
        selected = [e for e in selected if event_in_scope(e, scope)]
    return selected


def _index(view: Sequence[TrailEvent]) -> dict[str, int]:
    """Row of each event key (a stored view knows its keys without parsing its events)."""
    keys = view.keys if isinstance(view, StoredView) else [e.key for e in view]
    return {key: i for i, key in enumerate(keys)}
