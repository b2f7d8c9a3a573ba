"""What the demo sends to its terminal while nobody types: bytes per second, at 80x24 and 120x36.

Over a slow SSH link every byte of a repaint competes with the keys the engineer types. The demo
is started in a pseudo-terminal, given 25 s to load its panes, then its output is counted for
``HAMARI_BENCH_IDLE_SECONDS`` (default 60). The demo's data is live (its panes refresh every 5 s,
against 60 s on AWS), so this is an upper bound for a real account. The baseline of the same run
is one full repaint of that screen per second (the first frame's bytes): what a 1 Hz clock in a
pane's border cost before its age moved in 10-second steps (80x24: 5.7 KB/s; 120x36: 17.7 KB/s).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from tui.bench.keys import CSI, Terminal


def _idle_rate(size: tuple[int, int], seconds: float) -> tuple[float, float]:
    """(bytes per second once loaded, bytes of the first full screen)."""
    term = Terminal([sys.executable, "-m", "tui", "--demo"], size)
    try:
        if term.until(lambda out: b"CloudTrail" in CSI.sub(b"", out), 60.0) is None:
            raise RuntimeError("the demo never drew its CloudTrail pane")
        first = len(term.output)
        term.until(lambda _out: False, 25.0)
        mark = len(term.output)
        term.until(lambda _out: False, seconds)
        return (len(term.output) - mark) / seconds, float(first)
    finally:
        term.close()


def main(report: Callable[[str, float, float | None, str], None]) -> None:
    seconds = float(os.environ.get("HAMARI_BENCH_IDLE_SECONDS", "60"))
    for cols, rows in ((80, 24), (120, 36)):
        rate, screen = _idle_rate((cols, rows), seconds)
        report(
            f"idle demo {cols}x{rows}: bytes/s sent (vs a full repaint/s)",
            rate,
            screen,
            "B/s",
        )
