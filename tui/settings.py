"""Typed settings, loaded once and passed in: defaults < config file < environment < flags.

Nothing else in hamari reads the environment or a config file; widgets and panes receive the
values they need from the app. Validation happens here, before any network call, so a bad flag
fails fast with one sentence.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tui.aws.errors import ConfigError
from tui.models.timewindow import TimeParseError, TimeWindow


@dataclass(frozen=True)
class Settings:
    """Everything the app and the headless verbs need to know before they start."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    since: str | None = None
    until: str | None = None
    demo: bool = False
    trail_source: str = "lookup"
    flows_source: str | None = None
    # The LogFormat of local flow-log files without a header line ('${version} ${vpc-id} ...').
    flows_format: str | None = None
    # LookupEvents and trail files also read the partition's global region (us-east-1 in aws),
    # where IAM, STS and sign-in events are recorded; off where that region is out of reach.
    global_events: bool = True
    # Athena (opt-in: its query results are written to the workgroup's S3 output location).
    athena_workgroup: str | None = None
    athena_table: str | None = None  # db.table of the flow logs in the Glue catalog
    refresh_seconds: float = 60.0
    demo_refresh_seconds: float = 5.0  # the demo's data is live every few seconds
    idle_pause_minutes: float = 30.0
    # Polling pauses when the app sent more than this in the last hour (0 disables); R resumes.
    budget_requests_per_hour: float = 3600
    budget_metrics_per_hour: float = 20000  # GetMetricData metrics: $0.20 at list price
    call_timeout: float = 30.0
    default_window: str = "3h"
    keymap: dict[str, str] = field(default_factory=dict)
    bench_fd: int | None = None  # benchmark runner's pipe for start-up milestones

    def window(self, now: datetime) -> TimeWindow:
        """The initial shared time window."""
        from tui.models.timewindow import parse_duration

        try:
            default = parse_duration(self.default_window) or timedelta(hours=3)
            return TimeWindow.parse(self.since, self.until, now=now, default=default)
        except TimeParseError as exc:
            raise ConfigError(
                str(exc), hint="Example: --since 2h, or --since 2026-11-28T09:00Z"
            ) from None


def config_path(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "hamari" / "config.toml"


_ENV_KEYS = {
    "HAMARI_PROFILE": "profile",
    "HAMARI_REGION": "region",
    "HAMARI_ENDPOINT_URL": "endpoint_url",
    "HAMARI_REFRESH_SECONDS": "refresh_seconds",
    "HAMARI_IDLE_PAUSE_MINUTES": "idle_pause_minutes",
    "HAMARI_BUDGET_REQUESTS_PER_HOUR": "budget_requests_per_hour",
    "HAMARI_BUDGET_METRICS_PER_HOUR": "budget_metrics_per_hour",
    "HAMARI_CALL_TIMEOUT": "call_timeout",
    "HAMARI_WINDOW": "default_window",
    "HAMARI_GLOBAL_EVENTS": "global_events",
    "HAMARI_ATHENA_WORKGROUP": "athena_workgroup",
    "HAMARI_ATHENA_TABLE": "athena_table",
}


def _coerce(name: str, value: Any) -> Any:
    kinds = {f.name: f.type for f in fields(Settings)}
    kind = str(kinds.get(name, "str"))
    if kind == "float":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, not {value!r}.") from None
    if kind == "bool":
        return str(value).lower() in {"1", "true", "yes", "on"}
    return value


def load_settings(
    flags: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Merge the layers and validate the result."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = config_file or config_path(env)
    try:
        with open(path, "rb") as fh:
            import tomllib  # only with a config file: every headless run starts here

            data = tomllib.load(fh)
    except FileNotFoundError:
        data = {}
    except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(f"Cannot read {path}: {exc}", hint="Fix or remove the file.") from None
    known = {f.name for f in fields(Settings)}
    for key, value in data.items():
        key = key.replace("-", "_")
        if key in known:
            values[key] = _coerce(key, value)
    for var, key in _ENV_KEYS.items():
        if env.get(var):
            values[key] = _coerce(key, env[var])
    if env.get("HAMARI_BENCH_FD", "").isdigit():
        values["bench_fd"] = int(env["HAMARI_BENCH_FD"])
    for key, value in flags.items():
        if value is not None and key in known:
            values[key] = value
    if not values.get("region") and env.get("AWS_REGION"):
        # The AWS CLI and SDKs read AWS_REGION before AWS_DEFAULT_REGION; botocore reads only
        # the latter (and the profile's region), so hamari hands it over here.
        values["region"] = env["AWS_REGION"]
    settings = replace(Settings(), **values)
    settings.window(datetime.now(UTC))  # raises ConfigError on a bad --since/--until
    validate_endpoint(settings.endpoint_url)
    for var, value in env.items():
        if var == "AWS_ENDPOINT_URL" or var.startswith("AWS_ENDPOINT_URL_"):
            validate_endpoint(value, source=var)
    return settings


def validate_endpoint(url: str | None, *, source: str = "--endpoint-url") -> None:
    """Refuse plain-HTTP endpoints that are not on loopback: credentials would travel in clear."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(
            f"{source} {url!r} is not an http(s) URL.",
            hint="Example: --endpoint-url https://vpce-0abc.logs.us-east-1.vpce.amazonaws.com",
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"{source} {url} uses plain HTTP to a non-loopback host: your AWS credentials "
            "would travel in clear.",
            hint="Use https://, or an http:// endpoint on 127.0.0.1/localhost only.",
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
