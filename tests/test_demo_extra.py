"""Without the ``demo`` extra, ``--demo`` says how to install it in one line: exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli_startup import ROOT, clean_env

# moto made unimportable, as in an install without the `demo` extra.
SHIM = (
    "import sys; sys.modules['moto'] = None; "
    "from tui.cli import main; raise SystemExit(main(sys.argv[1:]))"
)


@pytest.mark.parametrize(
    "args",
    [
        ["--demo"],
        ["trail", "--demo", "--filter", "error:AccessDenied*"],
        ["flows", "--demo", "--format", "ndjson"],
    ],
)
def test_demo_without_the_extra_names_the_install(tmp_path: Path, args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SHIM, *args],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "pip install 'hamari[demo]'" in lines[0]
    assert "moto missing" in lines[0]
    assert done.stdout == ""
