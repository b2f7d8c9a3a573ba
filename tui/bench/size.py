"""Installed size of what a bastion runs (``pip install .``) and of the demo (``.[demo]``).

Measured from this environment's installed distributions: the dependency closure of ``hamari``
(with the given extras) walked through ``importlib.metadata``, each distribution's size the sum of
the sizes its RECORD lists (what pip installed: bytecode it wrote, scripts). pip and setuptools,
which a fresh venv brings whatever is installed in it (~24 MB), are left out. Fast and offline, but
only as honest as this venv: the pinned versions installed here, not a fresh resolve.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
TARGET_MB = 200.0  # issue 14.9: what a bastion runs


def _size(dist: metadata.Distribution) -> int:
    return sum(f.size or 0 for f in dist.files or ())


def _own_requirements(extras: tuple[str, ...]) -> list[str]:
    """hamari's requirements as pyproject.toml states them now (the installed metadata of an
    editable install is as old as its last ``pip install``)."""
    with (ROOT / "pyproject.toml").open("rb") as fh:
        project = tomllib.load(fh)["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    return reqs


def closure(extras: tuple[str, ...] = ()) -> dict[str, int]:
    """Installed bytes of each distribution ``hamari[extras]`` needs."""
    seen: dict[str, int] = {}
    done: set[tuple[str, tuple[str, ...]]] = set()
    todo = [Requirement(r) for r in _own_requirements(extras)]
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), tuple(sorted(req.extras)))
        if key in done:
            continue
        done.add(key)
        if key[0] == "hamari":  # the test extra names hamari[demo]
            todo += [Requirement(r) for r in _own_requirements(key[1])]
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue  # not installed here: not measured (the report names what it counts)
        seen.setdefault(key[0], _size(dist))
        envs = [{"extra": e} for e in ("", *req.extras)]
        for text in dist.requires or ():
            dep = Requirement(text)
            if dep.marker is None or any(dep.marker.evaluate(env) for env in envs):
                todo.append(dep)
    return seen


def main(report: Callable[[str, float, float | None, str], None]) -> None:
    for label, extras in (("pip install .", ()), ("pip install '.[demo]'", ("demo",))):
        sizes = closure(extras)
        total = sum(sizes.values()) / 1e6
        report(f"size: {label} (vs 200 MB target)", total, TARGET_MB, "MB")
        top = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
        print("    largest: " + ", ".join(f"{n} {b / 1e6:.0f} MB" for n, b in top), flush=True)
