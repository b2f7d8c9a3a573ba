"""Shared fixtures: the embedded AWS (one per session and xdist worker) and seeded worlds."""

from __future__ import annotations

from tests.demo_fixtures import DEMO_NOW, demo_now, demo_world, emulator  # noqa: F401
from tests.world2 import worlds  # noqa: F401
