"""Byte counts for people: the one formatter, so a size reads the same in every pane and dialog.

Decimal units (1 kB = 1000 B), as flow logs and CloudWatch report traffic and as the metrics pane
shows rates (MB/s); a size in the flow table, the detail view and the cost meter must not differ
by 2.4 % (kB) to 10 % (TB) depending on where it is read.
"""

from __future__ import annotations

__all__ = ["human_bytes"]

_LONG = ("B", "kB", "MB", "GB", "TB")
_SHORT = ("", "k", "M", "G", "T")


def human_bytes(value: float | None, *, compact: bool = False) -> str:
    """``1.5 MB`` (``compact``: ``1.5M``, for table cells); ``-`` for None.

    Whole numbers of bytes, one decimal above (compact cells: none from 100 up, to stay narrow).
    """
    if value is None:
        return "-"
    size = float(value)
    units = _SHORT if compact else _LONG
    for unit in units:
        if abs(size) < 1000 or unit == units[-1]:
            break
        size /= 1000
    if compact:
        return f"{size:.0f}{unit}" if unit == "" or abs(size) >= 100 else f"{size:.1f}{unit}"
    return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
