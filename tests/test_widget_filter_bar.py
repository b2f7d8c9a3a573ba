"""FilterBar: all-or-nothing apply, error at its column, escape clears, field completion."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.app import App, ComposeResult
from textual.message import Message

from widgets.filter_bar import FieldSuggester, FilterBar


class ParseError(ValueError):
    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


def parse(text: str) -> None:
    """Accept `key:value` terms only; the error points at the bad term (0-based)."""
    offset = 0
    for term in text.split(" "):
        if term and ":" not in term:
            raise ParseError(f"expected key:value, got {term!r}", offset)
        offset += len(term) + 1


class BarApp(App[None]):
    def __init__(self, make_bar: Callable[[], FilterBar]) -> None:
        super().__init__()
        # Built in compose: Textual's Input needs a running app to take an initial value.
        self.make_bar = make_bar
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        self.bar = self.make_bar()
        yield self.bar

    def on_filter_bar_applied(self, event: FilterBar.Applied) -> None:
        self.messages.append(event)

    def on_filter_bar_cleared(self, event: FilterBar.Cleared) -> None:
        self.messages.append(event)


async def test_valid_filter_is_applied_on_enter() -> None:
    app = BarApp(lambda: FilterBar(parse, ["error", "user"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"user:alice", "enter")
        await pilot.pause()
        assert len(app.messages) == 1
        applied = app.messages[0]
        assert isinstance(applied, FilterBar.Applied)
        assert applied.text == "user:alice"
        assert applied.control is app.bar


async def test_malformed_filter_shows_its_column_and_is_not_applied() -> None:
    app = BarApp(lambda: FilterBar(parse))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"user:alice [/]oops", "enter")
        await pilot.pause()
        assert app.messages == []
        bar = app.bar
        assert bar.has_class("-error")
        assert bar.error == "col 12: expected key:value, got '[/]oops'"
        assert bar.cursor_position == 11
        await pilot.press("backspace")
        assert not bar.has_class("-error")


@pytest.mark.parametrize(("length", "notified"), [(40, False), (150, True)])
async def test_an_error_longer_than_the_border_is_also_shown_whole(
    length: int, notified: bool
) -> None:
    """The border is one line: a long message (the known fields) was cut there, unread."""
    message = ("x" * (length - 4)) + " end"

    def fails(text: str) -> None:
        raise ValueError(message)

    app = BarApp(lambda: FilterBar(fails))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("x", "enter")
        await pilot.pause()
        shown = [n.message for n in app._notifications]
        assert (message in shown) is notified, shown


async def test_error_text_from_the_parser_is_never_markup_or_escapes() -> None:
    def hostile(text: str) -> None:
        raise ValueError("[link=https://evil]x[/link] \x1b]0;t\x07")

    app = BarApp(lambda: FilterBar(hostile))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("x", "enter")
        await pilot.pause()
        assert app.bar.error == "[link=https://evil]x[/link] \\x1b]0;t\\x07"
        assert app.is_running


async def test_escape_clears_and_posts_cleared() -> None:
    app = BarApp(lambda: FilterBar(parse, value="user:bob"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert app.bar.value == ""
        assert [type(m) for m in app.messages] == [FilterBar.Cleared]


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("err", "error:"),
        ("ERR", "ERRor:"),
        ("user:alice er", "user:alice error:"),
        ("-so", "-source:"),
        ("zzz", None),
        ("", None),
        ("error:", None),
    ],
)
async def test_field_suggestions_complete_the_last_word(typed: str, suggested: str | None) -> None:
    suggester = FieldSuggester(["error:", "user:", "source:"])
    assert await suggester.get_suggestion(typed) == suggested
