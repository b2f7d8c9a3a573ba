"""The registry of headless verbs, and the one-line failure message they and the CLI share.

Its own module so that ``tui.cli`` (which parses arguments and dispatches) and the verb modules
(which register themselves and fail in one voice) do not import each other.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

__all__ = ["VERBS", "fail", "verb"]

# Headless verbs register themselves here: name -> function adding its arguments. The function's
# docstring is its one-line help; the parser stores the runner as ``run``.
VERBS: dict[str, Callable[[argparse.ArgumentParser], None]] = {}


def verb(
    name: str,
) -> Callable[
    [Callable[[argparse.ArgumentParser], None]], Callable[[argparse.ArgumentParser], None]
]:
    """Decorator: register a headless verb's argument builder."""

    def deco(
        func: Callable[[argparse.ArgumentParser], None],
    ) -> Callable[[argparse.ArgumentParser], None]:
        VERBS[name] = func
        return func

    return deco


def fail(message: str, hint: str = "") -> int:
    """Print one clear sentence (and the fix) on stderr; return exit status 2."""
    print(f"hamari: {message}", file=sys.stderr)
    if hint:
        print(f"  fix: {hint}", file=sys.stderr)
    return 2
