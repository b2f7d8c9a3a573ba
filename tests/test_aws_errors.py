"""Every AWS failure becomes an error with a title and a hint that says what to do."""

from __future__ import annotations

import socket

import pytest
from botocore import exceptions as bce
from botocore.parsers import ResponseParserError

from tui.aws import errors as E
from tui.aws.ratelimit import TokenBucket


def client_error(
    code: str, message: str = "msg", status: int = 400, date: str | None = None
) -> bce.ClientError:
    headers = {"date": date} if date else {}
    return bce.ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers},
        },
        "LookupEvents",
    )


@pytest.mark.parametrize(
    ("exc", "kind", "needle"),
    [
        (client_error("ThrottlingException"), E.ThrottledError, "throttled"),
        (client_error("RequestLimitExceeded"), E.ThrottledError, "throttled"),
        (
            client_error("AccessDeniedException", "User: x is not authorized"),
            E.AccessDeniedError,
            "cloudtrail:LookupEvents",
        ),
        (client_error("UnauthorizedOperation"), E.AccessDeniedError, "cloudtrail:LookupEvents"),
        (
            client_error(
                "ExpiredTokenException", "The security token included in the request is expired"
            ),
            E.CredentialsError,
            "refused",
        ),
        (client_error("InvalidClientTokenId"), E.CredentialsError, "refused"),
        (client_error("OptInRequired"), E.RegionNotEnabledError, "not enabled"),
        (client_error("InternalFailure", status=500), E.ServerError, "AWS side"),
        (
            client_error("ResourceNotFoundException", "no such group"),
            E.NotFoundError,
            "no such group",
        ),
        (bce.NoCredentialsError(), E.CredentialsError, "No AWS credentials"),
        (bce.ProfileNotFound(profile="nope"), E.ConfigError, "does not exist"),
        (bce.SSOTokenLoadError(error_msg="expired"), E.CredentialsError, "SSO"),
        (
            bce.EndpointConnectionError(endpoint_url="https://x"),
            E.EndpointUnreachableError,
            "Cannot reach",
        ),
        (  # DNS: the host does not resolve (a typo in a VPC endpoint's name, no resolver)
            bce.EndpointConnectionError(
                endpoint_url="https://vpce-0abc.logs.eu-west-1.vpce.amazonaws.com:443/",
                error=socket.gaierror(-2, "Name or service not known"),
            ),
            E.UnresolvedHostError,
            "vpce-0abc.logs.eu-west-1.vpce.amazonaws.com does not resolve (DNS)",
        ),
        (bce.ReadTimeoutError(endpoint_url="https://x"), E.CallTimeoutError, "timed out"),
        (TimeoutError(), E.CallTimeoutError, "did not answer"),
        (
            ConnectionResetError(104, "Connection reset by peer"),
            E.EndpointUnreachableError,
            "Network error",
        ),
        (
            bce.ConnectionClosedError(endpoint_url="https://x"),
            E.EndpointUnreachableError,
            "closed before cloudtrail:LookupEvents answered",
        ),
        (ResponseParserError("not JSON"), E.BadResponseError, "could not read"),
        (ValueError("odd"), E.HamariError, "ValueError"),
    ],
)
def test_translate(exc: BaseException, kind: type[E.HamariError], needle: str) -> None:
    err = E.translate(exc, service="cloudtrail", operation="LookupEvents", profile="prod")
    assert type(err) is kind
    assert needle.lower() in (err.message + err.hint).lower()
    assert err.title


async def test_a_host_that_does_not_resolve_is_named_as_dns_with_what_to_check() -> None:
    """The real chain (aiobotocore, aiohttp's DNS error, socket.gaierror), not a stand-in: the
    user reads which name did not resolve, and the spelling and DNS to check."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    client = get_session().create_client(
        "logs",
        region_name="us-east-1",
        endpoint_url="https://hamari-no-such-host.invalid",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        config=AioConfig(retries={"max_attempts": 1}),
    )
    async with client as logs:
        with pytest.raises(Exception) as raised:
            await logs.describe_log_groups()
    err = E.translate(raised.value, service="logs", operation="DescribeLogGroups")
    assert isinstance(err, E.EndpointUnreachableError)
    assert "hamari-no-such-host.invalid does not resolve (DNS)" in err.message, err.message
    assert "AWS_ENDPOINT_URL_" in err.hint and "resolv.conf" in err.hint


def test_credentials_hint_names_the_profile_and_the_command() -> None:
    err = E.translate(
        client_error("ExpiredToken"), service="sts", operation="GetCallerIdentity", profile="prod"
    )
    assert "aws sso login --profile prod" in err.hint


def test_clock_skew_names_the_offset() -> None:
    exc = client_error(
        "InvalidSignatureException",
        "Signature expired: 20261128T100000Z is now earlier than 20261128T101500Z (skew)",
        date="Sat, 28 Nov 2026 10:15:00 GMT",
    )
    err = E.translate(exc, service="logs", operation="FilterLogEvents")
    assert isinstance(err, E.ClockSkewError)
    assert err.offset_seconds is not None
    assert "chronyc" in err.hint or "timedatectl" in err.hint


async def test_token_bucket_spaces_requests_below_the_rate() -> None:
    now = [0.0]
    sleeps: list[float] = []

    async def fake_sleep(delay: float) -> None:
        sleeps.append(delay)
        now[0] += delay

    bucket = TokenBucket(rate=2.0, clock=lambda: now[0])
    import tui.aws.ratelimit as rl

    original = rl.asyncio.sleep
    rl.asyncio.sleep = fake_sleep  # type: ignore[assignment]
    try:
        for _ in range(5):
            await bucket.acquire()
    finally:
        rl.asyncio.sleep = original  # type: ignore[assignment]
    # 5 requests at 2/s with a burst of 1 need 2 s of spacing in all.
    assert now[0] == pytest.approx(2.0)
    bucket.slow_down()
    assert bucket.rate == 1.0
    bucket.recover(ceiling=2.0, step=5)
    assert bucket.rate == 2.0


def test_access_denied_names_the_iam_action_not_the_api() -> None:
    """ListObjectsV2 is authorized as s3:ListBucket: granting s3:ListObjectsV2 would fix nothing."""
    err = E.translate(
        client_error("AccessDenied", status=403), service="s3", operation="ListObjectsV2"
    )
    assert isinstance(err, E.AccessDeniedError)
    assert err.action == "s3:ListBucket"
    assert "s3:ListBucket" in err.message and "s3:ListBucket" in err.hint
    assert "ListObjectsV2" not in err.message + err.hint
    assert "kms:Decrypt" not in err.hint


def test_s3_get_object_denied_mentions_the_bucket_key() -> None:
    """An SSE-KMS object whose key the caller may not use is refused as a plain AccessDenied."""
    err = E.translate(client_error("AccessDenied", status=403), service="s3", operation="GetObject")
    assert "s3:GetObject" in err.hint and "kms:Decrypt" in err.hint
    other = E.translate(
        client_error("AccessDeniedException"), service="logs", operation="FilterLogEvents"
    )
    assert "kms:Decrypt" not in other.hint


_KEY = "arn:aws:kms:eu-west-1:210987654321:key/mrk-1234abcd12ab34cd56ef1234567890ab"
_WHO = "User: arn:aws:sts::123456789012:assumed-role/Bastion/i-0abc is not authorized to perform"


@pytest.mark.parametrize(
    ("service", "operation", "message", "says", "grant"),
    [
        (  # SSE-KMS object, identity policy missing kms:Decrypt: the key (another account's)
            "s3",
            "GetObject",
            f"{_WHO}: kms:Decrypt on resource: {_KEY} because no identity-based policy allows "
            "the kms:Decrypt action",
            f"the object is encrypted with KMS key {_KEY}",
            "Allow `kms:Decrypt` on that key in your role's IAM policy.",
        ),
        (
            "s3",
            "GetObject",
            f"{_WHO}: kms:Decrypt on resource: {_KEY} because no resource-based policy allows "
            "the kms:Decrypt action",
            _KEY,
            "key policy does not allow your role",
        ),
        (
            "s3",
            "GetObject",
            f"{_WHO}: kms:Decrypt on resource: {_KEY} with an explicit deny in a service "
            "control policy",
            _KEY,
            "SCP",
        ),
        (
            "s3",
            "GetObject",
            f"{_WHO}: kms:Decrypt on resource: {_KEY} with an explicit deny in a resource-based "
            "policy",
            _KEY,
            "key policy denies it",
        ),
        (  # the key not named: how to find it
            "s3",
            "GetObject",
            f"{_WHO}: kms:Decrypt",
            "KMS key (not named by AWS)",
            "SSEKMSKeyId",
        ),
        (  # a KMS-encrypted log group: the data, not an object
            "logs",
            "FilterLogEvents",
            f"{_WHO}: kms:Decrypt on resource: {_KEY}",
            f"the data is encrypted with KMS key {_KEY}",
            "IAM policy and in the key policy",
        ),
    ],
)
def test_an_access_denied_naming_kms_says_the_key_and_what_to_grant(
    service: str, operation: str, message: str, says: str, grant: str
) -> None:
    err = E.translate(
        client_error("AccessDenied", message, 403), service=service, operation=operation
    )
    assert isinstance(err, E.AccessDeniedError)
    assert f"{service}:{operation} refused" in err.message and says in err.message, err.message
    assert "kms:Decrypt" in err.message and grant in err.hint, err.hint
    assert "Grant `s3:GetObject`" not in err.hint  # granting the API would not help


@pytest.mark.parametrize(
    ("code", "message", "state", "todo"),
    [
        ("KMS.DisabledException", f"{_KEY} is disabled.", "which is disabled", "enable-key"),
        (
            "KMS.KMSInvalidStateException",
            f"{_KEY} is pending deletion.",
            "pending deletion",
            "cancel-key-deletion",
        ),
        ("KMS.NotFoundException", "Key does not exist", "which no longer exists", "another copy"),
    ],
)
def test_an_object_whose_key_cannot_be_used_says_the_key_state_not_a_grant(
    code: str, message: str, state: str, todo: str
) -> None:
    """S3 passes on KMS's answer for an SSE-KMS object whose key is disabled, pending deletion
    or deleted: no grant helps, and it is not "not found" (check the ID and the region)."""
    err = E.translate(client_error(code, message, 400), service="s3", operation="GetObject")
    assert "s3:GetObject refused: the object is encrypted with" in err.message, err.message
    assert state in err.message and code in err.message and todo in err.hint, (
        err.message,
        err.hint,
    )
    assert (_KEY in err.message) == (_KEY in message)
    assert "Grant" not in err.hint and "Check the ID" not in err.hint
    assert not isinstance(err, (E.AccessDeniedError, E.NotFoundError, E.ServerError))


def test_an_access_denied_not_naming_kms_still_says_what_api_to_grant() -> None:
    err = E.translate(
        client_error("AccessDenied", "Access Denied", 403), service="s3", operation="GetObject"
    )
    assert err.message == "Not allowed to call s3:GetObject." and "kms:Decrypt" in err.hint


@pytest.mark.parametrize(
    ("code", "message", "kind", "says", "todo"),
    [
        (
            "LimitExceededException",
            "Account maximum query concurrency limit of [30] reached.",
            E.ThrottledError,
            "Too many Logs Insights queries are running",
            "describe-queries --status Running",
        ),
        (
            "MalformedQueryException",
            "unexpected symbol found ] at line 1 and position 40",
            E.InvalidRequestError,
            "refused the query hamari wrote",
            "report the filter",
        ),
        (
            "AccessDeniedException",
            "not authorized",
            E.AccessDeniedError,
            "logs:StartQuery",
            "Grant `logs:StartQuery`",
        ),
    ],
)
def test_start_query_refusals_say_which_and_what_to_do(
    code: str, message: str, kind: type[E.HamariError], says: str, todo: str
) -> None:
    err = E.translate(client_error(code, message), service="logs", operation="StartQuery")
    assert type(err) is kind and says in err.message and todo in err.hint, (err.message, err.hint)
    assert "hamari slows down and retries" not in err.hint  # a refused start is not retried
