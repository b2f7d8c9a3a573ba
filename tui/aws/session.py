"""One aiobotocore session per app, long-lived clients, and the single door every call goes through.

Why one door: every request must be read-only (checked against :mod:`tui.aws.operations` before it
is sent), spaced below AWS's per-account rate limits, bounded by an outer deadline (aiohttp's read
timeout is per read, not per call), counted for the cost meter, and translated into
:mod:`tui.aws.errors`. Clients are created lazily on the running loop (the app's own) and kept until
:meth:`Aws.close`, which also stops Logs Insights queries still running, so an SSH drop leaves no
query burning money.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.aws.errors import (
    AccessDeniedError,
    CredentialsError,
    HamariError,
    OfflineError,
    ReadOnlyViolation,
    RegionNotEnabledError,
    ThrottledError,
    credentials_hint,
    translate,
)
from tui.aws.operations import ALLOWED, NOT_IDEMPOTENT, OPT_IN, is_read_only
from tui.aws.ratelimit import RateLimiters

if TYPE_CHECKING:
    from tui.settings import Settings

# Regions that an account must opt in to; a credential error there usually means "not enabled".
OPT_IN_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-west-1",
        "eu-central-2",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
    }
)

DEMO_CREDENTIALS = ("AKIAHAMARIDEMO000000", "hamari-demo-secret-not-a-real-key")
FALLBACK_REGION = "us-east-1"
"""Used when no region is configured anywhere; always announced (:attr:`Aws.region_notice`)."""


def _config_file(env: Mapping[str, str]) -> Path:
    return Path(env.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config").expanduser()


def _needs_mfa(profiles: Mapping[str, Any], name: str) -> bool:
    """True when assuming ``name``'s role, or a role it is chained from, asks for an MFA code."""
    seen: set[str] = set()
    while name and name not in seen:
        seen.add(name)
        profile = profiles.get(name) or {}
        if profile.get("role_arn") and profile.get("mfa_serial"):
            return True
        name = str(profile.get("source_profile") or "")
    return False


def resolve_mfa_credentials(
    profile: str | None,
    *,
    endpoint_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[str, ...] | None:
    """Assume an MFA-protected role now, prompting on the plain terminal, before a TUI owns it.

    botocore asks for the MFA code (``getpass``) when it first needs credentials; inside the TUI
    that prompt would be drawn over and typed into by Textual. Resolving here, before the app
    starts, keeps the prompt where the user can answer it. The role's temporary credentials
    are returned for the session (they last the role's duration; hamari says when they expire).

    Returns:
        (access key, secret key[, session token]), or None when the profile needs no MFA code
        (then the credential chain runs as usual, inside the app).

    Raises:
        HamariError: the code was refused or the role could not be assumed.
    """
    env = os.environ if env is None else env
    try:
        text = _config_file(env).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if "mfa_serial" not in text:  # the common case costs no botocore import
        return None
    import botocore.session

    session = botocore.session.Session(profile=profile) if profile else botocore.session.Session()
    try:
        name = str(session.get_config_variable("profile") or "default")
        if not _needs_mfa(session.full_config.get("profiles", {}), name):
            return None
        if endpoint_url:
            # --endpoint-url applies to every service, STS's AssumeRole included.
            create = session.create_client

            def create_client(service: str, *args: Any, **kwargs: Any) -> Any:
                return create(service, *args, **{**kwargs, "endpoint_url": endpoint_url})

            session.create_client = create_client  # type: ignore[method-assign]
        credentials = session.get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
    except Exception as exc:  # botocore raises many types; translate them all
        raise translate(exc, service="sts", operation="AssumeRole", profile=profile) from None
    if frozen is None or not frozen.access_key:
        return None
    token = (frozen.token,) if frozen.token else ()
    return (frozen.access_key, frozen.secret_key, *token)


def utc_timestamp(value: Any) -> datetime:
    """Parse a timestamp of an AWS response: epochs straight to UTC, anything else as botocore."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    from botocore.utils import parse_timestamp

    return parse_timestamp(value)


def refuse_unreadable_json(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    """(botocore ``before-parse``) A 200 whose body is not JSON, on a JSON API, is an error.

    botocore reads such a body as an empty answer: a proxy's HTML page or a cut-off body in
    front of LookupEvents would show as "no events". XML APIs raise on their own.
    """
    body = response_dict.get("body")
    if response_dict.get("status_code", 0) >= 300 or not isinstance(body, bytes | bytearray):
        return
    if operation_model.service_model.resolved_protocol not in ("json", "rest-json"):
        return
    if not body.strip():
        return
    import json

    from botocore.parsers import ResponseParserError

    try:
        json.loads(body)
    except ValueError:
        raise ResponseParserError(
            f"the answer is not JSON ({len(body)} bytes, "
            f"{response_dict.get('headers', {}).get('content-type', 'no content type')})"
        ) from None


@dataclass(frozen=True)
class Connection:
    """Where and as whom to connect. Built from settings; never read from globals."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    demo: bool = False
    static_credentials: tuple[str, ...] | None = None  # key, secret[, session token]
    call_timeout: float = 30.0
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    # CloudTrail lookups also read the partition's global region (IAM, STS, sign-in events).
    global_events: bool = True
    # --athena-workgroup: the only way Athena's calls (operations.OPT_IN) are let through.
    athena_workgroup: str | None = None

    @property
    def label(self) -> str:
        """Where requests go, for the header."""
        if self.demo:
            return f"DEMO {self.endpoint_url}"
        return self.endpoint_url or "aws"


def connection_for(
    settings: Settings,
    *,
    demo_url: str | None = None,
    credentials: tuple[str, ...] | None = None,
) -> Connection:
    """Where and as whom to connect for these settings: the demo's emulator at ``demo_url``,
    or AWS (with ``credentials`` resolved beforehand, e.g. after an MFA prompt)."""
    if demo_url is not None:
        return Connection(
            region=settings.region or "us-east-1",
            endpoint_url=demo_url,
            demo=True,
            static_credentials=credentials or DEMO_CREDENTIALS,
            call_timeout=settings.call_timeout,
            global_events=settings.global_events,
            athena_workgroup=settings.athena_workgroup,
        )
    return Connection(
        profile=settings.profile,
        region=settings.region,
        endpoint_url=settings.endpoint_url,
        static_credentials=credentials,
        call_timeout=settings.call_timeout,
        global_events=settings.global_events,
        athena_workgroup=settings.athena_workgroup,
    )


@dataclass(frozen=True)
class Identity:
    """Who we are, from sts:GetCallerIdentity."""

    account: str
    arn: str
    user_id: str

    @property
    def principal(self) -> str:
        """A short readable principal: ``role/Session`` or ``user/alice``."""
        resource = self.arn.split(":", 5)[-1]
        if resource.startswith("assumed-role/"):
            parts = resource.split("/")
            return f"{parts[1]}/{parts[2]}" if len(parts) >= 3 else resource
        return resource


@dataclass(frozen=True)
class AwsEvent:
    """A notable thing that happened in the AWS layer, for the status line and the meter."""

    kind: str  # "throttled" | "retrying" | "error" | "recovered"
    service: str
    operation: str
    message: str = ""
    retry_in: float = 0.0
    attempt: int = 0  # the retry about to be sent (1 for the first), of ``attempts``
    attempts: int = 0


@dataclass
class Meter:
    """Requests per API and other billable quantities, for the status bar's cost meter."""

    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    throttles: Counter[str] = field(default_factory=Counter)
    quantities: Counter[str] = field(default_factory=Counter)

    def add(self, name: str, amount: int = 1) -> None:
        """Count a billable quantity, e.g. ``metrics_requested`` or ``s3_bytes``."""
        self.quantities[name] += amount

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


class Aws:
    """The AWS access point of one app: session, clients, limits, deadline, errors, meter."""

    def __init__(
        self,
        conn: Connection,
        *,
        limiters: RateLimiters | None = None,
        max_throttle_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
    ) -> None:
        self.conn = conn
        self.limiters = limiters or RateLimiters()
        self.meter = Meter()
        self.identity: Identity | None = None
        # Why the identity is unknown although the credentials were accepted (see open()).
        self.identity_error: HamariError | None = None
        self.clock_offset: float | None = None
        self.max_throttle_retries = max_throttle_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.listeners: list[Callable[[AwsEvent], None]] = []
        self._session: Any = None
        self._stack: AsyncExitStack | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._client_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._credentials_error: CredentialsError | None = None
        self._queries: set[tuple[str, str, str]] = set()  # (service, region, query id)
        self._closed = False

    # -- life cycle -------------------------------------------------------------------------------

    @property
    def region(self) -> str:
        """--region / HAMARI_REGION / config / AWS_REGION (settings), then botocore's
        AWS_DEFAULT_REGION or the profile's region, else :data:`FALLBACK_REGION`."""
        return self.conn.region or self._configured_region() or FALLBACK_REGION

    def _configured_region(self) -> str:
        if self._session is None:
            return ""
        return str(self._session.get_config_variable("region") or "")

    @property
    def region_notice(self) -> str:
        """Why the region is what it is when nothing chose it ("" when something did)."""
        if self.conn.region or self._session is None or self._configured_region():
            return ""
        return (
            f"no AWS region is configured (--region, AWS_REGION, AWS_DEFAULT_REGION or the "
            f"profile's region): using {FALLBACK_REGION}"
        )

    @property
    def account(self) -> str:
        return self.identity.account if self.identity else "?"

    def _make_session(self) -> Any:
        from aiobotocore.session import AioSession

        session = AioSession(profile=self.conn.profile) if self.conn.profile else AioSession()
        # botocore turns every epoch timestamp into local time through dateutil's tzlocal
        # (~25 us each): 200k GetMetricData datapoints of a fleet sweep cost seconds of CPU.
        session.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=utc_timestamp
        )
        if self.conn.static_credentials:
            session.set_credentials(*self.conn.static_credentials)
        return session

    async def open(self) -> Identity | None:
        """Create the session on the running loop and check who we are (GetCallerIdentity).

        Returns:
            Who we are, or None when GetCallerIdentity was refused (AccessDenied: the
            credentials were accepted, so every other call may work): the account and
            principal are unknown, and :attr:`identity_error` says why.

        Raises:
            HamariError: with a hint, for every start-up failure (no credentials, expired SSO,
                unknown profile, region not enabled, unreachable endpoint).
        """
        if self._session is None:
            try:
                self._session = self._make_session()
                self._stack = AsyncExitStack()
                # Touch the region to surface ProfileNotFound here rather than on first call.
                _ = self.region
            except Exception as exc:  # botocore raises many types; translate them all
                raise translate(
                    exc, profile=self.conn.profile, region=self.conn.region or ""
                ) from None
        try:
            resp = await self.call("sts", "GetCallerIdentity")
        except AccessDeniedError as err:
            # IAM cannot deny GetCallerIdentity: an STS VPC endpoint's policy (or a proxy) did.
            self.identity_error = AccessDeniedError(
                "sts:GetCallerIdentity was refused (AccessDenied): the account and principal "
                "are unknown; hamari goes on without them.",
                hint="IAM policies cannot deny GetCallerIdentity: look at the policy of the STS "
                "VPC endpoint (AWS_ENDPOINT_URL_STS) or a proxy in the way.",
                code=err.code,
                service="sts",
                operation="GetCallerIdentity",
            )
            return None
        except CredentialsError:
            if self.region in OPT_IN_REGIONS and not self.conn.endpoint_url:
                raise RegionNotEnabledError(
                    f"Region {self.region} refused the credentials: it is probably not enabled.",
                    hint="Enable it in the account settings, or choose another region with "
                    "`hamari --region REGION`.",
                ) from None
            raise
        self.identity = Identity(
            account=str(resp.get("Account", "?")),
            arn=str(resp.get("Arn", "?")),
            user_id=str(resp.get("UserId", "?")),
        )
        date = resp.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                self.clock_offset = (
                    datetime.now(UTC) - parsedate_to_datetime(date)
                ).total_seconds()
        return self.identity

    async def close(self) -> None:
        """Stop running Logs Insights and Athena queries, then close every client (twice: safe)."""
        if self._closed:
            return
        self._closed = True
        for service, region, query_id in list(self._queries):
            with contextlib.suppress(Exception):
                client = await self._client(service, region)
                async with asyncio.timeout(1.5):
                    if service == "athena":
                        await client.stop_query_execution(QueryExecutionId=query_id)
                    elif service == "cloudtrail":  # CloudTrail Lake (tui/aws/lake.py)
                        await client.cancel_query(QueryId=query_id)
                    else:
                        await client.stop_query(queryId=query_id)
        self._queries.clear()
        if self._stack is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self._stack.aclose()
        self._clients.clear()

    # -- clients ----------------------------------------------------------------------------------

    async def preload(self, services: tuple[str, ...]) -> None:
        """Parse these services' API models in a worker thread, ahead of their first call.

        Clients are created on the app's loop (they must be), and creating one parses its model
        there: EC2's alone is ~0.15 s of JSON, a visible stall of the UI. Loading the models
        into the session's loader cache in a thread leaves only the cheap part on the loop.
        """
        if self._session is None:
            return
        loader = self._session.get_component("data_loader")

        def load() -> None:
            for service in services:
                for kind in ("service-2", "endpoint-rule-set-1"):
                    with contextlib.suppress(Exception):  # the client will say what is wrong
                        loader.load_service_model(service, kind)

        await asyncio.to_thread(load)

    async def _client(self, service: str, region: str | None = None) -> Any:
        from aiobotocore.config import AioConfig

        region = region or self.region
        key = (service, region)
        client = self._clients.get(key)
        if client is not None:
            return client
        lock = self._client_locks.setdefault(key, asyncio.Lock())
        async with lock:
            client = self._clients.get(key)
            if client is not None:
                return client
            if self._session is None or self._stack is None:
                self._session = self._make_session()
                self._stack = AsyncExitStack()
            config = AioConfig(
                # botocore's standard retry mode, but with a single attempt: hamari retries
                # transient failures itself (below), so that the user sees "throttled, retrying"
                # and the backoff is shared with the client-side rate limiter.
                retries={"mode": "standard", "total_max_attempts": 1},
                connect_timeout=self.conn.connect_timeout,
                read_timeout=self.conn.read_timeout,
                max_pool_connections=10,
                user_agent_extra="hamari/0.1",
                s3={"addressing_style": "path"} if self.conn.endpoint_url else None,
            )
            kwargs: dict[str, Any] = {"region_name": region, "config": config}
            if self.conn.endpoint_url:
                kwargs["endpoint_url"] = self.conn.endpoint_url
            cm = self._session.create_client(service, **kwargs)
            client = await self._stack.enter_async_context(cm)
            assert client is not None  # for mypy: a client context yields its client
            client.meta.events.register("before-parse", refuse_unreadable_json)
            self._clients[key] = client
            return client

    # -- calls ------------------------------------------------------------------------------------

    def _emit(self, event: AwsEvent) -> None:
        for listener in list(self.listeners):
            with contextlib.suppress(Exception):
                listener(event)

    def _backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff (AWS Architecture Blog)."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * (2**attempt)))

    def go_offline(self, reason: HamariError) -> OfflineError:
        """Stay unconnected: local files still work, and every call says why AWS is missing."""
        err = OfflineError(
            f"Not connected to AWS ({reason.message.rstrip('.')}): this needs AWS; local "
            "files still work.",
            hint=reason.hint,
        )
        self._credentials_error = err
        return err

    @property
    def offline(self) -> bool:
        """True after :meth:`go_offline`: no AWS call is sent."""
        return isinstance(self._credentials_error, OfflineError)

    def reset_credentials(self) -> None:
        """Forget a credential failure, e.g. after the user ran `aws sso login`."""
        self._credentials_error = None

    @property
    def credentials_refused(self) -> bool:
        """AWS refused the credentials mid-session (not offline): calls fail fast until
        :meth:`renew_credentials`."""
        err = self._credentials_error
        return err is not None and not isinstance(err, OfflineError)

    async def renew_credentials(self) -> None:
        """Ask again after a credential failure (the user ran `aws sso login`, or wrote new
        keys): the next call resolves the credential chain anew, in a new session whose
        clients replace the old ones. Credentials given up front (an MFA role, the demo) are
        kept as they are."""
        if not self.credentials_refused:
            return
        self._credentials_error = None
        if self.conn.static_credentials or self._session is None:
            return
        stack = self._stack
        # New session first: the region and every new client come from it at once.
        self._session = self._make_session()
        self._stack = AsyncExitStack()
        self._clients.clear()
        if stack is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await stack.aclose()

    async def call(
        self, service: str, operation: str, *, region: str | None = None, **params: Any
    ) -> dict[str, Any]:
        """Call one read-only AWS operation and return its response.

        Args:
            service: botocore service name (``cloudtrail``, ``logs``, ``cloudwatch``, ``ec2``...).
            operation: the API operation name (``LookupEvents``).
            region: override the app's region (CloudTrail fan-out to us-east-1).
            **params: the request parameters.

        Raises:
            HamariError: translated; throttling is retried here with backoff first.
        """
        if (service, operation) in OPT_IN:
            if not self.conn.athena_workgroup:
                raise ReadOnlyViolation(
                    f"hamari refuses to call {service}:{operation}: Athena runs only when "
                    "opted in with --athena-workgroup (its results are written to S3).",
                    service=service,
                    operation=operation,
                )
        elif (service, operation) not in ALLOWED or not is_read_only(service, operation):
            raise ReadOnlyViolation(
                f"hamari refuses to call {service}:{operation}: it is not on the read-only list.",
                service=service,
                operation=operation,
            )
        if self._credentials_error is not None:
            raise self._credentials_error
        if self._closed:
            raise HamariError("The AWS connection is closed.", service=service, operation=operation)
        from botocore import xform_name

        region = region or self.region
        method = xform_name(operation)
        bucket = self.limiters.bucket(self.account, region, service, operation)
        ceiling = self.limiters.ceiling(service, operation)
        name = f"{service}:{operation}"
        attempt = 0
        while True:
            await bucket.acquire()
            self.meter.requests[name] += 1
            try:
                client = await self._client(service, region)
                async with asyncio.timeout(self.conn.call_timeout):
                    response: dict[str, Any] = await getattr(client, method)(**params)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                err = translate(
                    exc,
                    service=service,
                    operation=operation,
                    profile=self.conn.profile,
                    region=region,
                )
                self.meter.errors[name] += 1
                throttled = isinstance(err, ThrottledError)
                # A lost answer to a call that starts something is not sent again blindly.
                resend = throttled or (service, operation) not in NOT_IDEMPOTENT
                if err.transient and resend and attempt < self.max_throttle_retries:
                    if throttled:
                        self.meter.throttles[name] += 1
                        bucket.slow_down()
                    delay = self._backoff(attempt)
                    attempt += 1
                    kind = "throttled" if throttled else "retrying"
                    retries = self.max_throttle_retries
                    event = AwsEvent(kind, service, operation, err.message, delay, attempt, retries)
                    self._emit(event)
                    await asyncio.sleep(delay)
                    continue
                if isinstance(err, CredentialsError) and region == self.region:
                    # Shown once: further calls fail fast instead of storming the endpoint.
                    # Only the session's own region decides: another region refusing the
                    # keys (another partition, a region not enabled) says nothing about them.
                    if self.conn.static_credentials and not self.conn.demo:
                        # Resolved before the app started (an MFA-protected role): they
                        # cannot refresh without a new code.
                        err.hint = (
                            "The role's temporary credentials (assumed with an MFA code) have "
                            "expired: restart hamari and enter a new code."
                        )
                    elif self.identity is not None:  # mid-session: r asks again
                        err.hint = credentials_hint(self.conn.profile, running=True)
                    self._credentials_error = err
                self._emit(AwsEvent("error", service, operation, err.message))
                raise err from None
            bucket.recover(ceiling)
            if attempt:
                self._emit(AwsEvent("recovered", service, operation))
            return response

    async def pages(
        self,
        service: str,
        operation: str,
        *,
        token_in: str = "NextToken",
        token_out: str = "NextToken",
        max_pages: int | None = None,
        region: str | None = None,
        **params: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield each page of a paginated operation as it arrives (empty pages included).

        Stops when the token is absent or repeats, or after ``max_pages``. A failure raises after
        the pages already yielded, so the caller keeps what it loaded and may resume by calling
        again with ``token_in`` set to the last yielded page's ``token_out``.
        """
        seen: set[str] = set()
        count = 0
        while True:
            page = await self.call(service, operation, region=region, **params)
            count += 1
            yield page
            token = page.get(token_out)
            if not token or token in seen or (max_pages is not None and count >= max_pages):
                return
            seen.add(token)
            params[token_in] = token

    # -- Logs Insights bookkeeping -------------------------------------------------------------------

    def track_query(
        self, query_id: str, region: str | None = None, *, service: str = "logs"
    ) -> None:
        """Remember a running Logs Insights (or Athena) query so :meth:`close` can stop it."""
        self._queries.add((service, region or self.region, query_id))

    def untrack_query(
        self, query_id: str, region: str | None = None, *, service: str = "logs"
    ) -> None:
        self._queries.discard((service, region or self.region, query_id))
