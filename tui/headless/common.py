"""What the headless verbs share: opening AWS (or the seeded demo) and writing records to stdout.

The verbs run in pipes and scripts: no textual import, machine-readable output on stdout, one
clear sentence on stderr when something fails (exit 2), and a clean exit when the reader of the
pipe goes away.

The writers (NDJSON, CSV, aligned columns) are in :mod:`tui.models.writers`.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tui.logsafety import install as install_log_safety
from tui.models.text import display_safe
from tui.settings import Settings

__all__ = ["open_aws"]

if TYPE_CHECKING:  # the AWS layer (and asyncio) only for the verbs that talk to AWS
    from tui.aws.session import Aws


@asynccontextmanager
async def open_aws(settings: Settings, *, now: datetime | None = None) -> AsyncIterator[Aws]:
    """An open :class:`Aws` for the settings; with ``--demo`` the emulator is started and seeded.

    The demo world (IDs of the seeded resources) is available as ``aws.demo_world``.
    """
    from tui.aws.session import Aws, connection_for

    install_log_safety()  # botocore never at DEBUG; every log record redacted
    runtime = None
    try:
        if settings.demo:
            import asyncio

            from tui.demo.runtime import DemoRuntime

            runtime = DemoRuntime()
            url = await asyncio.to_thread(runtime.start)
            await asyncio.to_thread(runtime.seed, now or datetime.now(UTC))
            conn = connection_for(settings, demo_url=url)
        else:
            conn = connection_for(settings)
        aws = Aws(conn)
        aws.demo_world = runtime.world if runtime is not None else None  # type: ignore[attr-defined]
        try:
            await aws.open()
            if aws.identity_error is not None:
                err = aws.identity_error
                # AWS's words are in it: escaped, as every other line hamari writes
                print(f"hamari: {display_safe(f'{err.message} {err.hint}')}", file=sys.stderr)
            if aws.region_notice:
                print(f"hamari: {aws.region_notice}", file=sys.stderr)
            yield aws
        finally:
            await aws.close()
    finally:
        if runtime is not None:
            runtime.stop()
