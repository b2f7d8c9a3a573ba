"""A DuckDB-backed store for loaded CloudTrail events: a day of an org trail on one bastion.

A :class:`~tui.models.cloudtrail.TrailEvent` costs about 3 KB in memory (the raw dict, the
search text, the fields), so a million events do not fit a 1–2 GB bastion. Past a threshold the
trail pane hands every loaded event to this store instead, the same design as the flow side's
:class:`~tui.models.flowengine.FlowEngine`: an embedded DuckDB database in a private temp folder
(removed on close and at exit), a memory limit above which DuckDB spills to that folder, the key
fields as columns, and the raw event kept compressed (isal/zlib), parsed back into an event
on demand (the raw of every event parses back to the same event, see
:func:`~tui.models.cloudtrail.parse_event`).

The filter is not re-implemented: each term compiles to DuckDB SQL over the columns through the
shared compiler of :mod:`tui.models.trailsql` (the Lake one), exactly where the SQL selects what
:meth:`TrailFilter.matches` selects, widened (a superset) where it cannot. One rule keeps that
honest: SQL is trusted only on *plain* rows (every matched field printable ASCII, where DuckDB's
``lower`` and ``LIKE`` agree with Python's); other rows, and every candidate of a widened filter,
are parsed and finished by the Python filter, the authority on what a filter means.

Free text is the costly term (a substring of every event's search text). The store keeps the
search text's distinct lines, split by kind into columns: lines equal to a call field or a
principal field repeat from row to row, so DuckDB stores them as dictionaries and checks each
distinct value once; lines of ID characters (hex, ``.:-``) are only read for a needle made of
those characters; and a row's other lines are only read when they hold every character of the
needle (one BIGINT of bits). What is read row by row is what varies and could match.

Rows go in through DuckDB's own appender (no pyarrow: 170 MB of a bastion install for one
insert path): copies of stored events are found first by one keyed lookup over the batch's time
span, and only new rows are appended, in one statement a batch. A big local load goes around
Python altogether: worker processes write each file's rows to a DuckDB file of their own
(:func:`write_chunk`) and :meth:`TrailStore.add_chunk` inserts them with one statement that
folds copies, while the app's process holds no event (a million took +700 MB there).

The findings hold the store's failed calls and starts as events built from the columns
(:meth:`TrailStore.slim`), and count every call per time bucket (:meth:`TrailStore.bucket_counts`).

No UI here; DuckDB is imported when a store is created.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import pickle
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, Final, overload

from tui.models.cloudtrail import TrailEvent, _ip_chain, _short_source, event_key, parse_event
from tui.models.scratch import checkpoint_bytes, disk_full, make_dir, short_of_room
from tui.models.trailfilter import Term, TrailFilter, _tail
from tui.models.trailsql import _GLOB, _SUFFIX, _TRUE_WORDS, _compile, _sql_match, _sql_str

try:  # python-isal compresses several times faster than zlib at the same ratio
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover - isal is a declared dependency
    import zlib as _zlib  # type: ignore[no-redef]

__all__ = ["STORE_ABOVE", "STORE_MEMORY", "StoreChunk", "TrailStore", "filter_sql", "write_chunk"]

STORE_ABOVE: Final = 50_000
"""Past this many loaded events, a pane keeps them in a :class:`TrailStore`."""
STORE_MEMORY: Final = "64MB"
"""DuckDB's memory limit for a trail store. Its buffer pool keeps column pages cached up to
this, and that stays in the app's RSS: with 128 MB, 1M loaded events held ~80 MB more after
a few re-filters, which ran no faster (measured on this data: 57-114 ms at either limit)."""

_TABLE: Final = "trail"
# What inserting one event may write: its row in the write-ahead log, then in the database
# (~800 B stored; at 1,000 a 50,000-event flush filled a 400 MB disk and DuckDB gave up the store).
_BYTES_PER_EVENT: Final = 2_000
_FLUSH: Final = 5_000  # events buffered before one insert (a small peak; one join a flush)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)
# Python's str.strip() whitespace within ASCII (DuckDB's trim() strips spaces only).
_WS: Final = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(28) || chr(29) || chr(30) || chr(31)"

_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("seq", "BIGINT"),
    ("ts", "BIGINT"),  # event time, microseconds since the epoch (exact order, as the pane sorts)
    ("key", "VARCHAR"),  # TrailEvent.key: what identifies one delivery of one event
    ("event_id", "VARCHAR"),
    ("event_name", "VARCHAR"),
    ("event_source", "VARCHAR"),
    ("aws_region", "VARCHAR"),
    ("principal", "VARCHAR"),
    ("principal_arn", "VARCHAR"),
    ("identity_type", "VARCHAR"),
    ("invoked_by", "VARCHAR"),
    ("source_ip", "VARCHAR"),
    ("user_agent", "VARCHAR"),
    ("error_code", "VARCHAR"),
    ("error_message", "VARCHAR"),
    ("account_id", "VARCHAR"),
    ("access_key_id", "VARCHAR"),
    ("request_id", "VARCHAR"),
    ("shared_event_id", "VARCHAR"),
    ("read_only", "BOOLEAN"),
    ("is_error", "BOOLEAN"),
    ("resources", "VARCHAR[]"),
    ("user_names", "VARCHAR[]"),
    ("ips4", "BIGINT[]"),  # every IPv4 address of source_ip (one, or a forwarded chain)
    # "\n" + each resource and its last segment, lower-cased: a ``resource:`` prefix is one
    # contains() over this, not a lambda and a regex over every list (0.5 s over 1M events)
    ("resource_keys", "VARCHAR"),
    # The search text's distinct lines, in four columns (see _text_columns): free text is one
    # contains() per column, and the costly scan is only of lines that vary row to row
    ("text_call", "VARCHAR"),
    ("text_who", "VARCHAR"),
    ("text_ids", "VARCHAR"),
    ("text_rest", "VARCHAR"),
    ("rest_chars", "BIGINT"),  # _chars() of text_rest: rows without a needle's characters
    # are skipped before their text is decompressed (not worth it for IDs: all hex is there)
    # The rest of a TrailEvent's fields, so that the findings' events are built from the
    # columns alone (TrailStore.slim), not parsed from the raw
    ("event_version", "VARCHAR"),
    ("event_type", "VARCHAR"),
    ("partial_reason", "VARCHAR"),
    ("plain", "BOOLEAN"),  # SQL's answer is Python's on this row (see the module docstring)
    ("raw", "BLOB"),  # zlib(JSON of the raw event)
)
_NAMES: Final = tuple(c for c, _ in _COLUMNS)
# What TrailStore.slim reads, in the order it builds a TrailEvent from.
_SLIM: Final = (
    "ts", "event_id", "event_name", "event_source", "aws_region", "principal", "principal_arn",
    "identity_type", "invoked_by", "source_ip", "user_agent", "error_code", "error_message",
    "read_only", "request_id", "shared_event_id", "resources", "event_version", "event_type",
    "account_id", "access_key_id", "user_names", "partial_reason",
)  # fmt: skip
_NO_RAW: Final[dict[str, Any]] = {}  # shared by every slim event
LEAN_BLANK: Final = ("source_ip", "user_agent", "request_id", "shared_event_id")
"""What a lean slim event leaves empty (with its address values): never read by the findings."""
_LEAN: Final = {
    **dict.fromkeys(LEAN_BLANK, "''"),
    "error_message": "CASE WHEN coalesce(error_code, '') <> '' THEN '' ELSE error_message END",
}
_PLAIN: Final = _NAMES.index("plain")


# ----------------------------------------------------------------------------- filter → SQL


def _text(column: str) -> str:
    return f"lower(coalesce({column}, ''))"


def _any(column: str, cond: Callable[[str], str]) -> str:
    """Some element ``x`` of list ``column`` satisfies ``cond(x)``."""
    return f"len(list_filter({column}, lambda x: {cond('x')})) > 0"


_SIMPLE: Final[dict[str, str]] = {
    "name": "event_name",
    "region": "aws_region",
    "id": "event_id",
    "invokedby": "invoked_by",
    "type": "identity_type",
    "account": "account_id",
    "accesskey": "access_key_id",
    "agent": "user_agent",
}


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The CIDR of an ``ip:`` term, as :mod:`tui.models.trailfilter` reads it (None: a glob)."""
    if value and (value[0].isdigit() or ":" in value) and not _GLOB.intersection(value):
        try:
            return ipaddress.ip_network(value, strict=False)
        except ValueError:
            return None
    return None


def _store_term(term: Term) -> tuple[str | None, bool]:
    """(condition over the store's columns, exact on plain rows); None: not pushed."""
    key, value = term.key, term.value
    if _clean(value) != value:
        return None, False  # a lone surrogate cannot be said in SQL: Python decides
    if key in _SIMPLE:
        return _sql_match(_text(_SIMPLE[key]), value)
    if key == "error":
        low = value.lower()
        if low in ("any", "*", "yes", "true"):
            return "is_error", True
        if low in ("none", "no", "false"):
            return "NOT is_error", True
        return _sql_match(_text("error_code"), value)
    if key == "source":
        # short(s) matches v  <=>  s ends with the suffix and s matches v + suffix
        full, exact = _sql_match(_text("event_source"), value)
        short, _ = _sql_match(_text("event_source"), value + _SUFFIX)
        return f"({full} OR {short})", exact
    if key == "readonly":
        return f"read_only IS {'true' if value.lower() in _TRUE_WORDS else 'false'}", True
    if key == "ip":
        net = _network(value)
        if net is None:
            whole, exact = _sql_match(_text("source_ip"), value)
            part = _any(
                "string_split(source_ip, ',')",
                lambda x: _sql_match(f"lower(trim({x}, {_WS}))", value)[0],
            )
            return f"({whole} OR (contains(source_ip, ',') AND {part}))", exact
        if net.version != 4:
            return None, False  # IPv6: Python decides
        base, mask = int(net.network_address), int(net.netmask)
        return _any("ips4", lambda x: f"({x} & {mask}) = {base}"), True
    if key == "user":
        if not _GLOB.intersection(value):  # names are stored lower-cased
            return f"list_contains(user_names, {_sql_str(value.lower())})", True
        return _any("user_names", lambda x: _sql_match(f"lower({x})", value)[0]), (
            _sql_match("x", value)[1]
        )
    if key == "resource":
        low = value.lower()
        tail = "regexp_extract({x}, '[^/:]*$')"
        if _GLOB.intersection(low):
            exact = _sql_match("x", low)[1]
            return _any(
                "resources",
                lambda x: (
                    f"({_sql_match(f'lower({x})', low)[0]} OR "
                    f"{_sql_match('lower(' + tail.format(x=x) + ')', low)[0]})"
                ),
            ), exact
        if "\n" not in low:  # the keys of plain rows are printable: "\n" starts each one
            return f"contains(resource_keys, {_sql_str(chr(10) + low)})", True
        lit = _sql_str(low)
        found = _any(
            "resources",
            lambda x: (
                f"(starts_with(lower({x}), {lit}) OR starts_with(lower({tail.format(x=x)}), {lit}))"
            ),
        )
        return found, True
    if key == "text":
        return _text_sql(value.lower())
    return None, False


def _text_sql(needle: str) -> tuple[str, bool]:
    """``needle in event.search_text`` over the text columns.

    A needle without a line break lies within one line of the search text, so it is in the
    text exactly when it is in one of the columns. ``text_rest`` is searched only in rows
    whose lines hold every character of the needle (:func:`_chars`), ``text_ids`` only for a
    needle of ID characters. A needle with line breaks is widened to "every piece of it is
    somewhere" and Python finishes.
    """
    pieces = [p for p in needle.split("\n") if p]
    if not pieces:
        return "TRUE", False
    conds = []
    for piece in pieces:
        lit, bits = _sql_str(piece), _chars(piece)
        found = [f"contains(text_call, {lit})", f"contains(text_who, {lit})"]
        if _is_id(piece):
            found.append(f"contains(text_ids, {lit})")
        found.append(f"((rest_chars & {bits}) = {bits} AND contains(text_rest, {lit}))")
        conds.append("(" + " OR ".join(found) + ")")
    return " AND ".join(conds), "\n" not in needle


def filter_sql(flt: TrailFilter) -> tuple[str | None, bool]:
    """The store's condition for ``flt`` (None: every event) and whether it is exact on plain
    rows; when it is not, it selects a superset and Python finishes."""
    cond, exact, _ = _compile(flt, _store_term, " AND ", " OR ", "NOT ")
    return cond, exact


# ----------------------------------------------------------------------------- rows


def _plain(event: TrailEvent) -> bool:
    """Every field SQL matches is printable ASCII (DuckDB and Python then agree)."""
    text = " ".join(
        (
            event.event_name,
            event.event_source,
            event.aws_region,
            event.event_id,
            event.invoked_by,
            event.identity_type,
            event.account_id,
            event.access_key_id,
            event.user_agent,
            event.error_code,
            event.source_ip,
            event.event_version,
            event.event_type,
            event.partial_reason,
            *event.resources,
            *event.user_names,
        )
    )
    return text.isascii() and text.isprintable()


def _ips4(event: TrailEvent) -> list[int]:
    if event.ip_chain:
        return [ip for ip, version in event.ip_chain if version == 4]
    return [event.ip_value] if event.ip_version == 4 else []


def _clean(text: str) -> str:
    """``text`` as valid UTF-8 (a lone surrogate from a JSON escape becomes U+FFFD)."""
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


# The string columns _plain does not check (it checks what SQL matches).
_REST: Final = attrgetter(
    "principal", "principal_arn", "error_message", "request_id", "shared_event_id"
)

# One bit each (a line's characters as a BIGINT); every other character shares _OTHER.
_BIT: Final = {
    c: 1 << i for i, c in enumerate("abcdefghijklmnopqrstuvwxyz0123456789-.:/_ @=,+*()[]{}'\"%")
}
_OTHER: Final = 1 << 62


def _chars(text: str) -> int:
    """The characters of ``text`` as bits: a needle is only in text that has all of its bits."""
    bits = 0
    for char in set(text):
        bits |= _BIT.get(char, _OTHER)
    return bits


# Lines from fields that repeat row to row: stored dictionary-compressed, DuckDB checks each
# distinct value once. Two groups, so that many principals do not spoil the calls' dictionary.
_CALL: Final = attrgetter(
    "event_name",
    "event_source",
    "aws_region",
    "account_id",
    "identity_type",
    "invoked_by",
    "error_code",
)
_WHO: Final = attrgetter("principal", "principal_arn", "user_agent", "error_message")
# Event and request IDs, addresses, account numbers: a line of these characters alone.
_IS_ID: Final = re.compile(r"[0-9a-f.:\-]*").fullmatch


def _is_id(text: str) -> bool:
    """Only ID characters (hex digits, ``.:-``): could be part of a line of ``text_ids``."""
    return _IS_ID(text) is not None


def _text_columns(event: TrailEvent, search: str) -> tuple[str, str, str, str, int]:
    """The distinct lines of ``search`` (the event's search text), split by kind: lines equal to
    a call field, to a principal field, made of ID characters, and the rest; then the
    characters of the rest (:func:`_chars`).

    Every line lands in exactly one column, so a needle without a line break is in ``search``
    exactly when it is in one of them (the split only decides what a query can skip). Fields
    come in a fixed order, so that equal events give equal strings (one dictionary entry).
    """
    lines = dict.fromkeys(search.split("\n"))
    lines.pop("", None)
    call = [v for v in dict.fromkeys(map(str.lower, _CALL(event))) if v in lines]
    for line in call:
        del lines[line]
    who = [v for v in dict.fromkeys(map(str.lower, _WHO(event))) if v in lines]
    for line in who:
        del lines[line]
    ids: list[str] = []
    rest: list[str] = []
    for line in lines:
        (ids if _IS_ID(line) else rest).append(line)
    rest_text = "\n".join(rest)
    return "\n".join(call), "\n".join(who), "\n".join(ids), rest_text, _chars(rest_text)


def _row(event: TrailEvent, seq: int, key: str) -> tuple[Any, ...]:
    """Every column of one event, as the appender takes it (strings made valid UTF-8 on odd
    rows: the appender, like DuckDB, refuses a lone surrogate)."""
    plain = _plain(event)
    if plain:  # every other string column valid too (a slim event is built from them)
        rest = _REST(event)
        plain = all(t.isascii() or _clean(t) == t for t in rest)
    search = event.search_text
    clean: Callable[[str], str] = (lambda t: t) if plain else _clean
    if not search.isascii():
        cleaned = _clean(search)
        plain = plain and cleaned == search
        search = cleaned
    return (
        seq,
        (event.event_time - _EPOCH) // _US,
        key,
        *(clean(getattr(event, name)) for name in _NAMES[3:19]),
        event.read_only,
        event.is_error,
        [clean(r) for r in event.resources],
        [clean(n) for n in event.user_names],
        _ips4(event),
        "".join(f"\n{r}\n{_tail(r)}" for r in (clean(r).lower() for r in event.resources)),
        *_text_columns(event, search),
        _clean(event.event_version),
        _clean(event.event_type),
        _clean(event.partial_reason),
        plain,
        _pack(event),
    )


def _pack(event: TrailEvent) -> bytes:
    """The raw event, compressed. Pickled, not JSON: half the cost at load, and the blob is
    only ever read back from this process's own private (0700) folder."""
    return bytes(_zlib.compress(pickle.dumps(event.raw, 5), 1))


def _unpack(blob: bytes) -> TrailEvent:
    """The event again, parsed from its raw (every raw parses back to the same event)."""
    return parse_event(pickle.loads(_zlib.decompress(blob)))


@dataclass(frozen=True, slots=True)
class StoreChunk:
    """Rows a worker process wrote to a DuckDB file of its own (:func:`write_chunk`), for
    :meth:`TrailStore.add_chunk`: the app then never holds the events, and DuckDB inserts them
    without the GIL.

    Attributes:
        path: the chunk's database file (the store removes it once inserted).
        rows: rows in it (copies within it already folded, counted in ``folded``).
        lo: the oldest row's time, microseconds since the epoch.
        hi: the newest row's.
        accounts: the accounts of its events.
        folded: copies of an event within the chunk's events, left out.
    """

    path: str
    rows: int
    lo: int
    hi: int
    accounts: frozenset[str]
    folded: int = 0


def write_chunk(path: str, events: Iterable[TrailEvent]) -> StoreChunk | None:
    """(Worker process) the events as store rows in a new DuckDB file at ``path``; copies of an
    event among them are folded (the first kept). None when there is no event."""
    unique: dict[str, TrailEvent] = {}
    folded = 0
    for event in events:
        key = _clean(event.key)
        if key in unique:
            folded += 1
        else:
            unique[key] = event
    if not unique:
        return None
    import duckdb

    rows = [_row(event, seq, key) for seq, (key, event) in enumerate(unique.items())]
    con = duckdb.connect(path, config={"threads": 1})
    try:
        con.execute(f"CREATE TABLE {_TABLE} ({', '.join(f'{n} {t}' for n, t in _COLUMNS)})")
        appender = con.appender(_TABLE)
        appender.append_rows(rows)
        appender.flush()
    finally:
        con.close()
    stamps = [r[1] for r in rows]
    accounts = frozenset(e.account_id for e in unique.values() if e.account_id)
    return StoreChunk(path, len(rows), min(stamps), max(stamps), accounts, folded)


class StoredView(Sequence[TrailEvent]):
    """Stored events as a sequence: keys at once, each event parsed from its blob when first
    read. It holds the compressed blobs itself, so it outlives the store (a pane may still
    draw it while a new window's store replaces the old)."""

    def __init__(self, keys: list[str], blobs: list[bytes]) -> None:
        self.keys = keys
        self._blobs = blobs
        self._events: dict[int, TrailEvent] = {}

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, index: int) -> TrailEvent: ...

    @overload
    def __getitem__(self, index: slice) -> list[TrailEvent]: ...

    def __getitem__(self, index: int | slice) -> TrailEvent | list[TrailEvent]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self.keys)
        event = self._events.get(index)
        if event is None:
            event = self._events[index] = _unpack(self._blobs[index])
        return event


def _leaner(event: TrailEvent) -> TrailEvent:
    """``event`` as a lean slim event (:meth:`TrailStore.slim`)."""
    return replace(
        event,
        raw=_NO_RAW,
        search_text="",
        error_message="" if event.error_code else event.error_message,
        ip_value=-1,
        ip_version=0,
        ip_chain=(),
        source_ip="",
        user_agent="",
        request_id="",
        shared_event_id="",
    )  # LEAN_BLANK


class TrailStore:
    """Loaded CloudTrail events in DuckDB, with a memory limit.

    Thread-safe: a pane adds from its loader and queries from a filter thread; one lock
    serialises the connection (DuckDB runs each query on its own threads).

    Attributes:
        duplicates: copies of an already stored event that :meth:`add` dropped (counted).
        odd: stored rows that are not plain (always finished in Python).
        unstored: events read but never stored: their insert failed (counted, never silent).
        full: the disk-full error that stopped inserting; every later add raises it again.
        fallback: why the last query ran (partly) in Python, or None.
    """

    def __init__(
        self,
        memory_limit: str = STORE_MEMORY,
        temp_directory: str | os.PathLike[str] | None = None,
        *,
        threads: int | None = None,
    ) -> None:
        import duckdb

        self._dir = (
            make_dir("hamari-trail-")
            if temp_directory is None
            else tempfile.mkdtemp(prefix="hamari-trail-", dir=temp_directory)
        )
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, ignore_errors=True)
        config: dict[str, Any] = {
            "memory_limit": memory_limit,
            "temp_directory": os.path.join(self._dir, "spill"),
            "preserve_insertion_order": False,
        }
        if threads:
            config["threads"] = threads
        self.con = duckdb.connect(os.path.join(self._dir, "trail.duckdb"), config=config)
        self.con.execute("SET enable_progress_bar = false")
        columns = ", ".join(f"{name} {typ}" for name, typ in _COLUMNS)
        self.con.execute(f"CREATE TABLE {_TABLE} ({columns})")
        self._appender = self.con.appender(_TABLE)
        self._lock = threading.RLock()
        self._pending: dict[str, TrailEvent] = {}
        self._pending_lock = threading.Lock()
        self._inflight = 0
        self._rows = 0
        self._seq = 0
        self.duplicates = 0
        self.odd = 0
        self.unstored = 0
        self.full: OSError | None = None
        self.fallback: str | None = None
        self.span: tuple[datetime, datetime] | None = None
        self.accounts: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close DuckDB and remove the store and spill files."""
        with self._lock:
            try:
                self.con.close()
            finally:
                self._cleanup()

    def __enter__(self) -> TrailStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def buffered(self) -> int:
        """Events added but not inserted yet (:meth:`flush` inserts them)."""
        return len(self._pending)

    def __len__(self) -> int:
        """Stored events, buffered ones included (copies excluded)."""
        return self._rows + self._inflight + len(self._pending)

    # -- loading -----------------------------------------------------------------------------

    def add(self, events: Iterable[TrailEvent], *, flush: bool = True) -> int:
        """Buffer events (inserted in batches); returns how many were new to the buffer.

        ``flush=False`` leaves the insert to the next query or :meth:`flush` (a UI thread
        buffers, a worker inserts).

        Copies of a stored event (same :attr:`TrailEvent.key`) are dropped and counted in
        :attr:`duplicates` when the batch is inserted.
        """
        if self.full is not None:
            raise self.full
        added = 0
        with self._pending_lock:  # never waits for an insert or a query
            pending = self._pending
            for event in events:
                if event.key in pending:
                    self.duplicates += 1
                    continue
                pending[event.key] = event
                added += 1
                if event.account_id:
                    self.accounts.add(event.account_id)
            full = flush and len(pending) >= _FLUSH
        if full:
            self.flush()
        return added

    def flush(self) -> None:
        """Insert the buffered events, leaving out copies of stored ones."""
        with self._lock:
            with self._pending_lock:
                if not self._pending:
                    return
                events = list(self._pending.values())
                self._pending = {}
                self._inflight = len(events)
            try:
                self._room_for(len(events) * _BYTES_PER_EVENT)
                self._insert(events)
            except Exception as exc:
                self._failed(exc, len(events))
                raise
            finally:
                self._inflight = 0

    def stop(self, exc: OSError) -> None:
        """A load stopped for want of room (before the store failed): refuse every later add."""
        if self.full is None:
            self.full = exc

    def _checkpoint(self) -> int:
        return checkpoint_bytes(os.path.join(self._dir, "trail.duckdb"), self._rows)

    def _room_for(self, needed: int) -> None:
        """Stop, before writing, when the disk would be left with too little (see
        :func:`~tui.models.scratch.short_of_room`); the caller counts what it did not store."""
        why = short_of_room(os.path.dirname(self._dir), needed + self._checkpoint())
        if why is not None:
            self.full = OSError(errno.ENOSPC, why)
            raise self.full

    def _failed(self, exc: Exception, events: int) -> None:
        """An insert failed: its events are counted as not stored; a full disk stops adding."""
        self.unstored += events
        if disk_full(exc) and self.full is None:
            self.full = OSError(errno.ENOSPC, f"the store folder is full: {exc}")

    def _insert(self, events: list[TrailEvent]) -> None:
        lo = min(e.event_time for e in events)
        hi = max(e.event_time for e in events)
        self.span = (
            (lo, hi) if self.span is None else (min(lo, self.span[0]), max(hi, self.span[1]))
        )
        keys = [_clean(e.key) for e in events]
        # Copies of stored events: only rows in the batch's time span can be copies.
        stored = {
            k
            for (k,) in self.con.execute(
                f"SELECT key FROM {_TABLE} WHERE ts BETWEEN ? AND ? "
                "AND key IN (SELECT unnest(?::VARCHAR[]))",
                [(lo - _EPOCH) // _US, (hi - _EPOCH) // _US, keys],
            ).fetchall()
        }
        seq = self._seq
        rows = []
        for event, key in zip(events, keys, strict=True):
            if key in stored:
                self.duplicates += 1
                continue
            rows.append(_row(event, seq, key))
            seq += 1
        if not rows:
            return
        appender = self._appender
        try:
            appender.append_rows(rows)
            appender.flush()  # one statement: every row of the batch, or none
        except BaseException:
            appender.clear()
            raise
        self._seq = seq
        self._rows += len(rows)
        self.odd += sum(1 for r in rows if not r[_PLAIN])

    def add_chunk(self, chunk: StoreChunk) -> int:
        """Insert a worker's chunk (:func:`write_chunk`), leaving out copies of stored events;
        returns how many rows were new. DuckDB reads the file itself (no row passes through
        Python), and the file is removed."""
        if self.full is not None:
            raise self.full
        with self._lock:
            self.flush()  # buffered events first: copies are folded against them too
            try:  # the insert writes about what the chunk's file holds, and a log of it
                self._room_for(2 * os.path.getsize(chunk.path))
            except OSError:
                self.unstored += chunk.rows
                with contextlib.suppress(OSError):
                    os.unlink(chunk.path)
                raise
            base = self._seq
            names = ", ".join(_NAMES[1:])
            try:
                self.con.execute(f"ATTACH {_sql_str(chunk.path)} AS chunk (READ_ONLY)")
                try:
                    inserted = self.con.execute(
                        # Only stored rows in the chunk's time span can be copies: that scan
                        # is pruned by the ts zone maps (a correlated NOT EXISTS read them all).
                        f"WITH old AS (SELECT key FROM {_TABLE} WHERE ts BETWEEN {chunk.lo}"
                        f" AND {chunk.hi}) INSERT INTO {_TABLE} SELECT {base} - 1 +"
                        f" row_number() OVER (ORDER BY seq), {names} FROM chunk.{_TABLE} AS n"
                        " ANTI JOIN old USING (key)"
                    ).fetchone()
                    added = int(inserted[0]) if inserted else 0
                    odd = self.con.execute(
                        f"SELECT count(*) FROM {_TABLE} WHERE seq >= {base} AND NOT plain"
                    ).fetchone()
                except Exception as exc:
                    self._failed(exc, chunk.rows)
                    raise
                finally:
                    self.con.execute("DETACH chunk")
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(chunk.path)
            self._seq = base + added
            self._rows += added
            self.odd += int(odd[0]) if odd else 0
            self.duplicates += chunk.folded + chunk.rows - added
            self.accounts.update(chunk.accounts)
            lo, hi = _EPOCH + chunk.lo * _US, _EPOCH + chunk.hi * _US
            self.span = (
                (lo, hi) if self.span is None else (min(lo, self.span[0]), max(hi, self.span[1]))
            )
            return added

    # -- queries -----------------------------------------------------------------------------

    def _plan(self, flt: TrailFilter | None, errors_only: bool) -> tuple[str, str | None, bool]:
        """(SQL of the rows SQL accepts, SQL of the rows Python must finish, exact)."""
        cond, exact = filter_sql(flt) if flt is not None else (None, True)
        conds = [c for c in (cond, "is_error" if errors_only else None) if c is not None]
        where = " AND ".join(f"({c})" for c in conds) or "TRUE"
        if exact:
            self.fallback = None
            return f"plain AND {where}", ("NOT plain" if self.odd else None), True
        self.fallback = "part of the filter is finished in Python over the store's candidates"
        return "FALSE", f"({where}) OR NOT plain", False

    def _finish(
        self, flt: TrailFilter | None, errors_only: bool, keep: Callable[[TrailEvent], bool] | None
    ) -> Callable[[TrailEvent], bool]:
        def check(event: TrailEvent) -> bool:
            if flt is not None and not flt.matches(event):
                return False
            if errors_only and not event.is_error:
                return False
            return keep is None or keep(event)

        return check

    def count(
        self,
        flt: TrailFilter | None = None,
        *,
        errors_only: bool = False,
        keep: Callable[[TrailEvent], bool] | None = None,
    ) -> int:
        """Stored events matching the filter (all when None); ``keep`` is finished in Python."""
        if keep is not None:
            return sum(1 for _ in self.matching(flt, errors_only=errors_only, keep=keep))
        with self._lock:
            self.flush()
            sure, check, _ = self._plan(flt, errors_only)
            rows = self.con.execute(f"SELECT count(*) FROM {_TABLE} WHERE {sure}").fetchall()
            total = int(rows[0][0])
            if check is None:
                return total
            finish = self._finish(flt, errors_only, None)
            return total + sum(1 for e in self._events(f"WHERE {check}") if finish(e))

    def newest(
        self,
        flt: TrailFilter | None,
        limit: int,
        *,
        errors_only: bool = False,
        keep: Callable[[TrailEvent], bool] | None = None,
    ) -> Sequence[TrailEvent]:
        """The ``limit`` newest matching events, newest first (the pane's order).

        When SQL alone decides the filter, a :class:`StoredView`: the rows' keys and raw blobs
        are read now, each event is parsed when first asked for (a table draws ~30 of 10,000:
        parsing them all was ~300 ms of a re-filter over 1M events). Otherwise (rows Python
        must check, a focus) the events are parsed here, as they must be to be decided.
        """
        with self._lock:
            self.flush()
            sure, check, _exact = self._plan(flt, errors_only)
        if keep is None and check is None:
            return self._view(sure, limit)
        events = self.matching(
            flt, errors_only=errors_only, keep=keep, batch=min(limit, 4096), limit=limit
        )
        return list(self._take(events, limit))

    def _view(self, sure: str, limit: int) -> StoredView:
        """The newest ``limit`` rows matching ``sure`` (SQL that decides the filter alone)."""
        limit = max(0, int(limit))
        with self._lock:
            # The time of the limit-th newest first (a sort of integers alone), then the rows
            # from it on, sorted whole: sorting every match by (ts, key) took twice as long.
            cut = (
                self.con.execute(
                    f"SELECT ts FROM {_TABLE} WHERE {sure} ORDER BY ts DESC LIMIT 1 OFFSET {limit - 1}"
                ).fetchone()
                if limit
                else None
            )
            since = f" AND ts >= {int(cut[0])}" if cut is not None else ""
            rows = self.con.execute(
                f"SELECT key, raw FROM {_TABLE} WHERE ({sure}){since} "
                f"ORDER BY ts DESC, key DESC LIMIT {limit}"
            ).fetchall()
        return StoredView([str(r[0]) for r in rows], [bytes(r[1]) for r in rows])

    @staticmethod
    def _take(events: Iterator[TrailEvent], limit: int) -> Iterator[TrailEvent]:
        for i, event in enumerate(events):
            if i >= limit:
                return
            yield event

    def matching(
        self,
        flt: TrailFilter | None = None,
        *,
        errors_only: bool = False,
        keep: Callable[[TrailEvent], bool] | None = None,
        where: str | None = None,
        batch: int = 4096,
        limit: int | None = None,
    ) -> Iterator[TrailEvent]:
        """Every matching event, newest first, parsed batch by batch (export, findings).

        ``where`` is an extra SQL condition over the columns (a time span, request IDs).
        ``limit`` says that no more than that many will be read: the query then asks DuckDB for
        the top rows alone, when it can know how many it needs.
        """
        with self._lock:
            self.flush()
            sure, check, exact = self._plan(flt, errors_only)
            odd = self.odd
        extra = f" AND ({where})" if where else ""
        if keep is None and check is None:
            yield from self._events(f"WHERE {sure}{extra}", order=True, batch=batch, limit=limit)
            return
        finish = self._finish(flt, errors_only, keep)
        cond = sure if check is None else f"({sure}) OR ({check})"
        sql_decides = exact and keep is None
        checked = f"CASE WHEN {sure} THEN NULL ELSE TRUE END" if sql_decides else "TRUE"
        # Python turns down only odd rows then: the top limit + odd candidates hold the top limit.
        top = limit + odd if limit is not None and sql_decides else None
        for event, must in self._events(
            f"WHERE ({cond}){extra}", order=True, flag=checked, batch=batch, limit=top
        ):
            if not must or finish(event):
                yield event

    def slim(self, flt: TrailFilter, *, lean: bool = False) -> list[TrailEvent]:
        """Every matching event without its raw JSON or search text, newest first: what the
        findings hold (a day of an org trail has a failed call in ten; parsing those back from
        their raw took seconds of the GIL, and ~2 KB each).

        Plain rows are built from the columns (equal to the parsed event, every field but
        ``raw`` and ``search_text``), with repeated strings shared; odd rows, and any row the
        SQL cannot decide, are parsed from their raw and stripped.

        ``lean`` also leaves out what the findings and their evidence queries never read, all
        but unique to each event (:data:`LEAN_BLANK`; the error message when there is an error
        code): 1M events of a day held 157k for the findings, ~25 MB of those strings.
        """
        with self._lock:
            self.flush()
            sure, check, _exact = self._plan(flt, False)
            cur = self.con.cursor()
            columns = (_LEAN.get(c, c) if lean else c for c in _SLIM)
            cur.execute(f"SELECT {', '.join(columns)} FROM {_TABLE} WHERE {sure}")
        shared: dict[Any, Any] = {}
        one = shared.setdefault
        out: list[TrailEvent] = []
        try:
            while True:  # a batch at a time: 160k rows fetched whole peaked at +150 MB
                with self._lock:
                    rows = cur.fetchmany(8192)
                if not rows:
                    break
                out += self._slim_rows(rows, one)
        finally:
            cur.close()
        if check is not None:
            finish = self._finish(flt, False, None)
            out += [
                _leaner(e) if lean else replace(e, raw=_NO_RAW, search_text="")
                for e in self._events(f"WHERE {check}")
                if finish(e)
            ]
        # Ordered as matching() orders them, without keeping each key (130 bytes an event).
        out.sort(
            key=lambda e: (
                e.event_time,
                event_key(e.event_id, e.event_name, e.event_time, e.event_source),
            ),
            reverse=True,
        )
        return out

    @staticmethod
    def _slim_rows(rows: list[tuple[Any, ...]], one: Callable[[Any, Any], Any]) -> list[TrailEvent]:
        return [
            TrailEvent(
                event_id=r[1],
                event_time=_EPOCH + timedelta(microseconds=r[0]),
                event_name=one(r[2], r[2]),
                event_source=one(r[3], r[3]),
                source=one(("source", r[3]), _short_source(r[3])),
                aws_region=one(r[4], r[4]),
                principal=one(r[5], r[5]),
                principal_arn=one(r[6], r[6]),
                identity_type=one(r[7], r[7]),
                invoked_by=one(r[8], r[8]),
                source_ip=one(r[9], r[9]),
                user_agent=one(r[10], r[10]),
                error_code=one(r[11], r[11]),
                error_message=one(r[12], r[12]),
                read_only=r[13],
                request_id=r[14],
                shared_event_id=r[15],
                resources=tuple(one(x, x) for x in r[16]),
                event_version=one(r[17], r[17]),
                event_type=one(r[18], r[18]),
                account_id=one(r[19], r[19]),
                access_key_id=one(r[20], r[20]),
                user_names=one(("names", *r[21]), tuple(r[21])),
                partial_reason=one(r[22], r[22]),
                raw=_NO_RAW,
                ip_value=ip[0],
                ip_version=ip[1],
                ip_chain=ip[2],
            )
            for r in rows
            for ip in (_ip_chain(r[9]),)
        ]

    def bucket_counts(self, width: timedelta) -> dict[int, int]:
        """Stored events per time bucket of ``width`` (bucket ``i`` starts at ``i * width``
        after the epoch): what an error rate is measured against, without reading events."""
        step = width // _US
        with self._lock:
            self.flush()
            rows = self.con.execute(
                f"SELECT CAST(floor(ts / {step}) AS BIGINT) AS b, count(*) FROM {_TABLE} GROUP BY b"
            ).fetchall()
        return {int(b): int(n) for b, n in rows}

    def around(self, focal: TrailEvent, window: timedelta) -> list[TrailEvent]:
        """Candidates for :func:`tui.models.related.find_related`: the events within ``window``
        of ``focal`` and those sharing its requestID or sharedEventID at any time."""
        lo = (focal.event_time - window - _EPOCH) // _US
        hi = (focal.event_time + window - _EPOCH) // _US
        ids = [i for i in (focal.request_id, focal.shared_event_id) if i]
        same = " OR ".join(
            f"{col} IN ({', '.join(_sql_str(i) for i in ids)})"
            for col in ("request_id", "shared_event_id")
        )
        cond = f"ts BETWEEN {lo} AND {hi}" + (f" OR {same}" if ids else "")
        return list(self.matching(where=cond))

    def _events(
        self,
        tail: str,
        *,
        order: bool = False,
        flag: str | None = None,
        batch: int = 4096,
        limit: int | None = None,
    ) -> Iterator[Any]:
        """Stored events for ``WHERE ...`` (newest first when ``order``), read in batches; with
        ``flag``, (event, flag value) pairs; with ``limit``, the first ``limit`` of them.

        The order is taken over (ts, key, seq) alone and the raw events are read by ``seq``
        a batch at a time: sorting whole rows of a big store runs out of memory. A limit
        lets DuckDB keep only the top rows, and skip row groups older than them.
        """
        sort = " ORDER BY ts DESC, key DESC" if order else ""
        if limit is not None:
            sort += f" LIMIT {max(0, int(limit))}"
        extra = f", {flag}" if flag else ", NULL"
        with self._lock:
            cur = self.con.cursor()
            cur.execute(f"SELECT seq{extra} FROM {_TABLE} {tail}{sort}")
        try:
            while True:
                with self._lock:
                    rows = cur.fetchmany(max(1, batch))
                    if not rows:
                        return
                    seqs = [int(r[0]) for r in rows]
                    ids = ", ".join(map(str, seqs))
                    # seq grows with insertion: the range lets DuckDB skip other row groups
                    span = f"seq BETWEEN {min(seqs)} AND {max(seqs)}"
                    blobs = dict(
                        self.con.execute(
                            f"SELECT seq, raw FROM {_TABLE} WHERE {span} AND seq IN ({ids})"
                        ).fetchall()
                    )
                for seq, value in rows:
                    event = _unpack(blobs[seq])
                    yield (event, value) if flag else event
        finally:
            cur.close()

    def raws(
        self, flt: TrailFilter | None = None, *, errors_only: bool = False
    ) -> Iterator[dict[str, Any]]:
        """The raw events of :meth:`matching` (export and the incident bundle)."""
        for event in self.matching(flt, errors_only=errors_only):
            yield event.raw


def store_events(events: Sequence[TrailEvent], **kwargs: Any) -> TrailStore:
    """A store holding ``events`` (tests and benchmarks)."""
    store = TrailStore(**kwargs)
    store.add(events)
    store.flush()
    return store
