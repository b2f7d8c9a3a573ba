"""The main screen: header, the three evidence panes, status line and footer.

It holds the shared view state (time window, focused resource) as reactives and binds them into
the panes, so that evidence lines up. At 120x36 and larger the three panes are visible together;
on a smaller terminal (80x24) one pane is shown at a time, switched with 1/2/3 or tab. Any pane can
be zoomed with z.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.events import Resize
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.aws.session import Aws, AwsEvent, Identity
from tui.models.timewindow import TimeWindow
from tui.panes.base import Pane
from tui.panes.flows import FlowsPane
from tui.panes.metrics import MetricsPane
from tui.panes.trail import TrailPane
from tui.screens.chrome import HeaderBar, StatusLine

# Below this size the panes are shown one at a time.
WIDE_MIN_COLUMNS = 110
WIDE_MIN_ROWS = 30
# Below this size nothing useful fits: say so instead of drawing a broken layout.
MIN_COLUMNS = 60
MIN_ROWS = 15
PANE_IDS = ("trail", "metrics", "flows")


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
    ]

    window: reactive[TimeWindow] = reactive(None, init=False)  # type: ignore[arg-type]
    focused_resource: reactive[str | None] = reactive(None, init=False)
    active_pane: reactive[str] = reactive("trail", init=False)
    zoomed: reactive[bool] = reactive(False, init=False)

    def __init__(self, window: TimeWindow) -> None:
        super().__init__()
        self.set_reactive(MainScreen.window, window)
        self.aws: Aws | None = None

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header").data_bind(MainScreen.window, MainScreen.focused_resource)
        with Container(id="panes"):
            yield TrailPane(id="trail", classes="-active").data_bind(
                MainScreen.window, MainScreen.focused_resource
            )
            yield MetricsPane(id="metrics").data_bind(
                MainScreen.window, MainScreen.focused_resource
            )
            yield FlowsPane(id="flows").data_bind(MainScreen.window, MainScreen.focused_resource)
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
        refresh = 5.0 if settings.demo else settings.refresh_seconds
        for pane in self.panes:
            pane.start(
                self.aws,
                refresh_seconds=refresh,
                idle_pause_seconds=settings.idle_pause_minutes * 60,
            )

    # -- layout --------------------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        self._apply_layout(event.size.width, event.size.height)

    def _apply_layout(self, width: int, height: int) -> None:
        self.set_class(width < WIDE_MIN_COLUMNS or height < WIDE_MIN_ROWS, "-narrow")
        self.set_class(width < MIN_COLUMNS or height < MIN_ROWS, "-too-small")

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
