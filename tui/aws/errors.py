"""A small error hierarchy for AWS trouble, each with a title and a hint that says what to do.

Every botocore/aiohttp exception is translated here, once, so that panes and the CLI never look at
botocore internals. The hierarchy mirrors how the UI reacts: *transient* errors (throttled,
unreachable, timed out) go to the status line and are retried; *per-pane* errors (AccessDenied on one
API) become an inline panel in that pane; *credential* errors are shown once with the fix, without a
retry storm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from tui.aws.operations import iam_action


class HamariError(Exception):
    """Base error: a short title, a longer hint, and where it happened."""

    title: str = "AWS error"
    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        service: str = "",
        operation: str = "",
        code: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.service = service
        self.operation = operation
        self.code = code

    @property
    def action(self) -> str:
        """The IAM action that was attempted, e.g. ``s3:ListBucket`` for ListObjectsV2."""
        if not self.service or not self.operation:
            return ""
        return iam_action(self.service, self.operation)

    def __str__(self) -> str:
        return self.message


class ThrottledError(HamariError):
    title = "Throttled"
    transient = True


class AccessDeniedError(HamariError):
    title = "Access denied"


class CredentialsError(HamariError):
    """No credentials, expired credentials or an expired SSO token."""

    title = "Credentials"


class OfflineError(CredentialsError):
    """hamari could not connect and runs on local files only: every AWS call raises this.

    A credential error, so that pollers show it once and stop instead of retrying.
    """

    title = "Needs AWS"


class EndpointUnreachableError(HamariError):
    title = "Endpoint unreachable"
    transient = True


class UnresolvedHostError(EndpointUnreachableError):
    """An endpoint's name does not resolve: retried, but rarely fixed by waiting (a typo in
    an endpoint, a resolver or a VPC endpoint's private DNS), so the pane shows what to check."""

    title = "DNS"


class CallTimeoutError(HamariError):
    title = "Timed out"
    transient = True


class ServerError(HamariError):
    """A 5xx from AWS: usually transient."""

    title = "AWS error"
    transient = True


class BadResponseError(HamariError):
    """An answer that could not be read (malformed, or not the API's): usually something in
    the way (a proxy, a VPC endpoint) answered, or the answer was cut; retried."""

    title = "Unreadable answer"
    transient = True


class ClockSkewError(HamariError):
    title = "Clock skew"

    def __init__(self, message: str, *, offset_seconds: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.offset_seconds = offset_seconds


class RegionNotEnabledError(HamariError):
    title = "Region not enabled"


class NotFoundError(HamariError):
    title = "Not found"


class InvalidRequestError(HamariError):
    title = "Invalid request"


class ReadOnlyViolation(HamariError):
    """Raised before sending when code tries to call an operation outside the read-only list."""

    title = "Refused: not read-only"


class DiskFullError(HamariError):
    """The stores' folder filled up (:mod:`tui.models.scratch`): not AWS, not a bug."""

    title = "Store folder full"


class ConfigError(HamariError):
    """Bad profile, bad flag, insecure endpoint: found before any call is made."""

    title = "Configuration"


_THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "TransactionInProgressException",
        "BandwidthLimitExceeded",
        "LimitExceededException",
    }
)
_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "Forbidden",
        "AuthorizationError",
        "AuthorizationErrorException",
    }
)
_EXPIRED_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "AuthFailure",
    }
)
_SKEW_CODES = frozenset({"RequestTimeTooSkewed", "InvalidSignatureException"})
_REGION_CODES = frozenset({"OptInRequired", "InvalidClientTokenId.RegionDisabled"})
_NOT_FOUND_SUFFIXES = ("NotFound", "NotFoundException", "NoSuchBucket", "NoSuchKey")


def credentials_hint(profile: str | None, *, running: bool = False) -> str:
    """The command that most likely fixes a credential problem for this profile.

    ``running``: refused mid-session: ``r`` asks again with the credentials read anew, so
    what the panes loaded stays (no restart).
    """
    then = "then press r in hamari (no restart needed)" if running else "then restart hamari"
    if profile:
        return (
            f"Run `aws sso login --profile {profile}` (SSO) or refresh the keys of profile "
            f"'{profile}' in ~/.aws/credentials, {then}."
        )
    if running:
        return (
            "Run `aws sso login` (SSO) or refresh the keys in ~/.aws/credentials (on EC2 the "
            f"instance profile renews them itself), {then}."
        )
    return (
        "Run `aws sso login` (SSO), `aws configure` (access keys), or choose a profile with "
        "`hamari --profile NAME`; on EC2, check the instance profile."
    )


def _denied_hint(service: str, operation: str, action: str) -> str:
    """Grant the IAM action; for an S3 object, the bucket's KMS key may be what refused."""
    hint = f"Grant `{action}` to your role (see iam-policy.json in the README)."
    if (service, operation) == ("s3", "GetObject"):
        # S3 answers AccessDenied, not a KMS error, when the object is SSE-KMS encrypted and
        # the caller may not use the key.
        hint += (
            " If the bucket uses SSE-KMS, also allow `kms:Decrypt` on its key (in your policy"
            " and in the key policy)."
        )
    return hint + " The other panes keep working."


_KMS_ACTION = re.compile(r"\bkms:([A-Za-z]+)")
_KMS_KEY = re.compile(
    r"\barn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key/[A-Za-z0-9-]{1,128}|alias/[A-Za-z0-9/_-]{1,256})"
)
# What refused, from IAM's "because ..." / "with an explicit deny in a ... policy" clause, and
# what to do about it. Short: the pane's error panel has four lines.
_KMS_WHO = (
    (
        "explicit deny in a service control policy",
        "an SCP of your organization denies it: ask its administrators.",
    ),
    (
        "explicit deny in a resource control policy",
        "a resource control policy of your organization denies it: ask its administrators.",
    ),
    (
        "explicit deny in a resource-based policy",
        "the key policy denies it: ask the key's owner to lift that Deny for your role.",
    ),
    (
        "explicit deny",
        "a Deny in your role's policies (or its boundary) refuses it: lift it for that key.",
    ),
    (
        "no resource-based policy allows",
        "the key policy does not allow your role: ask the key's owner to allow `{action}` for it.",
    ),
    ("no identity-based policy allows", "allow `{action}` on that key in your role's IAM policy."),
)


def _kms_refusal(
    msg: str, service: str, operation: str, code: str, action: str
) -> AccessDeniedError | None:
    """An AccessDenied whose message names a KMS action: the data is encrypted with a key the
    caller may not use (S3 answers GetObject of an SSE-KMS object this way, passing KMS's
    message on), so granting ``action`` itself would not help. None when it names no KMS."""
    found = _KMS_ACTION.search(msg)
    if found is None:
        return None
    kms_action = f"kms:{found.group(1)}"
    key = _KMS_KEY.search(msg)
    what = "the object is" if service == "s3" else "the data is"
    named = f"KMS key {key.group(0)}" if key else "a KMS key (not named by AWS)"
    lowered = msg.lower()
    who = next((says for clause, says in _KMS_WHO if clause in lowered), "")
    hint = (
        who.format(action=kms_action)
        if who
        else f"allow `{kms_action}` on that key in your role's IAM policy and in the key policy."
    )
    hint = hint[0].upper() + hint[1:]
    if key is None and service == "s3":
        hint += " `aws s3api head-object` names the key (SSEKMSKeyId)."
    return AccessDeniedError(
        f"{action} refused: {what} encrypted with {named}, which your role may not use "
        f"({kms_action}).",
        hint=hint,
        code=code,
        service=service,
        operation=operation,
    )


# KMS's answers about a key that exists but cannot be used, as S3 passes them on for an SSE-KMS
# object: what the key is, and what its owner can do (no grant helps, and retrying does not).
_KMS_STATES: Final = {
    "KMS.DisabledException": (
        "is disabled",
        "Nothing can read it while the key is disabled: its owner can enable it "
        "(`aws kms enable-key --key-id KEY`).",
    ),
    "KMS.KMSInvalidStateException": (
        "cannot be used in its present state (pending deletion, or pending import)",
        "If it is pending deletion, its owner can cancel that (`aws kms cancel-key-deletion "
        "--key-id KEY`, then `aws kms enable-key`); `aws kms describe-key` shows its state.",
    ),
    "KMS.NotFoundException": (
        "no longer exists",
        "Data encrypted with a deleted key cannot be read by anyone: ask the bucket's owner "
        "for another copy (a replica, a backup).",
    ),
}


def _kms_key_state(
    msg: str, service: str, code: str, action: str, where: dict[str, Any]
) -> HamariError:
    """An object encrypted with a KMS key that is disabled, pending deletion or gone."""
    state, hint = _KMS_STATES[code]
    key = _KMS_KEY.search(msg)
    named = f"KMS key {key.group(0)}" if key else "a KMS key"
    what = "the object is" if service == "s3" else "the data is"
    if key is None and service == "s3":
        hint += " `aws s3api head-object` names the key (SSEKMSKeyId)."
    return HamariError(
        f"{action} refused: {what} encrypted with {named}, which {state} ({code}).",
        hint=hint,
        code=code,
        **where,
    )


def _skew_from_headers(headers: dict[str, str], now: datetime | None = None) -> float | None:
    from email.utils import parsedate_to_datetime  # only on a clock-skew error

    date = headers.get("date") or headers.get("Date")
    if not date:
        return None
    try:
        server = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return None
    local = now or datetime.now(UTC)
    return (local - server).total_seconds()


def translate(
    exc: BaseException,
    *,
    service: str = "",
    operation: str = "",
    profile: str | None = None,
    region: str = "",
) -> HamariError:
    """Turn any exception raised by an AWS call into a :class:`HamariError` with a hint."""
    if isinstance(exc, HamariError):
        return exc
    where = dict(service=service, operation=operation)
    # The API in messages about the call; the IAM action (s3:ListBucket, not
    # s3:ListObjectsV2) in what to grant when it was refused.
    action = f"{service}:{operation}" if service and operation else "this API"
    permission = iam_action(service, operation) if service and operation else action

    # Imported lazily: botocore is heavy and the translation must also work in tests without it.
    from botocore import exceptions as bce

    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError is this one since 3.11
        return CallTimeoutError(
            f"{action} did not answer in time.",
            hint="The network or the endpoint is slow; hamari retries. Check the bastion's "
            "connectivity (proxy, VPC endpoint) if it persists.",
            **where,
        )
    if isinstance(exc, bce.ClientError):
        err = exc.response.get("Error", {}) or {}
        code = str(err.get("Code", "") or "")
        msg = str(err.get("Message", "") or code)
        headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
        if code == "LimitExceededException" and (service, operation) == ("logs", "StartQuery"):
            # Not a request rate: the account's limit of Logs Insights queries running at once.
            return ThrottledError(
                "Too many Logs Insights queries are running in this account and region "
                f"({code}): {action} was refused and nothing was started.",
                hint="Wait for some to finish, or stop the ones nobody reads (the console's "
                "Logs Insights query history, or `aws logs describe-queries --status Running` "
                "and `aws logs stop-query`), then run it again; what is loaded stays.",
                code=code,
                **where,
            )
        if code in _THROTTLE_CODES:
            return ThrottledError(
                f"{action} is throttled ({code}).",
                hint="hamari slows down and retries. Other tools using the same account and "
                "region share this limit.",
                code=code,
                **where,
            )
        if code in _DENIED_CODES or code.endswith("AccessDenied"):
            kms = _kms_refusal(msg, service, operation, code, action)
            if kms is not None:
                return kms
            return AccessDeniedError(
                f"Not allowed to call {permission}.",
                hint=_denied_hint(service, operation, permission),
                code=code,
                **where,
            )
        if code in _KMS_STATES:  # S3 passes on KMS's answer about the object's key
            return _kms_key_state(msg, service, code, action, where)
        lowered = msg.lower()
        skewed = code == "RequestTimeTooSkewed" or "signature expired" in lowered
        if skewed or (code in _SKEW_CODES and ("skew" in lowered or "time" in lowered)):
            offset = _skew_from_headers(headers)
            shown = f" by {offset:+.0f} s" if offset is not None else ""
            return ClockSkewError(
                f"The bastion's clock differs from AWS{shown}; requests are refused.",
                hint="Sync the clock (`sudo chronyc makestep` or `sudo timedatectl set-ntp true`).",
                offset_seconds=offset,
                code=code,
                **where,
            )
        if code in _REGION_CODES or ("region" in msg.lower() and "not enabled" in msg.lower()):
            return RegionNotEnabledError(
                f"Region {region or '?'} is not enabled for this account.",
                hint="Choose an enabled region with `hamari --region REGION`, or enable it in "
                "the account settings.",
                code=code,
                **where,
            )
        if code in _EXPIRED_CODES:
            return CredentialsError(
                f"The credentials were refused ({code}).",
                hint=credentials_hint(profile),
                code=code,
                **where,
            )
        if code == "MalformedQueryException":
            return InvalidRequestError(
                f"Logs Insights refused the query hamari wrote for this filter ({code}): "
                f"{_one_line(msg)}",
                hint="The filter still applies to what is loaded. Try the filter without its "
                "last term, and please report the filter and the query (shown before it runs) "
                "as a hamari bug.",
                code=code,
                **where,
            )
        if code.endswith(_NOT_FOUND_SUFFIXES):
            return NotFoundError(msg, hint="Check the ID and the region.", code=code, **where)
        if code.startswith("Invalid") or code.endswith("ValidationException"):
            return InvalidRequestError(msg, hint="", code=code, **where)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if isinstance(status, int) and status >= 500:
            return ServerError(
                f"{action} failed on the AWS side ({code or status}).",
                hint="Usually transient; hamari retries.",
                code=code,
                **where,
            )
        return HamariError(f"{action}: {msg}", code=code, **where)
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ResponseParserError):
        return BadResponseError(
            f"{action} answered with something hamari could not read (malformed or cut short).",
            hint="A proxy or VPC endpoint in the way may be answering instead of AWS (check "
            "HTTPS_PROXY and the endpoint); hamari keeps what it loaded and retries.",
            **where,
        )
    if isinstance(exc, bce.SSOTokenLoadError | bce.UnauthorizedSSOTokenError):
        return CredentialsError(
            "The SSO session has expired or was never started.",
            hint=credentials_hint(profile),
            **where,
        )
    if isinstance(exc, bce.TokenRetrievalError):
        return CredentialsError(
            "The SSO token could not be refreshed.", hint=credentials_hint(profile), **where
        )
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError):
        return CredentialsError(
            "No AWS credentials were found.", hint=credentials_hint(profile), **where
        )
    if isinstance(exc, bce.ProfileNotFound):
        return ConfigError(
            f"The profile '{profile}' does not exist.",
            hint="List profiles with `aws configure list-profiles`, or create one with "
            "`aws configure sso`.",
            **where,
        )
    if isinstance(exc, bce.CredentialRetrievalError):
        return CredentialsError(
            f"Credentials could not be obtained: {exc}", hint=credentials_hint(profile), **where
        )
    if isinstance(exc, bce.ReadTimeoutError | bce.ConnectTimeoutError):
        return CallTimeoutError(
            f"{action} timed out.",
            hint="The network or the endpoint is slow; hamari retries.",
            **where,
        )
    if isinstance(
        exc, bce.EndpointConnectionError | bce.ConnectionClosedError | bce.HTTPClientError
    ):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "")
        host = _unresolved_host(exc)
        if host is not None:
            return UnresolvedHostError(
                f"The name {host} does not resolve (DNS), so {action} could not be sent.",
                hint="Check the endpoint's spelling (--endpoint-url, AWS_ENDPOINT_URL_*), the "
                "bastion's DNS (/etc/resolv.conf), or the VPC endpoint's private DNS; hamari "
                "keeps what it loaded and retries.",
                **where,
            )
        if isinstance(exc, bce.ConnectionClosedError):
            return EndpointUnreachableError(
                f"The connection to {url or 'the AWS endpoint'} closed before {action} answered.",
                hint="The network or something in the way (proxy, VPC endpoint) dropped it; "
                "hamari keeps what it loaded and retries.",
                **where,
            )
        return EndpointUnreachableError(
            f"Cannot reach {url or 'the AWS endpoint'} ({action}).",
            hint="Check the network, proxy (HTTPS_PROXY) or VPC endpoint; hamari keeps what "
            "it loaded and retries.",
            **where,
        )
    if isinstance(exc, bce.NoRegionError):
        return ConfigError(
            "No AWS region is configured.",
            hint="Pass `--region us-east-1` or set AWS_REGION / the profile's region.",
            **where,
        )
    if isinstance(exc, OSError):
        return EndpointUnreachableError(
            f"Network error ({action}): {exc.strerror or exc}",
            hint="Check the network; hamari retries.",
            **where,
        )
    name = type(exc).__name__
    return HamariError(f"{action}: {name}: {_one_line(str(exc))}", **where)


def _unresolved_host(exc: BaseException) -> str | None:
    """The host name whose DNS lookup failed under ``exc``, or None when that is not the cause.

    aiohttp's ClientConnectorDNSError (or a bare ``socket.gaierror``) sits in the botocore
    error's ``kwargs["error"]`` or in its cause chain.
    """
    import socket

    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is None or any(cur is s for s in seen) or len(seen) > 10:
            continue
        seen.append(cur)
        if type(cur).__name__ == "ClientConnectorDNSError" or isinstance(cur, socket.gaierror):
            key = getattr(cur, "_conn_key", None) or getattr(cur, "args", (None,))[0]
            host = getattr(key, "host", None)
            if host:
                return str(host)
            url = getattr(exc, "kwargs", {}).get("endpoint_url", "")
            return url.split("//", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0] or "the endpoint"
        error = getattr(cur, "kwargs", {}).get("error") if hasattr(cur, "kwargs") else None
        todo += [error, cur.__cause__, cur.__context__]
    return None


def _one_line(text: str, limit: int = 200) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class ErrorView:
    """What the UI needs to show an error: plain strings, no exception object."""

    title: str
    message: str
    hint: str
    transient: bool

    @classmethod
    def of(cls, err: HamariError) -> ErrorView:
        return cls(err.title, err.message, err.hint, err.transient)
