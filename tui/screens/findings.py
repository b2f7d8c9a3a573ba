"""The findings screen: every finding with its detail and evidence; enter shows the evidence.

Each finding is one entry (severity symbol, title, detail) followed by one entry per piece of
evidence (``→ 1 CloudTrail: StartInstances and the denials after it``). Enter on a finding shows
its first evidence, enter on an evidence entry shows that one: the screen closes with the chosen
:class:`~tui.models.findings.Evidence` and the main screen switches to that pane, which applies
the filter and puts the cursor on the record. Everything shown is plain, display-safe ``Text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.models.findings import Evidence, Finding
from tui.models.text import display_safe
from tui.screens.findings_strip import MARK_STYLES
from widgets.columns import label_grid

PANE_LABELS = {"trail": "1 CloudTrail", "metrics": "2 CloudWatch", "flows": "3 Flow logs"}


def finding_prompt(finding: Finding) -> Group:
    """A finding's entry: ``✖ title`` in bold, then its detail (display-safe), indented so that
    its wrapped lines stay under it at 80 columns instead of running back to the border."""
    title = Text()
    title.append(finding.mark, style=MARK_STYLES.get(finding.severity, ""))
    title.append(" ")
    title.append(display_safe(finding.title), style="bold")
    if finding.at is not None:
        title.append(f"  {finding.at.astimezone(UTC):%H:%M:%S}", style="dim")
    if not finding.detail:
        return Group(title)
    return Group(title, Padding(Text(display_safe(finding.detail)), (0, 0, 0, 2)))


def evidence_prompt(evidence: Evidence) -> Table:
    """An evidence entry: ``  → 1 CloudTrail: label  [query]``, wrapping after the arrow."""
    text = Text()
    text.append(PANE_LABELS.get(evidence.pane, evidence.pane), style="bold")
    text.append(": ")
    text.append(display_safe(evidence.label))
    if evidence.query:
        text.append("  ")
        text.append(display_safe(evidence.query), style="dim")
    return label_grid([(Text("  →"), text)], label_width=3)


class FindingsScreen(ModalScreen[Evidence | None]):
    """Findings with their evidence; enter shows the evidence in its pane."""

    CSS_PATH = "findings.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,exclamation_mark", "dismiss(None)", "Close", id="findings.close"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
    ]

    def __init__(self, findings: Sequence[Finding], computed_at: datetime | None = None) -> None:
        super().__init__()
        self.findings = tuple(findings)
        self.computed_at = computed_at
        self._choices: dict[str, Evidence] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._caption(), id="findings-caption", markup=False)
            yield OptionList(*self._options(), id="findings-list")

    def _caption(self) -> Text:
        text = Text()
        count = len(self.findings)
        text.append(f"⚑ {count} finding{'s' if count != 1 else ''}", style="bold")
        if self.computed_at is not None:
            text.append(f" from what the panes loaded at {self.computed_at:%H:%M:%S}")
        text.append(" · enter: show the evidence · esc: close")
        return text

    def _options(self) -> list[Option | None]:
        options: list[Option | None] = []
        if not self.findings:
            options.append(Option(Text("No findings in what the panes loaded."), disabled=True))
        for i, finding in enumerate(self.findings):
            if i:
                options.append(None)  # a separator line
            key = f"f{i}"
            options.append(Option(finding_prompt(finding), id=key))
            if finding.evidence:
                self._choices[key] = finding.evidence[0]
            for j, evidence in enumerate(finding.evidence):
                ekey = f"f{i}e{j}"
                self._choices[ekey] = evidence
                options.append(Option(evidence_prompt(evidence), id=ekey))
        return options

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        option_list.focus()
        if self.findings:
            option_list.highlighted = 0

    def action_cursor(self, step: int) -> None:
        option_list = self.query_one(OptionList)
        if step > 0:
            option_list.action_cursor_down()
        else:
            option_list.action_cursor_up()

    @on(OptionList.OptionSelected, "#findings-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        evidence = self._choices.get(event.option.id or "")
        if evidence is not None:
            self.dismiss(evidence)
