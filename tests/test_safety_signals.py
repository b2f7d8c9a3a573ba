"""SSH drops (SIGHUP) and SIGTERM: hamari exits within 2 s, leaves the terminal usable, closes its
AWS clients and stops the Logs Insights queries it was running.

``tests/pty_app.py`` runs the real app in a pty with a (fake) running Logs Insights query tracked;
it writes the app's milestones (``closed`` is the last line of ``HamariApp.cleanup``) and, at exit,
the emulator's request log, where ``logs:StopQuery`` must appear.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.ptyrun import PtyProcess, spawn

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "pty_app.py"
SIGNALS = (signal.SIGHUP, signal.SIGTERM)


class Outcome:
    def __init__(self, proc: PtyProcess, folder: Path) -> None:
        self.proc = proc
        self.folder = folder
        self.ready = False
        self.exit_seconds: float | None = None
        self.restore_seconds: float | None = None
        self.status: int | None = None
        self.sent_at = 0.0

    @property
    def milestones(self) -> str:
        return (self.folder / "milestones").read_text()

    @property
    def calls(self) -> list[tuple[str, str]]:
        path = self.folder / "calls.jsonl"
        if not path.exists():
            return []
        return [tuple(json.loads(line)) for line in path.read_text().splitlines()]


def _drive(outcome: Outcome, sig: int) -> None:
    outcome.ready = outcome.proc.read_until(lambda _b: "data_trail" in outcome.milestones, 60)
    if not outcome.ready:
        return
    outcome.proc.read_until(lambda _b: False, 0.5)
    sent = time.monotonic()
    outcome.sent_at = time.time()
    start = len(outcome.proc.output)
    outcome.proc.kill(sig)
    # What the user waits for: the terminal given back (the alternate screen left).
    if outcome.proc.read_until(lambda b: b"\x1b[?1049l" in b[start:], 10):
        outcome.restore_seconds = time.monotonic() - sent
    outcome.status = outcome.proc.wait(10)
    outcome.exit_seconds = time.monotonic() - sent


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Outcome]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAMARI_"))}
    env.update(TERM="xterm-256color", PYTHONPATH=str(ROOT), LANG="C.UTF-8")
    result = {}
    for sig in SIGNALS:
        folder = tmp_path_factory.mktemp(signal.Signals(sig).name)
        (folder / "milestones").touch()
        argv = [
            sys.executable,
            str(SCRIPT),
            "--clean",
            "--milestones",
            str(folder / "milestones"),
            "--calls-out",
            str(folder / "calls.jsonl"),
            "--track-query",
            "q-running-0001",
        ]
        proc = spawn(argv, dict(env, HOME=str(folder)), size=(100, 30))
        result[sig] = Outcome(proc, folder)
    threads = [threading.Thread(target=_drive, args=(o, s)) for s, o in result.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    yield result
    for outcome in result.values():
        outcome.proc.close()


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_signal_exits_fast_and_restores_the_terminal(
    outcomes: dict[int, Outcome], sig: int
) -> None:
    outcome = outcomes[sig]
    assert outcome.ready, outcome.proc.output[-1500:]
    assert outcome.status is not None and outcome.exit_seconds is not None
    assert outcome.restore_seconds is not None and outcome.restore_seconds < 2.0
    # The process is gone soon after (the test script then writes its log and stops moto).
    assert outcome.exit_seconds < 5.0
    # The shell's convention, 128 + the signal: 129 for SIGHUP, 143 for SIGTERM (it said 129).
    assert outcome.status == 128 + sig, outcome.proc.output[-1500:]
    text = outcome.proc.output.decode("utf-8", "replace")
    tail = text[text.rfind("\x1b[?1049l") :]
    assert "\x1b[?1049l" in text, "the alternate screen was never left"
    assert "\x1b[?25h" in tail, "the cursor was left hidden"
    assert "\x1b[?1000l" in text, "mouse reporting left on"
    assert "Traceback" not in text


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_signal_closes_clients_and_stops_queries(outcomes: dict[int, Outcome], sig: int) -> None:
    outcome = outcomes[sig]
    assert outcome.ready
    lines = dict(line.split(" ", 1) for line in outcome.milestones.splitlines())
    assert "closed" in lines, outcome.milestones
    assert float(lines["closed"]) - outcome.sent_at < 2.0  # cleanup finished within 2 s
    assert ("logs", "StopQuery") in outcome.calls, outcome.calls[-10:]
