"""The flow pane reads header-less local files in a custom layout (issue 11.11)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.test_flowlog_parse import _v5_line
from tests.test_pane_flows import _status, _wait
from tui.app import HamariApp
from tui.cli import build_parser
from tui.demo.runtime import AttachedRuntime
from tui.panes.flows import FlowsPane
from tui.settings import Settings, load_settings

CUSTOM = "${srcaddr} ${dstaddr} ${action} ${dstport} ${start} ${end} ${interface-id}"


def _app(emulator: Any, world: Any, path: Path, fmt: str | None) -> HamariApp:
    return HamariApp(
        Settings(demo=True, flows_source=str(path), flows_format=fmt),
        clock=lambda: world.now,
        demo_runtime=AttachedRuntime(emulator.url, world),
    )


def test_flows_format_is_a_flag_of_the_tui(tmp_path: Path) -> None:
    ns = build_parser().parse_args(["--flows-source", "x.log", "--flows-format", CUSTOM])
    settings = load_settings(vars(ns), env={}, config_file=tmp_path / "none.toml")
    assert settings.flows_format == CUSTOM


async def test_the_pane_reads_a_custom_layout_with_flows_format(
    emulator: Any, demo_world: Any, tmp_path: Path
) -> None:
    now = int(demo_world.now.timestamp())
    path = tmp_path / "copied.log"
    path.write_text(
        f"10.0.0.1 10.0.0.2 ACCEPT 5432 {now - 120} {now - 60} eni-1\n"
        f"10.0.0.2 10.0.0.1 REJECT 40000 {now - 120} {now - 60} eni-2\n"
    )
    app = _app(emulator, demo_world, path, CUSTOM)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.press("3")
        pane = pilot.app.screen.query_one(FlowsPane)
        assert await _wait(pilot, lambda: len(pane.records) == 2)
        assert sorted((r.action, r.dstport) for r in pane.records) == [
            ("ACCEPT", 5432),
            ("REJECT", 40000),
        ]
        assert "bad" not in _status(pane)


async def test_the_pane_says_when_it_guessed_the_layout(
    emulator: Any, demo_world: Any, tmp_path: Path
) -> None:
    now = int(demo_world.now.timestamp())
    path = tmp_path / "v5.log"
    line = _v5_line().replace("1700000000", str(now - 120)).replace("1700000060", str(now - 60))
    path.write_text(line + "\n")
    app = _app(emulator, demo_world, path, None)
    async with app.run_test(size=(160, 36), notifications=True) as pilot:
        await pilot.press("3")
        pane = pilot.app.screen.query_one(FlowsPane)
        assert await _wait(pilot, lambda: len(pane.records) == 1)
        await pilot.pause()
        assert "layout guessed from the field count" in _status(pane)
        assert any("29 fields per line" in item.reason for item in pane.skipped_items())
