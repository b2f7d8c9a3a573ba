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

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 100%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", key_display="esc"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._text(), markup=False)

    def _text(self) -> Text:
        text = Text(INTRO)
        text.append("\nKeys\n", style="bold")
        seen: set[str] = set()
        stack = list(self.app.screen_stack)
        below = stack[-1] if stack and stack[-1] is not self else None
        sources = [below, self.app] if below is not None else [self.app]
        for node in sources:
            for binding in getattr(node, "BINDINGS", []):
                if not isinstance(binding, Binding) or binding.key in seen:
                    continue
                seen.add(binding.key)
                keys = binding.key_display or binding.key
                desc = binding.tooltip or binding.description
                text.append(f"  {keys:<12} {desc}\n")
        text.append(
            "\nWhen something fails, the pane says what and what to do; see README, 'Troubleshooting'.\n"
        )
        return text
