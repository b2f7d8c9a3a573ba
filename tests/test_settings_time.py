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


# -- whatever is typed at --since, --until or the w prompt: a sentence, never a traceback -------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tui.models.text import is_display_safe  # noqa: E402
from tui.models.timewindow import (  # noqa: E402
    EARLIEST,
    LATEST,
    parse_duration,
    parse_window,
)

_UNIT = st.sampled_from(["s", "m", "h", "d", "w", "days", "weeks", " hours ago"])
_TYPED = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec=None), max_size=60),
    st.builds(lambda n, u: f"{n}{u}", st.integers(0, 10**30), _UNIT),
    st.builds(lambda n, u: f"{n}{u}", st.floats(0, 1e30, allow_nan=False), _UNIT),
    st.builds(
        lambda d, off: d.isoformat() + off,
        st.datetimes(),
        st.sampled_from(["", "Z", "+23:59", "-23:59", "+00:00"]),
    ),
)


def _fails_only_with_a_sentence(call) -> None:  # type: ignore[no-untyped-def]
    try:
        call()
    except TimeParseError as err:
        message = str(err)
        assert message and len(message) < 240 and "\n" not in message
        assert is_display_safe(message), repr(message)


@settings(max_examples=400, deadline=None)
@given(_TYPED)
def test_any_typed_instant_parses_or_says_why(text: str) -> None:
    _fails_only_with_a_sentence(lambda: parse_instant(text, NOW))
    try:
        value = parse_instant(text, NOW)
    except TimeParseError:
        return
    assert value.tzinfo is not None and EARLIEST <= value <= LATEST


@settings(max_examples=300, deadline=None)
@given(_TYPED, st.one_of(st.none(), _TYPED))
def test_any_typed_window_parses_or_says_why(since: str, until: str | None) -> None:
    _fails_only_with_a_sentence(lambda: TimeWindow.parse(since, until, now=NOW))
    _fails_only_with_a_sentence(lambda: parse_window(since, NOW))
    spec = since if until is None else f"{since}..{until}"
    try:
        window = parse_window(spec, NOW)
    except TimeParseError:
        return
    # A window that parsed can be used: it slides, labels itself and stays in range.
    later = window.at(NOW + timedelta(days=365))
    assert later.start < later.end and window.label()
    assert EARLIEST <= window.start < window.end


@pytest.mark.parametrize(
    "text",
    ["999999d", "99999999999999999999d", "9999-12-31T23:59-23:59", "0001-01-01T00:00+01:00"],
)
def test_huge_and_edge_times_are_refused_with_the_range(text: str) -> None:
    """These raised OverflowError (a traceback from --since, the app exited from w)."""
    with pytest.raises(TimeParseError, match="out of range"):
        TimeWindow.parse(text, None, now=NOW)


def test_an_empty_window_says_so_in_words_for_the_prompt_too() -> None:
    with pytest.raises(TimeParseError, match="window is empty"):
        parse_window("0m", NOW)


def test_overlong_window_setting_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="out of range"):
        load_settings({}, env={"HAMARI_WINDOW": "99999999999999999d"}, config_file=tmp_path / "x")


def test_parse_duration_refuses_what_no_window_can_hold() -> None:
    assert parse_duration("20000d") == timedelta(days=20000)
    with pytest.raises(TimeParseError):
        parse_duration("10" * 20 + "d")


@pytest.mark.parametrize(
    "text",
    [
        "00000000000000\x1f\x1f\x1f\x1f\x1f\x08" + "\U00010d3a\U00011af9\U00011d37\U00014647" * 3,
        "\U0001f600" * 50,
        "x" * 10_000,
    ],
)
def test_a_bad_time_is_quoted_back_short_whatever_its_characters(text: str) -> None:
    """Escaped, an astral character takes ten: a cut by characters let a message reach 240."""
    _fails_only_with_a_sentence(lambda: TimeWindow.parse(text, None, now=NOW))
    with pytest.raises(TimeParseError) as raised:
        TimeWindow.parse(text, None, now=NOW)
    assert len(str(raised.value)) < 160
