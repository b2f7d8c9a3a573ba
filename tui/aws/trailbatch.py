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

__all__ = ["S3Progress", "TrailBatch", "_Selector"]


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
        text = (
            f"{self.objects_done:,}/{self.objects_total:,} {self.unit} · "
            f"{self.bytes_done / mb:.1f}/{self.bytes_total / mb:.1f} MB · {self.events:,} events"
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
