"""The `:` command language: what parses, what is refused and why (table-driven)."""

from __future__ import annotations

import pytest

from tui.commands import Command, CommandError, parse
from tui.models.inventory import InstanceInfo


def _instance(instance_id: str, name: str) -> InstanceInfo:
    return InstanceInfo(
        instance_id=instance_id,
        name=name,
        instance_type="m5.large",
        state="running",
        state_reason_code=None,
        state_reason_message=None,
        state_transition_reason=None,
        az="us-east-1a",
        subnet_id=None,
        vpc_id=None,
        private_ip=None,
        iam_instance_profile=None,
        security_group_ids=(),
        volumes=(),
        eni_ids=(),
        launch_time=None,
        ebs_optimized=True,
        raw={},
    )


INSTANCES = [_instance("i-0aaa", "app-batch-01"), _instance("i-0bbb", "app-batch-02")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":health", Command("health")),
        ("unfocus", Command("unfocus")),
        ("focus app-batch-01", Command("focus", ("i-0aaa",))),
        ("focus vol-123", Command("focus", ("vol-123",))),
        ("  pane   flows ", Command("pane", ("flows",))),
        ("window 2h", Command("window", ("2h",))),
        ("compare app-batch-01 app-batch-02", Command("compare", ("app-batch-01", "app-batch-02"))),
        ("UTC", Command("utc")),
        ("local", Command("local")),
        ("cursor clear", Command("cursor", ("clear",))),
        ("save", Command("save")),
    ],
)
def test_commands_parse(text: str, expected: Command) -> None:
    assert parse(text, INSTANCES) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "type a command"),
        ("fly away", "unknown command"),
        ("health now", "takes no argument"),
        ("save here", "takes no argument"),
        ("cursor", "cursor clear"),
        ("cursor set", "cursor clear"),
        ("pane logs", "pane trail|metrics|flows"),
        ("compare app-batch-01", "needs two instances"),
        ("focus nothing-like-it", "names no single instance"),
        ("window", "needs one argument"),
    ],
)
def test_bad_commands_say_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse(text, INSTANCES)
