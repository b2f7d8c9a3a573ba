"""Incident bundles end to end: ctrl+s in a demo run, then ``--replay`` with no network at all."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.apptools import demo_app, wait_for
from tests.demo_fixtures import DEMO_NOW
from tui.app import HamariApp
from tui.demo.seed import seed
from tui.models.bundle import load
from tui.panes.flows import FlowsPane
from tui.panes.metrics import MetricsPane
from tui.panes.trail import TrailPane
from tui.screens.chrome import HeaderBar
from tui.screens.main import MainScreen, TextPrompt
from tui.settings import Settings

INCIDENTS = {"start_failed", "instance_ebs_limit", "return_rejected"}


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    emulator.reset()
    return seed(emulator.url, now=DEMO_NOW)


@pytest.fixture(scope="module")
def saved(emulator: Any, world: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A demo run that saves a bundle with ctrl+s; what it showed, and where the file is."""
    import asyncio

    path = tmp_path_factory.mktemp("bundle") / "incident.json.gz"

    async def run() -> dict[str, Any]:
        app = demo_app(emulator, world)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            main = app.screen
            assert isinstance(main, MainScreen)
            kinds = lambda: {f.kind for f in main.findings or ()}  # noqa: E731
            assert await wait_for(pilot, lambda: kinds() >= INCIDENTS, 45), kinds()
            trail, flows = main.query_one(TrailPane), main.query_one(FlowsPane)
            metrics = main.query_one(MetricsPane)
            quiet = lambda: not any(p.refreshing for p in main.panes) and trail._complete  # noqa: E731
            assert await wait_for(pilot, quiet, 20)
            await pilot.press("j", "j")  # a time cursor, to be saved too
            assert await wait_for(pilot, lambda: main.time_cursor is not None, 3)
            await pilot.press("ctrl+s")
            assert await wait_for(pilot, lambda: isinstance(app.screen, TextPrompt), 3)
            app.screen.query_one("#prompt-input").value = str(path)  # type: ignore[attr-defined]
            await pilot.press("enter")
            assert await wait_for(pilot, path.exists, 10)
            assert await wait_for(
                pilot, lambda: any("Saved" in n.message for n in app._notifications), 5
            )
            note = next(n.message for n in app._notifications if "Saved" in n.message)
            assert str(path) in note and "--replay" in note
            assert metrics.evidence is main.metrics_evidence  # the pane draws the screen's
            assert main.metrics_evidence.assessment is not None
            return {
                "events": [e.event_id for e in trail.view],
                "flows": sorted(r.raw for r in flows.matched),
                "verdict": main.metrics_evidence.assessment.verdict,
                "kinds": kinds(),
                "cursor": main.time_cursor,
                "requests": len(emulator.calls()),
            }

    seen = asyncio.run(run())
    seen["path"] = path
    return seen


def test_the_saved_file_holds_what_the_panes_held(saved: dict[str, Any]) -> None:
    bundle = load(saved["path"])
    assert len(bundle.trail_events) == len(saved["events"])
    assert sorted(r.raw for r in bundle.flow_records) == saved["flows"]
    assert bundle.metrics is not None and bundle.metrics.verdict == saved["verdict"]
    assert {f.kind for f in bundle.findings} >= INCIDENTS
    assert bundle.time_cursor == saved["cursor"]
    assert bundle.queries["metrics"]["api"] == "cloudwatch:GetMetricData"
    assert "MetricDataQueries" in bundle.queries["metrics"]
    assert bundle.source["demo"] is True and bundle.instances


async def test_replay_shows_the_same_evidence_without_aws(
    saved: dict[str, Any], emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    constructed: list[Any] = []
    monkeypatch.setattr("tui.app.Aws", lambda *a, **k: constructed.append(a))
    connects: list[Any] = []
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            connects.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    before = len(emulator.calls())

    bundle = load(saved["path"])
    app = HamariApp(Settings(), replay=bundle, replay_path=str(saved["path"]))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        trail, flows = main.query_one(TrailPane), main.query_one(FlowsPane)
        metrics = main.query_one(MetricsPane)
        assert await wait_for(pilot, lambda: len(trail.view) == len(saved["events"]), 10)
        assert [e.event_id for e in trail.view] == saved["events"]
        assert await wait_for(pilot, lambda: len(flows.matched) == len(saved["flows"]), 10)
        assert sorted(r.raw for r in flows.matched) == saved["flows"]
        assert metrics.evidence is main.metrics_evidence
        assert main.metrics_evidence.assessment is not None
        assert main.metrics_evidence.assessment.verdict == saved["verdict"]
        assert await wait_for(pilot, lambda: {f.kind for f in main.findings or ()} >= INCIDENTS, 10)
        assert await wait_for(pilot, lambda: main.time_cursor == saved["cursor"], 3)
        text = str(main.query_one(HeaderBar).render())
        assert "REPLAY" in text and "incident.json.gz" in text and "saved" in text
        assert not main.window.live
        await pilot.press("p")  # the flows pairs view works from the saved topology
        await pilot.press("3", "p")
        assert await wait_for(pilot, lambda: bool(flows.pairs), 5)
        await pilot.pause(0.5)
    assert constructed == [] and app.aws is None
    assert len(emulator.calls()) == before
    assert connects == []


def test_replay_of_a_missing_file_is_one_sentence(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui", "--replay", str(tmp_path / "missing.json")],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing.json" in lines[0] and "No such file" in lines[0]
    assert result.stdout == ""
