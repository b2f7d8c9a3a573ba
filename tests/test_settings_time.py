"""Settings layering, endpoint safety and time parsing: what a user types on the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tui.aws.errors import ConfigError
from tui.models.timewindow import TimeParseError, TimeWindow, format_duration, parse_instant
from tui.settings import load_settings, validate_endpoint

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", NOW - timedelta(minutes=15)),
        ("2h", NOW - timedelta(hours=2)),
        ("1d", NOW - timedelta(days=1)),
        ("90s", NOW - timedelta(seconds=90)),
        ("1w", NOW - timedelta(weeks=1)),
        ("2 hours ago", NOW - timedelta(hours=2)),
        ("now", NOW),
        ("2026-11-28T09:30Z", datetime(2026, 11, 28, 9, 30, tzinfo=UTC)),
        ("2026-11-28T09:30", datetime(2026, 11, 28, 9, 30, tzinfo=UTC)),
        ("2026-11-28T18:30+09:00", datetime(2026, 11, 28, 9, 30, tzinfo=UTC)),
        ("2026-11-28", datetime(2026, 11, 28, tzinfo=UTC)),
    ],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    assert parse_instant(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "15x", "2026-13-01", "-5m"])
def test_parse_instant_rejects_with_example(text: str) -> None:
    with pytest.raises(TimeParseError):
        parse_instant(text, NOW)


def test_window_live_and_fixed() -> None:
    live = TimeWindow.parse("15m", None, now=NOW)
    assert live.live and live.label() == "last 15m"
    later = live.at(NOW + timedelta(minutes=5))
    assert later.end == NOW + timedelta(minutes=5) and later.duration == timedelta(minutes=15)
    fixed = TimeWindow.parse("2026-11-28T09:00Z", "2026-11-28T11:00Z", now=NOW)
    assert not fixed.live and fixed.at(NOW + timedelta(hours=1)) == fixed
    assert fixed.label() == "11-28 09:00→11:00 UTC"
    with pytest.raises(TimeParseError):
        TimeWindow.parse("1h", "2h", now=NOW)


@pytest.mark.parametrize(
    ("seconds", "text"), [(90 * 60, "1h30m"), (3 * 3600, "3h"), (86400 * 2, "2d"), (45, "45s")]
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://logs.us-east-1.amazonaws.com", True),
        ("http://127.0.0.1:5000", True),
        ("http://localhost:4566", True),
        ("http://[::1]:4566", True),
        ("http://10.0.0.5:4566", False),
        ("http://proxy.example.com", False),
        ("ftp://example.com", False),
        ("localhost:4566", False),
    ],
)
def test_endpoint_safety(url: str, ok: bool) -> None:
    if ok:
        validate_endpoint(url)
    else:
        with pytest.raises(ConfigError):
            validate_endpoint(url)


def test_layers_defaults_file_env_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('region = "eu-west-1"\nrefresh-seconds = 30\nprofile = "file"\n')
    env = {"HAMARI_PROFILE": "env", "HAMARI_REFRESH_SECONDS": "20"}
    s = load_settings({"profile": "flag", "region": None}, env=env, config_file=cfg)
    assert (s.profile, s.region, s.refresh_seconds) == ("flag", "eu-west-1", 20.0)
    s2 = load_settings({}, env={}, config_file=tmp_path / "missing.toml")
    assert s2.refresh_seconds == 60.0 and s2.profile is None


def test_insecure_endpoint_from_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="in clear"):
        load_settings(
            {}, env={"AWS_ENDPOINT_URL_LOGS": "http://10.1.2.3"}, config_file=tmp_path / "x"
        )


def test_bad_config_file_is_one_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("region = \n")
    with pytest.raises(ConfigError, match="Cannot read"):
        load_settings({}, env={}, config_file=cfg)
