"""Selecting CloudTrail events, and doing it for a filter without building every event.

:class:`Selector` is the one selection every CloudTrail reader shares: the window, the folding
of delivery duplicates, the filter. :class:`DeliveryScan` applies the same selection to an S3
delivery file (``{"Records": [...]}``) for ``hamari trail`` over files, where building a full
:class:`~tui.models.cloudtrail.TrailEvent` for each of a million events costs ~50 us apiece
(``zcat | jq`` is faster than that). Instead:

1. One msgspec pass validates the file and decodes, for every record, only the field a filter
   term reads (``errorCode`` for ``error:AccessDenied*``) and where the record starts. The
   term's own predicate, asked once per distinct value, picks the records that can match, and
   their raw bytes are cut from the file (a second pass splits it into records when the layout
   does not say where they are: not CloudTrail's ``{"eventVersion":...`` first).
2. Only those are decoded further: a :class:`~tui.models.cloudtrail.LightEvent` (top-level
   fields, same values as the full parse) when every term of the filter reads only those, the
   full parse otherwise, and the whole filter is applied. The scan keeps no state, so files are
   scanned in worker processes (``tui.aws.trailfiles``); the caller's :class:`Selector` then
   applies the window and folds duplicates, in order, over what each file kept.
3. A kept record is written as delivered (its raw JSON, one line) when that is already safe on
   a terminal; otherwise it goes through the same writer as every other event.

Records the filter cannot match are counted (``scanned``), not built: one whose eventTime is
present but unreadable is counted as scanned where the full parse would count it as bad, and
duplicates are folded (and counted) among the records the filter keeps. (Two records with the
same eventID, name, time and source but different content, which CloudTrail never delivers,
could then keep the second copy where the full parse keeps neither.) Anything the fast
route cannot read exactly as the full parse would (other layouts, a record that is not an
object or has no eventTime, a field of an unexpected JSON type, invalid UTF-8, NaN) makes
:meth:`DeliveryScan.scan` return None: the caller reads that file the ordinary way.
"""

from __future__ import annotations

import ctypes
import gc
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import compress
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Final

import msgspec

from tui.models.cloudtrail import (
    GZIP_ERRORS,
    EventParseError,
    LightEvent,
    TrailEvent,
    event_key_of,
    gunzip,
    ip_fields,
    light_event,
    parse_event,
)
from tui.models.writers import ndjson_line

if TYPE_CHECKING:
    from tui.models.timewindow import TimeWindow
    from tui.models.trailfilter import Term, TrailFilter

__all__ = ["DeliveryScan", "FileScan", "Match", "Selector", "delivery_text", "in_window"]


def in_window(when: datetime, start: datetime | None, end: datetime | None) -> bool:
    """True when ``when`` lies in [start, end] (an open side is None)."""
    return (start is None or when >= start) and (end is None or when <= end)


class Selector:
    """Window + filter + folding of delivery duplicates, shared by one stream.

    An event is a copy of another when their :attr:`~tui.models.cloudtrail.TrailEvent.key`
    (eventID, name, time, source) is equal; the eventID alone is not enough, as files reuse it
    for different calls. ``seen`` holds the keys known before the stream (updated in place):
    meeting one again is a re-read, not a duplicate, and only copies met within the stream are
    counted in ``last_folded`` (per :meth:`take`) and ``folded`` (in all). ``resumed``: the
    stream takes over from an earlier one that admitted ``seen`` and whose files it does not
    read again (an interrupted S3 load, a follow poll): a key of ``seen`` met now is a copy,
    counted as if one stream had read both.
    """

    def __init__(
        self,
        window: TimeWindow | None,
        flt: TrailFilter | None,
        seen: set[str] | None = None,
        *,
        resumed: bool = False,
    ) -> None:
        self.start = window.start if window is not None else None
        self.end = window.end if window is not None else None
        self.flt = flt if flt is not None and not flt.is_empty else None
        self.seen: set[str] = seen if seen is not None else set()
        self._mine: set[str] = set()
        self._resumed = resumed
        self.folded = 0
        self.last_folded = 0

    def admit(self, key: str, when: datetime) -> bool:
        """True for an event inside the window not met before; counts a copy met again."""
        if not in_window(when, self.start, self.end):
            return False
        return self._admit_key(key)

    def admit_stamp(self, key: str, stamp: float) -> bool:
        """:meth:`admit` for a POSIX time (no datetime is built when there is no window)."""
        if self.start is None and self.end is None:
            return self._admit_key(key)
        return self.admit(key, datetime.fromtimestamp(stamp, UTC))

    def _admit_key(self, key: str) -> bool:
        if key in self.seen:
            if self._resumed or key in self._mine:
                self.folded += 1
                self.last_folded += 1
            return False
        self.seen.add(key)
        self._mine.add(key)
        return True

    def take(self, events: Sequence[TrailEvent]) -> list[TrailEvent]:
        """The events of one page or file that are admitted and match the filter."""
        self.last_folded = 0
        fresh = [e for e in events if self.admit(e.key, e.event_time)]
        return self.flt.apply(fresh) if self.flt is not None else fresh


# ------------------------------------------------------------------------------ the fast route

LIGHT_KEYS: Final = frozenset(
    {"error", "name", "region", "id", "invokedby", "type", "account", "accesskey", "agent"}
    | {"source", "readonly", "user", "ip"}
)
"""Filter keys whose terms read only :class:`~tui.models.cloudtrail.LightEvent` fields."""


def _text(attr: str) -> Callable[[str], dict[str, Any]]:
    return lambda value: {attr: value}


# key -> (JSON field, under userIdentity?, the attributes the full parse derives from its value).
# A term on one of these reads that one field, so its own predicate can be asked once per
# distinct value (on a stand-in holding those attributes) to pick the records that can match.
_PROBES: Final[dict[str, tuple[str, bool, Callable[[str], dict[str, Any]]]]] = {
    "error": ("errorCode", False, _text("error_code")),
    "name": ("eventName", False, _text("event_name")),
    "region": ("awsRegion", False, _text("aws_region")),
    "source": ("eventSource", False, _text("event_source")),
    "agent": ("userAgent", False, _text("user_agent")),
    "ip": ("sourceIPAddress", False, ip_fields),
    "invokedby": ("invokedBy", True, _text("invoked_by")),
    "type": ("type", True, _text("identity_type")),
    "accesskey": ("accessKeyId", True, _text("access_key_id")),
}
# error:any / error:none ask about errorCode *or* errorMessage: not one field.
_ERROR_WORDS: Final = frozenset({"any", "*", "yes", "true", "none", "no", "false"})
_GLOB_SPLIT: Final = re.compile(r"[*?/ ]+")
_ANSWERS_LIMIT: Final = 1 << 16


class _Key(msgspec.Struct, gc=False):
    """The fields of an event's duplicate key (:attr:`TrailEvent.key`); ``get`` lets the model's
    helpers read it as they read a dict. Any JSON type is accepted (the helpers coerce as the
    full parse does)."""

    eventID: Any = None
    eventTime: Any = None
    eventName: Any = None
    eventSource: Any = None

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name, default)


class _Top(_Key, gc=False):
    """The fields a LightEvent is built from: the key's, and the top-level and identity fields
    the light filter terms read."""

    awsRegion: Any = None
    userAgent: Any = None
    errorCode: Any = None
    errorMessage: Any = None
    readOnly: Any = None
    recipientAccountId: Any = None
    userIdentity: Any = None
    sourceIPAddress: Any = None


class _Delivery(msgspec.Struct, gc=False):
    Records: list[msgspec.Raw]


_SPLIT: Final = msgspec.json.Decoder(_Delivery)
_KEY: Final = msgspec.json.Decoder(_Key)
_TOP: Final = msgspec.json.Decoder(_Top)
_DECODE_ERRORS: Final = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


class _Stand:
    """A stand-in event holding only the attributes one term's predicate reads."""

    def __init__(self, attrs: dict[str, Any]) -> None:
        self.__dict__.update(attrs)


@dataclass(frozen=True, slots=True)
class _Check:
    """One term asked about one field of every record.

    A value check asks the term about each distinct value of the field (on a stand-in holding
    the attributes the full parse derives from it). A literal check (``user:``, whose names
    come from several userIdentity fields) keeps the records whose raw userIdentity holds the
    term's longest literal run, lower-cased: every name is lower-cased text cut from those
    fields, joined at most by "/" or " " (``Role/session``, ``account N``, ``AWS service``), so
    a run without either lies inside one of them."""

    field: str
    nested: bool
    term: Term
    attrs: Callable[[str], dict[str, Any]] | None = None
    literal: bytes = b""


def _literal(term: Term) -> bytes:
    """The longest run of the term's value that every matching name must contain (b"": none)."""
    low = term.value.lower().split("[", 1)[0]  # a bracket class: only what precedes it is sure
    run = max(_GLOB_SPLIT.split(low), key=len, default="")
    return run.encode() if run.isascii() and "]" not in run else b""


def _checks_for(branch: Sequence[Term]) -> list[_Check]:
    """Every term of a branch that can be checked on one field (all must pass: an AND)."""
    checks: list[_Check] = []
    literal = next(
        (c for t in branch if t.key == "user" and not t.negated for c in [_user_check(t)] if c),
        None,
    )
    for term in branch:
        spec = _PROBES.get(term.key)
        if spec is None or (term.key == "error" and term.value.lower() in _ERROR_WORDS):
            continue
        if spec[1] and literal is not None:
            continue  # userIdentity is decoded raw for the literal check
        checks.append(_Check(spec[0], spec[1], term, attrs=spec[2]))
    # Few distinct values first (one answer each), then the byte search, then addresses (as
    # many distinct values as records): each check sees only what the earlier ones kept.
    checks.sort(key=lambda c: c.term.key == "ip")
    if literal is not None:
        checks.insert(sum(c.term.key != "ip" for c in checks), literal)
    return checks


def _user_check(term: Term) -> _Check | None:
    literal = _literal(term)
    return _Check("userIdentity", False, term, literal=literal) if literal else None


def _value_matches(check: _Check, value: str | None) -> bool:
    assert check.attrs is not None
    stand: Any = _Stand(check.attrs("" if value is None else value))
    return bool(check.term.predicate(stand))


def _decoder(checks: list[_Check]) -> msgspec.json.Decoder[Any]:
    """A decoder of the fields ``checks`` read, for every record, in one pass.

    A checked field is typed str | None: another JSON type there sends the file to the full
    parse, which coerces it (a number, an object) as the pane would. eventTime is required: a
    record without it is a bad record, which only the full parse counts and names. The raw
    eventVersion value says where each record starts (:func:`_spans`).
    """
    fields: dict[str, tuple[str, Any, Any]] = {}
    nested: dict[str, tuple[str, Any, Any]] = {}
    for check in checks:
        if check.literal:
            fields[check.field] = (check.field, msgspec.Raw, msgspec.UNSET)
        elif check.nested:
            nested[check.field] = (check.field, str | None, None)
        else:
            fields[check.field] = (check.field, str | None, None)
    if nested:
        leaf = msgspec.defstruct("Identity", list(nested.values()), gc=False)
        fields["userIdentity"] = ("userIdentity", leaf | None, None)
    fields[_ANCHOR_FIELD] = (_ANCHOR_FIELD, msgspec.Raw, msgspec.UNSET)  # where it starts
    record: Any = msgspec.defstruct("Record", [("eventTime", Any), *fields.values()], gc=False)
    return msgspec.json.Decoder(msgspec.defstruct("Doc", [("Records", list[record])]))


# ------------------------------------------------------------ record bytes without a second pass

_ANCHOR_FIELD: Final = "eventVersion"
_ANCHOR: Final = b'{"eventVersion":'
_SPACE: Final = frozenset(b" \t\n\r")  # JSON's whitespace
_ANY: Final = msgspec.json.Decoder(msgspec.Raw)


class _PyBuffer(ctypes.Structure):
    """CPython's ``Py_buffer`` (stable ABI); ``obj`` as a plain pointer so ctypes leaves its
    reference count to PyBuffer_Release."""

    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


def _buffer_api() -> tuple[Any, Any] | None:
    """PyObject_GetBuffer and PyBuffer_Release as ctypes calls (a view's address as a plain
    int: ~0.6 us a call, a third of what argtypes conversions cost); None where not CPython."""
    try:
        api = ctypes.pythonapi
        get = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.c_void_p, ctypes.c_int)
        release = ctypes.PYFUNCTYPE(None, ctypes.c_void_p)
        return get(("PyObject_GetBuffer", api)), release(("PyBuffer_Release", api))
    except (AttributeError, OSError):  # pragma: no cover - not CPython
        return None


_BUFFER_API: Final = _buffer_api()


def _spans(data: bytes, records: list[Any], picked: Sequence[int]) -> list[bytes] | None:
    """The bytes of the picked records of a delivery file, found from the check pass alone;
    None when they cannot be found so (the caller splits the file: a second pass).

    The check pass decodes each record's eventVersion as ``msgspec.Raw``, a view into the file:
    its place says where the record starts when the bytes before it are ``{"eventVersion":``
    (and JSON whitespace). That ``:`` separates the member whose value msgspec put there, a
    member of this record; the 14 bytes before it are that member's key written plainly (an
    escaped key is longer, and its last 14 bytes would hold an unescaped quote), and the ``{``
    before the key opens the record. CloudTrail writes eventVersion first. A record ends where
    the next starts, less the ``,`` and whitespace between; the last one where the array
    closes, checked by decoding it alone (a JSON object has one end, so what decodes whole is
    the record). Another first key, or a view msgspec copied, answers None.
    """
    if not picked:
        return []
    if _BUFFER_API is None:  # pragma: no cover - not CPython
        return None
    get, release = _BUFFER_API
    view = _PyBuffer()
    at = ctypes.addressof(view)

    def address(obj: Any) -> int:
        get(obj, at, 0)
        found = view.buf or 0
        release(at)
        return found

    base = address(data)
    size = len(data)
    unset = msgspec.UNSET
    anchor, width, space = _ANCHOR, len(_ANCHOR), _SPACE

    def start(index: int) -> int:
        value = getattr(records[index], _ANCHOR_FIELD)
        if value is unset:
            return -1
        place = address(value) - base
        if not width <= place < size:
            return -1  # not a view into this file
        while place > width and data[place - 1] in space:
            place -= 1
        place -= width
        return place if data.startswith(anchor, place) else -1

    def before(end: int, floor: int, close: int = 0) -> int:
        """``end`` moved back over whitespace (not to ``floor``), then over ``close`` (if one
        is given): -1 if that is not there."""
        while end > floor + 1 and data[end - 1] in space:
            end -= 1
        if not close:
            return end
        return end - 1 if data[end - 1] == close and end - 1 > floor else -1

    found: list[bytes] = []
    last = len(records) - 1
    next_index = next_start = -1
    for index in picked:
        begin = next_start if index == next_index else start(index)
        if begin < 0:
            return None
        if index < last:
            next_index, next_start = index + 1, start(index + 1)
            end = before(next_start, begin, 0x2C) if next_start > begin else -1  # ","
        else:
            end = before(size, begin, 0x7D)  # "}": the document closes
            end = before(end, begin, 0x5D) if end > begin else -1  # "]": the array closes
        if end <= begin:
            return None
        raw = data[begin : before(end, begin)]
        if index == last:
            try:
                _ANY.decode(raw)
            except _DECODE_ERRORS:
                return None  # the array is not the document's last member
        if not raw.endswith(b"}"):
            return None
        found.append(raw)
    return found


def _raw_may_hold(raw: Any, literal: bytes) -> bool:
    """True when a raw JSON value may hold ``literal`` once decoded and lower-cased: it does,
    or escapes or non-ASCII text make a byte search unsure."""
    if raw is msgspec.UNSET:
        return False
    data = bytes(raw)
    return literal in data.lower() or b"\\" in data or not data.isascii()


def _verbatim(raw: bytes) -> bool:
    """True when a record's raw JSON can be written as it is: one line of plain ASCII (no DEL;
    JSON keeps other controls escaped)."""
    return raw.isascii() and b"\x7f" not in raw and b"\n" not in raw and b"\r" not in raw


@contextmanager
def _no_gc() -> Iterator[None]:
    """A million small objects in one decode would run the cyclic GC again and again (none of
    them can form a cycle); pause it for the decode."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(slots=True)
class Match:
    """One record the filter keeps: its bytes as delivered, its duplicate key and time (POSIX,
    for the selector), and the whole event once something needed it (csv and table rows)."""

    raw: bytes
    key: str = ""
    stamp: float = 0.0
    event: TrailEvent | None = None
    safe: bool = False
    """The raw bytes are one line of plain ASCII (checked where the record was read)."""

    @classmethod
    def of(cls, event: TrailEvent) -> Match:
        """A match for an event read whole."""
        return cls(b"", event.key, event.event_time.timestamp(), event)

    def line(self) -> str:
        """The event as one NDJSON line: as delivered when that is plain ASCII on one line
        (nothing a terminal acts on), else through the writer every other export uses."""
        if self.safe or (self.raw and _verbatim(self.raw)):
            return self.raw.decode("ascii")
        return ndjson_line(self.full().raw)

    def full(self) -> TrailEvent:
        """The full event (built on first use: csv and table rows need principal, resources)."""
        if self.event is None:
            self.event = parse_event(self.raw)
        return self.event


@dataclass(slots=True)
class FileScan:
    """What the fast route read from one delivery file. The kept records are plain lists (raw
    bytes, keys, POSIX times) rather than objects: a worker process pickles them back, and
    pickling 5,000 objects with a datetime each cost more than the scan."""

    scanned: int = 0
    raws: list[bytes] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)
    safe: list[bool] = field(default_factory=list)
    bad: int = 0
    notes: list[str] = field(default_factory=list)

    def matches(self) -> Iterator[Match]:
        """The kept records as :class:`Match` objects, in file order."""
        for raw, key, stamp, safe in zip(self.raws, self.keys, self.stamps, self.safe, strict=True):
            yield Match(raw, key, stamp, None, safe)


class DeliveryScan:
    """The fast route over delivery files for one filter. It keeps no state between files
    (but caches), so files can be scanned in worker processes; the window and the folding of
    duplicates are the caller's :class:`Selector`, applied to each :class:`Match` in order."""

    def __init__(self, flt: TrailFilter | None) -> None:
        self.flt = flt if flt is not None and not flt.is_empty else None
        branches = self.flt.branches if self.flt is not None else ((),)
        self.light = all(t.key in LIGHT_KEYS for b in branches for t in b)
        checks = [_checks_for(b) for b in branches]
        # A branch nothing can be checked for can match any record: then every record is one.
        self.checks: list[list[_Check]] | None = checks if all(checks) else None
        # Every term of every branch asked of its value: a record that passes them is a match,
        # and only its key and time are still needed.
        self.decided = self.checks is not None and all(
            len(c) == len(b) and not any(x.literal for x in c)
            for c, b in zip(checks, branches, strict=True)
        )
        self._decoders = [_decoder(c) for c in checks] if self.checks is not None else []
        self._answers: dict[Term, dict[str | None, bool]] = {}
        self._stamps: dict[str, float] = {}

    def _pick(self, decoded: list[list[Any]]) -> Sequence[int]:
        """Indexes of the records that can match, in order (``decoded``: each branch's records)."""
        assert self.checks is not None
        chosen: list[Sequence[int]] = []
        for checks, records in zip(self.checks, decoded, strict=True):
            index: Sequence[int] = range(len(records))
            for check in checks:
                keep = self._passes(check, records)
                index = list(compress(index, keep))
                records = list(compress(records, keep))
            chosen.append(index)
        return chosen[0] if len(chosen) == 1 else sorted(set().union(*chosen))

    def _passes(self, check: _Check, records: list[Any]) -> list[bool]:
        """Which records pass one check: each distinct value is asked once, and the loops over
        a million records are C's (``map``), not Python's."""
        if check.literal:
            literal = check.literal
            return [_raw_may_hold(raw, literal) for raw in map(attrgetter(check.field), records)]
        if check.nested:
            read = attrgetter(check.field)
            uis = map(attrgetter("userIdentity"), records)
            values = [None if ui is None else read(ui) for ui in uis]
        else:
            values = list(map(attrgetter(check.field), records))
        answers = self._answers.get(check.term)
        if answers is None or len(answers) >= _ANSWERS_LIMIT:  # addresses: one value a record
            answers = self._answers[check.term] = {}
        for value in set(values).difference(answers):
            answers[value] = _value_matches(check, value)
        return list(map(answers.__getitem__, values))

    def scan(self, data: bytes) -> FileScan | None:
        """Read one inflated delivery file; None when it must be read the ordinary way."""
        head = data[:64].lstrip()
        if not head.startswith(b"{") or b'"Records"' not in data[:4096]:
            return None
        with _no_gc():
            if self.checks is None:
                try:
                    every = _SPLIT.decode(data).Records
                except _DECODE_ERRORS:
                    return None
                count = len(every)
                picked: Sequence[int] = range(count)
                raws = [bytes(raw) for raw in every]
            else:
                decoded: list[list[Any]] = []
                for decoder in self._decoders:
                    try:
                        decoded.append(decoder.decode(data).Records)
                    except _DECODE_ERRORS:
                        return None
                count = len(decoded[0])
                picked = self._pick(decoded)
                found = self._raws(data, decoded[0], picked)
                if found is None:
                    return None
                raws = found
            if not count:
                return None  # the full parse says "Records list is empty"
        out = FileScan(scanned=count)
        if len(self._stamps) >= _ANSWERS_LIMIT:
            self._stamps.clear()
        for raw, index in zip(raws, picked, strict=True):
            self._one(raw, index, out)
        return out

    @staticmethod
    def _raws(data: bytes, records: list[Any], picked: Sequence[int]) -> list[bytes] | None:
        """The bytes of the picked records: placed by the check pass when it can say where
        they are (:func:`_spans`), else by splitting the file (None: it does not split)."""
        found = _spans(data, records, picked)
        if found is not None:
            return found
        try:
            every = _SPLIT.decode(data).Records
        except _DECODE_ERRORS:
            return None
        return [bytes(every[index]) for index in picked]

    def _one(self, raw: bytes, index: int, out: FileScan) -> None:
        if self.decided:
            try:
                found = event_key_of(_KEY.decode(raw), self._stamps)
            except _DECODE_ERRORS:
                found = None
            if found is not None:
                out.raws.append(raw)
                out.keys.append(found[0])
                out.stamps.append(found[1])
                out.safe.append(_verbatim(raw))
                return
        event: TrailEvent | LightEvent | None = None
        if self.light:
            try:
                event = light_event(_TOP.decode(raw))
            except _DECODE_ERRORS:
                event = None
        if event is None:
            try:
                event = parse_event(raw)
            except EventParseError as exc:
                out.scanned -= 1
                out.bad += 1
                if len(out.notes) < 3:
                    out.notes.append(f"record {index}: {exc.reason}")
                return
        if self.flt is not None and not self.flt.matches(event):  # type: ignore[arg-type]
            return
        out.raws.append(raw)
        out.keys.append(event.key)
        out.stamps.append(event.event_time.timestamp())
        out.safe.append(_verbatim(raw))


def delivery_text(name: str, data: bytes) -> bytes | None:
    """The text of a file or object the fast route may read (plain, or gzip inflated); None
    for what only the ordinary read handles (zip, digest, bad gzip, .gz that is not gzip), which
    then says what it is."""
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06") or "CloudTrail-Digest" in name:
        return None
    if data[:2] == b"\x1f\x8b":
        try:
            return gunzip(data)
        except EventParseError:
            return None
        except GZIP_ERRORS:
            return None
    return None if name.endswith(".gz") else data
