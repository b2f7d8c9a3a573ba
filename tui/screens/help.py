"""The ``?`` help screen: every key, generated from the bindings so it cannot drift."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = """hamari: CloudTrail, CloudWatch and VPC flow logs on one time line.

Incident playbook
  Instance will not start   1 CloudTrail → filter error:AccessDenied* → enter on the StartInstances
  Slow after migration      2 CloudWatch → read the verdict: which EBS limit binds
  Works only sometimes      3 Flow logs  → REJECTs by AZ → the NACL rule on the return leg
"""


class HelpScreen(ModalScreen[None]):
    """Keys of the app and of the screen below, with what they do."""

    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", key_display="esc"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._text(), markup=False)

    def _text(self) -> Text:
        text = Text(INTRO)
        below = next((s for s in reversed(self.app.screen_stack) if s is not self), None)
        sections: list[tuple[str, list[Binding]]] = [("Everywhere", _bindings(self.app))]
        if below is not None:
            sections.append(("Panes and layout", _bindings(below)))
            from tui.panes.base import Pane

            for pane in below.query(Pane):
                sections.append((f"{pane.key} {pane.title} pane", _bindings(pane)))
        seen: set[tuple[str, str]] = set()
        for title, bindings in sections:
            lines = []
            for binding in bindings:
                keys = binding.key_display or binding.key
                desc = binding.description
                if binding.tooltip and binding.tooltip != desc:
                    desc = f"{desc}: {binding.tooltip}" if desc else binding.tooltip
                if not desc or (keys, desc) in seen:
                    continue
                seen.add((keys, desc))
                lines.append(f"  {keys:<14} {desc}\n")
            if lines:
                text.append(f"\n{title}\n", style="bold")
                for line in lines:
                    text.append(line)
        text.append(
            "\nWhen something fails, the pane says what and what to do; see the README, "
            "'When something fails'.\n"
        )
        return text


def _bindings(node: object) -> list[Binding]:
    """The declared bindings of a node, in order (never markup: plain strings)."""
    return [b for b in getattr(node, "BINDINGS", []) if isinstance(b, Binding)]
