"""The flow evidence without an app: what is loaded, capped, stored, dropped and asked for.

These build :class:`tui.evidence.flows.FlowEvidence` directly (milliseconds; DuckDB only where the
store is the point) so that what the findings and the bundle see is pinned apart from the pane.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tui.aws.flowlogs import FlowBatch
from tui.evidence.flows import FlowEvidence
from tui.models.flowfilter import parse_filter
from tui.models.flowlog import FlowLogParser, FlowRecord
from tui.models.focus import FocusScope

FIELDS = "version interface-id srcaddr dstaddr srcport dstport protocol start end action log-status"


def _records(*rows: tuple[str, str, str, int, str]) -> list[FlowRecord]:
    """(eni, src, dst, start, action) rows as flow records."""
    parser = FlowLogParser(FIELDS.split())
    out = []
    for eni, src, dst, start, action in rows:
        record = parser.feed_line(
            f"5 {eni} {src} {dst} 40000 443 6 {start} {start + 60} {action} OK"
        )
        assert record is not None
        out.append(record)
    return out


# The REJECTed return leg is on eni-b; a focus on eni-a hides it from a view.
SAMPLE = _records(
    ("eni-a", "10.0.1.5", "192.168.1.1", 100, "ACCEPT"),
    ("eni-a", "10.0.1.5", "10.0.2.9", 110, "ACCEPT"),
    ("eni-b", "192.168.1.1", "10.0.1.5", 120, "REJECT"),
    ("eni-c", "10.0.3.3", "10.0.2.9", 130, "REJECT"),
)
ON_A = FocusScope("i-a", frozenset({"i-a"}), frozenset({"eni-a"}))
ON_Z = FocusScope("i-z", frozenset({"i-z"}), frozenset({"eni-z"}))


def _loaded(records: Sequence[FlowRecord], **kw: Any) -> FlowEvidence:
    evidence = FlowEvidence(**kw)
    asyncio.run(evidence.add(list(records)))
    return evidence


@pytest.mark.parametrize(
    ("flt", "scope", "limit", "count", "newest", "hidden"),
    [
        ("", None, None, 4, [100, 110, 120, 130], 0),
        ("action=REJECT", None, None, 2, [120, 130], 0),
        ("", ON_A, None, 2, [100, 110], 0),
        ("action=REJECT", ON_A, None, 0, [], 2),  # the focus hides both REJECTs
        ("", ON_Z, None, 0, [], 4),
        ("action=REJECT", None, 1, 2, [130], 0),  # the newest one, but both counted
        ("addr in 192.168.0.0/16", None, None, 2, [100, 120], 0),
    ],
)
def test_matches_narrow_by_filter_and_focus_and_count_everything(
    flt: str,
    scope: FocusScope | None,
    limit: int | None,
    count: int,
    newest: list[int],
    hidden: int,
) -> None:
    evidence = _loaded(SAMPLE)
    found = asyncio.run(evidence.matches(parse_filter(flt) if flt else None, scope, limit))
    assert found is not None
    assert (found.count, [r.start for r in found.records], found.hidden_by_focus) == (
        count,
        newest,
        hidden,
    )
    assert found.error is None


@pytest.mark.parametrize("scope", [None, ON_A, ON_Z])
def test_findings_records_are_everything_loaded_whatever_a_view_asks(
    scope: FocusScope | None,
) -> None:
    evidence = _loaded(SAMPLE)
    asyncio.run(evidence.matches(parse_filter("action=ACCEPT"), scope))
    assert [r.start for r in evidence.findings_records] == [100, 110, 120, 130]
    assert evidence.loaded_count == 4 and not evidence.lost


@pytest.mark.parametrize(
    ("batches", "appended"),
    [
        ([[100, 110], [120]], [True, True]),  # newer records extend the newest end
        ([[120], [100]], [True, False]),  # an older one: a view must ask again
    ],
)
def test_an_add_says_whether_a_view_may_append(
    batches: list[list[int]], appended: list[bool]
) -> None:
    evidence = FlowEvidence()
    got = []
    for starts in batches:
        new = _records(*[("eni-a", "10.0.0.1", "10.0.0.2", s, "ACCEPT") for s in starts])
        got.append(asyncio.run(evidence.add(new)).appended is not None)
    assert got == appended
    assert [r.start for r in evidence.records] == sorted(s for b in batches for s in b)


def test_without_a_store_the_oldest_are_dropped_counted_and_said(monkeypatch: Any) -> None:
    import tui.models.flowengine as engine

    def broken(*_: Any, **__: Any) -> Any:
        raise OSError("No space left on device")

    monkeypatch.setattr(engine, "FlowEngine", broken)
    evidence = FlowEvidence(max_records=3)
    first = asyncio.run(evidence.add(SAMPLE[:2]))
    second = asyncio.run(evidence.add(SAMPLE[2:]))
    assert first.store_error is None
    assert second.store_error == "OSError: No space left on device"
    assert second.appended is None  # records left memory for good
    assert evidence.counts.dropped == 1 and evidence.lost
    assert [r.start for r in evidence.records] == [110, 120, 130]
    assert evidence.findings_records == evidence.records


def test_past_the_cap_the_store_holds_everything_and_the_findings_get_old_legs(
    tmp_path: Path,
) -> None:
    """The ACCEPTed request left memory; the store still pairs it with its REJECTed reply."""
    request = _records(("eni-a", "10.9.9.9", "192.168.7.7", 10, "ACCEPT"))
    noise = _records(*[("eni-a", "10.0.0.1", "10.1.0.1", 20 + i, "ACCEPT") for i in range(5)])
    parser = FlowLogParser(FIELDS.split())
    reply = parser.feed_line("5 eni-a 192.168.7.7 10.9.9.9 443 40000 6 900 960 REJECT OK")
    assert reply is not None

    async def scenario() -> tuple[Any, ...]:
        evidence = FlowEvidence(max_records=3)
        for batch in (request, noise, [reply]):
            await evidence.add(list(batch))
        changed = await evidence.refresh_conversations(now=1000.0)
        everything = await evidence.matches(None, None)
        rejects = await evidence.matches(parse_filter("action=REJECT"), None)
        hidden = await evidence.matches(parse_filter("action=REJECT"), ON_Z)
        out = tmp_path / "all.ndjson"
        _where, written = await evidence.export(str(out), None, None)
        held = (evidence.loaded_count, len(evidence.records), evidence.lost)
        findings = evidence.findings_records
        evidence.close()
        return held, changed, everything, rejects, hidden, written, findings

    held, changed, everything, rejects, hidden, written, findings = asyncio.run(scenario())
    assert held == (7, 3, False)  # memory holds the newest 3; nothing is lost
    assert everything.count == 7 and rejects.count == 1 and hidden.hidden_by_focus == 1
    assert changed and any(r.srcaddr == "10.9.9.9" for r in findings)
    assert written == 7  # every loaded record, not the 3 in memory


def test_reset_forgets_records_and_counts_but_keeps_the_topology() -> None:
    evidence = _loaded(SAMPLE)
    evidence.topology = topology = object()
    evidence.counts.pages = 3
    generation = evidence.generation
    evidence.reset()
    assert (evidence.records, evidence.loaded_count, evidence.counts.pages) == ([], 0, 0)
    assert evidence.topology is topology and evidence.generation == generation + 1


def test_loading_counts_pages_and_skipped_lines_and_names_them() -> None:
    parser = FlowLogParser(FIELDS.split(), source="flows.log")
    good = parser.feed_line("5 eni-a 10.0.0.1 10.0.0.2 1 2 6 100 160 ACCEPT OK")
    assert good is not None
    assert parser.feed_line("5 eni-a not-enough-fields") is None

    async def stream() -> AsyncIterator[FlowBatch]:
        yield FlowBatch([good], parser.stats, "flows.log", 1, False)
        yield FlowBatch([], parser.stats, "flows.log", 2, True)

    async def scenario() -> list[Any]:
        evidence = FlowEvidence()
        seen = [added async for added, _pending in evidence.load(stream())]
        return [evidence, seen]

    evidence, seen = asyncio.run(scenario())
    assert len(seen) == 2 and evidence.counts.pages == 2
    assert evidence.counts.bad_lines == 1 and evidence.loaded_count == 1
    (skipped,) = evidence.skipped_items()
    assert (skipped.where, skipped.line) == ("flows.log", 2)


def test_export_without_a_store_writes_the_filter_and_focus_matches(tmp_path: Path) -> None:
    evidence = _loaded(SAMPLE)
    out = tmp_path / "x.ndjson"
    _where, n = asyncio.run(evidence.export(str(out), parse_filter("action=ACCEPT"), ON_A))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert n == 2 and {r["interface-id"] for r in rows} == {"eni-a"}
