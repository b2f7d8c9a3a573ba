"""Reading a flow-log file for the byte-level scan: inflated, cut into regions, counted.

The first half of ``hamari flows FILE --filter ...``'s fast path (:mod:`tui.models.flowscan`
sifts and parses). A region is whole lines; its lines and NODATA/SKIPDATA rows are counted by
passes over its bytes (:func:`counts`), which also tell whether every line is well-formed.

Inflating and sifting each take one core: for a big gzip file a forked process, the
:class:`Inflater`, inflates, cuts and counts each region into a slot of shared memory while
the scan sifts the one before. It can start as soon as the command line names the file
(:func:`prefetch`), before the rest of hamari is imported, so this module imports nothing of
hamari's but the gzip reader. The inflater is an optimisation only: if it stops (it died, a
line outgrew its slots, the gzip stream broke), the scan reads the rest of the file itself,
region by region as the inflater would have, and a broken stream is reported there.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import stringzilla as sz

from tui.models.gunzip import gunzip

__all__ = [
    "UNCOUNTED",
    "Counts",
    "Inflater",
    "adopt",
    "chunks",
    "counts",
    "discard_prefetched",
    "helper_worth_it",
    "prefetch",
    "regions",
    "status_column",
]

# Compressed bytes per read (~2 MB of text), inflated in pieces of _SCAN_PIECE: the several
# passes over a region find it in the CPU cache, and the buffers stay below malloc's mmap
# threshold (an 8 MB region is a fresh mapping each time: page faults cost more than the
# decompression).
_SCAN_READ: Final = 256 << 10
# Inflated bytes per region, at most: the piece 48 kB of gzip inflates to (~430 kB for flow
# logs, fed 48 kB at a time: see GunzipStream.feed), so that a region is one piece and still in
# the core's cache when it is copied to its slot and counted. With regions of ~570 kB, the
# copies took 0.1 s for 1M records instead of 0.016 s; with 64 kB fed and pieces of 512 kB,
# each piece was cut in two, a small region more to sift.
_SCAN_PIECE: Final = 512 << 10
_SCAN_FEED: Final = 48 << 10


def chunks(path: Path, gz: bool) -> Iterator[bytes]:
    """The file's bytes, decompressed, in pieces of at most about :data:`_SCAN_PIECE`.

    Inflated in one process, sifted in another (see :class:`Inflater`): isal releases the GIL
    while it inflates, but sifting holds it for a millisecond at a time, and a decompressing
    thread then waits for the GIL after every piece (measured: 0.2 s of inflating took 0.8 s
    beside a sifting thread).
    """
    with path.open("rb") as fh:
        if gz:
            yield from gunzip(fh, _SCAN_READ, _SCAN_PIECE, _SCAN_FEED)
        else:
            yield from iter(lambda: fh.read(_SCAN_PIECE), b"")


def _cuts(pieces: Iterable[bytes]) -> Iterator[tuple[bytes, bytes, int]]:
    """``(tail, chunk, last)``: each region of whole lines is ``tail + chunk[:last]``.

    ``tail`` is the line begun at the end of the chunk before (most often, one line). The one
    rule that cuts regions, wherever they are assembled (:func:`regions` here, the inflater's
    slots there): the counts of a malformed region depend on its bounds, never on the machine.
    """
    tail = b""
    for chunk in pieces:
        last = chunk.rfind(b"\n") + 1
        if not last:
            tail += chunk
            continue
        yield tail, chunk, last
        tail = chunk[last:]
    if tail:
        yield tail + b"\n", b"", 0


def regions(pieces: Iterable[bytes]) -> Iterator[tuple[bytes, int, int]]:
    """``(data, start, end)``: ``data[start:end]`` is whole lines, each ending with a newline
    (the regions of :func:`_cuts`; a chunk with no tail is not copied)."""
    for tail, chunk, last in _cuts(pieces):
        if not tail:
            yield chunk, 0, last
            continue
        data = b"".join((tail, memoryview(chunk)[:last]))
        yield data, 0, len(data)


# --- counting -------------------------------------------------------------------------------

#: Lines, NODATA rows and SKIPDATA rows of a region; None when a line is not well-formed.
Counts = tuple[int, int, int] | None
#: A region's counts when nobody has made them yet.
UNCOUNTED: Final[Any] = object()

_ONE_FOR_SPACE: Final = bytes(1 if b == 0x20 else 0 for b in range(256))
_STATUS_WORDS: Final = (b"NODATA", b"SKIPDATA")

# StringZilla's module functions, not ``bytes`` methods, in every loop: a SIMD search of the
# whole token (no anchor byte to walk and check), about half the cost per call of a bound
# ``bytes.find``, and they read any buffer, so slots of shared memory are read in place.
_find: Final = sz.find
_rfind: Final = sz.rfind
_count: Final = sz.count


def status_column(names: Iterable[Any]) -> int:
    """The column of log-status in a header's fields (its first, as the parser reads it), or -1."""
    wanted = ("log-status", "log_status", b"log-status", b"log_status")
    return next((i for i, n in enumerate(names) if n in wanted), -1)


def counts(data: Any, start: int, end: int, spaces: int, column: int, scratch: bytearray) -> Counts:
    """A region's lines and status rows, from passes over its bytes; None unless every line is
    well-formed: exactly ``spaces`` spaces, no ``#``, tab or carriage return. ``column`` is
    log-status's (-1: none); ``scratch`` is reused from region to region."""
    n = _newlines(data, start, end)
    if _spaces(data, start, end, scratch) != n * spaces or sz.count_byteset(
        data, b"#\t\r", start, end
    ):
        return None
    if column < 0:
        return n, 0, 0
    nodata, skipdata = _status_counts(data, start, end, column)
    return n, nodata, skipdata


def _newlines(data: Any, start: int, end: int) -> int:
    """Newlines in ``data[start:end]``: a SIMD search (CPython's ``bytes.count`` of one byte
    walks it a byte at a time: 122 ms against 11 for the 238 MB of 1M v5 records)."""
    return int(_count(data, b"\n", start, end))


def _spaces(data: Any, start: int, end: int, scratch: bytearray) -> int:
    """Spaces in ``data[start:end]``: each byte mapped to 1 (a space) or 0, then summed, both in
    SIMD (a search restarts at every one of 28 spaces a line; this reads each byte once:
    17 ms against ``bytes.count``'s 173 for 238 MB). ``scratch`` is grown as needed."""
    size = end - start
    if len(scratch) < size:
        scratch.extend(bytes(size - len(scratch)))
    sz.translate(data, _ONE_FOR_SPACE, start=start, end=end, out=scratch)
    return int(sz.bytesum(memoryview(scratch)[:size]))


def _status_counts(data: Any, start: int, end: int, column: int) -> list[int]:
    """NODATA and SKIPDATA rows in the region, each word found by a SIMD search.

    Only the whole log-status field counts (the word in its column, ending the line or before a
    space): NODATA as an interface id is a record to the parser.
    """
    found = []
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
        found.append(n)
    return found


def _field_starts(data: Any, start: int, at: int) -> bool:
    return at == start or (at > start and bytes(data[at - 1 : at]) in (b" ", b"\n"))


# --- the inflating process ------------------------------------------------------------------

_HELPER_MIN_BYTES: Final = 8 << 20  # below ~80k records a fork costs more than it saves
_SLOTS: Final = 6  # regions inflated ahead of the sifting
_SLOT_BYTES: Final = 2 << 20  # the largest region passed in shared memory (most are ~0.5 MB)
# A note is four little-endian 64-bit numbers. The first says what it is: a region's slot and
# size (slot << 32 | size), the header's layout as the inflater read it (_LAYOUT), every region
# sent (_END), or the inflater stopped (_STOP) and the reader reads on by itself.
_NOTE: Final = 32
_END: Final = (1 << 64) - 1
_STOP: Final = (1 << 64) - 2
_LAYOUT: Final = (1 << 64) - 3


def helper_worth_it(path: Path, gz: bool) -> bool:
    """A second process for a big file on a machine with a second core (HAMARI_SCAN_HELPER=0:
    never). For plain text it only reads and counts, so the file must be bigger to pay off."""
    if os.environ.get("HAMARI_SCAN_HELPER", "") == "0" or not hasattr(os, "fork"):
        return False
    if (os.cpu_count() or 1) < 2:
        return False
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return size >= (_HELPER_MIN_BYTES if gz else _HELPER_MIN_BYTES * 8)


class Inflater:
    """A forked process that inflates a file into slots of shared memory, a region a slot.

    It cuts regions as :func:`regions` does, copies each into a free slot, counts it there
    (:func:`counts`, while the region is still in its core's cache) and writes a note of the
    slot, size and counts to a pipe; the reader sifts the region in place, then hands the slot
    back. Inflating and counting (~0.17 s for 1M records) and sifting (~0.17 s) then run side by
    side on two cores, and all that crosses between them is a few bytes a region.

    The counts need the layout (spaces a line, log-status's column): the inflater reads them
    from the file's header line, and :meth:`regions` uses its notes only if the reader's
    layout is the same.
    """

    def __init__(self, path: Path, gz: bool) -> None:
        import mmap

        self.path, self.gz = path, gz
        self._shm = mmap.mmap(-1, _SLOTS * _SLOT_BYTES)  # anonymous and shared with the fork
        self._view = memoryview(self._shm)
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the inflater
            code = 0
            try:
                os.close(self._to_child)
                os.close(self._from_child)
                _inflate_loop(path, gz, self._shm, to_child_r, from_child_w)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(to_child_r)
        os.close(from_child_w)
        self._closed = False

    def regions(self, spaces: int, column: int) -> Iterator[tuple[Any, int, int, Any]]:
        """The regions of :func:`regions` with their :func:`counts` for a line of ``spaces``
        spaces and log-status in ``column``, in order. Each region is a view of its slot, valid
        until the next one is asked for. From where the inflater stops, if it does, and for
        every region if it read another layout, the regions are read here (:data:`UNCOUNTED`)."""
        got = 0
        held = -1
        same_layout = False
        while True:
            if held >= 0:
                # If it is gone, its last note says so, or its pipe's end does.
                with contextlib.suppress(OSError):
                    _write_exactly(self._to_child, held.to_bytes(8, "little"))
                held = -1
            try:
                note = _read_exactly(self._from_child, _NOTE)
            except (OSError, EOFError):
                note = _STOP.to_bytes(_NOTE, "little")  # it died
            what, a, b, c = (int.from_bytes(note[i : i + 8], "little") for i in (0, 8, 16, 24))
            if what == _LAYOUT:
                same_layout = (a, b - 1) == (spaces, column)
                if same_layout:
                    continue
                what = _STOP  # its counts are not ours: read everything here
            if what == _END:
                return
            if what == _STOP:
                self.close()
                local = itertools.islice(regions(chunks(self.path, self.gz)), got, None)
                yield from ((*region, UNCOUNTED) for region in local)
                return
            slot, size = what >> 32, what & 0xFFFFFFFF
            at = slot * _SLOT_BYTES
            counted = (a - 1, b, c) if a else None
            with self._view[at : at + size] as data:
                held = slot
                got += 1
                yield data, 0, size, counted

    def close(self) -> None:
        """Stop the inflater (at once: nothing it holds is needed) and free the slots."""
        if self._closed:
            return
        self._closed = True
        import signal

        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(self.pid, 0)
        with contextlib.suppress(BufferError):  # a view still held: the collector closes it
            self._view.release()
            self._shm.close()


def _note(*numbers: int) -> bytes:
    return b"".join(n.to_bytes(8, "little") for n in numbers)


def _inflate_loop(path: Path, gz: bool, shm: Any, inbox: int, outbox: int) -> None:
    # Nothing is imported here: a fork may inherit a lock held by another thread of the parent.
    # glibc's malloc maps a block above its threshold (128 kB in a young process) afresh, and
    # raises the threshold to the size of a mapped block once that is freed: this one freed
    # block keeps the inflated pieces on the heap, reused, instead of ~37,000 page faults for
    # 1M records (inflating took 0.19 s instead of 0.13 when started from a young process).
    bytes(_SLOT_BYTES)
    free = list(range(_SLOTS - 1, -1, -1))
    layout: tuple[int, int] | None = None
    scratch = bytearray()
    end = _END
    try:
        for tail, chunk, last in _cuts(chunks(path, gz)):
            size = len(tail) + last
            if size > _SLOT_BYTES:  # one line longer than a slot: the reader reads on
                end = _STOP
                break
            if not free:
                free.append(int.from_bytes(_read_exactly(inbox, 8), "little"))
            slot = free.pop()
            at = slot * _SLOT_BYTES
            shm[at : at + len(tail)] = tail
            shm[at + len(tail) : at + size] = memoryview(chunk)[:last]
            with memoryview(shm) as view, view[at : at + size] as data:
                if layout is None:  # the first line is the header
                    names = bytes(data[: _find(data, b"\n")]).split(b"#", 1)[0].split()
                    layout = (len(names) - 1, status_column(names))
                    _write_exactly(outbox, _note(_LAYOUT, layout[0], layout[1] + 1, 0))
                counted = counts(data, 0, size, layout[0], layout[1], scratch)
            lines, nodata, skipdata = (counted[0] + 1, *counted[1:]) if counted else (0, 0, 0)
            _write_exactly(outbox, _note(slot << 32 | size, lines, nodata, skipdata))
    except Exception:  # a broken stream, a read error: the reader meets it again, and says so
        end = _STOP
    _write_exactly(outbox, _note(end, 0, 0, 0))


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


# --- starting early ----------------------------------------------------------------------------

_prefetched: Inflater | None = None
_prefetched_stat: tuple[int, int, int, int] = (0, 0, 0, 0)


def _identity(path: Path) -> tuple[int, int, int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def prefetch(args: Iterable[str]) -> None:
    """Start reading the one big file among a command's arguments, if there is one.

    ``hamari flows FILE.gz --filter ...`` calls this first thing, so the file inflates while
    the rest of hamari is imported (~40 ms of a ~0.3 s run); the scan then :func:`adopt`\\ s
    the inflater. A guess from the raw arguments: a file that is not scanned after all (it was
    an option's value) is only read, and the inflater is stopped at exit.
    """
    global _prefetched, _prefetched_stat
    found = []
    for arg in args:
        if arg.startswith("-") or not os.path.isfile(arg):
            continue
        path = Path(arg)
        try:
            with path.open("rb") as fh:
                gz = fh.read(2) == b"\x1f\x8b"
        except OSError:
            continue
        if helper_worth_it(path, gz):
            found.append((path, gz))
    if len(found) != 1:
        return
    try:
        _prefetched_stat = _identity(found[0][0])
        _prefetched = Inflater(*found[0])
    except OSError:
        _prefetched = None


def adopt(path: Path, gz: bool) -> Inflater | None:
    """The inflater :func:`prefetch` started for this very file (same inode, size and mtime),
    once; None when there is none."""
    global _prefetched
    got = _prefetched
    if got is None or got.gz != gz:
        return None
    try:
        same = _identity(path) == _prefetched_stat
    except OSError:
        same = False
    if not same:
        return None
    _prefetched = None
    return got


def discard_prefetched() -> None:
    """Stop an inflater started by :func:`prefetch` that no scan adopted."""
    global _prefetched
    if _prefetched is not None:
        _prefetched.close()
        _prefetched = None
