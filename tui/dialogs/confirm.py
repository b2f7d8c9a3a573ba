"""A yes/no question before something that costs money or cannot be taken back.

Used before a Logs Insights query (billed per GB scanned): the question carries the estimate,
so the user decides with the figure in front of them. Enter or ``y`` runs, ``esc`` or ``n``
does not; the default answer is no.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmScreen(ModalScreen[bool]):
    """Show ``title`` and ``body`` (plain text, never markup); dismiss with the answer."""

    CSS_PATH = "confirm.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,y", "answer(True)", "Run", id="confirm.yes"),
        Binding("escape,n", "answer(False)", "Cancel", id="confirm.no"),
    ]

    def __init__(self, title: str, body: str, *, yes: str = "run") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.yes = yes

    def compose(self) -> ComposeResult:
        # The question and its keys first: on a 24-row terminal the body may need scrolling,
        # and the way out must never be below the fold.
        with Vertical():
            yield Static(Text(self.title_text, style="bold"), markup=False)
            yield Static(
                Text(f"enter/y: {self.yes} · esc/n: cancel"), id="confirm-keys", markup=False
            )
            with VerticalScroll(id="confirm-body"):
                yield Static(Text(self.body), markup=False)

    def on_mount(self) -> None:
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        # Border, title and keys take four rows; leave a margin of the screen around it.
        self.query_one("#confirm-body").styles.max_height = max(3, self.app.size.height - 8)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
