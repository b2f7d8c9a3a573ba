"""No escape byte from data reaches the screen, and nothing is hidden silently."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import HOSTILE
from tui.models.text import display_safe, is_display_safe

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
