"""Logging that cannot leak credentials, wherever a record goes and whoever adds a handler.

botocore at DEBUG logs every request's headers (``Authorization``, ``X-Amz-Security-Token``) and
presigned URLs; urllib3 logs URLs with their query strings. On a shared bastion a log file, a
``2>`` redirect or a terminal scrollback is readable by others, so :func:`install`:

* keeps ``botocore``/``aiobotocore`` (and ``urllib3``) at WARNING or quieter, never DEBUG;
* puts :class:`RedactingFilter` on the root logger's handlers and on those libraries' loggers
  and handlers;
* wraps the log record factory so that every record, including those that reach a handler added
  later (a test harness, a user's ``logging.conf``), is redacted when it is created.

No textual import here: the headless verbs call :func:`install` too.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from tui.crash import redact

# Loggers that see requests, headers or URLs. Their children (botocore.endpoint, botocore.auth,
# urllib3.connectionpool) inherit the level.
LIBRARY_LOGGERS = ("botocore", "aiobotocore", "urllib3")


class RedactingFilter(logging.Filter):
    """Rewrite a record's message, arguments and traceback text with secrets masked.

    Never drops a record: a filter that swallowed log lines would hide trouble instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask secrets in ``record`` in place (message merged with its args); return it."""
    if getattr(record, "_hamari_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it itself; mask what we can
        message = None
    if message is not None:
        safe = redact(message)
        if safe != message:
            record.msg, record.args = safe, None
    else:
        record.msg = redact(str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
    if record.exc_info and not record.exc_text:
        # Formatted here (no locals, as traceback always does), so a handler never formats the
        # raw exception message itself.
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._hamari_redacted = True
    return record


_FILTER = RedactingFilter()
_installed_factory: Callable[..., logging.LogRecord] | None = None


def _attach(target: logging.Logger | logging.Handler) -> None:
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(_FILTER)


def install() -> None:
    """Make logging safe for this process. Idempotent; cheap enough to call at every start."""
    global _installed_factory
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET (inherit the root's) included
            logger.setLevel(logging.WARNING)
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in LIBRARY_LOGGERS)]
    for logger in loggers:
        _attach(logger)
        for handler in logger.handlers:
            _attach(handler)
    factory = logging.getLogRecordFactory()
    if factory is not _installed_factory:
        inner = factory

        def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return redact_record(inner(*args, **kwargs))

        _installed_factory = make_record
        logging.setLogRecordFactory(make_record)
