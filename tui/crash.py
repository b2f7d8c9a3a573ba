"""Crash reports that never leak secrets: a traceback without local variables, in a private file."""

from __future__ import annotations

import os
import re
import tempfile
import traceback

# Values that must never be written out, even if they appear in an exception message.
_SECRET = re.compile(
    r"(?i)(aws_secret_access_key|aws_session_token|x-amz-security-token|authorization|"
    r"secretaccesskey|sessiontoken|signature)(\s*[=:]\s*|\"\s*:\s*\")([^\s\",;]+)"
)


def redact(text: str) -> str:
    """Mask credential-looking values (Authorization headers, session tokens, secret keys)."""
    return _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def write_crash_report(error: BaseException) -> str | None:
    """Write the traceback (no locals) to a 0600 file in the temp folder; return its path."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        fd, path = tempfile.mkstemp(prefix="hamari-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(redact(text))
    except OSError:
        return None
    return path
