"""What a folder holds besides files: one reason for each entry that is not opened.

A folder of logs copied from elsewhere can hold a FIFO (opening it waits for a writer that never
comes: the run hangs), a socket or a device, a symlink that points nowhere or at itself, and a
symlink to a folder (not followed, so a link cannot loop a walk). The CloudTrail and flow-log
readers both list folders; each such entry is named with this reason instead of being opened or
left out in silence.
"""

from __future__ import annotations

import stat
from pathlib import Path

__all__ = ["entry_problem"]


def entry_problem(path: Path) -> str | None:
    """Why an entry found in a folder is not read, or None for a regular file (or a link to one).

    Args:
        path: An entry of a folder being listed (not a path the user named: a FIFO given by
            name, as ``<(zcat …)`` gives one, is read).
    """
    try:
        mode = path.stat().st_mode  # follows symlinks
    except OSError as exc:
        why = exc.strerror or str(exc)
        if path.is_symlink():
            return f"a broken symlink ({why}): not read"
        return f"cannot be opened: {why}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a symlink to a folder: not followed (give that folder itself to read it)"
    if stat.S_ISFIFO(mode):
        kind = "a FIFO (named pipe)"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    else:
        kind = "a special file"
    return f"{kind}, not a regular file: not read (opening it could wait forever)"
