"""What a pane's source could not read: one line per bad line, record or file, with the reason.

The status line only counts ("bad 5 ln/1 files"); ``b`` opens this list so that nothing is
dropped without a name. File names, reasons and line text come from files and AWS: they are
shown as plain, display-safe ``Text`` (never markup, control sequences escaped).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.models.text import display_safe

if TYPE_CHECKING:
    from tui.models.skipped import Skipped


def skipped_prompt(item: Skipped) -> Text:
    """``path:12  reason`` then the start of the line, dimmed (all display-safe)."""
    text = Text()
    where = display_safe(item.where) if item.where else "(source)"
    text.append(f"{where}:{item.line}" if item.line else where, style="bold")
    text.append("  ")
    text.append(display_safe(item.reason))
    if item.text:
        text.append("\n  ")
        text.append(display_safe(item.text[:160]), style="dim")
    return text


class SkippedScreen(ModalScreen[None]):
    """The list of skipped lines and files of one pane; esc closes."""

    CSS_PATH = "skipped.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,b", "dismiss(None)", "Close", id="skipped.close"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
    ]

    def __init__(self, pane: str, items: Sequence[Skipped], total: int) -> None:
        super().__init__()
        self.pane = pane
        self.items = tuple(items)
        self.total = max(total, len(self.items))

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.caption(), id="skipped-caption", markup=False)
            options = [Option(skipped_prompt(item)) for item in self.items]
            if not options:
                options = [Option(Text("Nothing was skipped."), disabled=True)]
            yield OptionList(*options, id="skipped-list")

    def caption(self) -> Text:
        text = Text()
        text.append(f"{self.pane}: {self.total:,} skipped", style="bold")
        if self.total > len(self.items):
            text.append(
                f" · the first {len(self.items):,} are named here; `hamari trail|flows "
                "--source …` names every one on stderr"
            )
        text.append(" · esc: close")
        return text

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        option_list.focus()
        if self.items:
            option_list.highlighted = 0

    def action_cursor(self, step: int) -> None:
        option_list = self.query_one(OptionList)
        if step > 0:
            option_list.action_cursor_down()
        else:
            option_list.action_cursor_up()
