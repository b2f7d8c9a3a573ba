"""Terminals a bastion really has: no colour, 16 colours, tiny and resized windows, a non-UTF-8
locale, a read-only HOME. Meaning is carried by text and symbols, never by colour alone."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.apptools import demo_app, wait_for
from tests.ptyrun import hamari_argv, spawn
from tui.demo.seed import seed
from tui.panes.flows import FlowsPane
from tui.panes.trail import TrailPane

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    from tests.demo_fixtures import DEMO_NOW

    emulator.reset()
    world = seed(emulator.url, now=DEMO_NOW)
    emulator.faults.clear_seen()
    return world


@pytest.fixture
def plain_terminal(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[str]:
    env = request.param
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield ",".join(f"{k}={v}" for k, v in env.items())


def _rows(table: Any) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


@pytest.mark.parametrize(
    "plain_terminal",
    [{"NO_COLOR": "1", "TERM": "xterm", "COLORTERM": ""}],
    indirect=True,
    ids=["NO_COLOR-xterm16"],
)
async def test_meaning_in_symbols_and_resize_storm(
    emulator: Any, world: Any, plain_terminal: str
) -> None:
    app = demo_app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        trail = app.screen.query_one(TrailPane)
        assert await wait_for(pilot, trail.has_data, timeout=20)
        await pilot.press("1", "e")  # errors only: each row must say so without colour
        assert await wait_for(pilot, lambda: any("✖" in r for r in _rows(trail.table)))
        assert all(r.lstrip().startswith("✖") for r in _rows(trail.table)[1:] if r.strip())
        flows = app.screen.query_one(FlowsPane)
        assert await wait_for(pilot, lambda: bool(flows.records), timeout=20)
        await pilot.press("3", "slash", *"action=REJECT", "enter")
        assert await wait_for(pilot, lambda: any("✗ REJECT" in r for r in _rows(flows.table)))
        # A resize storm (tmux splits, a phone SSH client rotating) never crashes the app.
        sizes = [(40, 10), (200, 60), (80, 24), (59, 14), (41, 11), (120, 36)] * 4 + [(40, 10)]
        for width, height in sizes:
            await pilot.resize_terminal(width, height)
        await pilot.pause(0.3)
        assert app.screen.has_class("-too-small")
        await pilot.resize_terminal(120, 36)
        await pilot.pause(0.3)
        assert not app.screen.has_class("-too-small")
        assert app.is_running and app.return_code is None


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAMARI_", "LC_"))}
    env.update(
        HOME=str(home),
        AWS_EC2_METADATA_DISABLED="true",
        TERM="xterm-256color",
        PYTHONPATH=str(ROOT),
        LANG="C.UTF-8",
    )
    env.pop("PYTHONIOENCODING", None)
    env.update(extra)
    return env


def test_non_utf8_terminal_is_refused_with_the_fix(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tui", "--demo"],
        env=_env(tmp_path, PYTHONIOENCODING="ascii", LANG="C", LC_ALL="C"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2
    assert "not UTF-8" in out.stderr and "export LANG=C.UTF-8" in out.stderr
    assert "Traceback" not in out.stderr
    assert "\x1b[?1049h" not in out.stdout  # refused before the screen was taken


def test_headless_verbs_work_in_any_locale(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tui", "trail", "--help"],
        env=_env(tmp_path, PYTHONIOENCODING="ascii", LANG="C", LC_ALL="C"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert "not UTF-8" not in out.stderr


def test_read_only_home_starts_and_quits_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(stat.S_IRUSR | stat.S_IXUSR)  # 0500
    try:
        proc = spawn(hamari_argv("--demo"), _env(home), size=(100, 30))
        try:
            assert proc.read_until(lambda b: b"requests" in b, 45), proc.output[-1500:]
            proc.read_until(lambda _b: False, 1.0)
            assert proc.poll() is None
            proc.send(b"q")
            assert proc.wait(15) == 0, proc.output[-1500:]
            assert b"Traceback" not in proc.output
        finally:
            proc.close()
        assert list(home.iterdir()) == []  # nothing was written there
    finally:
        home.chmod(0o700)
