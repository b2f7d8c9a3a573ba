"""KeyBar: the keys of the focused chain, one per action, following the focus; a click presses."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from widgets.keybar import KeyBar


class Box(Static, can_focus=True):
    def __init__(self, name: str, key: str) -> None:
        super().__init__(name, id=name)
        self._bindings.bind(key, f"app.mark('{name}')", name.title())


class BarApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+x", "mark('hidden')", "Hidden", show=False),
        Binding("e,E", "mark('errors')", "Errors"),  # two keys, one action: shown once
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[str] = []

    def compose(self) -> ComposeResult:
        yield Box("trail", "t")
        yield Box("flows", "f")
        yield KeyBar()

    def action_mark(self, name: str) -> None:
        self.marks.append(name)


def bar_text(app: BarApp) -> str:
    return app.query_one(KeyBar).render().plain


async def test_the_bar_follows_the_focus_and_shows_each_action_once() -> None:
    app = BarApp()
    async with app.run_test(size=(60, 5)) as pilot:
        app.query_one("#trail").focus()
        await pilot.pause()
        text = bar_text(app)
        assert " t Trail " in text and " f Flows " not in text
        assert " q Quit " in text and text.count("Errors") == 1
        assert "Hidden" not in text
        app.query_one("#flows").focus()
        await pilot.pause()
        text = bar_text(app)
        assert " f Flows " in text and " t Trail " not in text


async def test_a_click_on_a_key_presses_it() -> None:
    app = BarApp()
    async with app.run_test(size=(60, 5)) as pilot:
        app.query_one("#trail").focus()
        await pilot.pause()
        text = bar_text(app)
        column = text.index(" t Trail ") + 1
        await pilot.click(KeyBar, offset=(column, 0))
        await pilot.pause()
        assert app.marks == ["trail"]
        await pilot.click(KeyBar, offset=(text.index("Errors"), 0))
        await pilot.pause()
        assert app.marks == ["trail", "errors"]
