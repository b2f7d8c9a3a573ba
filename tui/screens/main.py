"""The main screen: header, the three evidence panes, status line and footer.

It holds the shared view state (time window, focused resource, time cursor, UTC or local clock)
as reactives and binds them into the panes, so that evidence lines up: selecting an event, a flow
record or a datapoint posts a ``TimeCursorMoved`` that sets the cursor (debounced, so scrolling is
cheap); the other panes mark it and jump to the nearest record; ``esc`` clears it. ``T`` toggles
UTC and local time, ``w`` asks for the window, ``ctrl+s`` saves the incident bundle.

With ``hamari --replay FILE`` the screen is fed from a bundle instead: no AWS is opened, the poll
loops never start, and each pane's ``load_snapshot`` shows what was saved. At 120x36 and larger the three panes are visible together;
on a smaller terminal (80x24) one pane is shown at a time, switched with 1/2/3 or tab. Any pane can
be zoomed with z.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.events import Resize
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from tui.aws.errors import HamariError
from tui.aws.session import Aws, AwsEvent, Identity
from tui.evidence.flows import FlowEvidence
from tui.evidence.metrics import MetricsEvidence
from tui.evidence.trail import TrailEvidence
from tui.host import host
from tui.models.bundle import Bundle
from tui.models.findings import (
    Evidence,
    Finding,
    TrailMemo,
    compute_findings,
    explain_rejections,
)
from tui.models.flowlog import one_sided_conversations
from tui.models.timewindow import TimeWindow, local_zone, window_label
from tui.panes.base import Pane
from tui.panes.flows import FlowsPane
from tui.panes.metrics import MetricsPane
from tui.panes.trail import TrailPane
from tui.screens.chrome import HeaderBar, StatusLine
from tui.screens.findings import FindingsScreen
from tui.screens.findings_strip import FindingsStrip
from widgets.keybar import KeyBar

# Below this size the panes are shown one at a time.
WIDE_MIN_COLUMNS = 110
WIDE_MIN_ROWS = 30
# Below this size nothing useful fits: say so instead of drawing a broken layout.
MIN_COLUMNS = 60
MIN_ROWS = 15
PANE_IDS = ("trail", "metrics", "flows")
# Findings are recomputed at most this often (seconds), and instances re-described this often.
FINDINGS_DEBOUNCE = 2.0
INSTANCES_EVERY = 180.0
# The shared time cursor follows a moving selection after it rests this long (seconds).
CURSOR_DEBOUNCE = 0.15
# W fits the window to the data with this much room on each side.
FIT_MARGIN = timedelta(minutes=1)


class TextPrompt(ModalScreen[str | None]):
    """One line of input with a sentence above it: enter answers, esc cancels.

    ``check`` returns an error sentence for an answer it refuses (shown, the prompt stays).
    """

    CSS_PATH = "text_prompt.tcss"
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="prompt.cancel")]

    def __init__(self, question: str, value: str = "", check: Any = None) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question), markup=False)
            yield Input(self.value, id="prompt-input")
            yield Static("", classes="prompt-error", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if not value:
            self.dismiss(None)
            return
        error = self.check(value) if self.check is not None else None
        if error:
            self.query_one(".prompt-error", Static).update(Text(error))
            return
        self.dismiss(value)


@dataclass
class _FlowAnalysis:
    """One-sided conversations and their NACL explanations, kept until the flows change."""

    key: tuple[int, int, int] = (-1, -1, -1)
    conversations: list[Any] = field(default_factory=list)
    explanations: dict[Any, Any] = field(default_factory=dict)


class MainScreen(Screen[None]):
    """Three panes sharing one time window and one focused resource."""

    BINDINGS = [
        Binding("1", "show_pane('trail')", "Trail", id="pane.trail", tooltip="CloudTrail events"),
        Binding("2", "show_pane('metrics')", "Metrics", id="pane.metrics", tooltip="CloudWatch"),
        Binding("3", "show_pane('flows')", "Flows", id="pane.flows", tooltip="VPC flow logs"),
        Binding("tab", "cycle_pane(1)", "Next pane", id="pane.next", show=False),
        Binding("shift+tab", "cycle_pane(-1)", "Prev pane", id="pane.prev", show=False),
        Binding("z", "zoom", "Zoom", id="pane.zoom", tooltip="Show only this pane"),
        Binding("r", "reload", "Reload", id="pane.reload", tooltip="Refresh the active pane now"),
        Binding(
            "exclamation_mark",
            "findings",
            "Findings",
            key_display="!",
            id="findings.open",
            tooltip="What the evidence says, and where",
        ),
        Binding("w", "ask_window", "Window", id="time.window", tooltip="15m, 2h or ISO..ISO"),
        Binding(
            "W",
            "fit_window",
            "Fit window",
            show=False,
            id="time.fit",
            tooltip="Fit the window to the data local files hold",
        ),
        Binding(
            "U",
            "unfocus",
            "Unfocus",
            show=False,
            id="focus.clear",
            tooltip="Clear the focus on one resource",
        ),
        Binding("T", "toggle_utc", "UTC/local", id="time.utc", tooltip="Times in UTC or local"),
        Binding(
            "escape",
            "clear_cursor",
            "Clear ⌖",
            show=False,
            id="time.cursor_clear",
            tooltip="Clear the time cursor",
        ),
        Binding(
            "ctrl+s",
            "save_bundle",
            "Save",
            id="bundle.save",
            tooltip="Save an incident bundle (hamari --replay FILE)",
        ),
    ]

    window: reactive[TimeWindow] = reactive(None, init=False)  # type: ignore[arg-type]
    focused_resource: reactive[str | None] = reactive(None, init=False)
    time_cursor: reactive[datetime | None] = reactive(None, init=False)
    utc: reactive[bool] = reactive(True, init=False)
    active_pane: reactive[str] = reactive("trail", init=False)
    zoomed: reactive[bool] = reactive(False, init=False)

    def __init__(self, window: TimeWindow) -> None:
        super().__init__()
        self.set_reactive(MainScreen.window, window)
        self.aws: Aws | None = None
        self.findings: tuple[Finding, ...] | None = None
        self.findings_at: datetime | None = None
        self.instances: list[Any] = []
        self.key_aliases: dict[str, str] = {}
        """KMS key ID -> alias, so findings name keys as people know them."""
        self._findings_dirty = False
        self._findings_next = 0.0
        self._flow_analysis = _FlowAnalysis()
        self._trail_memo = TrailMemo()  # the CloudTrail findings while its events stay the same
        self._pending_cursor: datetime | None = None
        self._cursor_timer: Timer | None = None
        self.replay_bundle: Bundle | None = None
        # The evidence the panes fill and show a part of; findings and bundles read all of it.
        self.flow_evidence = FlowEvidence()
        self.trail_evidence = TrailEvidence()
        self.metrics_evidence = MetricsEvidence()

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header").data_bind(
            MainScreen.window,
            MainScreen.focused_resource,
            MainScreen.time_cursor,
            MainScreen.utc,
        )
        yield FindingsStrip(id="findings-strip")
        with Container(id="panes"):
            shared = (
                MainScreen.window,
                MainScreen.focused_resource,
                MainScreen.time_cursor,
                MainScreen.utc,
            )
            yield TrailPane(evidence=self.trail_evidence, id="trail", classes="-active").data_bind(
                *shared
            )
            yield MetricsPane(evidence=self.metrics_evidence, id="metrics").data_bind(*shared)
            yield FlowsPane(evidence=self.flow_evidence, id="flows").data_bind(*shared)
        yield Static(
            f"Terminal too small: hamari needs at least {MIN_COLUMNS}x{MIN_ROWS}. Enlarge the window "
            "or the tmux pane (prefix z zooms it).",
            id="too-small",
            markup=False,
        )
        yield StatusLine(id="status")
        yield KeyBar()

    def on_mount(self) -> None:
        self._apply_layout(self.size.width, self.size.height)
        self.set_interval(0.5, self._maybe_recompute_findings)

    @property
    def panes(self) -> list[Pane]:
        return list(self.query(Pane))

    # -- wiring from the app -------------------------------------------------------------------

    def connected(self, aws: Aws, identity: Identity | None) -> None:
        """AWS is open (or offline, ``identity`` None): show who we are, route AWS events."""
        self.aws = aws
        header = self.query_one(HeaderBar)
        header.connection = aws.conn
        header.identity = identity
        header.identity_unknown = aws.identity_error is not None
        header.offline = aws.offline
        header.aws_region = aws.region
        status = self.query_one(StatusLine)
        status.meter = aws.meter
        aws.listeners.append(self._on_aws_event)
        if aws.clock_offset is not None and abs(aws.clock_offset) > 60:
            status.flash(
                f"⚠ the bastion's clock is {aws.clock_offset:+.0f} s off AWS; sync it (chronyc makestep)",
                seconds=30,
            )

    def _on_aws_event(self, event: AwsEvent) -> None:
        self.query_one(StatusLine).on_aws_event(event)

    def start_panes(self) -> None:
        if self.aws is None:
            return
        settings = host(self).settings
        refresh = settings.demo_refresh_seconds if settings.demo else settings.refresh_seconds
        for pane in self.panes:
            pane.start(
                self.aws,
                refresh_seconds=refresh,
                idle_pause_seconds=settings.idle_pause_minutes * 60,
            )
        if not self.aws.offline:
            self._poll_instances()

    # -- replay ----------------------------------------------------------------------------------

    def replay(self, bundle: Bundle, path: str) -> None:
        """Show a saved bundle: no AWS, no poll loop; each pane loads its part of the bundle."""
        self.replay_bundle = bundle
        header = self.query_one(HeaderBar)
        header.replay = f"{Path(path).name} (saved {bundle.saved_at:%Y-%m-%d %H:%M} UTC)"
        region = str(bundle.source.get("region") or "")
        header.aws_region = region
        self.query_one(StatusLine).flash(
            "replay: what was saved, offline; nothing is fetched", seconds=10, level="info"
        )
        self.utc = bundle.utc
        self.window = bundle.window
        self.focused_resource = bundle.focus
        self.instances = list(bundle.instances)
        self._feed_replay()
        if bundle.findings:
            self._show_findings(tuple(bundle.findings), self._flow_analysis)
        self.call_after_refresh(self._set_replay_cursor, bundle.time_cursor)

    def _set_replay_cursor(self, when: datetime | None) -> None:
        self.time_cursor = when

    def _feed_replay(self) -> None:
        """Give each pane the bundle's records that fall in the current window."""
        bundle = self.replay_bundle
        if bundle is None:
            return
        window = self.window
        events = [e for e in bundle.trail_events if window.contains(e.event_time)]
        lo, hi = window.start.timestamp(), window.end.timestamp()
        records = [r for r in bundle.flow_records if r.start is None or lo <= r.start <= hi]
        queries = bundle.queries
        self.query_one(TrailPane).load_snapshot(events, dict(queries.get("trail") or {}))
        self.query_one(FlowsPane).load_snapshot(
            records, bundle.topology, dict(queries.get("flows") or {})
        )
        self.query_one(MetricsPane).load_snapshot(bundle.metrics)
        self._findings_dirty = True

    def watch_window(self, old: TimeWindow | None, new: TimeWindow) -> None:
        if self.replay_bundle is not None and old is not None and old != new:
            self._feed_replay()

    # -- the shared time cursor, clock and window ----------------------------------------------

    @on(TrailPane.TimeCursorMoved)
    @on(MetricsPane.TimeCursorMoved)
    @on(FlowsPane.TimeCursorMoved)
    def _time_cursor_moved(self, message: Message) -> None:
        """A pane selected an instant: it becomes the shared cursor once the selection rests."""
        message.stop()
        self._pending_cursor = message.when  # type: ignore[attr-defined]
        if self._cursor_timer is not None:
            self._cursor_timer.stop()
        self._cursor_timer = self.set_timer(CURSOR_DEBOUNCE, self._apply_cursor)

    def _apply_cursor(self) -> None:
        self._cursor_timer = None
        self.time_cursor = self._pending_cursor

    def action_clear_cursor(self) -> None:
        """esc: clear the time cursor (nothing else to do with esc here)."""
        if self.time_cursor is None and self._cursor_timer is None:
            raise SkipAction()
        if self._cursor_timer is not None:
            self._cursor_timer.stop()
            self._cursor_timer = None
        self.time_cursor = None

    def action_toggle_utc(self) -> None:
        self.utc = not self.utc
        zone = "UTC" if self.utc else local_zone()
        self.query_one(StatusLine).flash(f"times in {zone}", seconds=3, level="info")

    @on(MetricsPane.WindowSelected)
    def _span_selected(self, message: MetricsPane.WindowSelected) -> None:
        message.stop()
        self.window = message.window

    def action_ask_window(self) -> None:
        """w: ask for the window (``15m``, ``2h``, ``ISO..ISO``)."""
        from tui.models.timewindow import TimeParseError, parse_window

        clock = host(self).clock

        def check(text: str) -> str | None:
            try:
                parse_window(text, clock())
            except TimeParseError as err:
                return str(err)
            return None

        def chosen(text: str | None) -> None:
            if text:
                self.window = parse_window(text, clock())

        current = window_label(self.window, utc=self.utc) if self.window else ""
        self.app.push_screen(
            TextPrompt(
                f"Time window for every pane (now {current}): 15m, 2h, 1d (live), or "
                "2026-11-28T09:00Z..2026-11-28T11:00Z (fixed). enter sets it, esc cancels.",
                check=check,
            ),
            chosen,
        )

    def action_fit_window(self) -> None:
        """W: set the window to the span of what local sources hold (a file of last year)."""
        spans = [p.data_span for p in self.panes if p.data_span is not None]
        if not spans:
            self.app.notify(
                "No local file was read: nothing to fit the window to (w sets it).",
                markup=False,
                timeout=4,
            )
            return
        start = min(s[0] for s in spans) - FIT_MARGIN
        end = max(s[1] for s in spans) + FIT_MARGIN
        self.window = TimeWindow(start, end, live=False)
        label = window_label(self.window, utc=self.utc)
        self.query_one(StatusLine).flash(f"window fitted to the data: {label}", level="info")

    def action_unfocus(self) -> None:
        """U: clear the focus on one resource (it may hide the evidence being shown)."""
        if self.focused_resource is None:
            self.app.notify("No resource is in focus.", markup=False, timeout=3)
            return
        self.focused_resource = None
        self.query_one(StatusLine).flash("focus cleared: the whole account", level="info")

    # -- the incident bundle -----------------------------------------------------------------------

    def build_bundle(self) -> Bundle:
        """What the panes hold now, as a bundle (references only: cheap on the event loop)."""
        from tui import __version__

        trail = self.query_one(TrailPane)
        flows = self.query_one(FlowsPane)
        metrics = self.metrics_evidence
        now = host(self).clock()
        window = self.window.at(now) if self.window.live else self.window
        if self.replay_bundle is not None:
            source = dict(self.replay_bundle.source)
        else:
            aws = self.aws
            ident = aws.identity if aws is not None else None
            source = {
                "account": ident.account if ident is not None else "",
                "principal": ident.arn if ident is not None else "",
                "region": aws.region if aws is not None else "",
                "demo": bool(aws is not None and aws.conn.demo),
                "endpoint_url": (aws.conn.endpoint_url or "") if aws is not None else "",
            }
        evidence = self.flow_evidence
        topology = evidence.topology
        from tui.models.network import Topology

        return Bundle(
            saved_at=now,
            window=window,
            focus=self.focused_resource,
            time_cursor=self.time_cursor,
            utc=self.utc,
            source=source,
            queries={
                "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
                "trail": trail.snapshot_queries(),
                "flows": flows.snapshot_queries(),
                "metrics": metrics.snapshot_queries(),
            },
            trail_events=tuple(self.trail_evidence.loaded_events),
            flow_records=tuple(evidence.loaded_records),
            topology=topology if isinstance(topology, Topology) else None,
            metrics=metrics.snapshot(),
            instances=tuple(self.instances),
            findings=tuple(self.findings or ()),
            hamari_version=__version__,
        )

    def action_save_bundle(self) -> None:
        """ctrl+s: ask where, then write the incident bundle (the only file hamari writes)."""
        now = host(self).clock()
        default = f"hamari-bundle-{now:%Y%m%dT%H%M%S}.json.gz"

        def chosen(path: str | None) -> None:
            if path:
                self.save_bundle(path)

        self.app.push_screen(
            TextPrompt(
                "Save an incident bundle: every loaded event, flow record and series, the "
                "findings, the window and the queries (gzip JSON, readable by you only). "
                "Path relative to the current folder; replay with hamari --replay FILE.",
                default,
            ),
            chosen,
        )

    def save_bundle(self, path: str) -> None:
        """Write the bundle to ``path`` (in a thread); notify where, or why not."""
        self._write_bundle(self.build_bundle(), path, self.trail_evidence)

    @work(
        exclusive=True,
        group="bundle-save",
        thread=True,
        exit_on_error=False,
        description="bundle-save",
    )
    def _write_bundle(self, bundle: Bundle, path: str, trail: TrailEvidence | None = None) -> None:
        from dataclasses import replace

        from tui.models.bundle import save

        if trail is not None:
            # Every loaded event, not only what the findings read (past the evidence's memory
            # threshold they live in its store and are read back here, off the event loop).
            bundle = replace(bundle, trail_events=tuple(trail.all_events()))

        try:
            target = save(path, bundle)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            self.app.call_from_thread(
                self.app.notify, f"Saving the bundle failed: {reason}", severity="error"
            )
            return
        counts = (
            f"{len(bundle.trail_events):,} events, {len(bundle.flow_records):,} flow records, "
            f"{len(bundle.metrics.series) if bundle.metrics else 0} series, "
            f"{len(bundle.findings)} findings"
        )
        self.app.call_from_thread(
            self.app.notify,
            f"Saved {counts} to {target.resolve()}. Replay it with: hamari --replay {target}",
            title="Incident bundle",
            timeout=10,
        )

    # -- layout --------------------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        self._apply_layout(event.size.width, event.size.height)

    def _apply_layout(self, width: int, height: int) -> None:
        too_small = width < MIN_COLUMNS or height < MIN_ROWS
        self.set_class(width < WIDE_MIN_COLUMNS or height < WIDE_MIN_ROWS, "-narrow")
        self.set_class(too_small, "-too-small")
        wide = width >= WIDE_MIN_COLUMNS and height >= WIDE_MIN_ROWS
        self.query_one(FindingsStrip).set_max_lines(2 if wide else 1)
        if not too_small:
            self.call_after_refresh(self._restore_focus)

    def _restore_focus(self) -> None:
        """Hiding the panes (a terminal too small) took the focus away: give it back to the
        active pane, or its keys (e, f, /) would do nothing until the user clicks it."""
        if self.app.screen is not self or self.has_class("-too-small") or not self.panes:
            return  # not composed yet, or already torn down (a start-up failure exits at once)
        focused = self.focused
        if focused is None or not focused.display or focused.region.area == 0:
            self._focus_pane(self.query_one(f"#{self.active_pane}", Pane))

    def watch_active_pane(self, old: str, new: str) -> None:
        for pane in self.panes:
            pane.set_class(pane.id == new, "-active")
        pane = self.query_one(f"#{new}", Pane)
        pane.wake()
        # Focus now: keys typed ahead (a slow link, a busy machine) arrive before the next
        # refresh and must reach the pane they were typed for. Again after the refresh, in case
        # the pane had nothing focusable yet.
        self._focus_pane(pane)
        self.call_after_refresh(self._focus_pane, pane, only_if_outside=True)

    def _focus_pane(self, pane: Pane, *, only_if_outside: bool = False) -> None:
        focused = self.focused
        if only_if_outside and focused is not None and pane in focused.ancestors_with_self:
            return
        for widget in pane.query("*"):
            if widget.focusable:
                self.set_focus(widget, scroll_visible=False)
                return

    def watch_zoomed(self, zoomed: bool) -> None:
        self.set_class(zoomed, "-zoomed")

    def action_show_pane(self, pane_id: str) -> None:
        self.active_pane = pane_id

    def action_cycle_pane(self, step: int) -> None:
        index = PANE_IDS.index(self.active_pane)
        self.active_pane = PANE_IDS[(index + step) % len(PANE_IDS)]

    def action_zoom(self) -> None:
        self.zoomed = not self.zoomed

    def action_reload(self) -> None:
        if self.aws is not None and self.aws.credentials_refused:
            self._renew_credentials()  # every pane waits for them, not only this one
            return
        self.query_one(f"#{self.active_pane}", Pane).wake()

    @work(exclusive=True, group="credentials", exit_on_error=False, description="credentials")
    async def _renew_credentials(self) -> None:
        """r after AWS refused the credentials: read them anew and let every pane ask again
        (what they loaded stays; a refusal is shown again, once, without a storm)."""
        if self.aws is None:
            return
        await self.aws.renew_credentials()
        self.query_one(StatusLine).flash(
            "asking AWS again with the credentials read anew…", seconds=5
        )
        for pane in self.panes:
            pane.credentials_renewed()

    # -- findings ------------------------------------------------------------------------------

    @on(TrailPane.DataChanged)
    @on(MetricsPane.DataChanged)
    @on(FlowsPane.DataChanged)
    def _pane_data_changed(self, message: Message) -> None:
        message.stop()
        self._findings_dirty = True
        if self.focused_resource and isinstance(message, FlowsPane.DataChanged):
            self._apply_focus()  # the topology may now know the focused resource's interfaces

    # -- resource focus ------------------------------------------------------------------------

    def watch_focused_resource(self, _old: str | None, _new: str | None) -> None:
        self._apply_focus()

    def _apply_focus(self) -> None:
        """Scope the trail and flow panes to the focused resource and what belongs to it."""
        if not self.is_mounted:
            return
        from tui.models.focus import scope_for
        from tui.models.network import Topology

        resource = self.focused_resource
        known = self.flow_evidence.topology
        topology = known if isinstance(known, Topology) else None
        scope = scope_for(resource, self.instances, topology) if resource else None
        self.query_one(TrailPane).set_focus_scope(scope)
        self.query_one(FlowsPane).set_focus_scope(scope)

    def _maybe_recompute_findings(self) -> None:
        """Debounce: recompute when a pane reported new data, at most every 2 s."""
        if not self._findings_dirty or time.monotonic() < self._findings_next:
            return
        self._findings_dirty = False
        self._findings_next = time.monotonic() + FINDINGS_DEBOUNCE
        metrics = self.metrics_evidence  # the sweep, whatever target the metrics pane shows
        flows = self.flow_evidence  # everything loaded, not what the flow pane shows
        self._compute_findings(
            self.trail_evidence.loaded_events,  # whatever the trail pane's filter or focus hides
            list(self.instances),
            metrics.assessment,
            metrics.target_id,
            flows.findings_records,
            flows.topology,
            metrics.fleet,
            self.trail_evidence.bucket_totals,
            self.trail_evidence.findings_key,
        )

    @work(
        exclusive=True, group="findings", thread=True, exit_on_error=False, description="findings"
    )
    def _compute_findings(
        self,
        events: list[Any],
        instances: list[Any],
        assessment: Any,
        target: str,
        records: list[Any],
        topology: Any,
        fleet: Any = None,
        trail_totals: dict[int, int] | None = None,
        trail_key: object = None,
    ) -> None:
        """Pure functions over snapshots of what the panes hold, off the event loop."""
        flows = self._flow_analysis
        key = (len(records), (records[-1].start or 0) if records else 0, id(topology))
        if key != flows.key:
            eni_az = topology.eni_az() if topology is not None else {}
            conversations = one_sided_conversations(records, eni_az)
            flows = _FlowAnalysis(
                key, conversations, explain_rejections(conversations, records, topology)
            )
        findings = compute_findings(
            events=events,
            instances=instances,
            assessment=assessment,
            metrics_target=target,
            fleet=fleet,
            conversations=flows.conversations,
            explanations=flows.explanations,
            topology=topology,
            key_aliases=self.key_aliases,
            trail_totals=trail_totals,
            trail_key=trail_key,
            memo=self._trail_memo,
        )
        if get_current_worker().is_cancelled:
            return
        self.app.call_from_thread(self._show_findings, tuple(findings), flows)

    def _show_findings(self, findings: tuple[Finding, ...], flows: _FlowAnalysis) -> None:
        self._flow_analysis = flows
        self.findings = findings
        self.findings_at = host(self).clock()
        strip = self.query_one(FindingsStrip)
        strip.computing = not all(p.has_data() for p in self.panes)
        strip.findings = findings

    @work(
        exclusive=True,
        group="findings-instances",
        exit_on_error=False,
        description="findings-instances",
    )
    async def _poll_instances(self) -> None:
        """Describe the region's instances for their state reasons, now and every few minutes."""
        from tui.aws.inventory import describe_instances, load_key_aliases

        while self.aws is not None:
            try:
                self.instances = await describe_instances(self.aws)
                self._findings_dirty = True
                # Without kms:ListAliases keys are named by their ID: still the same finding.
                with contextlib.suppress(HamariError):
                    self.key_aliases = await load_key_aliases(self.aws)
                if self.focused_resource:
                    self._apply_focus()
            except HamariError as err:
                self.query_one(StatusLine).flash(
                    f"⚠ findings: instance states unavailable ({err.title})", seconds=10
                )
            await asyncio.sleep(INSTANCES_EVERY)

    @on(FindingsStrip.Clicked)
    def _strip_clicked(self, message: FindingsStrip.Clicked) -> None:
        message.stop()
        self.action_findings()

    def action_findings(self) -> None:
        """Open the findings list; enter there shows the chosen evidence in its pane."""
        self.app.push_screen(
            FindingsScreen(self.findings or (), self.findings_at), self.show_evidence
        )

    def show_evidence(self, evidence: Evidence | None) -> None:
        """Switch to the evidence's pane and ask it to show the evidence."""
        if evidence is None:
            return
        self.active_pane = evidence.pane
        pane = self.query_one(f"#{evidence.pane}", Pane)
        show = getattr(pane, "show_evidence", None)
        if show is not None:
            self.call_after_refresh(show, evidence)
