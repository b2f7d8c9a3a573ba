"""Secrets never leave the process: redaction, log safety, crash reports without locals.

Issue 7, item 4. A bastion is shared: log files, ``2>`` redirects, crash reports in /tmp and the
terminal's scrollback are readable by others, so credentials must not reach any of them.
"""

from __future__ import annotations

import ast
import io
import logging
import stat
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.text import Text

from tests.apptools import demo_app, wait_for
from tests.demo_fixtures import DEMO_NOW
from tui import logsafety
from tui.app import HamariApp
from tui.crash import redact
from tui.panes.base import ErrorPanel
from tui.panes.trail import TrailPane
from tui.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLESECRET"
TOKEN = "IQoJb3JpZ2luX2VjEHAaCXVzLWVhc3QtMSJHMEUCIQDtokenEXAMPLE=="
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SIG = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"

# (text with a secret, the secrets that must go, text that must stay)
REDACTION_CASES = [
    pytest.param(
        f"Authorization: AWS4-HMAC-SHA256 Credential={KEY_ID}/20260101/us-east-1/logs/"
        f"aws4_request, SignedHeaders=host;x-amz-date, Signature={SIG}",
        [KEY_ID, SIG, "SignedHeaders"],
        ["Authorization: ***"],
        id="authorization-header-line",
    ),
    pytest.param(
        "Sending http request: <AWSPreparedRequest method=POST, headers={'X-Amz-Date': "
        f"b'20260101T000000Z', 'X-Amz-Security-Token': b'{TOKEN}', 'Authorization': "
        f"b'AWS4-HMAC-SHA256 Credential={KEY_ID}/20260101/us-east-1/sts/aws4_request, "
        f"SignedHeaders=host, Signature={SIG}'}}>",
        [TOKEN, KEY_ID, SIG],
        ["'X-Amz-Date': b'20260101T000000Z'", "<AWSPreparedRequest method=POST"],
        id="botocore-debug-header-dict",
    ),
    pytest.param(
        f"X-Amz-Security-Token: {TOKEN}\nHost: logs.us-east-1.amazonaws.com",
        [TOKEN],
        ["Host: logs.us-east-1.amazonaws.com"],
        id="security-token-header",
    ),
    pytest.param(
        "GET https://b.s3.amazonaws.com/AWSLogs/k.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential={KEY_ID}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
        f"&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-Signature={SIG}"
        f"&X-Amz-Security-Token={TOKEN[:20]}%3D%3D HTTP/1.1",
        [KEY_ID, SIG, TOKEN[:20]],
        ["X-Amz-Expires=3600", "X-Amz-Date=20260101T000000Z", "/AWSLogs/k.gz", "HTTP/1.1"],
        id="presigned-url-query",
    ),
    pytest.param(
        f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
        f"aws_session_token={TOKEN}\nregion = eu-west-1",
        [SECRET, TOKEN],
        ["region = eu-west-1", "[default]"],
        id="credentials-file",
    ),
    pytest.param(
        f"AWS_SECRET_ACCESS_KEY={SECRET} AWS_SESSION_TOKEN={TOKEN} AWS_REGION=us-east-1",
        [SECRET, TOKEN],
        ["AWS_REGION=us-east-1"],
        id="environment",
    ),
    pytest.param(
        f'{{"Credentials": {{"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "{SECRET}", '
        f'"SessionToken": "{TOKEN}", "Expiration": "2026-01-01T00:00:00Z"}}}}',
        [SECRET, TOKEN],
        ['"Expiration": "2026-01-01T00:00:00Z"'],
        id="sts-json",
    ),
    pytest.param(
        f"{{'accessToken': '{TOKEN}', 'clientSecret': '{SECRET}', 'region': 'us-east-1'}}",
        [SECRET, TOKEN],
        ["'region': 'us-east-1'"],
        id="sso-cache-repr",
    ),
    pytest.param(
        f"boom aws_secret_access_key={SECRET}; retry",
        [SECRET],
        ["boom aws_secret_access_key=***; retry"],
        id="in-a-message",
    ),
    pytest.param(
        "Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z",
        [],
        ["Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z"],
        id="prose-untouched",
    ),
]


@pytest.mark.parametrize(("text", "gone", "kept"), REDACTION_CASES)
def test_redact_masks_each_secret_form_and_keeps_the_rest(
    text: str, gone: list[str], kept: list[str]
) -> None:
    safe = redact(text)
    for secret in gone:
        assert secret not in safe
    for part in kept:
        assert part in safe
    assert redact(safe) == safe  # idempotent


@pytest.mark.parametrize(("text", "gone", "kept"), REDACTION_CASES)
def test_log_filter_redacts_message_and_args(text: str, gone: list[str], kept: list[str]) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logsafety.RedactingFilter())
    logger = logging.getLogger("tests.secrets.plain")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("%s", text)  # the secret in the args, as botocore logs it
        logger.info(text)  # and in the message itself
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    for secret in gone:
        assert secret not in out
    for part in kept:
        assert part in out


def test_log_filter_redacts_tracebacks_and_keeps_the_record() -> None:
    record = logging.LogRecord("botocore.endpoint", logging.ERROR, __file__, 1, "failed", (), None)
    try:
        raise RuntimeError(f"X-Amz-Security-Token: {TOKEN}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    assert logsafety.RedactingFilter().filter(record) is True  # never drops a line
    text = logging.Formatter().format(record)
    assert "RuntimeError" in text and "Traceback" in text
    assert TOKEN not in text


def test_install_covers_handlers_added_later_and_quiets_botocore() -> None:
    root = logging.getLogger()
    saved = (root.level, {n: logging.getLogger(n).level for n in logsafety.LIBRARY_LOGGERS})
    try:
        root.setLevel(logging.DEBUG)  # as a careless `logging.basicConfig(level=DEBUG)` would
        for name in logsafety.LIBRARY_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
        logsafety.install()
        logsafety.install()  # idempotent
        for name in (*logsafety.LIBRARY_LOGGERS, "botocore.endpoint", "botocore.auth"):
            assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name
        assert sum(isinstance(f, logsafety.RedactingFilter) for f in root.filters) == 1

        stream = io.StringIO()
        late = logging.StreamHandler(stream)  # added after install(), without any filter
        logger = logging.getLogger("tests.secrets.late")
        logger.addHandler(late)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.info("headers=%r", {"Authorization": f"AWS4-HMAC-SHA256 Signature={SIG}"})
        logger.removeHandler(late)
        assert SIG not in stream.getvalue() and "Authorization" in stream.getvalue()
    finally:
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


def test_the_app_installs_log_safety() -> None:
    botocore = logging.getLogger("botocore")
    saved = botocore.level
    try:
        botocore.setLevel(logging.DEBUG)
        HamariApp(Settings(demo=True))
        assert botocore.level == logging.WARNING
    finally:
        botocore.setLevel(saved)


def _calls_install(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in {"install", "install_log_safety"}:
                return True
    return False


def test_headless_open_aws_installs_log_safety() -> None:
    tree = ast.parse((ROOT / "tui/headless/common.py").read_text())
    open_aws = next(
        n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef) and n.name == "open_aws"
    )
    assert _calls_install(open_aws)
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert any(n.module == "tui.logsafety" for n in imports)


def _is_debug(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "DEBUG":
        return True
    if isinstance(node, ast.Name) and node.id == "DEBUG":
        return True
    return isinstance(node, ast.Constant) and node.value in ("DEBUG", "debug", 10)


def debug_logging_offences(source: str) -> list[str]:
    """Calls that would turn on botocore's request logging (headers, signatures) or DEBUG."""
    offences = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        args = [*node.args, *(k.value for k in node.keywords)]
        if name in {"set_stream_logger", "set_debug_logger", "set_file_logger"}:
            offences.append(f"{name}() at line {node.lineno}")
        elif name in {"basicConfig", "setLevel"} and any(_is_debug(a) for a in args):
            offences.append(f"{name}(DEBUG) at line {node.lineno}")
        elif name == "dictConfig" or name == "fileConfig":
            offences.append(f"{name}() at line {node.lineno} (review: may set botocore to DEBUG)")
    return offences


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import boto3\nboto3.set_stream_logger('')", 1),
        ("session.set_debug_logger()", 1),
        ("import logging\nlogging.basicConfig(level=logging.DEBUG)", 1),
        ("logging.getLogger('botocore').setLevel(logging.DEBUG)", 1),
        ("logging.getLogger('botocore').setLevel('DEBUG')", 1),
        ("logging.getLogger('x').setLevel(logging.CRITICAL + 1)", 0),
        ("logging.basicConfig(level=logging.WARNING)", 0),
    ],
)
def test_the_guard_catches_debug_logging(source: str, expected: int) -> None:
    assert len(debug_logging_offences(source)) == expected


def test_no_product_code_enables_debug_logging() -> None:
    offences = []
    for path in sorted((ROOT / "tui").rglob("*.py")):
        for offence in debug_logging_offences(path.read_text(encoding="utf-8")):
            offences.append(f"{path.relative_to(ROOT)}: {offence}")
    assert offences == []


# -- crashes ------------------------------------------------------------------------------------


@pytest.fixture
def stub_world() -> Any:
    """The app only needs the world's clock here: nothing is asserted about AWS data."""
    return SimpleNamespace(now=DEMO_NOW)


def panel_text(panel: ErrorPanel) -> str:
    content = panel.content
    return content.plain if isinstance(content, Text) else str(content)


async def test_a_pane_bug_is_shown_inline_redacted_and_the_app_keeps_running(
    emulator: Any, stub_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_refresh(self: TrailPane) -> None:
        signing_key = f"aws_secret_access_key={SECRET}"  # a local holding a secret
        raise RuntimeError(f"could not sign the request with {signing_key}")

    monkeypatch.setattr(TrailPane, "refresh_data", broken_refresh)
    app = demo_app(emulator, stub_world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        panel = app.screen.query_one(TrailPane).query_one(ErrorPanel)
        assert await wait_for(pilot, lambda: panel.has_class("-shown"), 15)
        text = panel_text(panel)
        assert "RuntimeError: could not sign the request with aws_secret_access_key=***" in text
        assert "bug in hamari" in text
        assert SECRET not in text
        assert app.screen.query_one(TrailPane).has_class("-stale")
        assert app._exception is None and app.crash_report is None  # not a crash
        await pilot.press("2")  # still answering keys
        await pilot.pause(0.1)
        assert app.is_running


async def test_an_unexpected_error_writes_a_private_report_without_locals_or_secrets(
    emulator: Any,
    stub_world: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    local_secret = "LOCALONLY" + SECRET[9:]

    def broken_help(self: HamariApp) -> None:
        credentials = {"SecretAccessKey": local_secret}  # noqa: F841 - a local, never dumped
        raise RuntimeError(f"help failed: aws_secret_access_key={SECRET}")

    monkeypatch.setattr(HamariApp, "action_help", broken_help)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    app = demo_app(emulator, stub_world)
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            await pilot.press("question_mark")
            await pilot.pause(0.5)

    assert app.crash_report is not None
    report = Path(app.crash_report)
    assert report.parent == tmp_path
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    content = report.read_text()
    assert "Traceback (most recent call last)" in content
    assert "in broken_help" in content
    assert "RuntimeError: help failed: aws_secret_access_key=***" in content
    assert SECRET not in content
    assert local_secret not in content
    assert "locals" not in content.lower()  # Rich's "╭─ locals ─╮" panels
    # What the terminal shows: one sentence and the report's path, nothing else.
    shown = capsys.readouterr().err
    assert "hamari stopped on an unexpected error: RuntimeError" in shown
    assert report.name in shown.replace("\n", "")
    assert SECRET not in shown and local_secret not in shown and "Traceback" not in shown
