"""The ``?`` help screen: every key, generated from the bindings so it cannot drift."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = "hamari: CloudTrail, CloudWatch and VPC flow logs on one time line."
PLAYBOOK = (
    (
        "Instance will not start",
        "1 CloudTrail → filter error:AccessDenied* → enter on the StartInstances",
    ),
    ("Slow after migration", "2 CloudWatch → read the verdict: which EBS limit binds"),
    ("Works only sometimes", "3 Flow logs → REJECTs by AZ → the NACL rule on the return leg"),
)
OUTRO = (
    "When something fails, the pane says what and what to do; see the README, "
    "'When something fails'."
)


class HelpScreen(ModalScreen[None]):
    """Keys of the app and of the screen below, with what they do."""

    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", key_display="esc"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._text(), markup=False)

    def _text(self) -> Group:
        below = next((s for s in reversed(self.app.screen_stack) if s is not self), None)
        sections: list[tuple[str, list[Binding]]] = [("Everywhere", _bindings(self.app))]
        if below is not None:
            sections.append(("Panes and layout", _bindings(below)))
            from tui.panes.base import Pane

            for pane in below.query(Pane):
                sections.append((f"{pane.key} {pane.title} pane", _bindings(pane)))
        seen: set[tuple[str, str]] = set()
        listed: list[tuple[str, list[tuple[str, str]]]] = [("Incident playbook", list(PLAYBOOK))]
        for title, bindings in sections:
            rows = []
            for binding in bindings:
                keys = self.app.get_key_display(binding)  # '/' for slash, as the key bar shows
                desc = binding.description
                if binding.tooltip and binding.tooltip != desc:
                    desc = f"{desc}: {binding.tooltip}" if desc else binding.tooltip
                if not desc or (keys, desc) in seen:
                    continue
                seen.add((keys, desc))
                rows.append((keys, desc))
            if rows:
                listed.append((title, rows))
        return help_text(listed)


def help_text(sections: list[tuple[str, list[tuple[str, str]]]]) -> Group:
    """The help as titled two-column grids: a long description wraps inside its own column,
    so at 80 columns the keys stay readable down the left edge (never markup: plain Text)."""
    parts: list[Text | Table] = [Text(INTRO)]
    for title, rows in sections:
        parts.append(Text(f"\n{title}", style="bold"))
        grid = Table.grid(padding=(0, 1), pad_edge=False)
        width = max(len(k) for k, _ in rows)
        grid.add_column(min_width=min(width, 24) + 2, max_width=26, no_wrap=True)
        grid.add_column(ratio=1)
        for keys, desc in rows:
            grid.add_row(Text(f"  {keys}"), Text(desc))
        parts.append(grid)
    parts.append(Text(f"\n{OUTRO}"))
    return Group(*parts)


def _bindings(node: object) -> list[Binding]:
    """The declared bindings of a node, in order (never markup: plain strings)."""
    return [b for b in getattr(node, "BINDINGS", []) if isinstance(b, Binding)]
