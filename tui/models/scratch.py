"""Where the stores' files go, and what earlier runs left there.

The trail and flow stores keep up to gigabytes on disk so that memory stays bounded. Two things
would defeat that on a bastion:

* ``/tmp`` is often RAM: Amazon Linux 2023 mounts it as tmpfs (half the RAM) and AWS's guide
  says larger temporary files belong in ``/var/tmp``. Files there count against the memory the
  stores were built to spare. So, unless ``TMPDIR`` says otherwise, a tmpfs ``/tmp`` gives way
  to ``/var/tmp`` when that is on a disk.
* A run killed by the OOM killer or ``kill -9`` never removes its folder (1M trail events: about
  800 MB). Each folder holds an owner file naming its process; a folder whose process is gone is
  removed by the next run, once, and said (:func:`describe`).

UI-free: the health screen shows :func:`describe`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from tui.models.units import human_bytes

__all__ = [
    "Place",
    "checkpoint_bytes",
    "choose",
    "describe",
    "disk_full",
    "full_hint",
    "make_dir",
    "mount_type",
    "short_of_room",
    "sweep",
    "sweep_once",
]

OWNER: Final = ".hamari-owner"
"""The file in each store folder that names the process it belongs to: ``pid start-time``."""

_MEMORY_TYPES: Final = frozenset({"tmpfs", "ramfs"})


@dataclass(frozen=True)
class Place:
    """Where the store folders go, and why there (``in_memory``: nowhere better was found)."""

    root: str
    why: str
    in_memory: bool = False


@dataclass(frozen=True)
class Swept:
    """Folders of killed runs removed at this run's first store."""

    folders: int
    size: int


_swept: Swept | None = None  # what the sweep removed in this process (None: not swept yet)

_lock = threading.Lock()
_place: Place | None = None


def mount_type(path: str, mounts: str) -> str:
    """The file-system type ``path`` lives on, from ``/proc/self/mounts`` text ("" unknown).

    The longest mount point that is ``path`` or a parent of it wins; mount points are written
    with octal escapes (``\\040`` for a space).
    """
    best, kind = -1, ""
    target = path.rstrip("/") or "/"
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
        point = point.rstrip("/") or "/"
        inside = point == "/" or target == point or target.startswith(point + "/")
        if inside and len(point) > best:
            best, kind = len(point), fields[2]
    return kind


def choose(
    env: Mapping[str, str],
    default: str,
    mounts: str,
    usable: Callable[[str], bool],
) -> Place:
    """Where store folders go: ``TMPDIR`` when set (the user chose), else the system temp
    folder, unless it is in RAM and ``/var/tmp`` is a usable disk.

    Args:
        env: The environment (``TMPDIR``).
        default: The system temp folder (:func:`tempfile.gettempdir`).
        mounts: ``/proc/self/mounts`` text ("" where there is none).
        usable: Whether a folder exists and can be written.
    """
    kind = mount_type(os.path.realpath(default), mounts)
    if env.get("TMPDIR"):
        if kind in _MEMORY_TYPES:
            return Place(default, f"TMPDIR, {kind}: in memory", True)
        return Place(default, "TMPDIR")
    if kind in _MEMORY_TYPES:
        var = "/var/tmp"
        var_kind = mount_type(os.path.realpath(var), mounts)
        if var_kind and var_kind not in _MEMORY_TYPES and usable(var):
            return Place(var, f"{default} is {kind} (memory); stores need a disk")
        return Place(default, f"{kind}: in memory (set TMPDIR to a folder on a disk)", True)
    return Place(default, "the system temp folder")


def _usable(path: str) -> bool:
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def place() -> Place:
    """This process's choice (made once)."""
    global _place
    with _lock:
        if _place is None:
            _place = choose(os.environ, tempfile.gettempdir(), _read("/proc/self/mounts"), _usable)
        return _place


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), "" elsewhere or if gone."""
    stat = _read(f"/proc/{pid}/stat")
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


def _alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    now = _start_time(pid)
    return not (started and now and now != started)  # a reused pid is not the owner


def _size(path: str) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def sweep(root: str) -> Swept:
    """Remove this user's store folders in ``root`` whose owning process is gone.

    Only folders named ``hamari-*`` holding an :data:`OWNER` file are considered; a folder
    whose process still runs (or whose owner cannot be read) is kept.
    """
    folders = size = 0
    uid = os.getuid() if hasattr(os, "getuid") else None
    try:
        entries = list(os.scandir(root))
    except OSError:
        return Swept(0, 0)
    for entry in entries:
        if not entry.name.startswith("hamari-"):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if uid is not None and entry.stat(follow_symlinks=False).st_uid != uid:
                continue
        except OSError:
            continue
        owner = _read(os.path.join(entry.path, OWNER)).split()
        if len(owner) < 1 or not owner[0].isdigit():
            continue
        if _alive(int(owner[0]), owner[1] if len(owner) > 1 else ""):
            continue
        bytes_ = _size(entry.path)
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.exists(entry.path):
            folders += 1
            size += bytes_
    return Swept(folders, size)


_sweep_lock = threading.Lock()


def sweep_once() -> None:
    """(Thread) :func:`sweep` the store root, once per process; the app calls it at start so
    that removing a killed run's gigabyte never holds up the first store."""
    global _swept
    with _sweep_lock:
        if _swept is None:
            _swept = sweep(place().root)


def make_dir(prefix: str) -> str:
    """A private folder for a store (``prefix`` like ``hamari-trail-``), with its owner file.

    What killed runs left is removed first, unless that was done (:func:`sweep_once`).
    """
    sweep_once()
    root = place().root
    path = tempfile.mkdtemp(prefix=prefix, dir=root)
    pid = os.getpid()
    with open(os.path.join(path, OWNER), "w", encoding="utf-8") as fh:
        fh.write(f"{pid} {_start_time(pid)}\n")
    return path


def describe() -> str:
    """One line for the health screen: where the stores go, why, free space, what was swept."""
    where = place()
    try:
        free = f", {human_bytes(shutil.disk_usage(where.root).free)} free"
    except OSError:
        free = ""
    line = f"{where.root} ({where.why}{free})"
    swept = _swept
    if swept is not None and swept.folders:
        line += (
            f"; removed {swept.folders} folder{'s' if swept.folders != 1 else ''} "
            f"({human_bytes(swept.size)}) left by hamari runs that were killed"
        )
    return line


_FULL_TEXTS: Final = ("No space left on device", "Disk quota exceeded")


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says a disk or quota is full: ENOSPC/EDQUOT from Python, or the same
    in DuckDB's own I/O error text (it writes the stores and their spill files)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    return any(t in text for t in _FULL_TEXTS)


def full_hint() -> str:
    """What to do when the stores' folder is full."""
    root = place().root
    try:
        free = human_bytes(shutil.disk_usage(root).free)
    except OSError:
        free = "?"
    return (
        f"The store folder {root} has too little room left ({free} free). Loading stopped; what was "
        "stored is kept and searchable. Restart hamari with TMPDIR on a bigger disk, or free "
        "space there first."
    )


_RESERVE: Final = 256 << 20  # kept free (a tenth of a smaller disk, 64 MB at the least)


def short_of_room(folder: str, needed: int) -> str | None:
    """Why ``needed`` more bytes should not be written in ``folder`` (None: there is room).

    A store stops before its disk fills: DuckDB invalidates a database whose checkpoint could
    not be written, and every later query then fails, so what was stored could no longer be
    searched. What stays free is 256 MB, or a tenth of a smaller disk but at least 64 MB (the
    workers' chunks in flight and a checkpoint's new blocks come before the old are freed).
    """
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return None
    reserve = min(_RESERVE, max(_RESERVE // 4, usage.total // 10))
    if usage.free - needed >= reserve:
        return None
    return (
        f"only {human_bytes(usage.free)} left in {folder}: loading stopped before the disk filled"
    )


_ROW_GROUP: Final = 122_880  # DuckDB's rows per row group


def checkpoint_bytes(database: str, rows: int) -> int:
    """What a DuckDB checkpoint of ``database`` (holding ``rows``) may write before it frees
    the old blocks: the row group being filled is written anew (measured: 160 MB over a 171 MB
    trail store of 200k events), with half again for the write-ahead log and metadata."""
    size = 0
    for name in (database, database + ".wal"):
        with contextlib.suppress(OSError):
            size += os.path.getsize(name)
    group = min(size, size * _ROW_GROUP // max(1, rows))
    return group * 3 // 2
