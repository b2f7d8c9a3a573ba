"""An S3 flow-log object whose body drips a byte at a time ends at its deadline, named as a
skipped file: a per-read timeout never fires on a drip, so the download has its own bound."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from tui.aws.flowlogs import stream_s3
from tui.models.timewindow import TimeWindow

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
PREFIX = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/12/07/"
KEY = PREFIX + "123456789012_vpcflowlogs_us-east-1_fl-0abc_20261207T0355Z_1a2b3c4d.log"


class DripBody:
    """A body that sends one byte every 50 ms, forever."""

    async def __aenter__(self) -> DripBody:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def read(self, n: int = -1) -> bytes:
        await asyncio.sleep(0.05)
        return b" "


class FakeAws:
    def __init__(self) -> None:
        self.conn = SimpleNamespace(call_timeout=0.5)
        self.meter = SimpleNamespace(add=lambda *a, **k: None)

    async def pages(self, service: str, operation: str, **params: Any) -> Any:
        yield {"Contents": [{"Key": KEY, "Size": 2000}]}

    async def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        assert (service, operation) == ("s3", "GetObject")
        return {"Body": DripBody()}


async def test_a_dripping_object_ends_at_its_deadline_and_is_named() -> None:
    window = TimeWindow(NOW - timedelta(hours=1), NOW, live=False)
    began = time.monotonic()
    batches = [b async for b in stream_s3(FakeAws(), "bucket", PREFIX, window)]  # type: ignore[arg-type]
    assert time.monotonic() - began < 3.0
    stats = batches[-1].stats
    assert stats.bad_files == 1
    assert stats.samples and "timed out" in stats.samples[0].reason
    assert stats.samples[0].source == f"s3://bucket/{KEY}"
