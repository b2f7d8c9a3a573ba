"""Copying an event's JSON to the user's clipboard with OSC 52, for the pane and the detail view.

Its own module so that the CloudTrail pane and the event detail screen share it without importing
each other.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.models.cloudtrail import TrailEvent

__all__ = ["COPY_LIMIT", "copy_event", "copy_payload"]

COPY_LIMIT = 100 * 1024
"""OSC 52 payloads beyond this are cut (many terminals and tmux drop larger ones)."""


def copy_payload(event: TrailEvent, limit: int = COPY_LIMIT) -> tuple[str, int, bool]:
    """The JSON to copy (ASCII-escaped, so no control or bidi character reaches a paste),
    its full size, and whether it was cut to ``limit`` bytes."""
    text = json.dumps(event.raw, indent=2, ensure_ascii=True, default=str)
    size = len(text)
    if size > limit:
        return text[:limit], size, True
    return text, size, False


def copy_event(app: object, event: TrailEvent) -> None:
    """Copy one event's JSON with OSC 52 and say what happened (the terminal may ignore it)."""
    text, size, capped = copy_payload(event)
    app.copy_to_clipboard(text)  # type: ignore[attr-defined]
    what = (
        f"first {COPY_LIMIT // 1024} KB of {size // 1024} KB (capped)"
        if capped
        else (f"{max(1, size // 1024)} KB" if size >= 1024 else f"{size} bytes")
    )
    app.notify(  # type: ignore[attr-defined]
        f"Copied the event JSON ({what}) with OSC 52. If your clipboard stays empty, the terminal "
        "does not support it; in tmux: set -g set-clipboard on.",
        title="Copy",
        markup=False,
    )
