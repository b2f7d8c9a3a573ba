"""Metrics: terminal bytes/s and CPU of 8 live sparklines, and GetMetricData requests per refresh.

Two tiny apps run in a 120x40 pty in the same run: the stock ``textual.widgets.Sparkline``
(baseline) and our ``widgets.sparkline.LeanSparkline``, each with 8 series of 100 points updated
at 1 Hz. Bytes are read from the pty master; CPU is utime+stime of the child from
``/proc/PID/stat`` over the measured interval (after a warm-up). A third run freezes the series
(same values every second): nothing but the clock should be written. Targets: <= 8 KB/s,
<= 2 % CPU, ~0 B/s when nothing changed, 1 GetMetricData request per refresh for <= 500 series
(counted at the embedded emulator).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Callable
from typing import Any

Report = Callable[[str, float, float | None, str], None]

APP = """
import math, random, sys
from textual.app import App
from textual.containers import Vertical
from textual.widgets import Sparkline
from widgets.sparkline import LeanSparkline
KIND, FROZEN = sys.argv[1], sys.argv[2] == "1"
rng = random.Random(1)
class Live(App):
    CSS = "Sparkline, LeanSparkline { height: 3; margin-bottom: 1; }"
    def compose(self):
        self.series = [[rng.random() * 100 for _ in range(100)] for _ in range(8)]
        with Vertical():
            for s in self.series:
                yield Sparkline(list(s)) if KIND == "stock" else LeanSparkline(s)
    def on_mount(self):
        self.set_interval(1.0, self.tick)
    def tick(self):
        for s, w in zip(self.series, self.query(Sparkline if KIND == "stock" else LeanSparkline)):
            if not FROZEN:
                s.pop(0)
                s.append(rng.random() * 100)
            if KIND == "stock":
                w.data = list(s)
            else:
                w.update(s)
Live().run()
"""


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def measure(kind: str, frozen: bool, seconds: float, warmup: float = 3.0) -> tuple[float, float]:
    """(bytes/s written to the terminal, CPU %) of the sparkline app over ``seconds``."""
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
    argv = [sys.executable, "-c", APP, kind, "1" if frozen else "0"]
    pid, master = pty.fork()
    if pid == 0:  # the size is set before the app starts, so that its first frame is 120x40
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.execvpe(argv[0], argv, env)
    hz = os.sysconf("SC_CLK_TCK")
    total = 0
    try:
        start = time.monotonic()
        t0 = cpu0 = None
        while True:
            now = time.monotonic()
            if t0 is None and now - start >= warmup:
                t0, cpu0, total = now, _cpu_ticks(pid), 0
            if t0 is not None and now - t0 >= seconds:
                break
            if select.select([master], [], [], 0.05)[0]:
                try:
                    total += len(os.read(master, 65536))
                except OSError:
                    break
        elapsed = time.monotonic() - (t0 or start)
        cpu = (_cpu_ticks(pid) - (cpu0 or 0)) / hz / elapsed * 100
        return total / elapsed, cpu
    finally:
        os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + 5
        while time.monotonic() < end:
            if select.select([master], [], [], 0.02)[0]:
                with contextlib.suppress(OSError):
                    os.read(master, 65536)
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(master)


async def _requests_per_refresh(sizes: tuple[int, ...]) -> list[tuple[int, int]]:
    """(GetMetricData calls, metrics requested) for one refresh of each number of series.

    moto's backends are process-global, so the world is seeded once for all sizes.
    """
    from datetime import UTC, datetime, timedelta

    from tui.aws.metrics import MetricsSource
    from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
    from tui.demo.seed import seed
    from tui.demo.server import EmbeddedAws
    from tui.models.metrics.catalogue import MetricSpec

    with EmbeddedAws() as emulator:
        world = await asyncio.to_thread(lambda: seed(emulator.url, now=datetime.now(UTC)))
        conn = Connection(
            region=world.region,
            endpoint_url=emulator.url,
            demo=True,
            static_credentials=DEMO_CREDENTIALS,
        )
        aws = Aws(conn, backoff_base=0.0)
        await aws.open()
        try:
            source = MetricsSource(aws)
            target = await source.discover(world.slow_instance_id)
            out = []
            for series in sizes:
                extra = [
                    MetricSpec.from_list_metrics(
                        {
                            "Namespace": "Custom/Load",
                            "MetricName": "Depth",
                            "Dimensions": [{"Name": "Shard", "Value": f"s{i}"}],
                        }
                    )
                    for i in range(max(0, series - len(target.specs)))
                ]
                emulator.faults.clear_seen()
                start = world.now - timedelta(hours=1)
                await source.fetch(target, start, world.now, extra=extra)
                calls = len(emulator.calls("cloudwatch", "GetMetricData"))
                out.append((calls, len(target.specs) + len(extra)))
            return out
        finally:
            await aws.close()


async def _fleet_sweep(instances: int, volumes: int = 2) -> dict[str, float]:
    """Seed a fleet in the embedded emulator and sweep it twice (cold, then with limits cached)."""
    from datetime import UTC, datetime, timedelta

    from tui.aws.fleet import FleetSweep
    from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
    from tui.demo.fleet import FLEET_REGION, seed_fleet
    from tui.demo.server import EmbeddedAws
    from tui.models.budget import estimate_cost
    from tui.models.fleet import sweep_interval
    from tui.settings import Settings

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with EmbeddedAws() as emulator:
        t0 = time.perf_counter()
        seeded = await asyncio.to_thread(seed_fleet, emulator.url, now, instances, volumes)
        seed_s = time.perf_counter() - t0
        conn = Connection(
            region=FLEET_REGION,
            endpoint_url=emulator.url,
            demo=True,
            static_credentials=DEMO_CREDENTIALS,
        )
        aws = Aws(conn, backoff_base=0.0)
        await aws.open()
        received = [0]

        def count(response_dict: Any = None, **_: Any) -> None:
            body = (response_dict or {}).get("body") or b""
            received[0] += len(body)

        try:
            for service in ("ec2", "cloudwatch"):
                client = await aws._client(service)
                client.meta.events.register("before-parse", count)
            sweeper = FleetSweep(aws)
            out: dict[str, float] = {"seed_s": seed_s, "points": seeded["points"]}
            for run in ("cold", "warm"):
                emulator.faults.clear_seen()
                received[0] = 0
                t, cpu = time.perf_counter(), time.process_time()
                fleet = await sweeper.sweep(now - timedelta(hours=1), now, now=now)
                out[f"{run}_s"] = time.perf_counter() - t
                out[f"{run}_cpu"] = time.process_time() - cpu
                out[f"{run}_calls"] = len(emulator.requests_seen)
                out[f"{run}_bytes"] = received[0]
                out[f"{run}_gmd"] = len(emulator.calls("cloudwatch", "GetMetricData"))
            metrics = fleet.metrics_requested
            interval = sweep_interval(metrics, Settings.budget_metrics_per_hour)
            per_sweep = sum(line.usd for line in estimate_cost({}, {"metrics_requested": metrics}))
            worst = fleet.worst
            out.update(
                instances=fleet.instances,
                volumes=fleet.volumes,
                metrics=metrics,
                interval_s=interval,
                usd_per_hour=per_sweep * 3600 / interval,
                usd_per_sweep=per_sweep,
                found_hot=float(
                    worst is not None and worst.bound and worst.item.instance_id == seeded["hot"]
                ),
            )
            return out
        finally:
            await aws.close()


def report_fleet(report: Report, instances: int, volumes: int = 2) -> dict[str, float]:
    """Print the sweep's figures for ``instances`` instances with ``volumes`` volumes each."""
    f = asyncio.run(_fleet_sweep(instances, volumes))
    tag = f"fleet sweep {int(f['instances'])} inst/{int(f['volumes'])} vol"
    report(f"metrics: {tag}: metrics per sweep", f["metrics"], None, "n")
    report(
        f"metrics: {tag}: GetMetricData calls [ceil(m/500)]",
        f["cold_gmd"],
        -(-f["metrics"] // 500),
        "req",
    )
    report(f"metrics: {tag}: calls, first sweep", f["cold_calls"], None, "req")
    report(f"metrics: {tag}: calls, next sweeps (limits cached)", f["warm_calls"], None, "req")
    report(f"metrics: {tag}: seconds, first sweep", f["cold_s"], None, "s")
    report(f"metrics: {tag}: seconds, next sweeps", f["warm_s"], None, "s")
    # CPU of the whole process: hamari's reading and judging, and the in-process emulator's
    # answering (on a shared machine the wall clock above mostly measures the other processes).
    report(f"metrics: {tag}: CPU s, next sweeps (hamari + emulator)", f["warm_cpu"], None, "s")
    report(f"metrics: {tag}: bytes received, first sweep (MB)", f["cold_bytes"] / 1e6, None, "MB")
    report(f"metrics: {tag}: bytes received, next sweeps (MB)", f["warm_bytes"] / 1e6, None, "MB")
    report(f"metrics: {tag}: interval at the default budget", f["interval_s"], 300, "s")
    report(f"metrics: {tag}: cost per sweep (list price)", f["usd_per_sweep"], None, "$")
    report(f"metrics: {tag}: cost per hour (list price)", f["usd_per_hour"], None, "$")
    report(f"metrics: {tag}: hot instance found first [1]", f["found_hot"], 1, "")
    return f


def run(report: Report, *, seconds: float = 10.0, quick: bool = False) -> None:
    """Print the figures; ``quick`` measures for a couple of seconds only."""
    warm = 1.5 if quick else 3.0
    stock_b, stock_c = measure("stock", False, seconds, warm)
    lean_b, lean_c = measure("lean", False, seconds, warm)
    frozen_b, frozen_c = measure("lean", True, seconds, warm)
    report(
        "metrics: 8 live sparklines, bytes/s (KB/s) [<=8]", lean_b / 1024, stock_b / 1024, "KB/s"
    )
    report("metrics: 8 live sparklines, CPU (%) [<=2]", lean_c, stock_c, "%")
    report("metrics: frozen series, bytes/s (KB/s) [~0]", frozen_b / 1024, lean_b / 1024, "KB/s")
    report("metrics: frozen series, CPU (%)", frozen_c, lean_c, "%")
    for calls, metrics in asyncio.run(_requests_per_refresh((8, 500) if not quick else (8,))):
        report(
            f"metrics: GetMetricData requests per refresh, {metrics} series [1]", calls, 1, "req"
        )
    report_fleet(report, 20 if quick else 500)


def main(report: Report) -> None:
    """Section entry point."""
    run(report)
