"""One byte formatter, one base: a size reads the same in the flow table and the cost meter."""

from __future__ import annotations

import pytest

from tui.aws.session import Meter
from tui.models.budget import INSIGHTS_BYTES_SCANNED, S3_BYTES
from tui.models.flowlog import FlowLogParser
from tui.models.units import human_bytes
from tui.panes.flowrows import cell
from tui.screens.meter import meter_text


@pytest.mark.parametrize(
    ("value", "long", "compact"),
    [
        (None, "-", "-"),
        (0, "0 B", "0"),
        (999, "999 B", "999"),
        (1000, "1.0 kB", "1.0k"),
        (1536, "1.5 kB", "1.5k"),
        (123_456, "123.5 kB", "123k"),
        (1_500_000, "1.5 MB", "1.5M"),
        (5 * 10**9, "5.0 GB", "5.0G"),
        (2 * 10**15, "2000.0 TB", "2000T"),
    ],
)
def test_human_bytes_counts_in_thousands(value: int | None, long: str, compact: str) -> None:
    assert human_bytes(value) == long
    assert human_bytes(value, compact=True) == compact


def test_the_flow_table_and_the_cost_meter_agree_on_a_megabyte() -> None:
    """1.5 million bytes: ``1.5M`` in the flow table, ``1.5 MB`` in the meter (not 1.4 MB)."""
    line = "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 5555 6 10 1500000 1741944000 1741944060 ACCEPT OK"
    record = next(iter(FlowLogParser().parse_lines([line])))
    assert cell(record, "bytes", {}) == "1.5M"
    meter = Meter()
    meter.add(S3_BYTES, 1_500_000)
    meter.add(INSIGHTS_BYTES_SCANNED, 1_500_000)
    text = meter_text(meter).plain
    assert text.count("1.5 MB") >= 2
    assert "MiB" not in text and "1.4 MB" not in text
