"""A full chart of one CloudWatch series: time axis, the limit line and the shared window.

The sparkline in the pane answers "is it at the limit now?"; the chart answers "since when, and
how often?", which is what one tells a customer when tuning a migrated workload. It opens on enter
from a series row, follows live refreshes (the pane pushes new data down with
:meth:`ChartScreen.update_series`) and closes with escape.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static
from textual_plotext import PlotextPlot

from tui.models.metrics.series import Series
from tui.models.metrics.units import fmt_number
from tui.models.text import display_safe
from tui.models.timewindow import TimeWindow


def _zone(utc: bool) -> tzinfo | None:
    """UTC, or the local zone (``TZ``) when ``utc`` is false."""
    return UTC if utc else datetime.now().astimezone().tzinfo


def time_ticks(
    start: float, end: float, count: int = 5, *, utc: bool = True
) -> tuple[list[float], list[str]]:
    """Evenly spaced x ticks over ``[start, end]`` (epoch seconds) with ``HH:MM`` labels.

    Labels are in UTC, or in the local zone when ``utc`` is false.
    """
    zone = _zone(utc)
    if end <= start or count < 2:
        return [start], [datetime.fromtimestamp(start, zone).strftime("%H:%M")]
    step = (end - start) / (count - 1)
    ticks = [start + i * step for i in range(count)]
    span = end - start
    fmt = "%m-%d %H:%M" if span > 86400 else "%H:%M"
    return ticks, [datetime.fromtimestamp(t, zone).strftime(fmt) for t in ticks]


def clock_text(when: datetime, *, utc: bool, seconds: bool = True) -> str:
    """``10:34:21`` in UTC or in the local zone."""
    return when.astimezone(_zone(utc)).strftime("%H:%M:%S" if seconds else "%H:%M")


def zone_name(utc: bool) -> str:
    """``UTC`` or the local zone's abbreviation (``JST``)."""
    return "UTC" if utc else (datetime.now().astimezone().tzname() or "local")


class ChartScreen(ModalScreen[TimeWindow | None]):
    """One series drawn over the window, against its limit; dismissed with a span or None."""

    CSS_PATH = "chart.tcss"

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Back", id="chart.close", tooltip="Close the chart"),
        Binding("q", "dismiss(None)", "Back", show=False),
        Binding("left,h", "move(-1)", "◀", id="chart.left", tooltip="Time cursor: earlier point"),
        Binding("right,l", "move(1)", "▶", id="chart.right", tooltip="Time cursor: later point"),
        Binding(
            "left_square_bracket",
            "mark('start')",
            "Span start",
            key_display="[",
            id="chart.span_start",
            tooltip="Start a span at the cursor",
        ),
        Binding(
            "right_square_bracket",
            "mark('end')",
            "Span end",
            key_display="]",
            id="chart.span_end",
            tooltip="End the span at the cursor",
        ),
        Binding("enter", "apply_span", "Apply span", id="chart.apply", tooltip="Set the window"),
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
        cursor: datetime | None = None,
        utc: bool = True,
        on_cursor: Callable[[datetime], None] | None = None,
    ) -> None:
        """Create the chart.

        Args:
            key: Identifies the series, so the pane knows which chart to feed.
            title: Already display-safe title (resource and metric).
            series: The series, in display units.
            limit: The applied limit in the same unit, or None.
            limit_label: What the limit is, e.g. ``3,000 IOPS gp3 baseline``.
            window: The (aligned) window the series was fetched for.
            cursor: The shared time cursor, drawn as a vertical line, or None.
            utc: Label times in UTC (else in the local zone).
            on_cursor: Called when the user moves the cursor along the datapoints.
        """
        super().__init__()
        self.key = key
        self.chart_title = title
        self.series = series
        self.limit = limit
        self.limit_label = limit_label
        self.window = window
        self.cursor = cursor
        self.utc = utc
        self.on_cursor = on_cursor
        self.span_start: datetime | None = None
        self.span_end: datetime | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._head(), classes="chart-head", markup=False)
            yield PlotextPlot()
            yield Static(self._foot(), classes="chart-foot", markup=False)

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

    # -- the time cursor and the span ---------------------------------------------------------

    def _instants(self) -> list[datetime]:
        """Where the cursor can stop: the datapoints, or 60 steps over the window without any."""
        points = [t for t, _ in self.series.points()]
        if points:
            return points
        start, end = self.window
        step = (end - start) / 60
        return [start + step * i for i in range(61)] if step > timedelta(0) else [start]

    def action_move(self, step: int) -> None:
        """Move the time cursor to the previous/next datapoint (from the last one if unset)."""
        instants = self._instants()
        cursor = self.cursor
        if cursor is None:
            index = len(instants) - 1
        else:
            nearest = min(
                range(len(instants)), key=lambda i: abs((instants[i] - cursor).total_seconds())
            )
            index = max(0, min(len(instants) - 1, nearest + step))
        self.set_cursor(instants[index])
        if self.on_cursor is not None and self.cursor is not None:
            self.on_cursor(self.cursor)

    def set_cursor(self, when: datetime | None) -> None:
        """Draw the shared time cursor at ``when`` (None removes it)."""
        if when == self.cursor:
            return
        self.cursor = when
        self._redraw_texts()
        self._draw()

    def action_mark(self, which: str) -> None:
        """Mark the span's start or end at the cursor."""
        if self.cursor is None:
            self.action_move(-1)
        if which == "start":
            self.span_start = self.cursor
        else:
            self.span_end = self.cursor
        self._redraw_texts()
        self._draw()

    def span(self) -> TimeWindow | None:
        """The marked span as a fixed window, or None while it is incomplete or empty."""
        if self.span_start is None or self.span_end is None:
            return None
        start, end = sorted((self.span_start, self.span_end))
        if start >= end:
            return None
        return TimeWindow(start, end, live=False)

    def action_apply_span(self) -> None:
        window = self.span()
        if window is None:
            self.notify(
                "Mark a span first: ←/→ move the cursor, [ marks its start, ] its end.",
                markup=False,
                timeout=4,
            )
            return
        self.dismiss(window)

    def _redraw_texts(self) -> None:
        if self.is_mounted:
            self.query_one(".chart-head", Static).update(self._head())
            self.query_one(".chart-foot", Static).update(self._foot())

    def _foot(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        zone = zone_name(self.utc)
        if self.span_start is not None or self.span_end is not None:
            a = clock_text(self.span_start, utc=self.utc) if self.span_start else "…"
            b = clock_text(self.span_end, utc=self.utc) if self.span_end else "…"
            text.append(f"span {a}→{b} {zone}", style="bold")
            text.append(" · enter: window · ")
        text.append(f"esc back · ←/→ ⌖ · [ ] span · {zone} · red line: the limit")
        return text

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
        if self.cursor is not None:
            text.append(f"  ⌖ {clock_text(self.cursor, utc=self.utc)}", style="bold")
            value = self._value_at(self.cursor)
            if value is not None:
                text.append(f" {fmt_number(value)} {unit}")
        return text

    def _value_at(self, when: datetime) -> float | None:
        points = self.series.points()
        if not points:
            return None
        _, value = min(points, key=lambda p: abs((p[0] - when).total_seconds()))
        return value

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
        for mark in (self.span_start, self.span_end):
            if mark is not None and start <= mark.timestamp() <= end:
                plt.vline(mark.timestamp(), "cyan")
        if self.cursor is not None and start <= self.cursor.timestamp() <= end:
            plt.vline(self.cursor.timestamp(), "yellow")
        ticks, labels = time_ticks(start, end, utc=self.utc)
        plt.xticks(ticks, labels)
        plt.xlim(start, end)
        top = max([*ys, self.limit or 0.0, 0.0])
        plt.ylim(0, top * 1.1 if top > 0 else 1)
        plt.ylabel(display_safe(self.series.unit))
        if not xs:
            plt.title("no datapoints in this window")
        plot.refresh()
