"""No escape byte from data reaches the screen, and nothing is hidden silently."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import HOSTILE
from tui.models.text import display_safe, has_visible, is_display_safe, name_label

DANGEROUS = {c for c in range(0x20) if c not in (0x09, 0x0A)} | {0x7F} | set(range(0x80, 0xA0))


def test_every_control_and_format_code_point_is_escaped() -> None:
    missed = [
        hex(cp)
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)) in ("Cc", "Cf", "Cs", "Zl", "Zp")
        and display_safe(chr(cp)) == chr(cp)
    ]
    assert missed == []


@given(st.text(alphabet=st.characters(codec=None), max_size=200))
def test_output_never_contains_control_bytes(value: str) -> None:
    shown = display_safe(value)
    assert not any(ord(ch) in DANGEROUS for ch in shown)
    assert "\n" not in shown and "\t" not in shown
    assert is_display_safe(shown)


@given(st.text(max_size=200))
def test_multiline_keeps_newlines_only(value: str) -> None:
    shown = display_safe(value, multiline=True)
    assert not any(ord(ch) in DANGEROUS for ch in shown)
    assert shown.count("\n") == value.count("\n")


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), max_size=100
    )
)
def test_ordinary_text_is_unchanged(value: str) -> None:
    assert display_safe(value) == value


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]52;c;aGk=\x07", "\\x1b]52;c;aGk=\\x07"),
        ("admin\u202egnp.exe", "admin\\u202egnp.exe"),
        ("\x9b2J", "\\x9b2J"),
        ("a\tb\nc", "a\\tb\\nc"),
        ("[/]", "[/]"),
        (None, ""),
        (12, "12"),
    ],
)
def test_escapes_are_visible_not_deleted(raw: object, shown: str) -> None:
    assert display_safe(raw) == shown


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_corpus_is_neutralised(value: str) -> None:
    shown = display_safe(value)
    assert "\x1b" not in shown and "\x9b" not in shown and "\x07" not in shown


# A Name tag that shows nothing names nothing: the id stands alone, wherever a Name is shown.
BLANK_NAMES = [
    "",
    "   ",
    " " * 300,  # pushed the id off the metrics status line: "◎" and blanks
    "\t\t\n",
    "\r\n",
    "\u00a0\u3000\u2003",  # no-break, ideographic, em spaces
    "\u200b\u200c\u200d\u2060\ufeff",  # zero-width
    "\u200b" * 40,  # escaped, its \u200b… pushed the id off too
    "\u202e\u2066\u2069\u200f",  # bidi overrides, isolates, marks
    " \t\u200b\u202e\n ",
]


@pytest.mark.parametrize("name", BLANK_NAMES, ids=[ascii(n)[:24] for n in BLANK_NAMES])
def test_a_name_of_only_blanks_gives_way_to_the_id(name: str) -> None:
    from tui.models.fleet import FleetInstance
    from tui.models.inventory import instance_from_api

    assert not has_visible(name) and name_label(name) == ""
    item = {"InstanceId": "i-0abc", "Tags": [{"Key": "Name", "Value": name}]}
    assert FleetInstance(item, None).label == "i-0abc"  # findings and :compare titles
    assert instance_from_api(item).label == "i-0abc"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("app-db-01", "app-db-01"),
        ("  app-db-01\t", "app-db-01"),
        ("app\t\tdb  01", "app db 01"),  # one space for each run, on one line
        ("\u202eevil", "\\u202eevil"),  # visible text: kept, the bidi override escaped
        ("\u200bweb", "\\u200bweb"),
        ("x" * 100, "x" * 31 + "…"),  # cut: the id after it stays on the line
        ("データベース", "データベース"),
    ],
)
def test_a_name_with_something_to_read_is_one_short_safe_line(name: str, shown: str) -> None:
    assert has_visible(name) and name_label(name) == shown
    uncut = display_safe(name) if shown.endswith("…") else shown  # labels in titles: not cut
    assert name_label(name, None) == uncut
    assert is_display_safe(name_label(name))
