"""A virtual table that renders only the rows on screen.

Textual's `DataTable` builds a row object per record, which takes about 25 s for 100k CloudTrail
events. `RecordTable` instead reads cells from a backing store on demand: the app hands it any
sequence-like object (`len()` plus `store[i]` returning a tuple of plain strings), and the table
asks for the few rows it is drawing. Replacing the store (a new filter, rows appended while
following) costs O(visible rows), so a million rows scroll as smoothly as a hundred.

Cells are always plain text: they become `Segment`s directly and are never parsed as markup, and
control characters are shown as visible escapes (`\\x1b`), so hostile data can neither inject
markup nor write escape sequences to the terminal.

Sorting is delegated: the table posts `RecordTable.SortRequested`; the app reorders its store
(typically a list of indices), calls `set_rows(...)` with the new order and sets `sort_by` so the
header shows the arrow. The table never sorts or copies records itself.

Example:
    table = RecordTable([Column("time", "Time"), Column("name", "Event", flex=True)])
    table.set_rows(rows, row_key=lambda i: ids[i], row_style=lambda i: styles[i])

    def on_record_table_selected(self, event: RecordTable.Selected) -> None:
        self.open_detail(event.index)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

__all__ = [
    "CallableRows",
    "Column",
    "RecordTable",
    "RowStore",
    "escape_controls",
    "fit_cell",
]

Align = Literal["left", "right", "center"]
Follow = Literal["head", "tail"] | None

ELLIPSIS = "…"
ROW_STYLES: frozenset[str] = frozenset({"error", "warn", "dim", "mark"})
"""Row style keys the table knows; each maps to the component class `record-table--<key>`."""

# C0, DEL, C1, zero-width and bidi controls, lone surrogates. Tab and newline are included too:
# a cell is one line, and either would break the column layout.
_CONTROL_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)

_SAMPLE_HEAD = 100
_SAMPLE_TAIL = 50
_KEY_SEARCH_WINDOW = 2048


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """Show control characters as visible escapes instead of sending them to the terminal.

    Args:
        text: Untrusted text.

    Returns:
        The text with C0/C1 controls, DEL, ESC, zero-width and bidi controls and lone surrogates
        replaced by `\\xNN` or `\\uNNNN`.
    """
    if _CONTROL_RE.search(text) is None:
        return text
    return _CONTROL_RE.sub(_escape_char, text)


def fit_cell(text: str, width: int, align: Align = "left") -> str:
    """Fit plain text into exactly `width` terminal cells.

    Text that is too long is cut and ends with an ellipsis; shorter text is padded per `align`.

    Args:
        text: Display-safe text (see `escape_controls`).
        width: Width in cells.
        align: Where to put the padding.

    Returns:
        A string whose cell length is `width`.
    """
    if width <= 0:
        return ""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + ELLIPSIS
    if length == width:
        return text
    pad = width - length
    if align == "right":
        return " " * pad + text
    if align == "center":
        left = pad // 2
        return " " * left + text + " " * (pad - left)
    return text + " " * pad


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a `RecordTable`.

    Attributes:
        key: Identifier used in `SortRequested` and `sort_by`.
        title: Header text (plain text).
        width: Fixed width in cells, or None for auto (sampled from content, capped).
        min_width: Smallest width auto or flex sizing may give.
        max_width: Cap for auto width.
        align: Alignment of the cells and title.
        flex: Stretch (or shrink, down to `min_width`) to fill the table width. Remaining space
            is shared between flex columns.
    """

    key: str
    title: str
    width: int | None = None
    min_width: int = 1
    max_width: int = 40
    align: Align = "left"
    flex: bool = False


class RowStore(Protocol):
    """What the table needs from a backing store: its length and one row of cells by index."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int, /) -> Sequence[str]: ...


class CallableRows:
    """Adapts a row count and a `row_cells(i)` callable to a `RowStore`.

    Args:
        count: Number of rows.
        row_cells: Returns the cells of row `i`.
    """

    def __init__(self, count: int, row_cells: Callable[[int], Sequence[str]]) -> None:
        self._count = count
        self._row_cells = row_cells

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int, /) -> Sequence[str]:
        return self._row_cells(index)


class RecordTable(ScrollView, can_focus=True, inherit_bindings=False):
    """A table over a backing store, rendering only the rows on screen.

    Row 0 of the widget is the header; record `i` is drawn on virtual line `i + 1`.

    Dash classes: `-empty` when there are no rows, `-following` while `follow` is set.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False, id="record_table.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="record_table.up"),
        Binding(
            "pagedown,ctrl+f", "page_down", "Page down", show=False, id="record_table.page_down"
        ),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="record_table.page_up"),
        Binding("home,g", "first", "First", show=False, id="record_table.first"),
        Binding("end,G", "last", "Last", show=False, id="record_table.last"),
        Binding("right,l", "scroll_columns(1)", "Right", show=False, id="record_table.right"),
        Binding("left,h", "scroll_columns(-1)", "Left", show=False, id="record_table.left"),
        Binding(
            "s",
            "sort_next",
            "Sort",
            show=False,
            id="record_table.sort_next",
            tooltip="Sort by the next column",
        ),
        Binding(
            "S",
            "sort_reverse",
            "Reverse",
            show=False,
            id="record_table.sort_reverse",
            tooltip="Reverse the sort order",
        ),
        Binding(
            "enter",
            "select",
            "Open",
            show=False,
            id="record_table.select",
            tooltip="The row in full (an event, a flow record)",
        ),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "record-table--header",
        "record-table--cursor",
        "record-table--error",
        "record-table--warn",
        "record-table--dim",
        "record-table--mark",
        "record-table--empty",
    }

    DEFAULT_CSS = """
    RecordTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        overflow-x: auto;
        overflow-y: auto;
        scrollbar-size-horizontal: 1;
        scrollbar-size-vertical: 1;
        & > .record-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .record-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .record-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .record-table--error { color: $error; }
        & > .record-table--warn { color: $warning; }
        & > .record-table--dim { color: $text-muted; }
        & > .record-table--mark { background: $accent 30%; }
        & > .record-table--empty { color: $text-muted; text-style: italic; }
    }
    """

    class CursorMoved(Message):
        """The cursor moved to another record (or the table became empty: `index` is None)."""

        def __init__(self, record_table: RecordTable, index: int | None) -> None:
            super().__init__()
            self.record_table = record_table
            self.index = index

        @property
        def control(self) -> RecordTable:
            return self.record_table

        def can_replace(self, message: Message) -> bool:
            return (
                isinstance(message, RecordTable.CursorMoved)
                and message.record_table is self.record_table
            )

    class Selected(Message):
        """The user pressed enter (or double-clicked) on a record."""

        def __init__(self, record_table: RecordTable, index: int) -> None:
            super().__init__()
            self.record_table = record_table
            self.index = index

        @property
        def control(self) -> RecordTable:
            return self.record_table

    class SortRequested(Message):
        """The user asked to sort by a column; the app reorders its store and sets `sort_by`."""

        def __init__(self, record_table: RecordTable, column_key: str, descending: bool) -> None:
            super().__init__()
            self.record_table = record_table
            self.column_key = column_key
            self.descending = descending

        @property
        def control(self) -> RecordTable:
            return self.record_table

    follow: reactive[Follow] = reactive[Follow](None, init=False)
    """Keep the cursor on the first ("head") or last ("tail") record as rows change.

    Moving the cursor away from that edge turns following off.
    """

    sort_by: reactive[tuple[str, bool] | None] = reactive[tuple[str, bool] | None](None, init=False)
    """(column key, descending) of the order the store is in, shown in the header."""

    show_header: reactive[bool] = reactive(True, layout=True)

    def __init__(
        self,
        columns: Sequence[Column],
        rows: RowStore = (),
        *,
        row_key: Callable[[int], Hashable] | None = None,
        row_style: Callable[[int], str | None] | None = None,
        index_of: Callable[[Hashable], int | None] | None = None,
        follow: Follow = None,
        empty_text: str = "No records",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """Create a table.

        Args:
            columns: The columns, left to right.
            rows: The backing store (see `set_rows`).
            row_key: Stable identity of row `i`, used to keep the cursor on a record.
            row_style: Style key of row `i` ("error", "warn", "dim", "mark" or None).
            index_of: Index of the row with a given key, or None (O(1) cursor tracking).
            follow: Start following the "head" or "tail" of the rows.
            empty_text: Shown when there are no rows.
            name: Widget name.
            id: Widget id.
            classes: Space-separated CSS classes.
            disabled: Start disabled.
        """
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._columns: tuple[Column, ...] = tuple(columns)
        self._auto_widths: list[int] = [0] * len(self._columns)
        self._rows: RowStore = ()
        self._row_key = row_key
        self._row_style = row_style
        self._index_of = index_of
        self._cursor = 0
        self._generation = 0
        self._column_layout: tuple[int, tuple[int, ...], tuple[int, ...]] | None = None
        self._line_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self.empty_text = empty_text
        self.set_reactive(RecordTable.follow, follow)
        self.set_class(follow is not None, "-following")
        self.set_rows(rows, row_key=row_key, row_style=row_style, index_of=index_of)

    # ----------------------------------------------------------------- public API

    @property
    def columns(self) -> tuple[Column, ...]:
        """The columns, left to right."""
        return self._columns

    @property
    def row_count(self) -> int:
        """Number of records in the store."""
        return len(self._rows)

    @property
    def rows(self) -> RowStore:
        """The current backing store."""
        return self._rows

    @property
    def cursor_row(self) -> int | None:
        """Index of the record under the cursor, or None when there are no rows."""
        return self._cursor if len(self._rows) else None

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Replace the columns (widths are sampled again).

        Args:
            columns: The new columns.
        """
        self._columns = tuple(columns)
        self._auto_widths = [0] * len(self._columns)
        self._sample_widths(len(self._rows))
        self._invalidate()

    def set_rows(
        self,
        rows: RowStore,
        *,
        row_key: Callable[[int], Hashable] | None = None,
        row_style: Callable[[int], str | None] | None = None,
        index_of: Callable[[Hashable], int | None] | None = None,
        keep_cursor: bool = True,
    ) -> None:
        """Replace the backing store, in O(visible rows).

        The store is read lazily: only rows on screen (and a small sample for auto widths) are
        ever fetched. When `keep_cursor` is set and both stores have a `row_key`, the cursor stays
        on the same record, found with `index_of` if given, else by probing near the old
        position (where appended or prepended rows put it) and then within a bounded window. The
        record also keeps its place on screen. With `follow` set, the cursor goes to that edge.

        Args:
            rows: Sequence-like store: `len(rows)` and `rows[i]` giving the cells of row `i`
                (plain strings; shorter rows are padded). Use `CallableRows` for a callable.
            row_key: Stable identity of row `i` in this store.
            row_style: Style key of row `i` ("error", "warn", "dim", "mark") or None.
            index_of: Index in this store of the row with a key, or None if absent.
            keep_cursor: Keep the cursor on the same record rather than the same index.
        """
        old_count = len(self._rows)
        old_cursor = self._cursor
        old_key: Hashable | None = None
        if keep_cursor and old_count and self._row_key is not None and row_key is not None:
            old_key = self._row_key(old_cursor)

        self._rows = rows
        self._row_key = row_key
        self._row_style = row_style
        self._index_of = index_of
        count = len(rows)

        new_cursor = min(old_cursor, max(0, count - 1))
        if old_key is not None and count:
            found = self._find_key(old_key, old_cursor, count - old_count)
            if found is not None:
                new_cursor = found
        if self.follow == "tail":
            new_cursor = max(0, count - 1)
        elif self.follow == "head":
            new_cursor = 0

        self._sample_widths(count)
        self.set_class(count == 0, "-empty")
        self._invalidate()
        self._cursor = new_cursor
        if not self.is_mounted:
            return
        # Keep the record on the same screen line, then make sure the cursor is visible.
        self._scroll_to_y(self.scroll_offset.y + (new_cursor - old_cursor))
        self._scroll_cursor_into_view()
        new_key = row_key(new_cursor) if (row_key is not None and count) else None
        if count == 0:
            if old_count:
                self.post_message(self.CursorMoved(self, None))
        elif new_cursor != old_cursor or old_count == 0 or new_key != old_key:
            self.post_message(self.CursorMoved(self, new_cursor))

    def refresh_rows(self) -> None:
        """Redraw the visible rows after the store changed in place (same length)."""
        self._invalidate()

    def move_cursor(self, index: int) -> None:
        """Move the cursor to a record and scroll it into view.

        Args:
            index: Record index; clamped to the store.
        """
        count = len(self._rows)
        if not count:
            return
        index = max(0, min(index, count - 1))
        edge = {"head": 0, "tail": count - 1}.get(self.follow or "")
        if edge is not None and index != edge:
            self.follow = None
        if index == self._cursor:
            self._scroll_cursor_into_view()
            return
        old = self._cursor
        self._cursor = index
        self._refresh_record(old)
        self._refresh_record(index)
        self._scroll_cursor_into_view()
        self.post_message(self.CursorMoved(self, index))

    # ----------------------------------------------------------------- actions

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_page_down(self) -> None:
        page = self._body_height()
        self._scroll_to_y(self.scroll_offset.y + page)
        self.move_cursor(self._cursor + page)

    def action_page_up(self) -> None:
        page = self._body_height()
        self._scroll_to_y(self.scroll_offset.y - page)
        self.move_cursor(self._cursor - page)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._rows) - 1)

    def action_select(self) -> None:
        if len(self._rows):
            self.post_message(self.Selected(self, self._cursor))

    def action_follow(self, edge: str) -> None:
        """Follow the "head" or "tail" of the rows (anything else stops following)."""
        self.follow = edge if edge in ("head", "tail") else None  # type: ignore[assignment]

    def action_scroll_columns(self, direction: int) -> None:
        """Scroll horizontally to the start of the next (1) or previous (-1) column."""
        starts, _ = self._layout()
        x = self.scroll_offset.x
        if direction > 0:
            target = next((start for start in starts if start > x), x)
        else:
            target = next((start for start in reversed(starts) if start < x), 0)
        self.scroll_to(x=target, animate=False)

    def action_sort(self, column_key: str) -> None:
        """Ask for the rows sorted by a column; sorting it again reverses the order."""
        descending = self.sort_by is not None and self.sort_by == (column_key, False)
        self.post_message(self.SortRequested(self, column_key, descending))

    def action_sort_next(self) -> None:
        keys = [column.key for column in self._columns]
        if not keys:
            return
        if self.sort_by is None or self.sort_by[0] not in keys:
            next_key = keys[0]
        else:
            next_key = keys[(keys.index(self.sort_by[0]) + 1) % len(keys)]
        self.post_message(self.SortRequested(self, next_key, False))

    def action_sort_reverse(self) -> None:
        if self.sort_by is not None:
            key, descending = self.sort_by
            self.post_message(self.SortRequested(self, key, not descending))
        elif self._columns:
            self.post_message(self.SortRequested(self, self._columns[0].key, True))

    # ----------------------------------------------------------------- events and watchers

    def watch_follow(self, follow: Follow) -> None:
        self.set_class(follow is not None, "-following")
        count = len(self._rows)
        if count and follow == "tail":
            self.move_cursor(count - 1)
        elif count and follow == "head":
            self.move_cursor(0)

    def watch_sort_by(self) -> None:
        self._sample_widths(len(self._rows))
        self._invalidate()

    def watch_show_header(self) -> None:
        self._invalidate()

    def on_mount(self) -> None:
        if len(self._rows):
            self.post_message(self.CursorMoved(self, self._cursor))

    def render_lines(self, crop: Region) -> list[Strip]:
        # Scrollbars appearing change the usable width without a resize event: re-fit then.
        viewport = self.scrollable_content_region.width
        if self._column_layout is not None and self._column_layout[0] != viewport:
            self.call_after_refresh(self._invalidate)
        return super().render_lines(crop)

    def on_resize(self, event: events.Resize) -> None:
        self._invalidate()
        self.call_after_refresh(self._scroll_cursor_into_view)

    def on_focus(self) -> None:
        self._line_cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._line_cache.clear()
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        header = 1 if self.show_header else 0
        if offset.y < header:
            column = self._column_at(offset.x + self.scroll_offset.x)
            if column is not None:
                self.action_sort(column.key)
            return
        index = self.scroll_offset.y + offset.y - header
        if 0 <= index < len(self._rows):
            self.move_cursor(index)
            if event.chain == 2:
                self.post_message(self.Selected(self, index))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._line_cache.clear()

    # ----------------------------------------------------------------- rendering

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        header = 1 if self.show_header else 0
        if y < header:
            strip = self._header_strip(base)
        else:
            index = scroll_y + y - header
            count = len(self._rows)
            if count == 0 and y == header:
                style = base + self.get_component_rich_style("record-table--empty")
                return Strip([Segment(fit_cell(self.empty_text, width), style)], width)
            if not 0 <= index < count:
                return Strip.blank(width, base)
            strip = self._row_strip(index, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _header_strip(self, base: Style) -> Strip:
        cache_key = ("header", self._generation, self.has_focus)
        cached = self._line_cache.get(cache_key)
        if cached is not None:
            return cached
        style = base + self.get_component_rich_style("record-table--header")
        titles = []
        for column in self._columns:
            title = escape_controls(column.title)
            if self.sort_by is not None and self.sort_by[0] == column.key:
                title += " ▼" if self.sort_by[1] else " ▲"
            titles.append(title)
        strip = self._compose_strip(titles, style)
        self._line_cache[cache_key] = strip
        return strip

    def _row_strip(self, index: int, base: Style) -> Strip:
        is_cursor = index == self._cursor
        cache_key = (index, self._generation, is_cursor, self.has_focus)
        cached = self._line_cache.get(cache_key)
        if cached is not None:
            return cached
        style = base
        if self._row_style is not None:
            key = self._row_style(index)
            if key in ROW_STYLES:
                style = style + self.get_component_rich_style(f"record-table--{key}")
        if is_cursor:
            style = style + self.get_component_rich_style("record-table--cursor")
        raw = self._rows[index]
        cells = [_cell_text(raw, column) for column in range(len(self._columns))]
        strip = self._compose_strip(cells, style)
        self._line_cache[cache_key] = strip
        return strip

    def _compose_strip(self, cells: Sequence[str], style: Style) -> Strip:
        starts, widths = self._layout()
        parts: list[str] = []
        for position, (column, width) in enumerate(zip(self._columns, widths, strict=True)):
            if position:
                parts.append(" ")
            parts.append(fit_cell(cells[position], width, column.align))
        total = (starts[-1] + widths[-1]) if widths else 0
        line_width = max(total, self.size.width)
        text = "".join(parts)
        if line_width > total:
            text += " " * (line_width - total)
        return Strip([Segment(text, style)], line_width)

    # ----------------------------------------------------------------- layout

    def _layout(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Column start offsets and widths for the current viewport width."""
        viewport = self.scrollable_content_region.width or self.size.width
        if self._column_layout is not None and self._column_layout[0] == viewport:
            return self._column_layout[1], self._column_layout[2]
        widths = [
            max(column.min_width, column.width if column.width is not None else auto)
            for column, auto in zip(self._columns, self._auto_widths, strict=True)
        ]
        flex = [position for position, column in enumerate(self._columns) if column.flex]
        natural = sum(widths) + max(0, len(widths) - 1)
        if flex and natural != viewport:
            spare = viewport - natural
            for order, position in enumerate(flex):
                share = spare // len(flex) + (1 if order < spare % len(flex) else 0)
                widths[position] = max(self._columns[position].min_width, widths[position] + share)
        starts: list[int] = []
        x = 0
        for width in widths:
            starts.append(x)
            x += width + 1
        result = (viewport, tuple(starts), tuple(widths))
        self._column_layout = result
        return result[1], result[2]

    def _column_at(self, x: int) -> Column | None:
        starts, widths = self._layout()
        for column, start, width in zip(self._columns, starts, widths, strict=True):
            if start <= x < start + width + 1:
                return column
        return None

    def _sample_widths(self, count: int) -> None:
        """Grow auto widths from the header and a bounded sample of rows (never shrinks)."""
        sample = [*range(min(count, _SAMPLE_HEAD))]
        sample += range(max(len(sample), count - _SAMPLE_TAIL), count)
        cursor = min(self._cursor, count - 1)
        if cursor >= len(sample):
            sample += range(max(0, cursor - 10), min(count, cursor + 30))
        for position, column in enumerate(self._columns):
            if column.width is not None:
                continue
            sorted_here = self.sort_by is not None and self.sort_by[0] == column.key
            title_width = cell_len(escape_controls(column.title)) + (2 if sorted_here else 0)
            widest = max(self._auto_widths[position], title_width)
            for index in sample:
                widest = max(widest, cell_len(_cell_text(self._rows[index], position)))
                if widest >= column.max_width:
                    break
            self._auto_widths[position] = min(widest, column.max_width)

    def _invalidate(self) -> None:
        self._generation += 1
        self._column_layout = None
        self._line_cache.clear()
        header = 1 if self.show_header else 0
        starts, widths = self._layout()
        total = (starts[-1] + widths[-1]) if widths else 0
        self.virtual_size = Size(total, len(self._rows) + header)
        self.refresh()

    # ----------------------------------------------------------------- scrolling

    def _body_height(self) -> int:
        header = 1 if self.show_header else 0
        return max(1, self.scrollable_content_region.height - header)

    def _scroll_to_y(self, y: int) -> None:
        self.scroll_to(y=max(0, y), animate=False)

    def _scroll_cursor_into_view(self) -> None:
        if not len(self._rows):
            return
        top = self.scroll_offset.y
        body = self._body_height()
        if self._cursor < top:
            self._scroll_to_y(self._cursor)
        elif self._cursor >= top + body:
            self._scroll_to_y(self._cursor - body + 1)

    def _refresh_record(self, index: int) -> None:
        header = 1 if self.show_header else 0
        self.refresh_line(index + header)

    def _find_key(self, key: Hashable, old_index: int, delta: int) -> int | None:
        """Where the record with `key` is in the new store, without scanning it all."""
        if self._index_of is not None:
            return self._index_of(key)
        row_key = self._row_key
        assert row_key is not None
        count = len(self._rows)
        for probe in (old_index, old_index + delta):
            if 0 <= probe < count and row_key(probe) == key:
                return probe
        for centre in (old_index, old_index + delta):
            low = max(0, centre - _KEY_SEARCH_WINDOW)
            high = min(count, centre + _KEY_SEARCH_WINDOW)
            for probe in range(low, high):
                if row_key(probe) == key:
                    return probe
        return None


def _cell_text(row: Sequence[object], position: int) -> str:
    """Cell `position` of a row as display-safe plain text ("" if missing)."""
    if position >= len(row):
        return ""
    value = row[position]
    if value is None:
        return ""
    return escape_controls(value if isinstance(value, str) else str(value))
