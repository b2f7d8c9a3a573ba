"""The header (who, where, when) and the status line (flash messages and the cost meter)."""

from __future__ import annotations

import time

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.aws.session import AwsEvent, Connection, Identity, Meter
from tui.models.text import display_safe
from tui.models.timewindow import TimeWindow


class HeaderBar(Static):
    """Account, principal, region, time window and endpoint; the demo clearly marked."""

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

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("hamari", style="bold")
        conn = self.connection
        if conn is not None and conn.demo:
            text.append(" ")
            text.append(" DEMO ", style="bold reverse")
        ident = self.identity
        if ident is None:
            text.append("  connecting…")
        else:
            text.append(f"  {display_safe(ident.account)}")
            text.append(f"  {display_safe(ident.principal)}", style="bold")
        if self.aws_region:
            text.append(f"  {display_safe(self.aws_region)}")
        if self.logs is not None:
            text.append("  ")
            text.append_text(self.logs_badge(*self.logs))
        if self.window is not None:
            text.append(f"  ⏱ {self.window.label()}")
        if self.focused_resource:
            text.append(f"  ◎ {display_safe(self.focused_resource)}", style="bold")
        if conn is not None and conn.endpoint_url and not conn.demo:
            # A custom endpoint (VPC endpoint, LocalStack) is worth seeing; the demo's loopback
            # port is not (the DEMO badge already says where requests go).
            text.append(f"  {display_safe(conn.endpoint_url)}", style="dim")
        return text

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
    """k9s-style flash: transient trouble (throttled, offline) and the request meter."""

    DEFAULT_CSS = """
    StatusLine { height: 1; color: $text-muted; padding: 0 1; }
    StatusLine.-warning { color: $warning; }
    StatusLine.-error { color: $error; }
    """

    def __init__(self, meter: Meter | None = None, **kwargs: object) -> None:
        super().__init__("", markup=False, **kwargs)  # type: ignore[arg-type]
        self.meter = meter
        self._flash: str = ""
        self._flash_until = 0.0

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh)

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

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
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
