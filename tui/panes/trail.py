"""CloudTrail pane (foundation slice): events in the shared window, read with LookupEvents."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from tui.models.text import display_safe
from tui.panes.base import Pane


class TrailPane(Pane):
    """Who called which API, when, from where, with what error."""

    title = "CloudTrail"
    key = "1"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.events: dict[str, dict[str, object]] = {}
        self.pages = 0

    def compose_body(self) -> ComposeResult:
        yield Static("", id="trail-summary", markup=False)

    def has_data(self) -> bool:
        return bool(self.events)

    async def refresh_data(self) -> None:
        assert self.aws is not None and self.window is not None
        window = self.window
        async for page in self.aws.pages(
            "cloudtrail",
            "LookupEvents",
            StartTime=window.start,
            EndTime=window.end,
            MaxResults=50,
        ):
            self.pages += 1
            for item in page.get("Events", []):
                self.events[str(item.get("EventId"))] = item
            self._render_summary()

    def _render_summary(self) -> None:
        errors: Counter[str] = Counter()
        for item in self.events.values():
            raw = str(item.get("CloudTrailEvent", ""))
            if '"errorCode"' in raw:
                errors[str(item.get("EventName", "?"))] += 1
        self.set_status(f"{len(self.events)} events in {self.pages} pages")
        text = Text()
        newest = sorted(self.events.values(), key=lambda e: _ts(e.get("EventTime")), reverse=True)
        for item in newest[:20]:
            text.append(f"{_ts(item.get('EventTime')):%H:%M:%S} ")
            text.append(display_safe(item.get("EventName", "?")), style="bold")
            text.append(f"  {display_safe(item.get('Username', ''))}\n")
        if errors:
            text.append(
                "errors: " + ", ".join(f"{display_safe(k)}×{v}" for k, v in errors.most_common(5))
            )
        self.query_one("#trail-summary", Static).update(text)


def _ts(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.min
