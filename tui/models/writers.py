"""Rows out as NDJSON, CSV or aligned columns: one writer for the headless verbs and pane exports.

Output reaches a terminal too (now, or when the file is ``cat``-ed later), so no control sequence
from data is ever written raw: NDJSON escapes every control, bidi and zero-width character as
``\\uXXXX`` (valid JSON, lossless), and writes NaN and infinities, which JSON cannot spell, as
``null``; CSV and table cells carry the TUI's visible escapes (``\\x1b``).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any, Final

from tui.models.text import display_safe, json_terminal_safe

__all__ = ["csv_cell", "ndjson_line", "write_csv", "write_ndjson", "write_table"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


_NDJSON = json.JSONEncoder(default=_jsonable, ensure_ascii=False, allow_nan=False)


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (at any depth) replaced by None."""
    if isinstance(value, float):
        return value if value - value == 0 else None  # inf - inf and nan - x are nan
    if isinstance(value, Mapping):
        return {
            (k if k - k == 0 else str(k)) if isinstance(k, float) else k: _finite(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def ndjson_line(row: Any) -> str:
    """``row`` as one line of JSON that is valid for any value and safe to show on a terminal.

    NaN and infinities become ``null``; control, bidi and zero-width characters are escaped
    (:func:`~tui.models.text.json_terminal_safe`), so ``json.loads`` returns the raw strings.
    """
    try:
        text = _NDJSON.encode(row)
    except ValueError:  # "Out of range float values are not JSON compliant"
        text = _NDJSON.encode(_finite(row))
    return json_terminal_safe(text)


def write_ndjson(rows: Iterable[Mapping[str, Any]], out: IO[str] | None = None) -> int:
    """One JSON object per line (:func:`ndjson_line`)."""
    out = out or sys.stdout
    count = 0
    for row in rows:
        out.write(ndjson_line(row) + "\n")
        count += 1
    out.flush()
    return count


def write_csv(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], out: IO[str] | None = None
) -> int:
    """CSV with a header, display-safe cells; cells a spreadsheet would run as formulas get '."""
    out = out or sys.stdout
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([csv_cell(row.get(col)) for col in columns])
        count += 1
    out.flush()
    return count


def csv_cell(value: Any) -> str:
    """One display-safe CSV cell (the TUI's visible escapes: the file is ``cat``-ed later)."""
    if value is None:
        return ""
    text = _jsonable(value) if not isinstance(value, str) else value
    if isinstance(text, list):
        text = " ".join(map(str, text))
    text = display_safe(text)
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        return "'" + text
    return text


# A plain decimal number, which a spreadsheet reads as a number; Python's float() also takes
# "-inf", "+nan", "-1_000" and padding, which a spreadsheet reads as a formula ("=-inf").
_NUMBER: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None


def write_table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], out: IO[str] | None = None
) -> int:
    """Aligned columns for a human at a terminal; every cell made display-safe."""
    out = out or sys.stdout
    materialized = [[display_safe(_cell(row.get(c))) for c in columns] for row in rows]
    widths = [len(c) for c in columns]
    for cells in materialized:
        widths = [min(60, max(w, len(v))) for w, v in zip(widths, cells, strict=True)]
    out.write(
        "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip() + "\n"
    )
    for cells in materialized:
        line = "  ".join(
            (v if len(v) <= w else v[: w - 1] + "…").ljust(w)
            for v, w in zip(cells, widths, strict=True)
        )
        out.write(line.rstrip() + "\n")
    out.flush()
    return len(materialized)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(map(str, value))
    return str(value)
