"""The product's AWS session on the embedded emulator, for tests that call AWS without the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
