"""Every value survives the embedded stores' inserts exactly (issue 14.9: rows go into DuckDB
through its own appender and CSV reader, not Arrow): hostile strings, lists, the packed raw
event, the largest integers, NULLs. A value that came back changed would be a filter that
misses an event, or a flow record shown with another address than the log's."""

from __future__ import annotations

from typing import Any

import pytest

from tui.models.flowlog import DEFAULT_FORMAT

pytest.importorskip("duckdb")

from tests.hostile import HOSTILE
from tests.test_trailfilter import make
from tui.models.cloudtrail import TrailEvent
from tui.models.flowengine import FlowEngine
from tui.models.flowlog import MAX_EPOCH, MAX_INT, FlowRecord, layout_for
from tui.models.trailstore import store_events

VALUES: list[tuple[str, str]] = [
    ("plain", "StartInstances"),
    ("empty", ""),
    ("controls", "ctl\x01\x07\x1b[31m\x7f\x9b"),
    ("quotes", "quo\"te's `x`"),
    ("delimiters", "a,b;c|d\te"),
    ("newlines", "one\ntwo\r\nthree\r"),
    ("nul", "nul\x00byte"),
    ("only-nul", "\x00"),
    ("bidi", "admin\u202egnp.exe\u2066"),
    ("null-words", "None"),
    ("null-word-inside", "xNoney"),
    ("dash", "-"),
    ("backslash-n", "\\N"),
    ("sql-null", "NULL"),
    ("spaces", " lead and trail "),
    ("unicode", "über ✓ 𝔘 \ufffd"),
    ("json", '{"a": [1, "b\\u0000"]}'),
    ("base64", "AAEC/w=="),
    *((f"hostile-{i}", text) for i, text in enumerate(HOSTILE)),
]
IDS = [name for name, _ in VALUES]


def _valid(text: str) -> str:
    """What a store keeps of a string: a lone surrogate (from a JSON escape) becomes U+FFFD."""
    return text.encode("utf-8", "replace").decode("utf-8")


# ----------------------------------------------------------------------------- CloudTrail


def _event(i: int, value: str) -> TrailEvent:
    return make(
        eventID=f"ev-{i}",
        eventName=value,
        userAgent=value,
        errorCode=value,
        errorMessage=value,
        sourceIPAddress="255.255.255.255",
        readOnly=None if i % 2 else True,
        eventTime="9999-12-31T23:59:59Z" if i == 0 else f"2024-05-01T12:00:{i % 60:02d}Z",
        userIdentity={"type": "IAMUser", "userName": value, "accountId": "111122223333"},
        resources=[{"ARN": f"arn:aws:s3:::{value}"}, {"ARN": "i-0abc"}],
    )


@pytest.fixture(scope="module")
def trail() -> Any:
    events = [_event(i, value) for i, (_, value) in enumerate(VALUES)]
    with store_events(events) as store:
        yield store, events


@pytest.mark.parametrize("index", range(len(VALUES)), ids=IDS)
def test_trail_columns_keep_every_value(trail: Any, index: int) -> None:
    store, events = trail
    event = events[index]
    row = store.con.execute(
        "SELECT event_name, user_agent, error_code, error_message, user_names, resources, ips4,"
        " read_only, ts, key FROM trail WHERE event_id = ?",
        [f"ev-{index}"],
    ).fetchall()
    assert len(row) == 1
    name, agent, code, message, users, resources, ips4, read_only, ts, key = row[0]
    value = _valid(VALUES[index][1])
    assert (name, agent, code, message) == (value, value, value, value)
    assert users == [_valid(u) for u in event.user_names]
    assert resources == [_valid(r) for r in event.resources]
    assert ips4 == [4294967295]  # 255.255.255.255: past a signed 32-bit integer
    assert read_only is event.read_only  # NULL stays NULL
    assert ts == int(event.event_time.timestamp()) * 1_000_000
    assert key == _valid(event.key)


@pytest.mark.parametrize("index", range(len(VALUES)), ids=IDS)
def test_trail_events_come_back_whole(trail: Any, index: int) -> None:
    """The packed raw event survives: the event read back is the event stored."""
    store, events = trail
    got = store.matching(where=f"event_id = 'ev-{index}'")
    assert [e.raw for e in got] == [events[index].raw]


def test_trail_copies_are_counted_not_stored(trail: Any) -> None:
    store, events = trail
    before = (len(store), store.duplicates)
    store.add(events)
    store.flush()
    assert (len(store), store.duplicates) == (before[0], before[1] + len(events))


# ----------------------------------------------------------------------------- flow records

FIELDS = DEFAULT_FORMAT  # the default (version 2) format
_CLS = layout_for(FIELDS).record_class


def _record(i: int, value: str | None) -> FlowRecord:
    values = (5, value, f"eni-{i}", value, None, 0, None, 6, MAX_INT, i, 1, MAX_EPOCH, value, "OK")
    return tuple.__new__(_CLS, (*values, "raw line"))


def _stored(engine: FlowEngine) -> list[dict[str, Any]]:
    return [{f: r.as_dict()[f] for f in FIELDS} for r in engine.records()]


def _want(records: list[FlowRecord]) -> list[dict[str, Any]]:
    return [
        {f: _valid(v) if isinstance(v, str) else v for f, v in r.as_dict().items()} for r in records
    ]


@pytest.mark.parametrize("value", [v for _, v in VALUES], ids=IDS)
def test_flow_records_keep_every_value(value: str, tmp_path: Any) -> None:
    records = [_record(0, "10.0.0.1"), _record(1, value), _record(2, None)]
    with FlowEngine(temp_directory=tmp_path) as engine:
        engine.add(records)
        assert _stored(engine) == _want(records)


def test_plain_batches_take_the_text_path_in_arrival_order(tmp_path: Any) -> None:
    plain = [_record(i, f"10.0.{i // 256}.{i % 256}") for i in range(3000)]
    odd = [*plain[:10], _record(10, "a b\nc"), *plain[11:20]]
    with FlowEngine(temp_directory=tmp_path) as engine:
        engine.add(plain[:1500])
        engine.add(odd)  # a value with a space: this batch goes in value by value
        engine.add(plain[1500:])
        assert engine.inserted_as_text == len(plain)
        assert _stored(engine) == _want([*plain[:1500], *odd, *plain[1500:]])
