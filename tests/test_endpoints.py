"""What --endpoint-url does, and AWS_ENDPOINT_URL_<SERVICE> for one VPC endpoint (issue 11,
item 22): documented in --help, and true of the clients hamari builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.awstools import isolate_aws_env
from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
from tui.cli import build_parser


def test_help_says_endpoint_url_is_for_every_service_and_names_the_per_service_variable() -> None:
    text = " ".join(build_parser().format_help().split())
    assert "--endpoint-url" in text
    assert "every service" in text
    assert "AWS_ENDPOINT_URL_<SERVICE>" in text and "AWS_ENDPOINT_URL_LOGS" in text


async def test_a_per_service_endpoint_moves_that_service_only(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """AWS_ENDPOINT_URL_STS reaches the emulator; CloudTrail keeps its public endpoint."""
    isolate_aws_env(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", emulator.url)
    before = len(emulator.calls("sts", "GetCallerIdentity"))
    door = Aws(Connection(region="eu-west-3", static_credentials=DEMO_CREDENTIALS))
    try:
        identity = await door.open()
        assert identity.account
        assert len(emulator.calls("sts", "GetCallerIdentity")) == before + 1
        trail = await door._client("cloudtrail")
        assert trail.meta.endpoint_url == "https://cloudtrail.eu-west-3.amazonaws.com"
    finally:
        await door.close()
