"""``python -m tui.bench [SECTION ...]``: print each figure beside its same-run baseline."""

from __future__ import annotations

import importlib
import math
import sys

SECTIONS = ["size", "startup", "trail", "stores", "metrics", "flows", "keys", "trailkeys", "idle"]


def report(name: str, value: float, baseline: float | None, unit: str) -> None:
    if baseline and not math.isnan(value) and baseline > 0:
        ratio = f"{value / baseline:6.2f}x baseline ({baseline:.3f} {unit})"
    else:
        ratio = "no baseline" if baseline is None else f"baseline {baseline}"
    shown = "n/a" if math.isnan(value) else f"{value:.3f}"
    print(f"{name:<55} {shown:>10} {unit:<4} {ratio}", flush=True)


def main(argv: list[str]) -> int:
    wanted = argv or SECTIONS
    for section in wanted:
        try:
            module = importlib.import_module(f"tui.bench.{section}")
        except ModuleNotFoundError:
            if section in argv:
                print(f"unknown section {section!r}; known: {', '.join(SECTIONS)}", file=sys.stderr)
                return 2
            continue
        print(f"== {section}", flush=True)
        module.main(report)
    return 0


raise SystemExit(main(sys.argv[1:]))
