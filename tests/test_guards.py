"""Architecture guards: layer boundaries and the read-only promise, enforced as tests."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tui.aws.operations import ALLOWED, iam_policy, is_read_only

ROOT = Path(__file__).resolve().parents[1]


def _loaded_modules(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return {line.split(".")[0] for line in out.split()}


@pytest.mark.parametrize(
    ("statement", "forbidden"),
    [
        (
            "import tui.aws, tui.aws.session, tui.aws.errors, tui.aws.operations",
            {"textual", "rich"},
        ),
        ("import tui.models, tui.models.text, tui.models.timewindow", {"textual", "rich"}),
        ("import tui.cli", {"textual"}),
    ],
)
def test_data_layer_does_not_load_the_ui(statement: str, forbidden: set[str]) -> None:
    assert not (_loaded_modules(statement) & forbidden)


def _all_modules(package: str) -> list[str]:
    return sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / package).rglob("*.py")
        if p.name != "__init__.py"
    )


@pytest.mark.parametrize("module", _all_modules("tui/models") + _all_modules("tui/aws"))
def test_each_data_module_is_ui_free(module: str) -> None:
    assert not (_loaded_modules(f"import {module}") & {"textual", "rich"}), module


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "widgets").rglob("*.py")), ids=lambda p: p.name)
def test_widgets_know_nothing_of_aws_or_the_app(path: Path) -> None:
    assert not (_imports(path) & {"tui", "botocore", "aiobotocore", "boto3"})


def aws_operations_in(source: str) -> set[tuple[str, str]]:
    """Every ``x.call("svc", "Op")`` / ``x.pages("svc", "Op")`` in ``source``."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"call", "pages"}
            and len(node.args) >= 2
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args[:2])
        ):
            found.add((node.args[0].value, node.args[1].value))  # type: ignore[union-attr]
    return found


def _product_sources() -> list[Path]:
    # tui/demo is the emulator's side (it seeds the fake AWS with boto3); everything else is product.
    return [p for p in (ROOT / "tui").rglob("*.py") if "demo" not in p.relative_to(ROOT).parts]


def test_every_operation_the_code_calls_is_allowed_and_read_only() -> None:
    used: set[tuple[str, str]] = set()
    for path in _product_sources():
        used |= aws_operations_in(path.read_text(encoding="utf-8"))
    assert used, "the scanner found no AWS calls at all"
    assert used <= ALLOWED, sorted(used - ALLOWED)
    for service, op in ALLOWED:
        assert is_read_only(service, op), (service, op)


def test_the_scanner_catches_a_mutating_call() -> None:
    bad = 'async def f(aws):\n    await aws.call("ec2", "StartInstances", InstanceIds=["i-1"])\n'
    assert aws_operations_in(bad) == {("ec2", "StartInstances")}
    assert not is_read_only("ec2", "StartInstances")
    assert not is_read_only("ec2", "ModifyInstanceAttribute")


def test_no_product_code_creates_clients_or_calls_botocore_directly() -> None:
    for path in _product_sources():
        text = path.read_text(encoding="utf-8")
        if path.name == "session.py" and path.parent.name == "aws":
            continue
        assert "create_client(" not in text, path
        assert "import boto3" not in text, path


def test_shipped_iam_policy_is_generated_from_the_allowed_list() -> None:
    shipped = json.loads((ROOT / "tui" / "iam-policy.json").read_text(encoding="utf-8"))
    assert shipped == iam_policy()
    actions = shipped["Statement"][0]["Action"]
    assert "cloudtrail:LookupEvents" in actions
    assert not [
        a
        for a in actions
        if a.split(":")[1].startswith(("Put", "Create", "Delete", "Start", "Stop", "Modify"))
        if a not in {"logs:StartQuery", "logs:StopQuery"}
    ]
