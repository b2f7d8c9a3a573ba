"""The findings strip under the header: what the loaded evidence says, in one line.

``⚑ 3 findings: ✖ StartInstances accepted, but i-… returned to stopped · ▲ IO at the m5.large EBS
limit · ✖ return traffic REJECTed in us-east-1c (acl-… rule 100)``, clipped to the width (two lines
at most on a large terminal). ``!`` (or a click) opens the findings screen. The text is built by
pure functions from :class:`~tui.models.findings.Finding` records and is plain ``Text``: every
AWS string in a finding is made display-safe first and never parsed as markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from tui.models.findings import Finding
from tui.models.text import display_safe

SEPARATOR = " · "
MARK_STYLES = {"error": "bold red", "warning": "bold yellow", "info": "dim"}
_LONG_ID = re.compile(r"\b((?:i|vol|eni|acl|subnet|tgw-attach|sg)-[0-9a-f]{4})[0-9a-f]{8,}\b")


def shorten_ids(text: str) -> str:
    """``i-0123456789abcdef0`` -> ``i-0123…``: room for the words on a narrow strip."""
    return _LONG_ID.sub(r"\1…", text)


def item_text(finding: Finding, *, short: bool = False) -> Text:
    """One finding as ``✖ title`` (display-safe, plain)."""
    title = display_safe(finding.title)
    if short:
        title = shorten_ids(title)
    text = Text(no_wrap=True)
    text.append(finding.mark, style=MARK_STYLES.get(finding.severity, ""))
    text.append(" ")
    text.append(title)
    return text


def strip_order(findings: Sequence[Finding]) -> list[Finding]:
    """The most severe finding of each pane first (one incident each), then the others."""
    return [*_leading(findings), *[f for f in findings if f not in _leading(findings)]]


def _leading(findings: Sequence[Finding]) -> list[Finding]:
    first: dict[str, Finding] = {}
    for finding in findings:
        pane = finding.evidence[0].pane if finding.evidence else ""
        first.setdefault(pane, finding)
    return list(first.values())


def _shrink(items: list[Text], room: int) -> tuple[list[Text], int]:
    """Cut the longest items (to no less than 32 cells) until they fit ``room`` with separators.

    Returns the items and the most cells cut from any one of them (large when they cannot fit).
    """
    items = [i.copy() for i in items]
    widths = [i.cell_len for i in items]
    need = sum(i.cell_len for i in items) + len(SEPARATOR) * max(len(items) - 1, 0)
    while need > room:
        longest = max(range(len(items)), key=lambda n: items[n].cell_len)
        item = items[longest]
        excess = min(need - room, item.cell_len - 32, 4)  # a few cells at a time: balanced
        if excess <= 0:
            return items, 10**6
        item.truncate(item.cell_len - excess - 1)
        item.append("…")
        need -= excess
    return items, max((w - i.cell_len for w, i in zip(widths, items, strict=True)), default=0)


def _place_leading(head: Text, items: list[Text], width: int, max_lines: int) -> list[list[Text]]:
    """The leading items (one per pane) on the lines, each kept, the fewest cells cut.

    Every split of the items over the lines is tried (there are at most three panes): a long
    title is shortened rather than pushing another pane's incident off the strip.
    """
    best: tuple[int, list[list[Text]]] | None = None
    splits = range(len(items) + 1) if max_lines > 1 else [len(items)]
    for k in splits:
        first, first_cut = _shrink(items[:k], width - head.cell_len)
        second, second_cut = _shrink(items[k:], width) if k < len(items) else ([], 0)
        # The smallest largest cut (each title keeps as much as the others); one line when free.
        cost = max(first_cut, second_cut) * 2 + (1 if second else 0)
        if best is None or cost < best[0]:
            best = (cost, [first, second] if second else [first])
    assert best is not None
    if best[0] >= 10**6 and len(items) > 1:
        # Not every pane's incident fits readably (a narrow strip): fewer, each readable; the
        # ones left out follow as ordinary items, cut at the end of the strip.
        return _place_leading(head, items[:-1], width, max_lines)
    return best[1]


def strip_text(
    findings: Sequence[Finding] | None, width: int, max_lines: int = 1, *, computing: bool = False
) -> Text:
    """The strip's content: a count, then findings packed into ``max_lines`` lines of ``width``.

    Items that do not fit whole go on the next line; what does not fit on the last line is cut
    with an ellipsis. The leading finding of each pane is shortened rather than left out. Long
    IDs are shortened (the findings screen shows them whole).

    Args:
        findings: The findings, or None before anything was computed.
        width: Cells available per line.
        max_lines: Lines available (1 or 2).
        computing: Data is still arriving (said while there is no finding yet).
    """
    width = max(width, 10)
    if findings is None:
        return Text("⚑ findings: waiting for the panes to load…", style="dim", no_wrap=True)
    if not findings:
        message = "✓ no findings in what the panes loaded"
        if computing:
            message += " so far"
        return Text(message, style="dim", no_wrap=True)
    count = len(findings)
    head = Text(no_wrap=True)
    head.append("⚑", style="bold")
    head.append(f" {count} finding{'s' if count != 1 else ''}: ")
    leading = _leading(findings)
    placed = _place_leading(head, [item_text(f, short=True) for f in leading], width, max_lines)
    leading = leading[: sum(len(row) for row in placed)]
    lines: list[Text] = []
    for n, row in enumerate(placed):
        line = head.copy() if n == 0 else Text(no_wrap=True)
        for i, item in enumerate(row):
            if i:
                line.append(SEPARATOR)
            line.append_text(item)
        lines.append(line)
    filled = bool(placed[-1])  # the current line holds an item already
    for finding in findings:
        if finding in leading:
            continue
        item = item_text(finding, short=True)
        line = lines[-1]
        sep = SEPARATOR if filled else ""
        if line.cell_len + len(sep) + item.cell_len <= width:
            line.append(sep)
            line.append_text(item)
            filled = True
            continue
        if len(lines) < max_lines and filled:
            lines.append(item)
            continue
        # The last line is full: cut this item with an ellipsis and stop.
        room = width - line.cell_len - len(sep)
        if room > 4:
            line.append(sep)
            cut = item.copy()
            cut.truncate(room - 1)
            cut.append("…")
            line.append_text(cut)
        break
    text = Text("\n", no_wrap=True).join(lines)
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


class FindingsStrip(Static):
    """One (or two) lines of findings; ``!`` or a click opens the list."""

    DEFAULT_CSS = """
    FindingsStrip { height: 1; padding: 0 1; background: $boost; color: $text; }
    FindingsStrip.-two { height: 2; }
    FindingsStrip.-none { color: $text-muted; }
    """

    findings: reactive[tuple[Finding, ...] | None] = reactive(None, layout=True)
    computing: reactive[bool] = reactive(True)

    class Clicked(Message):
        """The user clicked the strip (the screen opens the findings list)."""

        def __init__(self, strip: FindingsStrip) -> None:
            super().__init__()
            self.strip = strip

        @property
        def control(self) -> FindingsStrip:
            return self.strip

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.max_lines = 1

    def render(self) -> Text:
        width = self.content_size.width or self.size.width or 80
        return strip_text(self.findings, width, self.max_lines, computing=self.computing)

    def watch_findings(self, findings: tuple[Finding, ...] | None) -> None:
        self.set_class(not findings, "-none")
        self._fit()

    def set_max_lines(self, lines: int) -> None:
        """1 on a small terminal, 2 when there is room (the screen decides)."""
        self.max_lines = lines
        self._fit()

    def _fit(self) -> None:
        # Two lines only when two are needed.
        width = self.content_size.width or self.size.width or 80
        two = False
        if self.max_lines > 1 and self.findings:
            two = len(strip_text(self.findings, width, 2).plain.splitlines()) > 1
        self.set_class(two, "-two")
        self.refresh()

    def on_resize(self) -> None:
        self._fit()

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Clicked(self))
