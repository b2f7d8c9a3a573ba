"""What screens and panes may read from the app, typed: settings, the clock, the budget, AWS.

The one way down for app-wide state: ``host(self).clock()`` instead of each pane reaching for
``getattr(self.app, "clock", ...)`` with a fallback of its own (one fell back to naive local time,
another to UTC, a third to aware local time: a pane mounted outside the app told another time).
The :class:`~tui.app.HamariApp` is the only host; nothing here imports it, so any floor may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from textual.app import App

if TYPE_CHECKING:
    from textual.command import Provider
    from textual.dom import DOMNode

    from tui.aws.session import Aws
    from tui.models.budget import Budget
    from tui.models.health import HealthReport
    from tui.settings import Settings

__all__ = ["Host", "host"]


class Host(Protocol):
    """The app as screens and panes see it (set by :class:`~tui.app.HamariApp`)."""

    settings: Settings
    """Loaded once at start-up: defaults < config file < environment < flags."""
    clock: Callable[[], datetime]
    """The time: ``utc_now`` in use, a fixed instant in tests, snapshots and replays."""
    budget: Budget
    """The hourly request budget that pauses polling."""
    aws: Aws | None
    """The connection, or None until it is open."""
    last_input_at: float
    """``time.monotonic()`` of the last key or click (pollers pause when idle)."""
    health_report: HealthReport | None
    """The last "are logs written?" report, or None before the first check."""
    demo_world: Any
    """The seeded demo's resource IDs (``--demo`` only), for ``:`` suggestions."""
    names: Any
    """The instance-name cache for ``:`` completion (``tui.commands.NameCache``)."""


def host(node: DOMNode | Provider) -> Host:
    """The app ``node`` runs in (``node`` itself when it is the app), as a :class:`Host`."""
    return cast("Host", node if isinstance(node, App) else node.app)
