"""``:health``: are logs written? And the monitor that keeps the header's ``logs`` badge current.

Each check is a block: the status symbol (✓ ok, ▲ warn, ✗ missing, ? unknown) and name, what was
found, what you cannot see without it, and the AWS CLI command that enables it. hamari never runs
that command: it changes the account, and hamari is read-only. The monitor re-checks every five
minutes in a worker (never blocking the UI) and sets :attr:`HeaderBar.logs`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from tui.aws.errors import HamariError
from tui.host import host
from tui.models.health import HealthCheck, HealthReport
from tui.models.text import display_safe
from tui.screens.chrome import HeaderBar
from widgets.columns import label_grid
from widgets.keybar import KeyBar

REFRESH_SECONDS = 300.0
STATUS_STYLE = {"ok": "green", "warn": "bold yellow", "missing": "bold red", "unknown": "dim"}


def check_text(check: HealthCheck) -> Group:
    """One check as display-safe text (never markup): the status and name, then what was found,
    what is lost without it and the fix, each wrapping under its own start at 80 columns
    instead of running back to the border."""
    title = Text()
    title.append(f"{check.symbol} ", style=STATUS_STYLE[check.status])
    title.append(display_safe(check.name), style="bold")
    rows: list[tuple[Text, Text]] = []
    if check.status != "ok" and check.cost_of_missing:
        rows.append(
            (
                Text("without it:", style="dim"),
                Text(display_safe(check.cost_of_missing), style="dim"),
            )
        )
    if check.fix_command and check.status != "ok":
        rows.append((Text("fix:", style="bold"), Text(display_safe(check.fix_command))))
    body: list[Text | Table] = [Text(display_safe(check.detail))]
    if rows:
        body.append(label_grid(rows))
    return Group(title, Padding(Group(*body), (0, 0, 0, 2)))


def main_screen(app: App[Any]) -> Any:
    """The MainScreen in the stack, or None."""
    from tui.screens.main import MainScreen

    return next((s for s in app.screen_stack if isinstance(s, MainScreen)), None)


async def run_check(app: App[Any]) -> HealthReport | None:
    """Check now with the main screen's focus; publish the report and the header badge."""
    from tui.aws.health import check_health

    aws = host(app).aws
    if aws is None:
        return None
    main = main_screen(app)
    focus = getattr(main, "focused_resource", None)
    report = await check_health(aws, focus=focus, now=host(app).clock())
    host(app).health_report = report
    if main is not None:
        for header in main.query(HeaderBar):
            header.logs = report.badge()
    return report


async def monitor(app: App[Any], interval: float = REFRESH_SECONDS) -> None:
    """Re-check every ``interval`` seconds; never overlaps (the next run waits for this one)."""
    while True:
        # AWS trouble is shown by the status line; the badge keeps its last value.
        with contextlib.suppress(HamariError):
            await run_check(app)
        await asyncio.sleep(interval)


class HealthScreen(Screen[None]):
    """Are logs written? Trails, flow logs and metrics, worst first."""

    CSS_PATH = "health.tcss"
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="health.back", tooltip="Back to the panes"),
        Binding("r", "reload", "Re-check", id="health.reload", tooltip="Run the checks again"),
        Binding("j", "scroll(1)", "Down", show=False),
        Binding("k", "scroll(-1)", "Up", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Static(Text("Are logs written?", style="bold"), id="health-title", markup=False)
        with VerticalScroll(id="health-list"):
            yield Static(Text("checking trails, flow logs and metrics…"), markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        cached = host(self).health_report
        if cached is not None:
            self.show(cached)
        self.load()

    @work(exclusive=True, group="health-screen", exit_on_error=False, description="health-screen")
    async def load(self) -> None:
        try:
            report = await run_check(self.app)
        except HamariError as err:
            title = self.query_one("#health-title", Static)
            title.update(Text(f"Are logs written?  ✗ {display_safe(err.message)}"))
            return
        if report is not None:
            self.show(report)

    def show(self, report: HealthReport) -> None:
        """Replace the list with ``report``'s checks."""
        status, count = report.badge()
        title = Text("Are logs written?  ", style="bold")
        title.append_text(HeaderBar.logs_badge(status, count))
        if report.checked_at is not None:
            title.append(f"  checked {report.checked_at:%H:%M:%S}Z", style="dim")
        self.query_one("#health-title", Static).update(title)
        box = self.query_one("#health-list", VerticalScroll)
        box.remove_children()
        widgets = [Static(check_text(c), classes="check", markup=False) for c in report.checks]
        if report.warnings:
            notes = "; ".join(display_safe(w) for w in report.warnings)
            widgets.append(Static(Text(f"▲ {notes}", style="dim"), markup=False))
        box.mount_all(widgets)

    def action_scroll(self, step: int) -> None:
        box = self.query_one("#health-list", VerticalScroll)
        box.scroll_relative(y=step * 2, animate=False)

    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()
