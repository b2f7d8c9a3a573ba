"""`:focus` scopes the panes to a resource and what belongs to it (incident 1 and 3 views)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.apptools import demo_app, wait_for
from tui.demo.seed import seed
from tui.panes.flows import FlowsPane
from tui.panes.trail import TrailPane
from tui.screens.main import MainScreen


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    from tests.demo_fixtures import DEMO_NOW

    emulator.reset()
    return seed(emulator.url, now=DEMO_NOW)


async def test_focus_scopes_trail_and_flows_then_clears(emulator: Any, world: Any) -> None:
    app = demo_app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        trail, flows = screen.query_one(TrailPane), screen.query_one(FlowsPane)
        assert await wait_for(
            pilot,
            lambda: trail.has_data() and flows.has_data() and not trail.refreshing,
            40,
        )
        assert await wait_for(pilot, lambda: bool(screen.instances), 20)
        everything = len(screen.trail_evidence.loaded_events)

        screen.focused_resource = world.failing_instance_id
        assert await wait_for(pilot, lambda: 0 < len(trail._view) < everything)
        names = {e.event_name for e in trail._view}
        # The KMS denials name the key and the volume, not the instance: they are in scope.
        assert {"StartInstances", "CreateGrant", "Decrypt"} <= names
        assert "◎" in str(trail.border_subtitle)

        screen.focused_resource = world.web_instance_id
        web_eni = world.eni_ids["app-web-01"]
        assert await wait_for(
            pilot,
            lambda: bool(flows.matched) and {r.interface_id for r in flows.matched} == {web_eni},
        ), sorted({r.interface_id for r in flows.matched})

        screen.focused_resource = None
        assert await wait_for(
            pilot, lambda: len(trail._view) == len(screen.trail_evidence.loaded_events)
        )


async def test_a_focus_that_hides_the_rejected_leg_still_leaves_the_finding(
    emulator: Any, world: Any
) -> None:
    """Focus narrows what the flow pane shows, never what the findings see."""
    from tui.models.findings import conversation_id
    from tui.models.flowlog import conversation_key

    app = demo_app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        flows = screen.query_one(FlowsPane)
        screen.focused_resource = world.web_instance_id  # before any flow record is loaded
        assert await wait_for(pilot, lambda: flows.focus_scope is not None, 20)
        assert await wait_for(
            pilot,
            lambda: any(f.kind == "return_rejected" for f in screen.findings or ()),
            45,
        ), [f.kind for f in screen.findings or ()]
        finding = next(f for f in screen.findings or () if f.kind == "return_rejected")
        key = finding.evidence[0].record_key
        assert key
        rejected = [
            r
            for r in screen.flow_evidence.records
            if r.action == "REJECT" and conversation_id(conversation_key(r)) == key
        ]
        assert rejected  # loaded, and what the finding rests on ...
        shown = {id(r) for r in flows.matched}
        assert not any(id(r) in shown for r in rejected)  # ... yet the focused pane hides it


async def test_a_trail_filter_that_hides_the_kms_denial_still_leaves_the_finding(
    emulator: Any, world: Any
) -> None:
    """A filter narrows what the trail pane shows, never what the findings see (incident 1)."""
    from tui.models.trailfilter import compile_filter

    app = demo_app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        trail = screen.query_one(TrailPane)
        # Typed before the load ends: the pane only ever shows the successful starts.
        trail.filter = compile_filter("name:StartInstances -error:any")
        trail._refilter()

        def names_the_denial() -> bool:
            # The cause is named only from the denial the filter hides from the pane.
            return any(
                f.kind == "start_failed" and "kms:CreateGrant denied" in f.title
                for f in screen.findings or ()
            )

        assert await wait_for(pilot, names_the_denial, 45), [f.title for f in screen.findings or ()]
        assert await wait_for(pilot, lambda: not trail.refreshing and trail.has_data(), 20)
        assert trail.view and not any(e.is_error for e in trail.view)  # the denial is hidden ...
        denied = [e for e in screen.trail_evidence.loaded_events if e.error_code == "AccessDenied"]
        assert any(e.event_source == "kms.amazonaws.com" for e in denied)  # ... yet loaded
        before = screen.findings
        screen._findings_dirty = True  # recomputed while the filter hides it
        assert await wait_for(pilot, lambda: screen.findings is not before, 10)
        assert names_the_denial()
