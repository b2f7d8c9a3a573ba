"""One flow record explained: every field, where its interface sits, and which NACL rule decides.

Opened from the flow-log pane with ``e`` (or enter). For a REJECT the NACL of the interface's
subnet is evaluated against the record and the rule that denies it is named, which is the end of
the incident 3 investigation ("the forward leg is ACCEPTed, the return leg hits a stateless deny").
Unknown fields of custom formats are listed too, so nothing in the line is hidden. All text is
built with :class:`rich.text.Text` from display-safe strings; nothing is parsed as markup.

Also here: :class:`ExportPrompt`, the one-line question "export to which file?".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.models.flowlog import FIELDS, TRAFFIC_PATHS, FlowRecord
from tui.models.text import display_safe
from tui.models.timewindow import format_instant

_TIME_FIELDS = ("start", "end")


def record_fields(record: FlowRecord, *, utc: bool = True) -> list[tuple[str, str, str]]:
    """``(name, value, note)`` for every field of the record's format, unknown ones included."""
    rows: list[tuple[str, str, str]] = []
    for name, value in record.as_dict().items():
        note = ""
        if name not in FIELDS:
            note = "unknown field (kept as text)"
        elif value is None:
            note = "not applicable"
        elif name in _TIME_FIELDS and isinstance(value, int):
            note = format_instant(datetime.fromtimestamp(value, UTC), utc=utc)
        elif name == "protocol":
            note = record.protocol_name
        elif name == "tcp-flags":
            note = " ".join(record.flags) or "none"
        elif name == "traffic-path" and isinstance(value, int):
            note = TRAFFIC_PATHS.get(value, "")
        elif name == "log-status" and value == "SKIPDATA":
            note = "DATA LOSS: records were skipped in this interval"
        elif name == "action" and value == "REJECT":
            note = "✗ rejected by a security group or network ACL"
        rows.append((display_safe(name), "-" if value is None else display_safe(value), note))
    return rows


def explanation_text(explanation: Any, error: str | None = None) -> Text:
    """The NACL evaluation: verdict, NACL, subnet, the deciding rule and the rules evaluated."""
    text = Text()
    if explanation is None:
        text.append(
            display_safe(error) if error else "No network topology loaded: cannot evaluate.",
            style="yellow",
        )
        return text
    rule = getattr(explanation, "rule", None)
    denied = bool(getattr(explanation, "denied", False))
    text.append("NACL verdict: ", style="bold")
    text.append(display_safe(explanation.verdict), style="bold red" if denied else "bold")
    if rule is not None:
        text.append("\nDeciding rule: ")
        label = "*" if rule.rule_number >= 32767 else str(rule.rule_number)
        text.append(f"{label} ", style="bold red" if denied else "bold")
        text.append(display_safe(rule.describe()))
        text.append(f" in {display_safe(explanation.nacl_id or '?')}")
        if explanation.subnet_id:
            text.append(f" (subnet {display_safe(explanation.subnet_id)})")
    if denied:
        text.append(
            "\nNACLs are stateless: the response needs its own allow rule in each direction;"
            " this rule drops it.",
            style="italic",
        )
    evaluated = list(getattr(explanation, "evaluated", ()) or ())
    if evaluated:
        text.append(f"\n{display_safe(explanation.direction)} rules, in evaluation order:")
        for entry, matched in evaluated:
            label = "*" if entry.rule_number >= 32767 else str(entry.rule_number)
            text.append(f"\n  {label:>5} {display_safe(entry.describe())}")
            if entry is rule or entry == rule:
                text.append("  ← decides", style="bold red" if denied else "bold")
            elif matched:
                text.append("  (matches)", style="dim")
    return text


class FlowDetailScreen(ModalScreen[None]):
    """Every field of one flow record, its interface, and the NACL explanation."""

    CSS_PATH = "flow_detail.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Back", id="flow_detail.close", tooltip="Close"),
        Binding("q", "dismiss", "Back", show=False, id="flow_detail.quit"),
        Binding("j,down", "scroll('down')", "Down", show=False, id="flow_detail.down"),
        Binding("k,up", "scroll('up')", "Up", show=False, id="flow_detail.up"),
    ]

    def __init__(
        self,
        record: FlowRecord,
        *,
        annotation: str = "",
        description: str = "",
        explanation: Any = None,
        explain_error: str | None = None,
        utc: bool = True,
    ) -> None:
        super().__init__()
        self.utc = utc
        self.record = record
        self.annotation = annotation
        self.description = description
        self.explanation = explanation
        self.explain_error = explain_error

    def compose(self) -> ComposeResult:
        record = self.record
        action = (record.action or record.log_status or "-").upper()
        with Vertical() as box:
            box.border_title = f"Flow record · {display_safe(action)}"
            with VerticalScroll(id="flow-detail-body"):
                yield Static(self._head(), classes="detail-section", markup=False)
                yield Static(
                    explanation_text(self.explanation, self.explain_error),
                    id="flow-detail-nacl",
                    classes="detail-section",
                    markup=False,
                )
                yield Static(self._fields(), id="flow-detail-fields", markup=False)
            yield Static("esc: back · j/k: scroll", classes="detail-foot", markup=False)

    def _head(self) -> Text:
        record = self.record
        text = Text()
        reject = (record.action or "").upper() == "REJECT"
        text.append("✗ REJECT " if reject else f"{display_safe(record.action or '-')} ")
        text.append(
            display_safe(record.src or "-") + (f":{record.srcport}" if record.srcport else ""),
        )
        text.append(" → ")
        text.append(
            display_safe(record.dst or "-") + (f":{record.dstport}" if record.dstport else ""),
        )
        text.append(f" {display_safe(record.protocol_name)}")
        flags = " ".join(record.flags)
        if flags:
            text.append(f" [{flags}]")
        text.append("\nInterface: ", style="bold")
        text.append(display_safe(self.annotation or record.interface_id or "-"))
        if self.description:
            text.append("\nENI description: ", style="bold")
            text.append(display_safe(self.description))
        return text

    def _fields(self) -> Text:
        text = Text()
        text.append("Fields\n", style="bold")
        rows = record_fields(self.record, utc=self.utc)
        width = max((len(name) for name, _, _ in rows), default=10)
        for name, value, note in rows:
            text.append(f"{name:<{width}} ", style="dim" if value == "-" else "")
            text.append(value)
            if note:
                text.append(f"  {display_safe(note)}", style="italic")
            text.append("\n")
        return text

    def action_scroll(self, direction: str) -> None:
        body = self.query_one(VerticalScroll)
        if direction == "down":
            body.scroll_down(animate=False)
        else:
            body.scroll_up(animate=False)
