"""Flow-log pane: incident 3 ("sometimes it connects") made visible in a few keys.

The pane streams VPC flow records for the shared time window from the source chosen in settings
(by default the CloudWatch Logs flow logs that DescribeFlowLogs reports), newest first, REJECTs
marked in words and colour. From there:

* ``/`` filters with the flow filter language (``action=REJECT and addr in 192.168.0.0/16``);
* ``a`` cycles the aggregations (top talkers, REJECTs by AZ, ENI, port, direction);
* ``p`` shows the conversations whose one leg was ACCEPTed and the other REJECTed, each leg's
  interface resolved to instance / subnet / AZ / TGW attachment, with the NACL rule that denies
  the REJECTed leg ("stateless rule on the return path?");
* ``e`` (or enter) explains a record: every field and the NACL evaluation;
* ``x`` exports the filtered records; ``f`` toggles follow (polling for new records).

What is loaded is not the pane's: the records, the memory cap and the DuckDB store past it, the
topology and what was skipped live in a :class:`~tui.evidence.flows.FlowEvidence` the main screen
creates and hands down. The pane fills it and shows the newest matches of its filter and focus;
the findings and the incident bundle read all of it, whatever the pane shows. If the store cannot
be used and records were dropped, the filter is pushed down to the source instead. Re-filtering,
pairing and aggregating large sets run in threads so the terminal never freezes over a slow SSH
link.

The pane is split along its seams: row cells and columns in :mod:`tui.panes.flowrows`, the text
about records and resources in :mod:`tui.panes.flowtext`, Logs Insights and Athena runs in
:mod:`tui.panes.flowremote`, the loader that fills the evidence (sources, windowing, follow) in
:mod:`tui.panes.flowload`, sources in :mod:`tui.models.flowplan`. What remains (~980 lines) is
one widget with three views (records, aggregations, pairs), their keys and the shared time
cursor: whole because the views share the matches, the cursor and the status line; the
aggregation and pairs views (``compute_aggregation`` ... ``_show_pair_detail``) are the next seam.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.events import Resize
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Static

from tui.aws.errors import HamariError
from tui.evidence.flows import (
    THREAD_THRESHOLD,
    Added,
    Counts,
    FlowEvidence,
    export_records,
    scope_predicate,
)
from tui.host import host
from tui.models.findings import Evidence, conversation_id
from tui.models.flowagg import AGGREGATIONS, aggregate
from tui.models.flowfilter import FilterError, FlowFilter, complete, parse_filter
from tui.models.flowlog import (
    FlowRecord,
    conversation_key,
)
from tui.models.focus import FocusScope
from tui.models.nacl import explain
from tui.models.text import display_safe
from tui.models.units import human_bytes
from tui.panes.base import Pane, Skipped, window_hint
from tui.panes.flowload import FlowLoader
from tui.panes.flowremote import FlowRemote, RemoteRun
from tui.panes.flowrows import (
    AGG_COLUMNS,
    AGG_TITLES,
    PAIR_COLUMNS,
    PAIR_HINT,
    FlowRows,
    PairGroup,
    columns_for,
    group_pairs,
    nearest_record,
    pair_cells,
)
from tui.panes.flowtext import annotate, flow_log_warning, pair_detail
from widgets.filter_bar import FilterBar
from widgets.record_table import RecordTable

if TYPE_CHECKING:
    pass

NO_RECORDS_YET = "No flow records yet"


# --- the filter bar's completion -------------------------------------------------------------------


class FlowFieldSuggester(Suggester):
    """Completes field names, keywords and enum values with :func:`flowfilter.complete`."""

    def __init__(self) -> None:
        super().__init__(use_cache=True, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        candidates = complete(value)
        if not candidates:
            return None
        word = ""
        for ch in reversed(value):
            if ch.isalnum() or ch in "-_":
                word = ch + word
            else:
                break
        best = candidates[0]
        if len(best) <= len(word) or not best.lower().startswith(word.lower()):
            return None
        return value + best[len(word) :]


def _check_filter(text: str) -> FlowFilter:
    return parse_filter(text)


# --- the pane ------------------------------------------------------------------------------------


class FlowsPane(FlowLoader, FlowRemote, Pane):
    """ACCEPT/REJECT legs by interface and AZ."""

    title = "Flow logs"
    key = "3"

    DEFAULT_CSS = """
    FlowsPane #flows-warning {
        display: none;
        height: auto;
        max-height: 5;
        border: round $warning;
        padding: 0 1;
    }
    FlowsPane #flows-warning.-shown { display: block; }
    FlowsPane FilterBar { display: none; }
    FlowsPane FilterBar.-shown { display: block; }
    FlowsPane .flows-view { display: none; height: 1fr; }
    FlowsPane .flows-view.-shown { display: block; }
    FlowsPane .flows-caption { height: 1; color: $text-muted; }
    FlowsPane #flows-pair-detail {
        height: auto;
        max-height: 10;
        border-top: solid $panel-lighten-2;
    }
    FlowsPane #flows-pairs-table { height: 1fr; min-height: 4; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="flows.filter", tooltip="Filter flow records"),
        Binding("a", "aggregate", "Aggregate", id="flows.aggregate", tooltip="Cycle aggregations"),
        Binding("p", "pairs", "Pairs", id="flows.pairs", tooltip="ACCEPT/REJECT conversations"),
        Binding("e", "explain", "Explain", id="flows.explain", tooltip="Fields and NACL verdict"),
        Binding("f", "toggle_follow", "Follow", id="flows.follow", tooltip="Poll new records"),
        Binding("x", "export", "Export", id="flows.export", tooltip="Save as NDJSON or CSV"),
        Binding(
            "i",
            "insights",
            "Insights",
            id="flows.insights",
            tooltip="Run the filter remotely in CloudWatch Logs Insights (cost shown first)",
        ),
        Binding("escape", "back", "Back", id="flows.back", show=False, tooltip="Back to records"),
    ]

    class TimeCursorMoved(Message):
        """The user selected a flow record: its start becomes the shared time cursor."""

        def __init__(self, pane: FlowsPane, when: datetime) -> None:
            super().__init__()
            self.pane = pane
            self.when = when

        @property
        def control(self) -> FlowsPane:
            return self.pane

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, FlowsPane.TimeCursorMoved)

    class DataChanged(Message):
        """Records or the topology changed (findings are recomputed from them)."""

        def __init__(self, pane: FlowsPane) -> None:
            super().__init__()
            self.pane = pane

        @property
        def control(self) -> FlowsPane:
            return self.pane

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, FlowsPane.DataChanged)

    def __init__(
        self,
        *,
        evidence: FlowEvidence | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        # What is loaded (records, store, topology, counts) is the screen's, shared with the
        # findings and the bundle; this pane fills it and shows its filter's and focus's part.
        self.evidence = evidence if evidence is not None else FlowEvidence()
        self.matched: list[FlowRecord] = []
        self.filter: FlowFilter | None = None
        self.focus_scope: FocusScope | None = None
        self.following = True
        self.view = "records"  # records | agg | pairs
        self.agg_kind = AGGREGATIONS[0]
        self.pairs: list[PairGroup] = []
        self._table_width = 0
        self._source_key: tuple[str, ...] | None = None
        # The shared time cursor (see TrailPane): the marked record, the last self-made position.
        self._marked: int | None = None
        self._cursor_key: int | None = None
        self.replaying = False
        self.remote: RemoteRun | None = None
        self.showing_remote = False
        # A remote run that failed with nothing back: (what to title it, why), in the panel.
        self.remote_failure: tuple[str, HamariError] | None = None
        self.match_count = 0  # matches among everything loaded (the table may show fewer)
        self._with_date = False

    # -- the evidence, read through ---------------------------------------------------------------

    @property
    def records(self) -> list[FlowRecord]:
        """What memory holds, oldest first (the evidence's)."""
        return self.evidence.records

    @property
    def counts(self) -> Counts:
        return self.evidence.counts

    @property
    def store(self) -> Any:
        return self.evidence.store

    @property
    def topology(self) -> Any:
        return self.evidence.topology

    @property
    def loaded_count(self) -> int:
        """Every record loaded: in the store when there is one, else in memory."""
        return self.evidence.loaded_count

    @property
    def _lost(self) -> bool:
        """Records were dropped from memory and are in no store."""
        return self.evidence.lost

    # -- composition -------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        yield Static("", id="flows-warning", markup=False)
        bar = FilterBar(
            _check_filter,
            placeholder="filter: action=REJECT and addr in 192.168.0.0/16 (enter, esc)",
            id="flows-filter",
        )
        bar.suggester = FlowFieldSuggester()
        bar.can_focus = False  # hidden until `/`: the table must get the pane's focus
        yield bar
        yield RecordTable(
            columns_for(76),
            id="flows-table",
            classes="flows-view -shown",
            empty_text=NO_RECORDS_YET,
        )
        with Vertical(id="flows-agg", classes="flows-view"):
            yield Static("", classes="flows-caption", id="flows-agg-caption", markup=False)
            yield RecordTable(AGG_COLUMNS, id="flows-agg-table", empty_text="Nothing to count")
        with Vertical(id="flows-pairs", classes="flows-view"):
            yield Static("", classes="flows-caption", id="flows-pairs-caption", markup=False)
            yield RecordTable(
                PAIR_COLUMNS,
                id="flows-pairs-table",
                empty_text="No conversation with one leg ACCEPTed and the other REJECTed",
            )
            yield Static("", id="flows-pair-detail", markup=False)

    def on_mount(self) -> None:
        self.set_status("Flow logs: waiting for AWS…")

    @property
    def table(self) -> RecordTable:
        return self.query_one("#flows-table", RecordTable)

    def has_data(self) -> bool:
        return bool(self.records)

    @property
    def shown(self) -> list[FlowRecord]:
        """What the record table shows: the Insights results, or the filtered loaded records."""
        if self.showing_remote and self.remote is not None:
            return self.remote.records
        return self.matched

    # -- loading -------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return host(self).clock()

    async def _show_added(self, added: Added) -> None:
        """Extend the matches with a batch the evidence took (or filter again)."""
        if added.store_error is not None:
            self.notify(
                f"Flow records: the on-disk store failed ({display_safe(added.store_error)[:120]}"
                f"); keeping the newest {self.evidence.max_records:,} in memory",
                severity="warning",
                markup=False,
            )
        if added.appended is None:
            self.post_message(self.DataChanged(self))
            await self._refilter()
            return
        if not added.appended:
            return
        self.post_message(self.DataChanged(self))
        # Newest records only: they extend the matches (the oldest shown ones fall off).
        predicate = self._predicate()
        new = added.appended
        fresh = new if predicate is None else [r for r in new if predicate(r)]
        self.matched.extend(fresh)
        self.match_count += len(fresh)
        cap = self.evidence.max_records
        if len(self.matched) > cap:
            del self.matched[: len(self.matched) - cap]
        self._show_records()

    def _reset(self) -> None:
        self.evidence.reset()
        self.matched = []
        self.match_count = 0
        self._follow_from_ms = None
        self._loaded_for = None
        self.outside_window = 0
        self.data_span = None
        self.loaded_at = None  # a new window: loading, not stale
        self._show_records()
        self.post_message(self.DataChanged(self))

    # -- filtering -----------------------------------------------------------------------------

    def _predicate(self) -> Callable[[FlowRecord], bool] | None:
        """The filter, and the focused resource's interfaces when a resource is in focus."""
        return scope_predicate(self.filter, self.focus_scope)

    def set_focus_scope(self, scope: FocusScope | None) -> None:
        """Data down from the screen: show only the flows of the focused resource's interfaces."""
        if scope == self.focus_scope:
            return
        self.focus_scope = scope
        self.apply_filter(self.filter)

    async def _refilter(self) -> None:
        """Ask the evidence for the newest matches of the filter and focus, and show them."""
        found = await self.evidence.matches(self.filter, self.focus_scope)
        if found is None:  # reset meanwhile: the next load filters again
            return
        if found.error is not None:
            self._store_trouble(found.error, "filtering the records in memory only")
        self.matched, self.match_count = found.records, found.count
        self.hidden_by_focus = found.hidden_by_focus
        self._show_records()

    def _store_trouble(self, error: str, fallback: str) -> None:
        """Say that a query on the store failed, and what the pane does instead."""
        self.notify(
            f"Flow store: {display_safe(error)[:160]}; {fallback}",
            severity="warning",
            markup=False,
            timeout=10,
        )

    def on_unmount(self) -> None:
        self.evidence.close()  # its files live in a private temp directory

    @work(exclusive=True, group="flows-filter", exit_on_error=False, description="flows-filter")
    async def apply_filter(self, flt: FlowFilter | None) -> None:
        """Re-filter the loaded records (in a thread when there are many)."""
        self.filter = flt
        await self._refilter()
        self._update_status()
        if self.view != "records":
            self._refresh_view()
        if self._lost and flt is not None and not flt.is_empty:
            self._reset()  # records were dropped: fetch again with the filter pushed down
            self.wake()

    @property
    def loaded_records(self) -> list[FlowRecord]:
        """Every loaded record in memory, oldest first (the evidence's)."""
        return self.evidence.loaded_records

    @property
    def findings_records(self) -> list[FlowRecord]:
        """What the findings read (the evidence's, whatever this pane shows)."""
        return self.evidence.findings_records

    def show_evidence(self, evidence: Evidence) -> None:
        """Apply the evidence's filter to the records and put the cursor on its REJECT."""
        flt: FlowFilter | None = None
        if evidence.query:
            try:
                flt = parse_filter(evidence.query)
            except FilterError as err:
                self.notify(f"Cannot show the evidence: {err.message}", markup=False)
                return
            bar = self.query_one(FilterBar)
            bar.value = evidence.query
            self._show_bar(True)
        self._show_evidence(flt, evidence.record_key)

    @work(exclusive=True, group="flows-filter", exit_on_error=False, description="flows-filter")
    async def _show_evidence(self, flt: FlowFilter | None, key: str | None) -> None:
        self.showing_remote = False  # evidence is about the loaded records
        self.filter = flt
        await self._refilter()
        self._set_view("records")
        matched = self.matched
        index = 0
        if key:
            hit = next(
                (
                    i
                    for i in range(len(matched) - 1, -1, -1)
                    if (matched[i].action or "").upper() == "REJECT"
                    and conversation_id(conversation_key(matched[i])) == key
                ),
                None,
            )
            if hit is not None:
                index = len(matched) - 1 - hit  # the table shows newest first
        self.table.move_cursor(index)
        self._note_cursor()
        if not matched and self.hidden_by_focus and self.focus_scope is not None:
            self.notify(
                f"The focus ◎ {display_safe(self.focus_scope.resource_id)} hides this evidence "
                f"({self.hidden_by_focus:,} records). Press U to clear the focus.",
                title="Hidden by the focus",
                severity="warning",
                markup=False,
                timeout=10,
            )

    def _show_bar(self, shown: bool) -> None:
        bar = self.query_one(FilterBar)
        bar.set_class(shown, "-shown")
        bar.can_focus = shown

    @on(FilterBar.Applied, "#flows-filter")
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        event.stop()
        text = event.text.strip()
        flt = parse_filter(text) if text else None
        self._show_bar(bool(text))
        self.apply_filter(flt)
        self._focus_view()

    @on(FilterBar.Cleared, "#flows-filter")
    def _filter_cleared(self, event: FilterBar.Cleared) -> None:
        event.stop()
        self._show_bar(False)
        self.apply_filter(None)
        self._focus_view()

    # -- display -------------------------------------------------------------------------------

    def _eni_az(self) -> dict[str, str]:
        if self.topology is None:
            return {}
        try:
            return dict(self.topology.eni_az())
        except Exception:
            return {}

    def _show_records(self) -> None:
        if not self.is_mounted:
            return
        table = self.table
        rows = FlowRows(
            self.shown,
            [c.key for c in table.columns],
            self._eni_az_cached(),
            utc=self.utc,
            marked=self._marked,
            with_date=self._with_date,
        )
        table.set_rows(rows, row_key=rows.key, row_style=rows.style)
        self._note_cursor()
        self._update_status()

    def _empty_text(self) -> str:
        """Why the table is empty, and the key that changes it (never only "no records")."""
        if self.showing_remote:
            engine = self.remote.engine if self.remote else "Logs Insights"
            return f"{engine} found no matching record"
        if self.hidden_by_focus and self.focus_scope is not None:
            what = " that match the filter" if self.filter and not self.filter.is_empty else ""
            return (
                f"The focus ◎ {display_safe(self.focus_scope.resource_id)} hides "
                f"{self.hidden_by_focus:,} records{what}: U clears the focus"
            )
        if self.loaded_count == 0 and self.outside_window and self.window is not None:
            return window_hint(self.outside_window, "records", self.window, self.utc)
        if self.loaded_count and self.filter is not None and not self.filter.is_empty:
            return "No loaded record matches the filter"
        if self._loaded_for is not None:
            return "No flow records in the window (w widens it)"
        return NO_RECORDS_YET

    def _eni_az_cached(self) -> dict[str, str]:
        cached = getattr(self, "_eni_az_map", None)
        if cached is None or cached[0] is not self.topology:
            cached = (self.topology, self._eni_az())
            self._eni_az_map = cached
        return cached[1]

    def on_resize(self, event: Resize) -> None:
        self._fit_columns(event.size.width)

    def _fit_columns(self, pane_width: int) -> None:
        if not self.is_mounted:
            return
        columns = columns_for(max(20, pane_width - 3), with_date=self._with_date)
        if [(c.key, c.width) for c in columns] != [(c.key, c.width) for c in self.table.columns]:
            self.table.set_columns(columns)
            self._show_records()

    def _update_status(
        self, *, loading: bool = False, pending: Any = None, reading: str | None = None
    ) -> None:
        """The status line; ``reading`` names the file DuckDB is reading, and how far it is."""
        if not self.is_mounted:
            return
        c = self.counts
        bad_lines = c.bad_lines + int(getattr(pending, "bad_lines", 0) or 0)
        bad_files = c.bad_files + int(getattr(pending, "bad_files", 0) or 0)
        not_flow = c.not_flow_logs + int(getattr(pending, "not_flow_logs", 0) or 0)
        nodata = c.nodata + int(getattr(pending, "nodata", 0) or 0)
        skipdata = c.skipdata + int(getattr(pending, "skipdata", 0) or 0)
        self.border_subtitle = display_safe(c.source) if c.source else None
        table = self.table
        empty = self._empty_text()
        if table.empty_text != empty:
            table.empty_text = empty
            table.refresh()
        if self.showing_remote and self.remote is not None:
            self.set_status(self._remote_status(self.remote))
            return
        text = Text()
        text.append("⟳ " if loading else "")
        if reading is not None:
            text.append(f"reading {display_safe(reading)} · ")
        text.append(f"{self.loaded_count:,} loaded")
        if self.filter is not None and not self.filter.is_empty:
            text.append(f" · {self.match_count:,} match", style="bold")
        if len(self.matched) < self.match_count:
            text.append(f" · table: newest {len(self.matched):,}", style="yellow")
        if self.hidden_by_focus and self.focus_scope is not None:
            text.append(f" · ◎ hides {self.hidden_by_focus:,} (U: unfocus)", style="yellow")
        if self.outside_window:
            text.append(f" · {self.outside_window:,} outside the window (W: fit)", style="yellow")
        text.append(f" · {c.pages} pg")
        if bad_lines or bad_files:
            text.append(f" · bad {bad_lines} ln/{bad_files} files (b: list)", style="yellow")
        if not_flow:
            what = "file not a flow log" if not_flow == 1 else "files not flow logs"
            text.append(f" · {not_flow} {what} (b: list)", style="yellow")
        if self.evidence.layout_guessed:
            text.append(" · layout guessed from the field count (--flows-format)", style="yellow")
        text.append(f" · NODATA {nodata}")
        if skipdata:
            text.append(f" · SKIPDATA {skipdata} ⚠ data loss", style="bold red")
        else:
            text.append(" · SKIPDATA 0")
        if self._lost:
            cap = self.evidence.max_records
            text.append(f" · oldest {c.dropped:,} dropped (cap {cap:,})", style="yellow")
        if self.evidence.full is not None:
            text.append(" · loading stopped: store folder full", style="bold red")
        if c.unstored:
            text.append(f" · {c.unstored:,} not stored (disk full)", style="red")
        if not self.following:
            text.append(" · paused")
        elif self.stale:
            text.append(" · follow ⚠ stalled", style="bold yellow")
        else:
            text.append(" · follow")
        if c.pushed_down:
            text.append(" · pushed: ")
            text.append(display_safe(c.pushed_down))
        self.set_status(text)

    def _focus_view(self) -> None:
        target = {
            "records": "#flows-table",
            "agg": "#flows-agg-table",
            "pairs": "#flows-pairs-table",
        }[self.view]
        # At once, not on the next refresh: keys typed ahead must reach the view now shown.
        self.screen.set_focus(self.query_one(target), scroll_visible=False)

    def _set_view(self, view: str, *, focus: bool = True) -> None:
        self.view = view
        for widget_id, name in (
            ("#flows-table", "records"),
            ("#flows-agg", "agg"),
            ("#flows-pairs", "pairs"),
        ):
            self.query_one(widget_id).set_class(view == name, "-shown")
        if focus:
            self._focus_view()

    def _refresh_view(self) -> None:
        if self.view == "agg":
            self.compute_aggregation(self.agg_kind)
        elif self.view == "pairs":
            self.compute_pairs()

    # -- the flow-logs-not-enabled warning -----------------------------------------------------

    def watch_focused_resource(self, old: str | None, new: str | None) -> None:
        super().watch_focused_resource(old, new)
        self.update_warning()

    def update_warning(self) -> None:
        if not self.is_mounted:
            return
        warning = self.query_one("#flows-warning", Static)
        source = host(self).settings.flows_source
        text = flow_log_warning(
            self.topology, self.focused_resource, self._account(), self._region(), source
        )
        if text is None:
            warning.remove_class("-shown")
            return
        warning.update(text)
        warning.add_class("-shown")

    def _account(self) -> str:
        return getattr(self.aws, "account", "") or "ACCOUNT_ID"

    def _region(self) -> str:
        return str(getattr(self.aws, "region", "") or "")  # "" offline: the aws partition

    # -- actions -------------------------------------------------------------------------------

    def action_filter(self) -> None:
        bar = self.query_one(FilterBar)
        self._show_bar(True)
        if self.view != "records":
            self._set_view("records", focus=False)
        self.screen.set_focus(bar)  # at once: the filter typed right after "/" goes in the bar

    def action_back(self) -> None:
        if self.view == "records" and self.showing_remote:
            self.leave_remote()
            return
        if self.view == "records" and self.forget_remote_failure():
            return
        if self.view == "records":
            raise SkipAction()  # nothing to go back from: esc reaches the screen
        self._set_view("records")

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        self._update_status()
        self.notify(
            "Following new flow records" if self.following else "Follow paused",
            markup=False,
            timeout=2,
        )
        if self.following:
            self.wake()

    def action_aggregate(self) -> None:
        if self.view == "agg":
            index = (AGGREGATIONS.index(self.agg_kind) + 1) % len(AGGREGATIONS)
            self.agg_kind = AGGREGATIONS[index]
        self._set_view("agg")
        self.compute_aggregation(self.agg_kind)

    def action_pairs(self) -> None:
        self._set_view("pairs")
        self.compute_pairs()

    def action_explain(self) -> None:
        record = self._current_record()
        if record is None:
            self.notify("No record under the cursor", markup=False, timeout=2)
            return
        self.open_detail(record)

    def action_export(self) -> None:
        from tui.dialogs.export import ExportPrompt

        default = f"hamari-flows-{self._now():%Y%m%dT%H%M%S}.ndjson"
        what = "Logs Insights" if self.showing_remote else "filtered"
        count = len(self.shown) if self.showing_remote or self.store is None else self.match_count
        message = (
            f"Export {count:,} {what} flow records. File (.ndjson or .csv; "
            "relative to the current directory). Enter saves, esc cancels."
        )
        self.app.push_screen(ExportPrompt(message, default), self._export_to)

    def _export_to(self, path: str | None) -> None:
        if path:
            self.export(path, list(self.shown))

    @work(exclusive=True, group="flows-export", exit_on_error=False, description="flows-export")
    async def export(self, path: str, records: list[FlowRecord]) -> None:
        """Write the filtered records to ``path`` (NDJSON, or CSV for a ``.csv`` name).

        With a store, every match is written, streamed from it (the table holds the newest).
        """
        try:
            if self.store is not None and not self.showing_remote:
                where, count = await self.evidence.export(path, self.filter, self.focus_scope)
            else:
                where, count = await asyncio.to_thread(export_records, path, records)
        except Exception as exc:  # a full disk, a store query that failed
            self.notify(
                f"Export failed: {display_safe(exc)}", severity="error", markup=False, timeout=8
            )
            return
        self.notify(f"Exported {count:,} flow records to {where}", markup=False, timeout=8)

    def _current_record(self) -> FlowRecord | None:
        if self.view == "pairs":
            group = self._current_pair()
            if group is None:
                return None
            return group.rejected_record or group.accepted_record
        if self.view != "records":
            return None
        table = self.table
        index = table.cursor_row
        if index is None or not isinstance(table.rows, FlowRows):
            return None
        return table.rows.record(index)

    def _current_pair(self) -> PairGroup | None:
        table = self.query_one("#flows-pairs-table", RecordTable)
        index = table.cursor_row
        if index is None or index >= len(self.pairs):
            return None
        return self.pairs[index]

    def open_detail(self, record: FlowRecord) -> None:
        from tui.dialogs.flow_detail import FlowDetailScreen

        explanation = None
        error = None
        eni = self.topology.enis.get(record.interface_id or "") if self.topology else None
        if self.topology is not None:
            try:
                explanation = explain(record, self.topology)
            except Exception as exc:  # a missing piece of topology must not hide the record
                error = f"{type(exc).__name__}: {exc}"
        self.app.push_screen(
            FlowDetailScreen(
                record,
                annotation=annotate(self.topology, record.interface_id),
                description=eni.description if eni is not None else "",
                explanation=explanation,
                explain_error=error,
                utc=self.utc,
            )
        )

    @on(RecordTable.Selected, "#flows-table")
    def _record_selected(self, event: RecordTable.Selected) -> None:
        event.stop()
        rows = event.record_table.rows
        if isinstance(rows, FlowRows):
            self.open_detail(rows.record(event.index))

    # -- the shared time cursor and clock ---------------------------------------------------------

    def _note_cursor(self) -> None:
        """Remember the record under the cursor: a later move to another one is the user's."""
        record = self._current_table_record()
        self._cursor_key = id(record) if record is not None else None

    def _current_table_record(self) -> FlowRecord | None:
        if not self.is_mounted:
            return None
        table = self.table
        index = table.cursor_row
        if index is None or not isinstance(table.rows, FlowRows) or index >= len(table.rows):
            return None
        return table.rows.record(index)

    @on(RecordTable.CursorMoved, "#flows-table")
    def _record_moved(self, event: RecordTable.CursorMoved) -> None:
        event.stop()
        record = self._current_table_record()
        if record is None or id(record) == self._cursor_key:
            return
        self._cursor_key = id(record)
        if self.table.has_focus and record.start is not None:
            when = datetime.fromtimestamp(record.start, UTC)
            self.post_message(self.TimeCursorMoved(self, when))

    def watch_time_cursor(self, _old: datetime | None, new: datetime | None) -> None:
        """Mark the record starting nearest the shared cursor, and jump to it.

        The table the user is working in (it has the focus) keeps its cursor; it only marks.
        """
        if not self.is_mounted:
            return
        matched = self.shown
        hit = nearest_record(matched, new) if new is not None else None
        marked = id(matched[hit]) if hit is not None else None
        rows = self.table.rows
        if marked != self._marked:
            self._marked = marked
            if isinstance(rows, FlowRows):
                rows.marked = marked
                self.table.refresh_rows()
        if hit is not None and not self.table.has_focus:
            self.table.move_cursor(len(matched) - 1 - hit)  # the table shows newest first
            self._note_cursor()

    def watch_utc(self, _old: bool, _new: bool) -> None:
        """Times in UTC or in the local zone: redraw the rows."""
        self._show_records()

    def on_stale_changed(self, stale: bool) -> None:
        self._update_status()

    def skipped_items(self) -> list[Skipped]:
        return self.evidence.skipped_items()

    def skipped_total(self) -> int:
        c = self.counts
        return c.bad_lines + c.bad_files + c.not_flow_logs

    def load_snapshot(
        self, records: Sequence[FlowRecord], topology: Any, queries: dict[str, Any]
    ) -> None:
        """Replay: show saved records and topology instead of polling (no AWS is ever opened)."""
        self.replaying = True
        self.following = False
        source = f"replay · {queries.get('source') or 'saved records'}"
        self.evidence.replace(records, topology, source)
        text = str(queries.get("filter") or "")
        flt: FlowFilter | None = None
        if text:
            try:
                flt = parse_filter(text)
                self.query_one(FilterBar).value = text
                self._show_bar(True)
            except FilterError:
                flt = None
        self.filter = flt
        self._loaded_for = self.window
        self.update_warning()
        self.apply_filter(flt)
        self.post_message(self.DataChanged(self))

    def snapshot_queries(self) -> dict[str, Any]:
        """The exact source and filter this pane loaded (for the incident bundle)."""
        configs = self._cwl_configs() if self.topology is not None else []
        return {
            "source": self.counts.source,
            "filter": self.filter.text if self.filter is not None else "",
            "log_groups": sorted({c.log_group for c in configs if c.log_group}),
            "pages": self.counts.pages,
            "pushed_down": self.counts.pushed_down,
            "dropped": self.counts.dropped,
            "loaded": self.loaded_count,
        }

    @on(RecordTable.Selected, "#flows-pairs-table")
    def _pair_selected(self, event: RecordTable.Selected) -> None:
        event.stop()
        self.action_explain()

    @on(RecordTable.CursorMoved, "#flows-pairs-table")
    def _pair_moved(self, event: RecordTable.CursorMoved) -> None:
        event.stop()
        self._show_pair_detail()

    @on(RecordTable.SortRequested)
    def _sort_requested(self, event: RecordTable.SortRequested) -> None:
        event.stop()  # records stay newest first; aggregations are ordered by the model

    # -- aggregations ---------------------------------------------------------------------------

    @work(
        exclusive=True, group="flows-aggregate", exit_on_error=False, description="flows-aggregate"
    )
    async def compute_aggregation(self, kind: str) -> None:
        """Aggregate the filtered records (in DuckDB when it holds them, else in a thread)."""
        shown = list(self.shown)
        if self.showing_remote:
            rows = await asyncio.to_thread(aggregate, shown, kind, self.topology)
            over = len(shown)
        else:
            match_count = self.match_count
            rows, everything, error = await self.evidence.aggregate(
                kind, self.filter, self.focus_scope, shown
            )
            if error is not None:
                self._store_trouble(error, "aggregating the records in memory only")
            over = match_count if everything else len(shown)
        table = self.query_one("#flows-agg-table", RecordTable)
        cells = [
            [
                display_safe(row.label or row.key),
                f"{row.flows:,}",
                f"{row.packets:,}",
                human_bytes(row.bytes, compact=True),
                f"{row.rejects:,}" + (" ✗" if row.rejects else ""),
                f"{row.accepts:,}",
            ]
            for row in rows
        ]
        table.set_rows(
            cells,
            row_key=lambda i: str(rows[i].key),
            row_style=lambda i: "error" if rows[i].rejects else None,
            keep_cursor=False,
        )
        scope = "filtered" if self.filter is not None and not self.filter.is_empty else "loaded"
        if self.showing_remote:
            scope = "Logs Insights"
        position = f"{AGGREGATIONS.index(kind) + 1}/{len(AGGREGATIONS)}"
        caption = Text()
        caption.append(f"{AGG_TITLES.get(kind, kind)}", style="bold")
        caption.append(f" ({position}) over {over:,} {scope} records · a: next · esc")
        self.query_one("#flows-agg-caption", Static).update(caption)

    # -- pairs ----------------------------------------------------------------------------------

    @work(exclusive=True, group="flows-pairs", exit_on_error=False, description="flows-pairs")
    async def compute_pairs(self) -> None:
        """Pair forward and return legs over every loaded record (in a thread when many).

        With a store, the legs come from it: every record of the conversations that have a
        REJECTed leg, not only those still in memory.
        """
        remote = self.remote if self.showing_remote else None
        if remote is not None:
            records = list(remote.records)
        else:
            records, error = await self.evidence.pair_records()
            if error is not None:
                self._store_trouble(error, "pairing the records in memory only")
        eni_az = self._eni_az_cached()
        if len(records) > THREAD_THRESHOLD:
            groups = await asyncio.to_thread(group_pairs, records, eni_az)
        else:
            groups = group_pairs(records, eni_az)
        self.pairs = groups
        table = self.query_one("#flows-pairs-table", RecordTable)
        cells = [pair_cells(g) for g in groups]
        table.set_rows(
            cells,
            row_key=lambda i: id(groups[i].sample),
            row_style=lambda i: "error" if groups[i].sample.cross_az else "warn",
            keep_cursor=False,
        )
        total = sum(g.count for g in groups)
        caption = Text()
        caption.append(f"{total:,} conversations ACCEPT→ REJECT←", style="bold")
        caption.append(f" · {PAIR_HINT}")
        self.query_one("#flows-pairs-caption", Static).update(caption)
        self._show_pair_detail()

    def _show_pair_detail(self) -> None:
        detail = self.query_one("#flows-pair-detail", Static)
        group = self._current_pair()
        if group is None:
            detail.update(Text("Load more of the window, or widen it, to find pairs."))
            return
        detail.update(pair_detail(group, self.topology, compact=self.size.width < 100))


__all__ = ["FlowsPane"]
