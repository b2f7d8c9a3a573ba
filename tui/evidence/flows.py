"""Every flow record loaded for the window: what the findings, the bundle and the flow pane share.

The flow pane used to own its records, its memory cap and its DuckDB store, so the findings were
only as wide as that pane's view. Now the main screen creates one :class:`FlowEvidence`; the pane's
loader adds batches to it and shows the newest matches of its filter and focus, while the findings
and the incident bundle read everything loaded from it (:attr:`FlowEvidence.findings_records`),
whatever the pane's filter or focus hides.

Memory is bounded: at most ``max_records`` records are kept as Python objects (about 0.7 KB each).
Beyond that every loaded record goes to an embedded DuckDB store on disk with a memory limit
(:class:`~tui.models.flowengine.FlowEngine`): counts, re-filters and aggregations then run there
over everything loaded. If DuckDB cannot be used, the oldest records are dropped instead and
counted (:attr:`Counts.dropped`), and :attr:`FlowEvidence.lost` says so. Nothing is dropped in
silence: a store that fails is reported by the call that met it, with its error.

Local files skip Python on the way in (:meth:`FlowEvidence.load_files`): DuckDB's reader puts
them straight into the store, releasing the GIL, so the terminal stays responsive while a million
records load (parsing them in Python held the GIL and starved the event loop), and no million
short-lived record objects are made. The counts and named bad lines are the pure reader's
(:meth:`~tui.models.flowengine.FlowEngine.load_files`); memory then holds the newest records,
taken from the store, and a load that fits in memory closes the store as if it had never been
needed.

The one DuckDB connection is used from worker threads; a lock serialises them and a generation
number (bumped by :meth:`FlowEvidence.reset`) drops a result that arrives after a reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.models.flowagg import AggRow, aggregate
from tui.models.flowfilter import FlowFilter
from tui.models.flowlog import FlowRecord
from tui.models.focus import FocusScope, flow_in_scope
from tui.models.scratch import disk_full
from tui.models.skipped import Skipped

__all__ = [
    "CONVERSATIONS_EVERY",
    "MAX_RECORDS",
    "PAIR_LIMIT",
    "PROGRESS_EVERY",
    "STORE_MEMORY",
    "THREAD_THRESHOLD",
    "Added",
    "Counts",
    "FilesLoaded",
    "FlowEvidence",
    "Matches",
    "export_records",
    "scope_predicate",
]

#: Records kept as Python objects at most; beyond it everything loaded also goes to DuckDB.
MAX_RECORDS = 50_000
#: Records of REJECTed conversations taken from the store at most (pairs and findings).
PAIR_LIMIT = 50_000
#: Seconds between two refreshes of the store's conversations for the findings, in follow mode.
CONVERSATIONS_EVERY = 60.0
#: DuckDB's memory limit for the store; above it DuckDB spills to its temp directory.
STORE_MEMORY = "128MB"
#: Above this many records, filtering and analysis run in a thread.
THREAD_THRESHOLD = 50_000
#: DuckDB threads reading local files: the other core stays with the event loop.
LOAD_THREADS = 1
#: Seconds between two progress reports while DuckDB reads local files.
PROGRESS_EVERY = 0.25


@dataclass
class Counts:
    """What loading read, skipped and dropped (the pane's status line reports it)."""

    pages: int = 0
    bad_lines: int = 0
    bad_files: int = 0
    not_flow_logs: int = 0  # files skipped as not flow logs at all (a README): no record lost
    nodata: int = 0
    skipdata: int = 0
    dropped: int = 0  # no longer in memory (still in the store when there is one)
    stored: int = 0  # records in the DuckDB store
    unstored: int = 0  # records read but not kept: the store folder was full (see `full`)
    store_error: str | None = None
    pushed_down: str | None = None
    source: str = ""
    sources: set[str] = field(default_factory=set)

    def add_stats(self, stats: Any) -> None:
        """Add a finished source's counters (bad lines and files, NODATA, SKIPDATA)."""
        self.bad_lines += int(getattr(stats, "bad_lines", 0) or 0)
        self.bad_files += int(getattr(stats, "bad_files", 0) or 0)
        self.not_flow_logs += int(getattr(stats, "not_flow_logs", 0) or 0)
        self.nodata += int(getattr(stats, "nodata", 0) or 0)
        self.skipdata += int(getattr(stats, "skipdata", 0) or 0)


@dataclass(frozen=True)
class Added:
    """What one :meth:`FlowEvidence.add` did, for whoever shows the records.

    Attributes:
        appended: The batch's records when they only extend the newest end of what is loaded
            (a view can append their matches); None when the order changed or records left
            memory for good, so a view must ask for its matches again.
        store_error: The store failed during this add ("Type: message"); memory keeps the newest.
    """

    appended: list[FlowRecord] | None
    store_error: str | None = None


@dataclass(frozen=True)
class FilesLoaded:
    """What :meth:`FlowEvidence.load_files` did.

    Attributes:
        added: What a view must do (``appended`` is None: ask for the matches again).
        outside: Records read but outside the window (deleted from the store).
        span: Earliest start and latest start or end of every record read (epoch seconds),
            or None when no record had a start.
    """

    added: Added
    outside: int = 0
    span: tuple[int, int] | None = None


@dataclass(frozen=True)
class Matches:
    """The newest records that match a filter and focus, and how many match in all.

    Attributes:
        records: The newest matches, oldest first (at most the limit asked for).
        count: Matches among everything loaded (memory, or the store when there is one).
        hidden_by_focus: When the focus leaves nothing, how many the filter alone keeps.
        error: The store failed ("Type: message"); these are the matches in memory.
    """

    records: list[FlowRecord]
    count: int
    hidden_by_focus: int = 0
    error: str | None = None


def scope_predicate(
    flt: FlowFilter | None, scope: FocusScope | None
) -> Callable[[FlowRecord], bool] | None:
    """The filter and the focused resource's interfaces as one test (None keeps everything)."""
    keep = None if flt is None or flt.is_empty else flt.to_predicate()
    if scope is None:
        return keep
    if keep is None:
        return lambda r: flow_in_scope(r, scope)
    return lambda r: keep(r) and flow_in_scope(r, scope)


def _apply(predicate: Callable[[FlowRecord], bool], records: Iterable[FlowRecord]) -> list[Any]:
    return [r for r in records if predicate(r)]


def _start(record: FlowRecord) -> int:
    return record.start or 0


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class FlowEvidence:
    """The flow records loaded for one window, the network topology, and what was skipped.

    Attributes:
        records: What memory holds, oldest first (the newest ``max_records``).
        store: The DuckDB store of everything loaded, once memory was outgrown; else None.
        counts: Pages read, lines and files skipped, records stored and dropped.
        topology: Interfaces, subnets, NACLs and flow logs (None until loaded).
        stats: Each source's running counters (their samples name what was skipped).
        seen: CloudWatch event IDs already loaded (follow mode re-reads an overlap).
        newest_ms: The newest CloudWatch event timestamp loaded.
        generation: Bumped by every reset; a result computed before it is stale.
    """

    def __init__(self, *, max_records: int | None = None, store_memory: str = STORE_MEMORY):
        self.max_records = MAX_RECORDS if max_records is None else max_records
        self.store_memory = store_memory
        self.records: list[FlowRecord] = []
        self.store: Any = None
        self.counts = Counts()
        self.topology: Any = None
        self.stats: list[Any] = []
        self.seen: set[str] = set()
        self.newest_ms: int | None = None
        self.generation = 0
        # The store's folder had too little room left: loading stopped, what is stored stays
        # searchable, and nothing more is read until a reset (a new window or source).
        self.full: OSError | None = None
        self._lock = asyncio.Lock()
        self._closing: set[asyncio.Task[None]] = set()
        # The store's REJECTed conversations, for the findings (see refresh_conversations).
        self._conversations: list[FlowRecord] | None = None
        self._conversations_for = -1
        self._conversations_at = 0.0

    # -- what is loaded ------------------------------------------------------------------------

    @property
    def lost(self) -> bool:
        """Records were dropped from memory and are in no store."""
        return bool(self.counts.dropped) and self.store is None

    @property
    def loaded_count(self) -> int:
        """Every record loaded: in the store when there is one, else in memory."""
        return self.counts.stored if self.store is not None else len(self.records)

    @property
    def loaded_records(self) -> list[FlowRecord]:
        """What memory holds, oldest first (a copy: safe to hand to a thread)."""
        return list(self.records)

    @property
    def findings_records(self) -> list[FlowRecord]:
        """What the findings pair and explain: never narrowed by a pane's filter or focus.

        With a store, every record of its REJECTed conversations (their requests may have left
        memory long ago); else everything memory holds.
        """
        if self.store is not None and self._conversations is not None:
            return list(self._conversations)
        return self.loaded_records

    def skipped_items(self) -> list[Skipped]:
        """Every line, record or file a source could not read, and why."""
        items = [
            Skipped(bad.source, bad.lineno, bad.reason, bad.text)
            for stats in self.stats
            for bad in getattr(stats, "samples", ())
        ]
        named = {(i.where, i.reason) for i in items}
        for stats in self.stats:  # files nothing was read from, and layouts guessed
            for source, why in [*getattr(stats, "skipped", ()), *getattr(stats, "guessed", ())]:
                if (source, why) not in named:
                    items.append(Skipped(source, 0, why, ""))
        return items

    @property
    def layout_guessed(self) -> bool:
        """A source's field layout was guessed from the field count."""
        return any(getattr(s, "guessed", None) for s in self.stats)

    # -- loading -------------------------------------------------------------------------------

    async def load(self, stream: AsyncIterator[Any]) -> AsyncGenerator[tuple[Added, Any], None]:
        """Add a source's batches; yield what each added and the source's running counters.

        The counters of a source are added to :attr:`counts` once it moves on to new ones (and
        when the stream ends), so a view shows ``counts`` plus the pending ones meanwhile.
        """
        last_stats: Any = None
        last_pages = 0
        try:
            async for batch in stream:
                self.counts.pages += max(0, batch.pages - last_pages)
                last_pages = batch.pages
                if last_stats is not None and batch.stats is not last_stats:
                    self.counts.add_stats(last_stats)
                last_stats = batch.stats
                if not any(s is last_stats for s in self.stats):
                    self.stats.append(last_stats)
                if batch.pushed_down:
                    self.counts.pushed_down = batch.pushed_down
                newest = getattr(batch, "last_event_ms", None)
                if newest is not None and (self.newest_ms is None or newest > self.newest_ms):
                    self.newest_ms = newest
                added = await self.add(batch.records) if batch.records else Added([])
                yield added, last_stats
                if self.full is not None:  # reading on would store nothing: stop the source
                    with contextlib.suppress(Exception):
                        await stream.aclose()  # type: ignore[attr-defined]
                    return
        finally:
            if last_stats is not None:
                self.counts.add_stats(last_stats)

    async def add(self, new: list[FlowRecord]) -> Added:
        """Keep ``new`` records: in memory (the newest), and in the store once memory is full.

        Once the store folder is full (:attr:`full`), records are counted (``unstored``), not
        kept: memory holds the newest of what is stored, and stays consistent with it.
        """
        error = await self._store_add(new) if self.full is None else None
        if self.full is not None:
            self.counts.unstored += len(new)
            return Added([])
        records = self.records
        in_order = not records or min(_start(r) for r in new) >= _start(records[-1])
        records.extend(new)
        if not in_order:
            records.sort(key=_start)
        excess = len(records) - self.max_records
        if excess > 0:
            del records[:excess]
            self.counts.dropped += excess
        appendable = in_order and (excess <= 0 or self.store is not None)
        return Added(list(new) if appendable else None, error)

    async def _store_add(self, new: list[FlowRecord]) -> str | None:
        """Put records in the store, creating it (with what memory holds) when memory is full."""
        if self.counts.store_error is not None:
            return None
        if self.store is None and len(self.records) + len(new) <= self.max_records:
            return None
        from tui.models import flowengine

        generation = self.generation
        async with self._lock:
            if self.counts.store_error is not None or generation != self.generation:
                return None
            try:
                store = self.store
                if store is None:
                    held = list(self.records)
                    memory = self.store_memory

                    def create() -> Any:
                        made = flowengine.FlowEngine(memory_limit=memory)
                        try:
                            made.add(held)
                        except BaseException:
                            made.close()
                            raise
                        return made

                    store = await asyncio.to_thread(create)
                    if generation != self.generation:  # reset meanwhile: these are stale
                        await asyncio.to_thread(store.close)
                        return None
                    self.store = store
                    self.counts.stored = len(held)
                await asyncio.to_thread(store.add, new)
                if generation == self.generation:
                    self.counts.stored += len(new)
            except Exception as exc:  # no DuckDB: drop the oldest instead, and say so
                if disk_full(exc) and self.store is not None and self.counts.stored:
                    self._stop_full(exc)  # stop loading; what is stored stays searchable
                    return None
                # No store, or an empty one: memory alone, dropping the oldest (counted).
                self.counts.store_error = _error(exc)
                self._close_store()
                return self.counts.store_error
        return None

    def _stop_full(self, exc: BaseException) -> None:
        """The store folder is full: stop loading, keep the store as it is (searchable)."""
        if self.full is None:
            self.full = exc if isinstance(exc, OSError) else OSError(errno.ENOSPC, str(exc))

    async def load_files(
        self,
        path: str,
        fields: Sequence[str] | None,
        window: tuple[int, int] | None,
        progress: Callable[[float | None], None] | None = None,
    ) -> FilesLoaded | None:
        """Read local files with DuckDB straight into the store, then keep the newest in memory.

        Args:
            path: A file or a folder (read recursively).
            fields: The format of files without a header line, or None.
            window: Keep the records overlapping ``(start, end)`` (epoch seconds); count the
                others (``outside``). None keeps every record.
            progress: Called every :data:`PROGRESS_EVERY` seconds while DuckDB reads, with the
                percentage read (None when DuckDB cannot say yet).

        Returns:
            What was loaded; None when the store cannot be used (its error is in
            :attr:`counts`) or a reset came meanwhile: the caller then reads the files with
            the pure reader, through :meth:`load`.
        """
        if self.counts.store_error is not None:
            return None
        from tui.models import flowengine
        from tui.models.flowlog import ParseStats

        generation = self.generation
        stats = ParseStats()
        async with self._lock:
            if self.counts.store_error is not None or generation != self.generation:
                return None
            store = self.store
            held = list(self.records) if store is None else []
            memory, limit = self.store_memory, self.max_records

            def create() -> Any:
                made = flowengine.FlowEngine(memory_limit=memory)
                try:
                    made.add(held)
                except BaseException:
                    made.close()
                    raise
                return made

            def load(store: Any) -> tuple[int, int | None, int | None, int, list[FlowRecord]]:
                try:
                    store.load_files(path, fields, stats=stats, threads=LOAD_THREADS)
                except Exception as exc:
                    if not disk_full(exc) or not store.count():
                        raise  # nothing stored: the pure reader reads the files into memory
                    # The files read before the folder filled stay (the others are named
                    # in `stats`, not read): window and show what is stored.
                    self._stop_full(exc)
                return finish(store)

            def finish(store: Any) -> tuple[int, int | None, int | None, int, list[FlowRecord]]:
                outside, first, last = store.keep_window(*window) if window else (0, None, None)
                stored = store.count()
                # Memory holds the newest, sorted by start (ties in load order), as add() keeps.
                return outside, first, last, stored, store.newest(None, limit)

            try:
                if store is None:
                    store = await asyncio.to_thread(create)
                    if generation != self.generation:  # reset meanwhile: these are stale
                        await asyncio.to_thread(store.close)
                        return None
                task = asyncio.ensure_future(asyncio.to_thread(load, store))
                try:
                    while not task.done():
                        await asyncio.wait([task], timeout=PROGRESS_EVERY)
                        if progress is not None and not task.done():
                            progress(store.progress())
                except asyncio.CancelledError:  # stop DuckDB; a store of ours goes when it stops
                    store.interrupt()
                    if store is not self.store:
                        task.add_done_callback(lambda _done: store.close())
                    raise
                outside, first, last, stored, newest = task.result()
            except Exception as exc:  # no DuckDB: the pure reader takes the files, and says so
                self.counts.store_error = _error(exc)
                if store is not None and store is not self.store:
                    await asyncio.to_thread(store.close)
                self._close_store()
                return None
            if generation != self.generation:
                if store is not self.store:
                    await asyncio.to_thread(store.close)
                return None
            self.stats.append(stats)
            self.counts.add_stats(stats)
            self.counts.pages += stats.files
            if stored <= limit and self.store is None:
                # Everything fits in memory: as if the store had never been needed.
                await asyncio.to_thread(store.close)
                self.records = newest
                self.counts.stored = 0
            else:
                self.store = store
                self.records = newest
                self.counts.stored = stored
                self.counts.dropped = stored - len(newest)
        span = (first, last) if first is not None and last is not None else None
        return FilesLoaded(Added(None), outside, span)

    def reset(self) -> None:
        """Forget every record (a new window); the topology stays."""
        self.generation += 1
        self.full = None
        self._close_store()
        self._conversations, self._conversations_for = None, -1
        self.records = []
        self.counts = Counts()
        self.stats = []
        self.seen = set()
        self.newest_ms = None

    def replace(self, records: Sequence[FlowRecord], topology: Any, source: str) -> None:
        """Hold saved records and topology instead (replay of an incident bundle)."""
        self.reset()
        self.records = sorted(records, key=_start)
        self.topology = topology
        self.counts = Counts(source=source)

    def close(self) -> None:
        """Close the store (its files live in a private temp directory)."""
        self._close_store()

    def _close_store(self) -> None:
        """Forget the store; close it once no worker thread is using it."""
        store, self.store = self.store, None
        if store is None:
            return
        if not self._lock.locked():
            store.close()
            return

        async def close_when_free() -> None:
            async with self._lock:
                await asyncio.to_thread(store.close)

        task = asyncio.get_running_loop().create_task(close_when_free())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def refresh_conversations(self, now: float) -> bool:
        """Take the REJECTed conversations' records from the store, for the findings.

        Recomputed when the store has grown, at most every :data:`CONVERSATIONS_EVERY` seconds
        (a million records cost a couple of seconds in a thread). True when they changed.
        """
        if self.store is None or self.counts.stored == self._conversations_for:
            return False
        if self._conversations is not None and now - self._conversations_at < CONVERSATIONS_EVERY:
            return False
        generation = self.generation
        async with self._lock:
            store = self.store
            if store is None or generation != self.generation:
                return False
            stored = self.counts.stored
            try:
                records = await asyncio.to_thread(store.conversation_records, PAIR_LIMIT)
            except Exception:  # the findings keep what memory holds; the pairs view says why
                self._conversations_for = stored
                return False
        if generation != self.generation:
            return False
        self._conversations, self._conversations_for = records, stored
        self._conversations_at = now
        return True

    # -- questions -----------------------------------------------------------------------------

    async def matches(
        self, flt: FlowFilter | None, scope: FocusScope | None, limit: int | None = None
    ) -> Matches | None:
        """The newest ``limit`` records matching the filter and focus (None: a reset meanwhile).

        Without a store, memory is filtered (in a thread when it holds many); with one, DuckDB
        answers over everything loaded, and memory answers if DuckDB fails (``error`` says why).
        """
        limit = self.max_records if limit is None else limit
        if self.store is not None:
            return await self._store_matches(flt, scope, limit)
        return await self._memory_matches(flt, scope, limit)

    async def _memory_matches(
        self, flt: FlowFilter | None, scope: FocusScope | None, limit: int, error: str | None = None
    ) -> Matches:
        predicate = scope_predicate(flt, scope)
        records = list(self.records)
        if predicate is None:
            matched = records
        elif len(records) > THREAD_THRESHOLD:
            matched = await asyncio.to_thread(_apply, predicate, records)
        else:
            matched = _apply(predicate, records)
        hidden = 0
        if scope is not None and not matched:
            keep = None if flt is None or flt.is_empty else flt.to_predicate()
            hidden = len(records) if keep is None else sum(map(keep, records))
        return Matches(matched[-limit:] if limit else [], len(matched), hidden, error)

    async def _store_matches(
        self, flt: FlowFilter | None, scope: FocusScope | None, limit: int
    ) -> Matches | None:
        if (flt is None or flt.is_empty) and scope is None:
            return Matches(list(self.records)[-limit:], self.counts.stored)
        async with self._lock:
            store = self.store
            if store is None:  # reset meanwhile: the next load asks again
                return None

            def query() -> tuple[list[FlowRecord], int, int]:
                newest = store.newest(flt, limit, scope=scope)
                count = store.count(flt, scope=scope)
                hidden = store.count(flt, scope=None) if scope is not None and not count else 0
                return newest, count, hidden

            try:
                return Matches(*await asyncio.to_thread(query))
            except Exception as exc:  # e.g. DuckDB out of memory: filter what memory holds
                error = _error(exc)
        return await self._memory_matches(flt, scope, limit, error)

    async def aggregate(
        self,
        kind: str,
        flt: FlowFilter | None,
        scope: FocusScope | None,
        matched: Sequence[FlowRecord],
    ) -> tuple[list[AggRow], bool, str | None]:
        """Aggregate the matches: in DuckDB over everything loaded when it holds them.

        Args:
            kind: One of :data:`tui.models.flowagg.AGGREGATIONS`.
            flt: The filter.
            scope: The focus.
            matched: The matches in memory (the view has them): what is aggregated without a
                store, or when the store fails.

        Returns:
            The rows; True when they cover everything loaded (the store answered), False
            when they cover ``matched``; and the store's error if it failed.
        """
        topology = self.topology
        error = None
        if self.store is not None:
            async with self._lock:
                store = self.store
                if store is not None:
                    try:
                        rows = await asyncio.to_thread(
                            store.aggregate, kind, flt, topology=topology, scope=scope
                        )
                        return rows, True, None
                    except Exception as exc:
                        error = _error(exc)
        records = list(matched)
        if len(records) > THREAD_THRESHOLD:
            rows = await asyncio.to_thread(aggregate, records, kind, topology)
        else:
            rows = aggregate(records, kind, topology)
        return rows, False, error

    async def pair_records(self) -> tuple[list[FlowRecord], str | None]:
        """The records to pair into conversations, and the store's error if it failed.

        With a store, every record of the conversations that have a REJECTed leg (not only
        those still in memory); else what memory holds.
        """
        if self.store is not None:
            async with self._lock:
                store = self.store
                if store is not None:
                    try:
                        return await asyncio.to_thread(store.conversation_records, PAIR_LIMIT), None
                    except Exception as exc:
                        return list(self.records), _error(exc)
        return list(self.records), None

    async def export(
        self, path: str, flt: FlowFilter | None, scope: FocusScope | None
    ) -> tuple[str, int]:
        """Write every match to ``path`` (NDJSON, or CSV by suffix); where, and how many.

        With a store the matches are streamed from it, not only the newest in memory.
        """
        if self.store is None:
            predicate = scope_predicate(flt, scope)
            records = self.loaded_records
            chosen = records if predicate is None else _apply(predicate, records)
            return await asyncio.to_thread(export_records, path, chosen)
        async with self._lock:
            store = self.store
            if store is None:
                return await asyncio.to_thread(export_records, path, [])
            return await asyncio.to_thread(export_records, path, store.records(flt, scope=scope))


def export_records(path: str, records: Iterable[FlowRecord]) -> tuple[str, int]:
    """Write records as NDJSON (raw fields by AWS name) or CSV (by the ``.csv`` suffix).

    Streams: a list's CSV columns are the union of its formats; an iterator's (the store's,
    one format) are its first record's.
    """
    from tui.models.writers import write_csv, write_ndjson

    target = Path(path).expanduser()
    if target.is_dir():
        target = target / f"hamari-flows-{datetime.now(UTC):%Y%m%dT%H%M%S}.ndjson"
    with target.open("w", encoding="utf-8", newline="") as out:
        if target.suffix.lower() == ".csv":
            columns: list[str] = []
            if not isinstance(records, list):
                it = iter(records)
                first = next(it, None)
                records = [] if first is None else itertools.chain([first], it)
                columns = list(first.FORMAT) if first is not None else []
            else:
                for r in records:
                    for name in r.FORMAT:
                        if name not in columns:
                            columns.append(name)
            count = write_csv((r.as_dict() for r in records), columns, out)
        else:
            count = write_ndjson((r.as_dict() for r in records), out)
    return str(target.resolve()), count
