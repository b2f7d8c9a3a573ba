"""Labelled rows that wrap under their own column: the help, a finding's evidence, a health
check, an event's summary. At 80 columns a long value wraps below itself, not back to the border.

Plain Rich; the caller passes ``Text`` cells (never markup strings).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from rich.table import Table
from rich.text import Text


def label_grid(
    rows: Iterable[tuple[Text, Text]],
    *,
    label_width: int | None = None,
    label_max: int | None = None,
    justify: Literal["left", "right"] = "left",
    fold: bool = False,
) -> Table:
    """Two columns: the label (never wrapped), and its value wrapping in the rest of the width.

    Args:
        rows: ``(label, value)`` cells.
        label_width: The label column's least width (for columns that line up across grids).
        label_max: The label column's greatest width.
        justify: How labels sit in their column.
        fold: Fold a value with no space in it (an ARN) instead of cutting it.
    """
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True, justify=justify, min_width=label_width, max_width=label_max)
    grid.add_column(ratio=1, overflow="fold" if fold else "ellipsis")
    for label, value in rows:
        grid.add_row(label, value)
    return grid
