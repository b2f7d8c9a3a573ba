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


# -- no terminal, a dumb terminal, a private TEXTUAL_LOG --------------------------------------


def test_no_tty_is_refused_in_one_line_naming_the_headless_verbs(tmp_path: Path) -> None:
    """``hamari --demo </dev/null >out 2>err`` ran (and polled) until killed, writing ~92 KB of
    escapes to the file; it must refuse at once, before the emulator or AWS is started."""
    out, err = tmp_path / "out", tmp_path / "err"
    with open(os.devnull) as stdin, open(out, "w") as stdout, open(err, "w") as stderr:
        done = subprocess.run(
            [sys.executable, "-m", "tui", "--demo"],
            env=_env(tmp_path),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            timeout=30,
        )
    assert done.returncode == 2
    assert out.read_bytes() == b""
    lines = err.read_text().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("hamari: no terminal") and "not a tty" in lines[0]
    for verb in ("trail", "flows", "metrics"):
        assert f"hamari {verb} …" in lines[0]
    assert "\x1b" not in lines[0]


@pytest.mark.parametrize("redirect", ["stdout", "stdin"])
def test_one_stream_off_the_terminal_is_refused_too(tmp_path: Path, redirect: str) -> None:
    """In a real terminal, ``hamari > file`` (or ``< file``) would draw into a file or read
    keys from one: named, exit 2, the screen never taken."""
    target = tmp_path / "file"
    target.write_text("")
    argv = " ".join(hamari_argv("--demo"))
    shell = f"exec {argv} > {target}" if redirect == "stdout" else f"exec {argv} < {target}"
    proc = spawn(["/bin/sh", "-c", shell], _env(tmp_path), size=(100, 30))
    try:
        assert proc.wait(30) == 2, proc.output[-1500:]
        text = proc.output.decode("utf-8", "replace")
        assert f"no terminal: {redirect} is not a tty" in text, text
        assert "\x1b[?1049h" not in text
    finally:
        proc.close()


def test_dumb_terminal_is_refused_before_the_alternate_screen(tmp_path: Path) -> None:
    proc = spawn(hamari_argv("--demo"), _env(tmp_path, TERM="dumb"), size=(100, 30))
    try:
        assert proc.wait(30) == 2, proc.output[-1500:]
        text = proc.output.decode("utf-8", "replace")
        assert "TERM=dumb cannot draw hamari's screen" in text and "hamari trail …" in text
        assert "\x1b" not in text  # no alternate screen, colour or mouse tracking
    finally:
        proc.close()


def test_textual_log_is_private(tmp_path: Path) -> None:
    """TEXTUAL_LOG was created 0644 (umask 022) with event data in it."""
    log = tmp_path / "textual.log"
    old_umask = os.umask(0o022)
    try:
        proc = spawn(hamari_argv("--demo"), _env(tmp_path, TEXTUAL_LOG=str(log)), size=(100, 30))
    finally:
        os.umask(old_umask)
    try:
        assert proc.read_until(lambda b: b"requests" in b, 45), proc.output[-1500:]
        proc.send(b"q")
        assert proc.wait(15) == 0, proc.output[-1500:]
    finally:
        proc.close()
    assert log.stat().st_size > 0  # Textual wrote to it: the test looked at the real file
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_an_existing_world_readable_textual_log_of_ours_is_made_private(tmp_path: Path) -> None:
    from tui.terminal import secure_textual_log

    log = tmp_path / "textual.log"
    log.write_text("earlier run\n")
    log.chmod(0o644)
    secure_textual_log({"TEXTUAL_LOG": str(log)})
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert log.read_text() == "earlier run\n"  # appended to, never truncated
    link = tmp_path / "link.log"
    link.symlink_to(tmp_path / "elsewhere.log")
    secure_textual_log({"TEXTUAL_LOG": str(link)})
    assert not (tmp_path / "elsewhere.log").exists()  # nothing created through a symlink
