"""AWS faults against the emulator with fault injection in front: what hamari does with each.

The Aws door is driven directly (fast, and what every pane goes through); backoff is patched to 0.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tui.aws.errors import (
    AccessDeniedError,
    CallTimeoutError,
    CredentialsError,
    EndpointUnreachableError,
)
from tui.aws.session import DEMO_CREDENTIALS, Aws, AwsEvent, Connection
from tui.demo import extensions
from tui.demo.server import FaultRule


@pytest.fixture
async def aws(emulator: Any) -> AsyncIterator[Aws]:
    emulator.faults.clear()
    emulator.faults.clear_seen()
    door = Aws(
        Connection(
            region="us-east-1",
            endpoint_url=emulator.url,
            demo=True,
            static_credentials=DEMO_CREDENTIALS,
            call_timeout=0.5,
        ),
        backoff_base=0,
    )
    yield door
    await door.close()
    emulator.faults.clear()


def _events(aws: Aws) -> list[AwsEvent]:
    seen: list[AwsEvent] = []
    aws.listeners.append(seen.append)
    return seen


async def test_throttling_is_absorbed_and_announced(emulator: Any, aws: Aws) -> None:
    events = _events(aws)
    emulator.faults.add(FaultRule("sts", "GetCallerIdentity", "throttle", times=2))
    resp = await aws.call("sts", "GetCallerIdentity")
    assert resp["Account"]
    assert [e.kind for e in events] == ["throttled", "throttled", "recovered"]
    assert aws.meter.throttles["sts:GetCallerIdentity"] == 2
    assert len(emulator.calls("sts", "GetCallerIdentity")) == 3


async def test_expired_token_is_raised_once_with_the_fix_and_no_storm(
    emulator: Any, aws: Aws
) -> None:
    emulator.faults.add(FaultRule("cloudtrail", None, "expired_token"))
    with pytest.raises(CredentialsError) as first:
        await aws.call("cloudtrail", "LookupEvents", MaxResults=5)
    assert "aws sso login" in first.value.hint
    for _ in range(20):  # every pane polling again
        with pytest.raises(CredentialsError):
            await aws.call("cloudwatch", "ListMetrics")
    assert len(emulator.requests_seen) == 1  # one request reached AWS, not 21


async def test_partial_pagination_keeps_pages_and_resumes(emulator: Any, aws: Aws) -> None:
    now = datetime.now(UTC) - timedelta(minutes=5)
    extensions.record_events(
        [
            {
                "eventVersion": "1.10",
                "eventTime": f"{now - timedelta(seconds=i):%Y-%m-%dT%H:%M:%SZ}",
                "eventSource": "ec2.amazonaws.com",
                "eventName": "PageTest",
                "eventID": f"page-{i:04d}",
                "awsRegion": "us-east-1",
                "userIdentity": {"type": "IAMUser", "userName": "p"},
            }
            for i in range(150)
        ],
        region="us-east-1",
    )
    attrs = [{"AttributeKey": "EventName", "AttributeValue": "PageTest"}]
    params: dict[str, Any] = {"LookupAttributes": attrs, "MaxResults": 50}
    # Page 3 fails (a non-transient error); pages 1-2 were yielded and stay with the caller.
    got: list[dict[str, Any]] = []
    rule = FaultRule("cloudtrail", "LookupEvents", "access_denied")
    pages = aws.pages("cloudtrail", "LookupEvents", **params)
    got.append(await pages.__anext__())
    got.append(await pages.__anext__())
    emulator.faults.add(rule)
    with pytest.raises(AccessDeniedError):
        await pages.__anext__()
    assert sum(len(p["Events"]) for p in got) == 100
    emulator.faults.remove(rule)
    params["NextToken"] = got[-1]["NextToken"]  # the next refresh resumes after page 2
    resumed = [p async for p in aws.pages("cloudtrail", "LookupEvents", **params)]
    assert sum(len(p["Events"]) for p in resumed) == 50


async def test_slow_response_times_out_and_is_retried(emulator: Any, aws: Aws) -> None:
    events = _events(aws)
    emulator.faults.add(FaultRule("sts", "GetCallerIdentity", "slow", times=1, delay=1.0))
    resp = await aws.call("sts", "GetCallerIdentity")
    assert resp["Account"]
    assert events[0].kind == "retrying" and "did not answer in time" in events[0].message


async def test_timeouts_exhausting_retries_are_reported_as_timed_out(
    emulator: Any, aws: Aws
) -> None:
    aws.max_throttle_retries = 1
    emulator.faults.add(FaultRule("sts", "GetCallerIdentity", "slow", delay=0.8))
    with pytest.raises(CallTimeoutError):
        await aws.call("sts", "GetCallerIdentity")


async def test_connection_reset_is_retried_then_named(emulator: Any, aws: Aws) -> None:
    emulator.faults.add(FaultRule("sts", "GetCallerIdentity", "reset", times=1))
    assert (await aws.call("sts", "GetCallerIdentity"))["Account"]
    aws.max_throttle_retries = 0
    emulator.faults.add(FaultRule("sts", "GetCallerIdentity", "reset"))
    with pytest.raises(EndpointUnreachableError):
        await aws.call("sts", "GetCallerIdentity")


async def test_clock_skew_is_named_with_its_offset_end_to_end(emulator) -> None:
    """A bastion clock 20 minutes off: the refusal names the offset and the fix, once."""
    from tui.aws.errors import ClockSkewError
    from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
    from tui.demo.server import FaultRule

    before = len(emulator.calls("sts", "GetCallerIdentity"))
    emulator.faults.add(FaultRule("sts", "GetCallerIdentity", "clock_skew", delay=1200.0))
    aws = Aws(
        Connection(
            region="us-east-1",
            endpoint_url=emulator.url,
            demo=True,
            static_credentials=DEMO_CREDENTIALS,
        )
    )
    aws.backoff_base = 0
    try:
        with pytest.raises(ClockSkewError) as info:
            await aws.open()
    finally:
        await aws.close()
        emulator.faults.clear()
    err = info.value
    assert err.offset_seconds is not None and -1260 < err.offset_seconds < -1140
    assert "by -1200 s" in err.message or "by -1199 s" in err.message or "by -1201 s" in err.message
    assert "chronyc" in err.hint
    # Not retried: retrying cannot help until the clock is fixed.
    assert len(emulator.calls("sts", "GetCallerIdentity")) - before == 1


async def test_logs_insights_concurrency_limit_is_queued_not_hammered(emulator, demo_world) -> None:
    """LimitExceededException on StartQuery (too many concurrent queries) backs off and retries."""
    from datetime import timedelta

    from tui.aws import insights
    from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
    from tui.demo.server import FaultRule
    from tui.models.timewindow import TimeWindow

    before = len(emulator.calls("logs", "StartQuery"))
    emulator.faults.add(FaultRule("logs", "StartQuery", "throttle", times=2))
    aws = Aws(
        Connection(
            region="us-east-1",
            endpoint_url=emulator.url,
            demo=True,
            static_credentials=DEMO_CREDENTIALS,
        )
    )
    aws.backoff_base = 0
    await aws.open()
    window = TimeWindow(demo_world.now - timedelta(hours=1), demo_world.now, live=False)
    try:
        progress = [
            p
            async for p in insights.run_query(
                aws, [demo_world.log_group_v2], "fields @message", window
            )
        ]
    finally:
        await aws.close()
        emulator.faults.clear()
    assert progress[-1].status == "Complete"
    assert len(emulator.calls("logs", "StartQuery")) - before == 3  # two refusals, then success
    assert aws.meter.throttles["logs:StartQuery"] == 2


async def test_renewed_credentials_are_read_anew_from_the_chain(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials from the chain (here: the environment) refused mid-session: every call
    fails fast; after the user renews them, `renew_credentials` reads the chain again in a
    new session (the old session's keys are not reused) and calls go through."""
    emulator.faults.clear()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAOLDOLDOLDOLDOLD0")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "old-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    door = Aws(
        Connection(region="us-east-1", endpoint_url=emulator.url, call_timeout=2.0),
        backoff_base=0,
    )
    try:
        await door.open()
        emulator.faults.add(FaultRule("sts", "GetCallerIdentity", "expired_token"))
        with pytest.raises(CredentialsError) as refused:
            await door.call("sts", "GetCallerIdentity")
        assert door.credentials_refused and "press r" in refused.value.hint
        emulator.faults.clear()
        with pytest.raises(CredentialsError):  # no request until renewed
            await door.call("sts", "GetCallerIdentity")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANEWNEWNEWNEWNEW0")
        await door.renew_credentials()
        assert not door.credentials_refused
        assert (await door.call("sts", "GetCallerIdentity"))["Account"]
        client = await door._client("sts")
        creds = client._get_credentials()
        assert creds.access_key == "AKIANEWNEWNEWNEWNEW0"
    finally:
        await door.close()
        emulator.faults.clear()
