"""`:compare` and `:health` as a user meets them in the demo, and the header's logs badge."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
from rich.console import Console, Group
from rich.text import Text
from textual.command import CommandInput, CommandList, CommandPalette

from tests.apptools import demo_app, wait_for
from tests.demo_fixtures import DEMO_NOW
from tui.demo.seed import seed
from tui.models.text import display_safe
from tui.screens.chrome import HeaderBar
from tui.screens.compare import CompareScreen
from tui.screens.health import HealthScreen

HOSTILE_NAME = "[/]admin\u202egnp[link=https://evil.example]x[/link][bold red]"


HOSTILE_IDS: dict[str, str] = {}


@pytest.fixture(scope="module")
def world(emulator: Any) -> Any:
    emulator.reset()
    w = seed(emulator.url, now=DEMO_NOW)
    ec2 = boto3.client(
        "ec2",
        region_name=w.region,
        endpoint_url=emulator.url,
        aws_access_key_id="AKIAHAMARIDEMO000000",
        aws_secret_access_key="x",
    )
    hostile = ec2.run_instances(
        ImageId="ami-0c7217cdde317cfec",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.small",
        SubnetId=w.legacy_subnet_id,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": HOSTILE_NAME}]}
        ],
    )["Instances"][0]["InstanceId"]
    HOSTILE_IDS["instance"] = hostile
    return w


def plain(widget: Any) -> str:
    content = widget.content if hasattr(widget, "content") else widget.renderable
    if isinstance(content, Text):
        return content.plain
    if isinstance(content, Group):  # rendered wide, so that nothing wraps
        console = Console(width=400, record=True, file=io.StringIO())
        console.print(content)
        return "\n".join(line.rstrip() for line in console.export_text().splitlines())
    return str(content)


async def run_command(pilot: Any, app: Any, text: str) -> None:
    await pilot.press("colon")
    assert await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
    palette = app.screen
    prompt = palette.query_one(CommandInput)
    # Type only once the prompt has focus: a key pressed while the palette is still mounting
    # goes nowhere (seen on a loaded 2-core CI), and the command would then never match.
    assert await wait_for(pilot, lambda: prompt.has_focus)
    await pilot.press(*text)
    if prompt.value != text:  # a key lost anyway: retype rather than fail on the harness
        prompt.value = ""
        await pilot.press(*text)
    assert await wait_for(
        pilot,
        lambda: (
            palette.query_one(CommandList).option_count > 0
            and str(palette.query_one(CommandList).get_option_at_index(0).hit.text) == text
        ),
        30,  # `focus NAME` completes from DescribeInstances: slower on a loaded machine
    )
    await pilot.press("enter")


async def test_typed_compare_shows_the_kms_key_first_and_health_flags_the_legacy_vpc(
    emulator: Any, world: Any
) -> None:
    app = demo_app(emulator, world)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        assert await wait_for(pilot, lambda: app.demo_world is not None)
        # The header badge: a warning (the legacy VPC has no flow logs).
        header = app.screen.query_one(HeaderBar)
        assert await wait_for(pilot, lambda: header.logs is not None)
        assert header.logs[0] == "warn"
        assert "logs ▲" in header.render().plain

        await run_command(pilot, app, "compare app-batch-01 app-batch-02")
        assert await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        screen = app.screen
        assert await wait_for(pilot, lambda: bool(screen.rows))
        first = screen.rows[0]
        assert first.attribute == "/dev/xvda KMS key" and first.meaningful
        assert "alias/app-ebs" in first.left and "customer-managed" in first.left
        assert "alias/aws/ebs" in first.right
        table = screen.query_one("DataTable")
        cells = [c.plain for c in table.get_row_at(1)]
        assert cells[0] == "≠" and cells[1] == "/dev/xvda KMS key"
        assert "only configuration difference" in plain(screen.query_one("#cmp-verdict"))
        assert "kms:CreateGrant" in plain(screen.query_one("#cmp-note"))
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen))

        await run_command(pilot, app, "health")
        assert await wait_for(pilot, lambda: isinstance(app.screen, HealthScreen))
        health = app.screen

        def legacy_text() -> str:
            return "\n".join(plain(s) for s in health.query(".check"))

        assert await wait_for(pilot, lambda: world.legacy_vpc_id in legacy_text())
        text = legacy_text()
        block = next(b for b in text.split("\n✗") if world.legacy_vpc_id in b)
        assert "(legacy)" in block and "aws ec2 create-flow-logs" in block
        assert "✓ CloudTrail us-east-1" in text
        await pilot.press("escape")


async def test_focus_window_pane_and_hostile_names(emulator: Any, world: Any) -> None:
    app = demo_app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        assert await wait_for(pilot, lambda: app.demo_world is not None)
        main = app.screen
        await run_command(pilot, app, "focus app-batch-01")
        assert await wait_for(pilot, lambda: main.focused_resource == world.failing_instance_id)
        await run_command(pilot, app, "pane flows")
        assert await wait_for(pilot, lambda: main.active_pane == "flows")
        await run_command(pilot, app, "window 2h")
        assert await wait_for(pilot, lambda: main.window.end - main.window.start == DEMO_2H)
        await run_command(pilot, app, "unfocus")
        assert await wait_for(pilot, lambda: main.focused_resource is None)

        await run_command(pilot, app, f"compare {HOSTILE_IDS['instance']} app-batch-02")
        assert await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        screen = app.screen
        assert await wait_for(pilot, lambda: bool(screen.rows))
        table = screen.query_one("DataTable")
        rendered = [c.plain for r in range(table.row_count) for c in table.get_row_at(r)]
        safe = display_safe(HOSTILE_NAME)
        assert any(safe in cell for cell in rendered) or safe in plain(
            screen.query_one("#cmp-title")
        )
        assert "\u202e" not in "".join(rendered)
        assert "[link=https://evil.example]" in plain(screen.query_one("#cmp-title"))


DEMO_2H = __import__("datetime").timedelta(hours=2)


async def test_time_commands_from_the_palette(emulator: Any, world: Any) -> None:
    """:local / :utc / :cursor clear do what T and esc do, for users who type commands."""
    app = demo_app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        assert await wait_for(pilot, lambda: app.demo_world is not None)
        main = app.screen
        await run_command(pilot, app, "local")
        assert await wait_for(pilot, lambda: main.utc is False)
        await run_command(pilot, app, "local")  # already local: stays local
        assert await wait_for(pilot, lambda: app.screen is main) and main.utc is False
        main.time_cursor = world.now
        await run_command(pilot, app, "cursor clear")
        assert await wait_for(pilot, lambda: main.time_cursor is None)
        await run_command(pilot, app, "utc")
        assert await wait_for(pilot, lambda: main.utc is True)


async def test_health_at_80_columns_wraps_each_part_under_its_own_start(
    emulator: Any, world: Any
) -> None:
    """The legacy VPC's check: 'without it:' and 'fix:' continue under their own text, not
    back at the border (the fix command read as a new paragraph at column 1)."""
    app = demo_app(emulator, world)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        assert await wait_for(pilot, lambda: app.demo_world is not None)
        await run_command(pilot, app, "health")
        assert await wait_for(pilot, lambda: isinstance(app.screen, HealthScreen))
        health = app.screen
        assert await wait_for(
            pilot, lambda: any(world.legacy_vpc_id in plain(s) for s in health.query(".check"))
        )
        await pilot.pause(0.2)
        lines = [strip.text for strip in app.screen._compositor.render_strips()]
        start = next(i for i, line in enumerate(lines) if world.legacy_vpc_id in line)
        block = lines[start : next(i for i in range(start + 1, len(lines)) if not lines[i].strip())]
        name_col = block[0].index("✗") + 2
        for label in ("without it:", "fix:"):
            at = next(i for i, line in enumerate(block) if line.lstrip().startswith(label))
            after = block[at].index(label) + len(label)
            value_col = after + len(block[at][after:]) - len(block[at][after:].lstrip())
            follow = block[at + 1]  # both run past 80 columns: their second line
            assert follow[:value_col].strip() == "", (label, follow)
            assert follow[value_col] != " ", (label, follow)
        # What was found is indented under the name too, and nothing starts at the border.
        assert all(line[:name_col].strip() == "" for line in block[1:]), block
