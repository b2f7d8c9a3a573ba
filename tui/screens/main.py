"""The main screen: header, the three evidence panes, status line and footer.

It holds the shared view state (time window, focused resource) as reactives and binds them into
the panes, so that evidence lines up. At 120x36 and larger the three panes are visible together;
on a smaller terminal (80x24) one pane is shown at a time, switched with 1/2/3 or tab. Any pane can
be zoomed with z.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.events import Resize
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from tui.aws.errors import HamariError
from tui.aws.session import Aws, AwsEvent, Identity
from tui.models.findings import Evidence, Finding, compute_findings, explain_rejections
from tui.models.flowlog import one_sided_conversations
from tui.models.timewindow import TimeWindow
from tui.panes.base import Pane
from tui.panes.flows import FlowsPane
from tui.panes.metrics import MetricsPane
from tui.panes.trail import TrailPane
from tui.screens.chrome import HeaderBar, StatusLine
from tui.screens.findings import FindingsScreen
from tui.screens.findings_strip import FindingsStrip

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
        self._findings_dirty = False
        self._findings_next = 0.0
        self._flow_analysis = _FlowAnalysis()

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header").data_bind(MainScreen.window, MainScreen.focused_resource)
        yield FindingsStrip(id="findings-strip")
        with Container(id="panes"):
            shared = (
                MainScreen.window,
                MainScreen.focused_resource,
                MainScreen.time_cursor,
                MainScreen.utc,
            )
            yield TrailPane(id="trail", classes="-active").data_bind(*shared)
            yield MetricsPane(id="metrics").data_bind(*shared)
            yield FlowsPane(id="flows").data_bind(*shared)
        yield Static(
            f"Terminal too small: hamari needs at least {MIN_COLUMNS}x{MIN_ROWS}. Enlarge the window "
            "or the tmux pane (prefix z zooms it).",
            id="too-small",
            markup=False,
        )
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self._apply_layout(self.size.width, self.size.height)
        self.set_interval(0.5, self._maybe_recompute_findings)

    @property
    def panes(self) -> list[Pane]:
        return list(self.query(Pane))

    # -- wiring from the app -------------------------------------------------------------------

    def connected(self, aws: Aws, identity: Identity) -> None:
        """AWS is open: show who we are and route AWS events to the status line."""
        self.aws = aws
        header = self.query_one(HeaderBar)
        header.connection = aws.conn
        header.identity = identity
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
        settings = self.app.settings  # type: ignore[attr-defined]
        refresh = settings.demo_refresh_seconds if settings.demo else settings.refresh_seconds
        for pane in self.panes:
            pane.start(
                self.aws,
                refresh_seconds=refresh,
                idle_pause_seconds=settings.idle_pause_minutes * 60,
            )
        self._poll_instances()

    # -- layout --------------------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        self._apply_layout(event.size.width, event.size.height)

    def _apply_layout(self, width: int, height: int) -> None:
        self.set_class(width < WIDE_MIN_COLUMNS or height < WIDE_MIN_ROWS, "-narrow")
        self.set_class(width < MIN_COLUMNS or height < MIN_ROWS, "-too-small")
        wide = width >= WIDE_MIN_COLUMNS and height >= WIDE_MIN_ROWS
        self.query_one(FindingsStrip).set_max_lines(2 if wide else 1)

    def watch_active_pane(self, old: str, new: str) -> None:
        for pane in self.panes:
            pane.set_class(pane.id == new, "-active")
        pane = self.query_one(f"#{new}", Pane)
        pane.wake()
        self.call_after_refresh(self._focus_pane, pane)

    def _focus_pane(self, pane: Pane) -> None:
        for widget in pane.query("*"):
            if widget.focusable:
                widget.focus()
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
        self.query_one(f"#{self.active_pane}", Pane).wake()

    # -- findings ------------------------------------------------------------------------------

    @on(TrailPane.DataChanged)
    @on(MetricsPane.DataChanged)
    @on(FlowsPane.DataChanged)
    def _pane_data_changed(self, message: Message) -> None:
        message.stop()
        self._findings_dirty = True

    def _maybe_recompute_findings(self) -> None:
        """Debounce: recompute when a pane reported new data, at most every 2 s."""
        if not self._findings_dirty or time.monotonic() < self._findings_next:
            return
        self._findings_dirty = False
        self._findings_next = time.monotonic() + FINDINGS_DEBOUNCE
        trail = self.query_one(TrailPane)
        metrics = self.query_one(MetricsPane)
        flows = self.query_one(FlowsPane)
        self._compute_findings(
            trail.loaded_events,
            list(self.instances),
            metrics.assessment,
            metrics.target_id,
            flows.loaded_records,
            flows.topology,
        )

    @work(exclusive=True, group="findings", thread=True, exit_on_error=False)
    def _compute_findings(
        self,
        events: list[Any],
        instances: list[Any],
        assessment: Any,
        target: str,
        records: list[Any],
        topology: Any,
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
            conversations=flows.conversations,
            explanations=flows.explanations,
            topology=topology,
        )
        if get_current_worker().is_cancelled:
            return
        self.app.call_from_thread(self._show_findings, tuple(findings), flows)

    def _show_findings(self, findings: tuple[Finding, ...], flows: _FlowAnalysis) -> None:
        self._flow_analysis = flows
        self.findings = findings
        clock = getattr(self.app, "clock", None)
        self.findings_at = clock() if clock is not None else None
        strip = self.query_one(FindingsStrip)
        strip.computing = not all(p.has_data() for p in self.panes)
        strip.findings = findings

    @work(exclusive=True, group="findings-instances", exit_on_error=False)
    async def _poll_instances(self) -> None:
        """Describe the region's instances for their state reasons, now and every few minutes."""
        from tui.aws.inventory import describe_instances

        while self.aws is not None:
            try:
                self.instances = await describe_instances(self.aws)
                self._findings_dirty = True
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
