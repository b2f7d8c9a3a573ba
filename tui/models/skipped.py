"""What a source could not read, one item each: the pane's ``b`` list and the status counts.

A pure record, shared by the panes that collect it and the screen that lists it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Skipped"]


@dataclass(frozen=True)
class Skipped:
    """One thing a source could not read: a line, a record or a whole file, and why.

    Attributes:
        where: the file, object or log group ("" when unknown).
        line: the line or record number in it (0: the whole file).
        reason: what was wrong.
        text: the start of the line, when known.
    """

    where: str
    line: int
    reason: str
    text: str = ""
