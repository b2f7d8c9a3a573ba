"""An MFA-protected assume-role profile (issue 11, item 23): the code is asked on the plain
terminal before the TUI takes it over, and the app then runs as the assumed role.

The profile is a real config file (role_arn + source_profile + mfa_serial) and STS is the
emulator's; the code is typed into the pseudo-terminal by the test.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.ptyrun import hamari_argv, spawn
from tui.aws.session import DEMO_CREDENTIALS, resolve_mfa_credentials

ROLE = "arn:aws:iam::123456789012:role/incident-responder"
MFA = "arn:aws:iam::123456789012:mfa/oncall"
ALT_SCREEN = b"\x1b[?1049h"


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "aws-config"
    path.write_text(
        "[profile base]\n"
        f"aws_access_key_id = {DEMO_CREDENTIALS[0]}\n"
        f"aws_secret_access_key = {DEMO_CREDENTIALS[1]}\n"
        "region = ap-southeast-2\n"
        "\n"
        "[profile oncall]\n"
        f"role_arn = {ROLE}\n"
        "source_profile = base\n"
        f"mfa_serial = {MFA}\n"
        "region = ap-southeast-2\n"
        "\n"
        "[profile plain]\n"
        "source_profile = base\n"
        "role_arn = arn:aws:iam::123456789012:role/reader\n"
    )
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    keep = ("PATH", "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    empty = tmp_path / "empty"
    empty.write_text("")
    env.update(
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        AWS_CONFIG_FILE=str(_config(tmp_path)),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
        TERM="xterm-256color",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        TMPDIR=str(tmp_path),
    )
    return env


def test_profiles_without_mfa_are_left_to_the_usual_chain(tmp_path: Path) -> None:
    env = {"AWS_CONFIG_FILE": str(_config(tmp_path))}
    assert resolve_mfa_credentials("plain", env=env) is None
    assert resolve_mfa_credentials("base", env=env) is None
    assert resolve_mfa_credentials(None, env={"AWS_CONFIG_FILE": str(tmp_path / "none")}) is None


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_mfa_code_is_asked_before_the_tui_and_the_app_runs_as_the_role(
    emulator: Any, tmp_path: Path
) -> None:
    emulator.faults.clear_seen()
    argv = hamari_argv("--profile", "oncall", "--endpoint-url", emulator.url)
    proc = spawn(argv, _env(tmp_path), size=(120, 36))
    try:
        assert proc.read_until(lambda out: b"MFA code" in out, timeout=30), bytes(proc.output)
        assert ALT_SCREEN not in proc.output, "the TUI took the terminal before the prompt"
        assert not emulator.calls("sts", "AssumeRole"), "nothing is sent before the code"
        proc.send(b"123456\r")
        assert proc.read_until(lambda out: b"incident-responder" in out, timeout=40), bytes(
            proc.output[-2000:]
        )
        assert ALT_SCREEN in proc.output
        proc.send(b"q")
        assert proc.wait(timeout=15) == 0
    finally:
        proc.close()
    assert len(emulator.calls("sts", "AssumeRole")) == 1, "the role was assumed once, up front"
    assert emulator.calls("sts", "GetCallerIdentity")


async def test_expired_role_credentials_say_to_restart_for_a_new_code(emulator: Any) -> None:
    """Credentials resolved up front cannot refresh inside the app: the fix is a new code."""
    from tui.aws.errors import CredentialsError
    from tui.aws.session import Aws, Connection
    from tui.demo.server import FaultRule

    emulator.faults.clear()
    door = Aws(
        Connection(
            region="ap-southeast-2",
            endpoint_url=emulator.url,
            static_credentials=DEMO_CREDENTIALS,
        ),
        backoff_base=0,
    )
    emulator.faults.add(FaultRule("cloudtrail", "LookupEvents", "expired_token"))
    try:
        with pytest.raises(CredentialsError) as info:
            await door.call("cloudtrail", "LookupEvents", MaxResults=5)
    finally:
        emulator.faults.clear()
        await door.close()
    assert "restart hamari and enter a new code" in info.value.hint
