"""The trail pane's big local loads: files read in worker processes, past the store threshold as
store rows a worker writes and DuckDB inserts (:func:`tui.aws.trailfiles.stream_files`).

Whatever route reads a folder, the user must see the same thing: the same events (whole, in
order), the same counts of copies folded, unreadable records and files, skipped files and their
reasons, events outside the window, and the same span for ``W``. Each test loads a folder the
thread's way (:func:`tui.aws.cloudtrail.stream_local`, the reference) and the workers' way, with
the threshold before, inside and after the folder, and compares what the evidence holds.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.test_trailscan import CORPUS, _hostile_folder
from tui.aws import trailfiles
from tui.aws.cloudtrail import stream_local
from tui.aws.trailfiles import stream_files
from tui.evidence import trail as trail_evidence
from tui.evidence.trail import TrailEvidence
from tui.models.timewindow import TimeWindow
from tui.panes.trail import TrailPane

EVERYTHING = TimeWindow(datetime(1960, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def _load(path: Path, window: TimeWindow, store_after: int | None) -> dict[str, Any]:
    """What a pane's load leaves in the evidence (the pane's own windowing, no app)."""

    async def run() -> dict[str, Any]:
        evidence = TrailEvidence()
        pane: Any = SimpleNamespace(outside_window=0, data_span=None)
        chunks = 0
        try:
            stream = (
                stream_local(str(path))
                if store_after is None
                else stream_files(str(path), store_after=store_after, store_window=window)
            )
            async for batch in stream:
                if batch.chunk is not None:
                    chunks += 1
                    await asyncio.to_thread(evidence.ensure_store().add_chunk, batch.chunk)
                batch = TrailPane._windowed(pane, batch, window)
                evidence.take(batch)
            stored = evidence.store is not None
            events = evidence.all_events()
            if stored:
                assert evidence.refresh_findings()
            return {
                "events": [(e.key, e.raw) for e in events],
                "loaded": evidence.loaded_count,
                "folded": evidence.folded,
                "outside": pane.outside_window,
                "span": pane.data_span,
                "bad": (evidence.bad, evidence.bad_files, evidence.skipped_files),
                "skipped": [(s.where, s.reason) for s in evidence.skipped_items()],
                "scanned": evidence.scanned,
                "accounts": evidence.accounts,
                "findings": sorted(e.key for e in evidence.loaded_events),
                "stored": stored,
                "chunks": chunks,
            }
        finally:
            evidence.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _hostile_folder(tmp_path_factory.mktemp("hostile-load"))


def _same(got: dict[str, Any], want: dict[str, Any], *, windowed: bool) -> None:
    assert got["events"] == want["events"]
    for key in ("loaded", "bad", "skipped", "scanned", "span", "findings"):
        assert got[key] == want[key], key
    if windowed:
        # A copy of an event outside the window: the thread folds it before windowing, a
        # worker's file leaves it out with the window (it never reaches the store to be folded).
        assert got["folded"] + got["outside"] == want["folded"] + want["outside"]
    else:
        assert (got["folded"], got["outside"]) == (want["folded"], want["outside"])


@pytest.mark.parametrize("threshold", [0, 150, 10_000])
@pytest.mark.parametrize("windowed", [False, True])
def test_workers_load_what_the_thread_loads(
    hostile: Path, monkeypatch: pytest.MonkeyPatch, threshold: int, windowed: bool
) -> None:
    """Hostile files (escapes, controls, odd times, copies across files, truncated gzip, a
    README) give the same evidence by either route, in memory and in the store."""
    monkeypatch.setattr(trail_evidence, "STORE_ABOVE", threshold)
    window = (
        TimeWindow(datetime(2025, 3, 1, 8, 10, tzinfo=UTC), datetime(2025, 3, 1, 8, 40, tzinfo=UTC))
        if windowed
        else EVERYTHING
    )
    want = _load(hostile, window, None)
    monkeypatch.setattr(trailfiles, "WORKERS_ABOVE", 0)
    got = _load(hostile, window, max(0, threshold))
    _same(got, want, windowed=windowed)
    assert got["stored"] == want["stored"] == (threshold < 400)
    if threshold == 0:
        assert got["chunks"] > 1  # the rows came from the workers' files
    if windowed:
        assert got["outside"] > 0 and 0 < len(got["events"]) < got["scanned"]


def test_a_small_folder_is_read_in_a_thread(hostile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starting processes costs more than they save on a small folder: the thread reads it."""
    monkeypatch.setattr(trail_evidence, "STORE_ABOVE", 0)
    monkeypatch.setattr(trailfiles, "_executor", None)  # would fail if called
    assert _load(hostile, EVERYTHING, 0)["chunks"] == 0


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_real_files_written_by_others_load_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    monkeypatch.setattr(trail_evidence, "STORE_ABOVE", 5)
    want = _load(folder, EVERYTHING, None)
    monkeypatch.setattr(trailfiles, "WORKERS_ABOVE", 0)
    got = _load(folder, EVERYTHING, 5)
    _same(got, want, windowed=False)
    assert got["stored"] and got["loaded"] > 5


def test_a_store_chunk_folds_copies_within_it_and_of_stored_events(tmp_path: Path) -> None:
    from tui.models.cloudtrail import parse_event
    from tui.models.trailstore import TrailStore, write_chunk

    t0 = datetime(2026, 11, 28, 9, tzinfo=UTC)

    def event(i: int) -> Any:
        return parse_event(
            {
                "eventTime": f"{t0 + timedelta(seconds=i):%Y-%m-%dT%H:%M:%SZ}",
                "eventID": f"e{i}",
                "eventName": "Decrypt",
                "eventSource": "kms.amazonaws.com",
                "errorCode": "AccessDenied",
                "userIdentity": {"type": "IAMUser", "userName": "ops\x1b[2J"},
            }
        )

    with TrailStore() as store:
        store.add([event(i) for i in range(10)], flush=False)
        chunk = write_chunk(str(tmp_path / "c.duckdb"), [event(i) for i in (*range(5, 20), 7)])
        assert chunk is not None and chunk.rows == 15 and chunk.folded == 1
        assert store.add_chunk(chunk) == 10
        assert not Path(chunk.path).exists()
        assert len(store) == store.count() == 20 and store.duplicates == 6
        assert [e.event_id for e in store.newest(None, 3)] == ["e19", "e18", "e17"]
        assert store.odd == 20  # the control character: every row is finished in Python
        assert store.count(compile_user("ops*")) == 20


def compile_user(name: str) -> Any:
    from tui.models.trailfilter import compile_filter

    return compile_filter(f"user:{name}")


def test_workers_stop_before_the_disk_fills(hostile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers' store rows are files too: with too little room left the load stops with
    a full-disk error before handing a file to a worker, and leaves no chunk behind."""
    import errno

    monkeypatch.setattr(trailfiles, "WORKERS_ABOVE", 0)
    asked: list[tuple[str, int]] = []

    def short(folder: str, needed: int) -> str:
        asked.append((folder, needed))
        return "only 1 MB left"

    monkeypatch.setattr(trailfiles, "short_of_room", short)
    made: list[str] = []
    make = trailfiles.make_dir
    monkeypatch.setattr(
        trailfiles, "make_dir", lambda prefix: made.append(make(prefix)) or made[-1]
    )

    async def run() -> None:
        async for _batch in stream_files(str(hostile), store_after=0, store_window=EVERYTHING):
            pass

    with pytest.raises(OSError) as raised:
        asyncio.run(run())
    assert raised.value.errno == errno.ENOSPC and "only 1 MB left" in str(raised.value)
    assert asked and asked[0][1] > 0
    assert made and asked[0][0] == str(Path(made[0]).parent)
    assert not Path(made[0]).exists()  # the chunk folder went with the load
