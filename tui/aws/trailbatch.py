"""What a CloudTrail stream hands over, and the selection every stream shares.

``TrailBatch`` (one page, object or file, after window and filter), ``S3Progress`` and the
selector (``tui.models.trailscan.Selector``) that applies the window and the filter and folds
delivery duplicates. Its own module so
that every CloudTrail reader (LookupEvents, S3 and local files in ``tui.aws.cloudtrail``, CloudWatch
Logs and Insights in ``tui.aws.trailcwl``, Lake in ``tui.aws.lake``) uses them without importing the
others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tui.models.cloudtrail import TrailEvent
from tui.models.trailscan import Match
from tui.models.trailscan import Selector as _Selector
from tui.models.trailstore import StoreChunk

__all__ = ["FileTally", "S3Progress", "TrailBatch", "_Selector"]

READ = "read"
NO_RECORD = "no record"
UNREADABLE = "unreadable"
SKIPPED = "skipped"
FILE_FATES = (READ, NO_RECORD, UNREADABLE, SKIPPED)
"""What became of a file or S3 object, exactly one each (:attr:`TrailBatch.fate`)."""


@dataclass(frozen=True, slots=True)
class TrailBatch:
    """What one page, object or file produced, after the window and filter were applied.

    Attributes:
        events: the matching events, new to this stream (delivery duplicates folded).
        bad: records that could not be read (counted, with samples in ``notes``).
        source: where they came from (``lookup us-east-1``, ``s3://bucket/key``, a path).
        pages: pages, objects or files this batch accounts for (sum them for a total).
        done: True on the last batch of a stream.
        scanned: events read before filtering (for "scanned N events").
        bad_files: objects or files that could not be read at all.
        notes: a few reasons for bad records, for the status line or stderr.
        duplicates: copies of an event already in this stream, folded into it (same
            :attr:`~tui.models.cloudtrail.TrailEvent.key`); re-reads of events known before the
            stream began (a follow poll, a push-down) are not counted.
        skipped: one line per file (or archive member) not read, with the reason.
        region_errors: one line per region that could not be read (``us-east-1: not
            reachable: …``); the other regions' events still come.
        progress: how far an S3 read is, after its listing and after each object.
        kept: what the fast route (``hamari trail``: ``tui.models.trailscan``) kept instead of
            ``events``: each record's bytes, its event built only when asked.
        chunk: what a worker process wrote as store rows instead of ``events`` (a pane's big
            local load, :func:`tui.aws.trailfiles.stream_files`), already windowed.
        outside: events of ``chunk``'s file outside the window (not in the chunk).
        span: the oldest and newest event time of ``chunk``'s file, window or not.
        fate: what became of the file or object this batch accounts for, one of
            :data:`FILE_FATES`: ``read`` (its events, some records maybe bad), ``no record``
            (read, not one record readable), ``unreadable`` (``bad_files``: not read at all),
            ``skipped`` (not events: a digest, an empty file, not a log); "" for a page or a
            stream's marker.
        parts_skipped: members of the file (an archive) not read, each with a line in
            ``skipped`` (the file itself has its fate).
    """

    events: list[TrailEvent]
    bad: int
    source: str
    pages: int
    done: bool
    scanned: int = 0
    bad_files: int = 0
    notes: tuple[str, ...] = ()
    duplicates: int = 0
    skipped: tuple[str, ...] = ()
    region_errors: tuple[str, ...] = ()
    progress: S3Progress | None = None
    kept: list[Match] = field(default_factory=list)
    chunk: StoreChunk | None = None
    outside: int = 0
    span: tuple[datetime, datetime] | None = None
    fate: str = ""
    parts_skipped: int = 0

    def matches(self) -> list[Match]:
        """Every kept event as a :class:`~tui.models.trailscan.Match`, whichever route read it."""
        built = [Match.of(e) for e in self.events]
        return built + self.kept if self.kept else built


@dataclass(frozen=True, slots=True)
class S3Progress:
    """How far a read of trail objects from S3 is (for the status line and stderr).

    Attributes:
        objects_done: objects read (or counted as not readable) so far.
        objects_total: objects listed for the window.
        bytes_done: their listed sizes, read so far.
        bytes_total: the listed sizes of all of them.
        events: events read so far, before the filter (by this stream: since it resumed).
        seconds: since the first download started.
    """

    objects_done: int
    objects_total: int
    bytes_done: int
    bytes_total: int
    events: int
    seconds: float
    unit: str = "objects"
    """What is counted: S3 objects, or local files."""
    earlier: int = 0
    """Bytes of ``bytes_done`` an interrupted load read before this one resumed it (not in
    the rate)."""
    earlier_events: int = 0
    """Events those earlier objects held: shown in the total, not in the rate (the reader of
    the stream knows them; the stream does not)."""

    @property
    def done(self) -> bool:
        return self.objects_done >= self.objects_total

    @property
    def seconds_left(self) -> float | None:
        """What is left at the byte rate so far (None before the rate is known)."""
        if self.done:
            return 0.0
        read = self.bytes_done - self.earlier
        if read <= 0 or self.seconds <= 0:
            return None
        return (self.bytes_total - self.bytes_done) * self.seconds / read

    def describe(self) -> str:
        """``12/200 objects · 1.2/20.4 MB · 31,200 events · 9,800 ev/s · 188 left, ~30 s``."""
        mb = 1 << 20
        events = self.earlier_events + self.events
        text = (
            f"{self.objects_done:,}/{self.objects_total:,} {self.unit} · "
            f"{self.bytes_done / mb:.1f}/{self.bytes_total / mb:.1f} MB · {events:,} events"
        )
        if self.seconds > 0:
            text += f" · {self.events / self.seconds:,.0f} ev/s"
        if not self.done:
            left = self.seconds_left
            eta = f", ~{left:.0f} s" if left is not None else ""
            text += f" · {self.objects_total - self.objects_done:,} left{eta}"
        else:
            text += f" in {self.seconds:.1f} s"
        return text


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


@dataclass(slots=True)
class FileTally:
    """Every file or S3 object a load met, each counted once, in exactly one of
    :data:`FILE_FATES`; the pane's status line and ``hamari trail``'s summary say it the same
    way (:meth:`describe`)."""

    read: int = 0
    no_record: int = 0
    unreadable: int = 0
    skipped: int = 0
    parts_skipped: int = 0

    @property
    def total(self) -> int:
        return self.read + self.no_record + self.unreadable + self.skipped

    def add(self, batch: TrailBatch) -> None:
        if batch.fate == READ:
            self.read += 1
        elif batch.fate == NO_RECORD:
            self.no_record += 1
        elif batch.fate == UNREADABLE:
            self.unreadable += 1
        elif batch.fate == SKIPPED:
            self.skipped += 1
        self.parts_skipped += batch.parts_skipped

    @property
    def all_read(self) -> bool:
        return self.total == self.read and not self.parts_skipped

    def describe(self, scanned: int, pages: int = 0, unit: str = "files") -> str:
        """``scanned 432 events in 12 files`` when every file was read; else every file once,
        the parts adding up to the total: ``15 files: 11 read (432 events), 1 with no readable
        record, 2 unreadable, 1 skipped (digest, empty or not a log)``. A source of pages
        (LookupEvents, CloudWatch Logs) has no files: ``scanned N events in P pages``."""
        if not self.total and not self.parts_skipped:
            return f"scanned {_count(scanned, 'event')} in {_count(pages, unit.rstrip('s'), unit)}"
        if self.total == self.read:
            text = f"scanned {_count(scanned, 'event')} in {_count(self.read, 'file')}"
        else:
            parts = [f"{self.read:,} read ({_count(scanned, 'event')})"]
            if self.no_record:
                parts.append(f"{self.no_record:,} with no readable record")
            if self.unreadable:
                parts.append(f"{self.unreadable:,} unreadable")
            if self.skipped:
                parts.append(f"{self.skipped:,} skipped (digest, empty or not a log)")
            text = f"{_count(self.total, 'file')}: " + ", ".join(parts)
        if self.parts_skipped:
            text += f"; {_count(self.parts_skipped, 'archive member')} not read"
        return text
