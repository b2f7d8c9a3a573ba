"""Findings as a user meets them in the demo: the strip names the three incidents on its own,
``!`` lists them, and enter on one shows its evidence in its pane."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from textual.app import App, ComposeResult
from textual.widgets import OptionList

from tests.apptools import demo_app, wait_for
from tests.demo_fixtures import DEMO_NOW
from tests.hostile import HOSTILE
from tui.demo.seed import seed
from tui.models.findings import Evidence, Finding
from tui.models.flowlog import conversation_key
from tui.panes.flows import FlowsPane
from tui.panes.trail import TrailPane
from tui.screens.findings import FindingsScreen
from tui.screens.findings_strip import FindingsStrip, strip_text
from tui.screens.main import MainScreen


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    emulator.reset()
    return seed(emulator.url, now=DEMO_NOW)


def kinds(screen: MainScreen) -> set[str]:
    return {f.kind for f in screen.findings or ()}


INCIDENTS = {"start_failed", "instance_ebs_limit", "return_rejected"}


async def choose(pilot: Any, app: Any, kind: str) -> None:
    """Open the findings screen and press enter on the first finding of ``kind``."""
    await pilot.press("exclamation_mark")
    assert await wait_for(pilot, lambda: isinstance(app.screen, FindingsScreen), 5)
    screen = app.screen
    index = next(i for i, f in enumerate(screen.findings) if f.kind == kind)
    options = screen.query_one(OptionList)
    options.highlighted = options.get_option_index(f"f{index}")
    await pilot.press("enter")
    assert await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), 5)


async def test_the_three_incidents_appear_on_their_own_and_one_key_shows_the_evidence(
    emulator: Any, world: Any
) -> None:
    app = demo_app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        assert await wait_for(pilot, lambda: kinds(main) >= INCIDENTS, 45), kinds(main)
        await pilot.pause(0.2)
        strip = main.query_one(FindingsStrip)
        shown = strip.render().plain
        assert shown.startswith("⚑ ")
        # Incident 1 names its cause: the instance by Name tag, the denied KMS call, its EBS key.
        assert "✖ i-" in shown and "(app-batch-01) will not start: kms:CreateGrant" in shown
        assert "✖ return traffic REJECTed in us-east-1c (acl-" in shown
        assert "▲ app-db-01 (i-" in shown  # the fleet sweep names the instance, no target chosen
        assert "): IO at the m5.large EBS limit" in shown
        assert strip.size.height <= 2

        # Incident 1: the trail pane, filtered to the start and the KMS denials after it.
        await choose(pilot, app, "start_failed")
        trail = main.query_one(TrailPane)
        assert main.active_pane == "trail"
        assert await wait_for(pilot, lambda: not trail.filter.is_empty, 5)
        view = trail.view
        denied = [e for e in view if e.is_error]
        assert denied and all(e.source == "kms" and e.error_code == "AccessDenied" for e in denied)
        assert {e.event_name for e in view} == {"StartInstances", "CreateGrant", "Decrypt"}
        assert all(world.failing_instance_id in e.resources for e in view if not e.is_error)
        assert await wait_for(pilot, lambda: trail.selected is not None and trail.selected.is_error)

        # Incident 3: the flows pane, filtered to the REJECTed return legs.
        await choose(pilot, app, "return_rejected")
        flows = main.query_one(FlowsPane)
        assert main.active_pane == "flows"
        assert await wait_for(pilot, lambda: flows.filter is not None, 5)
        assert await wait_for(pilot, lambda: bool(flows.matched), 5)
        assert all(r.action == "REJECT" for r in flows.matched)
        finding = next(f for f in main.findings or () if f.kind == "return_rejected")
        assert str(world.nacl_deny_rule) in finding.title and world.nacl_id in finding.title
        table = flows.table
        assert table.cursor_row is not None
        record = table.rows.record(table.cursor_row)  # type: ignore[attr-defined]
        assert record.action == "REJECT"
        key = finding.evidence[0].record_key
        assert "|".join("" if p is None else str(p) for p in conversation_key(record)) == key


class StripApp(App[None]):
    def __init__(self, findings: tuple[Finding, ...]) -> None:
        super().__init__()
        self.findings = findings

    def compose(self) -> ComposeResult:
        yield FindingsStrip()

    def on_mount(self) -> None:
        self.query_one(FindingsStrip).findings = self.findings


async def test_hostile_text_in_a_finding_renders_literally() -> None:
    hostile = "[link=https://evil]x[/link] [/admin] [bold]red"
    finding = Finding(
        "denial_burst",
        "warning",
        f"6 AccessDenied for {hostile}",
        f"{hostile} was denied {HOSTILE[0] if HOSTILE else ''}",
        hostile,
        (Evidence("trail", f"denials of {hostile}", "user:x error:any"),),
    )
    app = StripApp((finding,))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        strip = app.query_one(FindingsStrip)
        await pilot.pause()
        assert "[/admin]" in strip.render().plain
        app.push_screen(FindingsScreen([finding]))
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        prompts = [options.get_option_at_index(i).prompt for i in range(options.option_count)]
        console = Console(width=400, file=io.StringIO(), record=True)
        segments = [seg for p in prompts for seg in console.render(p)]
        plain = "".join(seg.text for seg in segments)
        assert hostile in plain and "\x1b" not in plain
        assert not any(seg.style is not None and seg.style.link for seg in segments)


async def test_a_finding_wraps_under_itself_at_80_columns() -> None:
    """Detail and evidence lines wrap under their own start, not back to the border."""
    detail = "word " * 60
    finding = Finding(
        "denial_burst",
        "warning",
        "6 AccessDenied",
        detail.strip(),
        "x",
        (Evidence("trail", "denials " + "long " * 30, "user:x error:any"),),
    )
    app = StripApp((finding,))
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(FindingsScreen([finding]))
        await pilot.pause()
        lines = [strip.text for strip in app.screen._compositor.render_strips()]
        body = [ln for ln in lines if "word" in ln]
        assert len(body) >= 3  # it wraps
        starts = {ln.index("word") - ln.index("│") for ln in body}
        assert len(starts) == 1, body  # every wrapped line starts in the same column
        ev = [ln for ln in lines if "long" in ln or "denials" in ln]
        arrow = ev[0].index("→")
        assert all(ln.index("long" if "denials" not in ln else "denials") > arrow for ln in ev), ev


@pytest.mark.parametrize("width", [40, 80, 120])
def test_strip_text_fits_its_width(width: int) -> None:
    findings = tuple(
        Finding(
            "k", "error", f"finding number {i} with a long title i-0123456789abcdef0", "", "", ()
        )
        for i in range(6)
    )
    text = strip_text(findings, width, 2)
    lines = text.plain.splitlines()
    assert 1 <= len(lines) <= 2 and all(len(line) <= width for line in lines)
    assert lines[0].startswith("⚑ 6 findings:")
    assert "i-0123456789abcdef0" not in text.plain  # long IDs are shortened on the strip
    assert strip_text(None, width).plain.startswith("⚑ findings: waiting")
    assert strip_text((), width).plain.startswith("✓ no findings")
