"""Start-up: import time, time to first frame and to data in all three panes, resident memory.

Baseline: a bare Textual app, started the same way in the same run (0.36 s here when measured).
Targets: first frame within 1 s; all three panes showing data within 5 s.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

BARE_APP = """
import os, time
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("bare")
    def on_mount(self):
        self.call_after_refresh(self.mark)
    def mark(self):
        os.write(int(os.environ["HAMARI_BENCH_FD"]), f"first_frame {time.time():.6f}\\n".encode())
Bare().run()
"""


@dataclass
class Run:
    milestones: dict[str, float]
    rss_kb: int | None


def _rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run_in_pty(
    argv: list[str], wanted: set[str], *, timeout: float = 30.0, size: tuple[int, int] = (120, 36)
) -> Run:
    """Start ``argv`` in a pseudo-terminal and collect its milestones until all ``wanted`` arrive."""
    import fcntl
    import termios

    read_fd, write_fd = os.pipe()
    os.set_inheritable(write_fd, True)
    env = dict(os.environ, HAMARI_BENCH_FD=str(write_fd), TERM="xterm-256color")
    start = time.time()
    pid, master = pty.fork()
    if pid == 0:
        os.close(read_fd)
        os.execvpe(argv[0], argv, env)
    os.close(write_fd)
    cols, rows = size
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    milestones: dict[str, float] = {}
    buffer = b""
    deadline = time.monotonic() + timeout
    rss = None
    try:
        while time.monotonic() < deadline and not wanted <= milestones.keys():
            ready, _, _ = select.select([master, read_fd], [], [], 0.1)
            if master in ready:
                try:
                    os.read(master, 65536)  # the terminal must be drained or the app blocks
                except OSError:
                    break
            if read_fd in ready:
                chunk = os.read(read_fd, 4096)
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    name, _, stamp = line.decode().partition(" ")
                    milestones[name] = float(stamp) - start
        rss = _rss_kb(pid)
    finally:
        os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + 5
        while time.monotonic() < end:
            if select.select([master], [], [], 0.02)[0]:
                with contextlib.suppress(OSError):  # the child closed the terminal
                    os.read(master, 65536)
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.02)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(master)
        os.close(read_fd)
    return Run(milestones, rss)


def _import_time(module: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(report: Callable[[str, float, float | None, str], None]) -> None:
    """Measure and report (figure, value, baseline, unit)."""
    report("import tui.app (s)", _import_time("tui.app"), _import_time("textual.app"), "s")
    report(
        "import tui.cli for headless verbs (s)", _import_time("tui.cli"), _import_time("json"), "s"
    )
    bare = run_in_pty([sys.executable, "-c", BARE_APP], {"first_frame"})
    demo = run_in_pty(
        [sys.executable, "-m", "tui", "--demo"],
        {"first_frame", "data_trail", "data_metrics", "data_flows"},
    )
    base_frame = bare.milestones.get("first_frame")
    report(
        "demo: first frame (s) [target <= 1]",
        demo.milestones.get("first_frame", float("nan")),
        base_frame,
        "s",
    )
    all_data = max(
        (
            demo.milestones.get(k, float("nan"))
            for k in ("data_trail", "data_metrics", "data_flows")
        ),
        default=float("nan"),
    )
    for step in ("connected", "seeded"):
        report(f"demo: {step} (s)", demo.milestones.get(step, float("nan")), base_frame, "s")
    for pane in ("trail", "metrics", "flows"):
        report(
            f"demo: data in {pane} pane (s)",
            demo.milestones.get(f"data_{pane}", float("nan")),
            base_frame,
            "s",
        )
    report("demo: data in all three panes (s) [target <= 5]", all_data, base_frame, "s")
    if demo.rss_kb and bare.rss_kb:
        report(
            "demo: resident memory incl. emulator (MB)",
            demo.rss_kb / 1024,
            bare.rss_kb / 1024,
            "MB",
        )
