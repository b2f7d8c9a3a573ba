"""Selecting CloudTrail events, and doing it for a filter without building every event.

:class:`Selector` is the one selection every CloudTrail reader shares: the window, the folding
of delivery duplicates, the filter. :class:`DeliveryScan` applies the same selection to an S3
delivery file (``{"Records": [...]}``) for ``hamari trail`` over files, where building a full
:class:`~tui.models.cloudtrail.TrailEvent` for each of a million events costs ~50 us apiece
(``zcat | jq`` is faster than that). Instead:

1. msgspec splits the file into the raw bytes of each record (validating the JSON) and, in one
   more pass, decodes for every record only the field a filter term reads (``errorCode`` for
   ``error:AccessDenied*``). The term's own predicate, asked once per distinct value, picks the
   records that can match.
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

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import msgspec

from tui.models.cloudtrail import (
    EventParseError,
    LightEvent,
    TrailEvent,
    light_event,
    parse_event,
)
from tui.models.writers import ndjson_line

if TYPE_CHECKING:
    from tui.models.timewindow import TimeWindow
    from tui.models.trailfilter import Term, TrailFilter

__all__ = ["DeliveryScan", "FileScan", "Match", "Selector", "in_window"]


def in_window(when: datetime, start: datetime | None, end: datetime | None) -> bool:
    """True when ``when`` lies in [start, end] (an open side is None)."""
    return (start is None or when >= start) and (end is None or when <= end)


class Selector:
    """Window + filter + folding of delivery duplicates, shared by one stream.

    An event is a copy of another when their :attr:`~tui.models.cloudtrail.TrailEvent.key`
    (eventID, name, time, source) is equal; the eventID alone is not enough, as files reuse it
    for different calls. ``seen`` holds the keys known before the stream (updated in place):
    meeting one again is a re-read, not a duplicate, and only copies met within the stream are
    counted in ``last_folded`` (per :meth:`take`) and ``folded`` (in all).
    """

    def __init__(
        self,
        window: TimeWindow | None,
        flt: TrailFilter | None,
        seen: set[str] | None = None,
    ) -> None:
        self.start = window.start if window is not None else None
        self.end = window.end if window is not None else None
        self.flt = flt if flt is not None and not flt.is_empty else None
        self.seen: set[str] = seen if seen is not None else set()
        self._mine: set[str] = set()
        self.folded = 0
        self.last_folded = 0

    def admit(self, key: str, when: datetime) -> bool:
        """True for an event inside the window not met before; counts a copy met again."""
        if not in_window(when, self.start, self.end):
            return False
        if key in self.seen:
            if key in self._mine:
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
    | {"source", "readonly"}
)
"""Filter keys whose terms read only :class:`~tui.models.cloudtrail.LightEvent` fields."""

# key -> (JSON field, under userIdentity?, the attribute the term's predicate reads). A term on
# one of these reads one field, so its predicate can be asked once per distinct value.
_PROBES: Final[dict[str, tuple[str, bool, str]]] = {
    "error": ("errorCode", False, "error_code"),
    "name": ("eventName", False, "event_name"),
    "region": ("awsRegion", False, "aws_region"),
    "source": ("eventSource", False, "event_source"),
    "agent": ("userAgent", False, "user_agent"),
    "invokedby": ("invokedBy", True, "invoked_by"),
    "type": ("type", True, "identity_type"),
    "accesskey": ("accessKeyId", True, "access_key_id"),
}
# error:any / error:none ask about errorCode *or* errorMessage: not one field.
_ERROR_WORDS: Final = frozenset({"any", "*", "yes", "true", "none", "no", "false"})


class _Top(msgspec.Struct, gc=False):
    """The fields a LightEvent is built from; ``get`` lets the model's helpers read it as they
    read a dict. Any JSON type is accepted here (the helpers coerce as the full parse does)."""

    eventID: Any = None
    eventTime: Any = None
    eventName: Any = None
    eventSource: Any = None
    awsRegion: Any = None
    userAgent: Any = None
    errorCode: Any = None
    errorMessage: Any = None
    readOnly: Any = None
    recipientAccountId: Any = None
    userIdentity: Any = None

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name, default)


class _Delivery(msgspec.Struct, gc=False):
    Records: list[msgspec.Raw]


_SPLIT: Final = msgspec.json.Decoder(_Delivery)
_TOP: Final = msgspec.json.Decoder(_Top)
_DECODE_ERRORS: Final = (msgspec.DecodeError, msgspec.ValidationError)


class _One:
    """A stand-in event with one attribute, to ask a term's predicate about one value."""

    __slots__ = tuple(spec[2] for spec in _PROBES.values())


@dataclass(frozen=True, slots=True)
class _Probe:
    """For one branch of the filter: the field to decode and which of its values can match."""

    field: str
    nested: bool
    attr: str
    term: Term


def _probe_for(branch: Sequence[Term]) -> _Probe | None:
    for term in branch:
        spec = _PROBES.get(term.key)
        if spec is None or (term.key == "error" and term.value.lower() in _ERROR_WORDS):
            continue
        return _Probe(spec[0], spec[1], spec[2], term)
    return None


def _value_matches(probe: _Probe, value: str | None) -> bool:
    one = _One()
    setattr(one, probe.attr, "" if value is None else value)
    return bool(probe.term.predicate(one))


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
    """One record the filter keeps: its bytes as delivered, its duplicate key and time (for the
    selector), and the whole event once something needed it (csv and table rows)."""

    raw: bytes
    key: str = ""
    when: datetime | None = None
    event: TrailEvent | None = None

    def line(self) -> str:
        """The event as one NDJSON line: as delivered when that is plain ASCII on one line
        (nothing a terminal acts on), else through the writer every other export uses."""
        raw = self.raw
        if raw and raw.isascii() and not any(c in raw for c in (b"\x7f", b"\n", b"\r")):
            return raw.decode("ascii")
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
    bad: int = 0
    notes: list[str] = field(default_factory=list)

    def matches(self) -> Iterator[Match]:
        """The kept records as :class:`Match` objects, in file order."""
        for raw, key, stamp in zip(self.raws, self.keys, self.stamps, strict=True):
            yield Match(raw, key, datetime.fromtimestamp(stamp, UTC))


class DeliveryScan:
    """The fast route over delivery files for one filter. It keeps no state between files
    (but caches), so files can be scanned in worker processes; the window and the folding of
    duplicates are the caller's :class:`Selector`, applied to each :class:`Match` in order."""

    def __init__(self, flt: TrailFilter | None) -> None:
        self.flt = flt if flt is not None and not flt.is_empty else None
        branches = self.flt.branches if self.flt is not None else ((),)
        self.light = all(t.key in LIGHT_KEYS for b in branches for t in b)
        probes = [_probe_for(b) for b in branches]
        self.probes: list[_Probe] | None = None
        if probes and all(p is not None for p in probes):
            self.probes = [p for p in probes if p is not None]
        self._decoders: dict[tuple[str, bool], msgspec.json.Decoder[Any]] = {}
        self._answers: dict[tuple[int, str | None], bool] = {}

    def _decoder(self, probe: _Probe) -> msgspec.json.Decoder[Any]:
        key = (probe.field, probe.nested)
        dec = self._decoders.get(key)
        if dec is None:
            # The field typed str | None: another JSON type there sends the file to the full
            # parse, which coerces it (a number, an object) exactly as the pane would.
            # eventTime is required: a record without it is a bad record, which only the full
            # parse counts and names.
            leaf = msgspec.defstruct("Leaf", [(probe.field, str | None, None)], gc=False)
            fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [("eventTime", Any)]
            if probe.nested:
                fields.append(("userIdentity", leaf | None, None))
            else:
                fields.append((probe.field, str | None, None))
            outer = msgspec.defstruct("Rec", fields, gc=False)
            dec = msgspec.json.Decoder(msgspec.defstruct("Doc", [("Records", list[outer])]))
            self._decoders[key] = dec
        return dec

    def _candidates(self, data: bytes, count: int) -> Sequence[int] | None:
        """Indexes of the records that can match, in order; None when not readable so."""
        if self.probes is None:
            return range(count)
        chosen: set[int] = set()
        for n, probe in enumerate(self.probes):
            try:
                records = self._decoder(probe).decode(data).Records
            except _DECODE_ERRORS:
                return None
            answers = self._answers
            name = probe.field
            for i, rec in enumerate(records):
                if probe.nested:
                    ui = rec.userIdentity
                    value = None if ui is None else getattr(ui, name)
                else:
                    value = getattr(rec, name)
                ok = answers.get((n, value))
                if ok is None:
                    ok = answers[(n, value)] = _value_matches(probe, value)
                if ok:
                    chosen.add(i)
        return sorted(chosen)

    def scan(self, data: bytes) -> FileScan | None:
        """Read one inflated delivery file; None when it must be read the ordinary way."""
        head = data[:64].lstrip()
        if not head.startswith(b"{") or b'"Records"' not in data[:4096]:
            return None
        with _no_gc():
            try:
                raws = _SPLIT.decode(data).Records
            except _DECODE_ERRORS:
                return None
            if not raws:
                return None  # the full parse says "Records list is empty"
            picked = self._candidates(data, len(raws))
            if picked is None:
                return None
        out = FileScan(scanned=len(raws))
        for index in picked:
            self._one(bytes(raws[index]), index, out)
        return out

    def _one(self, raw: bytes, index: int, out: FileScan) -> None:
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
