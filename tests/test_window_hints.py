"""An empty table always says why: the window hides a file of another year (W fits the window
to the data), the focus hides the evidence (U clears it), and what was skipped is one key away."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.apptools import AttachedRuntime, wait_for
from tests.demo_fixtures import DEMO_NOW
from tests.hostile import HOSTILE
from tui.app import HamariApp
from tui.demo.seed import seed
from tui.dialogs.skipped import SkippedScreen, skipped_prompt
from tui.models.findings import Evidence
from tui.models.timewindow import TimeWindow, window_label
from tui.panes.flows import FlowsPane
from tui.panes.trail import TrailPane
from tui.screens.chrome import HeaderBar
from tui.screens.main import MainScreen
from tui.settings import Settings

# 2015-12-01 09:30:10 UTC: a file of another year than the demo's clock.
OLD = 1448962210


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    emulator.reset()
    return seed(emulator.url, now=DEMO_NOW)


def flow_line(i: int, action: str = "ACCEPT") -> str:
    start = OLD + 60 * i
    return (
        f"2 123456789012 eni-0a1b2c3d4e5f60718 10.9.0.{i % 250 + 1} 10.9.1.5 443 {40000 + i} 6 "
        f"10 840 {start} {start + 60} {action} OK"
    )


def trail_file(folder: Path) -> Path:
    records = [
        {
            "eventVersion": "1.08",
            "eventTime": f"2015-12-01T09:{30 + i:02d}:00Z",
            "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeInstances",
            "awsRegion": "eu-west-3",
            "eventID": f"00000000-0000-0000-0000-0000000000{i:02d}",
            "userIdentity": {"type": "IAMUser", "userName": "old-admin"},
            "sourceIPAddress": "198.51.100.7",
        }
        for i in range(12)
    ]
    path = folder / "trail" / "old.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"Records": records}))
    (folder / "trail" / "empty.json").write_text("")
    return path.parent


def app_reading(emulator: Any, world: Any, **settings: Any) -> HamariApp:
    return HamariApp(
        Settings(demo=True, **settings),
        clock=lambda: world.now,
        demo_runtime=AttachedRuntime(emulator.url, world),
    )


def status(pane: Any) -> str:
    return str(pane.query_one(".pane-status").render())


def test_a_fixed_window_over_years_shows_the_years() -> None:
    window = TimeWindow(
        datetime(2014, 12, 1, tzinfo=UTC), datetime(2016, 12, 31, tzinfo=UTC), live=False
    )
    label = window_label(window, utc=True)
    assert label == "2014-12-01 00:00→2016-12-31 00:00 UTC"
    same_day = TimeWindow(
        datetime(2015, 3, 2, 9, tzinfo=UTC), datetime(2015, 3, 2, 11, tzinfo=UTC), live=False
    )
    assert window_label(same_day, utc=True) == "2015-03-02 09:00→11:00 UTC"


async def test_old_local_files_say_the_window_hides_them_and_w_fits_it(
    emulator: Any, world: Any, tmp_path: Path
) -> None:
    flows_file = tmp_path / "flows.log"
    flows_file.write_text("\n".join(flow_line(i) for i in range(30)) + "\n")
    app = app_reading(
        emulator, world, flows_source=str(flows_file), trail_source=str(trail_file(tmp_path))
    )
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        trail, flows = main.query_one(TrailPane), main.query_one(FlowsPane)
        assert await wait_for(pilot, lambda: flows._loaded_for is not None and trail._complete, 30)
        await pilot.pause(0.3)
        # One rule for both panes: the window (last 3h) applies to local files too, and the
        # empty tables say what it hides and which key fits it.
        assert not flows.matched and not trail.view
        assert "30 records read, none in the window (last 3h)" in flows.table.empty_text
        assert "W fits the window" in flows.table.empty_text
        assert "12 events read, none in the window (last 3h)" in trail.table.empty_text
        assert "30 outside the window (W: fit)" in status(flows)
        # The empty file is named, not only counted: b on the trail pane lists it.
        assert "2 files: 1 read (12 events), 1 skipped (digest, empty or not a log) (b: list)" in (
            status(trail)
        )
        await pilot.press("b")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SkippedScreen), 5)
        listed = [skipped_prompt(i).plain for i in app.screen.items]  # type: ignore[attr-defined]
        assert any(
            "empty.json" in line and "empty" in line.split("empty.json", 1)[1] for line in listed
        ), listed
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: app.screen is main, 5)

        await pilot.press("W")
        assert await wait_for(
            pilot, lambda: len(flows.matched) == 30 and len(trail.view) == 12, 20
        ), (len(flows.matched), len(trail.view))
        assert not main.window.live
        assert main.window.start.year == 2015
        header = str(main.query_one(HeaderBar).render())
        assert "2015-12-01" in header
        # The window spans more than a day? No: 09:29-10:31, so times without dates.
        assert flows.table.rows[0][0].count(":") >= 1


async def test_rows_show_the_date_when_the_window_spans_days(
    emulator: Any, world: Any, tmp_path: Path
) -> None:
    flows_file = tmp_path / "flows.log"
    lines = [flow_line(0), flow_line(60 * 24 * 40)]  # forty days apart
    flows_file.write_text("\n".join(lines) + "\n")
    app = app_reading(emulator, world, flows_source=str(flows_file))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.screen
        flows = main.query_one(FlowsPane)
        assert await wait_for(pilot, lambda: flows._loaded_for is not None, 30)
        await pilot.press("W")
        assert await wait_for(pilot, lambda: len(flows.matched) == 2, 20)
        await pilot.pause(0.2)
        cells = [flows.table.rows[i][0] for i in range(2)]
        assert cells == ["2016-01-10 09:30", "2015-12-01 09:30"], cells


async def test_a_focus_that_hides_the_evidence_says_so_and_u_clears_it(
    emulator: Any, world: Any
) -> None:
    app = HamariApp(
        Settings(demo=True),
        clock=lambda: world.now,
        demo_runtime=AttachedRuntime(emulator.url, world),
    )
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        flows = main.query_one(FlowsPane)
        assert await wait_for(pilot, lambda: flows.has_data() and bool(main.instances), 40)
        main.focused_resource = world.failing_instance_id  # no flows of the REJECT finding
        await pilot.pause(0.3)
        main.show_evidence(Evidence("flows", "the REJECTed legs", "action=REJECT"))
        # The focus alone may hide records already; wait for the evidence's own warning.
        assert await wait_for(
            pilot,
            lambda: any("hides this evidence" in n.message for n in app._notifications),
            10,
        )
        assert flows.hidden_by_focus > 0
        assert not flows.matched
        text = flows.table.empty_text
        assert "focus ◎ " + world.failing_instance_id in text and "U clears the focus" in text
        assert "◎ hides" in status(flows)

        # The same in the trail pane: role sessions name no instance, so the focus hides them.
        trail = main.query_one(TrailPane)
        main.show_evidence(Evidence("trail", "role sessions", "name:AssumeRole"))
        assert await wait_for(pilot, lambda: main.active_pane == "trail", 5)
        assert await wait_for(pilot, lambda: trail.hidden_by_focus > 0, 10)
        assert not trail.view
        assert "U clears the focus" in trail.table.empty_text
        assert "◎ hides" in status(trail)

        await pilot.press("U")
        assert await wait_for(pilot, lambda: bool(trail.view), 10)
        assert main.focused_resource is None
        assert {e.event_name for e in trail.view} == {"AssumeRole"}
        await pilot.press("3")
        main.show_evidence(Evidence("flows", "the REJECTed legs", "action=REJECT"))
        assert await wait_for(pilot, lambda: bool(flows.matched), 10)
        assert all((r.action or "").upper() == "REJECT" for r in flows.matched)


async def test_b_lists_what_was_skipped_by_file_and_line_escaped(
    emulator: Any, world: Any, tmp_path: Path
) -> None:
    (tmp_path / "flows").mkdir()
    flows_file = tmp_path / "flows" / "flows.log"
    hostile = HOSTILE[0] + HOSTILE[-6]  # OSC 52 and markup
    lines = [flow_line(0), f"garbage {hostile} line", flow_line(1), "2 too few fields"]
    flows_file.write_text("\n".join(lines) + "\n")
    # a CloudTrail file among the flow logs: not a flow log, named and skipped, no data loss
    (tmp_path / "flows" / "trail.json").write_text('{"Records": [{"eventName": "RunInstances"}]}')
    flows_dir = str(flows_file.parent)
    app = app_reading(emulator, world, flows_source=flows_dir, trail_source=str(tmp_path))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.screen
        flows = main.query_one(FlowsPane)
        assert await wait_for(pilot, lambda: flows._loaded_for is not None, 30)
        await pilot.press("3")
        await pilot.pause(0.2)
        assert "bad 2 ln/0 files (b: list)" in status(flows)
        assert "1 file not a flow log (b: list)" in status(flows)
        await pilot.press("b")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SkippedScreen), 5)
        screen = app.screen
        assert isinstance(screen, SkippedScreen)
        shown = [skipped_prompt(item).plain for item in screen.items]
        assert len(shown) == 3
        assert shown[0].startswith(f"{flows_file}:2 ") and shown[1].startswith(f"{flows_file}:4 ")
        not_flow = f"{flows_file.parent / 'trail.json'}  not a flow log: JSON that holds no"
        assert shown[2].startswith(not_flow)
        assert "Flow logs: 3 skipped" in screen.caption().plain
        assert all("\x1b" not in s and "\x07" not in s for s in shown)
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), 5)
