"""The one "where should I write this?" prompt, shared by every pane that exports.

Writing to disk only ever happens here, on the user's explicit request (the bastion is shared:
nothing else is written). The default is a file name relative to the current folder, never the
folder's absolute name, which may hold anything.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ExportPrompt(ModalScreen[str | None]):
    """Ask for a path; dismisses with it (stripped), or None on escape or an empty answer."""

    CSS_PATH = "export.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="export.cancel", tooltip="Do not export"),
    ]

    def __init__(self, message: str, default: str) -> None:
        super().__init__()
        self.message = message
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.message), markup=False)
            yield Input(self.default, id="export-path", select_on_focus=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)
