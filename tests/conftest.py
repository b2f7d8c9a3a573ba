"""Shared fixtures: the embedded AWS (one per session and xdist worker) and a seeded world."""

from __future__ import annotations

from tests.demo_fixtures import DEMO_NOW, demo_now, demo_world, emulator  # noqa: F401
