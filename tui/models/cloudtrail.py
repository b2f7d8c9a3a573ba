"""CloudTrail events as immutable records, and the parsers that build them from any source.

Every CloudTrail source hamari reads (LookupEvents pages, S3-delivered ``{"Records": [...]}`` files,
NDJSON exports, CloudWatch Logs subscription payloads, a single event pasted into a file) ends up as
the same :class:`TrailEvent`, so that the table, the filter language and the related-events view are
written once. The parsers are deliberately forgiving: trail data comes from many writers over many
years (eventVersion 1.0 to 1.11), from documentation snippets and from files that were cut, edited
or corrupted on the way. One bad event must never spoil its page and one bad file must never stop
the others; what cannot be read is counted with a reason (:class:`BadRecord`, :class:`ParseResult`).

Values are kept raw (exactly as AWS wrote them) for search and export; display code must pass them
through :func:`tui.models.text.display_safe` (see :func:`tui.models.related.summarize`).

This module is pure: no UI, no AWS SDK.

Size (~1,500 lines): one record type and every parser of it, with its light form (LightEvent, the
fields the fast route of ``hamari trail`` reads); the log-pipeline layouts and the file readers
are the seams to split at.
"""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import json
import os
import re
import types
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from tui.models.localfiles import entry_problem

_inflate: types.ModuleType = zlib
try:  # python-isal inflates ~3x faster than zlib and releases the GIL while it works
    from isal import isal_zlib

    _inflate = isal_zlib
except ImportError:  # pragma: no cover - isal is a declared dependency
    pass

GZIP_ERRORS: Final[tuple[type[Exception], ...]] = (zlib.error, _inflate.error)
"""What corrupt gzip data raises (isal's error is not zlib's)."""

__all__ = [
    "MAX_BAD_SAMPLES",
    "SEARCH_TEXT_LIMIT",
    "BadRecord",
    "EventParseError",
    "ParseResult",
    "SourceKind",
    "TrailEvent",
    "iter_trail_path",
    "loads_json",
    "parse_event",
    "parse_lookup_response",
    "read_trail_bytes",
]

SEARCH_TEXT_LIMIT: Final = 4096
"""Upper bound (characters) of :attr:`TrailEvent.search_text`."""

MAX_BAD_SAMPLES: Final = 20
"""How many bad-record reasons a :class:`ParseResult` keeps as samples (the count is exact)."""

MAX_DECOMPRESSED_BYTES: Final = 1 << 30
"""A gzip member that inflates beyond this is refused (gzip bomb)."""

_MAX_RESOURCES: Final = 64
_MAX_WALK_NODES: Final = 4000
_MAX_WALK_DEPTH: Final = 32
_MAX_ID_LEN: Final = 2048
_WALK_TEXT_BUDGET: Final = 2048

# EC2-style resource IDs (instances, volumes, ENIs, subnets, VPCs, TGW attachments, ...). The body
# must contain a digit so that words such as "vpc-endpoints" are not taken for IDs; documentation
# examples use IDs like ``i-EXAMPLE56126103cb``, so letters are allowed as well as hex.
_ID_RE: Final = re.compile(
    r"(?:i|vol|eni|subnet|vpc|vpce|tgw-attach|tgw-rtb|tgw|sg|snap|ami|igw|eigw|nat|rtb|acl|"
    r"eipalloc|eipassoc|lt|pcx|fl|dopt|cgw|vgw|vpn|rtbassoc|aclassoc|subnet-cidr-assoc|"
    r"vpc-cidr-assoc|r|sir|fleet|ipam|pl|db)"
    r"-(?=[A-Za-z]*\d)[0-9A-Za-z]{8,32}"
)
_UUID_RE: Final = re.compile(r"(?:mrk-)?[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")
# Keys whose values name a KMS key (an ID, an alias or an ARN).
_KEY_FIELDS: Final = frozenset(
    {"keyId", "KeyId", "kmsKeyId", "KmsKeyId", "targetKeyId", "sourceKeyId", "destinationKeyId"}
)
_ISO_TRAILING_Z: Final = re.compile(r"[zZ]$")


class EventParseError(ValueError):
    """Raised when a value cannot be read as a CloudTrail event.

    Attributes:
        reason: a short, human-readable explanation (safe to show after ``display_safe``).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TrailEvent:
    """One CloudTrail event, normalised for tables, filters and related-event search.

    String fields hold the raw values (empty string when absent); display code must escape them.
    ``raw`` is the original event (for the JSON view and export); ``search_text`` is a bounded,
    lower-cased concatenation of the interesting values used by free-text filtering.
    """

    event_id: str
    event_time: datetime
    event_name: str
    event_source: str
    source: str
    aws_region: str
    principal: str
    principal_arn: str
    identity_type: str
    invoked_by: str
    source_ip: str
    user_agent: str
    error_code: str
    error_message: str
    read_only: bool | None
    request_id: str
    shared_event_id: str
    resources: tuple[str, ...]
    event_version: str
    event_type: str
    account_id: str = ""
    access_key_id: str = ""
    user_names: tuple[str, ...] = ()
    """Lower-cased names of the principal (readable principal, user or session name, ARN)."""
    ip_value: int = -1
    """The source IP as an integer, or -1 when ``source_ip`` is not an address (e.g. a service)."""
    ip_version: int = 0
    ip_chain: tuple[tuple[int, int], ...] = ()
    """Every (value, version) of a forwarded chain such as ``"81.2.69.142, 192.168.10.10"``;
    empty when ``source_ip`` holds one address or none."""
    partial_reason: str = ""
    """Why the event was built from LookupEvents outer fields only ("" for a complete event)."""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)
    search_text: str = field(default="", compare=False, hash=False, repr=False)
    _key: str = field(default="", init=False, compare=False, hash=False, repr=False)

    @property
    def is_error(self) -> bool:
        """True when the call failed (an error code or an error message is present)."""
        return bool(self.error_code or self.error_message)

    @property
    def partial(self) -> bool:
        """True when built from LookupEvents outer fields because ``CloudTrailEvent`` was unusable."""
        return bool(self.partial_reason)

    @property
    def timestamp(self) -> float:
        """POSIX timestamp of :attr:`event_time`."""
        return self.event_time.timestamp()

    @property
    def key(self) -> str:
        """What identifies one delivery of one event: eventID with its name, time and source.

        CloudTrail delivers an event more than once at times (several trails into one bucket,
        a file read twice, global events seen from two regions): those copies share all four.
        Test fixtures and hand-made files reuse an eventID for different calls, so the eventID
        alone would fold events that are not copies of each other.
        """
        key = self._key
        if not key:
            # Computed once: the pane sorts and indexes 100k events by it (7 us -> 0.1 us).
            key = event_key(self.event_id, self.event_name, self.event_time, self.event_source)
            object.__setattr__(self, "_key", key)
        return key


def event_key(event_id: str, event_name: str, event_time: datetime, event_source: str) -> str:
    """:attr:`TrailEvent.key` from its four parts (also for events not built as TrailEvents)."""
    return _key_text(event_id, event_name, event_time.timestamp(), event_source)


def _key_text(event_id: str, event_name: str, stamp: float, event_source: str) -> str:
    return f"{event_id}\x1f{event_name}\x1f{stamp!r}\x1f{event_source}"


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that could not be turned into an event.

    Attributes:
        index: position of the record in its container (or line number for NDJSON), if known.
        reason: why it was rejected.
    """

    index: int | None
    reason: str


class SourceKind(StrEnum):
    """What a local file turned out to be."""

    RECORDS = "records"
    NDJSON = "ndjson"
    ARRAY = "array"
    SINGLE = "single"
    LOOKUP = "lookup"
    CWL_SUBSCRIPTION = "cwl-subscription"
    ZIP = "zip"
    CSV = "console-csv"
    DIGEST = "digest"
    LAKE = "lake-query-results"
    EMPTY = "empty"
    NOT_A_LOG = "not-a-log"
    BAD = "bad"


_SKIPPED_KINDS: Final = frozenset(
    {SourceKind.DIGEST, SourceKind.LAKE, SourceKind.EMPTY, SourceKind.NOT_A_LOG}
)


@dataclass(slots=True)
class ParseResult:
    """What one file (or one LookupEvents page) produced.

    Attributes:
        name: the file name or path, as given.
        kind: the layout detected.
        events: the events read, in file order.
        bad_count: exact number of records that could not be read.
        bad_samples: up to :data:`MAX_BAD_SAMPLES` of those, with reasons.
        reason: why the whole file was skipped or rejected, else ``""``.
        notes: non-fatal remarks (e.g. invalid UTF-8 replaced).
        skipped_parts: members of an archive that were not read, each ``member: reason``.
    """

    name: str
    kind: SourceKind
    events: list[TrailEvent] = field(default_factory=list)
    bad_count: int = 0
    bad_samples: list[BadRecord] = field(default_factory=list)
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    skipped_parts: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> bool:
        """True for files deliberately not read as events (digests, empty files, ...)."""
        return self.kind in _SKIPPED_KINDS

    @property
    def bad_file(self) -> bool:
        """True when the file could not be read at all."""
        return self.kind is SourceKind.BAD

    def add_bad(self, index: int | None, reason: str) -> None:
        """Count one bad record, keeping its reason if there is room for a sample."""
        self.bad_count += 1
        if len(self.bad_samples) < MAX_BAD_SAMPLES:
            self.bad_samples.append(BadRecord(index, reason))


# --------------------------------------------------------------------------------------- JSON


def _big_int(digits: str) -> int | str:
    # Python refuses int() on more than 4300 digits (CVE-2020-10735); such a number in an event
    # is kept as its digit string rather than failing the whole record.
    try:
        return int(digits)
    except ValueError:
        return digits


_SAFE_DECODER: Final = json.JSONDecoder(parse_int=_big_int)
_FAST_DECODER: Final = json.JSONDecoder()


def _decode_bytes(data: bytes) -> tuple[str, bool]:
    """Decode UTF-8 (BOM tolerated); invalid bytes become U+FFFD. Returns (text, replaced)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), True


def loads_json(text: str | bytes) -> Any:
    """Parse JSON the way every hamari parser does.

    Duplicate keys keep the last value, integers too long for Python's ``int`` are kept as digit
    strings, invalid UTF-8 is replaced, and absurd nesting is reported instead of crashing.

    Args:
        text: a JSON document.

    Returns:
        The decoded value.

    Raises:
        EventParseError: when the text is not JSON (the reason carries line and column).
    """
    if isinstance(text, bytes | bytearray):
        text, _ = _decode_bytes(bytes(text))
    try:
        try:
            return _FAST_DECODER.decode(text)
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError):
                raise
            # int() refused a huge number: retry with the tolerant decoder.
            return _SAFE_DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise EventParseError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise EventParseError("JSON nested too deeply") from None
    except ValueError as exc:  # pragma: no cover - defensive (other decoder ValueErrors)
        raise EventParseError(f"invalid JSON: {exc}") from None


# ------------------------------------------------------------------------------------ helpers


def _s(value: Any) -> str:
    """Coerce a JSON scalar to ``str`` ("" for missing); containers become compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    try:
        return json.dumps(value, separators=(",", ":"), default=str)[:_MAX_ID_LEN]
    except (ValueError, RecursionError):
        return ""


def _d(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _parse_time(value: Any) -> datetime:
    """Parse an eventTime (ISO 8601 text, datetime, epoch seconds or ms) to an aware UTC time."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise EventParseError("empty eventTime")
        try:
            dt = datetime.fromisoformat(_ISO_TRAILING_Z.sub("+00:00", text))
        except ValueError:
            raise EventParseError(f"unreadable eventTime {text[:40]!r}") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) > 1e11 else value
        try:
            dt = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise EventParseError(f"eventTime out of range: {value!r}") from None
    elif value is None:
        raise EventParseError("missing eventTime")
    else:
        raise EventParseError(f"eventTime is a {type(value).__name__}")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except (OverflowError, ValueError):
        raise EventParseError(f"eventTime out of range: {value!r}") from None


def _short_source(event_source: str) -> str:
    if event_source.endswith(".amazonaws.com"):
        return event_source[: -len(".amazonaws.com")]
    return event_source


def _arn_tail(arn: str) -> str:
    """The resource part of an ARN after its type: ``user/a/b`` -> ``a/b``."""
    parts = arn.split(":", 5)
    resource = parts[5] if len(parts) == 6 else arn
    _, sep, rest = resource.partition("/")
    return rest if sep else resource


def _principal(ui: Mapping[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    """Readable principal, its ARN, and the names it may be looked up by."""
    id_type = _s(ui.get("type"))
    arn = _s(ui.get("arn"))
    user_name = _s(ui.get("userName"))
    principal_id = _s(ui.get("principalId"))
    invoked_by = _s(ui.get("invokedBy"))
    session = _d(ui.get("sessionContext"))
    issuer = _d(session.get("sessionIssuer"))
    issuer_name = _s(issuer.get("userName"))
    names: list[str] = []

    if id_type == "AssumedRole":
        tail = _arn_tail(arn) if arn else ""
        session_name = tail.rpartition("/")[2] if "/" in tail else ""
        if not session_name and ":" in principal_id:
            session_name = principal_id.rpartition(":")[2]
        role = tail.partition("/")[0] if "/" in tail else issuer_name
        principal = f"{role}/{session_name}" if role and session_name else (tail or principal_id)
        names = [session_name, role]
    elif id_type == "Root":
        principal = "root"
        names = [user_name]
    elif id_type == "AWSService":
        principal = invoked_by or "AWS service"
    elif id_type == "AWSAccount":
        principal = f"account {ui.get('accountId')}" if ui.get("accountId") else principal_id
        names = [principal_id]
    elif id_type == "FederatedUser":
        principal = _arn_tail(arn) if arn else (issuer_name or principal_id)
        names = [issuer_name]
    elif id_type == "IdentityCenterUser":
        on_behalf = _d(ui.get("onBehalfOf"))
        principal = (
            user_name
            or (_arn_tail(arn) if arn else "")
            or _s(ui.get("userId"))
            or _s(on_behalf.get("userId"))
            or "IdentityCenterUser"
        )
        names = [_s(ui.get("userId")), _s(on_behalf.get("userId"))]
    else:
        # IAMUser, SAMLUser, WebIdentityUser and types not known yet: the best name available,
        # else the type itself (shown as-is rather than hidden).
        principal = (
            user_name or (_arn_tail(arn) if arn else "") or principal_id or invoked_by or id_type
        )
    all_names = {n.lower() for n in (principal, user_name, arn, *names) if n}
    return principal, arn, tuple(sorted(all_names))


_IPV4 = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})").fullmatch


def _ip(text: str) -> tuple[int, int]:
    if not text or not (text[0].isdigit() or ":" in text[:5]):
        return -1, 0
    dotted = _IPV4(text)
    if dotted is not None:
        # fast path for the common case (ipaddress is several times slower)
        a, b, c, d = map(int, dotted.groups())
        if a <= 255 and b <= 255 and c <= 255 and d <= 255:
            return (a << 24) | (b << 16) | (c << 8) | d, 4
        return -1, 0
    if text.count(".") == 3 and ":" not in text:
        return -1, 0  # dotted but not an address (the old fast path said so too)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return -1, 0
    return int(address), address.version


def _ip_chain(text: str) -> tuple[int, int, tuple[tuple[int, int], ...]]:
    """The first address of ``sourceIPAddress`` and, for a forwarded chain, every address."""
    if "," not in text:
        value, version = _ip(text)
        return value, version, ()
    chain = tuple(ip for ip in (_ip(part.strip()) for part in text.split(",")[:16]) if ip[1])
    if not chain:
        return -1, 0, ()
    return chain[0][0], chain[0][1], chain


def _read_only(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low == "true":
            return True
        if low == "false":
            return False
    return None


class _Collector:
    """Gathers resource identifiers and bounded search text while walking an event."""

    __slots__ = ("resources", "seen", "text", "text_len")

    def __init__(self) -> None:
        self.resources: list[str] = []
        self.seen: set[str] = set()
        self.text: list[str] = []
        self.text_len = 0

    def add(self, value: str) -> None:
        if value and value not in self.seen and len(self.resources) < _MAX_RESOURCES:
            self.seen.add(value)
            self.resources.append(value)

    def add_text(self, value: str) -> None:
        if self.text_len < _WALK_TEXT_BUDGET:
            piece = value[:256]
            self.text.append(piece)
            self.text_len += len(piece) + 1

    def walk(self, root: Any) -> None:
        """Visit ``root`` iteratively (bounded nodes and depth), collecting IDs, ARNs and keys."""
        stack: list[tuple[Any, int, str]] = [(root, 0, "")]
        visited = 0
        while stack and visited < _MAX_WALK_NODES:
            node, depth, key = stack.pop()
            visited += 1
            if isinstance(node, str):
                if len(node) > _MAX_ID_LEN:
                    self.add_text(node)
                    continue
                if (
                    node.startswith("arn:")
                    or key in _KEY_FIELDS
                    or _ID_RE.fullmatch(node) is not None
                ):
                    self.add(node)
                self.add_text(node)
            elif depth >= _MAX_WALK_DEPTH:
                continue
            elif isinstance(node, dict):
                for k, v in reversed(node.items()):
                    if v is not None and not isinstance(v, bool | int | float):
                        stack.append((v, depth + 1, k))
            elif isinstance(node, list):
                stack.extend((item, depth + 1, key) for item in reversed(node))


def _event_id(obj: Mapping[str, Any]) -> str:
    event_id = _s(obj.get("eventID"))
    if event_id:
        return event_id
    # No eventID (documentation fragments, hand-made files): derive a stable one so that
    # de-duplication and selection still work. The "~" marks it as synthetic.
    try:
        blob = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError):
        blob = repr(sorted(obj.keys()))
    return "~" + hashlib.blake2b(blob.encode("utf-8", "replace"), digest_size=12).hexdigest()


def _top_fields(obj: Mapping[str, Any], ui: Mapping[str, Any]) -> dict[str, Any]:
    """The fields read straight from an event's top level and its userIdentity (no walk): what
    :class:`LightEvent` holds, computed here once for both so that they cannot drift apart."""
    event_source = _s(obj.get("eventSource"))
    return {
        "event_name": _s(obj.get("eventName")),
        "event_source": event_source,
        "source": _short_source(event_source),
        "aws_region": _s(obj.get("awsRegion")),
        "identity_type": _s(ui.get("type")),
        "invoked_by": _s(ui.get("invokedBy")),
        "user_agent": _s(obj.get("userAgent")),
        "error_code": _s(obj.get("errorCode")),
        "error_message": _s(obj.get("errorMessage")),
        "read_only": _read_only(obj.get("readOnly")),
        "account_id": _s(obj.get("recipientAccountId") or ui.get("accountId")),
        "access_key_id": _s(ui.get("accessKeyId")),
    }


LIGHT_FIELDS: Final = (
    "event_id",
    "event_time",
    "event_name",
    "event_source",
    "source",
    "aws_region",
    "identity_type",
    "invoked_by",
    "user_agent",
    "error_code",
    "error_message",
    "read_only",
    "account_id",
    "access_key_id",
    "principal",
    "principal_arn",
    "user_names",
    "source_ip",
    "ip_value",
    "ip_version",
    "ip_chain",
)


class LightEvent:
    """An event's top-level and identity fields only, with the values a :class:`TrailEvent` has.

    ``hamari trail`` over files decides most filters (error, name, source, user, ip, ...) on this
    and never builds the whole event (the walk of parameters and responses for resources and
    search text) of an event the filter does not keep: that walk is most of a full parse's cost.
    """

    __slots__ = LIGHT_FIELDS

    event_id: str
    event_time: datetime
    event_name: str
    event_source: str
    source: str
    aws_region: str
    identity_type: str
    invoked_by: str
    user_agent: str
    error_code: str
    error_message: str
    read_only: bool | None
    account_id: str
    access_key_id: str
    principal: str
    principal_arn: str
    user_names: tuple[str, ...]
    source_ip: str
    ip_value: int
    ip_version: int
    ip_chain: tuple[tuple[int, int], ...]

    @property
    def is_error(self) -> bool:
        """As :attr:`TrailEvent.is_error`."""
        return bool(self.error_code or self.error_message)

    @property
    def key(self) -> str:
        """As :attr:`TrailEvent.key`."""
        return event_key(self.event_id, self.event_name, self.event_time, self.event_source)


def light_event(obj: Any) -> LightEvent | None:
    """The :class:`LightEvent` of a decoded event (a dict, or anything with ``.get``), or None
    when only the full parse can say what it is: no eventID (the full parse derives one from
    the whole event), no or an unreadable eventTime (a bad record, with its reason), or a
    record that is not a CloudTrail event as delivered (log-pipeline layouts)."""
    found = _id_and_time(obj)
    if found is None:
        return None
    event_id, event_time = found
    light = LightEvent()
    light.event_id = event_id
    light.event_time = event_time
    ui = _d(obj.get("userIdentity"))
    for name, value in _top_fields(obj, ui).items():
        setattr(light, name, value)
    light.principal, light.principal_arn, light.user_names = _principal(ui)
    light.source_ip = source_ip = _s(obj.get("sourceIPAddress"))
    light.ip_value, light.ip_version, light.ip_chain = _ip_chain(source_ip)
    return light


def event_key_of(obj: Any, stamps: dict[str, float] | None = None) -> tuple[str, float] | None:
    """(:attr:`TrailEvent.key`, event time as POSIX seconds) of a decoded event, read from the
    four fields alone; None where :func:`light_event` would say None (only the full parse can
    say). ``stamps`` keeps the time of each eventTime text met: a file's events share seconds.
    """
    event_id = obj.get("eventID")
    if not isinstance(event_id, str) or not event_id:
        return None
    value = obj.get("eventTime")
    text = value if stamps is not None and isinstance(value, str) else None
    stamp = stamps.get(text) if text is not None and stamps is not None else None
    if stamp is None:
        try:
            stamp = _parse_time(value).timestamp()
        except EventParseError:
            return None
        if text is not None and stamps is not None:
            stamps[text] = stamp
    name, source = _s(obj.get("eventName")), _s(obj.get("eventSource"))
    return _key_text(event_id, name, stamp, source), stamp


def _id_and_time(obj: Any) -> tuple[str, datetime] | None:
    """The eventID (a non-empty string) and the eventTime, or None when either is not so."""
    event_id = obj.get("eventID")
    if not isinstance(event_id, str) or not event_id:
        return None
    try:
        return event_id, _parse_time(obj.get("eventTime"))
    except EventParseError:
        return None


def ip_fields(source_ip: str) -> dict[str, Any]:
    """The address fields of an event with this ``sourceIPAddress``, as the full parse sets them."""
    value, version, chain = _ip_chain(source_ip)
    return {"source_ip": source_ip, "ip_value": value, "ip_version": version, "ip_chain": chain}


def _build(
    obj: dict[str, Any], *, raw: dict[str, Any] | None = None, partial_reason: str = ""
) -> TrailEvent:
    if "eventTime" not in obj:
        raise EventParseError("missing eventTime (not a CloudTrail event)")
    event_time = _parse_time(obj.get("eventTime"))
    ui = _d(obj.get("userIdentity"))
    principal, principal_arn, user_names = _principal(ui)
    source_ip = _s(obj.get("sourceIPAddress"))
    ip_value, ip_version, ip_chain = _ip_chain(source_ip)

    collector = _Collector()
    res_list = obj.get("resources")
    if isinstance(res_list, list):
        for item in res_list[:_MAX_RESOURCES]:
            if isinstance(item, dict):
                arn = _s(item.get("ARN") or item.get("arn") or item.get("ResourceName"))
                if arn:
                    collector.add(arn[:_MAX_ID_LEN])
    collector.walk(obj.get("requestParameters"))
    collector.walk(obj.get("responseElements"))
    if not collector.resources:
        collector.walk(obj.get("additionalEventData"))

    event = TrailEvent(
        event_id=_event_id(obj),
        event_time=event_time,
        principal=principal,
        principal_arn=principal_arn,
        source_ip=source_ip,
        request_id=_s(obj.get("requestID")),
        shared_event_id=_s(obj.get("sharedEventID")),
        resources=tuple(collector.resources),
        event_version=_s(obj.get("eventVersion")),
        event_type=_s(obj.get("eventType")),
        user_names=user_names,
        ip_value=ip_value,
        ip_version=ip_version,
        ip_chain=ip_chain,
        partial_reason=partial_reason,
        raw=obj if raw is None else raw,
        **_top_fields(obj, ui),
    )
    return _with_search_text(event, collector.text)


# ------------------------------------------------------------------ log-pipeline layouts

# Fields in which log shippers keep the original event as a JSON string (Elastic's event.original,
# a Splunk export's _raw, a collector's message or log).
_WRAPPER_FIELDS: Final = ("event.original", "message", "_raw", "log")
_CLOUDTRAIL_KEYS: Final = ("eventName", "eventSource", "eventID", "userIdentity", "eventVersion")
# Elastic Common Schema field -> CloudTrail field, for exports without the original event.
_ECS_FIELDS: Final = (
    ("event.action", "eventName"),
    ("event.provider", "eventSource"),
    ("event.id", "eventID"),
    ("cloud.region", "awsRegion"),
    ("source.address", "sourceIPAddress"),
    ("source.ip", "sourceIPAddress"),
    ("user_agent.original", "userAgent"),
    ("aws.cloudtrail.error_code", "errorCode"),
    ("aws.cloudtrail.error_message", "errorMessage"),
    ("aws.cloudtrail.event_version", "eventVersion"),
    ("aws.cloudtrail.event_type", "eventType"),
    ("aws.cloudtrail.read_only", "readOnly"),
    ("aws.cloudtrail.request_id", "requestID"),
    ("aws.cloudtrail.shared_event_id", "sharedEventID"),
    ("aws.cloudtrail.recipient_account_id", "recipientAccountId"),
    ("cloud.account.id", "recipientAccountId"),
    ("aws.cloudtrail.flattened.request_parameters", "requestParameters"),
    ("aws.cloudtrail.request_parameters", "requestParameters"),
    ("aws.cloudtrail.flattened.response_elements", "responseElements"),
    ("aws.cloudtrail.response_elements", "responseElements"),
)
_ECS_IDENTITY: Final = (
    ("aws.cloudtrail.user_identity.type", "type"),
    ("aws.cloudtrail.user_identity.arn", "arn"),
    ("aws.cloudtrail.user_identity.access_key_id", "accessKeyId"),
    ("aws.cloudtrail.user_identity.invoked_by", "invokedBy"),
    ("user.name", "userName"),
    ("user.id", "principalId"),
    ("cloud.account.id", "accountId"),
)


def _get(obj: Mapping[str, Any], dotted: str) -> Any:
    """``obj["a.b"]`` or ``obj["a"]["b"]``: exports write ECS fields either way."""
    if dotted in obj:
        return obj[dotted]
    node: Any = obj
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _from_ecs(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """A CloudTrail-shaped event from an Elastic Common Schema document, or None."""
    if _get(obj, "event.provider") is None and _get(obj, "event.action") is None:
        return None
    event: dict[str, Any] = {"eventTime": obj.get("@timestamp")}
    for ecs, name in _ECS_FIELDS:
        value = _get(obj, ecs)
        if value is not None and name not in event:
            event[name] = value
    identity = {name: v for ecs, name in _ECS_IDENTITY if (v := _get(obj, ecs)) is not None}
    if identity:
        event["userIdentity"] = identity
    return event


def _build_any(obj: dict[str, Any]) -> TrailEvent:
    """Build an event from a CloudTrail event or from what a log pipeline made of one.

    Pipelines (Logstash, Elastic, Splunk, collectors) rename ``eventTime`` to ``@timestamp``, wrap
    the event as a JSON string, or map it to Elastic Common Schema fields. The ``raw`` of every
    event hamari builds parses back here to the same event (bundles and exports rely on it),
    including a LookupEvents entry and a row of the console's CSV.
    """
    if "eventTime" in obj:
        return _build(obj)
    if "EventTime" in obj or "CloudTrailEvent" in obj:
        return _parse_lookup_item(obj)
    if any(k.strip().lower() == "event time" for k in obj if isinstance(k, str)):
        return _csv_event(obj)
    for name in _WRAPPER_FIELDS:
        text = _get(obj, name)
        if isinstance(text, str) and text.lstrip().startswith("{") and '"eventTime"' in text:
            try:
                inner = loads_json(text)
            except EventParseError:
                continue
            if isinstance(inner, dict) and "eventTime" in inner:
                return _build(inner)
    stamp = obj.get("@timestamp")
    if stamp is not None:
        if any(k in obj for k in _CLOUDTRAIL_KEYS):
            return _build({**obj, "eventTime": stamp}, raw=obj)
        ecs = _from_ecs(obj)
        if ecs is not None:
            why = "rebuilt from Elastic Common Schema fields (the original event was not exported)"
            return _build(ecs, raw=obj, partial_reason=why)
        raise EventParseError("has @timestamp but no CloudTrail fields (not a CloudTrail event)")
    return _build(obj)


def _with_search_text(event: TrailEvent, extra: list[str]) -> TrailEvent:
    parts = [
        event.event_name,
        event.event_source,
        event.principal,
        event.principal_arn,
        event.identity_type,
        event.invoked_by,
        event.source_ip,
        event.user_agent,
        event.error_code,
        event.error_message,
        event.aws_region,
        event.event_id,
        event.request_id,
        event.account_id,
        *event.resources,
        *extra,
    ]
    text = "\n".join(p for p in parts if p).lower()[:SEARCH_TEXT_LIMIT]
    object.__setattr__(event, "search_text", text)
    _ = event.key  # computed where parsing runs (a worker thread for files), not in the UI
    return event


def parse_event(obj: dict[str, Any] | str | bytes) -> TrailEvent:
    """Build a :class:`TrailEvent` from one CloudTrail event.

    Only ``eventTime`` is required; every other field may be missing or of the wrong type.

    Args:
        obj: the event as a decoded dict, or as JSON text / bytes (invalid UTF-8 is replaced).

    Returns:
        The normalised event; ``raw`` is the decoded dict.

    Raises:
        EventParseError: the input is not JSON, not an object, or has no usable ``eventTime``.
    """
    if isinstance(obj, str | bytes | bytearray):
        obj = loads_json(obj)
    if not isinstance(obj, dict):
        raise EventParseError(f"event is a JSON {_json_type(obj)}, not an object")
    try:
        return _build_any(obj)
    except EventParseError:
        raise
    except RecursionError:
        raise EventParseError("event nested too deeply") from None
    except Exception as exc:  # a parser of untrusted input must never crash its caller
        raise EventParseError(f"unreadable event: {type(exc).__name__}: {exc}") from None


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


# ----------------------------------------------------------------------------- LookupEvents


def _lookup_resources(item: Mapping[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    resources = item.get("Resources")
    if isinstance(resources, list):
        for entry in resources[:_MAX_RESOURCES]:
            if isinstance(entry, dict):
                name = _s(entry.get("ResourceName"))
                if name:
                    out.append(name[:_MAX_ID_LEN])
    return tuple(out)


def _from_lookup_outer(item: dict[str, Any], why: str) -> TrailEvent:
    """Build a partial event from the LookupEvents outer fields."""
    if item.get("EventTime") is None:
        raise EventParseError(f"{why}; no EventTime to fall back on")
    event_source = _s(item.get("EventSource"))
    username = _s(item.get("Username"))
    collector = _Collector()
    for resource in _lookup_resources(item):
        collector.add(resource)
    event = TrailEvent(
        event_id=_s(item.get("EventId")) or _event_id(item),
        event_time=_parse_time(item.get("EventTime")),
        event_name=_s(item.get("EventName")),
        event_source=event_source,
        source=_short_source(event_source),
        aws_region="",
        principal=username,
        principal_arn="",
        identity_type="",
        invoked_by="",
        source_ip="",
        user_agent="",
        error_code="",
        error_message="",
        read_only=_read_only(item.get("ReadOnly")),
        request_id="",
        shared_event_id="",
        resources=tuple(collector.resources),
        event_version="",
        event_type="",
        access_key_id=_s(item.get("AccessKeyId")),
        user_names=(username.lower(),) if username else (),
        partial_reason=why,
        raw=item,
    )
    return _with_search_text(event, [])


def _parse_lookup_item(item: Any) -> TrailEvent:
    if not isinstance(item, dict):
        raise EventParseError(f"LookupEvents entry is a JSON {_json_type(item)}")
    cloudtrail_event = item.get("CloudTrailEvent")
    if cloudtrail_event is None and "eventTime" in item:
        # Some tools print LookupEvents with the events inlined rather than as strings.
        return parse_event(item)
    if isinstance(cloudtrail_event, dict):
        cloudtrail_event = dict(cloudtrail_event)
    if isinstance(cloudtrail_event, str | dict):
        try:
            event = parse_event(cloudtrail_event)
        except EventParseError as exc:
            return _from_lookup_outer(item, f"CloudTrailEvent unreadable: {exc.reason}")
        outer = _lookup_resources(item)
        if outer and not set(outer) <= set(event.resources):
            merged = (*event.resources, *(r for r in outer if r not in event.resources))
            event = replace(event, resources=merged[:_MAX_RESOURCES])
            event = _with_search_text(event, [event.search_text])
        return event
    why = "CloudTrailEvent missing" if cloudtrail_event is None else "CloudTrailEvent not a string"
    return _from_lookup_outer(item, why)


def parse_lookup_response(resp: Mapping[str, Any]) -> tuple[list[TrailEvent], list[BadRecord]]:
    """Parse one LookupEvents response page, each event on its own.

    ``CloudTrailEvent`` (a JSON string) is parsed when usable; otherwise the event is built from
    the outer fields (EventId, EventName, EventTime, Username, Resources, ...) and marked
    ``partial``. Entries with nothing usable are returned as bad records.

    Args:
        resp: the response dict (``{"Events": [...], "NextToken": ...}``).

    Returns:
        The events in page order, and the bad records with their index in ``Events``.
    """
    events: list[TrailEvent] = []
    bad: list[BadRecord] = []
    items = resp.get("Events") if isinstance(resp, Mapping) else None
    if not isinstance(items, list):
        return events, [BadRecord(None, "response has no Events list")]
    for index, item in enumerate(items):
        try:
            events.append(_parse_lookup_item(item))
        except EventParseError as exc:
            bad.append(BadRecord(index, exc.reason))
        except Exception as exc:  # never let one entry spoil the page
            bad.append(BadRecord(index, f"unreadable entry: {type(exc).__name__}"))
    return events, bad


# ---------------------------------------------------------------------------------- files


def gunzip(data: bytes) -> bytes:
    """Inflate every gzip member of ``data`` with a size cap (python-isal: ~3x zlib's speed,
    and it lets go of the GIL, so files inflate in threads while another is parsed).

    Raises:
        EventParseError: beyond :data:`MAX_DECOMPRESSED_BYTES`, or truncated.
        one of GZIP_ERRORS: corrupt data.
    """
    out: list[bytes] = []
    total = 0
    while data:
        inflater = _inflate.decompressobj(wbits=47)
        while True:
            chunk = inflater.decompress(data, 1 << 24)
            total += len(chunk)
            if total > MAX_DECOMPRESSED_BYTES:
                raise EventParseError("gzip data inflates beyond the size limit")
            out.append(chunk)
            data = inflater.unconsumed_tail
            if inflater.eof or not data:
                break
        if not inflater.eof:
            raise EventParseError("truncated gzip data")
        data = inflater.unused_data.lstrip(b"\x00")
        if data and not data.startswith(b"\x1f\x8b"):
            break
    return b"".join(out)


def _is_digest(obj: Any) -> bool:
    return isinstance(obj, dict) and "digestStartTime" in obj and "logFiles" in obj


def _looks_like_event(obj: Mapping[str, Any]) -> bool:
    if any(k in obj for k in ("eventTime", "@timestamp", *_CLOUDTRAIL_KEYS)):
        return True
    return any(isinstance(_get(obj, name), str) for name in _WRAPPER_FIELDS)


def _add_events(result: ParseResult, items: list[Any], offset: int = 0) -> None:
    for index, item in enumerate(items):
        try:
            result.events.append(parse_event(item) if isinstance(item, dict) else _not_obj(item))
        except EventParseError as exc:
            result.add_bad(offset + index, exc.reason)


def _not_obj(item: Any) -> TrailEvent:
    raise EventParseError(f"record is a JSON {_json_type(item)}, not an object")


def _add_cwl(result: ParseResult, payload: Mapping[str, Any]) -> None:
    log_events = payload.get("logEvents")
    if not isinstance(log_events, list):
        result.add_bad(None, "logEvents is not a list")
        return
    for index, entry in enumerate(log_events):
        message = entry.get("message") if isinstance(entry, dict) else None
        if not isinstance(message, str):
            result.add_bad(index, "log event has no message string")
            continue
        try:
            result.events.append(parse_event(message))
        except EventParseError as exc:
            result.add_bad(index, exc.reason)


def _classify(result: ParseResult, doc: Any, index: int = 0) -> SourceKind | None:
    """Read one decoded document into ``result``; return its kind, or None if unrecognised."""
    if isinstance(doc, list):
        _add_events(result, doc, index)
        return SourceKind.ARRAY
    if not isinstance(doc, dict):
        return None
    if "Records" in doc:
        records = doc["Records"]
        if not isinstance(records, list):
            result.add_bad(index, "Records is not a list")
        else:
            _add_events(result, records)
        return SourceKind.RECORDS
    if "Events" in doc and isinstance(doc["Events"], list):
        events, bad = parse_lookup_response(doc)
        result.events.extend(events)
        for record in bad:
            result.add_bad(record.index, record.reason)
        return SourceKind.LOOKUP
    if "logEvents" in doc:
        _add_cwl(result, doc)
        return SourceKind.CWL_SUBSCRIPTION
    if _looks_like_event(doc):
        try:
            result.events.append(parse_event(doc))
        except EventParseError as exc:
            result.add_bad(index, exc.reason)
        return SourceKind.SINGLE
    return None


def _skip(result: ParseResult, kind: SourceKind, reason: str) -> ParseResult:
    result.kind = kind
    result.reason = reason
    result.events.clear()
    return result


_LAYOUT_HINT: Final = "expected Records, Events, logEvents, an event, or NDJSON"


def _stream(text: str, result: ParseResult) -> None:
    """Read concatenated or newline-delimited JSON documents, resynchronising on bad lines.

    A document starts at the first non-blank character of a line, or right after the previous
    document. After a broken document, reading resumes on the next line, so the intact events of a
    damaged pretty-printed file are recovered; fragments that are not events are counted as bad.
    """
    pos = 0
    length = len(text)
    line_no = 0
    at_line_start = True
    while pos < length:
        char = text[pos]
        if char in " \t\r":
            pos += 1
            continue
        if char == "\n":
            pos += 1
            line_no += 1
            at_line_start = True
            continue
        if at_line_start and char in "{[":
            try:
                try:
                    doc, end = _FAST_DECODER.raw_decode(text, pos)
                except json.JSONDecodeError:
                    raise
                except ValueError:
                    doc, end = _SAFE_DECODER.raw_decode(text, pos)
            except (ValueError, RecursionError) as exc:
                result.add_bad(line_no + 1, f"line {line_no + 1}: invalid JSON ({exc})"[:200])
            else:
                kind = _classify(result, doc, line_no + 1)
                if kind is None:
                    result.add_bad(
                        line_no + 1, f"line {line_no + 1}: not an event ({_LAYOUT_HINT})"
                    )
                line_no += text.count("\n", pos, end)
                pos = end
                continue
        elif at_line_start:
            result.add_bad(line_no + 1, f"line {line_no + 1}: not JSON")
        # skip to the next line
        nl = text.find("\n", pos)
        if nl < 0:
            break
        pos = nl
        at_line_start = False


def read_trail_bytes(data: bytes, name: str) -> ParseResult:
    """Read one local or downloaded trail file.

    Recognises S3-delivered ``{"Records": [...]}`` files (plain or gzip), NDJSON or concatenated
    events, a bare JSON array, a single event, LookupEvents responses (``{"Events": [...]}``) and
    CloudWatch Logs subscription payloads (``logEvents[].message``). CloudTrail digest files,
    CloudTrail Lake query results and empty files are skipped with a reason. Never raises for bad
    content: a file that cannot be read at all comes back with ``kind`` BAD and a ``reason``.

    Args:
        data: the file's bytes.
        name: its name or path (used for the result and to spot digest files).

    Returns:
        What the file produced.
    """
    result = ParseResult(name=name, kind=SourceKind.BAD)
    try:
        return _read(data, name, result)
    except EventParseError as exc:
        return _skip(result, SourceKind.BAD, exc.reason)
    except (MemoryError, RecursionError) as exc:
        return _skip(result, SourceKind.BAD, f"cannot read: {type(exc).__name__}")


def _read(data: bytes, name: str, result: ParseResult, *, nested: bool = False) -> ParseResult:
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        if nested:
            return _skip(result, SourceKind.BAD, "a zip archive inside a zip archive (not read)")
        return _read_zip(data, name, result)
    if "CloudTrail-Digest" in name:
        return _skip(
            result, SourceKind.DIGEST, "CloudTrail digest file (integrity data, no events)"
        )
    if data[:2] == b"\x1f\x8b":
        try:
            data = gunzip(data)
        except GZIP_ERRORS as exc:
            return _skip(result, SourceKind.BAD, f"corrupt gzip data: {exc}")
    elif name.endswith(".gz"):
        result.notes.append("named .gz but not gzip-compressed; read as plain text")
    text, replaced = _decode_bytes(data)
    if replaced:
        result.notes.append("invalid UTF-8 bytes replaced with U+FFFD")
    if not text.strip():
        return _skip(result, SourceKind.EMPTY, "empty file")
    if _is_console_csv(text):
        return _read_console_csv(text, result)
    try:
        doc = loads_json(text)
    except EventParseError as exc:
        whole_error = exc.reason
    else:
        if _is_digest(doc):
            return _skip(
                result, SourceKind.DIGEST, "CloudTrail digest file (integrity data, no events)"
            )
        if isinstance(doc, dict) and "QueryResultRows" in doc:
            return _skip(
                result,
                SourceKind.LAKE,
                "CloudTrail Lake query results (projected columns, not events)",
            )
        kind = _classify(result, doc)
        if kind is None:
            keys = ", ".join(sorted(doc)[:6]) if isinstance(doc, dict) else _json_type(doc)
            return _skip(
                result, SourceKind.BAD, f"not a CloudTrail layout ({keys}); {_LAYOUT_HINT}"
            )
        result.kind = kind
        if kind is SourceKind.RECORDS and not result.events and not result.bad_count:
            return _skip(result, SourceKind.EMPTY, "Records list is empty")
        return result
    _stream(text, result)
    if not result.events:
        # "Extra data": the text is a sequence of JSON documents (NDJSON), so what each one
        # lacks is the reason; otherwise one broken document, and its JSON error is.
        opening = text.lstrip()[:1]
        multi = "Extra data" in whole_error and opening in ("{", "[")
        reason = (_none_readable(result) if multi else "") or whole_error
        if "Extra data" in reason and opening not in ("{", "["):
            # e.g. a cut-out fragment ('"insightDetails": {...'): say what it is not
            start = text.lstrip()[:24]
            reason = f"not a JSON object or array: a fragment starting {start!r}"
        result.bad_count = 0
        result.bad_samples.clear()
        return _skip(result, SourceKind.BAD, reason)
    result.kind = SourceKind.NDJSON
    return result


_LINE_PREFIX: Final = re.compile(r"^line \d+: ")


def _none_readable(result: ParseResult) -> str:
    """Why no record of a multi-document file was read: its most common record-level reason.

    An NDJSON file of non-events fails as one JSON document with "Extra data"; the real reason is
    what each line lacks (e.g. eventTime), so that is what the user is told.
    """
    reasons = Counter(_LINE_PREFIX.sub("", b.reason) for b in result.bad_samples)
    documents = [r for r in reasons if not r.startswith(("invalid JSON", "not JSON"))]
    if not documents:
        return ""
    top = max(documents, key=lambda r: reasons[r])
    plural = "s" if result.bad_count != 1 else ""
    return f"{result.bad_count} record{plural}, none readable: {top}"


def _read_zip(data: bytes, name: str, result: ParseResult) -> ParseResult:
    """Read every member of a zip archive of trail files into one result.

    Members are read like files (gzip, JSON, NDJSON, CSV); a member that is skipped or refused
    is named in ``notes`` with its reason, and the inflated total is capped (zip bomb).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        # Not ZipInfo.is_dir(): it indexes the name, and a name that was only a NUL is empty.
        members = [i for i in archive.infolist() if not i.filename.endswith("/")]
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return _skip(result, SourceKind.BAD, f"corrupt zip archive: {exc}")
    total = 0
    read = 0
    for info in members:
        member = f"{name}!{info.filename}"
        if _not_a_log(Path(info.filename)) or Path(info.filename).name.startswith("."):
            result.skipped_parts.append(
                f"{info.filename}: {_not_a_log_reason(Path(info.filename))}"
            )
            continue
        if total + info.file_size > MAX_DECOMPRESSED_BYTES:
            result.skipped_parts.append(
                f"{info.filename}: inflates beyond the size limit (not read)"
            )
            continue
        try:
            with archive.open(info) as handle:
                content = handle.read(MAX_DECOMPRESSED_BYTES - total + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, ValueError) as exc:
            result.skipped_parts.append(f"{info.filename}: cannot read: {exc}")
            continue
        total += len(content)
        part = ParseResult(name=member, kind=SourceKind.BAD)
        try:
            part = _read(content, member, part, nested=True)
        except EventParseError as exc:
            part = _skip(part, SourceKind.BAD, exc.reason)
        read += 1
        result.events.extend(part.events)
        for bad in part.bad_samples:
            if len(result.bad_samples) < MAX_BAD_SAMPLES:
                result.bad_samples.append(BadRecord(bad.index, f"{info.filename}: {bad.reason}"))
        result.bad_count += part.bad_count
        if part.reason:
            result.skipped_parts.append(f"{info.filename}: {part.reason}")
    if result.events or result.bad_count:
        result.kind = SourceKind.ZIP
        return result
    if not members:
        return _skip(result, SourceKind.EMPTY, "empty zip archive")
    why = "; ".join(result.skipped_parts[:3]) or f"{read} members, no events"
    return _skip(result, SourceKind.BAD, f"zip archive without events ({why})")


# The columns of the CloudTrail console's Event history download (CSV), matched by name: the
# order is not relied on, and columns hidden in the console may be absent.
_CSV_COLUMNS: Final[dict[str, str]] = {
    "event id": "eventID",
    "event time": "eventTime",
    "event name": "eventName",
    "event source": "eventSource",
    "aws region": "awsRegion",
    "error code": "errorCode",
    "source ip address": "sourceIPAddress",
    "read-only": "readOnly",
    "event type": "eventType",
}
_CSV_CONSOLE_TIME: Final = re.compile(
    r"^(?P<when>[A-Z][a-z]+ \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2})"
    r"(?: ?\(UTC(?P<offset>[+-]\d{2}:\d{2})?\))?$"
)


def _header(line: str) -> list[str]:
    try:
        cells = next(csv.reader([line]), [])
    except csv.Error:
        return []
    return [c.strip().strip('"').strip().lower() for c in cells]


def _is_console_csv(text: str) -> bool:
    first = (text.lstrip()[:2000].splitlines() or [""])[0]
    if first.startswith(("{", "[")):
        return False
    columns = _header(first)
    return "event time" in columns and ("event name" in columns or "event id" in columns)


def _console_time(value: str) -> str:
    """ISO text for the console's "July 10, 2023, 11:45:12 (UTC+02:00)" form; else unchanged."""
    match = _CSV_CONSOLE_TIME.match(value.strip())
    if match is None:
        return value
    try:
        when = datetime.strptime(match.group("when"), "%B %d, %Y, %H:%M:%S")
    except ValueError:
        return value
    return when.isoformat() + (match.group("offset") or "+00:00")


def _csv_event(row: dict[str, str]) -> TrailEvent:
    """An event from one row of the console's CSV: the full event when the row holds its JSON."""
    lowered = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
    embedded = lowered.get("cloudtrail event", "")
    if embedded.startswith("{"):
        return parse_event(embedded)
    event: dict[str, Any] = {
        field: lowered[column] for column, field in _CSV_COLUMNS.items() if lowered.get(column)
    }
    if "eventTime" in event:
        event["eventTime"] = _console_time(event["eventTime"])
    identity = {
        "userName": lowered.get("user name", ""),
        "accessKeyId": lowered.get("aws access key", ""),
    }
    event["userIdentity"] = {k: v for k, v in identity.items() if v}
    names = [lowered.get("resource name", "")]
    resources_text = lowered.get("resources", "")
    if resources_text.startswith("["):
        try:
            listed = loads_json(resources_text)
        except EventParseError:
            listed = []
        if isinstance(listed, list):
            names += [
                _s(r.get("resourceName") or r.get("ResourceName"))
                for r in listed
                if isinstance(r, dict)
            ]
    names = [n.strip() for text in names for n in text.split(",") if n.strip()]
    event["resources"] = [{"ARN": n} for n in dict.fromkeys(names)]
    return _build(
        event,
        raw={k: v for k, v in row.items() if k},
        partial_reason="from the console's CSV export (columns only, no event JSON)",
    )


def _read_console_csv(text: str, result: ParseResult) -> ParseResult:
    """Read the CloudTrail console's Event history download (CSV), one event per row."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = iter(reader)
    while True:
        before = reader.line_num
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            result.add_bad(reader.line_num, f"line {reader.line_num}: {exc}")
            if reader.line_num == before:
                break
            continue
        try:
            result.events.append(_csv_event(row))
        except EventParseError as exc:
            result.add_bad(reader.line_num, f"line {reader.line_num}: {exc.reason}")
    if not result.events:
        reason = _none_readable(result) or "CSV export without rows"
        return _skip(result, SourceKind.BAD if result.bad_count else SourceKind.EMPTY, reason)
    result.kind = SourceKind.CSV
    return result


_NOT_LOG_NAMES: Final = ("license", "readme", "notice", "copying", "manifest")
_NOT_LOG_SUFFIXES: Final = (".md", ".rst", ".py", ".sh", ".yaml", ".yml", ".toml", ".html")


def _not_a_log(path: Path) -> bool:
    lower = path.name.lower()
    return lower.startswith(_NOT_LOG_NAMES) or lower.endswith(_NOT_LOG_SUFFIXES)


def _not_a_log_reason(path: Path) -> str:
    if path.name.startswith("."):
        return "hidden file (not read)"
    suffix = path.suffix.lower()
    if suffix in _NOT_LOG_SUFFIXES:
        return f"not a log file: {suffix} is documentation, code or configuration (not read)"
    return "not a log file: a licence, readme, notice or manifest, by its name (not read)"


def trail_files(path: str | os.PathLike[str]) -> Iterator[tuple[Path, ParseResult | None]]:
    """Every file of a trail path (sorted, symlinked folders not followed), each with None when
    it is to be read, or the result saying why it is not (hidden, licence, documentation)."""
    root = Path(path)
    if root.is_dir():
        files: list[Path] = []
        for folder, dirs, names in os.walk(root, followlinks=False):
            linked = [d for d in dirs if d[:1] != "." and (Path(folder) / d).is_symlink()]
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in linked)
            files.extend(Path(folder) / n for n in [*names, *linked])
        files.sort()
    else:
        files = [root]  # named by the user: read even when it is a pipe (``<(zcat …)``)
    for file in files:
        if file.name.startswith(".") or _not_a_log(file):
            yield file, ParseResult(str(file), SourceKind.NOT_A_LOG, reason=_not_a_log_reason(file))
        elif file is not root and (problem := entry_problem(file)) is not None:
            yield file, ParseResult(str(file), SourceKind.NOT_A_LOG, reason=problem)
        else:
            yield file, None


def read_failure(name: str, exc: OSError) -> ParseResult:
    """The result for a file that could not be read from disk."""
    return ParseResult(name, SourceKind.BAD, reason=f"cannot read: {exc.strerror or exc}")


def iter_trail_path(path: str | os.PathLike[str]) -> Iterator[ParseResult]:
    """Read a trail file, or every file under a folder (sorted, symlinked folders not followed).

    Every file yields exactly one :class:`ParseResult`, so callers can account for all of them:
    hidden files, licences and documentation are reported as NOT_A_LOG, unreadable files as BAD.

    Args:
        path: a file or a folder.

    Yields:
        One result per file, in path order.
    """
    for file, skipped in trail_files(path):
        if skipped is not None:
            yield skipped
            continue
        try:
            data = file.read_bytes()
        except OSError as exc:
            yield read_failure(str(file), exc)
            continue
        yield read_trail_bytes(data, str(file))
