"""The export prompt never replaces a file or writes into nowhere without saying so first."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App

from tui.dialogs.export import ExportPrompt


class PromptApp(App[None]):
    def __init__(self, default: str) -> None:
        super().__init__()
        self.default = default
        self.answers: list[str | None] = []

    def on_mount(self) -> None:
        self.push_screen(ExportPrompt("Export 3 events.", self.default), self.answers.append)


def _warning(app: PromptApp) -> str:
    return str(app.screen.query_one("#export-warning").render())


@pytest.mark.parametrize(
    ("make", "enters", "answered", "said"),
    [
        ("new", 1, True, ""),
        ("existing", 1, False, "exists: enter again to replace it"),
        ("existing", 2, True, ""),
        ("folder", 2, False, "is a folder"),
        ("missing-parent", 1, False, "No folder"),
    ],
)
async def test_enter_writes_only_a_new_file_or_a_confirmed_one(
    tmp_path: Path, make: str, enters: int, answered: bool, said: str
) -> None:
    target = {
        "new": tmp_path / "out.ndjson",
        "existing": tmp_path / "old.ndjson",
        "folder": tmp_path / "dir",
        "missing-parent": tmp_path / "nope" / "out.ndjson",
    }[make]
    if make == "existing":
        target.write_text("last hour's evidence\n")
    if make == "folder":
        target.mkdir()
    app = PromptApp(str(target))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for _ in range(enters):
            await pilot.press("enter")
            await pilot.pause()
        assert app.answers == ([str(target)] if answered else []), app.answers
        if not answered:
            assert said in _warning(app)
    if make == "existing" and not answered:
        assert target.read_text() == "last hour's evidence\n"


async def test_changing_the_name_after_the_warning_asks_again(tmp_path: Path) -> None:
    (tmp_path / "a.ndjson").write_text("a\n")
    (tmp_path / "b.ndjson").write_text("b\n")
    app = PromptApp(str(tmp_path / "a.ndjson"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert "exists" in _warning(app)
        field = app.screen.query_one("#export-path")
        field.value = str(tmp_path / "b.ndjson")  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.answers == [] and "b.ndjson exists" in _warning(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.answers == [None]
