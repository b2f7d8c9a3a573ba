"""The one time window that all panes share, and the parsing of ``--since/--until``.

A window is either *live* (its end follows the clock: "the last 15 minutes") or *fixed* (an
incident from yesterday). Parsing accepts what an engineer types in a hurry: ``15m``, ``2h``,
``1d``, ``90s``, ``1w``, ``now``, or ISO 8601 with or without a zone (naive means UTC, as AWS logs
are in UTC). Whatever is typed (``999999d``, a year 9999 with a negative offset, a pasted log line),
the only error is :class:`TimeParseError` with a sentence to show: the ``w`` prompt and
``--since`` must never end the program on a typo.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*"
    r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w)"
    r"\s*(?:ago)?\s*$",
    re.I,
)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Times hamari can ask AWS about: nothing is logged before the Unix epoch (and epoch milliseconds,
# which CloudWatch Logs takes, are negative before it); the upper bound keeps every later
# arithmetic (a live window sliding, a chart span) inside datetime's range.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_SHOWN_CHARS = 40  # of a bad input, quoted back in the message


class TimeParseError(ValueError):
    """A time expression that is neither relative (``15m``) nor ISO 8601."""


def _quoted(text: str) -> str:
    """The input quoted back, short and with every control character escaped (``repr``).

    Cut to fit once escaped: one character can take ten (``\U0001f600``), so cutting the
    input at ``_SHOWN_CHARS`` characters let a message grow past a line.
    """
    shown = text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"
    while len(repr(shown)) > _SHOWN_CHARS + 2 and len(shown) > 1:
        shown = shown[: len(shown) - 2] + "…"
    return repr(shown)


def _out_of_range(text: str) -> TimeParseError:
    return TimeParseError(
        f"time {_quoted(text)} is out of range: hamari reads times between "
        f"{EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} UTC"
    )


def parse_duration(text: str) -> timedelta | None:
    """``15m`` -> 15 minutes; None when ``text`` is not a relative duration.

    Raises:
        TimeParseError: a duration too long to be a time span (``99999999999999999999d``).
    """
    m = _RELATIVE.match(text)
    if not m:
        return None
    seconds = float(m.group(1)) * _UNITS[m.group(2)[0].lower()]
    if seconds > (LATEST - EARLIEST).total_seconds():
        raise _out_of_range(text.strip())
    return timedelta(seconds=seconds)


def parse_instant(text: str, now: datetime) -> datetime:
    """Parse ``now``, a relative duration before ``now``, or ISO 8601 into an aware UTC datetime."""
    raw = text.strip()
    if not raw:
        raise TimeParseError("empty time")
    if raw.lower() == "now":
        return now
    delta = parse_duration(raw)
    try:
        value = now - delta if delta is not None else _parse_iso(raw)
    except OverflowError:  # year 1 minus an hour, or a start thousands of years ago
        raise _out_of_range(raw) from None
    if not EARLIEST <= value <= LATEST:
        raise _out_of_range(raw)
    return value


def _parse_iso(raw: str) -> datetime:
    iso = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
    try:
        value = datetime.fromisoformat(iso)
    except ValueError:
        raise TimeParseError(
            f"cannot read time {_quoted(raw)}: use 15m, 2h, 1d, or ISO 8601 like 2026-11-28T09:30Z"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class TimeWindow:
    """A span of time; ``live`` windows keep their length and end at the current clock."""

    start: datetime
    end: datetime
    live: bool = True

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def at(self, now: datetime) -> TimeWindow:
        """The window as of ``now``: a live window slides, a fixed one stays."""
        if not self.live:
            return self
        return TimeWindow(now - self.duration, now, live=True)

    def contains(self, when: datetime) -> bool:
        return self.start <= when <= self.end

    def label(self) -> str:
        """Short text for the header: ``last 3h`` or ``11-28 09:00→11:30 UTC``."""
        if self.live:
            return f"last {format_duration(self.duration)}"
        same_day = self.start.date() == self.end.date()
        end_fmt = "%H:%M" if same_day else "%m-%d %H:%M"
        return f"{self.start:%m-%d %H:%M}→{self.end.strftime(end_fmt)} UTC"

    @classmethod
    def parse(
        cls,
        since: str | None,
        until: str | None,
        *,
        now: datetime,
        default: timedelta = timedelta(hours=3),
    ) -> TimeWindow:
        """Build a window from ``--since/--until``; live unless ``--until`` names a past time."""
        end = parse_instant(until, now) if until else now
        start = parse_instant(since, now) if since else end - default
        if start >= end:
            raise TimeParseError(
                f"the window is empty: its start ({start:%Y-%m-%d %H:%M:%S} UTC) must be "
                f"before its end ({end:%Y-%m-%d %H:%M:%S} UTC)"
            )
        live = until is None or until.strip().lower() == "now"
        return cls(start, end, live=live)


def parse_window(spec: str, now: datetime) -> TimeWindow:
    """``15m`` (the last 15 minutes, live) or ``ISO..ISO`` (fixed), as ``w`` and ``:window`` take."""
    if ".." in spec:
        since, until = spec.split("..", 1)
        return TimeWindow.parse(since, until, now=now)
    return TimeWindow.parse(spec, None, now=now)


def format_duration(delta: timedelta) -> str:
    """``timedelta(hours=3)`` -> ``3h``; ``90 min`` -> ``1h30m``."""
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0 and seconds >= 86400:
        return f"{seconds // 86400}d"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours and minutes:
        return f"{hours}h{minutes}m"
    if hours:
        return f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


Clock = Callable[[], datetime]


def format_instant(when: datetime, *, utc: bool = True) -> str:
    """A full timestamp for detail views: ``2026-11-28 14:18:20 UTC``, or in local time with
    the UTC time beside it (``2026-11-28 23:18:20 JST (14:18:20 UTC)``), since AWS consoles,
    tickets and colleagues in other zones all speak UTC."""
    as_utc = when.astimezone(UTC)
    if utc:
        return as_utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    local = when.astimezone()
    zone = local.tzname() or local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {zone} ({as_utc:%H:%M:%S} UTC)"


def local_zone() -> str:
    """The local zone's abbreviation (``JST``), from ``TZ``."""
    return datetime.now().astimezone().tzname() or "local"


def window_label(window: TimeWindow, *, utc: bool) -> str:
    """``last 3h``, or a fixed window's ends in UTC or in the local zone, with the year
    (``2014-12-01 00:00→2016-12-31 00:00 UTC``): files of another year must not read as
    this year's."""
    if window.live:
        return window.label()
    if utc:
        start, end, zone = window.start.astimezone(UTC), window.end.astimezone(UTC), "UTC"
    else:
        start, end, zone = window.start.astimezone(), window.end.astimezone(), local_zone()
    end_fmt = "%H:%M" if start.date() == end.date() else "%Y-%m-%d %H:%M"
    return f"{start:%Y-%m-%d %H:%M}→{end.strftime(end_fmt)} {zone}"


def utc_now() -> datetime:
    return datetime.now(UTC)
