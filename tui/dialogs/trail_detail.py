"""One CloudTrail event in full, and the events related to it one key away.

For incident 1 this is where the answer appears: the ``StartInstances`` event says nothing went
wrong, and ``r`` shows, a second or two later, the KMS ``CreateGrant`` and ``Decrypt`` calls that
EC2 made on the same caller's behalf (``invokedBy: ec2.amazonaws.com``) failing with AccessDenied.

The summary (who, what, from where, result) is built by :func:`tui.models.related.summarize`; the
whole event is shown as highlighted JSON from display-safe text (never markup); related events come
from :func:`tui.models.related.find_related` over everything the pane has loaded, with reasons and
time offsets. Enter on a related event opens it; escape goes back; ``c`` copies the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Sequence
from typing import ClassVar

from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Static

from tui.models.cloudtrail import TrailEvent
from tui.models.related import RelatedEvent, RelatedEvents, find_related, format_offset, summarize
from tui.models.text import display_safe
from widgets.columns import label_grid
from widgets.keybar import KeyBar
from widgets.record_table import CallableRows, Column, RecordTable

JSON_DISPLAY_LIMIT = 256 * 1024
"""Events larger than this (huge requestParameters) are shown cut, with a note; copy has it all."""

ERROR_MARK = "✖"


def short_who(event: TrailEvent) -> str:
    """``OpsAdmin/alice`` invoked by ``ec2.amazonaws.com`` -> ``alice via ec2``."""
    who = event.principal.rpartition("/")[2] or event.principal
    if event.invoked_by and event.invoked_by != event.principal:
        who = f"{who} via {event.invoked_by.removesuffix('.amazonaws.com')}"
    return who


def related_cells(item: RelatedEvent) -> tuple[str, ...]:
    """One related-event row: offset, event, result, who (via whom), reasons (display-safe)."""
    event = item.event
    result = f"{ERROR_MARK} {event.error_code or 'error'}" if event.is_error else "  OK"
    reasons = "+".join(reason.value.removeprefix("same ") for reason in item.reasons)
    return tuple(
        display_safe(v)
        for v in (
            format_offset(item.offset),
            f"{event.source}:{event.event_name}",
            result,
            short_who(event),
            reasons,
        )
    )


RELATED_COLUMNS = [
    Column("offset", "offset", width=7, align="right"),
    Column("event", "event", min_width=14, max_width=24),
    Column("result", "result", min_width=6, max_width=16),
    Column("who", "who (via)", min_width=10, max_width=24),
    Column("reasons", "why related", min_width=8, max_width=30, flex=True),
]


def summary_text(event: TrailEvent, *, utc: bool = True) -> tuple[Table, str]:
    """The who/what/where/result block (labels bold, values display-safe, each wrapping under
    its own start: a key ARN or a user agent was cut at 80 columns), and the error message
    ("" when none) to show wrapped below it."""
    rows: list[tuple[Text, Text]] = []
    message = ""
    lines = summarize(event, utc=utc)
    if event.invoked_by:
        lines.insert(2, ("Invoked", f"by {display_safe(event.invoked_by)} for the caller"))
    for label, value in lines:
        if label == "Result" and event.is_error:
            code, _, message = value.removeprefix("FAILED ").partition(": ")
            cell = Text(f"{ERROR_MARK} FAILED {code}", style="bold red")
        else:
            cell = Text(value)
        rows.append((Text(label, style="bold"), cell))
    return label_grid(rows, justify="right", fold=True), message


def json_renderable(event: TrailEvent) -> Syntax:
    """The whole event as highlighted JSON, from display-safe text (escapes stay visible)."""
    try:
        body = json.dumps(event.raw, indent=2, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        body = repr(event.raw)
    note = ""
    if len(body) > JSON_DISPLAY_LIMIT:
        note = f"\n… cut at {JSON_DISPLAY_LIMIT // 1024} KB of {len(body) // 1024} KB (c copies)"
        body = body[:JSON_DISPLAY_LIMIT]
    return Syntax(
        display_safe(body, multiline=True) + note,
        "json",
        theme="ansi_dark",
        word_wrap=True,
        background_color="default",
    )


class TrailDetailScreen(Screen[None]):
    """An event: summary, full JSON, and related events (``r``)."""

    CSS_PATH = "trail_detail.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="trail_detail.back", tooltip="Back to the events"),
        Binding(
            "r",
            "toggle_related",
            "Related",
            id="trail_detail.related",
            tooltip="Related events (same request, resource or principal, ±5 min) / the JSON",
        ),
        Binding("c", "copy", "Copy JSON", id="trail_detail.copy", tooltip="Copy via OSC 52"),
    ]

    def __init__(
        self, event: TrailEvent, events: Callable[[], Sequence[TrailEvent]], *, utc: bool = True
    ) -> None:
        """Show ``event``; ``events`` returns everything loaded (searched for related events);
        its time in UTC or local time, as the panes show times."""
        super().__init__()
        self.utc = utc
        self.event = event
        self._events = events
        self.related: RelatedEvents | None = None

    def compose(self) -> ComposeResult:
        summary, message = summary_text(self.event, utc=self.utc)
        yield Static(summary, id="detail-summary", markup=False)
        message_widget = Static(Text(message), id="detail-message", markup=False)
        message_widget.display = bool(message)
        yield message_widget
        yield Static("", id="detail-hint", markup=False)
        with ContentSwitcher(initial="detail-json"):
            with VerticalScroll(id="detail-json"):
                yield Static(json_renderable(self.event), id="detail-json-body", markup=False)
            yield RecordTable(RELATED_COLUMNS, empty_text="no related events", id="detail-related")
        yield KeyBar()

    def on_mount(self) -> None:
        # A str border title is parsed as markup: untrusted names go in as Content.
        self.query_one("#detail-summary", Static).border_title = Content(
            display_safe(f"{self.event.source}:{self.event.event_name}")
        )
        self._hint()
        self.query_one("#detail-json").focus()

    @property
    def showing_related(self) -> bool:
        return self.query_one(ContentSwitcher).current == "detail-related"

    def _hint(self) -> None:
        if self.showing_related:
            assert self.related is not None
            errors = len(self.related.errors)
            text = Text(
                f"Related: {len(self.related.items)} events within ±5 min or same request"
                f" · {errors} failed · enter opens · r JSON"
            )
            if self.related.truncated:
                text.append(" · truncated", style="yellow")
        else:
            text = Text("r related events · c copy JSON · esc back")
        self.query_one("#detail-hint", Static).update(text)

    def _compute_related(self) -> RelatedEvents:
        if self.related is None:
            self.related = find_related(self.event, self._events())
        return self.related

    def action_toggle_related(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        if self.showing_related:
            switcher.current = "detail-json"
            self.query_one("#detail-json").focus()
        else:
            related = self._compute_related()
            items = related.items

            def row_key(index: int) -> Hashable:
                return items[index].event.key

            def row_style(index: int) -> str | None:
                return "error" if items[index].event.is_error else None

            table = self.query_one("#detail-related", RecordTable)
            table.set_rows(
                CallableRows(len(items), lambda i: related_cells(items[i])),
                row_key=row_key,
                row_style=row_style,
            )
            switcher.current = "detail-related"
            table.focus()
            # Put the cursor on the first failure: that is what the user came for.
            first_error = next((i for i, it in enumerate(items) if it.event.is_error), None)
            if first_error is not None:
                table.move_cursor(first_error)
        self._hint()

    @on(RecordTable.Selected, "#detail-related")
    def _open_related(self, message: RecordTable.Selected) -> None:
        message.stop()
        if self.related is None or not 0 <= message.index < len(self.related.items):
            return
        event = self.related.items[message.index].event
        self.app.push_screen(TrailDetailScreen(event, self._events, utc=self.utc))

    def action_back(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        from tui.dialogs.clipboard import copy_event

        event = self.event
        if self.showing_related and self.related is not None:
            row = self.query_one("#detail-related", RecordTable).cursor_row
            if row is not None and row < len(self.related.items):
                event = self.related.items[row].event
        copy_event(self.app, event)
