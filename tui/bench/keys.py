"""Keypress to screen while a million flow records load, against the same app once idle; and
the whole app's memory growth for that load (issue 14.6).

The demo is started in a pseudo-terminal at 120x36 with ``--flows-source`` pointing at a gzip file
of 1M v5 records. While the flow pane loads it, ``?`` is pressed again and again and the time
until the help screen's text reaches the terminal is taken (then ``esc``). Once the pane says all
records are loaded, the same probe runs on the idle app: that is the baseline of the same run.
Target: the 95th percentile while loading <= 100 ms. The app's RSS is read when its flow pane
first shows and once every record has loaded: target growth <= 250 MB.

The CloudTrail side (issue 14.8, :func:`run_trail`) does the same with ``--trail-source`` pointing
at a folder of S3 deliveries (200 gzip files, 1M events: ``tui.bench.trail._write_deliveries``),
loaded while its status says ``loading…`` and idle once it reads ``scanned 1,000,000 events``
without it; RSS growth target <= 300 MB. It is its own section (``python -m tui.bench
trailkeys``, :mod:`tui.bench.trailkeys`); ``HAMARI_BENCH_KEYS_TRAIL_N`` sets the number of events.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tui.bench.flows import generate
from tui.bench.trail import _write_deliveries

HELP_TEXT = b"on one time line"  # the help screen's first line, nowhere else
CSI = re.compile(rb"\x1b\[[0-9;?<>]*[a-zA-Z]")
LOADED = re.compile(rb"([\d,]+) loaded")
# The generated records start at 1700000000 and span 10,000 s (tui.bench.flows): a fixed window
# around them, or the live window (the last 3 h) would leave every record outside it.
WINDOW = ["--since", "2023-11-14T22:00Z", "--until", "2023-11-15T02:00Z"]
# tui.bench.trail's events start 2024-05-01 00:00 UTC, one every 0.5 s (1M: under 6 days).
TRAIL_WINDOW = ["--since", "2024-04-30T00:00Z", "--until", "2024-05-07T00:00Z"]
# The trail pane's status: "scanned N events in M files", then " · loading…" or the progress
# ("12/200 files · …") until the load ends.
TRAIL_SCANNED = re.compile(
    rb"scanned ([\d,]+) events in [\d,]+ files(?! \xc2\xb7 (?:loading|[\d,]+/[\d,]+ files))"
)


class Terminal:
    """A child in a pseudo-terminal whose output is read (and kept) as it arrives."""

    def __init__(self, argv: list[str], size: tuple[int, int]) -> None:
        import fcntl
        import termios

        env = dict(os.environ, TERM="xterm-256color")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child
            os.execvpe(argv[0], argv, env)
        cols, rows = size
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.output = bytearray()

    def pump(self, timeout: float) -> None:
        if select.select([self.fd], [], [], timeout)[0]:
            with contextlib.suppress(OSError):
                self.output += os.read(self.fd, 1 << 20)

    def until(self, found: Callable[[bytes], bool], timeout: float, start: int = 0) -> float | None:
        """Seconds until ``found`` holds for the output after ``start``; None on timeout."""
        t0 = time.perf_counter()
        while (elapsed := time.perf_counter() - t0) < timeout:
            if found(bytes(self.output[start:])):
                return elapsed
            self.pump(0.002)
        return None

    def press(self, keys: bytes) -> int:
        mark = len(self.output)
        os.write(self.fd, keys)
        return mark

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        end = time.monotonic() + 5
        while time.monotonic() < end:
            self.pump(0.02)
            if os.waitpid(self.pid, os.WNOHANG)[0]:
                break
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def _loaded(term: Terminal, n: int, pattern: re.Pattern[bytes] = LOADED) -> bool:
    text = CSI.sub(b"", bytes(term.output[-200_000:]))
    return any(int(m.group(1).replace(b",", b"")) >= n for m in pattern.finditer(text))


def probe(term: Terminal, back: bytes) -> float | None:
    """One ``?``: seconds until the help text shows; then ``esc``, until the main screen (its
    ``back`` text) is drawn again, and a pause. Without that wait, a slow app still drawing the
    last help screen made the next probe look instant."""
    mark = term.press(b"?")
    latency = term.until(lambda out: HELP_TEXT in out, 10.0, mark)
    closed = term.press(b"\x1b")
    term.until(lambda out: back in CSI.sub(b"", out), 10.0, closed)
    term.until(lambda _out: False, 0.25)  # let the screen settle
    return latency


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def plain_rss(seconds: float, window: list[str] = WINDOW, pane: bytes = b"Flow logs") -> float:
    """RSS (MB) of the demo without the file, ``seconds`` after its ``pane`` first shows."""
    term = Terminal([sys.executable, "-m", "tui", "--demo", *window], (120, 36))
    try:
        if term.until(lambda out: pane in CSI.sub(b"", out), 60.0) is None:
            raise RuntimeError(f"the app never drew its {pane.decode()} pane")
        term.until(lambda _out: False, seconds)
        return _rss_mb(term.pid)
    finally:
        term.close()


def measure(
    path: Path,
    n: int,
    *,
    idle_probes: int = 15,
    timeout: float = 300.0,
    option: str = "--flows-source",
    window: list[str] = WINDOW,
    pane: bytes = b"Flow logs",
    loaded: re.Pattern[bytes] = LOADED,
) -> dict[str, list[float]]:
    """Latencies (s) of ``?`` while the file loads and once it has loaded; RSS (MB) before/after.

    ``option`` names the source (``--trail-source`` for CloudTrail), ``pane`` the title that
    shows the app is drawn, ``loaded`` the status text whose number reaches ``n`` once loaded.
    """
    argv = [sys.executable, "-m", "tui", "--demo", option, str(path), *window]
    term = Terminal(argv, (120, 36))
    samples: dict[str, list[float]] = {"loading": [], "idle": [], "lost": [], "rss": []}
    try:
        if term.until(lambda out: pane in CSI.sub(b"", out), 60.0) is None:
            raise RuntimeError(f"the app never drew its {pane.decode()} pane")
        samples["rss"].append(_rss_mb(term.pid))
        drawn = time.monotonic()
        deadline = drawn + timeout
        while time.monotonic() < deadline and len(samples["idle"]) < idle_probes:
            phase = "idle" if _loaded(term, n, loaded) else "loading"
            if phase == "idle" and len(samples["rss"]) == 1:
                samples["rss"].append(_rss_mb(term.pid))
                samples["loaded_after"] = [time.monotonic() - drawn]
            latency = probe(term, b"scanned" if option == "--trail-source" else b"loaded")
            samples[phase if latency is not None else "lost"].append(latency or 10.0)
        samples["rss"].append(_rss_mb(term.pid))
    finally:
        term.close()
    return samples


def _p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(report: Callable[[str, float, float | None, str], None], *, n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="hamari-keys-") as tmp:
        path = generate(n, Path(tmp) / "flows.log.gz", gzip=True)
        samples = measure(path, n)
    _report(report, samples, n, "records", 250)


def run_trail(report: Callable[[str, float, float | None, str], None], *, n: int) -> None:
    """The same probe while ``n`` CloudTrail events (gzip S3 deliveries) load (issue 14.8)."""
    with tempfile.TemporaryDirectory(prefix="hamari-keys-trail-") as tmp:
        t0 = time.perf_counter()
        files = _write_deliveries(n, Path(tmp))
        print(f"  {files} delivery files written in {time.perf_counter() - t0:.0f} s", flush=True)
        samples = measure(
            Path(tmp), n, timeout=900.0, option="--trail-source", window=TRAIL_WINDOW,
            pane=b"CloudTrail", loaded=TRAIL_SCANNED,
        )  # fmt: skip
    _report(report, samples, n, "trail events", 300, window=TRAIL_WINDOW, pane=b"CloudTrail")


def _report(
    report: Callable[[str, float, float | None, str], None],
    samples: dict[str, list[float]],
    n: int,
    what: str,
    rss_target: int,
    *,
    window: list[str] = WINDOW,
    pane: bytes = b"Flow logs",
) -> None:
    loading, idle = samples["loading"], samples["idle"]
    idle_p95 = _p95(idle) * 1000 if idle else None
    idle_p50 = statistics.median(idle) * 1000 if idle else None
    print(
        f"  probes while loading: {len(loading)}, idle: {len(idle)}, lost: {len(samples['lost'])}"
    )
    report(
        f"key to screen while {n:,} {what} load, p95 (ms) [target <= 100]",
        _p95(loading) * 1000,
        idle_p95,
        "ms",
    )
    rss = samples["rss"]
    if len(rss) >= 3 and samples.get("loaded_after"):
        # Baseline: the same demo without the file, as long after its first frame.
        plain = plain_rss(samples["loaded_after"][0] + 5.0, window, pane)
        loaded = max(rss[1:])
        print(f"  RSS: {loaded:.0f} MB with the file loaded, {plain:.0f} MB without it")
        print(f"  loaded {samples['loaded_after'][0]:.0f} s after the first frame")
        report(
            f"whole app: RSS growth for {n:,} {what} (MB) [target <= {rss_target}]",
            loaded - plain,
            plain,
            "MB",
        )
    report(
        f"key to screen while {n:,} {what} load, median (ms)",
        statistics.median(loading) * 1000 if loading else float("nan"),
        idle_p50,
        "ms",
    )


def main(report: Callable[[str, float, float | None, str], None]) -> None:
    run(report, n=int(os.environ.get("HAMARI_BENCH_KEYS_N", "1000000")))
