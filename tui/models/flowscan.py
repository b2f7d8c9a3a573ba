"""The byte-level fast path of ``hamari flows FILE --filter ...``: sift, then parse what is left.

When a filter pins fields to literals (``action=REJECT``, ``dstport=443``), a line that can match
must contain ``" REJECT "`` and ``" 443 "``, each in its own column. The file is decompressed
with python-isal, cut into regions of whole lines, and each region is *sifted* on bytes: lines,
NODATA and SKIPDATA rows are counted with byte searches, and only the candidate lines (holding
every literal in its column) are decoded and parsed; the exact predicate still runs on each.

Sifting holds the GIL, so a second core only helps from a second process: for big files a forked
helper sifts the regions it is given through a shared-memory ring, while this process
decompresses, sifts what the helper cannot take yet, and parses the candidates. The helper is an
optimisation only: if it dies, the parent sifts the regions it had sent (it still holds them).

Counts equal the pure reader's (:func:`tui.models.flowlog.read_flow_logs`): a region that is not
made of well-formed lines (a short or long line, a comment, a tab or CR) is parsed line by line.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import marshal
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import stringzilla as sz

from tui.models.flowfilter import ENUMS, Compare, FlowFilter, _conjuncts
from tui.models.flowlog import FlowLogParser, FlowRecord, _gunzip

__all__ = [
    "Formatter",
    "RawBlock",
    "covers",
    "helper_worth_it",
    "literals",
    "scan_prefiltered",
    "status_column",
]

#: ``formatter(source, fields)`` gives ``write(lines) -> text``: how a consumer writes plain
#: matching lines of one file (see :class:`RawBlock`) without a record for each.
Formatter = Callable[[str, tuple[str, ...]], Callable[[list[bytes]], str]]


class RawBlock(tuple[str, int]):
    """``(text, lines)``: consecutive matching lines, written out by the consumer's formatter.

    The fast path of ``hamari flows FILE --filter ... --format ndjson``. When a filter's every
    condition is a literal checked on the line's bytes (:func:`covers`), a candidate that its
    layout's ``plain`` pattern matches (:class:`~tui.models.flowlog.Layout`) matches and
    parses as written: building a record only to write its values back cost more than the
    whole scan. So the sifting process (the helper, for big files) formats those lines itself
    and hands over text; anything less plain is parsed into a :class:`FlowRecord` as usual.
    """

    __slots__ = ()

    @property
    def text(self) -> str:
        return self[0]

    @property
    def lines(self) -> int:
        return self[1]


# Compressed bytes per read (~2 MB of text), inflated in pieces of _SCAN_PIECE: the several
# passes over a region find it in the CPU cache, and the buffers stay below malloc's mmap
# threshold (an 8 MB region is a fresh mapping each time: page faults cost more than the
# decompression).
_SCAN_READ: Final = 256 << 10
# Inflated bytes per region, at most: the piece 48 kB of gzip inflates to (~430 kB for flow
# logs, fed 48 kB at a time: see GunzipStream.feed), so that a region is one piece and still in
# the core's cache (512 kB of L2) when it is copied to the helper's slot. With regions of
# ~570 kB, the copies took 0.1 s for 1M records instead of 0.016 s; with 64 kB fed and pieces
# of 512 kB, each piece was cut in two, a small region more to sift.
_SCAN_PIECE: Final = 512 << 10
_SCAN_FEED: Final = 48 << 10


def literals(flt: FlowFilter, names: Sequence[str]) -> list[tuple[int, list[bytes]]]:
    """Tokens a matching line must contain, one list of alternatives per top-level conjunct.

    Each comes with the index of its field, for the exact check of a candidate's column.

    Only conjuncts that pin a field which is neither first nor last in the line (so it has a
    space on both sides) to numbers or enum values are used. Exactly-or-broader, like a
    CloudWatch filter pattern: the exact predicate still runs on every candidate.
    """
    inner = set(names[1:-1])
    out: list[tuple[int, list[bytes]]] = []
    for node in _conjuncts(flt.ast):
        if not isinstance(node, Compare) or node.op != "=" or len(node.field.fields) != 1:
            continue
        name = node.field.fields[0]
        if name not in inner or list(names).count(name) != 1:
            continue
        tokens: list[bytes] = []
        for v in node.values:
            if isinstance(v, tuple) and v[0] == v[1] and node.field.kind in ("int", "protocol"):
                tokens.append(f" {v[0]} ".encode())
            elif isinstance(v, str) and name in ENUMS and "*" not in v:
                canon = next(e for e in ENUMS[name] if e.lower() == v)
                tokens.append(f" {canon} ".encode())  # AWS writes enum values one way
            else:
                tokens = []
                break
        if tokens:
            out.append((list(names).index(name), tokens))
    out.sort(key=lambda pin: (len(pin[1]), -len(pin[1][0])))  # one long literal anchors best
    return out


def covers(flt: FlowFilter, names: Sequence[str]) -> bool:
    """Whether the literals of :func:`literals` are the whole filter.

    Then a line holding each literal in its column matches, and no record need be built to
    check it: every condition is a field equal to one of a few literal values.
    """
    conjuncts = _conjuncts(flt.ast)
    return bool(conjuncts) and len(literals(flt, names)) == len(conjuncts)


def status_column(names: Sequence[str]) -> int:
    """The column of log-status in a header's fields (its first, as the parser reads it), or -1."""
    return next((i for i, n in enumerate(names) if n in ("log-status", "log_status")), -1)


def _chunks(path: Path, gz: bool) -> Iterator[bytes]:
    """The file's bytes, decompressed here, in this thread.

    Not in a thread of its own: isal releases the GIL while it inflates, but sifting holds it
    for a millisecond at a time, and a decompressing thread then waits for the GIL after every
    chunk (measured: 0.2 s of inflating took 0.8 s beside a sifting thread).
    """
    with path.open("rb") as fh:
        if gz:
            yield from _gunzip(fh, _SCAN_READ, _SCAN_PIECE, _SCAN_FEED)
        else:
            yield from iter(lambda: fh.read(_SCAN_READ * 8), b"")


_ONE_FOR_SPACE: Final = bytes(1 if b == 0x20 else 0 for b in range(256))


def _newlines(data: bytes, start: int, end: int) -> int:
    """Newlines in ``data[start:end]``: a SIMD search (CPython's ``bytes.count`` of one byte
    walks it a byte at a time: 122 ms against 11 for the 238 MB of 1M v5 records)."""
    return int(sz.count(data, b"\n", start, end))


def _spaces(data: bytes, start: int, end: int, scratch: bytearray) -> int:
    """Spaces in ``data[start:end]``: each byte mapped to 1 (a space) or 0, then summed, both in
    SIMD (a search restarts at every one of 28 spaces a line; this reads each byte once:
    17 ms against ``bytes.count``'s 173 for 238 MB). ``scratch`` is reused, grown as needed."""
    size = end - start
    if len(scratch) < size:
        scratch.extend(bytes(size - len(scratch)))
    sz.translate(data, _ONE_FOR_SPACE, start=start, end=end, out=scratch)
    return int(sz.bytesum(memoryview(scratch)[:size]))


def _regions(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, int, int]]:
    """``(data, start, end)``: ``data[start:end]`` is whole lines, each ending with a newline.

    Nothing is copied but the line that straddles two chunks: every byte method used on the
    region (count, find) takes the bounds, so slicing a multi-megabyte chunk (twice, as
    ``tail + chunk`` then ``[:cut]``) would only burn memory bandwidth under the GIL.
    """
    tail = b""
    for chunk in chunks:
        first = chunk.find(b"\n")
        if first < 0:
            tail += chunk
            continue
        if tail:
            joined = tail + chunk[: first + 1]
            yield joined, 0, len(joined)
            begin = first + 1
        else:
            begin = 0
        last = chunk.rfind(b"\n") + 1
        if last > begin:
            yield chunk, begin, last
        tail = chunk[last:]
    if tail:
        tail += b"\n"
        yield tail, 0, len(tail)


_STATUS_WORDS: Final = (b"NODATA", b"SKIPDATA")

# StringZilla's module functions, not ``bytes`` methods, in every loop below: a SIMD search of
# the whole token (no anchor byte to walk and check), about half the cost per call of a bound
# ``bytes.find``, and they read any buffer, so the helper sifts its shared memory in place.
_find: Final = sz.find
_rfind: Final = sz.rfind
_count: Final = sz.count


def _status_counts(data: Any, start: int, end: int, column: int) -> list[int]:
    """NODATA and SKIPDATA rows in the region, each word found by a SIMD search.

    Only the whole log-status field counts (the word in its column, ending the line or before a
    space): NODATA as an interface id is a record to the parser.
    """
    counts = []
    for word in _STATUS_WORDS:
        n = 0
        pos = start
        after = len(word)
        while (at := _find(data, word, pos, end)) >= 0:
            pos = at + 1
            if (
                bytes(data[at + after : at + after + 1]) in (b" ", b"\n")
                and _field_starts(data, start, at)
                and _count(data, b" ", _rfind(data, b"\n", start, at) + 1 or start, at) == column
            ):
                n += 1
        counts.append(n)
    return counts


def _field_starts(data: Any, start: int, at: int) -> bool:
    return at == start or (at > start and bytes(data[at - 1 : at]) in (b" ", b"\n"))


@dataclass
class _Plan:
    """What every region of a file is checked for: its line width and the pinned literals.

    The literal walked (searched for, line after line) is chosen on the first region sifted:
    the rarest there. It changes how fast a region is sifted, never what it yields.
    """

    spaces: int
    pins: list[tuple[int, list[bytes]]]
    status_column: int  # of log-status; -1: the format has none, no row is NODATA or SKIPDATA
    walk: tuple[bytes, int] | None = None  # token, column
    others: list[tuple[bytes, int]] = field(default_factory=list)  # single literals, column
    pinned: list[tuple[bytes, int]] = field(default_factory=list)  # the walked one and others
    columns: list[tuple[int, frozenset[bytes]]] = field(default_factory=list)  # alternatives
    # ``fullmatch`` of the layout's plain pattern (see :class:`~tui.models.flowlog.Layout`) and
    # the consumer's writer: set when the pins are the whole filter (see :class:`RawBlock`)
    plain: Callable[[Any], Any] | None = None
    write: Callable[[list[bytes]], str] | None = None
    chosen: bool = False
    scratch: bytearray = field(default_factory=bytearray, repr=False)  # for :func:`_spaces`

    @property
    def width(self) -> int:
        return self.spaces + 1

    def choose(self, data: Any, start: int, end: int) -> None:
        """Walk the literal rarest in the first ~270 lines (REJECT, not 443)."""
        self.chosen = True
        stop = min(end, start + (1 << 16))
        singles = [(alts[0], col) for col, alts in self.pins if len(alts) == 1]
        self.columns = [
            (col, frozenset(t.strip(b" ") for t in alts))
            for col, alts in self.pins
            if len(alts) > 1
        ]
        if not singles:
            return
        self.walk = min(singles, key=lambda w: _count(data, w[0], start, stop))
        self.others = [w for w in singles if w != self.walk]
        self.pinned = [self.walk, *self.others]


# (lines, NODATA, SKIPDATA, the candidates in order: (start, end) of a line to parse, or
# (text, count) of plain lines the plan's writer wrote); None for a region to parse line by line.
_Sifted = tuple[int, int, int, list[tuple[int, int] | tuple[str, int]]] | None


def _sift(data: Any, start: int, end: int, plan: _Plan) -> _Sifted:
    """The byte-level work on one region of whole lines: counts, and the lines worth parsing.

    ``data`` is bytes, or the helper's shared memory. A region of well-formed lines holds
    exactly ``spaces`` spaces per line and no ``#``, tab or carriage return; any other region is
    returned as None, to be parsed line by line so that a short, long or blank line is counted
    exactly as the pure reader counts it. A candidate holds every literal, each in its own
    column (or has the wrong number of fields: it is parsed, and counted as bad).

    The loop is written out by hand: it runs once per line holding the walked literal (a fifth
    of all lines for ``action=REJECT``), and every call or generator step there costs more than
    the byte search itself.
    """
    n = _newlines(data, start, end)
    if _spaces(data, start, end, plan.scratch) != n * plan.spaces or sz.count_byteset(
        data, b"#\t\r", start, end
    ):
        return None
    if not plan.chosen:
        plan.choose(data, start, end)
    nodata, skipdata = (
        _status_counts(data, start, end, plan.status_column) if plan.status_column >= 0 else (0, 0)
    )
    width, spaces, columns = plan.width, plan.spaces, plan.columns
    plain = plan.plain if plan.write is not None else None
    found: list[tuple[int, int] | tuple[str, int]] = []
    keep = found.append
    block: list[bytes] = []  # plain lines not yet written
    if plan.walk is None:
        for line_start, line_end in _line_spans(data, start, end):
            if _in_columns(data, line_start, line_end, width, columns):
                _take(data, line_start, line_end, plain, block, plan, keep)
        _flush(block, plan, keep)
        return n, nodata, skipdata, found
    token, column = plan.walk
    pinned = plan.pinned
    # A literal of an earlier column sits between the line's start and the walked one's hit, a
    # later one between the hit and the line's end (each may share the space at their border):
    # a line lacking one is passed over with one bound of it found, not both.
    # (The walked literal pinned to a second column is checked by _placed alone: a line holding
    # it once is then checked for its number of fields, as a bad line may hold the literals.)
    before = [t for t, c in plan.others if c < column and t != token]
    after = [t for t, c in plan.others if c >= column and t != token]
    find, rfind, count = _find, _rfind, _count
    step = len(token)
    pos = start
    while (at := find(data, token, pos, end)) >= 0:
        line_start = -1
        missing = False
        if before:
            line_start = rfind(data, b"\n", start, at) + 1 or start
            for t in before:
                if find(data, t, line_start, at + 1) < 0:
                    missing = True
                    break
            if missing:
                pos = at + step  # this hit may not be in its column: a later one may be
                continue
        line_end = find(data, b"\n", at, end)
        pos = line_end + 1
        for t in after:
            if find(data, t, at + step - 1, line_end) < 0:
                missing = True
                break
        if missing:
            continue
        if line_start < 0:
            line_start = rfind(data, b"\n", start, at) + 1 or start
        if _placed(data, line_start, line_end, pinned, columns, width):
            _take(data, line_start, line_end, plain, block, plan, keep)
        elif count(data, b" ", line_start, line_end) != spaces:  # the parser: a bad line
            _flush(block, plan, keep)
            keep((line_start, line_end))
    _flush(block, plan, keep)
    return n, nodata, skipdata, found


def _take(
    data: Any,
    line_start: int,
    line_end: int,
    plain: Callable[[Any], Any] | None,
    block: list[bytes],
    plan: _Plan,
    keep: Callable[[Any], None],
) -> None:
    """A matching line: into the block of plain lines, or kept as a span to parse (after the
    block gathered so far, so that the file's order holds)."""
    line = data[line_start:line_end]
    if plain is not None and plain(line):
        block.append(bytes(line))
        return
    _flush(block, plan, keep)
    keep((line_start, line_end))


def _flush(block: list[bytes], plan: _Plan, keep: Callable[[Any], None]) -> None:
    """Write the plain lines gathered so far as one :class:`RawBlock`'s text."""
    if block and plan.write is not None:
        keep((plan.write(block), len(block)))
        block.clear()


def _placed(
    data: Any,
    line_start: int,
    line_end: int,
    pinned: list[tuple[bytes, int]],
    columns: list[tuple[int, Any]],
    width: int,
) -> bool:
    """Every literal of the line sits in its column (443 as the source port does not count).

    The column of a hit is the count of spaces before it: a hundred bytes, cheaper than
    splitting the line. A literal may also sit in another column first (``443 443``).
    """
    find, count = _find, _count
    for t, c in pinned:
        q = find(data, t, line_start, line_end)
        while q >= 0 and count(data, b" ", line_start, q) != c - 1:
            q = find(data, t, q + 1, line_end)
        if q < 0:
            return False
    return not columns or _in_columns(data, line_start, line_end, width, columns)


def _in_columns(
    data: Any, line_start: int, line_end: int, width: int, columns: list[tuple[int, Any]]
) -> bool:
    """False when a pinned column shows the line cannot match (443 as the source port)."""
    parts = bytes(data[line_start:line_end]).split(b" ")
    if len(parts) != width:
        return True  # the parser will count it as bad
    return all(parts[i] in values for i, values in columns)


def _line_spans(data: Any, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end:
        stop = _find(data, b"\n", start, end)
        yield start, stop
        start = stop + 1


def scan_prefiltered(
    path: Path,
    gz: bool,
    parser: FlowLogParser,
    spaces: int,
    pins: list[tuple[int, list[bytes]]],
    pred: Callable[[FlowRecord], bool],
    *,
    status_column: int,
    helper: bool = False,
    raw: Formatter | None = None,
) -> Iterator[FlowRecord | RawBlock]:
    """Parse only the lines holding every literal in its column; count the others from bytes.

    The file's first line is its header (it sets the parser's layout); ``spaces`` is the number
    of separators in a well-formed line, ``pins`` come from :func:`literals` and
    ``status_column`` from :func:`status_column`. With ``helper``, a forked process sifts most
    regions (see :class:`_Helper`). With ``raw`` (only for a filter the pins cover, see
    :func:`covers`), plain candidates come as :class:`RawBlock` written by ``raw``'s writer for
    this file, neither parsed nor checked again.
    """
    stats = parser.stats
    feed = parser.feed_line
    plan = _Plan(spaces, pins, status_column)
    regions = _regions(_chunks(path, gz))
    first = next(regions, None)
    if first is None:
        return
    data, start, end = first  # the header line sets the layout
    cut = data.find(b"\n", start, end)
    feed(data[start:cut].decode("utf-8", "replace"))
    layout = parser.layout
    if raw is not None and layout is not None:
        plan.plain = layout.plain.fullmatch
        plan.write = raw(str(path), layout.fields)
    rest: Iterable[tuple[bytes, int, int]] = regions
    if cut + 1 < end:
        rest = _prepend((data, cut + 1, end), regions)
    for data, start, end, result in _sift_all(rest, plan, helper):
        if result is not None and raw is not None and parser.layout is not layout:
            # A header met in a region parsed line by line changed the layout: lines written
            # under the old one (here, or by the helper's copy of the plan) are sifted again.
            plan.plain = plan.write = None
            if any(not isinstance(a, int) for a, _ in result[3]):
                result = _sift(data, start, end, plan)
        if result is None:
            for line in data[start:end].split(b"\n")[: data.count(b"\n", start, end)]:
                rec = feed(line.decode("utf-8", "replace"))
                if rec is not None and pred(rec):
                    yield rec
            continue
        n, nodata, skipdata, found = result
        stats.nodata += nodata
        stats.skipdata += skipdata
        stats.records += n - nodata - skipdata
        base = parser._lineno
        for a, b in found:
            if not isinstance(a, int):  # text, not a span
                yield RawBlock((a, b))
                continue
            lineno = functools.partial(_line_no, base, data, start, a)
            rec = _parse_counted(parser, data[a:b], lineno)
            if rec is not None and pred(rec):
                yield rec
        parser._lineno = base + n


def _prepend(item: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield item
    yield from rest


def _line_no(base: int, data: bytes, start: int, offset: int) -> int:
    return base + data.count(b"\n", start, offset) + 1


def _parse_counted(
    parser: FlowLogParser, line: bytes, lineno: Callable[[], int]
) -> FlowRecord | None:
    """Parse a candidate that was already counted from bytes; a bad one moves to bad lines."""
    stats = parser.stats
    saved = (stats.records, stats.nodata, stats.skipdata, stats.bad_lines, len(stats.samples))
    rec = parser.feed_line(line.decode("utf-8", "replace"))
    stats.records, stats.nodata, stats.skipdata = saved[:3]
    if stats.bad_lines != saved[3]:
        stats.records -= 1  # it was counted as a record (NODATA/SKIPDATA lines are never bad)
        if len(stats.samples) > saved[4]:
            stats.samples[-1] = replace(stats.samples[-1], lineno=lineno())
    return rec


# --- the helper process ------------------------------------------------------------------------

_HELPER_MIN_BYTES: Final = 8 << 20  # below ~80k records a fork costs more than it saves
_SLOTS: Final = 6  # regions in flight to the helper
_SLOT_BYTES: Final = 2 << 20  # the largest region sent whole (a gzip piece is 1 MB, text 2)
_MIN_REMOTE: Final = 1 << 16  # smaller regions (a line straddling two chunks) are sifted here
_MAX_PENDING: Final = 24  # regions held for order before waiting for the helper
_PIPE_BYTES: Final = 1 << 20  # Linux's limit for a user (/proc/sys/fs/pipe-max-size)


def helper_worth_it(path: Path, gz: bool) -> bool:
    """A second process for big files on a machine with a second core (HAMARI_SCAN_HELPER=0: never)."""
    if os.environ.get("HAMARI_SCAN_HELPER", "") == "0" or not hasattr(os, "fork"):
        return False
    if (os.cpu_count() or 1) < 2:
        return False
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return size >= (_HELPER_MIN_BYTES if gz else _HELPER_MIN_BYTES * 8)


def _pieces(
    regions: Iterable[tuple[bytes, int, int]], limit: int
) -> Iterator[tuple[bytes, int, int]]:
    """Regions no bigger than ``limit`` (cut after a newline), unless a single line is."""
    for data, start, end in regions:
        while end - start > limit:
            cut = data.rfind(b"\n", start, start + limit) + 1
            if cut <= start:
                break
            yield data, start, cut
            start = cut
        yield data, start, end


def _sift_all(
    regions: Iterable[tuple[bytes, int, int]], plan: _Plan, helper: bool
) -> Iterator[tuple[bytes, int, int, _Sifted]]:
    """Each region with its sifting, in file order; most of them by the helper process.

    A region goes to the helper when it has a free slot, and is sifted here otherwise, so the
    work balances itself whatever the cores, the filter or the compression ratio. No thread and
    no blocking: the helper's answers are picked up between regions with a zero-timeout poll.
    """
    # Cut the same way with or without the helper: counts must not depend on the machine.
    regions = _pieces(regions, _SLOT_BYTES)
    if not helper:
        for data, start, end in regions:
            yield data, start, end, _sift(data, start, end, plan)
        return
    child = _Helper(plan)
    try:
        pending: collections.deque[list[Any]] = collections.deque()  # file order
        inflight: collections.deque[list[Any]] = collections.deque()  # sent, unanswered
        for data, start, end in regions:
            while inflight and child.ready():
                _settle(inflight, child, plan)
            entry = [data, start, end, _REMOTE]
            if end - start >= _MIN_REMOTE and child.send(data, start, end):
                inflight.append(entry)
            else:
                entry[3] = _sift(data, start, end, plan)
            pending.append(entry)
            while inflight and len(pending) > _MAX_PENDING:
                _settle(inflight, child, plan)
            while pending and pending[0][3] is not _REMOTE:
                data, start, end, result = pending.popleft()
                yield data, start, end, result
        while inflight:
            _settle(inflight, child, plan)
        for data, start, end, result in pending:
            yield data, start, end, result
    finally:
        child.close()


_REMOTE: Final = object()


def _settle(inflight: collections.deque[list[Any]], child: _Helper, plan: _Plan) -> None:
    """Fill in the oldest region in flight: the helper's answer, or sifted here if it is gone."""
    got = child.receive()
    if got is _HELPER_GONE:  # the records must not depend on the helper
        while inflight:
            entry = inflight.popleft()
            entry[3] = _sift(entry[0], entry[1], entry[2], plan)
        return
    entry = inflight.popleft()
    if got is not None:
        n, nodata, skipdata, spans = got
        start = entry[1]
        got = (
            n,
            nodata,
            skipdata,
            [(a, b) if type(a) is str else (start + a, start + b) for a, b in spans],
        )
    entry[3] = got


_HELPER_GONE: Final = object()


class _Helper:
    """A forked process that sifts the regions put in its slots of shared memory.

    The parent copies a region into a free slot (a memcpy) and writes the slot's number and
    size to a pipe; the helper sifts it and answers, in order, with the counts, the candidate
    spans and the text of plain matching lines (:class:`RawBlock`), marshalled. The answer
    frees the slot. The parent picks answers up between regions, and the answer pipe is
    widened so that the helper seldom waits for that.
    """

    def __init__(self, plan: _Plan) -> None:
        import mmap

        self._shm = mmap.mmap(-1, _SLOTS * _SLOT_BYTES)  # anonymous and shared with the fork
        self._free = list(range(_SLOTS))
        self._sent: collections.deque[int] = collections.deque()
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # Answers carry the text of plain matching lines (RawBlock): ~50 kB for a region of
        # action=REJECT and dstport=443. In a pipe of 64 kB the helper stalled, half-written,
        # until this process read, with the next regions waiting (0.1 s of a 0.45 s run).
        with contextlib.suppress(ImportError, AttributeError, OSError):
            import fcntl

            fcntl.fcntl(from_child_w, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        self.pid = os.fork()
        if self.pid == 0:  # the helper
            code = 0
            try:
                os.close(self._to_child)
                os.close(self._from_child)
                _helper_loop(to_child_r, from_child_w, plan, self._shm)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(to_child_r)
        os.close(from_child_w)
        self.alive = True

    def send(self, data: bytes, start: int, end: int) -> bool:
        """Hand a region to the helper; False when every slot is busy or it is gone."""
        if not self.alive or not self._free or end - start > _SLOT_BYTES:
            return False
        slot = self._free.pop()
        at = slot * _SLOT_BYTES
        self._shm[at : at + end - start] = memoryview(data)[start:end]
        try:
            _write_exactly(self._to_child, (slot << 32 | (end - start)).to_bytes(8, "little"))
        except OSError:
            self.alive = False
            self._free.append(slot)
            return False
        self._sent.append(slot)
        return True

    def ready(self) -> bool:
        """An answer (or the helper's death) is waiting to be read."""
        import select

        if not self.alive:
            return True
        return bool(select.select([self._from_child], [], [], 0)[0])

    def receive(self) -> Any:
        """The next answer, in the order sent; _HELPER_GONE once the helper has died."""
        if not self.alive:
            return _HELPER_GONE
        try:
            size = int.from_bytes(_read_exactly(self._from_child, 8), "little")
            got = marshal.loads(_read_exactly(self._from_child, size))
        except (OSError, EOFError, ValueError):
            self.alive = False
            return _HELPER_GONE
        self._free.append(self._sent.popleft())
        return got

    def close(self) -> None:
        import signal

        self.alive = False
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(self.pid, 0)
        self._shm.close()


def _helper_loop(inbox: int, outbox: int, plan: _Plan, shm: Any) -> None:
    # Nothing is imported here: a fork may inherit a lock held by another thread of the parent.
    while True:
        note = int.from_bytes(_read_exactly(inbox, 8), "little")
        at, size = (note >> 32) * _SLOT_BYTES, note & 0xFFFFFFFF
        with memoryview(shm) as view, view[at : at + size] as data:  # read in place, no copy
            reply = marshal.dumps(_sift(data, 0, size, plan))
        _write_exactly(outbox, len(reply).to_bytes(8, "little") + reply)


def _read_exactly(fd: int, size: int) -> bytes:
    parts = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _write_exactly(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]
