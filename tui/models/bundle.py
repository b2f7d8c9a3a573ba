"""The incident bundle: what the three panes held, in one file, for handover and postmortems.

A bundle is a versioned, gzip-compressed JSON document with the shared view state (window, focus,
time cursor, clock zone), the records the panes loaded (raw CloudTrail events, raw flow-log lines
with their format, CloudWatch series with the limits they were judged against and the verdict),
the network topology the flow pairs are explained with, the instances and the findings, and the
exact queries and filters used. ``hamari --replay FILE`` opens it with no network at all.

Pure: no UI, no AWS. :func:`save` writes one file; :func:`load` validates and rebuilds the
records, raising :class:`BundleError` with one clear sentence on anything it cannot read.

Decoding is driven by the dataclasses' type hints (:func:`decode`), so a record type that gains an
optional field still reads older bundles; a breaking change bumps :data:`VERSION`.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.models.cloudtrail import EventParseError, TrailEvent, parse_event
from tui.models.findings import Finding
from tui.models.flowlog import FlowLogParser, FlowRecord
from tui.models.inventory import InstanceInfo
from tui.models.metrics.catalogue import MetricSpec
from tui.models.metrics.series import Series
from tui.models.network import Topology
from tui.models.timewindow import TimeWindow

__all__ = [
    "FORMAT",
    "VERSION",
    "Bundle",
    "BundleError",
    "MetricsSnapshot",
    "decode",
    "dumps",
    "encode",
    "load",
    "loads",
    "save",
]

FORMAT = "hamari-bundle"
"""The ``format`` member every bundle carries (anything else is not a bundle)."""

VERSION = 1
"""The bundle version written; :func:`load` reads this version only."""

_DT = "$datetime"


class BundleError(ValueError):
    """A file that is not a bundle this hamari can read; ``str()`` is one sentence."""


# ------------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class MetricsSnapshot:
    """The metrics pane's last result, enough to draw it and judge it again.

    Attributes:
        kind: What the target is (``instance``, ``volume``, ``tgw-attachment``).
        resource_id: The target's ID.
        name: Its Name tag.
        instance: The DescribeInstances item (instance targets), or None.
        instance_type_info: The DescribeInstanceTypes item of its type, or None.
        volumes: DescribeVolumes items.
        note: The discovery's note.
        specs: The preset series of the target.
        series: Every series fetched (display units), totals included.
        period: The period in seconds.
        start: Aligned window start.
        end: Aligned window end.
        requests: GetMetricData requests the result took.
        metrics_requested: Queries sent.
        messages: Top-level ``Messages`` of the responses.
        verdict: The one-line verdict when saved (for readers of the file).
        limits: Per series: label, resource, limit, its label, percent, saturated (for readers).
    """

    kind: str
    resource_id: str
    name: str = ""
    instance: Mapping[str, Any] | None = None
    instance_type_info: Mapping[str, Any] | None = None
    volumes: tuple[Mapping[str, Any], ...] = ()
    note: str = ""
    specs: tuple[MetricSpec, ...] = ()
    series: tuple[Series, ...] = ()
    period: int = 60
    start: datetime | None = None
    end: datetime | None = None
    requests: int = 0
    metrics_requested: int = 0
    messages: tuple[tuple[str, str], ...] = ()
    verdict: str = ""
    limits: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Bundle:
    """Everything one investigation held, as records (see :func:`save` / :func:`load`).

    Attributes:
        saved_at: When the bundle was written (aware UTC).
        window: The shared time window, made fixed at the instant it was saved.
        focus: The focused resource, or None.
        time_cursor: The shared time cursor, or None.
        utc: True when times were shown in UTC (else in the local zone).
        source: Where the data came from: account, principal, region, demo, endpoint.
        queries: The exact queries and filters each pane used (by pane name).
        trail_events: The CloudTrail events (raw JSON inside each).
        flow_records: The flow records (raw lines; their format is saved with them).
        topology: The network context of the flows (ENIs, subnets, NACLs, flow logs), or None.
        metrics: The metrics pane's result, or None.
        instances: The region's instances (state reasons, volumes), for the findings.
        findings: The findings shown when saved.
        hamari_version: The hamari that wrote it.
        version: The bundle format version.
    """

    saved_at: datetime
    window: TimeWindow
    focus: str | None = None
    time_cursor: datetime | None = None
    utc: bool = True
    source: Mapping[str, Any] = field(default_factory=dict)
    queries: Mapping[str, Any] = field(default_factory=dict)
    trail_events: tuple[TrailEvent, ...] = ()
    flow_records: tuple[FlowRecord, ...] = ()
    topology: Topology | None = None
    metrics: MetricsSnapshot | None = None
    instances: tuple[InstanceInfo, ...] = ()
    findings: tuple[Finding, ...] = ()
    hamari_version: str = ""
    version: int = VERSION


# ---------------------------------------------------------------------- generic dataclass codec


def encode(value: Any) -> Any:
    """A JSON-ready copy of ``value``: dataclasses as objects, datetimes marked, tuples as lists."""
    if isinstance(value, datetime):
        return {_DT: value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)  # Decimal and friends from botocore items


def _object_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _DT in obj:
        try:
            return datetime.fromisoformat(obj[_DT])
        except (TypeError, ValueError):
            raise BundleError(f"bad timestamp {obj[_DT]!r}") from None
    return obj


def decode(kind: Any, data: Any, where: str = "bundle") -> Any:
    """Rebuild a value of type ``kind`` (a dataclass, a container of them, or a scalar).

    Raises:
        BundleError: ``data`` does not fit ``kind``; the message says where.
    """
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if kind is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return decode(arg, data, where)
            except BundleError as err:
                errors.append(str(err))
        raise BundleError(errors[0] if errors else f"{where}: unexpected null")
    if origin is typing.Literal:
        if data not in args:
            raise BundleError(f"{where}: {data!r} is not one of {args}")
        return data
    if origin is tuple:
        if not isinstance(data, list):
            raise BundleError(f"{where}: expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
        if len(args) != len(data):
            raise BundleError(f"{where}: expected {len(args)} items")
        return tuple(
            decode(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True))
        )
    if origin in (list, Sequence):
        if not isinstance(data, list):
            raise BundleError(f"{where}: expected a list")
        return [decode(args[0] if args else Any, v, f"{where}[{i}]") for i, v in enumerate(data)]
    if origin in (dict, Mapping) or kind in (dict, Mapping):
        if not isinstance(data, dict):
            raise BundleError(f"{where}: expected an object")
        value_kind = args[1] if len(args) == 2 else Any
        return {k: decode(value_kind, v, f"{where}.{k}") for k, v in data.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _decode_dataclass(kind, data, where)
    if kind is datetime:
        if not isinstance(data, datetime):
            raise BundleError(f"{where}: expected a timestamp")
        return data if data.tzinfo is not None else data.replace(tzinfo=UTC)
    if kind is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise BundleError(f"{where}: expected a number")
        return float(data)
    if kind in (int, str, bool):
        if not isinstance(data, kind) or (kind is int and isinstance(data, bool)):
            raise BundleError(f"{where}: expected {kind.__name__}")
        return data
    return data


def _decode_dataclass(kind: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise BundleError(f"{where}: expected an object")
    hints = typing.get_type_hints(kind)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(kind):
        if not f.init:
            continue
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise BundleError(f"{where}: {f.name} is missing")
            continue
        values[f.name] = decode(hints.get(f.name, Any), data[f.name], f"{where}.{f.name}")
    try:
        return kind(**values)
    except (TypeError, ValueError) as exc:
        raise BundleError(f"{where}: {exc}") from None


# ------------------------------------------------------------------------------------ documents


def _flow_groups(records: Sequence[FlowRecord]) -> list[dict[str, Any]]:
    """Raw lines grouped by format, in record order within each group."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for record in records:
        groups.setdefault(tuple(record.FORMAT), []).append(record.raw)
    return [{"format": list(fmt), "lines": lines} for fmt, lines in groups.items()]


def _read_flows(groups: Any) -> tuple[FlowRecord, ...]:
    if not isinstance(groups, list):
        raise BundleError("flows.groups: expected a list")
    out: list[FlowRecord] = []
    for i, group in enumerate(groups):
        if not isinstance(group, dict):
            raise BundleError(f"flows.groups[{i}]: expected an object")
        fmt, lines = group.get("format"), group.get("lines")
        if not isinstance(fmt, list) or not all(isinstance(f, str) for f in fmt) or not fmt:
            raise BundleError(f"flows.groups[{i}].format: expected field names")
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise BundleError(f"flows.groups[{i}].lines: expected text lines")
        parser = FlowLogParser(tuple(fmt), source="bundle")
        for line in lines:
            record = parser.feed_line(line)
            if record is not None:
                out.append(record)
        if parser.stats.bad_lines:
            raise BundleError(f"flows.groups[{i}]: {parser.stats.bad_lines} unreadable lines")
    out.sort(key=lambda r: r.start or 0)
    return tuple(out)


def _read_events(raws: Any) -> tuple[TrailEvent, ...]:
    if not isinstance(raws, list):
        raise BundleError("trail.events: expected a list")
    events: list[TrailEvent] = []
    for i, raw in enumerate(raws):
        if not isinstance(raw, dict):
            raise BundleError(f"trail.events[{i}]: expected an object")
        try:
            events.append(parse_event(_plain(raw)))
        except EventParseError as exc:
            raise BundleError(f"trail.events[{i}]: {exc}") from None
    events.sort(key=lambda e: (e.event_time, e.event_id), reverse=True)
    return tuple(events)


def _plain(value: Any) -> Any:
    """Datetimes back to ISO text (raw CloudTrail events hold strings only)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def evidence_window(
    window: TimeWindow, events: Sequence[TrailEvent], records: Sequence[FlowRecord]
) -> TimeWindow:
    """``window`` widened (and fixed) to hold every saved event and flow record.

    A live window slides between the panes' load and ctrl+s, so the oldest loaded events lie
    before its start when the bundle is saved; a replay shows what its window contains and lost
    them (432 events saved, 431 replayed). Nothing saved may be hidden by the saved window.
    """
    times = [e.event_time for e in events]
    starts = [r.start for r in records if r.start is not None]
    if starts:
        times += [
            datetime.fromtimestamp(min(starts), UTC),
            datetime.fromtimestamp(max(starts), UTC),
        ]
    if not times:
        return window
    start, end = min(window.start, *times), max(window.end, *times)
    if (start, end) == (window.start, window.end):
        return window
    return TimeWindow(start, end, live=False)


def to_document(bundle: Bundle) -> dict[str, Any]:
    """The bundle as a JSON-ready document (what :func:`save` writes)."""
    window = evidence_window(bundle.window, bundle.trail_events, bundle.flow_records)
    return {
        "format": FORMAT,
        "version": bundle.version,
        "hamari_version": bundle.hamari_version,
        "saved_at": encode(bundle.saved_at),
        "window": {"start": encode(window.start), "end": encode(window.end), "live": window.live},
        "focus": bundle.focus,
        "time_cursor": encode(bundle.time_cursor),
        "utc": bundle.utc,
        "source": encode(bundle.source),
        "queries": encode(bundle.queries),
        "trail": {"events": [encode(e.raw) for e in bundle.trail_events]},
        "flows": {
            "groups": _flow_groups(bundle.flow_records),
            "topology": encode(bundle.topology),
        },
        "metrics": encode(bundle.metrics),
        "instances": encode(bundle.instances),
        "findings": encode(bundle.findings),
    }


def from_document(doc: Any) -> Bundle:
    """Validate a decoded document and rebuild the bundle.

    Raises:
        BundleError: Not a bundle, an unknown version, or a malformed section.
    """
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BundleError("it is not a hamari bundle (no 'format': 'hamari-bundle')")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleError(f"its bundle version {version!r} is unknown")
    if version > VERSION:
        raise BundleError(
            f"it is a version {version} bundle, newer than this hamari reads ({VERSION}); "
            "upgrade hamari"
        )
    window = doc.get("window")
    if not isinstance(window, dict):
        raise BundleError("window: expected an object")
    start = decode(datetime, window.get("start"), "window.start")
    end = decode(datetime, window.get("end"), "window.end")
    if start >= end:
        raise BundleError("window: start is not before end")
    trail = doc.get("trail") or {}
    flows = doc.get("flows") or {}
    if not isinstance(trail, dict) or not isinstance(flows, dict):
        raise BundleError("trail and flows must be objects")
    trail_events = _read_events(trail.get("events") or [])
    flow_records = _read_flows(flows.get("groups") or [])
    return Bundle(
        saved_at=decode(datetime, doc.get("saved_at"), "saved_at"),
        # Bundles written before the window covered the evidence are widened on load.
        window=evidence_window(TimeWindow(start, end, live=False), trail_events, flow_records),
        focus=decode(str | None, doc.get("focus"), "focus"),
        time_cursor=decode(datetime | None, doc.get("time_cursor"), "time_cursor"),
        utc=bool(doc.get("utc", True)),
        source=decode(Mapping[str, Any], doc.get("source") or {}, "source"),
        queries=decode(Mapping[str, Any], doc.get("queries") or {}, "queries"),
        trail_events=trail_events,
        flow_records=flow_records,
        topology=decode(Topology | None, flows.get("topology"), "flows.topology"),
        metrics=decode(MetricsSnapshot | None, doc.get("metrics"), "metrics"),
        instances=decode(tuple[InstanceInfo, ...], doc.get("instances") or [], "instances"),
        findings=decode(tuple[Finding, ...], doc.get("findings") or [], "findings"),
        hamari_version=str(doc.get("hamari_version") or ""),
        version=version,
    )


def dumps(bundle: Bundle) -> bytes:
    """The bundle as gzip-compressed JSON bytes."""
    text = json.dumps(to_document(bundle), ensure_ascii=False, separators=(",", ":"))
    return gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)


def loads(data: bytes) -> Bundle:
    """Read a bundle from bytes (gzip-compressed or plain JSON).

    Raises:
        BundleError: Not gzip/JSON, not a bundle, an unknown version, or malformed.
    """
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise BundleError(f"its gzip data is damaged ({exc})") from None
    try:
        doc = json.loads(data.decode("utf-8"), object_hook=_object_hook)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BundleError("it is not JSON (nor gzip-compressed JSON)") from None
    return from_document(doc)


def save(path: str | os.PathLike[str], bundle: Bundle) -> Path:
    """Write ``bundle`` to ``path`` (gzip JSON), readable by the user only; return the path.

    The file is written beside its final name and renamed, so a failed save leaves nothing half
    written.
    """
    target = Path(path).expanduser()
    data = dumps(bundle)
    tmp = target.with_name(f".{target.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def load(path: str | os.PathLike[str]) -> Bundle:
    """Read and validate the bundle at ``path``.

    Raises:
        BundleError: The file cannot be read or is not a bundle this hamari reads; the message
            is one sentence naming the file.
    """
    target = Path(path).expanduser()
    try:
        data = target.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BundleError(f"cannot read the bundle {str(target)!r}: {reason}") from None
    try:
        return loads(data)
    except BundleError as err:
        raise BundleError(f"{str(target)!r} cannot be replayed: {err}") from None
