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

import ctypes
import dataclasses
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Final

from tui.aws.cloudtrail import batch_from_result, batch_from_scan, require_path
from tui.aws.trailbatch import S3Progress, TrailBatch, _Selector
from tui.models.cloudtrail import (
    ParseResult,
    read_failure,
    read_trail_bytes,
    trail_files,
)
from tui.models.trailfilter import compile_filter
from tui.models.trailscan import DeliveryScan, FileScan, delivery_text

if TYPE_CHECKING:
    from tui.models.timewindow import TimeWindow
    from tui.models.trailfilter import TrailFilter

__all__ = ["MAX_WORKERS", "scan_local"]

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


def _executor(files: int) -> tuple[Executor, int]:
    """Worker processes, or one thread where there is one file or one core.

    Forked when this process runs no other thread (a headless verb: nothing to re-import);
    spawned otherwise, as forking a process with threads may copy a lock another thread held.
    """
    workers = min(MAX_WORKERS, os.cpu_count() or 1, files)
    if workers < 2:
        return ThreadPoolExecutor(1, thread_name_prefix="hamari-trail-scan"), 1
    fork = "fork" in multiprocessing.get_all_start_methods()
    method = "fork" if fork and threading.active_count() == 1 else "spawn"
    context = multiprocessing.get_context(method)
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_keep_heap), workers


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
        pool.shutdown(wait=False, cancel_futures=True)


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
