"""CloudWatch pane (foundation slice): CPU of the instances in the window, with GetMetricData."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from tui.models.text import display_safe
from tui.panes.base import Pane


class MetricsPane(Pane):
    """Live metrics against the limits that bind."""

    title = "CloudWatch"
    key = "2"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.series: dict[str, list[float]] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("", id="metrics-summary", markup=False)

    async def refresh_data(self) -> None:
        assert self.aws is not None and self.window is not None
        ids: list[str] = []
        async for page in self.aws.pages("ec2", "DescribeInstances", MaxResults=100):
            for res in page.get("Reservations", []):
                ids.extend(str(i["InstanceId"]) for i in res.get("Instances", []))
        ids = ids[:50]
        if not ids:
            self.set_status("no instances in this region")
            return
        queries = [
            {
                "Id": f"m{n}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/EC2",
                        "MetricName": "CPUUtilization",
                        "Dimensions": [{"Name": "InstanceId", "Value": iid}],
                    },
                    "Period": 60,
                    "Stat": "Average",
                },
                "Label": iid,
                "ReturnData": True,
            }
            for n, iid in enumerate(ids)
        ]
        window = self.window
        resp = await self.aws.call(
            "monitoring",
            "GetMetricData",
            MetricDataQueries=queries,
            StartTime=window.start,
            EndTime=window.end,
            ScanBy="TimestampAscending",
        )
        self.aws.meter.add("metrics_requested", len(queries))
        for result in resp.get("MetricDataResults", []):
            self.series[str(result.get("Label"))] = [float(v) for v in result.get("Values", [])]
        points = sum(len(v) for v in self.series.values())
        self.set_status(f"{len(self.series)} series, {points} datapoints")
        text = Text()
        for label, values in self.series.items():
            last = f"{values[-1]:5.1f}%" if values else "  n/a"
            text.append(f"{display_safe(label):22} CPU {last}\n")
        self.query_one("#metrics-summary", Static).update(text)
