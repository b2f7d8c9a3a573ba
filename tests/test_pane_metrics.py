"""The CloudWatch pane as a user meets it in the demo: the verdict, rows against limits, the chart."""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from textual.widgets import OptionList

from tests.apptools import demo_app, wait_for
from tests.awstools import world_client
from tests.demo_fixtures import DEMO_NOW
from tests.hostile import HOSTILE
from tui.demo.seed import seed
from tui.demo.server import FaultRule
from tui.dialogs.chart import ChartScreen
from tui.models.metrics import MetricSpec
from tui.models.metrics.units import format_value
from tui.models.text import display_safe, name_label
from tui.panes.base import ErrorPanel, Pane
from tui.panes.metrics import MetricsPane, ResourceHeader, SeriesRow


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    emulator.reset()
    return seed(emulator.url, now=DEMO_NOW)


@pytest.fixture
def demo_world(emulator: Any, world: Any) -> Any:
    """The module's world (seeded once), with no fault rule left over."""
    emulator.faults.clear()
    yield world
    emulator.faults.clear()


def plain(widget: Any) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


def loaded(pane: MetricsPane) -> bool:
    return pane.result is not None and bool(list(pane.query(SeriesRow)))


async def test_demo_opens_on_the_slow_instance_with_its_verdict(
    emulator: Any, demo_world: Any
) -> None:
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("2")
        pane = app.screen.query_one(MetricsPane)
        assert await wait_for(pilot, lambda: loaded(pane))
        verdict = plain(pane.query_one("#metrics-verdict"))
        assert "m5.large at its 81 MB/s EBS baseline" in verdict
        assert plain(pane.query_one(".pane-status")).startswith("◎ app-db-01")
        rows = list(pane.query(SeriesRow))
        labels = [r.view.label for r in rows]
        assert "EBS MB/s" in labels and "IOPS" in labels and "burst bal" in labels
        saturated = [r for r in rows if r.has_class("-saturated")]
        assert saturated and all(r.view.symbol in ("▲", "!") for r in saturated)
        ebs = next(r for r in rows if r.view.label == "EBS MB/s")
        assert "MB/s" in ebs.view.value and ebs.view.percent.endswith("%")
        assert all(r.region.width > 0 for r in rows if r.region.height)  # fits 80 columns

        # enter on a row opens the chart with the limit; escape comes back
        await pilot.pause(0.2)
        ebs.focus()
        await pilot.pause()
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChartScreen), 5)
        chart = app.screen
        assert isinstance(chart, ChartScreen) and chart.limit == pytest.approx(81.25)
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, ChartScreen), 5)


async def test_typed_id_that_does_not_exist_keeps_the_current_target(
    emulator: Any, demo_world: Any
) -> None:
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("2")
        pane = app.screen.query_one(MetricsPane)
        assert await wait_for(pilot, lambda: loaded(pane))
        await pilot.press("a")
        await pilot.press(*"i-0123456789abcdef0", "enter")
        message = pane.query_one("#metrics-message")
        assert await wait_for(pilot, lambda: message.has_class("-shown"), 10)
        assert "Not found" in plain(message) and "region" in plain(message)
        assert pane.target is not None
        assert pane.target.resource_id == demo_world.slow_instance_id

        # the target list, then a volume chosen with enter
        await pilot.press("t")
        gp2 = demo_world.volume_ids["app-db-01:gp2"]
        picker = pane.query_one("#metrics-picker")
        assert await wait_for(pilot, lambda: picker.get_option_index(gp2) >= 0, 10)
        picker.highlighted = picker.get_option_index(gp2)
        await pilot.press("enter")
        assert await wait_for(
            pilot, lambda: pane.result is not None and pane.result.target.resource_id == gp2
        )
        assert "burst balance exhausted" in plain(pane.query_one("#metrics-verdict"))


async def test_access_denied_on_get_metric_data_is_shown_in_the_pane_only(
    emulator: Any, demo_world: Any
) -> None:
    emulator.faults.add(FaultRule("monitoring", "GetMetricData", "access_denied"))
    app = demo_app(emulator, demo_world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        pane = app.screen.query_one(MetricsPane)
        panel = pane.query_one(ErrorPanel)
        assert await wait_for(pilot, lambda: panel.has_class("-shown"))
        assert "cloudwatch:GetMetricData" in plain(panel)
        trail = app.screen.query_one("#trail", Pane)
        assert await wait_for(pilot, trail.has_data)
        assert not trail.query_one(ErrorPanel).has_class("-shown")


async def test_hostile_name_tag_and_metric_name_show_literally(
    emulator: Any, demo_world: Any
) -> None:
    # What EC2's XML can carry (no C0 controls): C1 CSI/OSC, bidi override, markup.
    xml_safe = [
        h for h in HOSTILE if not any(ord(c) < 0x20 or 0xD800 <= ord(c) < 0xE000 for c in h)
    ]
    # The link markup first: a long Name is cut (its id stays on the line), the cut shows it.
    hostile = "".join(sorted(xml_safe, key=lambda h: not h.startswith("[link=")))
    assert "\x9b" in hostile and "[/]" in hostile and "\u202e" in hostile
    ec2 = world_client(demo_world, "ec2")
    ec2.create_tags(
        Resources=[demo_world.slow_instance_id], Tags=[{"Key": "Name", "Value": hostile}]
    )
    try:
        app = demo_app(emulator, demo_world)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await pilot.press("2")
            pane = app.screen.query_one(MetricsPane)
            assert await wait_for(pilot, lambda: loaded(pane)), plain(pane.query_one(ErrorPanel))
            # the cursor lands on a row, never in the hidden picker or ID box (keys would vanish)
            assert await wait_for(pilot, lambda: isinstance(app.focused, SeriesRow), 5)
            pane.extra.append(
                MetricSpec.from_list_metrics(
                    {
                        "Namespace": "Custom",
                        "MetricName": HOSTILE[0] + "[/]",
                        "Dimensions": [{"Name": "InstanceId", "Value": pane.target.resource_id}],
                    }
                )
            )
            pane.wake()
            await pilot.press("d")  # series without data are listed with the details
            assert await wait_for(
                pilot, lambda: any("[/]" in r.view.label for r in pane.query(SeriesRow))
            )
            await pilot.pause(0.2)
            status = plain(pane.query_one(".pane-status"))
            assert display_safe(hostile)[:20] in status
            assert f"{name_label(hostile)} {pane.target.resource_id}" in status
            texts = [status] + [plain(w) for w in pane.query(".series-label, ResourceHeader")]
            bad = ("\x1b", "\x07", "\x9b", "\x9d", "\u202e")
            assert all(not any(b in t for b in bad) for t in texts)
            assert any("[link=https://evil.example]" in t for t in texts)
            assert any(t.startswith("\\x1b]52") for t in texts)  # the metric, shown escaped
            assert app.is_running
    finally:
        ec2.create_tags(
            Resources=[demo_world.slow_instance_id], Tags=[{"Key": "Name", "Value": "app-db-01"}]
        )


async def test_a_name_tag_of_only_blanks_shows_the_instance_id(
    emulator: Any, demo_world: Any
) -> None:
    """A Name of spaces, tabs, newlines, zero-width and bidi characters left the status line
    blank after "◎" (the id pushed off the line): the id stands where the name would. (Each
    kind of blank name: tests/test_text_safety.py.)"""
    blank = " " * 300 + "\t\n" + "\u200b" * 20 + "\u202e\u2066" + "\u3000"
    iid = demo_world.slow_instance_id
    ec2 = world_client(demo_world, "ec2")
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "Name", "Value": blank}])
    try:
        app = demo_app(emulator, demo_world)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await pilot.press("2")
            pane = app.screen.query_one(MetricsPane)
            assert await wait_for(pilot, lambda: loaded(pane)), plain(pane.query_one(ErrorPanel))
            assert pane.target is not None and pane.target.resource_id == iid
            await pilot.pause(0.2)
            status = plain(pane.query_one(".pane-status"))
            assert status.startswith(f"◎ {iid} m5.large running · "), status
            header = plain(next(iter(pane.query(ResourceHeader))))
            assert header.startswith(f"{iid} m5.large EBS "), header
            picker = pane.query_one("#metrics-picker", OptionList)
            assert await wait_for(pilot, lambda: picker.get_option_index(iid) >= 0, 10)
            option = picker.get_option_at_index(picker.get_option_index(iid)).prompt
            assert str(getattr(option, "plain", option)).startswith(f"● {iid}  "), option
    finally:
        ec2.create_tags(Resources=[iid], Tags=[{"Key": "Name", "Value": "app-db-01"}])


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (3012.4, "IOPS", "3,012 IOPS"),
        (81.25, "MB/s", "81.2 MB/s"),
        (42.0, "%", "42%"),
        (3_900_000.0, "B/s", "3.9 MB/s"),
        (None, "IOPS", "no data"),
        (float("nan"), "MB/s", "no data"),
        (0.0, "count", "0"),
    ],
)
def test_values_carry_an_honest_unit(value: float | None, unit: str, shown: str) -> None:
    assert format_value(value, unit) == shown
