"""Local files need no AWS (issue 11, item 10): ``hamari --trail-source ./dir --flows-source
./file`` without credentials starts, shows the files, and the metrics pane says it needs AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.apptools import wait_for
from tests.awstools import isolate_aws_env
from tui.app import HamariApp
from tui.panes.base import ErrorPanel
from tui.panes.flows import FlowsPane
from tui.panes.metrics import MetricsPane
from tui.panes.trail import TrailPane
from tui.screens.chrome import HeaderBar
from tui.settings import Settings


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere botocore looks (and no instance metadata to ask)."""
    isolate_aws_env(monkeypatch, tmp_path)


def _files(tmp_path: Path) -> tuple[Path, Path]:
    now = datetime.now(UTC).replace(microsecond=0)
    trail = tmp_path / "trail"
    trail.mkdir()
    record = {
        "eventVersion": "1.10",
        "eventTime": f"{now - timedelta(minutes=20):%Y-%m-%dT%H:%M:%SZ}",
        "eventSource": "kms.amazonaws.com",
        "eventName": "CreateGrant",
        "eventID": "0f5c2a1e-offline-0001",
        "awsRegion": "sa-east-1",
        "errorCode": "AccessDenied",
        "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
    }
    (trail / "events.json").write_text(json.dumps({"Records": [record]}))
    start = int((now - timedelta(minutes=30)).timestamp())
    flows = tmp_path / "flows.log"
    flows.write_text(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
        "start end action log-status\n"
        f"2 210987654321 eni-0feedface0000001 172.31.4.7 172.31.9.20 443 50000 6 12 4800 "
        f"{start} {start + 60} REJECT OK\n"
    )
    return trail, flows


async def test_local_sources_browse_offline_and_metrics_says_it_needs_aws(
    no_aws: None, tmp_path: Path
) -> None:
    trail_dir, flow_file = _files(tmp_path)
    app = HamariApp(Settings(trail_source=str(trail_dir), flows_source=str(flow_file)))
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        screen: Any = app.screen
        trail = screen.query_one(TrailPane)
        flows = screen.query_one(FlowsPane)
        metrics = screen.query_one(MetricsPane)
        panel = metrics.query_one(ErrorPanel)
        assert await wait_for(pilot, lambda: bool(trail.events) and bool(flows.records))
        assert await wait_for(pilot, lambda: panel.has_class("-shown"))
        assert app.fatal is None and app.is_running
        said = str(panel.render())
        assert "Needs AWS" in said and "No AWS credentials were found" in said
        assert "offline" in str(screen.query_one(HeaderBar).render())
        assert not trail.query_one(ErrorPanel).has_class("-shown")
        assert not flows.query_one(ErrorPanel).has_class("-shown")


async def test_without_local_sources_missing_credentials_still_exit_with_the_fix(
    no_aws: None,
) -> None:
    app = HamariApp(Settings())
    async with app.run_test(size=(120, 36)) as pilot:
        assert await wait_for(pilot, lambda: app.fatal is not None)
    assert app.fatal is not None and "No AWS credentials" in app.fatal.message
