"""The trail evidence without an app: what is loaded, folded, stored, skipped and read by findings.

These build :class:`tui.evidence.trail.TrailEvidence` directly (milliseconds; DuckDB only where
the store is the point) so that what the findings and the bundle see is pinned apart from the pane.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tui.aws.trailbatch import TrailBatch
from tui.evidence import trail as trail_evidence
from tui.evidence.trail import TrailEvidence
from tui.models.cloudtrail import TrailEvent, parse_event

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _event(
    i: int, name: str = "DescribeInstances", error: str = "", account: str = ""
) -> TrailEvent:
    raw: dict[str, Any] = {
        "eventTime": f"{T0 + timedelta(minutes=i):%Y-%m-%dT%H:%M:%SZ}",
        "eventID": f"ev-{i}",
        "eventName": name,
        "eventSource": "kms.amazonaws.com" if error else "ec2.amazonaws.com",
        "userIdentity": {"type": "IAMUser", "userName": "alice"},
    }
    if error:
        raw["errorCode"] = error
    if account:
        raw["recipientAccountId"] = account
    return parse_event(raw)


def _batch(events: list[TrailEvent], **kw: Any) -> TrailBatch:
    fields: dict[str, Any] = {"bad": 0, "source": "s3://b/k", "pages": 1, "done": False}
    fields["scanned"] = len(events)
    fields.update(kw)
    return TrailBatch(events, **fields)


# The incident-1 shape: a successful start, then the KMS denial made on its behalf.
START = _event(1, "StartInstances")
DENIED = _event(2, "CreateGrant", error="AccessDenied")
NOISE = [_event(i) for i in range(3, 8)]


@pytest.mark.parametrize(
    ("batches", "loaded", "newest"),
    [
        ([[START, DENIED, *NOISE]], 7, "ev-7"),
        ([[START], [DENIED], [START, DENIED]], 2, "ev-2"),  # a re-read adds nothing
        ([[NOISE[-1]], [START]], 2, "ev-7"),  # an older event goes behind the newest
        ([], 0, None),
    ],
)
def test_events_are_kept_once_newest_first(
    batches: list[list[TrailEvent]], loaded: int, newest: str | None
) -> None:
    evidence = TrailEvidence()
    for events in batches:
        evidence.add(events)
    assert evidence.loaded_count == len(evidence.loaded_events) == loaded
    assert (evidence.ordered[0].event_id if evidence.ordered else None) == newest
    assert evidence.has_data() == bool(loaded)


def test_add_says_what_was_new_so_a_view_can_extend() -> None:
    evidence = TrailEvidence()
    assert [e.event_id for e in evidence.add([START, DENIED]).fresh] == ["ev-1", "ev-2"]
    again = evidence.add([DENIED, NOISE[0]])
    assert [e.event_id for e in again.fresh] == ["ev-3"] and not again.stored


def test_findings_read_every_loaded_event_not_a_view() -> None:
    """Nothing here filters: a pane's filter or focus narrows its own view only."""
    evidence = TrailEvidence()
    evidence.add([START, DENIED, *NOISE])
    assert DENIED in evidence.loaded_events and START in evidence.loaded_events
    assert evidence.find("ev-2") is DENIED  # findings name an event by its eventID
    assert evidence.find(DENIED.key) is DENIED
    assert evidence.find("ev-99") is None


@pytest.mark.parametrize(
    ("batch", "follow", "counts"),
    [
        (_batch([START], scanned=40, pages=2), False, (40, 2, 0, 0, 0, 0)),
        (_batch([START], scanned=40, pages=2), True, (1, 2, 0, 0, 0, 0)),  # follow: what it adds
        (_batch([], bad=3, notes=("f.json: line 3: not JSON",)), False, (0, 1, 3, 0, 0, 0)),
        (
            _batch([], bad_files=1, skipped=("a.gz: truncated", "b.txt: not a trail file")),
            False,
            (0, 1, 0, 1, 1, 0),
        ),
        (_batch([START], duplicates=4), False, (1, 1, 0, 0, 0, 4)),
    ],
)
def test_what_a_batch_read_and_skipped_is_counted(
    batch: TrailBatch, follow: bool, counts: tuple[int, ...]
) -> None:
    evidence = TrailEvidence()
    evidence.take(batch, follow=follow)
    got = (
        evidence.scanned,
        evidence.pages,
        evidence.bad,
        evidence.bad_files,
        evidence.skipped_files,
        evidence.duplicates,
    )
    assert got == counts
    assert evidence.skipped_total() == counts[2] + counts[3] + counts[4]
    assert len(evidence.skipped_items()) == len(batch.skipped) + len(batch.notes)
    assert evidence.folded == counts[5]


def test_skipped_reasons_are_bounded_but_counts_exact() -> None:
    evidence = TrailEvidence()
    notes = tuple(f"f{i}.json: bad record" for i in range(300))
    evidence.take(_batch([], bad=300, notes=notes))
    assert len(evidence.skipped_items()) == trail_evidence.MAX_SKIPPED
    assert evidence.bad == 300
    assert evidence.skipped_items()[0].where == "f0.json"


def test_a_region_that_fails_is_named_until_it_answers() -> None:
    evidence = TrailEvidence()
    evidence.take(_batch([], pages=0, region_errors=("eu-west-1: not reachable: timeout",)))
    assert list(evidence.region_errors) == ["eu-west-1"]
    evidence.take(_batch([START], source="lookup eu-west-1"))
    assert evidence.region_errors == {}


def test_accounts_seen_and_reset_forgets_everything() -> None:
    evidence = TrailEvidence()
    evidence.take(_batch([_event(1, account="111"), _event(2, account="222")], bad=1))
    assert evidence.accounts == {"111", "222"}
    generation = evidence.generation
    evidence.reset()
    assert (evidence.loaded_count, evidence.bad, evidence.accounts) == (0, 0, set())
    assert evidence.generation == generation + 1


def test_replay_holds_saved_events() -> None:
    evidence = TrailEvidence()
    evidence.add(NOISE)
    evidence.replace([DENIED, START, DENIED])
    assert [e.event_id for e in evidence.ordered] == ["ev-2", "ev-1"]
    assert evidence.scanned == 2


def test_past_the_threshold_every_event_moves_to_the_store(monkeypatch: Any) -> None:
    """Memory is bounded; the findings still read the start and the denial, the bundle all."""
    monkeypatch.setattr(trail_evidence, "STORE_ABOVE", 3)
    evidence = TrailEvidence()
    try:
        assert not evidence.add([START, DENIED]).stored
        added = evidence.add(NOISE)
        assert added.stored and evidence.store is not None
        assert evidence.events == {} and evidence.ordered == []  # memory let go of them
        evidence.add([NOISE[0], _event(9)])  # a copy folded by the store, and one new event
        assert evidence.loaded_count == 8
        assert evidence.loaded_events == []  # not read yet: a thread asks the store
        assert evidence.refresh_findings()
        assert {e.event_id for e in evidence.loaded_events} == {"ev-1", "ev-2"}
        # held for the findings without their raw JSON; the bundle reads them whole
        assert all(
            e.raw == {} and e.error_code == d.error_code and e.resources == d.resources
            for e in evidence.loaded_events
            for d in [DENIED, START]
            if e.key == d.key
        )
        assert {e.key: e.raw for e in evidence.all_events()}[DENIED.key] == DENIED.raw != {}
        assert len(evidence.all_events()) == 8
        assert evidence.folded == 1
        store = evidence.store
        evidence.reset()
        assert evidence.store is None and not evidence.refresh_findings()
        assert store is not None
    finally:
        evidence.close()


def _calls(minutes: int, per_minute: int, error_every: int, burst_at: int) -> list[TrailEvent]:
    """Calls through ``minutes``; one in ``error_every`` fails, and every call fails in the
    five minutes from ``burst_at``."""
    out = []
    for m in range(minutes):
        for k in range(per_minute):
            i = m * per_minute + k
            failed = burst_at <= m < burst_at + 5 or i % error_every == 0
            raw: dict[str, Any] = {
                "eventTime": f"{T0 + timedelta(minutes=m, seconds=k):%Y-%m-%dT%H:%M:%SZ}",
                "eventID": f"call-{i}",
                "eventName": "PutObject",
                "eventSource": "s3.amazonaws.com",
                "userIdentity": {"type": "IAMUser", "userName": "bob"},
            }
            if failed:
                raw["errorCode"] = "InternalError"
            out.append(parse_event(raw))
    return out


@pytest.mark.parametrize(
    ("error_every", "fires"),
    [(10, True), (4, True), (1_000_000, True), (2, False)],
)
def test_the_error_rate_past_the_threshold_is_measured_against_every_call(
    monkeypatch: Any, error_every: int, fires: bool
) -> None:
    """The store gives the findings its failed calls only; the error rate's baseline still
    counts every loaded call, so the finding says what it says in memory."""
    from tui.models.findings import compute_findings

    events = _calls(60, 12, error_every, burst_at=30)
    in_memory = [f.title for f in compute_findings(events=events) if f.kind == "error_rate"]
    assert bool(in_memory) is fires
    monkeypatch.setattr(trail_evidence, "STORE_ABOVE", 100)
    evidence = TrailEvidence()
    try:
        evidence.add(events)
        assert evidence.store is not None and evidence.refresh_findings()
        assert len(evidence.loaded_events) < len(events)  # failed calls only
        stored = compute_findings(
            events=evidence.loaded_events, trail_totals=evidence.bucket_totals
        )
        assert [f.title for f in stored if f.kind == "error_rate"] == in_memory
    finally:
        evidence.close()


@pytest.mark.parametrize(
    "times",
    [
        ["2026-11-28T09:00:00Z", "2026-11-28T09:04:59.999Z", "2026-11-28T09:05:00Z"],
        ["1969-12-31T23:57:00Z", "1970-01-01T00:00:00Z", "1969-12-31T23:54:59Z"],
        ["2026-11-28T09:02:00+09:00", "2026-11-28T00:02:30Z"],
    ],
)
def test_the_store_counts_calls_per_bucket_as_python_does(times: list[str]) -> None:
    from tui.models.findings import ERROR_BUCKET
    from tui.models.trailstore import TrailStore

    events = [
        parse_event({"eventTime": t, "eventID": f"b-{i}", "eventName": "X", "eventSource": "s"})
        for i, t in enumerate(times)
    ]
    want: dict[int, int] = {}
    for e in events:
        b = int(e.timestamp // ERROR_BUCKET.total_seconds())
        want[b] = want.get(b, 0) + 1
    with TrailStore() as store:
        store.add(events)
        assert store.bucket_counts(ERROR_BUCKET) == want


def test_every_trail_finding_says_the_same_past_the_threshold(monkeypatch: Any) -> None:
    """Past the threshold the findings hold lean events (no source IP, request ID, agent, nor
    an error message beside a code). Every finding, and every evidence line `hamari diagnose`
    prints for it, is what the same events give in memory."""
    from types import SimpleNamespace

    from tests import test_findings as tf
    from tui.bench.trail import make_events
    from tui.headless.diagnose import _trail_evidence
    from tui.models.findings import compute_findings

    t0 = tf.T0
    events = [
        *tf.start_events(t0, denied=True),
        *tf.denials(6, timedelta(seconds=20)),
        *[
            tf.call(
                t0 + timedelta(seconds=9 * i),
                "GetMetricData",
                error="ThrottlingException",
                source="monitoring.amazonaws.com",
                user="ci",
                n=i,
            )
            for i in range(12)
        ],
        *_calls(60, 12, 10, burst_at=30),
        *[parse_event(raw) for raw in make_events(3000)],  # addresses, agents, request IDs
    ]
    memory = TrailEvidence()
    memory.add(events)
    assert memory.store is None
    in_memory = compute_findings(events=memory.loaded_events, instances=[tf.STOPPED])
    kinds = {f.kind for f in in_memory}
    assert {"start_failed", "denial_burst", "throttling", "error_rate"} <= kinds
    monkeypatch.setattr(trail_evidence, "STORE_ABOVE", 500)
    evidence = TrailEvidence()
    try:
        evidence.add(events)
        assert evidence.store is not None and evidence.refresh_findings()
        lean = evidence.loaded_events
        assert all(e.source_ip == e.request_id == e.user_agent == "" for e in lean)
        stored = compute_findings(
            events=lean, instances=[tf.STOPPED], trail_totals=evidence.bucket_totals
        )
        assert stored == in_memory
        for finding in in_memory:
            for ev in finding.evidence:
                if ev.pane == "trail":
                    full = _trail_evidence(ev.query, SimpleNamespace(events=memory.loaded_events))  # type: ignore[arg-type]
                    held = _trail_evidence(ev.query, SimpleNamespace(events=lean))  # type: ignore[arg-type]
                    assert held == full and full, ev.query
    finally:
        evidence.close()
