"""The benchmark sections import and run in a tiny mode; figures are printed, never asserted."""

from __future__ import annotations

import importlib
import math
import shutil

import pytest

pytest.importorskip("duckdb")


def _collect() -> tuple[list[tuple[str, float, float | None, str]], object]:
    got: list[tuple[str, float, float | None, str]] = []

    def report(name: str, value: float, baseline: float | None, unit: str) -> None:
        got.append((name, value, baseline, unit))

    return got, report


@pytest.mark.parametrize(
    "section", ["size", "startup", "trail", "stores", "metrics", "flows", "keys", "idle"]
)
def test_section_imports_with_main(section: str) -> None:
    module = importlib.import_module(f"tui.bench.{section}")
    assert callable(module.main)


def test_trail_tiny() -> None:
    from tui.bench import trail

    got, report = _collect()
    trail.run(report, n=2000, quick=True)  # type: ignore[arg-type]
    assert len(got) == len(trail.FILTERS) + 2
    assert all(not math.isnan(v) for _, v, _, _ in got)


@pytest.mark.skipif(shutil.which("zcat") is None or shutil.which("awk") is None, reason="no zcat")
def test_flows_tiny() -> None:
    from tui.bench import flows

    got, report = _collect()
    flows.run(report, n=20_000, big=False, quick=True)  # type: ignore[arg-type]
    names = [name for name, *_ in got]
    assert any("hamari flows" in n for n in names) and any("re-aggregate" in n for n in names)
    floor = [(v, b) for name, v, b, _ in got if "isal inflate alone" in name]
    assert floor and floor[0][0] > 0 and floor[0][1] > 0  # beside its floor, both measured
    matched = [(v, b) for name, v, b, _ in got if "records matched" in name]
    assert matched and matched[0][0] == matched[0][1] > 0  # hamari finds what awk finds


def test_metrics_pty_measure_tiny() -> None:
    from tui.bench import metrics

    rate, cpu = metrics.measure("lean", False, 1.0, warmup=1.0)
    assert rate >= 0 and cpu >= 0
