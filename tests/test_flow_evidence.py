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


def _flow_file(tmp_path: Path, extra: Sequence[str]) -> Path:
    """A gzip flow log (header line) of 120 records, two status rows and ``extra`` lines."""
    import gzip

    lines = [FIELDS]
    for i in range(120):
        start = 1000 + (i * 37) % 120  # not in file order: memory keeps them sorted by start
        action = "REJECT" if i % 5 == 0 else "ACCEPT"
        lines.append(
            f"5 eni-{i % 3} 10.0.0.{i % 7} 10.1.0.1 {40000 + i} 443 6 {start} {start + 60} "
            f"{action} OK"
        )
    lines += ["5 eni-1 - - - - - 1050 1110 - NODATA", "5 eni-2 - - - - - 1060 1120 - SKIPDATA"]
    lines += extra
    path = tmp_path / "flows.log.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


@pytest.mark.parametrize(
    "extra",
    [
        ["5 eni-1 too few fields"],  # DuckDB rejects the line; the pure parser names it
        ["5 eni-1 10.0.0.1 10.1.0.1 x 443 6 1001 1061 ACCEPT OK"],  # the pure reader takes it
        [],
    ],
)
@pytest.mark.parametrize("max_records", [1000, 50])  # all in memory; the store past the cap
def test_local_files_load_the_pure_readers_records_and_name_every_skipped_line(
    tmp_path: Path, extra: list[str], max_records: int
) -> None:
    """DuckDB reads the file straight into the store: the same records, counts and named bad
    lines as the pure reader (the way the pane read files before), nothing dropped in silence."""
    from tui.models.flowlog import ParseStats, read_flow_logs

    path = _flow_file(tmp_path, extra)
    stats = ParseStats()
    pure = sorted(read_flow_logs(path, stats=stats), key=lambda r: r.start or 0)

    async def scenario() -> tuple[Any, ...]:
        evidence = FlowEvidence(max_records=max_records)
        loaded = await evidence.load_files(str(path), None, None)
        stored = list(evidence.store.records()) if evidence.store is not None else []
        state = (evidence.loaded_count, evidence.store is not None, evidence.lost)
        evidence.close()
        return loaded, evidence, stored, state

    loaded, evidence, stored, state = asyncio.run(scenario())
    assert loaded is not None and loaded.added.appended is None  # a view asks for its matches
    rows = len(pure)  # status rows are rows too
    assert state == (rows, rows > max_records, False)
    c = evidence.counts
    assert (c.bad_lines, c.nodata, c.skipdata, c.bad_files) == (
        stats.bad_lines,
        1,
        1,
        0,
    )
    assert c.bad_lines == len(extra)
    named = [(s.where, s.line, s.reason) for s in evidence.skipped_items()]
    assert named == [(b.source, b.lineno, b.reason) for b in stats.samples]
    as_seen = [(r.start, r.srcport, r.action) for r in pure if r.log_status == "OK"]
    memory = [(r.start, r.srcport, r.action) for r in evidence.records if r.log_status == "OK"]
    if state[1]:  # memory holds the newest, the store everything
        assert len(evidence.records) == max_records
        assert [r.start for r in evidence.records] == sorted(r.start for r in evidence.records)
        assert sorted((r.start, r.srcport, r.action) for r in stored if r.log_status == "OK") == (
            sorted(as_seen)
        )
    else:
        assert memory == as_seen  # the same records, in the same order


def test_local_files_are_windowed_in_the_store_and_what_it_hides_is_counted(
    tmp_path: Path,
) -> None:
    path = _flow_file(tmp_path, [])

    async def scenario() -> tuple[Any, ...]:
        evidence = FlowEvidence(max_records=10)
        loaded = await evidence.load_files(str(path), None, (1000, 1029))
        starts = sorted(r.start for r in evidence.store.records())
        state = (loaded, evidence.loaded_count, starts)
        evidence.close()
        return state

    loaded, count, starts = asyncio.run(scenario())
    # Kept: what ends at or after 1000 and starts at or before 1029 (30 starts, one each).
    assert count == len(starts) == 30 and starts == list(range(1000, 1030))
    assert loaded.outside == 122 - 30 and loaded.span == (1000, 1179)


def test_local_files_go_to_the_pure_reader_when_the_store_cannot_be_used(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import tui.models.flowengine as engine

    def broken(*_: Any, **__: Any) -> Any:
        raise OSError("No space left on device")

    monkeypatch.setattr(engine, "FlowEngine", broken)
    evidence = FlowEvidence()
    path = _flow_file(tmp_path, [])
    assert asyncio.run(evidence.load_files(str(path), None, None)) is None
    assert evidence.counts.store_error == "OSError: No space left on device"
    assert evidence.records == [] and evidence.stats == []  # nothing half-counted
