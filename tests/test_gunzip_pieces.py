"""The one gzip reader yields bounded pieces, and every byte of every member, whatever the
piece size the input arrives in (bounded pieces halve the inflating time of big files)."""

from __future__ import annotations

import gzip
import zlib

import pytest

from tui.models import gunzip
from tui.models.gunzip import GunzipStream, TruncatedFileError

# Text that inflates far beyond one piece: repetitive like a flow log, with a random tail.
_TEXT = b"5 123456789012 eni-0abc 10.0.0.1 10.0.0.2 443 49152 6 10 840 ACCEPT OK\n" * 40_000
_OTHER = bytes(range(256)) * 300


def _members(*parts: bytes, pad: bytes = b"") -> bytes:
    return pad.join(gzip.compress(p) for p in parts)


@pytest.mark.parametrize(
    ("name", "data", "want"),
    [
        ("one member", _members(_TEXT), _TEXT),
        ("two members", _members(_TEXT, _OTHER), _TEXT + _OTHER),
        ("zero padding between members", _members(_OTHER, _TEXT, pad=b"\0" * 7), _OTHER + _TEXT),
        ("empty member", _members(b"", _OTHER), _OTHER),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
@pytest.mark.parametrize("feed_size", [1, 1000, 65_536, 1 << 30])
@pytest.mark.parametrize("limit", [1 << 10, gunzip._INFLATE_OUT])
@pytest.mark.parametrize("isal", [True, False])
def test_pieces_join_to_the_data(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    data: bytes,
    want: bytes,
    feed_size: int,
    limit: int,
    isal: bool,
) -> None:
    if feed_size == 1 and len(data) > 200_000:
        pytest.skip("byte by byte only for the small cases")
    monkeypatch.setattr(gunzip, "_INFLATE_OUT", limit)
    if not isal:
        monkeypatch.setattr(gunzip, "_fast_zlib", None)
    stream = GunzipStream()
    pieces = [
        p for i in range(0, len(data), feed_size) for p in stream.feed(data[i : i + feed_size])
    ]
    stream.close()
    assert b"".join(pieces) == want, name
    assert max(map(len, pieces)) <= limit


@pytest.mark.parametrize("cut", [10, 100, 5000])
def test_a_truncated_member_still_raises_after_its_data(cut: int) -> None:
    data = _members(_OTHER, _TEXT)
    stream = GunzipStream()
    got = b"".join(stream.feed(data[:-cut]))
    with pytest.raises(TruncatedFileError):
        stream.close()
    assert got.startswith(_OTHER)


def test_isal_and_zlib_inflate_alike() -> None:
    data = _members(_TEXT, _OTHER)
    assert zlib.decompress(data[: len(gzip.compress(_TEXT))], wbits=31) == _TEXT
