"""The ``$`` screen: what hamari has asked AWS for, what that costs, and the hourly budget.

The status line carries a one-word meter; this modal is where a user checks, before leaving a
session open or after the budget paused polling, which API was called how often, how many metrics
and bytes were read, and a list-price estimate of the bill. It refreshes every second while open.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.aws.session import Meter
from tui.host import host
from tui.models.budget import (
    INSIGHTS_BYTES_SCANNED,
    METRICS_REQUESTED,
    PRICE_NOTE,
    S3_BYTES,
    S3_OBJECTS,
    BudgetStatus,
    estimate_cost,
)
from tui.models.units import human_bytes


def meter_text(meter: Meter, status: BudgetStatus | None = None) -> Text:
    """The modal's content: requests per API (most first), quantities, cost, budget."""
    text = Text()
    text.append("Requests this session\n", style="bold")
    name_width = max([len("API"), *(len(name) for name in meter.requests)]) + 2
    text.append(
        f"  {'API':<{name_width}}{'requests':>10}{'errors':>9}{'throttled':>11}\n", style="dim"
    )
    rows = sorted(meter.requests.items(), key=lambda item: (-item[1], item[0]))
    if not rows:
        text.append("  (none yet)\n", style="dim")
    for name, count in rows:
        text.append(
            f"  {name:<{name_width}}{count:>10,}{meter.errors.get(name, 0):>9,}"
            f"{meter.throttles.get(name, 0):>11,}\n"
        )
    text.append(
        f"  {'total':<{name_width}}{meter.total_requests:>10,}"
        f"{sum(meter.errors.values()):>9,}{sum(meter.throttles.values()):>11,}\n",
        style="bold",
    )

    q = meter.quantities
    text.append("\nRead from AWS\n", style="bold")
    text.append(f"  metrics requested (GetMetricData)  {q.get(METRICS_REQUESTED, 0):,}\n")
    text.append(f"  S3 objects read                    {q.get(S3_OBJECTS, 0):,}\n")
    text.append(f"  S3 bytes read                      {human_bytes(q.get(S3_BYTES, 0))}\n")
    text.append(
        f"  Logs Insights bytes scanned        {human_bytes(q.get(INSIGHTS_BYTES_SCANNED, 0))}\n"
    )

    lines = estimate_cost(meter.requests, q)
    total = sum(line.usd for line in lines)
    text.append(f"\nEstimated cost ({PRICE_NOTE})\n", style="bold")
    for line in lines:
        quantity = human_bytes(line.quantity) if line.unit == "bytes" else f"{line.quantity:,}"
        unit = "" if line.unit == "bytes" else f" {line.unit}"
        text.append(f"  {line.label:<26}{quantity + unit:>18}  {line.price:<20}${line.usd:.4f}\n")
    text.append(f"  {'total':<66}${total:.4f}\n", style="bold")
    text.append(
        "  EC2 Describe* and STS calls are free; no free tier or data transfer counted.\n",
        style="dim",
    )

    if status is not None:
        text.append("\nBudget (last hour)\n", style="bold")
        text.append(f"  requests  {_of(status.requests, status.requests_limit)}\n")
        text.append(f"  metrics   {_of(status.metrics, status.metrics_limit)}\n")
        if status.paused:
            text.append("  ⏸ polling is paused: R resumes it for an hour\n", style="bold yellow")
        elif status.resumed:
            text.append("  over budget, resumed by R: polling for up to an hour\n", style="yellow")
    text.append("\nesc closes · R resumes polling", style="dim")
    return text


def _of(used: int, limit: int) -> str:
    return f"{used:,} of {limit:,}" if limit > 0 else f"{used:,} (no budget)"


class MeterScreen(ModalScreen[None]):
    """Requests per API, quantities read, estimated cost and budget; refreshed every second."""

    CSS_PATH = "meter.tcss"
    BINDINGS = [
        Binding("escape,q,dollar_sign", "dismiss", "Close", key_display="esc", id="meter.close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._content(), id="meter-body", markup=False)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = "$ requests and cost"
        self.set_interval(1.0, self._update)

    def _update(self) -> None:
        self.query_one("#meter-body", Static).update(self._content())

    def _content(self) -> Text:
        app = host(self)
        aws = app.aws
        meter = aws.meter if aws is not None else Meter()
        status = app.budget.check(
            time.monotonic(), meter.total_requests, meter.quantities.get(METRICS_REQUESTED, 0)
        )
        return meter_text(meter, status)
