"""Turn untrusted strings (from AWS or from files) into display-safe text, once, where data enters.

Rich and Textual strip only a handful of control characters, so an escape sequence inside a
CloudTrail ``userAgent`` or a flow-log line would otherwise reach the terminal (OSC 52 clipboard
writes, title changes, screen clears). Following kubectl's fix for CVE-2021-25743, every control,
format, bidi and zero-width character is shown as a visible escape (``\\x1b``, ``\\u202e``) and
never deleted silently, so that an investigator sees that something odd was there. The raw value is
kept by the records for search and export; only the display copy goes through here.

This module is pure: it returns ``str``. The UI wraps the result in ``rich.text.Text`` (never
markup), so square brackets are shown literally.
"""

from __future__ import annotations

import re
from typing import Final

# Unicode "format" (Cf) characters and other invisibles that can hide or reorder text. Listed by
# range so that importing this module stays cheap; a test walks the whole code space to prove that
# every Cc and Cf code point is covered.
_FORMAT_RANGES: Final[tuple[tuple[int, int], ...]] = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x0600, 0x0605),
    (0x061C, 0x061C),  # Arabic letter mark (bidi)
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),  # zero-width space/joiners, LRM, RLM
    (0x2028, 0x2029),  # line and paragraph separators
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x2064),  # word joiner, invisible operators
    (0x2066, 0x206F),  # bidi isolates and deprecated format controls
    (0xFEFF, 0xFEFF),  # zero-width no-break space / BOM
    (0xFFF9, 0xFFFB),  # interlinear annotation
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1345F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),  # tag characters ("ASCII smuggling")
)


def _char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    parts = []
    for lo, hi in ranges:
        parts.append(
            re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
        )
    return "".join(parts)


_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 except TAB and LF, DEL, C1
_SURROGATES = "\ud800-\udfff"  # lone surrogates (from surrogateescape / bad JSON)
_MULTILINE: Final = re.compile(f"[{_CONTROL}{_SURROGATES}{_char_class(_FORMAT_RANGES)}]")
_ONE_LINE: Final = re.compile(f"[\t\n{_CONTROL}{_SURROGATES}{_char_class(_FORMAT_RANGES)}]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x09:
        return "\\t"
    if code == 0x0A:
        return "\\n"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def display_safe(value: object, *, multiline: bool = False) -> str:
    """Return ``value`` as a string with every invisible or terminal-active character escaped.

    Args:
        value: any value; ``None`` becomes the empty string.
        multiline: keep TAB and LF (for JSON detail views); otherwise they are escaped too, so a
            table cell is always one line.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    pattern = _MULTILINE if multiline else _ONE_LINE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_visible, text)


# What JSON text may still carry raw after ``json.dumps(..., ensure_ascii=False)``, which escapes
# only C0: DEL, C1 (8-bit CSI/OSC/ST), lone surrogates and the format characters above.
# (DEL and C1 apart: a range must not span two UTF-8 lengths for _lead_bytes.)
_JSON_RAW_RANGES: Final = ((0x7F, 0x7F), (0x80, 0x9F), (0xD800, 0xDFFF), *_FORMAT_RANGES)
_JSON_RAW: Final = re.compile(f"[\x7f-\x9f{_SURROGATES}{_char_class(_FORMAT_RANGES)}]")


def _lead_bytes(ranges: tuple[tuple[int, int], ...]) -> bytes:
    """Every UTF-8 first byte of the code points in ``ranges`` (monotonic in the code point)."""
    leads: set[int] = set()
    for lo, hi in ranges:
        first, last = (chr(c).encode("utf-8", "surrogatepass")[0] for c in (lo, hi))
        leads.update(range(first, last + 1))
    return bytes(b for b in range(256) if b not in leads)


# The bytes that cannot start such a character: a text whose UTF-8 holds nothing else needs no
# regex pass (Japanese and most other text), and encoding plus one translate is ~10x cheaper.
_JSON_SAFE_BYTES: Final = _lead_bytes(_JSON_RAW_RANGES)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # astral (tag characters): a UTF-16 surrogate pair, as JSON spells it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_terminal_safe(encoded: str) -> str:
    """Escape, in JSON text, every character a terminal could act on or that hides text.

    ``encoded`` is what a JSON encoder wrote with ``ensure_ascii=False`` (C0 already escaped).
    Such characters can only sit inside JSON strings, so replacing each with its ``\\uXXXX``
    escape keeps the text valid JSON that decodes to the very same value (lossless), while
    ``cat`` or a terminal shows only printable text. Other non-ASCII text (names in Japanese)
    stays readable.
    """
    if encoded.isascii():  # O(1) for str: the common case costs one "in"
        return encoded.replace("\x7f", "\\u007f") if "\x7f" in encoded else encoded
    if not encoded.encode("utf-8", "surrogatepass").translate(None, _JSON_SAFE_BYTES):
        return encoded
    return _JSON_RAW.sub(_json_escape, encoded)


def is_display_safe(text: str, *, multiline: bool = False) -> bool:
    """True when ``text`` contains nothing that :func:`display_safe` would escape."""
    pattern = _MULTILINE if multiline else _ONE_LINE
    return pattern.search(text) is None


def clip(text: str, width: int, ellipsis: str = "…") -> str:
    """Cut ``text`` to at most ``width`` characters, marking the cut."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: max(0, width - len(ellipsis))] + ellipsis


_SPACE_RUN: Final = re.compile(r"\s+")

#: Characters of a Name tag shown beside its id at most (AWS allows 256).
NAME_WIDTH: Final = 32


def has_visible(value: object) -> bool:
    """True when ``value`` holds a character a reader can see or type: not only whitespace
    (spaces, tabs, newlines, no-break or ideographic spaces) nor control, zero-width or bidi
    characters. A Name tag without one names nothing: show the resource's id instead."""
    if value is None:
        return False
    text = value if isinstance(value, str) else str(value)
    return bool(_ONE_LINE.sub("", _SPACE_RUN.sub("", text)))


def name_label(value: object, width: int | None = NAME_WIDTH) -> str:
    """A Name tag (untrusted) as a one-line label beside its resource's id.

    ``""`` when it holds nothing visible (:func:`has_visible`), so the caller shows the id
    alone; otherwise display-safe, outer whitespace dropped, each inner run of whitespace one
    space, cut at ``width`` characters (None: not cut), so an id after it stays on screen.
    """
    if not has_visible(value):
        return ""
    text = _SPACE_RUN.sub(" ", str(value).strip())
    return display_safe(text) if width is None else clip(display_safe(text), width)
