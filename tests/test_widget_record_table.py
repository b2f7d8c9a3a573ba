"""RecordTable: plain-text cells, virtual rendering, cursor keeping and messages."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.message import Message

from widgets.record_table import CallableRows, Column, RecordTable, escape_controls, fit_cell

HOSTILE_MARKUP = [
    "[/]",
    "[/admin]",
    "[link=https://evil]cli[/link]",
    "[@click=app.quit]x[/]",
    "[ERROR]",
]


class CountingRows:
    """A store that counts how many rows the table fetched."""

    def __init__(self, count: int, prefix: str = "row") -> None:
        self.count = count
        self.prefix = prefix
        self.fetched = 0

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[str, str]:
        if not 0 <= index < self.count:
            raise IndexError(index)
        self.fetched += 1
        return (f"{self.prefix} {index}", f"value {index % 7}")


class TableApp(App[None]):
    def __init__(self, table: RecordTable) -> None:
        super().__init__()
        self.table = table
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield self.table

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        self.messages.append(event)

    def on_record_table_selected(self, event: RecordTable.Selected) -> None:
        self.messages.append(event)

    def on_record_table_sort_requested(self, event: RecordTable.SortRequested) -> None:
        self.messages.append(event)


def two_columns() -> list[Column]:
    return [Column("name", "Name"), Column("value", "Value", flex=True)]


def screen_lines(app: App[None]) -> list[str]:
    """The text a user sees, line by line, from the compositor."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def of_type(app: TableApp, kind: type[Message]) -> list[Message]:
    return [message for message in app.messages if isinstance(message, kind)]


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain", "plain"),
        ("\x1b[2J", "\\x1b[2J"),
        ("\x1b]52;c;SGVsbG8=\x07", "\\x1b]52;c;SGVsbG8=\\x07"),
        ("\x9b31m", "\\x9b31m"),
        ("a\tb\nc\r", "a\\x09b\\x0ac\\x0d"),
        ("\x00\x7f", "\\x00\\x7f"),
        ("abc\u202egnp.exe", "abc\\u202egnp.exe"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("lone \ud800", "lone \\ud800"),
        ("日本語 ok", "日本語 ok"),
    ],
)
def test_escape_controls(raw: str, shown: str) -> None:
    assert escape_controls(raw) == shown


@given(st.text())
def test_escape_controls_leaves_no_control_character(text: str) -> None:
    shown = escape_controls(text)
    assert not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in shown)


@pytest.mark.parametrize(
    ("text", "width", "align", "expected"),
    [
        ("abc", 5, "left", "abc  "),
        ("abc", 5, "right", "  abc"),
        ("abc", 6, "center", " abc  "),
        ("abcdef", 4, "left", "abc…"),
        ("abcd", 4, "left", "abcd"),
        ("abc", 0, "left", ""),
        ("abc", 1, "left", "…"),
    ],
)
def test_fit_cell(text: str, width: int, align: str, expected: str) -> None:
    assert fit_cell(text, width, align) == expected  # type: ignore[arg-type]


@given(st.text(), st.integers(min_value=0, max_value=30))
def test_fit_cell_is_exact_width(text: str, width: int) -> None:
    assert cell_len(fit_cell(escape_controls(text), width)) == width


def test_widgets_do_not_import_aws_or_app() -> None:
    code = (
        "import sys, widgets.record_table, widgets.sparkline\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('tui', 'botocore', 'aiobotocore', 'boto3')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- untrusted cells


async def test_markup_like_cells_are_shown_literally() -> None:
    rows = [(text, "ok") for text in HOSTILE_MARKUP]
    app = TableApp(RecordTable([Column("name", "Name", max_width=40), Column("v", "V")], rows))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
        for position, text in enumerate(HOSTILE_MARKUP, start=1):
            assert lines[position].startswith(text)
        await pilot.press("down", "down", "enter")
        assert app.is_running


async def test_escape_bytes_in_cells_are_visible_and_never_emitted() -> None:
    rows = [("\x1b]52;c;SGVsbG8=\x07", "\x1b[2J\x9b31m"), ("title\x1b]0;pwned\x07", "ok")]
    app = TableApp(RecordTable(two_columns(), rows))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        strips = app.screen._compositor.render_strips()
        lines = [strip.text for strip in strips]
        assert "\\x1b]52;c;SGVsbG8=\\x07" in lines[1]
        assert "\\x1b[2J\\x9b31m" in lines[1]
        assert "title\\x1b]0;pwned\\x07" in lines[2]
        for strip in strips:
            for segment in strip:
                assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in segment.text)


async def test_long_cells_are_clipped_with_an_ellipsis() -> None:
    columns = [Column("a", "A", width=10), Column("b", "B", width=5)]
    app = TableApp(RecordTable(columns, [("x" * 30, "yyyyyyy")]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert screen_lines(app)[1].startswith("xxxxxxxxx… yyyy…")


# --------------------------------------------------------------------------- cursor and scrolling


async def test_cursor_keys_and_end_jump_on_100k_rows() -> None:
    store = CountingRows(100_000)
    app = TableApp(RecordTable(two_columns(), store))
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.table
        await pilot.pause()
        assert table.cursor_row == 0
        await pilot.press("j", "j", "down", "k")
        assert table.cursor_row == 2
        await pilot.press("G")
        await pilot.pause()
        assert table.cursor_row == 99_999
        assert screen_lines(app)[-1].startswith("row 99999 ")
        await pilot.press("up")
        assert table.cursor_row == 99_998
        await pilot.press("g")
        await pilot.pause()
        assert table.cursor_row == 0
        assert screen_lines(app)[1].startswith("row 0 ")
        await pilot.press("pagedown")
        assert table.cursor_row == 23
        assert screen_lines(app)[1].startswith("row 23 ")
        await pilot.press("pageup")
        assert table.cursor_row == 0
        moved = of_type(app, RecordTable.CursorMoved)
        assert moved and moved[-1].index == 0  # type: ignore[attr-defined]


async def test_a_million_rows_touch_only_visible_rows() -> None:
    store = CountingRows(1_000_000)
    app = TableApp(RecordTable(two_columns(), store))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        store.fetched = 0
        await pilot.press("end")
        await pilot.pause()
        assert app.table.cursor_row == 999_999
        assert screen_lines(app)[-1].startswith("row 999999 ")
        assert store.fetched < 200


async def test_enter_posts_selected_with_the_index() -> None:
    app = TableApp(RecordTable(two_columns(), CountingRows(50)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("j", "j", "j", "enter")
        await pilot.pause()
        selected = of_type(app, RecordTable.Selected)
        assert [message.index for message in selected] == [3]  # type: ignore[attr-defined]
        assert selected[0].control is app.table  # type: ignore[attr-defined]


async def test_left_right_scroll_by_column() -> None:
    columns = [Column(f"c{n}", f"Col{n}", width=20) for n in range(6)]
    rows = [tuple(f"r{i}c{n}" for n in range(6)) for i in range(5)]
    app = TableApp(RecordTable(columns, rows))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert screen_lines(app)[0].startswith("Col0")
        await pilot.press("l")
        await pilot.pause()
        assert screen_lines(app)[0].startswith("Col1")
        assert screen_lines(app)[1].startswith("r0c1")
        await pilot.press("h")
        await pilot.pause()
        assert screen_lines(app)[0].startswith("Col0")


# --------------------------------------------------------------------------- replacing the store


def newest_first(ids: Sequence[int]) -> tuple[list[tuple[str, str]], dict[int, int]]:
    rows = [(f"event {event_id}", "x") for event_id in ids]
    return rows, {event_id: index for index, event_id in enumerate(ids)}


@pytest.mark.parametrize("use_index_of", [False, True])
async def test_prepended_rows_keep_the_cursor_on_the_same_record(use_index_of: bool) -> None:
    ids = list(range(1000, 0, -1))
    rows, where = newest_first(ids)
    table = RecordTable(two_columns())
    app = TableApp(table)
    async with app.run_test(size=(80, 24)) as pilot:
        table.set_rows(rows, row_key=lambda i: ids[i])
        await pilot.press(*["j"] * 30)
        await pilot.pause()
        assert table.cursor_row == 30
        cursor_line = next(n for n, line in enumerate(screen_lines(app)) if "event 970" in line)

        new_ids = [1003, 1002, 1001, *ids]
        new_rows, new_where = newest_first(new_ids)
        table.set_rows(
            new_rows,
            row_key=lambda i: new_ids[i],
            index_of=new_where.get if use_index_of else None,
        )
        await pilot.pause()
        assert table.cursor_row == 33
        assert new_ids[33] == 970
        lines = screen_lines(app)
        assert "event 970" in lines[cursor_line]
        assert of_type(app, RecordTable.CursorMoved)[-1].index == 33  # type: ignore[attr-defined]
        del where


async def test_follow_tail_moves_to_appended_rows_until_the_user_moves() -> None:
    table = RecordTable(two_columns(), follow="tail")
    app = TableApp(table)
    async with app.run_test(size=(80, 24)) as pilot:
        table.set_rows(CountingRows(100))
        await pilot.pause()
        assert table.cursor_row == 99
        assert table.has_class("-following")
        table.set_rows(CountingRows(150))
        await pilot.pause()
        assert table.cursor_row == 149
        assert screen_lines(app)[-1].startswith("row 149 ")
        await pilot.press("k")
        assert table.follow is None
        assert not table.has_class("-following")
        table.set_rows(CountingRows(200), row_key=lambda i: i, index_of=lambda key: key)  # type: ignore[arg-type,return-value]
        await pilot.pause()
        assert table.cursor_row == 148


async def test_follow_head_for_newest_first() -> None:
    table = RecordTable(two_columns(), CountingRows(10), follow="head")
    app = TableApp(table)
    async with app.run_test(size=(80, 24)) as pilot:
        table.set_rows(CountingRows(20, prefix="new"))
        await pilot.pause()
        assert table.cursor_row == 0
        await pilot.press("j")
        assert table.follow is None


async def test_filter_to_empty_shows_the_empty_text_and_reports_no_cursor() -> None:
    table = RecordTable(two_columns(), CountingRows(10), empty_text="Nothing matches")
    app = TableApp(table)
    async with app.run_test(size=(80, 24)) as pilot:
        table.set_rows([])
        await pilot.pause()
        assert table.cursor_row is None
        assert table.has_class("-empty")
        assert screen_lines(app)[1].startswith("Nothing matches")
        assert of_type(app, RecordTable.CursorMoved)[-1].index is None  # type: ignore[attr-defined]
        await pilot.press("j", "enter", "G")
        assert not of_type(app, RecordTable.Selected)


async def test_callable_rows_and_row_styles() -> None:
    store = CallableRows(5, lambda i: (f"n{i}", "err" if i == 2 else "ok"))
    table = RecordTable(two_columns(), store, row_style=lambda i: "error" if i == 2 else None)
    app = TableApp(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("j")  # cursor off row 2 would be row 1; move it away from the error row
        await pilot.pause()
        error_colour = table.get_component_rich_style("record-table--error").color
        assert error_colour is not None
        strips = app.screen._compositor.render_strips()
        assert strips[3].text.startswith("n2")
        assert all(
            segment.style.color == error_colour for segment in strips[3] if segment.text.strip()
        )
        assert all(
            segment.style.color != error_colour for segment in strips[4] if segment.text.strip()
        )


# --------------------------------------------------------------------------- sorting


async def test_sort_is_requested_and_shown_once_the_app_applies_it() -> None:
    data = [("b", "2"), ("a", "3"), ("c", "1")]
    table = RecordTable(two_columns(), data)

    class SortingApp(TableApp):
        def on_record_table_sort_requested(self, event: RecordTable.SortRequested) -> None:
            # Textual also runs TableApp's handler, which records the message.
            column = [c.key for c in table.columns].index(event.column_key)
            ordered = sorted(data, key=lambda row: row[column], reverse=event.descending)
            table.set_rows(ordered)
            table.sort_by = (event.column_key, event.descending)

    app = SortingApp(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        lines = screen_lines(app)
        assert lines[0].startswith("Name ▲")
        assert [line[:1] for line in lines[1:4]] == ["a", "b", "c"]
        await pilot.press("S")
        await pilot.pause()
        lines = screen_lines(app)
        assert lines[0].startswith("Name ▼")
        assert [line[:1] for line in lines[1:4]] == ["c", "b", "a"]
        await pilot.press("s")
        await pilot.pause()
        assert "Value ▲" in screen_lines(app)[0]
        requests = of_type(app, RecordTable.SortRequested)
        assert [(r.column_key, r.descending) for r in requests] == [  # type: ignore[attr-defined]
            ("name", False),
            ("name", True),
            ("value", False),
        ]


async def test_clicking_a_header_requests_a_sort() -> None:
    app = TableApp(RecordTable(two_columns(), CountingRows(5)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.click(RecordTable, offset=(1, 0))
        await pilot.click(RecordTable, offset=(1, 3))
        await pilot.pause()
        requests = of_type(app, RecordTable.SortRequested)
        assert [(r.column_key, r.descending) for r in requests] == [("name", False)]  # type: ignore[attr-defined]
        assert app.table.cursor_row == 2
