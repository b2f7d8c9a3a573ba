"""Local CloudTrail files for ``hamari trail``: scanned in worker processes, fast route first.

Each file is read, inflated and scanned by :class:`tui.models.trailscan.DeliveryScan` in one of
a few worker processes (JSON decoding holds the GIL, so threads would take turns on one core),
and handed back in path order: its counts and the records the filter keeps. The window and the
folding of duplicates run here, in order, with one :class:`~tui.models.trailscan.Selector` for
the whole stream. A file that is not an S3 delivery, or one the fast route cannot read exactly,
is read the ordinary way (:func:`tui.models.cloudtrail.read_trail_bytes`) with the same
selector. No textual or rich here.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import errno
import multiprocessing
import os
import pickle
import shutil
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from tui.aws.cloudtrail import batch_from_result, batch_from_scan, require_path, stream_local
from tui.aws.trailbatch import S3Progress, TrailBatch, _Selector
from tui.models.cloudtrail import (
    ParseResult,
    read_failure,
    read_trail_bytes,
    trail_files,
)
from tui.models.scratch import make_dir, short_of_room
from tui.models.trailfilter import compile_filter
from tui.models.trailscan import DeliveryScan, FileScan, delivery_text
from tui.models.trailstore import StoreChunk, write_chunk

if TYPE_CHECKING:
    from tui.models.timewindow import TimeWindow
    from tui.models.trailfilter import TrailFilter

__all__ = ["MAX_WORKERS", "WORKERS_ABOVE", "scan_local", "stream_files"]

MAX_WORKERS = 4
"""Worker processes at most (one per core, up to this)."""

AHEAD = 3
"""Files in flight per worker."""

_SCANNERS: dict[str, DeliveryScan] = {}  # per worker process: the compiled filter, cached


def _scan_file(path: str, filter_text: str) -> FileScan | str | None:
    """In a worker: the fast route's result, a read error's text, or None (read it ordinarily)."""
    scanner = _SCANNERS.get(filter_text)
    if scanner is None:
        scanner = _SCANNERS[filter_text] = DeliveryScan(compile_filter(filter_text))
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        return exc.strerror or str(exc)
    text = delivery_text(file.name, data)
    return scanner.scan(text) if text is not None else None


_M_TRIM_THRESHOLD: Final = -1
_M_MMAP_THRESHOLD: Final = -3


def _keep_heap() -> None:
    """A worker's initializer: keep freed memory for the next file (glibc only; elsewhere a
    no-op). Each file inflates to a few MB, which glibc maps afresh and hands back on free;
    touching the new pages again cost ~0.4 s per million events, as much as the inflating."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest: files inflating beyond it are mapped
    mallopt(_M_TRIM_THRESHOLD, 256 << 20)


def _executor(files: int, initializer: Callable[[], None] = _keep_heap) -> tuple[Executor, int]:
    """Worker processes (each started with ``initializer``), or one thread where there is one
    file or one core.

    Forked when this process runs no other thread (a headless verb: nothing to re-import);
    spawned otherwise (the app), as forking a process with threads may copy a lock another
    thread held.
    """
    workers = min(MAX_WORKERS, os.cpu_count() or 1, files)
    if workers < 2:
        return ThreadPoolExecutor(1, thread_name_prefix="hamari-trail-read"), 1
    fork = "fork" in multiprocessing.get_all_start_methods()
    method = "fork" if fork and threading.active_count() == 1 else "spawn"
    if method == "spawn":
        from multiprocessing import resource_tracker

        # Spawning starts multiprocessing's resource tracker with sys.stderr's descriptor:
        # under Textual that is a capture without one ("bad value(s) in fds_to_keep").
        with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):
            resource_tracker.ensure_running()
    context = multiprocessing.get_context(method)
    return ProcessPoolExecutor(workers, mp_context=context, initializer=initializer), workers


def scan_local(
    path: str, window: TimeWindow | None, flt: TrailFilter | None
) -> Iterator[TrailBatch]:
    """One batch per file, in path order: its counts, and what it kept (``kept`` for the fast
    route, ``events`` for a file read whole).

    At most :data:`AHEAD` files per worker are in flight, so a slow reader of the output (a
    pipe to ``less``) holds a few files' matches, not the folder's; a reader that stops early
    (``| head``) cancels what was not started.

    Raises:
        NotFoundError: the path does not exist.
    """
    require_path(path)
    selector = _Selector(window, flt)
    listed = list(trail_files(path))
    text = flt.text if flt is not None else ""
    pool, workers = _executor(sum(1 for _, skipped in listed if skipped is None))
    limit = AHEAD * workers
    pending: deque[Future[FileScan | str | None] | None] = deque()
    position = 0
    sizes = [_size(file) if skipped is None else 0 for file, skipped in listed]
    total_bytes = sum(sizes)
    done_bytes = events = 0
    started = time.monotonic()
    try:
        for done, (file, skipped) in enumerate(listed, 1):
            while position < len(listed) and len(pending) < limit:
                ahead, ahead_skipped = listed[position]
                pending.append(None if ahead_skipped else pool.submit(_scan_file, str(ahead), text))
                position += 1
            future = pending.popleft()
            batch = _outcome(file, skipped, future, selector)
            done_bytes += sizes[done - 1]
            events += batch.scanned
            seconds = time.monotonic() - started
            progress = S3Progress(
                done, len(listed), done_bytes, total_bytes, events, seconds, unit="files"
            )
            yield dataclasses.replace(batch, progress=progress)
    finally:
        # Waited for (a file in progress per worker at most, after `| head`): a pool left to
        # shut down at exit races its own wakeup pipe in CPython 3.11, and "Exception ignored
        # in: <module 'threading'> … Traceback" reached the user's terminal after the summary.
        pool.shutdown(wait=True, cancel_futures=True)


def _size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0


def _outcome(
    file: Path,
    skipped: ParseResult | None,
    future: Future[FileScan | str | None] | None,
    selector: _Selector,
) -> TrailBatch:
    name = str(file)
    if skipped is not None or future is None:
        return batch_from_result(skipped or read_failure(name, OSError()), selector)
    scan = future.result()
    if isinstance(scan, str):
        return batch_from_result(read_failure(name, OSError(scan)), selector)
    if scan is not None:
        return batch_from_scan(scan, name, selector)
    try:
        data = file.read_bytes()
    except OSError as exc:
        return batch_from_result(read_failure(name, exc), selector)
    return batch_from_result(read_trail_bytes(data, name), selector)


# ------------------------------------------------------------------- the pane's big local loads

WORKERS_ABOVE = 32 << 20
"""Bytes of local files from which a pane's load runs in worker processes (below: a thread;
starting the workers costs more than they save)."""

EVENT_CHUNK = 200
"""Events unpickled at a time on the event loop (~5 ms each time)."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Loaded:
    """What a worker read of one file: the result without its events, and the events either
    pickled in small chunks or written as store rows (``chunk``)."""

    result: ParseResult
    read: int
    pickled: list[bytes]
    chunk: StoreChunk | None = None
    outside: int = 0
    span: tuple[datetime, datetime] | None = None


def _worker_init() -> None:
    """A pane's worker yields the CPU to the app (on two cores they share it) and writes
    nothing to the terminal the app draws on (its errors come back pickled)."""
    _keep_heap()
    with contextlib.suppress(OSError):  # not permitted: the same priority
        os.nice(10)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    os.close(quiet)


def _load_file(path: str, chunk_path: str | None, window: TimeWindow | None) -> _Loaded:
    """(Worker) one file read whole: its events pickled, or, given ``chunk_path``, the ones in
    ``window`` written there as store rows (the rest counted, their span kept)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return _Loaded(read_failure(path, exc), 0, [])
    result = read_trail_bytes(data, path)
    events, result.events = result.events, []
    if chunk_path is None:
        step = EVENT_CHUNK
        pickled = [pickle.dumps(events[i : i + step], 5) for i in range(0, len(events), step)]
        return _Loaded(result, len(events), pickled)
    if not events:
        return _Loaded(result, 0, [])
    times = [e.event_time for e in events]
    kept = [e for e in events if window is None or window.contains(e.event_time)]
    chunk = write_chunk(chunk_path, kept)
    return _Loaded(
        result, len(events), [], chunk, len(events) - len(kept), (min(times), max(times))
    )


async def stream_files(
    path: str,
    window: TimeWindow | None = None,
    *,
    seen: set[str] | None = None,
    store_after: int,
    store_window: TimeWindow | None = None,
) -> AsyncIterator[TrailBatch]:
    """A pane's load of a local path: what :func:`tui.aws.cloudtrail.stream_local` yields (one
    batch per file, in path order, the same counts), for folders too big to read in a thread.

    Files are read whole in worker processes at a lower priority (JSON decoding holds the GIL:
    in the app's process it froze keys). Once ``store_after`` events were handed over, the
    files read from then on come back as store rows in a DuckDB file each (``chunk``: windowed,
    copies folded by the store), so the app never builds those events; before, as events,
    unpickled a few at a time on the event loop. Progress comes with every batch.

    ``window`` is applied to events (a pane that windows them itself passes None);
    ``store_window`` to store rows (what it leaves out is counted in ``outside``).

    Raises:
        NotFoundError: the path does not exist.
    """
    require_path(path)
    listed = await asyncio.to_thread(lambda: [(f, s, _size(f)) for f, s in trail_files(path)])
    total_bytes = sum(size for _, skipped, size in listed if skipped is None)
    readable = sum(1 for _, skipped, _size in listed if skipped is None)
    if total_bytes < WORKERS_ABOVE or readable < 2:
        async for batch in stream_local(path, window, None, seen=seen):
            yield batch
        return
    if _estimated_events(listed) >= 2 * store_after:
        # Sure to pass the threshold: rows from the first file (holding 50,000 events in the
        # app first, then moving them to the store, left ~400 MB of freed heap behind).
        store_after = 0
    selector = _Selector(window, None, seen)
    pool, workers = await asyncio.to_thread(_executor, readable, _worker_init)
    chunks = make_dir("hamari-trail-load-")
    loop = asyncio.get_running_loop()
    limit = AHEAD * workers
    pending: deque[asyncio.Future[_Loaded] | None] = deque()
    position = handed = done_bytes = events = 0
    started = time.monotonic()
    try:
        for done, (file, skipped, size) in enumerate(listed, 1):
            while position < len(listed) and len(pending) < limit:
                ahead, ahead_skipped, ahead_size = listed[position]
                as_rows = os.path.join(chunks, f"{position:08d}.duckdb")
                if handed >= store_after:
                    # Stop before the disk fills (the store's database would be invalidated):
                    # room for this chunk and those in flight, ~12x the gzip (1x plain JSON).
                    each = ahead_size * (12 if ahead.name.endswith(".gz") else 1)
                    why = short_of_room(os.path.dirname(chunks), each * (len(pending) + 1))
                    if why is not None:
                        raise OSError(errno.ENOSPC, why)
                job = pool.submit(
                    _load_file,
                    str(ahead),
                    as_rows if handed >= store_after else None,
                    store_window,
                )
                pending.append(None if ahead_skipped else asyncio.wrap_future(job, loop=loop))
                position += 1
            future = pending.popleft()
            if skipped is not None or future is None:
                batch = batch_from_result(skipped or read_failure(str(file), OSError()), selector)
            else:
                loaded = await future
                batch = await _batch_of(loaded, selector)
            handed += batch.scanned
            done_bytes += size if skipped is None else 0
            events += batch.scanned
            progress = S3Progress(
                done, len(listed), done_bytes, total_bytes, events, time.monotonic() - started,
                unit="files",
            )  # fmt: skip
            yield dataclasses.replace(batch, progress=progress)
        yield TrailBatch([], 0, path, 0, True)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(chunks, ignore_errors=True)


def _estimated_events(listed: list[tuple[Path, ParseResult | None, int]]) -> int:
    """Events the files probably hold, at the fewest: ~3 KB per event in plain JSON, ~150
    bytes gzipped (CloudTrail's own deliveries hold ~1.5 KB and ~80 bytes)."""
    return sum(
        size // (150 if file.name.endswith(".gz") else 3000)
        for file, skipped, size in listed
        if skipped is None
    )


async def _batch_of(loaded: _Loaded, selector: _Selector) -> TrailBatch:
    """A worker's file as a batch: its events unpickled a chunk at a time (the event loop
    draws in between), or its store chunk with what the window left out."""
    result = loaded.result
    if loaded.chunk is not None or loaded.span is not None:
        batch = batch_from_result(result, selector, read=loaded.read)
        return dataclasses.replace(
            batch, chunk=loaded.chunk, outside=loaded.outside, span=loaded.span
        )
    for blob in loaded.pickled:
        result.events.extend(pickle.loads(blob))
        await asyncio.sleep(0)
    return batch_from_result(result, selector)
