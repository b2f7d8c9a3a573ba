"""A one-colour sparkline for live series, safe on gaps and cheap to redraw.

Textual's `Sparkline` crashes on None and NaN, and gives every cell its own truecolor gradient
escape: eight series at 1 Hz write about 106 KB/s to the terminal, too much for a bastion over a
slow link. `LeanSparkline` draws each state in one colour (so a line is one or a few runs of
identical style), treats None, NaN and infinities as gaps, and skips the refresh entirely when
new data equals what is on screen.

An optional `limit` is drawn as a threshold: the scale always includes it, and cells at or above
`saturation * limit` use the `lean-sparkline--saturated` style.

An optional `marker` (an index into the data) draws the cell holding that point in the
`lean-sparkline--marker` style: the shared time cursor, shown on every series.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

__all__ = ["BLOCKS", "LeanSparkline", "bucket"]

BLOCKS = "▁▂▃▄▅▆▇█"
"""Eighth blocks, lowest first."""

_UNSET = object()


def _clean(value: object) -> float | None:
    """A finite float, or None for a gap (None, NaN, infinities, non-numbers)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def bucket(values: Sequence[float | None], width: int) -> list[float | None]:
    """Resample a series to exactly `width` cells.

    With more values than cells, each cell takes the maximum of its bucket (gaps ignored), so a
    one-sample spike is never lost; a bucket of gaps only is a gap. With fewer values than cells,
    each value is repeated over the cells it spans. None, NaN and infinities count as gaps.

    Args:
        values: The series, oldest first.
        width: Number of cells.

    Returns:
        `width` values, each a finite float or None.
    """
    if width <= 0:
        return []
    count = len(values)
    if count == 0:
        return [None] * width
    cleaned = [_clean(value) for value in values]
    if count <= width:
        return [cleaned[cell * count // width] for cell in range(width)]
    result: list[float | None] = []
    for cell in range(width):
        start = cell * count // width
        end = (cell + 1) * count // width
        present = [value for value in cleaned[start:end] if value is not None]
        result.append(max(present) if present else None)
    return result


class LeanSparkline(Widget):
    """A sparkline drawn in one colour per state.

    Component classes: `lean-sparkline--saturated` (cells at or above the threshold) and
    `lean-sparkline--gap` (missing points). Dash class `-stale` dims the whole line.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "lean-sparkline--saturated",
        "lean-sparkline--gap",
        "lean-sparkline--marker",
    }

    DEFAULT_CSS = """
    LeanSparkline {
        height: 1;
        width: 1fr;
        color: $primary;
        & > .lean-sparkline--saturated { color: $error; }
        & > .lean-sparkline--gap { color: $text-muted; }
        & > .lean-sparkline--marker { color: $warning; text-style: reverse; }
        &.-stale { color: $text-disabled; }
        &.-stale > .lean-sparkline--saturated { color: $text-disabled; }
    }
    """

    def __init__(
        self,
        data: Iterable[float | None] = (),
        *,
        limit: float | None = None,
        saturation: float = 0.9,
        gap: str = "·",
        marker: int | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """Create a sparkline.

        Args:
            data: The series, oldest first; None, NaN and infinities are gaps.
            limit: A threshold included in the scale, or None.
            saturation: Fraction of `limit` from which cells are drawn saturated.
            gap: Character for a missing point (" " to leave it blank).
            marker: Index of a data point to mark (negative counts from the end), or None.
            name: Widget name.
            id: Widget id.
            classes: Space-separated CSS classes.
            disabled: Start disabled.
        """
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._data: tuple[float | None, ...] = tuple(_clean(value) for value in data)
        self._limit = _clean(limit)
        self.saturation = saturation
        self.gap = gap[:1] or " "
        self._marker = marker
        self._strips: dict[tuple[object, ...], list[Strip]] = {}

    @property
    def data(self) -> tuple[float | None, ...]:
        """The series as drawn: finite floats, None for gaps."""
        return self._data

    @property
    def limit(self) -> float | None:
        """The threshold, or None."""
        return self._limit

    @property
    def marker(self) -> int | None:
        """Index of the marked data point, or None."""
        return self._marker

    def set_marker(self, marker: int | None) -> bool:
        """Mark the data point at index ``marker`` (None removes the mark).

        Returns:
            True if the sparkline will be redrawn.
        """
        if marker == self._marker:
            return False
        self._marker = marker
        self._strips.clear()
        self.refresh()
        return True

    def marker_cell(self, width: int) -> int | None:
        """The cell (0-based) where the marked point is drawn at ``width`` cells, or None."""
        count = len(self._data)
        marker = self._marker
        if marker is None or width <= 0 or count == 0:
            return None
        if marker < 0:
            marker += count
        if not 0 <= marker < count:
            return None
        if count <= width:
            # Each value spans the cells whose bucket maps back to it: take the last of them.
            return min(width - 1, ((marker + 1) * width - 1) // count)
        return min(width - 1, marker * width // count)

    def update(self, data: Iterable[float | None], *, limit: object = _UNSET) -> bool:
        """Replace the series (and optionally the limit); refresh only if something changed.

        Args:
            data: The new series.
            limit: A new threshold (None removes it); omit to keep the current one.

        Returns:
            True if the sparkline will be redrawn.
        """
        new_data = tuple(_clean(value) for value in data)
        new_limit = self._limit if limit is _UNSET else _clean(limit)
        if new_data == self._data and new_limit == self._limit:
            return False
        self._data = new_data
        self._limit = new_limit
        self._strips.clear()
        self.refresh()
        return True

    def threshold(self) -> float | None:
        """The value from which cells are saturated, or None without a limit."""
        if self._limit is None:
            return None
        return self._limit * self.saturation if self._limit > 0 else self._limit

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        key = (width, height)
        strips = self._strips.get(key)
        if strips is None:
            strips = self._render_strips(width, height)
            self._strips = {key: strips}
        if 0 <= y < len(strips):
            return strips[y]
        return Strip.blank(width, self.rich_style)

    def _render_strips(self, width: int, height: int) -> list[Strip]:
        base = self.rich_style
        if width <= 0 or height <= 0:
            return []
        if not self._data:
            return [Strip.blank(width, base) for _ in range(height)]
        saturated = base + self.get_component_rich_style("lean-sparkline--saturated")
        gap_style = base + self.get_component_rich_style("lean-sparkline--gap")
        cells = bucket(self._data, width)
        marked = self.marker_cell(width)
        marker_style = base + self.get_component_rich_style("lean-sparkline--marker")
        present = [value for value in cells if value is not None]
        low = min(0.0, *present) if present else 0.0
        high = max(present) if present else 0.0
        if self._limit is not None:
            low = min(low, self._limit)
            high = max(high, self._limit)
        # Halved so that extreme finite values cannot overflow the span to infinity.
        span = high / 2 - low / 2
        threshold = self.threshold()
        levels = height * len(BLOCKS)
        rows: list[list[tuple[str, Style]]] = [[] for _ in range(height)]
        for cell, value in enumerate(cells):
            if value is None:
                style = marker_style if cell == marked else gap_style
                for row in range(height):
                    char = self.gap if row == height - 1 else " "
                    rows[row].append(("│" if cell == marked else char, style))
                continue
            level = 1 if span <= 0 else math.ceil((value / 2 - low / 2) / span * levels)
            level = max(1, min(levels, level))
            style = saturated if threshold is not None and value >= threshold else base
            if cell == marked:
                style = marker_style
            for row in range(height):
                floor = (height - 1 - row) * len(BLOCKS)
                filled = level - floor
                if filled <= 0:
                    char = " "
                elif filled >= len(BLOCKS):
                    char = BLOCKS[-1]
                else:
                    char = BLOCKS[filled - 1]
                rows[row].append((char, style))
        return [_runs_to_strip(row, width) for row in rows]


def _runs_to_strip(cells: list[tuple[str, Style]], width: int) -> Strip:
    """Join cells into as few segments as there are runs of one style."""
    segments: list[Segment] = []
    run: list[str] = []
    run_style: Style | None = None
    for char, style in cells:
        if style is not run_style and run:
            segments.append(Segment("".join(run), run_style))
            run = []
        run_style = style
        run.append(char)
    if run:
        segments.append(Segment("".join(run), run_style))
    return Strip(segments, width)
