"""The shell as a user meets it: start, the three panes, switching, zoom, help, quit."""

from __future__ import annotations

import io

from rich.console import Console

from tests.apptools import demo_app, wait_for
from tui.panes.base import Pane
from tui.screens.chrome import HeaderBar


def visible_panes(app) -> list[str]:
    return [p.id for p in app.screen.query(Pane) if p.display and p.region.area > 0]


async def test_wide_terminal_shows_three_panes_with_data(emulator, demo_world) -> None:
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        assert await wait_for(pilot, lambda: all(p.has_data() for p in app.screen.query(Pane)), 30)
        assert sorted(visible_panes(app)) == ["flows", "metrics", "trail"]
        header = str(app.screen.query_one(HeaderBar).render())
        assert "DEMO" in header and demo_world.account_id in header and "us-east-1" in header


async def test_narrow_terminal_shows_one_pane_and_keys_switch(emulator, demo_world) -> None:
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause(0.3)
        assert visible_panes(app) == ["trail"]
        await pilot.press("2")
        await pilot.pause(0.1)
        assert visible_panes(app) == ["metrics"]
        await pilot.press("3")
        await pilot.pause(0.1)
        assert visible_panes(app) == ["flows"]
        await pilot.press("tab")
        await pilot.pause(0.1)
        assert visible_panes(app) == ["trail"]


async def test_zoom_shows_only_the_active_pane_and_toggles_back(emulator, demo_world) -> None:
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("2", "z")
        await pilot.pause(0.1)
        assert visible_panes(app) == ["metrics"]
        await pilot.press("z")
        await pilot.pause(0.1)
        assert len(visible_panes(app)) == 3


async def test_too_small_terminal_says_so(emulator, demo_world) -> None:
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(50, 12)) as pilot:
        await pilot.pause(0.2)
        notice = app.screen.query_one("#too-small")
        assert notice.display and "too small" in str(notice.render()).lower()
        await pilot.resize_terminal(120, 36)
        await pilot.pause(0.2)
        assert not notice.display


async def test_help_lists_the_keys_and_closes(emulator, demo_world) -> None:
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        lines = [strip.text for strip in app.screen._compositor.render_strips()]
        console = Console(width=76, record=True, file=io.StringIO())
        console.print(app.screen.query_one("Static").content)
        text = console.export_text()  # the whole help, scrolled or not
        assert "zoom" in text.lower() and "quit" in text.lower()
        # At 80 columns a long description wraps inside its own column: the continuation line
        # is indented past the keys, not back to the border (as one long string would wrap).
        cost = next(i for i, line in enumerate(lines) if "Cost: Requests per API" in line)
        key_col = lines[cost].index("$")
        desc_col = lines[cost].index("Cost:")
        wrapped = lines[cost + 1]
        assert wrapped[:desc_col].strip(" │") == "" and wrapped[desc_col:].strip(" │"), wrapped
        assert desc_col > key_col
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert type(app.screen).__name__ == "MainScreen"


async def test_help_lists_the_keys_that_work_but_were_not_shown(emulator, demo_world) -> None:
    """? said "every key", yet left out b (declared once on the base pane), the tables' keys
    (enter opens an event or a flow record, s sorts) and a series row's enter (chart)."""
    import re

    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        console = Console(width=76, record=True, file=io.StringIO())
        console.print(app.screen.query_one("Static").content)
        text = console.export_text()
        for key, what in [
            ("b", "Skipped"),
            ("⏎", "Open"),
            ("s", "Sort"),
            ("S", "Reverse"),
            ("⏎", "Chart"),
            ("esc", "Clear: In the filter bar"),
        ]:
            assert re.search(rf"^  {re.escape(key)} +{re.escape(what)}", text, re.M), (key, what)


async def test_quit_closes_aws_clients(emulator, demo_world) -> None:
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.aws is not None and app.aws.identity is not None)
        aws = app.aws
        await pilot.press("q")
        await pilot.pause(0.2)
    assert aws._closed and not aws._clients


async def test_the_command_palette_offers_no_textual_command_that_writes_or_skips_cleanup(
    emulator, demo_world
) -> None:
    """Screenshot wrote SVGs into the current folder of a shared bastion; Textual's Quit left
    the AWS clients open. Of Textual's own commands only Theme is offered."""
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles == ["Theme"], titles
