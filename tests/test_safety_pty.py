"""The bytes hamari writes to a real terminal carry no escape sequence that came from AWS data.

``tests/pty_app.py`` runs the app with Textual's real driver on an emulator full of hostile
strings (CloudTrail fields, flow-log lines, an EC2 Name tag, a metric name and dimension). Here it
runs in a pseudo-terminal at 120x36, then at 80x24; keys visit
every pane, open the trail detail of the OSC 52 event, the flow explain of a hostile record, the
metric adder (ListMetrics with the hostile metric), and export to a path full of markup so that a
notification carries it. Then ``q``. What the terminal received is searched for the data-borne
payloads right after an ESC (or as 8-bit C1), and for the positive control: the same payloads shown
as visible escapes.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.ptyrun import PtyProcess, spawn

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "pty_app.py"

# Data-borne sequences (from tests/hostile.py) as the terminal would receive them if they leaked.
LEAKS = {
    "OSC 52 clipboard": re.compile(r"\x1b\]52;"),
    "OSC 0/2 title set": re.compile(r"\x1b\][02];"),
    "title report": re.compile(r"\x1b\[21t"),
    "OSC 8 link": re.compile(r"\x1b\]8;"),
    "DCS / tmux passthrough": re.compile(r"\x1bP"),
    "8-bit C1 (CSI, OSC, ST)": re.compile("[\x9b\x9c\x9d]|[\udc9b\udc9c\udc9d]"),
    "clear screen from data": re.compile(r"\x1b\[2J\x1b\[H\x1b\[10;10H"),
    "bidi override": re.compile("[\u202e\u2066\u2069\u200b]"),
    "NUL": re.compile("\x00"),
    "base64 payload next to ESC": re.compile(r"\x1b[^\x1b]{0,8}(aGFtYXJp|aGk=)"),
}
# The terminal mode Textual itself sets: the one legitimate "\x1b[2J" is not preceded by data.
TEXTUAL_CLEAR = re.compile(r"\x1b\[2J")

CSI = re.compile(r"\x1b\[[0-9;?<>]*[a-zA-Z]")

# The corpus shown as visible escapes, proving the hostile rows were on screen.
SHOWN = ["\\x1b]52;c;aGFtYXJp", "\\x9b2J", "[/]", "[@click=app.quit]"]

# Slashes make folders: "a[" is created first, so "a[/]b…" is the file "]b…" inside it.
MARKUP_DIR = "a["
MARKUP_NAME = "a[/]b[link=https:evil.example]c[@click=app.quit]q[ERROR][$accent]gnp.ndjson"


@dataclass
class Run:
    size: tuple[int, int]
    proc: PtyProcess
    milestones: Path
    export_dir: Path
    alive_before_quit: bool = False
    status: int | None = None
    error: str = ""
    missed: list[str] = field(default_factory=list)  # what the tour waited for in vain

    @property
    def text(self) -> str:
        return bytes(self.proc.output).decode("utf-8", "surrogateescape")

    def milestone(self, *names: str) -> bool:
        try:
            seen = self.milestones.read_text()
        except OSError:
            return False
        return all(n in seen for n in names)

    mark: int = 0  # the output's length when the last keys were sent

    def keys(self, *keys: str, settle: float = 0.3) -> None:
        self.mark = len(self.proc.output)
        for key in keys:
            self.proc.send(key.encode())
            self.proc.read_until(lambda _b: False, settle)

    def until(self, needle: str, timeout: float = 15.0) -> bool:
        """Read until ``needle`` shows in the output since the last keys were sent (colour and
        cursor codes ignored). Not only after this call: the app may draw it while the keys
        settle, and it repaints only what changes (a wait from here missed it for its timeout)."""
        start = self.mark

        def seen(data: bytes) -> bool:
            return needle in CSI.sub("", data[start:].decode("utf-8", "replace"))

        found = self.proc.read_until(seen, timeout)
        if not found:
            self.missed.append(needle)
        return found


def _tour(run: Run) -> None:
    try:
        # At 80x24 only the active pane polls (hidden panes cost nothing): wait for the trail.
        ok = run.proc.read_until(lambda _b: run.milestone("data_trail"), 60)
        if not ok:
            run.error = "the app never showed data"
            return
        for name in ("Hostile0*", "Hostile7*"):  # OSC 52 and 8-bit CSI events
            run.keys("1", "/")
            run.keys(*f"name:{name}", settle=0.0)
            run.keys("\r")
            run.until("1 of")
            run.keys("\r")  # the trail detail
            run.until("eventName")
            run.keys("\x1b")
        run.keys("2", "m")  # metrics: the adder lists the hostile metric (ListMetrics)
        run.until("Evil=", timeout=10)
        run.keys("\x1b", "3", "/")
        run.keys(*"srcport=4444", settle=0.0)
        run.keys("\r")
        run.until("REJECT")
        run.keys("e")  # explain the hostile flow record
        run.until("Flow record")  # the detail's title: its fields are below the fold
        run.keys("\x1b", "1")
        for _ in range(3):  # exactly one event to export, whatever keys load may have eaten
            run.keys("/", "\x15")
            run.keys(*"name:Hostile7*", settle=0.0)
            run.keys("\r")
            if run.until("1 of", timeout=10):
                break
        for _ in range(3):  # export: a notification that carries a hostile path
            run.keys("x")  # (under load a key can arrive before the pane is active: retry)
            if run.until("filtered events", timeout=10):  # the dialog's text, not the footer's
                break
        run.keys("\x15")  # ctrl+u empties the default path
        run.keys(*f"{run.export_dir}/{MARKUP_NAME}", settle=0.0)
        run.keys("\r")
        run.until("Wrote")
        run.alive_before_quit = run.proc.poll() is None
        run.proc.send(b"q")
        run.status = run.proc.wait(15)
    except Exception as exc:  # reported by the test, not lost in the thread
        run.error = f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, int], Run]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAMARI_"))}
    env.update(TERM="xterm-256color", PYTHONPATH=str(ROOT), LANG="C.UTF-8")
    result: dict[tuple[int, int], Run] = {}
    # One size after the other: two apps (each with its emulator) beside another test worker on
    # a 2-core CI machine starved the 120x36 tour of CPU until its waits ran out.
    for size in ((120, 36), (80, 24)):
        folder = tmp_path_factory.mktemp(f"pty{size[0]}")
        milestones = folder / "milestones"
        milestones.touch()
        export_dir = folder / "out"
        (export_dir / MARKUP_DIR).mkdir(parents=True)
        proc = spawn(
            [sys.executable, str(SCRIPT), "--milestones", str(milestones)],
            dict(env, HOME=str(folder)),
            size=size,
        )
        result[size] = run = Run(size, proc, milestones, export_dir)
        thread = threading.Thread(target=_tour, args=(run,))
        thread.start()
        thread.join(600)  # a tour on a loaded machine takes minutes: never cut it
    yield result
    for run in result.values():
        run.proc.close()


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
def test_no_data_borne_escape_reaches_the_terminal(
    runs: dict[tuple[int, int], Run], size: tuple[int, int]
) -> None:
    run = runs[size]
    assert not run.error, run.error + run.text[-1500:]
    text = run.text
    leaks = {name: m.group() for name, p in LEAKS.items() if (m := p.search(text))}
    assert leaks == {}, {k: repr(v) for k, v in leaks.items()}
    # Textual clears the screen at most when it enters the alternate screen, never per row.
    assert len(TEXTUAL_CLEAR.findall(text)) <= 1
    missing = [s for s in SHOWN if s not in text]
    assert missing == [], "hostile records never reached the screen, so nothing was tested"


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
def test_app_survives_the_tour_and_quits_cleanly(
    runs: dict[tuple[int, int], Run], size: tuple[int, int]
) -> None:
    run = runs[size]
    assert not run.error, run.error
    assert run.alive_before_quit, (run.missed, run.text[-1500:])
    assert run.status == 0, (run.missed, run.text[-1500:])
    assert "Traceback" not in run.text
    # The export went to the path typed (markup and all) and the notification said so.
    written = list((run.export_dir / MARKUP_DIR).iterdir())
    assert [p.name for p in written] == [MARKUP_NAME.split("/", 1)[1]], run.missed
    # Compare as a terminal shows it: Textual may move the cursor inside a line it repaints.
    shown = CSI.sub("", run.text)
    assert re.search(r"Wrote\s*1\s*events", shown), shown[-800:]
    assert run.text.rfind("\x1b[?1049l") > run.text.rfind("Wrote")  # alt screen left last


async def test_export_dialog_never_shows_a_hostile_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator, demo_world
) -> None:
    """On a shared bastion the current folder may be named with escape sequences: the export
    dialog offers a relative file name and never puts that folder's name on the screen."""
    from textual.widgets import Input

    from tests.apptools import demo_app, wait_for
    from tui.panes.trail import TrailPane

    hostile = tmp_path / "\x1b]0;pwned\x07\x1b[2J\x9b2J"
    hostile.mkdir()
    monkeypatch.chdir(hostile)
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.screen.query_one(TrailPane)
        assert await wait_for(pilot, pane.has_data, 30)
        pane.action_export()
        await pilot.pause(0.3)
        field = app.screen.query_one(Input)
        rendered = "".join(field.render_line(y).text for y in range(field.size.height))
        assert field.value.startswith("hamari-trail-")
        assert not re.search("[\x1b\x07\x9b]", rendered), repr(rendered)
