"""Units and numbers shared by the metric catalogue, the limits and the verdicts.

It exists because AWS states the figures hamari compares in two different megabytes: instance EBS
limits in decimal MB (DescribeInstanceTypes gives m5.large ``BaselineBandwidthInMbps`` 650 and
``BaselineThroughputInMBps`` 81.25 = 650 / 8, so 10**6 bytes), volume throughput in MiB/s
(DescribeVolumes ``Throughput``, the gp2/gp3/st1/sc1 tables; 2**20 bytes). Every comparison is
made in MB/s and volume limits are converted with :data:`MIB_IN_MB`; :func:`mib_text` prints a
volume limit in its native MiB/s with the MB/s figure beside it. :func:`finite_number` is the one
test of a number read from AWS (CloudWatch datapoints, DescribeVolumes sizes) before it is used.
"""

from __future__ import annotations

import math
from typing import Final

MB: Final = 1_000_000
MIB: Final = 1_048_576
MIB_IN_MB: Final = MIB / MB
"""1 MiB/s expressed in MB/s (1.048576)."""

# CloudWatch rejects values outside about ±1.17e108 (PutMetricData); anything larger in an
# answer is corrupt, and would overflow to infinity once scaled or summed.
_MAX_DATUM = 1.2e108


def finite_number(value: object) -> float | None:
    """``value`` as a float, or None for NaN, infinities, non-numbers and values CloudWatch cannot hold."""
    if type(value) is float:  # nearly every datapoint: the checks below, without the calls
        return value if -_MAX_DATUM <= value <= _MAX_DATUM else None  # NaN fails both
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        f = float(value)
    except OverflowError:  # an int beyond any float
        return None
    return f if math.isfinite(f) and abs(f) <= _MAX_DATUM else None


def fmt_number(value: float) -> str:
    """Format a figure for a verdict: ``3,000``, ``81``, ``594``, ``5.4``, ``0``."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 10 or float(value).is_integer():
        return f"{round(value):,}"
    return f"{value:.1f}"


def mib_text(mib: float) -> str:
    """A volume throughput in its native MiB/s with the MB/s figure beside it."""
    return f"{fmt_number(mib)} MiB/s ({fmt_number(mib * MIB_IN_MB)} MB/s)"


def format_value(value: float | None, unit: str) -> str:
    """The latest value with an honest unit: ``3,012 IOPS``, ``81.2 MB/s``, ``42%``, ``3.9 MB/s``."""
    if value is None or not math.isfinite(value):
        return "no data"
    if unit == "%":
        return f"{fmt_number(value)}%"
    if unit == "B/s":
        for factor, name in ((1e9, "GB/s"), (1e6, "MB/s"), (1e3, "kB/s")):
            if abs(value) >= factor:
                return f"{value / factor:.1f} {name}"
        return f"{value:.0f} B/s"
    if unit == "MB/s":
        return f"{value:.1f} MB/s" if abs(value) < 100 else f"{fmt_number(value)} MB/s"
    number = fmt_number(value)
    return f"{number} {unit}".strip() if unit and unit != "count" else number
