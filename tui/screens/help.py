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

from widgets.columns import label_grid

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
        sections: list[tuple[str, list[Binding]]] = [("Everywhere", _bindings(type(self.app)))]
        if below is not None:
            from tui.panes.base import Pane
            from widgets.record_table import RecordTable

            panes = list(below.query(Pane))
            layout = _bindings(type(below))
            if panes:
                layout += _bindings(Pane)  # every pane's (b), said once
            sections.append(("Panes and layout", layout))
            from widgets.filter_bar import FilterBar

            shared = _bindings(RecordTable) + _bindings(FilterBar)
            common = {id(b) for b in _bindings(Pane) + shared}
            for pane in panes:
                # The pane's own keys, and those of the rows it shows (a series row's enter),
                # whether or not any row is on screen yet.
                classes = [type(pane), *getattr(pane, "HELP_WIDGETS", ())]
                classes += [type(w) for w in pane.query("*")]
                own: list[Binding] = []
                for cls in dict.fromkeys(classes):
                    own += [b for b in _bindings(cls) if id(b) not in common and b not in own]
                sections.append((f"{pane.key} {pane.title} pane", own))
            tables = {f"{p.key} {p.title}" for p in panes if p.query(RecordTable)}
            if tables:
                sections.append((f"Tables and filters ({', '.join(sorted(tables))})", shared))
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
        width = min(max(len(k) for k, _ in rows), 24) + 2
        cells = [(Text(f"  {keys}"), Text(desc)) for keys, desc in rows]
        parts.append(label_grid(cells, label_width=width, label_max=26))
    parts.append(Text(f"\n{OUTRO}"))
    return Group(*parts)


def _bindings(cls: type) -> list[Binding]:
    """The bindings hamari declares on a class, its own first, then those it inherits from
    hamari's classes (a pane's b, declared once on the base pane); never Textual's own."""
    found: list[Binding] = []
    for klass in cls.__mro__:
        if not klass.__module__.startswith(("tui.", "widgets.")):
            break
        found += [b for b in klass.__dict__.get("BINDINGS", []) if isinstance(b, Binding)]
        if not klass.__dict__.get("_inherit_bindings", True):
            break
    return found
