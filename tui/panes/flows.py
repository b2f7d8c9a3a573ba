"""Flow-log pane (foundation slice): records of the VPC flow logs delivered to CloudWatch Logs."""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from tui.models.text import display_safe
from tui.panes.base import Pane


class FlowsPane(Pane):
    """ACCEPT/REJECT legs by interface and AZ."""

    title = "Flow logs"
    key = "3"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.records: dict[str, str] = {}
        self.actions: Counter[str] = Counter()

    def compose_body(self) -> ComposeResult:
        yield Static("", id="flows-summary", markup=False)

    def has_data(self) -> bool:
        return bool(self.records)

    async def refresh_data(self) -> None:
        assert self.aws is not None and self.window is not None
        groups: list[str] = []
        resp = await self.aws.call("ec2", "DescribeFlowLogs")
        for flow_log in resp.get("FlowLogs", []):
            if flow_log.get("LogDestinationType", "cloud-watch-logs") == "cloud-watch-logs":
                name = flow_log.get("LogGroupName")
                if name and name not in groups:
                    groups.append(str(name))
        if not groups:
            self.set_status("no flow logs delivered to CloudWatch Logs in this region")
            return
        window = self.window
        for group in groups:
            async for page in self.aws.pages(
                "logs",
                "FilterLogEvents",
                token_in="nextToken",
                token_out="nextToken",
                logGroupName=group,
                startTime=int(window.start.timestamp() * 1000),
                endTime=int(window.end.timestamp() * 1000),
                limit=1000,
            ):
                for event in page.get("events", []):
                    event_id = str(event.get("eventId"))
                    if event_id not in self.records:
                        message = str(event.get("message", ""))
                        self.records[event_id] = message
                        fields = message.split()
                        if len(fields) >= 13:
                            self.actions[fields[12]] += 1
                self.set_status(f"{len(self.records)} flow records from {len(groups)} log groups")
        text = Text()
        for action, count in self.actions.most_common():
            text.append(f"{display_safe(action):8} {count}\n")
        self.query_one("#flows-summary", Static).update(text)
