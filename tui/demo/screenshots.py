"""Render the seeded demo to SVG at fixed sizes: ``python -m tui.demo.screenshots [OUTDIR]``.

The emulator is seeded at a fixed instant and the app's clock is pinned to it, so the pictures are
reproducible; no live feeder runs. Each scene presses the keys a user would and waits until the
panes show data before saving.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The start of the current hour: moto, like AWS, drops log events older than 14 days, so a fixed
# date would empty the flow-log pane. Within one run the clock is pinned, so scenes agree.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Scene:
    name: str
    size: tuple[int, int]
    keys: Sequence[str] = ()


def _type(text: str) -> tuple[str, ...]:
    """Key names for typing ``text`` (Textual's pilot presses one key at a time)."""
    names = {
        " ": "space",
        ":": "colon",
        "*": "asterisk",
        "/": "slash",
        "-": "minus",
        "!": "exclamation_mark",
    }
    return tuple(names.get(ch, ch) for ch in text)


SCENES = (
    Scene("demo-120x36", (120, 36)),
    Scene("demo-80x24-trail-denials", (80, 24), ("slash", *_type("error:AccessDenied*"), "enter")),
    Scene("demo-80x24-metrics", (80, 24), ("2",)),
    Scene("demo-80x24-flows-pairs", (80, 24), ("3", "p")),
    Scene("demo-80x24-findings", (80, 24), ("exclamation_mark",)),
    Scene(
        "demo-120x36-compare",
        (120, 36),
        ("colon", *_type("compare app-batch-01 app-batch-02"), "_", "enter"),
    ),
)


async def _shoot(scene: Scene, url: str, world: Any, outdir: Path) -> Path:
    from tui.app import HamariApp
    from tui.demo.runtime import AttachedRuntime
    from tui.panes.base import Pane
    from tui.settings import Settings

    app = HamariApp(
        Settings(demo=True), clock=lambda: NOW, demo_runtime=AttachedRuntime(url, world)
    )
    async with app.run_test(size=scene.size) as pilot:
        for _ in range(400):
            await pilot.pause(0.1)
            panes = list(app.screen.query(Pane))
            if panes and all(p.has_data() and not p.refreshing for p in panes):
                break
        await pilot.pause(2.0)  # findings and the health badge
        for key in scene.keys:
            if key == "_":
                await pilot.pause(0.5)
                continue
            await pilot.press(key)
            await pilot.pause(0.05)
        await pilot.pause(1.5)
        path = outdir / f"{scene.name}.svg"
        app.save_screenshot(filename=path.name, path=str(outdir))
    return path


def main(argv: Sequence[str]) -> int:
    from tui.demo.seed import seed
    from tui.demo.server import EmbeddedAws

    outdir = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "screenshots"
    outdir.mkdir(parents=True, exist_ok=True)
    with EmbeddedAws() as emulator:
        world = seed(emulator.url, now=NOW)
        for scene in SCENES:
            path = asyncio.run(_shoot(scene, emulator.url, world, outdir))
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
