"""Regions beyond the demo's: the partition's global region, one region failing on its own, and
a secondary region's refusal that must not poison the session (issue 11, item 16)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.awstools import emulator_door, isolate_aws_env
from tui.aws.cloudtrail import TrailBatch, fanout_regions, global_region, stream_lookup
from tui.aws.errors import AccessDeniedError
from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
from tui.cli import build_parser
from tui.demo import extensions
from tui.demo.server import FaultRule
from tui.models.timewindow import TimeWindow
from tui.settings import load_settings

HOME = "eu-central-2"  # not the demo's region, nor the global one


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("eu-central-2", "us-east-1"),
        ("ap-northeast-1", "us-east-1"),
        ("us-gov-east-1", "us-gov-west-1"),
        ("us-gov-west-1", "us-gov-west-1"),
        ("cn-northwest-1", "cn-north-1"),
        ("cn-north-1", "cn-north-1"),
        ("zz-nowhere-9x", None),
    ],
)
def test_global_region_follows_the_partition(region: str, expected: str | None) -> None:
    assert global_region(region) == expected


def test_fanout_adds_the_partitions_global_region_once_and_can_be_turned_off() -> None:
    assert fanout_regions(["us-gov-east-1"]) == ["us-gov-east-1", "us-gov-west-1"]
    assert fanout_regions(["cn-northwest-1"]) == ["cn-northwest-1", "cn-north-1"]
    assert fanout_regions(["us-gov-west-1"]) == ["us-gov-west-1"]
    assert fanout_regions([HOME], global_events=False) == [HOME]


def test_the_fanout_setting_layers_default_file_env_flag(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    assert load_settings({}, env={}, config_file=config).global_events is True
    config.write_text("global_events = false\n")
    assert load_settings({}, env={}, config_file=config).global_events is False
    config.write_text("global_events = true\n")
    env = {"HAMARI_GLOBAL_EVENTS": "0"}
    assert load_settings({}, env=env, config_file=config).global_events is False
    ns = build_parser().parse_args(["--no-global-events"])
    flags = {k: v for k, v in vars(ns).items() if k != "verb"}
    assert load_settings(flags, env={}, config_file=tmp_path / "none").global_events is False
    ns = build_parser().parse_args([])
    assert vars(ns)["global_events"] is None  # absent flag: the lower layers decide


def _record(region: str, when: datetime) -> dict[str, Any]:
    return {
        "eventVersion": "1.10",
        "eventTime": f"{when:%Y-%m-%dT%H:%M:%SZ}",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "RegionProbe",
        "eventID": str(uuid.uuid4()),
        "awsRegion": region,
        "userIdentity": {"type": "IAMUser", "userName": "probe"},
    }


@pytest.fixture
async def home(emulator: Any) -> AsyncIterator[Aws]:
    emulator.faults.clear()
    emulator.faults.clear_seen()
    door = emulator_door(emulator, HOME, max_throttle_retries=1)
    yield door
    await door.close()
    emulator.faults.clear()


def _span() -> TimeWindow:
    now = datetime.now(UTC)
    return TimeWindow(now - timedelta(minutes=30), now, live=False)


async def _collect(stream: AsyncIterator[TrailBatch]) -> list[TrailBatch]:
    return [b async for b in stream]


async def test_a_global_region_refusing_the_keys_is_a_note_and_poisons_nothing(
    emulator: Any, home: Aws
) -> None:
    """GovCloud/China keys sent to us-east-1: UnrecognizedClientException there, and only there."""
    span = _span()
    extensions.record_events([_record(HOME, span.end - timedelta(minutes=5))], region=HOME)
    emulator.faults.add(
        FaultRule("cloudtrail", "LookupEvents", "unrecognized_client", region="us-east-1")
    )
    batches = await _collect(stream_lookup(home, span, None))
    assert batches[-1].done
    names = [e.event_name for b in batches for e in b.events]
    assert "RegionProbe" in names, "the home region's events still show"
    notes = [n for b in batches for n in b.region_errors]
    assert any(n.startswith("us-east-1: refused the credentials") for n in notes), notes
    # The session still works, in its own region and for every other service.
    assert (await home.call("sts", "GetCallerIdentity"))["Account"]
    again = await _collect(stream_lookup(home, span, None))
    assert any(e.event_name == "RegionProbe" for b in again for e in b.events)


async def test_an_unreachable_global_region_is_named_beside_the_home_events(
    emulator: Any, home: Aws
) -> None:
    span = _span()
    extensions.record_events([_record(HOME, span.end - timedelta(minutes=4))], region=HOME)
    emulator.faults.add(FaultRule("cloudtrail", "LookupEvents", "reset", region="us-east-1"))
    batches = await _collect(stream_lookup(home, span, None))
    assert any(e.event_name == "RegionProbe" for b in batches for e in b.events)
    notes = [n for b in batches for n in b.region_errors]
    assert any(n.startswith("us-east-1: not reachable") for n in notes), notes


def test_headless_names_the_region_it_could_not_read(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path
) -> None:
    from tui.cli import main

    now = datetime.now(UTC)
    extensions.record_events([_record(HOME, now - timedelta(minutes=3))], region=HOME)
    emulator.faults.clear()
    emulator.faults.add(
        FaultRule("cloudtrail", "LookupEvents", "unrecognized_client", region="us-east-1")
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DEMO_CREDENTIALS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DEMO_CREDENTIALS[1])
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    try:
        code = main(["trail", "--endpoint-url", emulator.url, "--region", HOME, "--since", "10m"])
    finally:
        emulator.faults.clear()
    out = capsys.readouterr()
    assert code == 0
    assert "RegionProbe" in out.out
    assert "hamari: us-east-1: refused the credentials" in out.err


async def test_the_trail_pane_shows_the_region_it_could_not_read(emulator: Any) -> None:
    from tests.apptools import wait_for
    from tui.app import HamariApp
    from tui.panes.trail import TrailPane
    from tui.settings import Settings

    now = datetime.now(UTC)
    extensions.record_events([_record(HOME, now - timedelta(minutes=2))], region=HOME)
    emulator.faults.clear()
    emulator.faults.add(FaultRule("cloudtrail", "LookupEvents", "reset", region="us-east-1"))
    app = HamariApp(
        Settings(endpoint_url=emulator.url, region=HOME, since="10m"),
        credentials=DEMO_CREDENTIALS,
    )
    try:
        async with app.run_test(size=(160, 48), notifications=True) as pilot:
            pane = app.screen.query_one(TrailPane)

            def status() -> str:
                return str(pane.query_one(".pane-status").render())

            assert await wait_for(pilot, lambda: "us-east-1: not reachable" in status(), 40)
            assert any(e.event_name == "RegionProbe" for e in pane.events.values())
            assert app.aws is not None and (await app.aws.call("sts", "GetCallerIdentity"))
    finally:
        emulator.faults.clear()


async def test_the_home_region_failing_still_shows_the_global_events_then_says_why(
    emulator: Any, home: Aws
) -> None:
    span = _span()
    extensions.record_events(
        [_record("us-east-1", span.end - timedelta(minutes=3))], region="us-east-1"
    )
    emulator.faults.add(FaultRule("cloudtrail", "LookupEvents", "access_denied", region=HOME))
    seen: list[TrailBatch] = []
    with pytest.raises(AccessDeniedError):
        async for batch in stream_lookup(home, span, None):
            seen.append(batch)
    assert any(e.event_name == "RegionProbe" for b in seen for e in b.events)


async def test_fanout_off_reads_the_home_region_only(emulator: Any) -> None:
    door = emulator_door(emulator, HOME, global_events=False)
    emulator.faults.clear_seen()
    try:
        await _collect(stream_lookup(door, _span(), None))
    finally:
        await door.close()
    regions = {r.region for r in emulator.calls("cloudtrail", "LookupEvents")}
    assert regions == {HOME}


# -- item 17: which region, and why -------------------------------------------------------------


def test_aws_region_is_read_below_hamaris_own_layers(tmp_path: Path) -> None:
    none = tmp_path / "none.toml"
    assert load_settings({}, env={"AWS_REGION": "ap-south-2"}, config_file=none).region == (
        "ap-south-2"
    )
    env = {"AWS_REGION": "ap-south-2", "HAMARI_REGION": "sa-east-1"}
    assert load_settings({}, env=env, config_file=none).region == "sa-east-1"
    assert load_settings({"region": "me-central-1"}, env=env, config_file=none).region == (
        "me-central-1"
    )


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No region and no profile anywhere botocore looks."""
    return isolate_aws_env(monkeypatch, tmp_path)


async def test_no_region_anywhere_is_announced_not_silent(emulator: Any, bare_env: Path) -> None:
    door = Aws(Connection(endpoint_url=emulator.url, static_credentials=DEMO_CREDENTIALS))
    try:
        await door.open()
        assert door.region == "us-east-1"
        assert "no AWS region is configured" in door.region_notice
        assert "using us-east-1" in door.region_notice
    finally:
        await door.close()


async def test_a_configured_region_needs_no_notice(
    emulator: Any, bare_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    door = Aws(Connection(endpoint_url=emulator.url, static_credentials=DEMO_CREDENTIALS))
    try:
        await door.open()
        assert door.region == "eu-west-3" and door.region_notice == ""
    finally:
        await door.close()


def test_headless_says_which_region_it_chose(
    emulator: Any, bare_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from tui.cli import main

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DEMO_CREDENTIALS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DEMO_CREDENTIALS[1])
    monkeypatch.setenv("XDG_CONFIG_HOME", str(bare_env.parent))
    main(["trail", "--endpoint-url", emulator.url, "--since", "5m", "--no-global-events"])
    err = capsys.readouterr().err
    assert "no AWS region is configured" in err and "using us-east-1" in err


async def test_the_tui_status_line_says_which_region_it_chose(
    emulator: Any, bare_env: Path
) -> None:
    from tests.apptools import wait_for
    from tui.app import HamariApp
    from tui.screens.chrome import StatusLine
    from tui.settings import Settings

    app = HamariApp(Settings(endpoint_url=emulator.url), credentials=DEMO_CREDENTIALS)
    async with app.run_test(size=(200, 48)) as pilot:

        def said() -> str:
            return " ".join(str(app.screen.query_one(StatusLine).render()).split())

        assert await wait_for(pilot, lambda: "no AWS region is configured" in said(), 20), said()
        assert "using us-east-1" in said()
