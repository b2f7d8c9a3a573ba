"""Crash reports that never leak secrets: a traceback without local variables, in a private file."""

from __future__ import annotations

import os
import re
import tempfile
import traceback

# Names whose values must never be written out, even inside an exception message or a log line:
# HTTP headers (Authorization, X-Amz-Security-Token), presigned-URL query parameters
# (X-Amz-Credential, X-Amz-Signature), config and environment names (aws_secret_access_key) and
# STS/SSO JSON keys (SecretAccessKey, SessionToken, accessToken, clientSecret). Longest first.
_NAMES = (
    r"x-amz-security-token|x-amz-credential|x-amz-signature|"
    r"aws_secret_access_key|aws_session_token|aws_security_token|"
    r"secret_?access_?key|session_?token|security_?token|"
    r"access_?token|refresh_?token|client_?secret|authorization"
)
# The SigV4 parts of an Authorization value (`Credential=AKIA…/…/aws4_request, Signature=…`): only
# with `=`, so that prose such as botocore's "Signature expired: <time>" stays readable.
_SIGV4 = r"signature|credential"
_VALUE = r"[^\s'\",;&<>()\[\]{}]+"
# `name="value"`, `"name": "value"`, `'name': b'value'` (botocore logs headers as a dict of
# bytes): the whole quoted value, spaces included ("AWS4-HMAC-SHA256 Credential=…, Signature=…").
_QUOTED = re.compile(
    rf"(?i)(?<![\w-])(?P<key>{_NAMES}|{_SIGV4})(?P<sep>['\"]?\s*[=:]\s*b?['\"])"
    r"(?P<value>[^'\"\r\n]*)"
)
# An `Authorization: AWS4-HMAC-SHA256 Credential=…` header line: the rest of the line.
_HEADER = re.compile(
    r"(?i)(?<![\w-])(?P<key>authorization)(?P<sep>\s*[=:]\s*)(?P<value>[^\s*'\"][^\r\n'\"]*)"
)
# `name=value` / `name: value` (query strings, ini files, environment): one token.
_TOKEN = re.compile(rf"(?i)(?<![\w-])(?P<key>{_NAMES})(?P<sep>\s*[=:]\s*)(?P<value>{_VALUE})")
_SIGV4_TOKEN = re.compile(rf"(?i)(?<![\w-])(?P<key>{_SIGV4})(?P<sep>\s*=\s*)(?P<value>{_VALUE})")


def _mask(match: re.Match[str]) -> str:
    return f"{match.group('key')}{match.group('sep')}***"


def redact(text: str) -> str:
    """Mask credential-looking values (Authorization headers, session tokens, secret keys).

    Covers HTTP headers, presigned-URL query parameters, ``key=value`` and ``key: value`` lines,
    JSON and Python ``repr`` dictionaries. Idempotent: redacting twice changes nothing more.
    """
    for pattern in (_QUOTED, _HEADER, _TOKEN, _SIGV4_TOKEN):
        text = pattern.sub(_mask, text)
    return text


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
