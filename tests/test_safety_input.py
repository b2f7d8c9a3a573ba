"""Bad input typed into the running app is answered with a sentence; the app keeps running.

``w`` then ``999999d`` ended the whole app (an OverflowError out of the prompt's check), and so
did ``:window`` with the same text. A window that is valid but enormous (``20000d``, back to the
1970s) must not crash a pane either.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.apptools import demo_app, wait_for
from tests.demo_fixtures import DEMO_NOW
from tui.demo.seed import seed
from tui.panes.base import Pane
from tui.panes.trail import TrailPane
from tui.screens.main import MainScreen, TextPrompt


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    emulator.reset()
    return seed(emulator.url, now=DEMO_NOW)


def _refreshes_with(main: MainScreen, duration: timedelta) -> set[str]:
    """The ids of the panes that ran a refresh to its end (returned or raised) that began
    while the shared window lasted ``duration``; filled in as the app runs."""
    done: set[str] = set()
    for pane in main.query(Pane):

        async def refresh(pane: Pane = pane, real: Any = pane.refresh_data) -> None:
            began = main.window.duration
            try:
                await real()
            finally:
                if began == duration:
                    done.add(str(pane.id))

        pane.refresh_data = refresh  # type: ignore[method-assign]
    return done


def _prompt_error(app: Any) -> str:
    return " ".join(str(s.render()) for s in app.screen.query(".prompt-error"))


async def test_window_prompt_answers_any_text_and_the_app_stays(emulator: Any, world: Any) -> None:
    app = demo_app(emulator, world, fast=True)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        trail = main.query_one(TrailPane)
        assert await wait_for(pilot, trail.has_data, 30)
        before = main.window
        for typed in ("999999d", "99999999999999999999d", "0001-01-01T00:00+01:00", "0m"):
            await pilot.press("w")
            assert await wait_for(pilot, lambda: isinstance(app.screen, TextPrompt), 3)
            await pilot.press(*typed, "enter")
            await pilot.pause(0.2)
            assert app.is_running and app.return_code is None, typed
            assert isinstance(app.screen, TextPrompt), typed  # refused: the prompt stays open
            error = _prompt_error(app)
            assert "out of range" in error or "window is empty" in error, (typed, error)
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: app.screen is main, 3)
        assert main.window == before

        # A huge but valid window: every pane keeps working (each one refreshes with it, to the
        # end, answered or refused, rather than a fixed pause that hoped they had).
        huge = timedelta(days=20000)
        refreshed = _refreshes_with(main, huge)
        await pilot.press("w")
        assert await wait_for(pilot, lambda: isinstance(app.screen, TextPrompt), 3)
        await pilot.press(*"20000d", "enter")
        assert await wait_for(pilot, lambda: app.screen is main, 3)
        assert main.window.duration == huge
        panes = {p.id for p in main.query(Pane)}
        assert await wait_for(pilot, lambda: refreshed >= panes, 30), (refreshed, panes)
        assert app.is_running and app.return_code is None


async def test_window_command_answers_with_a_notification(emulator: Any, world: Any) -> None:
    from tui.commands import parse, run

    app = demo_app(emulator, world, fast=True)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        before = main.window
        run(app, parse("window 999999d"))
        await pilot.pause(0.2)
        assert app.is_running and main.window == before
        assert any("out of range" in n.message for n in app._notifications)
