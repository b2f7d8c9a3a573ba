"""Faults met mid-incident, pane by pane, against the emulator with fault injection: each pane
says what failed and what to do, the others keep working, nothing loaded is lost, and the pane
recovers when the fault clears, without a restart."""

from __future__ import annotations

from typing import Any

import pytest

from tests.apptools import demo_app, wait_for
from tests.awstools import world_client
from tui.demo.server import FaultRule
from tui.panes.base import ErrorPanel, Pane


def _text(widget: Any) -> str:
    return str(widget.render())


def _fits(panel: ErrorPanel) -> bool:
    """The panel's text wraps into the lines it has (its last lines are not cut off)."""
    width = panel.content_size.width
    return panel.get_content_height(panel.size, panel.app.size, width) <= panel.content_size.height


def _panel(pane: Pane) -> str:
    panel = pane.query_one(ErrorPanel)
    return _text(panel) if panel.has_class("-shown") else ""


async def _loaded(app: Any, pilot: Any) -> list[Pane]:
    panes = list(app.screen.query(Pane))
    assert await wait_for(
        pilot, lambda: all(p.has_data() and p.loaded_at is not None for p in panes), 40
    )
    return panes


@pytest.mark.parametrize(
    ("service", "operation", "pane_id"),
    [
        ("cloudtrail", "LookupEvents", "trail"),  # ExpiredTokenException (JSON)
        ("cloudwatch", "GetMetricData", "metrics"),  # ExpiredToken (query-compatible)
        ("logs", "FilterLogEvents", "flows"),  # ExpiredTokenException (JSON)
    ],
)
async def test_credentials_expiring_mid_session_recover_with_r_and_nothing_is_lost(
    emulator: Any, demo_world: Any, service: str, operation: str, pane_id: str
) -> None:
    """The session's token expires while every pane has data: the pane that meets it first
    says so with the fix, which is `r` once renewed (a restart would lose what is loaded);
    every pane keeps its data; no request storm; r brings every pane back."""
    app = demo_app(emulator, demo_world, fast=True, demo_refresh_seconds=1.0)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        panes = await _loaded(app, pilot)
        pane = app.screen.query_one(f"#{pane_id}", Pane)
        emulator.faults.add(FaultRule(service, operation, "expired_token"))
        pane.wake()
        assert await wait_for(pilot, lambda: "credentials were refused" in _panel(pane), 20)
        assert "press r" in _panel(pane) and "then restart" not in _panel(pane)
        assert all(p.has_data() for p in panes)  # what was loaded stays
        before = len(emulator.requests_seen)
        for p in panes:
            p.wake()
        await pilot.pause(2)
        assert len(emulator.requests_seen) - before <= 1  # refused once, not stormed
        trail = app.screen.query_one("#trail", Pane)
        assert await wait_for(pilot, lambda: "credentials were refused" in _panel(trail), 10)
        # The session's own region refused them: not "another partition, or not enabled".
        assert "another partition" not in _text(trail.query_one(".pane-status"))
        emulator.faults.clear()  # `aws sso login` done
        app.screen.focus()
        await pilot.press("r")
        assert await wait_for(
            pilot, lambda: not any(_panel(p) or p.has_class("-stale") for p in panes), 30
        ), [(p.id, _panel(p)) for p in panes]
        assert all(p.has_data() for p in panes)


PANE_APIS = [
    ("cloudtrail", "LookupEvents", "trail"),
    ("cloudwatch", "GetMetricData", "metrics"),
    ("logs", "FilterLogEvents", "flows"),
]
FAULTS = [
    # (kind, what the pane says: the panel for a refusal, the status line for trouble it retries)
    ("throttle", "throttled"),
    ("access_denied", "Not allowed to call"),
    ("server_error", "failed on the AWS side"),
    ("reset", "closed before"),  # the connection dropped mid-call
    ("truncated", ""),  # a cut answer: said as a network error, retried
    ("malformed", "could not read"),  # a 200 that is not the API's (a proxy's page)
]


# Every fault kind in some pane, three in each pane, one after the other in one app per pane
# (an app per case cost ~6 s of start-up each: 18 cases took ~160 s of the CI budget). The
# fault's translation does not depend on the pane: test_aws_errors covers every kind and API.
_CASES = {
    "trail": ("access_denied", "malformed", "reset"),
    "metrics": ("throttle", "truncated", "server_error"),
    "flows": ("access_denied", "server_error", "malformed"),
}
assert {k for kinds in _CASES.values() for k in kinds} == {k for k, _ in FAULTS}


@pytest.mark.parametrize(
    ("service", "operation", "pane_id"), PANE_APIS, ids=["trail", "metrics", "flows"]
)
async def test_a_fault_on_one_api_mid_session_is_said_in_its_pane_and_recovers(
    emulator: Any,
    demo_world: Any,
    monkeypatch: pytest.MonkeyPatch,
    service: str,
    operation: str,
    pane_id: str,
) -> None:
    """Every pane has data; one API starts failing: its pane turns stale and says what failed
    (never looking live), keeps what it loaded, the other panes stay fresh; once the fault
    clears, the next refresh brings the pane back. Then the next fault, in the same session."""
    said_for = dict(FAULTS)
    monkeypatch.setattr("tui.aws.session.Aws._backoff", lambda self, attempt: 0.05)
    app = demo_app(emulator, demo_world, fast=True, demo_refresh_seconds=0.5, call_timeout=3.0)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        panes = await _loaded(app, pilot)
        pane = app.screen.query_one(f"#{pane_id}", Pane)
        shown: list[str] = []
        on_failure = pane.on_failure

        def record(err: Any) -> None:
            on_failure(err)
            shown.append(_panel(pane) + " | " + _text(pane.query_one(".pane-status")))

        monkeypatch.setattr(pane, "on_failure", record)
        others = [p for p in panes if p is not pane]
        for kind in _CASES[pane_id]:
            shown.clear()
            emulator.faults.add(FaultRule(service, operation, kind))
            pane.wake()
            assert await wait_for(pilot, lambda: bool(shown) and pane.stale, 20), (kind, shown)
            said = said_for[kind]
            assert f"{service}:{operation}" in shown[0] and said in shown[0], (kind, shown[0])
            assert pane.has_data(), kind  # what was loaded stays
            assert not any(p.stale or _panel(p) for p in others), [
                (kind, p.id, _panel(p)) for p in others
            ]
            emulator.faults.clear()
            assert await wait_for(pilot, lambda: not pane.stale and not _panel(pane), 40), kind
            assert pane.has_data(), kind


# The AccessDenied S3 sends for GetObject of an SSE-KMS object when the caller may not use the
# key: the message is KMS's own (S3 passes it on), naming the key and what refused.
_KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# (the identity-based refusal and the other clauses: test_aws_errors, without an app)
_KMS_CASES = [
    (
        "User: arn:aws:sts::123456789012:assumed-role/Bastion/i-0abc is not authorized to "
        f"perform: kms:Decrypt on resource: {_KMS_KEY} because no resource-based policy allows "
        "the kms:Decrypt action",
        (_KMS_KEY, "kms:Decrypt", "key policy does not allow your role"),
    ),
    (  # no key named: say so, and how to find it
        "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: kms:Decrypt",
        ("not named", "kms:Decrypt", "SSEKMSKeyId"),
    ),
]


def _deliver_again(world: Any, n: int) -> None:
    """A new delivery in the trail bucket (a copy of its newest file, under a new name), with
    boto3: the pane's next follow poll must read it."""
    s3 = world_client(world, "s3")
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=world.trail_bucket)
        for o in page.get("Contents", [])
        if "/CloudTrail/" in o["Key"]
    ]
    newest = max(keys)
    s3.copy_object(
        Bucket=world.trail_bucket,
        Key=newest.replace(".json.gz", f"_again{n}.json.gz"),
        CopySource={"Bucket": world.trail_bucket, "Key": newest},
    )


async def test_sts_refused_at_start_then_an_sse_kms_trail_object_is_said_as_kms(
    emulator: Any, demo_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GetCallerIdentity is refused at start (AccessDenied: an STS VPC endpoint's policy): the
    app does not exit, the header says the account is unknown, and every pane loads.

    Then the trail pane, reading the trail's S3 bucket, meets GetObject failing with the
    AccessDenied of a KMS key the caller may not use: the pane says the object is encrypted
    with that key, names it, and says what to grant where (not only "s3:GetObject"); what
    was loaded stays, the other panes stay fresh, and the pane recovers."""
    monkeypatch.setattr("tui.aws.session.Aws._backoff", lambda self, attempt: 0.05)
    app = demo_app(
        emulator,
        demo_world,
        fast=True,
        demo_refresh_seconds=1.0,
        trail_source=f"s3://{demo_world.trail_bucket}",
    )
    from tui.screens.chrome import HeaderBar, StatusLine

    emulator.faults.add(FaultRule("sts", "GetCallerIdentity", "access_denied", times=1))
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        bar = app.screen.query_one(HeaderBar)
        said = "account ? (sts:GetCallerIdentity refused)"
        assert await wait_for(pilot, lambda: app.fatal is not None or said in _text(bar), 20)
        assert app.fatal is None, app.fatal.message  # not an exit: the panes can work
        emulator.faults.clear()
        assert "STS VPC endpoint" in _text(app.screen.query_one(StatusLine))
        panes = await _loaded(app, pilot)
        assert app.fatal is None and app.aws is not None and app.aws.identity is None
        trail = app.screen.query_one("#trail", Pane)
        others = [p for p in panes if p is not trail]
        for n, (message, (key, grant, where)) in enumerate(_KMS_CASES):
            before = len(emulator.calls("s3", "GetObject"))
            emulator.faults.add(FaultRule("s3", "GetObject", "access_denied", message=message))
            _deliver_again(demo_world, n)  # a follow poll reads only objects not yet read
            trail.wake()
            assert await wait_for(pilot, lambda: "KMS" in _panel(trail), 20), (
                _panel(trail),
                len(emulator.calls("s3", "GetObject")) - before,
            )
            said = " ".join(_panel(trail).split())
            assert "encrypted with" in said and key in said, said
            assert f"`{grant}`" in said and where in said, said
            assert _fits(trail.query_one(ErrorPanel)), said  # what to do is not cut off
            assert trail.has_data() and trail.stale
            assert not any(p.stale or _panel(p) for p in others), [
                (p.id, _panel(p)) for p in others
            ]
            emulator.faults.clear()
            assert await wait_for(pilot, lambda: not trail.stale and not _panel(trail), 30)
            assert trail.has_data()


# Logs Insights refusing the flow pane's remote query at StartQuery. (fault, what the pane
# says, what to do); a 400 of the code given (the rule's kind only picks the status).
_START_QUERY_FAULTS = [
    (
        FaultRule(
            "logs",
            "StartQuery",
            "throttle",
            code="LimitExceededException",
            message="Account maximum query concurrency limit of [30] reached.",
        ),
        "Too many Logs Insights queries are running",
        "describe-queries --status Running",
    ),
    (
        FaultRule("logs", "StartQuery", "access_denied"),
        "logs:StartQuery",
        "Grant `logs:StartQuery`",
    ),
]


class _VpcEndpointDns:
    """One service's endpoint moved to a name (a VPC endpoint's, as AWS_ENDPOINT_URL_LOGS
    would) that resolves to the emulator, or, while ``broken``, not at all: aiohttp asks the
    loop's getaddrinfo, as it does for a real name."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, url: str, service: str) -> None:
        import asyncio.base_events
        import socket

        from aiobotocore.session import AioSession

        self.host = f"vpce-0abc-hamari.{service}.us-east-1.vpce.amazonaws.test"
        self.broken = True
        port = url.rsplit(":", 1)[1]
        create_client = AioSession.create_client
        getaddrinfo = asyncio.base_events.BaseEventLoop.getaddrinfo

        def create(session: Any, name: str, *args: Any, **kwargs: Any) -> Any:
            if name == service:
                kwargs["endpoint_url"] = f"http://{self.host}:{port}"
            return create_client(session, name, *args, **kwargs)

        async def resolve(loop: Any, host: Any, *args: Any, **kwargs: Any) -> Any:
            if host == self.host:
                if self.broken:
                    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
                host = "127.0.0.1"
            return await getaddrinfo(loop, host, *args, **kwargs)

        monkeypatch.setattr(AioSession, "create_client", create)
        monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "getaddrinfo", resolve)


async def _run_insights(app: Any, pilot: Any, pane: Any) -> None:
    from tui.dialogs.confirm import ConfirmScreen

    pane.table.focus()
    await pilot.press("i")
    assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)
    await pilot.press("enter")
    assert await wait_for(pilot, lambda: pane.remote is not None and not pane.remote.running, 20), (
        pane.remote
    )


async def test_dns_then_logs_insights_refusing_the_remote_query_is_said_and_records_stay(
    emulator: Any, demo_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Logs endpoint's name does not resolve, then resolves (see the first lines). Then
    `i` in the flow pane, and StartQuery is refused: too many queries running (the account's
    concurrency limit), access denied, a query Logs Insights cannot parse. The pane says which
    and what to do (in full, until esc), shows the loaded records again rather than an empty
    table that reads "no match", and stays fresh; the next run gets through."""
    monkeypatch.setattr("tui.aws.session.Aws._backoff", lambda self, attempt: 0.05)
    dns = _VpcEndpointDns(monkeypatch, emulator.url, "logs")
    app = demo_app(emulator, demo_world, fast=True, demo_refresh_seconds=1.0)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        # First, the name of the Logs endpoint does not resolve: the flow pane says so, with
        # the name and what to check; the others load; it loads once the name resolves.
        flows = app.screen.query_one("#flows", Pane)
        others = [p for p in app.screen.query(Pane) if p is not flows]
        assert await wait_for(pilot, lambda: "does not resolve" in _panel(flows), 30), (
            _panel(flows),
            _text(flows.query_one(".pane-status")),
        )
        said = " ".join(_panel(flows).split())
        assert f"The name {dns.host} does not resolve (DNS)" in said, said
        assert "resolv.conf" in said and "AWS_ENDPOINT_URL_" in said, said
        assert _fits(flows.query_one(ErrorPanel)), said
        assert await wait_for(pilot, lambda: all(p.has_data() for p in others), 30)
        assert not any(p.stale or _panel(p) for p in others), [(p.id, _panel(p)) for p in others]
        dns.broken = False
        flows.wake()
        panes = await _loaded(app, pilot)
        assert await wait_for(pilot, lambda: not flows.stale and not _panel(flows), 10)
        await pilot.press("3")
        for rule, says, todo in _START_QUERY_FAULTS:  # MalformedQuery's words: test_aws_errors
            emulator.faults.add(rule)
            await _run_insights(app, pilot, flows)
            said = " ".join(_panel(flows).split())
            assert says in said and todo in said, (rule.code, said, flows.remote)
            assert said.startswith("Logs Insights"), said
            assert _fits(flows.query_one(ErrorPanel)), said
            assert not flows.showing_remote and flows.table.rows is not None
            assert len(flows.table.rows) == len(flows.matched) > 0  # the loaded records
            if rule.code is None:  # once: the panel stays through refreshes, until esc
                await pilot.pause(1.2)
                assert says in _panel(flows)
            assert not any(p.stale for p in panes), [p.id for p in panes if p.stale]
            emulator.faults.clear()
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: not _panel(flows), 5)
        await _run_insights(app, pilot, flows)
        assert flows.remote is not None and flows.remote.error is None and flows.showing_remote
        assert not _panel(flows)


@pytest.mark.parametrize("kind", ["expired_token"])
async def test_credentials_refused_at_start_exit_with_the_fix(
    emulator: Any, demo_world: Any, kind: str
) -> None:
    """GetCallerIdentity says the token expired: nothing can work, so the app exits (2) at
    once with what to run, rather than three panes each failing."""
    emulator.faults.add(FaultRule("sts", "GetCallerIdentity", kind))
    app = demo_app(emulator, demo_world)
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            assert await wait_for(pilot, lambda: app.fatal is not None, 20)
    finally:
        emulator.faults.clear()  # the next test may use the emulator without demo_world
    assert app.return_code == 2
    assert "credentials were refused" in app.fatal.message and "aws sso login" in app.fatal.hint
