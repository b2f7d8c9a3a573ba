"""Every CloudTrail event loaded for the window: what the findings, the bundle and the trail pane share.

The trail pane used to own its events, its DuckDB store and its counters, so the findings, the
incident bundle and ``:compare`` read a widget. Now the main screen creates one
:class:`TrailEvidence`; the pane's loader hands it every batch and shows the part its filter,
errors-only toggle and focus select, while the findings read :attr:`TrailEvidence.loaded_events`
and the bundle :meth:`TrailEvidence.all_events`, whatever the pane shows.

Memory is bounded: past ``STORE_ABOVE`` events every loaded event moves to a
:class:`~tui.models.trailstore.TrailStore` (DuckDB on disk, with a memory limit), which folds copies
of an event and counts them. The findings then read the store's StartInstances calls and failed
calls (:data:`FINDINGS_QUERY`), refreshed by :meth:`TrailEvidence.refresh_findings` in a thread.
Nothing is dropped in silence: copies folded, unreadable records and files, and regions that could
not be read are counted here, with a bounded list of reasons (:meth:`TrailEvidence.skipped_items`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.aws.trailbatch import FileTally
from tui.models.cloudtrail import TrailEvent
from tui.models.findings import ERROR_BUCKET
from tui.models.skipped import Skipped
from tui.models.trailfilter import compile_filter
from tui.models.trailstore import STORE_ABOVE, STORE_MEMORY, TrailStore

if TYPE_CHECKING:
    from tui.aws.trailbatch import TrailBatch

__all__ = [
    "FINDINGS_QUERY",
    "MAX_SKIPPED",
    "STORE_ABOVE",
    "TrailAdded",
    "TrailEvidence",
    "sort_key",
]

FINDINGS_QUERY = "name:StartInstances or error:any"
"""What the findings read from a store (incident 1 and every failed call); in memory, all of it."""

MAX_SKIPPED = 200
"""Reasons kept for the list of skipped records and files (the counts are exact)."""

_FINDINGS_READ = compile_filter(FINDINGS_QUERY)


def sort_key(event: TrailEvent) -> tuple[object, str]:
    """The order events are held and shown in (reversed: newest first)."""
    return (event.event_time, event.key)


@dataclass(frozen=True)
class TrailAdded:
    """What one :meth:`TrailEvidence.add` did, for whoever shows the events.

    Attributes:
        fresh: The events new to the evidence (copies of loaded events left out).
        stored: They went to the store (a view must ask it for its matches again); False when
            they are in memory, so a view can add their matches to what it shows.
    """

    fresh: list[TrailEvent]
    stored: bool = False


class TrailEvidence:
    """The CloudTrail events loaded for one window, and what loading read and skipped.

    Attributes:
        events: The events memory holds, by :attr:`TrailEvent.key` (empty once stored).
        ordered: The same events, newest first.
        store: Every loaded event once there were more than ``STORE_ABOVE``; else None.
        scanned: Events read before the window and filters (follow polls: what they add).
        pages: Pages, objects or files read.
        bad: Records that could not be read.
        bad_files: Objects or files that could not be read at all.
        skipped_files: Files not read for another reason (listed in :meth:`skipped_items`).
        files: Every file or object met, once each, by what became of it.
        duplicates: Copies of an event a source folded (the store counts its own).
        region_errors: Region -> why it could not be read (its events are missing).
        accounts: The accounts the loaded events belong to (several: an organization trail).
        generation: Bumped by every reset; a result computed before it is stale.
    """

    def __init__(self, *, store_memory: str = STORE_MEMORY) -> None:
        self.store_memory = store_memory
        self.store: TrailStore | None = None
        self.generation = 0
        self._refreshed = 0
        self._clear()

    def _clear(self) -> None:
        self.events: dict[str, TrailEvent] = {}
        self.ordered: list[TrailEvent] = []
        self.accounts: set[str] = set()
        self.restart_counts()
        self._store_findings: list[TrailEvent] = []
        self._store_totals: dict[int, int] = {}

    # -- what is loaded ------------------------------------------------------------------------

    def has_data(self) -> bool:
        """Any event was loaded."""
        return bool(self.events) or self.store is not None

    @property
    def loaded_count(self) -> int:
        """Every event loaded: in the store when there is one, else in memory."""
        return len(self.store) if self.store is not None else len(self.ordered)

    @property
    def folded(self) -> int:
        """Copies of loaded events folded into them, by the sources and by the store."""
        return self.duplicates + (self.store.duplicates if self.store is not None else 0)

    @property
    def loaded_events(self) -> list[TrailEvent]:
        """What the findings read, newest first: never narrowed by a pane's filter or focus.

        In memory, every loaded event; past ``STORE_ABOVE``, the store's StartInstances and
        failed calls as of the last :meth:`refresh_findings`, without their raw JSON (read
        :meth:`all_events` for that). A copy: safe to hand to a thread.
        """
        if self.store is not None:
            return list(self._store_findings)
        return list(self.ordered)

    @property
    def findings_key(self) -> tuple[int, int, int]:
        """Changes whenever :attr:`loaded_events` may have (a memo of the findings reads it)."""
        return (self.generation, self.loaded_count, self._refreshed)

    @property
    def bucket_totals(self) -> dict[int, int] | None:
        """Every loaded call per :data:`~tui.models.findings.ERROR_BUCKET` when the findings
        read a store's failed calls and starts only (as of the last :meth:`refresh_findings`);
        None in memory, where :attr:`loaded_events` holds every call."""
        return dict(self._store_totals) if self.store is not None else None

    def all_events(self) -> list[TrailEvent]:
        """Every loaded event, newest first, for the incident bundle (call it from a thread:
        past ``STORE_ABOVE`` it parses them all back from the store)."""
        store = self.store
        if store is not None:
            return list(store.matching())
        return list(self.ordered)

    def candidates(self) -> Sequence[TrailEvent] | TrailStore:
        """Where related events are looked for (:func:`tui.models.related.find_related`)."""
        return self.store if self.store is not None else self.ordered

    def find(self, event_id: str) -> TrailEvent | None:
        """A loaded event in memory by its key, or else by its eventID (findings name that)."""
        return self.events.get(event_id) or next(
            (e for e in self.ordered if e.event_id == event_id), None
        )

    def refresh_findings(self) -> bool:
        """(Thread) read what the findings need from the store; False without a store, or when
        a reset happened meanwhile (the result is then dropped)."""
        store, generation = self.store, self.generation
        if store is None:
            return False
        # Built from the store's columns, without their raw JSON or search text: the
        # findings read fields only, and the bundle reads every event whole (all_events).
        # 1M events of a day held 160k of them: ~330 MB and seconds of the GIL when parsed.
        found = store.slim(_FINDINGS_READ, lean=True)
        totals = store.bucket_counts(ERROR_BUCKET)
        if store is not self.store or generation != self.generation:
            return False
        self._store_findings, self._store_totals = found, totals
        self._refreshed += 1
        return True

    def skipped_items(self) -> list[Skipped]:
        """Why records and files were skipped (at most ``MAX_SKIPPED``; the counts are exact)."""
        return list(self._skipped)

    def skipped_total(self) -> int:
        """Records and files that could not be read."""
        return self.bad + self.bad_files + self.skipped_files

    # -- loading -------------------------------------------------------------------------------

    def take(self, batch: TrailBatch, *, follow: bool = False) -> TrailAdded:
        """Count a source's batch and keep its new events (:meth:`note`, then :meth:`add`).

        A batch whose events a worker wrote as store rows (``batch.chunk``) must have been
        inserted first (:meth:`ensure_store`, then the store's ``add_chunk`` in a thread).
        """
        self.note(batch, follow=follow)
        if batch.chunk is not None:
            self.accounts.update(batch.chunk.accounts)
            return TrailAdded([], stored=True)
        return self.add(batch.events)

    def ensure_store(self) -> TrailStore:
        """The store, created now if there is none (with every event memory holds)."""
        if self.store is None:
            self.store = TrailStore(memory_limit=self.store_memory)
            moved = self.ordered
            self.events = {}  # the store holds them now (and folds what comes again)
            self.ordered = []
            self.store.add(moved, flush=False)
        return self.store

    def note(self, batch: TrailBatch, *, follow: bool = False) -> None:
        """Count what a batch read and skipped, and keep its reasons.

        ``follow``: a follow poll re-reads the newest minutes, so only what it adds is scanned.
        """
        self.scanned += len(batch.events) if follow else batch.scanned
        self.pages += batch.pages
        self.bad += batch.bad
        self.bad_files += batch.bad_files
        self.duplicates += batch.duplicates
        self.skipped_files += len(batch.skipped) - batch.bad_files
        self.files.add(batch)
        if len(self._skipped) < MAX_SKIPPED:
            for note in (*batch.skipped, *batch.notes):
                where, _, reason = note.partition(": ")
                self._skipped.append(Skipped(where, 0, reason or note))
            del self._skipped[MAX_SKIPPED:]
        if batch.pages and batch.source.startswith("lookup "):
            self.region_errors.pop(batch.source.removeprefix("lookup "), None)
        for line in batch.region_errors:
            self.region_errors[line.partition(":")[0]] = line

    def add(self, events: Iterable[TrailEvent]) -> TrailAdded:
        """Keep the events not loaded yet: in memory, or in the store past ``STORE_ABOVE``.

        The store is created on the first batch past the threshold, with every event memory
        holds; events are buffered there and inserted by the next query (in a thread).
        """
        batch = list(events)
        self.accounts.update(e.account_id for e in batch if e.account_id)
        fresh = [e for e in batch if e.key not in self.events]
        if not fresh:
            return TrailAdded([])
        if self.store is None and len(self.events) + len(fresh) <= STORE_ABOVE:
            for event in fresh:
                self.events[event.key] = event
            self.ordered.extend(fresh)
            self.ordered.sort(key=sort_key, reverse=True)
            return TrailAdded(fresh)
        self.ensure_store().add(fresh, flush=False)
        return TrailAdded(fresh, stored=True)

    def replace(self, events: Sequence[TrailEvent]) -> None:
        """Hold saved events instead (replay of an incident bundle)."""
        self.reset()
        self.events = {e.key: e for e in events}
        self.ordered = sorted(self.events.values(), key=sort_key, reverse=True)
        self.accounts = {e.account_id for e in events if e.account_id}
        self.scanned = len(self.ordered)

    def restart_counts(self) -> None:
        """Forget what was read and skipped, keeping the events: a load that failed part-way
        is read again from the start, and counting its first part twice read as more events
        and files than the source holds (the events met again are not added again)."""
        self.scanned = self.pages = self.bad = self.bad_files = 0
        self.duplicates = self.skipped_files = 0
        self.files = FileTally()
        self.region_errors: dict[str, str] = {}
        self._skipped: list[Skipped] = []

    def reset(self) -> None:
        """Forget every event and count (a new window or source)."""
        self.generation += 1
        self.close()
        self._clear()

    def close(self) -> None:
        """Close the store (its files live in a private temp directory)."""
        store, self.store = self.store, None
        self._store_findings, self._store_totals = [], {}
        if store is not None:
            store.close()
