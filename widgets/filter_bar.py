"""A filter input that checks the whole expression before anything is applied.

The app passes a parser; on enter the bar runs it and either posts `FilterBar.Applied` or shows
the parser's error at its column (and leaves the previous filter in force), so a malformed filter
is never applied halfway. Field names are offered as completions of the word being typed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input

from widgets.record_table import escape_controls

__all__ = ["FieldSuggester", "FilterBar"]


class FieldSuggester(SuggestFromList):
    """Completes the last word of the input from a list (e.g. `err` -> `error:`), any case."""

    def __init__(self, suggestions: Sequence[str]) -> None:
        # The value is compared case-insensitively below, so keep it as typed.
        super().__init__(suggestions, case_sensitive=True)
        self._folded = [suggestion.casefold() for suggestion in suggestions]

    async def get_suggestion(self, value: str) -> str | None:
        word = value.rsplit(" ", 1)[-1].lstrip("-")
        if not word:
            return None
        folded = word.casefold()
        for suggestion, candidate in zip(self._suggestions, self._folded, strict=True):
            if candidate.startswith(folded) and len(candidate) > len(folded):
                return value + suggestion[len(word) :]
        return None


class FilterBar(Input):
    """An `Input` for a filter expression, validated by the app's parser on enter.

    The parser raises on a malformed expression; the exception's `column` (0-based offset into
    the text, optional) and `message` (or `str()`) are shown in the bar's subtitle, the cursor
    jumps to the column, and the dash class `-error` is set until the text is fixed.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "clear_filter",
            "Clear",
            show=False,
            id="filter_bar.clear",
            tooltip="In the filter bar: clear the filter",
        ),
    ]

    DEFAULT_CSS = """
    FilterBar {
        border: tall $border-blurred;
        border-subtitle-color: $error;
        border-subtitle-align: left;
        &:focus { border: tall $border; }
        &.-error { border: tall $error; }
    }
    """

    class Applied(Message):
        """A valid filter was entered (possibly empty: no filter)."""

        def __init__(self, filter_bar: FilterBar, text: str) -> None:
            super().__init__()
            self.filter_bar = filter_bar
            self.text = text

        @property
        def control(self) -> FilterBar:
            return self.filter_bar

    class Cleared(Message):
        """The user cleared the filter with escape."""

        def __init__(self, filter_bar: FilterBar) -> None:
            super().__init__()
            self.filter_bar = filter_bar

        @property
        def control(self) -> FilterBar:
            return self.filter_bar

    def __init__(
        self,
        parse: Callable[[str], object],
        fields: Sequence[str] = (),
        *,
        value: str = "",
        placeholder: str = "filter: key:value … (enter applies, esc clears)",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """Create a filter bar.

        Args:
            parse: Checks a filter expression; raises (with `.column`, `.message`) if malformed.
            fields: Field names offered as completions, as `name:`.
            value: Initial text.
            placeholder: Shown while empty.
            name: Widget name.
            id: Widget id.
            classes: Space-separated CSS classes.
            disabled: Start disabled.
        """
        suggester = FieldSuggester([f"{field}:" for field in fields]) if fields else None
        super().__init__(
            value,
            placeholder,
            suggester=suggester,
            name=name,
            id=id,
            classes=classes,
            disabled=disabled,
        )
        self._parse = parse
        self.error: str | None = None

    async def action_submit(self) -> None:
        """Check the text; post `Applied` if it parses, else show the error."""
        text = self.value
        try:
            self._parse(text)
        except Exception as error:
            column = getattr(error, "column", None)
            message = str(getattr(error, "message", None) or error or type(error).__name__)
            self.show_error(message, column if isinstance(column, int) else None)
            return
        self.clear_error()
        self.post_message(self.Applied(self, text))

    def action_clear_filter(self) -> None:
        """Empty the bar and post `Cleared`."""
        self.value = ""
        self.clear_error()
        self.post_message(self.Cleared(self))

    def show_error(self, message: str, column: int | None = None) -> None:
        """Show a parse error (plain text, never markup), pointing at a 0-based column."""
        where = f"col {column + 1}: " if column is not None else ""
        self.error = f"{where}{escape_controls(message)}"
        self.border_subtitle = Content(self.error)
        self.add_class("-error")
        # The border is one line: a message longer than it (the known fields of an unknown one)
        # is cut there, so it is also shown whole, wrapped, as a notification.
        if self.size.width and len(self.error) > self.size.width - 4:
            self.notify(self.error, title="Filter", severity="error", timeout=10, markup=False)
        if column is not None:
            self.cursor_position = max(0, min(column, len(self.value)))

    def clear_error(self) -> None:
        """Remove the error display."""
        self.error = None
        self.border_subtitle = None
        self.remove_class("-error")

    def on_input_changed(self, event: Input.Changed) -> None:
        # Editing the text retracts the error it was about; the message still bubbles on.
        if event.input is self and self.error is not None:
            self.clear_error()
