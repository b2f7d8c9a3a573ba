"""A full chart of one CloudWatch series: time axis, the limit line and the shared window.

The sparkline in the pane answers "is it at the limit now?"; the chart answers "since when, and
how often?", which is what one tells a customer when tuning a migrated workload. It opens on enter
from a series row, follows live refreshes (the pane pushes new data down with
:meth:`ChartScreen.update_series`) and closes with escape.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static
from textual_plotext import PlotextPlot

from tui.models.metrics import Series, fmt_number
from tui.models.text import display_safe


def time_ticks(start: float, end: float, count: int = 5) -> tuple[list[float], list[str]]:
    """Evenly spaced x ticks over ``[start, end]`` (epoch seconds) with ``HH:MM`` UTC labels."""
    if end <= start or count < 2:
        return [start], [datetime.fromtimestamp(start, UTC).strftime("%H:%M")]
    step = (end - start) / (count - 1)
    ticks = [start + i * step for i in range(count)]
    span = end - start
    fmt = "%m-%d %H:%M" if span > 86400 else "%H:%M"
    return ticks, [datetime.fromtimestamp(t, UTC).strftime(fmt) for t in ticks]


class ChartScreen(ModalScreen[None]):
    """One series drawn over the window, against its limit."""

    DEFAULT_CSS = """
    ChartScreen { align: center middle; }
    ChartScreen > Vertical {
        width: 96%;
        height: 92%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    ChartScreen .chart-head { height: auto; max-height: 2; }
    ChartScreen .chart-foot { height: 1; color: $text-muted; }
    ChartScreen PlotextPlot { height: 1fr; }
    """

    BINDINGS = [
        Binding("escape", "dismiss", "Back", id="chart.close", tooltip="Close the chart"),
        Binding("q", "dismiss", "Back", show=False),
    ]

    def __init__(
        self,
        key: str,
        title: str,
        series: Series,
        *,
        limit: float | None,
        limit_label: str,
        window: tuple[datetime, datetime],
    ) -> None:
        """Create the chart.

        Args:
            key: Identifies the series, so the pane knows which chart to feed.
            title: Already display-safe title (resource and metric).
            series: The series, in display units.
            limit: The applied limit in the same unit, or None.
            limit_label: What the limit is, e.g. ``3,000 IOPS gp3 baseline``.
            window: The (aligned) window the series was fetched for.
        """
        super().__init__()
        self.key = key
        self.chart_title = title
        self.series = series
        self.limit = limit
        self.limit_label = limit_label
        self.window = window

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._head(), classes="chart-head", markup=False)
            yield PlotextPlot()
            yield Static(
                Text("esc back · times in UTC · the red horizontal line is the limit"),
                classes="chart-foot",
                markup=False,
            )

    def on_mount(self) -> None:
        self._draw()

    def update_series(
        self,
        series: Series,
        *,
        limit: float | None,
        limit_label: str,
        window: tuple[datetime, datetime],
    ) -> None:
        """New data from the pane's refresh; redrawn only if something changed."""
        if (series, limit, window) == (self.series, self.limit, self.window):
            return
        self.series, self.limit, self.limit_label, self.window = series, limit, limit_label, window
        self.query_one(".chart-head", Static).update(self._head())
        self._draw()

    def _head(self) -> Text:
        text = Text(no_wrap=False)
        text.append(self.chart_title, style="bold")
        latest = self.series.latest
        unit = display_safe(self.series.unit)
        text.append(
            f"  latest {fmt_number(latest)} {unit}" if latest is not None else "  no data yet"
        )
        if self.limit is not None:
            text.append(f"  limit {display_safe(self.limit_label)}")
        if self.series.stale:
            text.append("  (stale)", style="bold")
        return text

    def _draw(self) -> None:
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        start, end = (t.timestamp() for t in self.window)
        points = self.series.points()
        xs = [t.timestamp() for t, _ in points]
        ys = [v for _, v in points]
        if xs:
            plt.plot(xs, ys, marker="braille", label=display_safe(self.series.unit) or "value")
        if self.limit is not None:
            plt.hline(self.limit, "red")
        ticks, labels = time_ticks(start, end)
        plt.xticks(ticks, labels)
        plt.xlim(start, end)
        top = max([*ys, self.limit or 0.0, 0.0])
        plt.ylim(0, top * 1.1 if top > 0 else 1)
        plt.ylabel(display_safe(self.series.unit))
        if not xs:
            plt.title("no datapoints in this window")
        plot.refresh()
