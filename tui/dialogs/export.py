"""The one "where should I write this?" prompt, shared by every pane that exports.

Writing to disk only ever happens here, on the user's explicit request (the bastion is shared:
nothing else is written). The default is a file name relative to the current folder, never the
folder's absolute name, which may hold anything. An existing file is only replaced when enter is
pressed again on the same name (last hour's export is evidence too); a folder, or a name in a
folder that does not exist, is said at once, with the prompt still open.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.models.text import display_safe


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
        self._overwrite = ""  # the name the user was told exists; enter on it again replaces it

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.message), markup=False)
            yield Input(self.default, id="export-path", select_on_focus=False)
            yield Static("", id="export-warning", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if not value:
            self.dismiss(None)
            return
        problem = path_problem(value, confirmed=value == self._overwrite)
        if problem is None:
            self.dismiss(value)
            return
        self._overwrite = value if problem.endswith(OVERWRITE_HINT) else ""
        self.query_one("#export-warning", Static).update(Text(problem, style="bold yellow"))

    @on(Input.Changed)
    def _changed(self, _event: Input.Changed) -> None:
        self._overwrite = ""
        self.query_one("#export-warning", Static).update("")


OVERWRITE_HINT = "enter again to replace it, or change the name"


def path_problem(value: str, *, confirmed: bool) -> str | None:
    """Why ``value`` should not be written yet (display-safe), or None to write it."""
    target = Path(value).expanduser()
    shown = display_safe(value)
    if target.is_dir():
        return f"{shown} is a folder: type a file name in it"
    if not target.parent.is_dir():
        return f"No folder {display_safe(str(target.parent))}: type a name in one that exists"
    if target.exists() and not confirmed:
        return f"{shown} exists: {OVERWRITE_HINT}"
    return None
