"""A one-line key bar: the focused chain's bindings drawn as one widget (k9s-style hints).

Textual's ``Footer`` rebuilds one widget per key, and restyles each, whenever the bindings
change: on every pane switch and every dialog opened or closed. That was a fifth of the main
thread's time when switching panes on a busy machine. This bar only re-renders one line of text.
A click on a key presses it, as in the footer.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

__all__ = ["KeyBar", "key_hints"]


def key_hints(screen: Screen[object]) -> list[tuple[str, str, str, bool]]:
    """(key to press, key as shown, description, enabled) of the bindings shown, one an action.

    The same choice as Textual's footer: bindings with ``show``, the first binding of an action.
    """
    seen: set[str] = set()
    hints = []
    for _node, binding, enabled, _tooltip in screen.active_bindings.values():
        if not isinstance(binding, Binding) or not binding.show or binding.action in seen:
            continue
        seen.add(binding.action)
        shown = screen.app.get_key_display(binding)
        hints.append((binding.key.split(",")[0], shown, binding.description, enabled))
    return hints


class KeyBar(Widget):
    """The keys that work here, with what they do; disabled ones dimmed."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"keybar--key", "keybar--description"}

    DEFAULT_CSS = """
    KeyBar {
        height: 1;
        dock: bottom;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    KeyBar > .keybar--key { color: $footer-key-foreground; text-style: bold; }
    KeyBar > .keybar--description { color: $footer-description-foreground; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._spans: list[tuple[int, int, str]] = []  # cell range -> key, for clicks

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: Screen[object]) -> None:
        self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key")
        text_style = self.get_component_rich_style("keybar--description")
        line = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        for key, shown, description, enabled in key_hints(self.screen):
            start = line.cell_len
            line.append(f" {shown} ", key_style)
            line.append(f"{description} ", text_style)
            if not enabled:
                line.stylize("dim", start)
            self._spans.append((start, line.cell_len, key))
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
