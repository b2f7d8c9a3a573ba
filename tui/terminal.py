"""Can this process draw the TUI? Checked before anything starts (emulator, AWS, the screen).

Without a terminal, ``hamari --demo </dev/null >out 2>err`` would keep running (and, against
AWS, polling) until killed, writing screen updates into a file; ``TERM=dumb`` (Emacs'
``M-x shell``, some CI and serial consoles) would receive the alternate screen, 256 colours and
mouse tracking it cannot show. Both are refused with one line that names what works there: the
headless verbs. Also here: a ``TEXTUAL_LOG`` file is created private (0600) before Textual
appends event data to it with the umask's usual 0644.

No textual import: this runs before the app is loaded.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable, Mapping
from typing import IO

# Terminals that cannot draw a full-screen application (terminfo's names for "no cursor
# addressing"): refused, not degraded, since a degraded TUI there would be a worse headless verb.
DUMB_TERMS = frozenset({"dumb", "unknown"})
# The order the verbs are suggested in; a verb not installed is not named.
_VERB_ORDER = ("diagnose", "trail", "flows", "metrics")


def headless_hint(verbs: Iterable[str]) -> str:
    """``hamari diagnose …, hamari trail …`` for the verbs that exist."""
    names = list(verbs)
    ordered = [v for v in _VERB_ORDER if v in names] + sorted(set(names) - set(_VERB_ORDER))
    return ", ".join(f"hamari {v} …" for v in ordered)


def _is_tty(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and os.isatty(stream.fileno())
    except (OSError, ValueError, AttributeError):  # closed, or not a real file
        return False


def tui_refusal(
    verbs: Iterable[str],
    *,
    env: Mapping[str, str] | None = None,
    streams: Mapping[str, IO[str] | None] | None = None,
) -> str | None:
    """One sentence saying why the TUI cannot run here (and what to run instead), or None.

    Textual reads keys from stdin and draws on stderr; stdout must be the same terminal too, or
    the screen would go where a script expects data.
    """
    env = os.environ if env is None else env
    if streams is None:
        streams = {"stdin": sys.stdin, "stdout": sys.stdout, "stderr": sys.stderr}
    hint = headless_hint(verbs)
    missing = [name for name, stream in streams.items() if not _is_tty(stream)]
    if missing:
        which = ", ".join(missing[:-1]) + " and " + missing[-1] if len(missing) > 1 else missing[0]
        verb_ = "are" if len(missing) > 1 else "is"
        return (
            f"no terminal: {which} {verb_} not a tty, and the TUI needs one; in pipes, files "
            f"and scripts use {hint}"
        )
    term = env.get("TERM", "")
    if term.lower() in DUMB_TERMS:
        return (
            f"TERM={term} cannot draw hamari's screen: run it in a full terminal "
            f"(e.g. TERM=xterm-256color), or use {hint}"
        )
    return None


def secure_textual_log(env: Mapping[str, str] | None = None) -> None:
    """Create the ``TEXTUAL_LOG`` file 0600 (or make ours 0600) before Textual writes to it.

    Textual opens it with ``open(path, "a")``: created 0644, readable by every user of a shared
    bastion, with event data (and whatever the app logs) in it. A symlink is left alone: it is
    not ours to change, and O_NOFOLLOW refuses to create through it.
    """
    env = os.environ if env is None else env
    path = env.get("TEXTUAL_LOG")
    if not path:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError:  # a symlink, a missing folder: Textual reports its own error, if any
        return
    try:
        info = os.fstat(fd)
        if (
            stat.S_ISREG(info.st_mode)
            and info.st_uid == os.geteuid()
            and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO)
        ):
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def prepare_for_tui(verbs: Iterable[str]) -> str | None:
    """The refusal sentence, or None after making the TUI's side files private."""
    refusal = tui_refusal(verbs)
    if refusal is None:
        secure_textual_log()
    return refusal
