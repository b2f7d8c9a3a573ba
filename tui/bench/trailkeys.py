"""Keypress to screen while a million CloudTrail events load (issue 14.8): see
:func:`tui.bench.keys.run_trail` (the same probe as the flow side's, on the CloudTrail pane)."""

from __future__ import annotations

import os
from collections.abc import Callable

from tui.bench.keys import run_trail


def main(report: Callable[[str, float, float | None, str], None]) -> None:
    run_trail(report, n=int(os.environ.get("HAMARI_BENCH_KEYS_TRAIL_N", "1000000")))
