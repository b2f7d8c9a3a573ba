"""The CloudTrail store (tui/models/trailstore.py): what a pane holds past 50,000 events.

Differential tests: the store's answer (SQL, finished in Python where SQL cannot be exact) must be
the Python filter's answer, in the pane's order, over hand-made events, the real-world corpus and
generated events; copies are dropped and counted; the private folder goes away.
"""

from __future__ import annotations

import gc
import os
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import test_pane_trail
from tests.hostile import HOSTILE
from tests.test_lake_sql import FILTERS, _corpus
from tests.test_trailfilter import FORWARDED, PEOPLE, make
from tui.models.cloudtrail import TrailEvent
from tui.models.trailfilter import FilterError, TrailFilter, compile_filter
from tui.models.trailstore import StoredView, TrailStore, _leaner, filter_sql, store_events

pytest_plugins = ["tests.demo_fixtures"]
world = test_pane_trail.world  # the seeded emulator (a module fixture)

# Rows SQL must not decide alone: non-ASCII (Python's lower() is not DuckDB's), control
# characters, a lone surrogate from a JSON escape, a NUL, LIKE's own wildcards.
ODD = [
    make(eventID="odd-kelvin", eventName="\u212aillInstance", userAgent="K-agent"),
    make(eventID="odd-turkish", userIdentity={"type": "IAMUser", "userName": "\u0130smail"}),
    make(eventID="odd-dotted", eventName="\u0130x"),  # lower(): "i\u0307x" here, "ix" in DuckDB
    make(eventID="odd-tab", sourceIPAddress="10.9.9.9,\t192.168.1.1", userAgent="a\tb"),
    make(eventID="odd-surrogate", eventName="Get\ud800Thing", errorCode="Denied\ud83d"),
    make(eventID="odd-nul", userAgent="nul\x00agent", errorMessage="x\x00y"),
    make(eventID="odd-pct", userAgent="100%_sure", eventName="O'Brien"),
    make(eventID="odd-ro", readOnly="true", errorMessage="failed only"),
    make(eventID="long", errorMessage="x" * 5000),  # its resources fall off the search text
]
MORE_FILTERS = [
    "name:kill*",
    "name:?x",
    'name:"i\u0307x"',
    "name:*\u0307*",
    "-name:?x",
    'name:"Get\ud800Thing"',
    "Get\ud800",
    "name:*instance",
    "user:ismail",
    "user:i*",
    "ip:192.168.0.0/16",
    "ip:192.168.1.1",
    "agent:a?b",
    "agent:nul*",
    "error:denied*",
    "-error:denied*",
    "get",
    "-get",
    "error:any errors_only_check",
]


def _newest_first(events: list[TrailEvent]) -> list[str]:
    return [e.key for e in sorted(events, key=lambda e: (e.event_time, e.key), reverse=True)]


@pytest.fixture(scope="module")
def events() -> list[TrailEvent]:
    return [*PEOPLE, FORWARDED, *ODD, *_corpus(2000)]


@pytest.fixture(scope="module")
def store(events: list[TrailEvent]) -> Any:
    with store_events(events) as store:
        yield store


def test_odd_rows_are_known_to_the_store(store: TrailStore) -> None:
    assert store.odd >= 5  # the rows above are all finished in Python


@pytest.mark.parametrize("text", [*FILTERS, *MORE_FILTERS])
@pytest.mark.parametrize("errors_only", [False, True])
def test_store_selects_what_the_python_filter_selects_newest_first(
    store: TrailStore, events: list[TrailEvent], text: str, errors_only: bool
) -> None:
    flt = compile_filter(text)
    want = [e for e in flt.apply(events) if e.is_error or not errors_only]
    assert store.count(flt, errors_only=errors_only) == len(want)
    got = [e.key for e in store.matching(flt, errors_only=errors_only)]
    assert got == _newest_first(want)
    assert [e.key for e in store.newest(flt, 5, errors_only=errors_only)] == got[:5]


def test_events_come_back_whole(store: TrailStore, events: list[TrailEvent]) -> None:
    """The detail view and export need the raw event and the search text, not only columns."""
    by_key = {e.key: e for e in events}
    for event in store.matching(compile_filter("")):
        original = by_key[event.key]
        assert event == original
        assert event.raw == original.raw
        assert event.search_text == original.search_text


def test_exact_filters_are_answered_by_sql_alone() -> None:
    """The common terms do not parse a million events (only odd rows are finished in Python)."""
    for text in (
        "error:AccessDenied*",
        "user:alice",
        "source:kms readonly:false",
        "decrypt",
        "ip:10.0.0.0/8",
        "resource:i-0abc",
        "-name:Start* or region:eu-*",
    ):
        assert filter_sql(compile_filter(text))[1], text
    for text in ("name:[CP]*", "ip:2001:db8::/32"):
        assert not filter_sql(compile_filter(text))[1], text


def test_copies_are_dropped_and_counted_across_batches() -> None:
    first = [make(eventID=f"ev-{i}", eventTime=f"2024-05-01T12:00:{i:02d}Z") for i in range(30)]
    with TrailStore() as store:
        store.add(first)
        store.flush()
        store.add(first[:10])  # a file read twice
        store.add(first[:3])  # and a copy within the buffer
        store.flush()
        assert len(store) == 30
        assert store.duplicates == 13
        # Same eventID, another call: not a copy.
        store.add(
            [make(eventID="ev-0", eventName="StopInstances", eventTime="2024-05-01T12:00:00Z")]
        )
        assert store.count() == 31


def test_related_candidates_span_the_window_and_shared_request_ids() -> None:
    focal = make(eventID="f", eventTime="2024-05-01T12:00:00Z", requestID="req-1")
    near = make(eventID="n", eventTime="2024-05-01T12:00:30Z")
    far_same_request = make(eventID="r", eventTime="2024-05-03T12:00:00Z", requestID="req-1")
    far = make(eventID="x", eventTime="2024-05-03T12:00:01Z")
    with store_events([focal, near, far_same_request, far]) as store:
        got = {e.event_id for e in store.around(focal, timedelta(minutes=5))}
    assert got == {"f", "n", "r"}


def test_private_folder_is_removed_on_close_and_when_forgotten(tmp_path: Any) -> None:
    store = store_events([make()], temp_directory=tmp_path)
    assert len(os.listdir(tmp_path)) == 1
    store.close()
    assert os.listdir(tmp_path) == []
    forgotten = store_events([make()], temp_directory=tmp_path)
    assert len(os.listdir(tmp_path)) == 1
    forgotten.con.close()
    del forgotten
    gc.collect()
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- free text

# Events whose search text holds what a free-text term can trip on: one value in several fields,
# hex IDs beside names, non-ASCII, multi-line values, hostile strings, a cut-off search text.
TEXT_EVENTS = [
    make(eventID="0f3c9a2e-77d1-4b6a-9e0d-5a1b2c3d4e5f", requestID="deadbeef-0001"),
    make(eventID="t-kms", eventSource="kms.amazonaws.com", eventName="Decrypt", userAgent="kms"),
    make(eventID="t-umlaut", userAgent="Über-Tool/1.0 ✓", errorMessage="Zugriff für ÄÖÜ"),
    make(eventID="t-kelvin", eventName="\u212aillInstance"),  # lower(): "killinstance"
    make(eventID="t-sigma", errorMessage="ΟΔΟΣ ΟΔΟΣ"),  # final sigma: "οδος οδος"
    make(eventID="t-lines", requestParameters={"note": "line one\nline two", "b": "logs-bucket"}),
    make(eventID="t-crlf", errorMessage="first\r\nsecond", errorCode="Denied"),
    make(eventID="t-same", userAgent="alice", errorCode="alice", sourceIPAddress="alice"),
    make(eventID="t-ip", sourceIPAddress="10.20.30.40, 192.168.1.1"),
    make(eventID="t-sql", userAgent="x'; DROP TABLE trail; --", errorMessage="100%_sure\\n"),
    make(eventID="t-long", errorMessage="y" * 5000, requestID="cafe-after-the-cut"),
    make(eventID="t-bucket", requestParameters={"bucketName": "Größe-Daten_2024 (alt)"}),
    *(make(eventID=f"t-hostile-{i}", userAgent=text) for i, text in enumerate(HOSTILE)),
]
# (free-text filter, some event it must find; None: none)
TEXT_CASES = [
    ("decrypt", "t-kms"),
    ("DECRYPT", "t-kms"),
    ("startinstances", "t-umlaut"),
    ("9a2e-77d1", "0f3c9a2e-77d1-4b6a-9e0d-5a1b2c3d4e5f"),  # ID characters only
    ("deadbeef", "0f3c9a2e-77d1-4b6a-9e0d-5a1b2c3d4e5f"),
    ("0abc123", "t-kms"),  # the instance ID's middle: ID characters inside a longer line
    ("i-0abc", "t-kms"),
    ("10.20.30", "t-ip"),
    ('"30.40, 192"', "t-ip"),
    ("111122223333", "t-kms"),
    ("a", "t-kms"),
    ('"-"', "t-kms"),
    ("über", "t-umlaut"),
    ("ÜBER-TOOL", "t-umlaut"),
    ("✓", "t-umlaut"),
    ('"für äöü"', "t-umlaut"),
    ("killinstance", "t-kelvin"),
    ("\u212aill", "t-kelvin"),
    ("οδος οδος", "t-sigma"),
    ("ΟΔΟΣ", "t-sigma"),
    ("line one", "t-lines"),
    ('"one\nline"', "t-lines"),  # across a line break inside one value
    ('"startinstances\nec2"', "t-umlaut"),  # across the boundary of two fields
    ('"first\r\nsecond"', "t-crlf"),
    ('"\nus-east-1\n"', "t-kms"),
    ('"ec2.amazonaws.com\n"', "t-umlaut"),
    ('"decrypt\nec2"', None),  # each piece is somewhere, not together
    ("alice", "t-same"),
    ('"drop table"', "t-sql"),
    ('"\'; drop"', "t-sql"),
    ("%_sure", "t-sql"),
    ("100%", "t-sql"),
    ("_", "t-sql"),
    ("\\n", "t-sql"),
    ("yyyy", "t-long"),
    ("öße-daten", "t-bucket"),
    ('"_2024 (alt)"', "t-bucket"),
    ("größe-daten_2024", "t-bucket"),
    ("cafe-after-the-cut", None),  # past the search text's limit: not searched
    ("[/]", "t-hostile-15"),
    ('"[link=https://evil.example]"', "t-hostile-20"),
    ("\x1b]52;c;", "t-hostile-0"),
    ("gnp.exe", "t-hostile-11"),
    ("nul\x00byte", "t-hostile-13"),
    ("lone\udc80", "t-hostile-14"),
    ("nothing-has-this", None),
    ("-decrypt", "t-umlaut"),
    ("-a", None),
    ('-"one\nline"', "t-kms"),
    ("decrypt or 9a2e", "t-kms"),
    ("decrypt kms", "t-kms"),
]


@pytest.fixture(scope="module")
def text_store() -> Any:
    with store_events([*TEXT_EVENTS, *PEOPLE, *ODD]) as store:
        yield store


@pytest.mark.parametrize(("text", "finds"), TEXT_CASES, ids=[repr(t) for t, _ in TEXT_CASES])
def test_free_text_finds_what_the_python_filter_finds(
    text_store: TrailStore, text: str, finds: str | None
) -> None:
    """A free-text term finds in the store exactly the events the in-memory filter finds:
    substrings of any field, across field boundaries, any case, non-ASCII, hostile text."""
    events = [*TEXT_EVENTS, *PEOPLE, *ODD]
    flt = compile_filter(text)
    want = flt.apply(events)
    got = [e.key for e in text_store.matching(flt)]
    assert got == _newest_first(list(want))
    assert text_store.count(flt) == len(want)
    assert [e.key for e in text_store.newest(flt, 3)] == got[:3]
    if finds is None:
        assert not [e for e in want if e.event_id.startswith("t-")]
    else:
        assert finds in {e.event_id for e in want}


def test_free_text_is_answered_by_sql_unless_it_holds_a_line_break() -> None:
    for text in ("decrypt", "9a2e-77d1", "über", '"\'; drop"', "-decrypt", "[/]"):
        assert filter_sql(compile_filter(text))[1], text
    for text in ('"one\nline"', '"\nus-east-1"'):
        assert not filter_sql(compile_filter(text))[1], text


def test_newest_reads_the_top_rows_also_when_odd_rows_are_stored(
    store: TrailStore, events: list[TrailEvent]
) -> None:
    """The table's newest rows are right whether or not odd rows must be checked in Python."""
    assert store.odd
    for text in ("", "get", "error:any", "-name:?x"):
        flt = compile_filter(text)
        want = _newest_first(flt.apply(events))
        for limit in (0, 1, 7, len(want) + 3):
            assert [e.key for e in store.newest(flt, limit)] == want[:limit], (text, limit)


# ----------------------------------------------------------------------------- generated

_WORDS = ["alice", "Bob", "k\u212a", "\u0130x", "a%b", "a_b", "x y", "10.1.2.3", "", "kms"]
_value = st.sampled_from(_WORDS) | st.text(alphabet="abAB%_*?[]\u0130é\t-.:/", max_size=6)
_ip = st.sampled_from(
    ["10.1.2.3", "192.168.1.7", "10.0.0.1, 192.168.1.1", "2001:db8::5", "ec2.amazonaws.com", ""]
)


@st.composite
def _events(draw: Any) -> TrailEvent:
    second = draw(st.integers(0, 59))
    identity = {"type": draw(st.sampled_from(["IAMUser", "AssumedRole", "AWSService", "Root"]))}
    identity["userName"] = draw(_value)
    overrides: dict[str, Any] = {
        "eventID": f"g{draw(st.integers(0, 10**9))}",
        "eventTime": f"2024-05-01T12:00:{second:02d}Z",
        "eventName": draw(_value),
        "eventSource": draw(st.sampled_from(["kms.amazonaws.com", "sts.amazonaws.com", "x"])),
        "sourceIPAddress": draw(_ip),
        "userAgent": draw(_value),
        "awsRegion": draw(st.sampled_from(["us-east-1", "eu-west-1", "EU-\u0130"])),
        "readOnly": draw(st.sampled_from([True, False, None])),
        "userIdentity": identity,
        "resources": [{"ARN": f"arn:aws:kms:us-east-1:1:key/{draw(_value)}"}],
    }
    if draw(st.booleans()):
        overrides["errorCode"] = draw(_value)
    return make(**overrides)


_KEYS = ["name", "user", "agent", "error", "ip", "resource", "region", "source", "readonly"]


@st.composite
def _filters(draw: Any) -> TrailFilter:
    terms = []
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(_KEYS))
        value = draw(_value.filter(lambda v: v.strip() != "" and not any(c.isspace() for c in v)))
        if key == "readonly":
            value = draw(st.sampled_from(["true", "false"]))
        sign = "-" if draw(st.booleans()) else ""
        terms.append(f'{sign}{key}:"{value}"')
    if draw(st.booleans()):
        terms.insert(draw(st.integers(1, len(terms))), "or")
    text = " ".join(terms)
    try:
        return compile_filter(text)
    except FilterError:
        return compile_filter(draw(st.sampled_from(FILTERS)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_events(), min_size=1, max_size=25), st.lists(_filters(), min_size=1, max_size=4))
def test_generated_events_and_filters_agree(events: list[TrailEvent], filters: list[Any]) -> None:
    first: dict[str, TrailEvent] = {}
    for event in events:
        first.setdefault(event.key, event)  # the store keeps the first copy of an event
    with store_events(events, threads=1) as store:
        for flt in filters:
            want = flt.apply(first.values())
            assert [e.key for e in store.matching(flt)] == _newest_first(list(want)), flt.text


# ----------------------------------------------------------------------------- the pane


async def test_pane_past_the_threshold_filters_everything_and_shows_the_newest(
    emulator: Any, world: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """A user loading more than the pane keeps in memory: the count covers every loaded event,
    the table the newest matches, copies are folded and said, related events come from the
    store and findings see every failed call."""
    import json
    from datetime import datetime

    from tests.test_pane_trail import static_text, wait_for
    from tui.app import HamariApp
    from tui.demo.runtime import AttachedRuntime
    from tui.models.related import find_related
    from tui.panes.trail import TrailPane

    monkeypatch.setattr("tui.evidence.trail.STORE_ABOVE", 50)
    monkeypatch.setattr("tui.panes.trail.STORE_TABLE", 20)
    now: datetime = world.now

    def event(i: int) -> dict[str, Any]:
        return {
            "eventTime": f"{now - timedelta(minutes=60 - i * 0.25):%Y-%m-%dT%H:%M:%SZ}",
            "eventID": f"ev-{i}",
            "eventName": "StartInstances" if i % 3 else "CreateGrant",
            "eventSource": "ec2.amazonaws.com" if i % 3 else "kms.amazonaws.com",
            "errorCode": "" if i % 3 else "AccessDenied",
            "requestID": "req-far" if i in (0, 200) else f"req-{i}",
            "userIdentity": {"type": "IAMUser", "userName": "alice"},
        }

    records = [event(i) for i in range(201)]
    for part in range(3):
        chunk = records[part * 70 : (part + 1) * 70]
        (tmp_path / f"p{part}.json").write_text(json.dumps({"Records": chunk}))
    (tmp_path / "again.json").write_text(json.dumps({"Records": records[:10]}))  # a copy
    from tui.settings import Settings

    settings = Settings(demo=True, since="70m", trail_source=str(tmp_path))
    app = HamariApp(
        settings, clock=lambda: world.now, demo_runtime=AttachedRuntime(emulator.url, world)
    )
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.screen.query_one(TrailPane)
        await wait_for(pilot, lambda: pane._store is not None and pane._store_matches == 201)
        await wait_for(
            pilot, lambda: "201 loaded · 201 match" in static_text(pane.query_one(".pane-status"))
        )
        status = static_text(pane.query_one(".pane-status"))
        assert "table: newest 20" in status
        assert "10 duplicates folded" in status
        assert [e.event_id for e in pane.view[:2]] == ["ev-200", "ev-199"]
        pane.filter = compile_filter("error:AccessDenied*")
        pane._refilter()
        await wait_for(pilot, lambda: pane._store_matches == 67)
        assert len(pane.view) == 20 and all(e.error_code == "AccessDenied" for e in pane.view)
        assert pane.view[0].event_id == "ev-198"
        pane._render_subtitle()
        assert str(pane.border_subtitle).startswith("20 of 201 · filtered")  # shown of loaded
        # the findings read the store once the load is over (a query answered while the
        # last file was still being read does not refresh them): wait for that answer
        await wait_for(
            pilot,
            lambda: {e.event_id for e in pane.evidence.loaded_events} >= {"ev-0", "ev-1", "ev-200"},
        )
        assert {e.event_id for e in pane.evidence.loaded_events} >= {"ev-0", "ev-1", "ev-200"}
        focal = pane.view[0]
        assert pane._store is not None
        related = find_related(pane._store.newest(compile_filter("id:ev-200"), 1)[0], pane._store)
        assert "ev-0" in {r.event.event_id for r in related.items}  # same request, 50 min apart
        assert focal.event_id == "ev-198"


def _describes(
    now: Any, minutes_ago: float, count: int, step: float, user: str, prefix: str
) -> list[dict[str, Any]]:
    """``count`` DescribeInstances by ``user``, from ``minutes_ago`` on, ``step`` minutes apart."""
    return [
        {
            "eventTime": f"{now - timedelta(minutes=minutes_ago - i * step):%Y-%m-%dT%H:%M:%SZ}",
            "eventID": f"{prefix}{i}",
            "eventName": "DescribeInstances",
            "eventSource": "ec2.amazonaws.com",
            "userIdentity": {"type": "IAMUser", "userName": user},
        }
        for i in range(count)
    ]


async def test_bundle_past_the_threshold_holds_every_loaded_event(
    emulator: Any, world: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """ctrl+s with more events than the pane keeps in memory: the bundle reads them all back
    from the store (it held only the StartInstances and failed calls the findings read)."""
    import json

    from tests.test_pane_trail import wait_for
    from tui.app import HamariApp
    from tui.demo.runtime import AttachedRuntime
    from tui.models.bundle import BundleError, load
    from tui.panes.trail import TrailPane
    from tui.settings import Settings

    monkeypatch.setattr("tui.evidence.trail.STORE_ABOVE", 50)
    now = world.now
    records = _describes(now, 60, 120, 0.25, "bob", "ev-")
    (tmp_path / "t.json").write_text(json.dumps({"Records": records}))
    settings = Settings(demo=True, since="70m", trail_source=str(tmp_path / "t.json"))
    app = HamariApp(
        settings, clock=lambda: world.now, demo_runtime=AttachedRuntime(emulator.url, world)
    )
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.screen.query_one(TrailPane)
        await wait_for(pilot, lambda: pane._store is not None and pane._store_matches == 120)
        saved = tmp_path / "bundle.json.gz"
        app.screen.save_bundle(str(saved))

        def complete() -> bool:
            try:
                return load(str(saved)) is not None
            except (BundleError, OSError, EOFError):
                return False

        await wait_for(pilot, complete)
        assert len(load(str(saved)).trail_events) == 120


@pytest.mark.parametrize("text", ["", "error:AccessDenied*", "name:Start*", "decrypt", "user:*"])
@pytest.mark.parametrize("odd", [True, False])
def test_newest_view_is_the_events_and_outlives_its_store(
    events: list[TrailEvent], text: str, odd: bool
) -> None:
    """The table's 10,000 newest come as a view parsed row by row (a re-filter does not parse
    what is not drawn): the same events, whole, in the same order, and still readable once the
    store is closed (a new window replaces it while the old table may still draw)."""
    flt = compile_filter(text)
    with store_events(events if odd else _corpus(2000)) as store:
        want = list(store.matching(flt))[:700]
        view = store.newest(flt, 700)
        keys = [e.key for e in want]
    assert len(view) == len(want)
    if isinstance(view, StoredView):
        assert view.keys == keys  # known before any event is parsed
    assert [e.key for e in view] == keys
    assert [e.raw for e in view[:5]] == [e.raw for e in want[:5]]
    assert view[-1].key == keys[-1]
    assert [e.search_text for e in view[::100]] == [e.search_text for e in want[::100]]


def test_exact_filters_come_as_a_lazy_view() -> None:
    with store_events(_corpus(2000)) as store:
        assert store.odd == 0
        assert isinstance(store.newest(compile_filter("error:AccessDenied*"), 50), StoredView)
        assert isinstance(store.newest(compile_filter("name:Start*"), 50), StoredView)


@pytest.mark.parametrize(
    "text", ["name:StartInstances or error:any", "", "user:i*", "error:denied*", "get"]
)
def test_slim_events_are_the_parsed_events_without_their_raw(
    store: TrailStore, events: list[TrailEvent], text: str
) -> None:
    """What the findings hold past the threshold, built from the columns: every field equal to
    the event parsed from its raw (odd rows too), newest first, and nothing of the raw kept."""
    flt = compile_filter(text)
    want = list(store.matching(flt))
    got = store.slim(flt)
    assert [e.key for e in got] == [e.key for e in want]
    assert got == want  # every field but raw and search_text
    assert all(e.raw == {} and e.search_text == "" for e in got)
    assert {e.key for e in got} == {e.key for e in flt.apply(events)}
    # What the findings hold: the same, less what they never read.
    lean = store.slim(flt, lean=True)
    assert lean == [_leaner(e) for e in want]
    assert all(e.source_ip == e.request_id == e.user_agent == "" for e in lean)
    assert all(e.error_message == "" or not e.error_code for e in lean)
    assert [e.is_error for e in lean] == [e.is_error for e in want]


async def test_a_full_disk_is_said_with_the_fix_and_the_loaded_events_stay(
    emulator: Any, world: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """The stores' folder fills up while a big folder loads: the pane says the disk is full,
    where, and what to do (not "a bug in hamari"), and keeps showing what it stored."""
    import errno
    import json

    from tests.test_pane_trail import static_text, wait_for
    from tui.app import HamariApp
    from tui.demo.runtime import AttachedRuntime
    from tui.panes.base import ErrorPanel
    from tui.panes.trail import TrailPane
    from tui.settings import Settings

    monkeypatch.setattr("tui.evidence.trail.STORE_ABOVE", 50)
    real_insert = TrailStore._insert
    calls = []

    def insert(self: TrailStore, events: list[Any]) -> None:
        calls.append(len(events))
        if len(calls) > 1:  # the disk fills after the first insert
            raise OSError(errno.ENOSPC, "No space left on device")
        real_insert(self, events)

    monkeypatch.setattr(TrailStore, "_insert", insert)
    now = world.now
    for part in range(4):
        records = _describes(now, 60 - part * 10, 60, 0.05, "alice", f"ev-{part}-")
        (tmp_path / f"p{part}.json").write_text(json.dumps({"Records": records}))
    settings = Settings(demo=True, since="70m", trail_source=str(tmp_path))
    app = HamariApp(
        settings, clock=lambda: world.now, demo_runtime=AttachedRuntime(emulator.url, world)
    )
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.screen.query_one(TrailPane)
        panel = pane.query_one(ErrorPanel)
        await wait_for(pilot, lambda: "Store folder full" in static_text(panel))
        said = static_text(panel)
        assert "TMPDIR" in said and "too little room" in said and "bug" not in said
        await wait_for(pilot, lambda: len(pane.view) > 0)
        store = pane._store
        assert store is not None and len(store) == calls[0] > 0  # what was stored stays
        await wait_for(
            pilot, lambda: "not stored (disk full)" in static_text(pane.query_one(".pane-status"))
        )
        assert store.unstored > 0 and len(store) + store.unstored <= 240  # none counted twice
        tries = len(calls)
        for _ in range(2):  # r: no re-reading of every file into a full disk, and still said
            pane.wake()
            await pilot.pause(0.5)
            assert len(calls) == tries and "Store folder full" in static_text(panel)
            assert panel.has_class("-shown")  # not cleared by the next refresh


def test_a_store_stops_before_its_disk_fills_and_stays_searchable(
    tmp_path: Any, monkeypatch: Any
) -> None:
    """DuckDB invalidates a database whose checkpoint could not be written (every later query
    then fails): the store stops adding while there is still room, counts what it did not
    store, refuses later adds, and answers queries on what it holds."""
    import errno

    from tui.models import trailstore
    from tui.models.trailstore import write_chunk

    events = _corpus(600)
    store = store_events(events[:300])
    try:
        store.flush()
        chunk = write_chunk(str(tmp_path / "c.duckdb"), events[300:])
        assert chunk is not None
        monkeypatch.setattr(trailstore, "short_of_room", lambda folder, needed: "only 1 MB left")
        with pytest.raises(OSError) as raised:
            store.add_chunk(chunk)
        assert raised.value.errno == errno.ENOSPC and "only 1 MB left" in str(raised.value)
        assert store.unstored == chunk.rows and not os.path.exists(chunk.path)
        with pytest.raises(OSError):
            store.add(events[300:310])  # refused: nothing buffered in memory behind a full disk
        assert len(store) == store.count(compile_filter("")) == 300  # still searchable
    finally:
        store.close()
