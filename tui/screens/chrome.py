"""The header (who, where, when) and the status line (flash messages and the cost meter)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.aws.session import AwsEvent, Connection, Identity, Meter
from tui.host import host
from tui.models.budget import METRICS_REQUESTED
from tui.models.text import display_safe
from tui.models.timewindow import TimeWindow, local_zone, window_label


class HeaderBar(Static):
    """Account, principal, region, time window, time cursor and endpoint; demo and replay marked.

    When everything does not fit (80 columns), the least useful parts go first: the endpoint,
    the account, the principal, the region; the window, the time cursor and the focus stay.
    """

    DEFAULT_CSS = """
    HeaderBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    identity: reactive[Identity | None] = reactive(None)
    connection: reactive[Connection | None] = reactive(None)
    window: reactive[TimeWindow | None] = reactive(None)
    aws_region: reactive[str] = reactive("")
    focused_resource: reactive[str | None] = reactive(None)
    logs: reactive[tuple[str, int] | None] = reactive(None)
    """The "are logs written?" badge: (status, count not ok), set by the health monitor."""
    time_cursor: reactive[datetime | None] = reactive(None)
    """The shared time cursor, shown as ``⌖ 10:34:21``."""
    utc: reactive[bool] = reactive(True)
    """Times in UTC, or in the local zone (``TZ``)."""
    replay: reactive[str | None] = reactive(None)
    identity_unknown: reactive[bool] = reactive(False)
    """Connected, but sts:GetCallerIdentity was refused: no account or principal to show."""
    offline: reactive[bool] = reactive(False)
    """Not connected to AWS: local files only (``hamari --trail-source ./dir`` without keys)."""
    """``<file> (saved <time>)`` in replay mode: no AWS is open."""

    def render(self) -> Text:
        # (keep priority: higher stays longer, the gap before it, text)
        parts: list[tuple[int, str, Text]] = []

        def add(priority: int, text: str | Text, style: str = "", gap: str = "  ") -> None:
            parts.append(
                (priority, gap, text if isinstance(text, Text) else Text(text, style=style))
            )

        add(9, Text("hamari", style="bold"))
        conn = self.connection
        if self.replay is not None:
            add(9, Text(" REPLAY ", style="bold reverse"), gap=" ")
            add(8, display_safe(self.replay))
        elif conn is not None and conn.demo:
            add(9, Text(" DEMO ", style="bold reverse"), gap=" ")
        ident = self.identity
        if self.replay is not None:
            pass
        elif ident is None and self.offline:
            add(9, Text("offline: local files", style="bold"))
        elif ident is None and self.identity_unknown:
            add(5, Text("account ? (sts:GetCallerIdentity refused)", style="yellow"))
        elif ident is None:
            add(5, "connecting…")
        else:
            add(2, display_safe(ident.account))
            add(3, display_safe(ident.principal), "bold")
        if self.aws_region:
            add(4, display_safe(self.aws_region))
        if self.logs is not None:
            add(5, self.logs_badge(*self.logs))
        if self.window is not None:
            add(8, f"⏱ {window_label(self.window, utc=self.utc)}")
        if self.time_cursor is not None:
            add(9, Text(f"⌖ {self.clock(self.time_cursor, utc=self.utc)}", style="bold"))
        if not self.utc:
            add(7, Text(local_zone(), style="bold"))
        if self.focused_resource:
            add(8, Text(f"◎ {display_safe(self.focused_resource)}", style="bold"))
        if conn is not None and conn.endpoint_url and not conn.demo and self.replay is None:
            # A custom endpoint (VPC endpoint, LocalStack) is worth seeing; the demo's loopback
            # port is not (the DEMO badge already says where requests go).
            add(1, display_safe(conn.endpoint_url), "dim")
        room = self.content_region.width if self.is_mounted else 0
        if room > 0:
            while len(parts) > 1 and _joined_len(parts) > room:
                lowest = min(range(len(parts)), key=lambda i: (parts[i][0], -i))
                if parts[lowest][0] >= 8:
                    break
                del parts[lowest]
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (_, gap, part) in enumerate(parts):
            if i:
                text.append(gap)
            text.append_text(part)
        return text

    @staticmethod
    def clock(when: datetime, *, utc: bool) -> str:
        """``10:34:21`` in UTC or in the local zone."""
        return (when.astimezone(UTC) if utc else when.astimezone()).strftime("%H:%M:%S")

    @staticmethod
    def logs_badge(status: str, count: int) -> Text:
        """``logs ✓`` / ``logs ▲ 2`` / ``logs ✗`` / ``logs ?``."""
        if status == "ok":
            return Text("logs ✓", style="green")
        if status == "warn":
            return Text(f"logs ▲ {count}", style="bold yellow")
        if status == "missing":
            return Text("logs ✗", style="bold red")
        return Text("logs ?", style="dim")


class StatusLine(Static):
    """k9s-style flash: transient trouble (throttled, offline), why polling is paused (over
    budget, idle) and the request meter.

    The app provides ``budget`` (:class:`~tui.models.budget.Budget`), ``settings`` and
    ``last_input_at``; without them (a bare test app) the line shows the flash and meter only.
    """

    DEFAULT_CSS = """
    StatusLine { height: 1; color: $text-muted; padding: 0 1; }
    StatusLine.-warning { color: $warning; }
    StatusLine.-error { color: $error; }
    StatusLine.-paused { color: $warning; }
    """

    def __init__(self, meter: Meter | None = None, **kwargs: object) -> None:
        super().__init__("", markup=False, **kwargs)  # type: ignore[arg-type]
        self.meter = meter
        self._flash: str = ""
        self._flash_until = 0.0
        self._shown: tuple[str, tuple[str, ...]] | None = None

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """Once a second (a flash ending, the idle pause, counts): repaint only on a change, as
        every repaint is sent to the terminal, over what may be a slow SSH link."""
        shown = (self.render().plain, tuple(sorted(self.classes)))
        if shown != self._shown:
            self._shown = shown
            self.refresh()

    def flash(self, message: str, *, seconds: float = 8.0, level: str = "warning") -> None:
        self._flash = display_safe(message)
        self._flash_until = time.monotonic() + seconds
        self.set_class(level == "warning", "-warning")
        self.set_class(level == "error", "-error")
        self.refresh()

    def on_aws_event(self, event: AwsEvent) -> None:
        if event.kind == "throttled":
            self.flash(
                f"⚠ {event.service}:{event.operation} throttled, retrying in {event.retry_in:.1f}s"
            )
        elif event.kind == "retrying":
            self.flash(
                f"⚠ {event.service}:{event.operation}: {event.message} retrying in {event.retry_in:.1f}s"
            )
        elif event.kind == "recovered":
            self.flash(f"✓ {event.service}:{event.operation} recovered", level="info", seconds=3)

    def paused_text(self) -> str:
        """Why polling is paused (over budget, idle), or ``""`` while it runs."""
        if self.meter is None:
            return ""  # not connected: nothing polls yet
        app = host(self)
        status = app.budget.check(
            time.monotonic(),
            self.meter.total_requests,
            self.meter.quantities.get(METRICS_REQUESTED, 0),
        )
        if status.paused:
            message = status.message()
            if 0 < self.content_size.width < len(message):
                message = status.message(compact=True)
            return message
        limit = app.settings.idle_pause_minutes * 60
        if time.monotonic() - app.last_input_at > limit:
            span = f"{limit / 60:g} min" if limit >= 60 else f"{limit:.0f} s"
            return f"⏸ idle for {span}: polling paused, any key resumes"
        return ""

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        paused = self.paused_text()
        self.set_class(bool(paused), "-paused")
        if paused:
            text.append(paused, style="bold")
            text.append("  ")
        if self._flash and time.monotonic() < self._flash_until:
            text.append(self._flash)
            text.append("  ")
        else:
            self.set_class(False, "-warning")
            self.set_class(False, "-error")
        if self.meter is not None:
            text.append(f"requests {self.meter.total_requests}", style="dim")
            metrics = self.meter.quantities.get("metrics_requested", 0)
            if metrics:
                text.append(f" · metrics {metrics}", style="dim")
            throttles = sum(self.meter.throttles.values())
            if throttles:
                text.append(f" · throttled {throttles}", style="dim")
        return text


def _joined_len(parts: list[tuple[int, str, Text]]) -> int:
    return sum(len(gap) + text.cell_len for _, gap, text in parts) - len(parts[0][1])
