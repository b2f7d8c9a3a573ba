"""``:compare i-bad i-good``: the failing instance beside a healthy twin, differences first.

Two value columns side by side; a configuration difference is marked ``≠`` and drawn bold in the
warning colour, the symptom (state) ``≠`` dimmed, identifiers that always differ plainly. The
first row is the first configuration difference (the KMS key for incident 1) and its note, why it
matters, is shown under the table for whichever row the cursor is on. Every AWS string goes through
:func:`~tui.models.text.display_safe` into ``rich.text.Text``.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui.aws.errors import HamariError
from tui.host import host
from tui.models.compare import CompareRow, TwinSide, compare, verdict
from tui.models.text import clip, display_safe, name_label
from widgets.keybar import KeyBar

DIFF_STYLE = "bold yellow"
SYMPTOM_STYLE = "italic"


def group_of(row: CompareRow) -> str:
    """The heading a row is listed under."""
    if row.meaningful:
        return "differences"
    if row.differs:
        return "symptom (state)"
    return row.section


def cells(row: CompareRow, width: int) -> tuple[Text, Text, Text, Text]:
    """The four cells of a row: marker, attribute, left, right (plain text, styled)."""
    style = DIFF_STYLE if row.meaningful else SYMPTOM_STYLE if row.differs else ""
    marker = Text("≠" if row.differs else " ", style=style)
    attr = Text(clip(display_safe(row.attribute), 18), style=style)
    dim = "dim" if row.kind == "identity" else ""
    left = Text(clip(display_safe(row.left), width), style=style or dim)
    right = Text(clip(display_safe(row.right), width), style=style or dim)
    return marker, attr, left, right


class CompareScreen(Screen[None]):
    """Side-by-side comparison of two instances."""

    CSS_PATH = "compare.tcss"
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="compare.back", tooltip="Back to the panes"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("r", "reload", "Reload", id="compare.reload", tooltip="Describe both again"),
    ]

    def __init__(self, left: str, right: str) -> None:
        super().__init__()
        self.left_ref = left
        self.right_ref = right
        self.rows: list[CompareRow] = []
        self.sides: tuple[TwinSide, TwinSide] | None = None

    def compose(self) -> ComposeResult:
        title = Text("compare ", style="bold")
        title.append(display_safe(self.left_ref))
        title.append("  vs  ")
        title.append(display_safe(self.right_ref))
        yield Static(title, id="cmp-title", markup=False)
        yield Static(Text("describing both instances…"), id="cmp-verdict", markup=False)
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=False, id="cmp-table")
        yield table
        yield Static("", id="cmp-note", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.load()

    def _value_width(self) -> int:
        # marker 1 + attribute 18 + cell padding (2 per column) + scrollbar 2
        return max(12, (self.size.width - 1 - 18 - 8 - 2) // 2)

    @work(exclusive=True, group="compare", exit_on_error=False, description="compare")
    async def load(self) -> None:
        from tui.aws.compare import gather_twins

        aws = host(self).aws
        verdict_w = self.query_one("#cmp-verdict", Static)
        if aws is None:
            verdict_w.update(Text("Not connected to AWS yet."))
            return
        try:
            sides = await gather_twins(aws, self.left_ref, self.right_ref, now=host(self).clock)
        except HamariError as err:
            verdict_w.update(Text(f"✗ {display_safe(err.message)}"))
            return
        self.show(*sides)

    def show(self, a: TwinSide, b: TwinSide) -> None:
        """Fill the table from two gathered sides."""
        self.sides = (a, b)
        self.rows = compare(a, b)
        title = Text("compare ", style="bold")
        title.append(display_safe(a.instance.label), style="bold")
        title.append("  vs  ")
        title.append(display_safe(b.instance.label))
        self.query_one("#cmp-title", Static).update(title)
        head = Text(display_safe(verdict(self.rows)))
        warnings = [*a.warnings, *b.warnings]
        if warnings:
            head.append(f"\n▲ {display_safe(warnings[0])}", style="dim")
        self.query_one("#cmp-verdict", Static).update(head)
        self._fill()

    def _fill(self) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        table.clear(columns=True)
        width = self._value_width()
        left, right = self.sides[0].instance, self.sides[1].instance  # type: ignore[index]
        table.add_column(Text(""), width=1, key="mark")
        table.add_column(Text("attribute"), width=18, key="attr")
        table.add_column(Text(clip(name_label(left.name) or left.instance_id, width)), width=width)
        table.add_column(
            Text(clip(name_label(right.name) or right.instance_id, width)), width=width
        )
        current = None
        for index, row in enumerate(self.rows):
            group = group_of(row)
            if group != current:
                current = group
                table.add_row(
                    Text(""), Text(f"── {group}", style="bold"), Text(""), Text(""), key=f"h{index}"
                )
            table.add_row(*cells(row, width), key=f"r{index}")
        # The cursor starts on the first difference (row 1; row 0 is its heading).
        table.move_cursor(row=1 if self.rows else 0)
        table.focus()
        self._note(1)

    def _note(self, table_row: int) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        note = Text("")
        try:
            key = table.coordinate_to_cell_key((table_row, 0)).row_key.value or ""
        except Exception:
            key = ""
        if key.startswith("r"):
            row = self.rows[int(key[1:])]
            if row.note:
                note = Text(f"{display_safe(row.attribute)}: {display_safe(row.note)}")
        self.query_one("#cmp-note", Static).update(note)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._note(event.cursor_row)

    def on_resize(self) -> None:
        if self.sides is not None:
            self._fill()

    def action_cursor(self, step: int) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        table.move_cursor(row=max(0, table.cursor_row + step))

    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()
