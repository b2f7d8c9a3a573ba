"""Test helpers for the AWS layer: the product's AWS session on the embedded emulator (a door,
or an open session), the requests hamari builds, and a process environment in which botocore
finds no credentials, region or profile (nor instance metadata to ask)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection


@asynccontextmanager
async def emulator_aws(url: str, region: str) -> AsyncIterator[Aws]:
    """An open :class:`Aws` on the emulator at ``url`` (no backoff: faults fail fast)."""
    conn = Connection(
        region=region, endpoint_url=url, demo=True, static_credentials=DEMO_CREDENTIALS
    )
    session = Aws(conn, backoff_base=0.0)
    await session.open()
    try:
        yield session
    finally:
        await session.close()


AWS_SETTINGS_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_ENDPOINT_URL",
)


def emulator_door(emulator: Any, region: str, **options: Any) -> Aws:
    """An :class:`Aws` on the emulator in ``region`` with the demo's keys, backoff 0.

    ``options`` go to :class:`Connection` (``global_events=False``) or, for ``max_throttle_retries``,
    to :class:`Aws`.
    """
    retries = options.pop("max_throttle_retries", 4)
    conn = Connection(
        region=region,
        endpoint_url=emulator.url,
        demo=True,
        static_credentials=DEMO_CREDENTIALS,
        **options,
    )
    return Aws(conn, backoff_base=0, max_throttle_retries=retries)


def isolate_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS settings anywhere botocore looks; returns the (empty) config file it reads."""
    for var in AWS_SETTINGS_VARS:
        monkeypatch.delenv(var, raising=False)
    empty = tmp_path / "aws-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return empty


async def sent_requests(
    aws: Aws, service: str, operation: str, run: Any
) -> tuple[list[dict[str, Any]], Any]:
    """Run ``run()``; return the parameters of every ``operation`` request hamari built (as
    botocore is handed them: what AWS would receive, whatever the emulator answers)."""
    seen: list[dict[str, Any]] = []
    client = await aws._client(service)
    event = f"provide-client-params.{service}.{operation}"

    def capture(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    client.meta.events.register(event, capture)
    try:
        result = await run()
    finally:
        client.meta.events.unregister(event, capture)
    return seen, result


def world_client(world: Any, service: str) -> Any:
    """A plain boto3 client on a seeded world's emulator: the test's own eyes and hands on the
    emulator (seeing what a bucket holds, delivering a file), never hamari's code."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=world.url,
        region_name=world.region,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
