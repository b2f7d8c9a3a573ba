"""moto's server, in-process and silent, with a fault injector in front of it.

``hamari --demo`` runs the product's real AWS code paths against a local emulator. The emulator
lives in this process (a daemon thread on 127.0.0.1 and a free port) because the bastion may have
no Docker and no second terminal. A Textual app owns the terminal, so nothing here may print:
request logs, tracebacks and the loggers of werkzeug and Flask are all silenced.

The :class:`FaultInjector` is WSGI middleware placed in front of moto. Tests add
:class:`FaultRule` objects to make chosen operations fail the way AWS fails (throttling, access
denied, expired token, a slow or dropped connection, a 500), each in the error shape of the
operation's protocol, so botocore raises exactly what it raises against AWS. It also records every
request's (service, operation) in :attr:`EmbeddedAws.requests_seen`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qs
from urllib.request import Request, urlopen
from xml.sax.saxutils import escape as xml_escape

# Must be set before moto's EC2 backend is imported: loading the default AMIs costs 1.5-2.3 s.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

__all__ = ["EmbeddedAws", "FaultInjector", "FaultKind", "FaultRule", "SeenRequest"]

FaultKind = Literal[
    "throttle",
    "access_denied",
    "expired_token",
    "timeout",
    "reset",
    "server_error",
    "slow",
    "clock_skew",
    "unrecognized_client",
    "lost",
    "truncated",
    "malformed",
]

_QUIET_LOGGERS = ("werkzeug", "flask", "flask.app", "flask_cors", "moto")

# Services with the awsQueryCompatible trait: JSON/CBOR on the wire, query-era error codes.
_QUERY_COMPATIBLE = frozenset({"cloudwatch", "sqs"})

# SigV4 signing names that differ from the names used in FaultRule.service.
_SIGNING_ALIASES = {"monitoring": "cloudwatch"}


def share_botocore_loader() -> None:
    """Give every botocore session of this process one data loader (demo and tests only).

    Each botocore session parses the JSON it needs (endpoints, API models) into a cache of its
    own. moto's import alone makes four sessions, each parsing endpoints.json (~0.15 s apiece),
    and the seed, the live feeder and the app then parse the same API models again: about
    0.7 s of CPU on the demo's start-up path, shared under one GIL with the UI. The loader
    only reads files and caches the parsed dicts (never mutated), so one per data path is
    safe. Real-AWS runs never start the emulator and never call this.
    """
    import botocore.loaders
    import botocore.session

    if getattr(botocore.session.create_loader, "_hamari_shared", False):
        return
    original = botocore.loaders.create_loader
    loaders: dict[Any, Any] = {}
    lock = threading.Lock()

    def create_loader(search_path_string: Any = None) -> Any:
        with lock:
            if search_path_string not in loaders:
                loaders[search_path_string] = original(search_path_string)
            return loaders[search_path_string]

    create_loader._hamari_shared = True  # type: ignore[attr-defined]
    botocore.session.create_loader = create_loader


class SeenRequest(NamedTuple):
    """One request that reached the emulator."""

    service: str
    operation: str
    at: float  # time.monotonic()
    region: str = ""  # from the request's SigV4 credential scope


@dataclass(frozen=True)
class FaultRule:
    """Make matching requests fail.

    Args:
        service: service name (``cloudtrail``, ``logs``, ``ec2``, ``sts``, ``s3``, ``cloudwatch``
            or its signing name ``monitoring``); None matches any.
        operation: API operation name (``LookupEvents``); None matches any.
        kind: the failure. ``timeout`` waits ``delay`` seconds then drops the connection without
            a response; ``slow`` waits ``delay`` seconds then answers normally; ``reset`` drops
            the connection at once; ``lost`` serves the request (a query is started) and then
            drops the connection, so the answer never arrives; ``truncated`` serves the request
            and sends half of the answer's body (its full length announced), then drops the
            connection; ``malformed`` answers 200 with a body that is not the protocol's.
        times: how many matching requests fail; None means every one.
        delay: seconds, for ``timeout`` and ``slow``.
        after: the first this many matching requests pass untouched (a fault mid-load: some
            objects are read before the rest fail).
        region: only requests signed for this region (the SigV4 credential scope); None: any.
        code: the error code sent instead of the kind's own (an error kind only), e.g.
            ``LimitExceededException`` for a throttle that is Logs Insights' concurrency limit.
        message: the error message sent instead of the kind's own, e.g. the AccessDenied of
            an SSE-KMS object that names the key and ``kms:Decrypt``.
        path: only requests whose URL path contains this text, e.g. one S3 object's key.
    """

    service: str | None
    operation: str | None
    kind: FaultKind
    times: int | None = None
    delay: float = 0.0
    region: str | None = None
    after: int = 0
    code: str | None = None
    message: str | None = None
    path: str | None = None

    def matches(self, service: str, operation: str, region: str = "", path: str = "") -> bool:
        if self.service is not None and _SIGNING_ALIASES.get(self.service, self.service) != service:
            return False
        if self.region is not None and self.region != region:
            return False
        if self.path is not None and self.path not in path:
            return False
        return self.operation is None or self.operation == operation


class _Protocol(NamedTuple):
    name: Literal["json", "query", "ec2", "cbor", "rest-xml", "rest-json"]
    service: str
    operation: str


# (json, query, ec2, cbor/rest-json, s3) codes and HTTP status per fault kind.
_SKEW_MESSAGE = (
    "Signature expired: 20261128T100000Z is now earlier than 20261128T101500Z "
    "(20261128T103000Z - 15 min.)"
)
_ERROR_CODES: dict[str, dict[str, tuple[str, int, str]]] = {
    "throttle": {
        "json": ("ThrottlingException", 400, "Rate exceeded"),
        "query": ("Throttling", 400, "Rate exceeded"),
        "ec2": ("RequestLimitExceeded", 503, "Request limit exceeded."),
        "cbor": ("Throttling", 400, "Rate exceeded"),
        "rest-json": ("ThrottlingException", 429, "Rate exceeded"),
        "rest-xml": ("SlowDown", 503, "Please reduce your request rate."),
    },
    "access_denied": {
        "json": ("AccessDeniedException", 400, "User is not authorized to perform: {action}"),
        "query": ("AccessDenied", 403, "User is not authorized to perform: {action}"),
        "ec2": ("UnauthorizedOperation", 403, "You are not authorized to perform this operation."),
        "cbor": ("AccessDenied", 403, "User is not authorized to perform: {action}"),
        "rest-json": ("AccessDeniedException", 403, "User is not authorized to perform: {action}"),
        "rest-xml": ("AccessDenied", 403, "Access Denied"),
    },
    # The signature of a request from a bastion whose clock is off by more than 15 minutes.
    # The emulator's Date header is moved by the rule's ``delay`` seconds to match.
    "clock_skew": {
        "json": ("InvalidSignatureException", 400, _SKEW_MESSAGE),
        "query": ("SignatureDoesNotMatch", 403, _SKEW_MESSAGE),
        "ec2": ("RequestExpired", 400, _SKEW_MESSAGE),
        "cbor": ("InvalidSignatureException", 400, _SKEW_MESSAGE),
        "rest-xml": ("RequestTimeTooSkewed", 403, _SKEW_MESSAGE),
        "rest-json": ("InvalidSignatureException", 400, _SKEW_MESSAGE),
    },
    "expired_token": {
        "json": (
            "ExpiredTokenException",
            400,
            "The security token included in the request is expired",
        ),
        "query": ("ExpiredToken", 400, "The security token included in the request is expired"),
        "ec2": ("RequestExpired", 400, "Request has expired."),
        "cbor": ("ExpiredToken", 400, "The security token included in the request is expired"),
        "rest-json": (
            "ExpiredTokenException",
            403,
            "The security token included in the request is expired",
        ),
        "rest-xml": ("ExpiredToken", 400, "The provided token has expired."),
    },
    # A region of another partition (or not enabled) does not know the caller's access key.
    "unrecognized_client": {
        "json": (
            "UnrecognizedClientException",
            400,
            "The security token included in the request is invalid.",
        ),
        "query": (
            "InvalidClientTokenId",
            403,
            "The security token included in the request is invalid.",
        ),
        "ec2": ("AuthFailure", 401, "AWS was not able to validate the provided access credentials"),
        "cbor": (
            "InvalidClientTokenId",
            403,
            "The security token included in the request is invalid.",
        ),
        "rest-json": (
            "UnrecognizedClientException",
            403,
            "The security token included in the request is invalid.",
        ),
        "rest-xml": (
            "InvalidAccessKeyId",
            403,
            "The AWS Access Key Id you provided does not exist.",
        ),
    },
    "server_error": {
        "json": ("InternalFailure", 500, "An internal error occurred."),
        "query": ("InternalFailure", 500, "An internal error occurred."),
        "ec2": ("InternalError", 500, "An internal error has occurred"),
        "cbor": ("InternalFailure", 500, "An internal error occurred."),
        "rest-json": ("InternalFailure", 500, "An internal error occurred."),
        "rest-xml": ("InternalError", 500, "We encountered an internal error. Please try again."),
    },
}


def _cbor_text(value: str) -> bytes:
    raw = value.encode()
    return _cbor_head(3, len(raw)) + raw


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([(major << 5) | length])
    if length < 0x100:
        return bytes([(major << 5) | 24, length])
    return bytes([(major << 5) | 25]) + length.to_bytes(2, "big")


def _cbor_map(items: dict[str, str]) -> bytes:
    out = _cbor_head(5, len(items))
    for key, value in items.items():
        out += _cbor_text(key) + _cbor_text(value)
    return out


def _s3_operation(method: str, path: str, query: dict[str, list[str]]) -> str:
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "ListBuckets"
    has_key = len(parts) > 1
    if method == "GET":
        if has_key:
            return "GetObject"
        if "location" in query:
            return "GetBucketLocation"
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    if method == "HEAD":
        return "HeadObject" if has_key else "HeadBucket"
    if method == "PUT":
        return "PutObject" if has_key else "CreateBucket"
    if method == "DELETE":
        return "DeleteObject" if has_key else "DeleteBucket"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    return f"{method} /"


def _signed_region(environ: dict[str, Any]) -> str:
    """The region of a SigV4 request's credential scope (KEY/DATE/REGION/SERVICE/aws4_request)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" not in auth:
        return ""
    parts = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return parts[2] if len(parts) > 2 else ""


def identify(environ: dict[str, Any]) -> _Protocol:
    """Name the service, operation and wire protocol of a WSGI request.

    The body of a form-encoded (query protocol) request is read and put back.
    """
    auth = environ.get("HTTP_AUTHORIZATION", "")
    service = ""
    if "Credential=" in auth:
        try:
            scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
            service = scope.split("/")[3].lower()
        except IndexError:
            service = ""
    service = _SIGNING_ALIASES.get(service, service)
    path = environ.get("PATH_INFO", "")
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return _Protocol("json", service, target.rsplit(".", 1)[-1])
    if "/operation/" in path and path.startswith("/service/"):
        return _Protocol("cbor", service or "cloudwatch", path.rsplit("/", 1)[-1])
    query = parse_qs(environ.get("QUERY_STRING", ""))
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        form = parse_qs(body.decode("utf-8", "replace"))
        action = (form.get("Action") or query.get("Action") or [""])[0]
        if action:
            return _Protocol("ec2" if service == "ec2" else "query", service, action)
    if "Action" in query:
        action = query["Action"][0]
        return _Protocol("ec2" if service == "ec2" else "query", service, action)
    if service == "s3":
        return _Protocol("rest-xml", service, _s3_operation(environ["REQUEST_METHOD"], path, query))
    return _Protocol("rest-json", service, f"{environ.get('REQUEST_METHOD', '')} {path}")


def error_response(
    proto: _Protocol,
    kind: str,
    *,
    skew: float = 0.0,
    code: str | None = None,
    message: str | None = None,
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Build the status line, headers and body AWS sends for ``kind`` in ``proto``'s shape
    (``code`` and ``message``, when given, replace the kind's own)."""
    query_compatible = proto.service in _QUERY_COMPATIBLE and proto.name in ("json", "cbor")
    table = "cbor" if query_compatible else proto.name
    kind_code, status, kind_message = _ERROR_CODES[kind][table]
    code = code or kind_code
    message = message or kind_message.format(action=f"{proto.service}:{proto.operation}")
    if proto.name in ("ec2", "rest-xml", "query"):
        message = xml_escape(message)
    request_id = str(uuid.uuid4())
    reason = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        429: "Too Many Requests",
    }.get(status, "")
    reason = reason or {500: "Internal Server Error", 503: "Service Unavailable"}[status]
    headers = [("x-amzn-RequestId", request_id)]
    sender = "Receiver" if status >= 500 else "Sender"
    if query_compatible:
        # awsQueryCompatible services keep their query-era codes in x-amzn-query-error.
        headers.append(("x-amzn-query-error", f"{code};{sender}"))
    if proto.name == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers += [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    elif proto.name == "rest-json":
        body = json.dumps({"message": message}).encode()
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    elif proto.name == "cbor":
        body = _cbor_map({"__type": code, "message": message})
        headers += [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
        ]
    elif proto.name == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers.append(("Content-Type", "text/xml;charset=UTF-8"))
    elif proto.name == "rest-xml":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
            f"<Code>{code}</Code><Message>{message}</Message>"
            f"<RequestId>{request_id[:16].upper()}</RequestId></Error>"
        ).encode()
        headers.append(("Content-Type", "application/xml"))
    else:
        body = (
            "<ErrorResponse><Error>"
            f"<Type>{sender}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    if kind == "clock_skew":
        from email.utils import formatdate

        headers.append(("Date", formatdate(time.time() + skew, usegmt=True)))
    headers.append(("Content-Length", str(len(body))))
    return f"{status} {reason}", headers, body


_READS = (
    "Describe",
    "Get",
    "List",
    "Lookup",
    "Filter",
    "Search",
    "Head",
    "BatchGet",
    "GET ",
    "HEAD ",
)


def _is_read(operation: str) -> bool:
    """Whether ``operation`` only reads (so a seeded world it ran against is still as seeded)."""
    return operation.startswith(_READS)


class FaultInjector:
    """WSGI middleware that fails chosen requests before they reach moto, and records all."""

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app
        self._lock = threading.Lock()
        self._rules: list[list[Any]] = []  # [rule, remaining, to pass first]
        self._seen: list[SeenRequest] = []
        self.writes = 0  # requests that may change the emulator's state (never cleared)

    def add(self, rule: FaultRule) -> FaultRule:
        """Install ``rule``; rules are tried in the order they were added."""
        with self._lock:
            self._rules.append([rule, rule.times, rule.after])
        return rule

    def remove(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules = [r for r in self._rules if r[0] is not rule]

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [r[0] for r in self._rules]

    def seen(self) -> list[SeenRequest]:
        with self._lock:
            return list(self._seen)

    def clear_seen(self) -> None:
        with self._lock:
            self._seen.clear()

    def _take(
        self, service: str, operation: str, region: str = "", path: str = ""
    ) -> FaultRule | None:
        with self._lock:
            self._seen.append(SeenRequest(service, operation, time.monotonic(), region))
            if not _is_read(operation):
                self.writes += 1
            for entry in self._rules:
                rule, remaining, passing = entry
                if remaining == 0 or not rule.matches(service, operation, region, path):
                    continue
                if passing:
                    entry[2] = passing - 1
                    continue
                if remaining is not None:
                    entry[1] = remaining - 1
                return rule
        return None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self.app(environ, start_response)
        proto = identify(environ)
        path = environ.get("PATH_INFO", "")  # decoded by the WSGI server
        rule = self._take(proto.service, proto.operation, _signed_region(environ), path)
        if rule is None:
            return self.app(environ, start_response)
        if rule.kind in ("slow", "timeout"):
            time.sleep(rule.delay)
            if rule.kind == "slow":
                return self.app(environ, start_response)
        if rule.kind == "lost":
            for _ in self.app(environ, lambda *args, **kwargs: None):
                pass
            _drop_connection(environ)
        if rule.kind in ("truncated", "malformed"):
            return _damaged(self.app, environ, start_response, rule.kind)
        if rule.kind in ("reset", "timeout"):
            _drop_connection(environ)
        status, headers, body = error_response(
            proto, rule.kind, skew=rule.delay, code=rule.code, message=rule.message
        )
        start_response(status, headers)
        return [body]


def _damaged(
    app: Callable[..., Iterable[bytes]],
    environ: dict[str, Any],
    start_response: Any,
    kind: str,
) -> Iterable[bytes]:
    """The real answer, cut in half (its full length announced), or a 200 of garbage."""
    got: list[Any] = []
    body = b"".join(app(environ, lambda status, headers, *_: got.append((status, headers))))
    status, headers = got[0] if got else ("200 OK", [])
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    if kind == "malformed":
        body = b'<html><body>502 proxy error \x00{"half": [</body>'
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [body]
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    sock: socket.socket | None = environ.get("werkzeug.socket")

    def cut() -> Iterator[bytes]:
        yield body[: len(body) // 2]
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise ConnectionResetError("fault injected: truncated answer")

    return cut()


def _drop_connection(environ: dict[str, Any]) -> None:
    sock: socket.socket | None = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            # Linger 0: close sends RST, like a load balancer dropping the connection.
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    # werkzeug treats ConnectionError as "client went away" and writes nothing.
    raise ConnectionResetError("fault injected: connection reset")


def _silence_loggers() -> None:
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [logging.NullHandler()]
        logger.propagate = False
        logger.setLevel(logging.CRITICAL + 1)


class EmbeddedAws:
    """moto's server in a daemon thread of this process, on 127.0.0.1.

    Example:
        >>> with EmbeddedAws() as aws:
        ...     boto3.client("ec2", endpoint_url=aws.url, region_name="us-east-1")
    """

    # URLs served by an EmbeddedAws of this process: the seed may write to their backends directly.
    _serving: set[str] = set()

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._host = host
        self._requested_port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.faults: FaultInjector | None = None
        self.generation = 0  # resets so far

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> str:
        """Start serving and return the endpoint URL (``http://127.0.0.1:PORT``)."""
        if self._server is not None:
            return self.url
        os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
        _silence_loggers()
        share_botocore_loader()
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        from . import extensions

        extensions.install()

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

            def log_error(self, *args: Any, **kwargs: Any) -> None:
                pass

            def log_message(self, *args: Any, **kwargs: Any) -> None:
                pass

            def log(self, *args: Any, **kwargs: Any) -> None:
                pass

        self.faults = FaultInjector(DomainDispatcherApplication(create_backend_app))
        server = make_server(
            self._host,
            self._requested_port,
            self.faults,
            threaded=True,
            request_handler=QuietHandler,
        )
        server.log = lambda *args, **kwargs: None  # "Error on request" tracebacks
        server.handle_error = lambda *args, **kwargs: None  # socketserver's stderr dump
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="hamari-moto",
            daemon=True,
        )
        self._thread.start()
        EmbeddedAws._serving.add(self.url)
        return self.url

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._server is None:
            return
        EmbeddedAws._serving.discard(self.url)
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> EmbeddedAws:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state ---------------------------------------------------------------------------------
    @classmethod
    def serves(cls, url: str) -> bool:
        """Whether ``url`` is an emulator running in this process (its backends are ours)."""
        return url in cls._serving

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("EmbeddedAws is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def state_token(self) -> tuple[int, int, int]:
        """Changes whenever the emulator's state may have: a reset, a write over HTTP or direct.

        The tests reuse a seeded world while this stays the same, instead of seeding anew.
        """
        from . import direct

        writes = self.faults.writes if self.faults else 0
        return (self.generation, writes, direct.WRITES[0])

    @property
    def requests_seen(self) -> list[SeenRequest]:
        """A copy of every (service, operation, at) seen since start or the last reset."""
        return self.faults.seen() if self.faults else []

    def calls(self, service: str | None = None, operation: str | None = None) -> list[SeenRequest]:
        """The requests seen, filtered by service and/or operation."""
        return [
            r
            for r in self.requests_seen
            if (service is None or r.service == service)
            and (operation is None or r.operation == operation)
        ]

    def reset(self) -> None:
        """Empty every moto backend and the extension stores; clear fault rules and the log."""
        from . import extensions

        self.generation += 1
        with urlopen(Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10) as resp:
            resp.read()
        extensions.reset_stores()
        if self.faults is not None:
            self.faults.clear()
            self.faults.clear_seen()
