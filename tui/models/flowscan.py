"""The byte-level fast path of ``hamari flows FILE --filter ...``: sift, then parse what is left.

When a filter pins fields to literals (``action=REJECT``, ``dstport=443``), a line that can match
must contain ``" REJECT "`` and ``" 443 "``, each in its own column. The file is decompressed
with python-isal, cut into regions of whole lines, and each region is *sifted* on bytes: lines,
NODATA and SKIPDATA rows are counted with byte searches, and only the candidate lines (holding
every literal in its column) are decoded and parsed; the exact predicate still runs on each.

The file is read by :mod:`tui.models.inflater`: for a big gzip file, a second process inflates
and counts each region while this one sifts the one before.

Counts equal the pure reader's (:func:`tui.models.flowlog.read_flow_logs`): a region that is not
made of well-formed lines (a short or long line, a comment, a tab or CR) is parsed line by line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from tui.models.flowfilter import ENUMS, Compare, FlowFilter, _conjuncts
from tui.models.flowlog import FlowLogParser, FlowRecord
from tui.models.inflater import (
    UNCOUNTED,
    Counts,
    Inflater,
    _count,
    _find,
    _rfind,
    adopt,
    chunks,
    counts,
    helper_worth_it,
    regions,
    status_column,
)

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
    whole scan. So the scan formats those lines itself, a batch at a time, and hands over
    text; anything less plain is parsed into a :class:`FlowRecord` as usual.
    """

    __slots__ = ()

    @property
    def text(self) -> str:
        return self[0]

    @property
    def lines(self) -> int:
        return self[1]


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
    scratch: bytearray = field(default_factory=bytearray, repr=False)  # for inflater.counts
    # Plain matching lines not yet written, carried from region to region: the writer works a
    # column at a time, so a batch of a few thousand lines costs far less a line than a
    # region's few dozen (0.07 s of 0.2 for 1M records, written a region at a time).
    block: list[bytes] = field(default_factory=list, repr=False)
    unflushed: int = 0  # regions sifted since the block was last written

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


def _counts(data: Any, start: int, end: int, plan: _Plan) -> Counts:
    return counts(data, start, end, plan.spaces, plan.status_column, plan.scratch)


def _sift(data: Any, start: int, end: int, plan: _Plan, counted: Any = UNCOUNTED) -> _Sifted:
    """The byte-level work on one region of whole lines: counts, and the lines worth parsing.

    ``data`` is bytes, or a slot of the inflater's shared memory; ``counted``, the region's
    :func:`_counts` when the inflater made them. A region that is not well-formed is returned as
    None, to be parsed line by line so that a short, long or blank line is counted exactly as
    the pure reader counts it. A candidate holds every literal, each in its own column (or has
    the wrong number of fields: it is parsed, and counted as bad).

    The loop is written out by hand: it runs once per line holding the walked literal (a fifth
    of all lines for ``action=REJECT``), and every call or generator step there costs more than
    the byte search itself.
    """
    if counted is UNCOUNTED:
        counted = _counts(data, start, end, plan)
    if counted is None:
        return None
    n, nodata, skipdata = counted
    if not plan.chosen:
        plan.choose(data, start, end)
    width, spaces, columns = plan.width, plan.spaces, plan.columns
    plain = plan.plain if plan.write is not None else None
    found: list[tuple[int, int] | tuple[str, int]] = []
    keep = found.append
    block = plan.block
    if plan.walk is None:
        for line_start, line_end in _line_spans(data, start, end):
            if _in_columns(data, line_start, line_end, width, columns):
                _take(data, line_start, line_end, plain, block, plan, keep)
        _flush_some(plan, keep)
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
    _flush_some(plan, keep)
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
    plan.unflushed = 0
    if block and plan.write is not None:
        keep((plan.write(block), len(block)))
        block.clear()


_BLOCK_LINES: Final = 4096  # plain lines written at once, at most
_BLOCK_REGIONS: Final = 16  # or after ~7 MB of text (~30k records): matches show as they come


def _flush_some(plan: _Plan, keep: Callable[[Any], None]) -> None:
    """At a region's end: write the block once it is big or has waited long enough."""
    plan.unflushed += 1
    if len(plan.block) >= _BLOCK_LINES or plan.unflushed >= _BLOCK_REGIONS:
        _flush(plan.block, plan, keep)


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
    ``status_column`` from :func:`status_column`. With ``helper``, a forked process inflates
    the file while this one sifts (:class:`~tui.models.inflater.Inflater`, the one
    :func:`~tui.models.inflater.prefetch` started if any). With ``raw`` (only for a filter the
    pins cover, see :func:`covers`), plain candidates come as :class:`RawBlock` written by
    ``raw``'s writer for this file, neither parsed nor checked again.
    """
    stats = parser.stats
    feed = parser.feed_line
    plan = _Plan(spaces, pins, status_column)
    inflater = (adopt(path, gz) or Inflater(path, gz)) if helper else None
    try:
        pieces = (
            inflater.regions(spaces, status_column)
            if inflater is not None
            else ((*region, UNCOUNTED) for region in regions(chunks(path, gz)))
        )
        first = next(pieces, None)
        if first is None:
            return
        data, start, end, _ = first  # the header line sets the layout; counted again below
        cut = _find(data, b"\n", start, end)
        feed(bytes(data[start:cut]).decode("utf-8", "replace"))
        layout = parser.layout
        if raw is not None and layout is not None:
            plan.plain = layout.plain.fullmatch
            plan.write = raw(str(path), layout.fields)
        rest: Iterable[tuple[Any, int, int, Any]] = pieces
        if cut + 1 < end:
            rest = _prepend((data, cut + 1, end, UNCOUNTED), pieces)
        for data, start, end, counted in rest:
            result = _sift(data, start, end, plan, counted)
            if result is None:
                if plan.block:  # the lines before these, in the file's order
                    yield _written(plan)
                lines = bytes(data[start:end]).split(b"\n")
                for line in lines[: len(lines) - 1]:
                    rec = feed(line.decode("utf-8", "replace"))
                    if rec is not None and pred(rec):
                        yield rec
                if raw is not None and parser.layout is not layout:
                    # A header line (in a region parsed line by line) changed the layout:
                    # plain lines are no longer written as the first header said.
                    plan.plain = plan.write = None
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
                rec = _parse_counted(parser, bytes(data[a:b]), lineno)
                if rec is not None and pred(rec):
                    yield rec
            parser._lineno = base + n
        if plan.block:
            yield _written(plan)
    finally:
        if inflater is not None:
            inflater.close()


def _written(plan: _Plan) -> RawBlock:
    """The block of plain lines held so far, written."""
    got: list[Any] = []
    _flush(plan.block, plan, got.append)
    return RawBlock(got[0])


def _prepend(item: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield item
    yield from rest


def _line_no(base: int, data: Any, start: int, offset: int) -> int:
    return base + int(_count(data, b"\n", start, offset)) + 1


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
