"""Start-up failures print one clear sentence and the fix, exit 2, and show no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ptyrun import hamari_argv, spawn

ROOT = Path(__file__).resolve().parents[1]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAMARI_"))}
    env.update(
        HOME=str(tmp_path),
        AWS_CONFIG_FILE=str(tmp_path / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        TERM="xterm-256color",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=ROOT,
        env=clean_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_reads_like_an_aws_tool(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "--help")
    assert out.returncode == 0
    for flag in (
        "--profile",
        "--region",
        "--endpoint-url",
        "--since",
        "--until",
        "--demo",
        "--version",
    ):
        assert flag in out.stdout
    assert "aws sso login" in out.stdout


def test_version(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "--version")
    assert out.returncode == 0 and out.stdout.startswith("hamari ")


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--endpoint-url", "http://10.0.0.1:4566"], {}, "in clear"),
        (["--since", "yesterday"], {}, "cannot read time"),
        ([], {"AWS_ENDPOINT_URL": "http://example.com"}, "in clear"),
    ],
)
def test_bad_flags_fail_before_any_call(
    tmp_path: Path, args: list[str], env: dict[str, str], needle: str
) -> None:
    out = run_cli(tmp_path, *args, **env)
    assert out.returncode == 2
    assert needle in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def _run_tui_until_exit(tmp_path: Path, *args: str, **env: str) -> tuple[int | None, str]:
    proc = spawn(hamari_argv(*args), clean_env(tmp_path, **env), size=(80, 24))
    try:
        status = proc.wait(timeout=45)
        return status, proc.output.decode("utf-8", "replace")
    finally:
        proc.close()


@pytest.mark.parametrize(
    ("args", "env", "needle", "fix"),
    [
        (["--region", "us-east-1"], {}, "No AWS credentials", "aws sso login"),
        (
            ["--profile", "nope", "--region", "us-east-1"],
            {},
            "profile 'nope' does not exist",
            "aws configure",
        ),
        (
            ["--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:9"],
            {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"},
            "Cannot reach",
            "network",
        ),
    ],
)
def test_startup_failure_in_a_terminal(
    tmp_path: Path, args: list[str], env: dict[str, str], needle: str, fix: str
) -> None:
    status, output = _run_tui_until_exit(tmp_path, *args, **env)
    assert status == 2, output[-2000:]
    assert needle in output
    assert fix in output
    assert "Traceback" not in output


def test_demo_signs_in_as_the_operator_and_fills_the_panes(tmp_path: Path) -> None:
    """`hamari --demo` as a user starts it: the real runtime, its emulator, a real terminal."""
    import re

    csi = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")

    def screen_text(out: bytes) -> bytes:
        return csi.sub(b"", out)  # the words as painted, without the cursor moves and colours

    # The operator of the scenario, not moto's default user, and every pane with data.
    wanted = (b"OpsAdmin/alice", b"scanned", b"ACCEPT", b"IOPS")
    proc = spawn(hamari_argv("--demo"), clean_env(tmp_path), size=(120, 36))
    try:
        proc.read_until(lambda out: all(w in screen_text(out) for w in wanted), timeout=90)
        painted = screen_text(bytes(proc.output))
        missing = [w for w in wanted if w not in painted]
        assert not missing, (missing, painted[-3000:])
        assert b"user/moto" not in painted
        proc.send(b"q")
        assert proc.wait(timeout=20) == 0
    finally:
        proc.close()


@pytest.mark.parametrize("verb", ["flows", "trail"])
def test_ctrl_c_while_the_verbs_load_exits_130_without_a_traceback(
    verb: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ctrl+c in the first tenth of a second (the verb's modules importing) is a plain
    interruption: exit status 130 and nothing on stderr, as later in the run."""
    import tui.cli

    def interrupted(args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(tui.cli, "_load_verbs", interrupted)
    assert tui.cli.main([verb, "--help"]) == 130
    assert capsys.readouterr().err == ""
