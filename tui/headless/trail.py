"""``hamari trail``: CloudTrail events on stdout, for pipes, scripts and tickets.

The same sources, filter language and window as the CloudTrail pane (``tui.aws.cloudtrail``),
streamed as they arrive: ``ndjson`` prints each event's raw JSON object on one line (what ``jq``
wants), ``csv`` and ``table`` print the pane's columns and the account. Counts (events scanned,
pages or files, bad records and files, duplicates folded) go to stderr so stdout stays
machine-readable, with one line per file that was not read saying why; a run that could read
nothing exits 2. An S3 or local read shows its progress on stderr (objects or files, bytes,
events, rate, what is left) at most once a second when stderr is a terminal (and stdout is not,
or holds a table written at the end), and one summary line at the end. A malformed filter is
shown with a caret under the offending column and exits 2 before any request is made.

Files and S3 objects go through the fast route (``tui.models.trailscan``): only the records the
filter can match are decoded, and a kept record is written as delivered when that is safe on a
terminal. Local files are scanned in worker processes (``tui.aws.trailfiles``).
No textual or rich is imported on this path.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from tui.aws.cloudtrail import S3Progress, TrailBatch, TrailSource, parse_source, stream_source
from tui.aws.trailbatch import FileTally
from tui.headless.common import open_aws
from tui.models.cloudtrail import TrailEvent
from tui.models.text import display_safe
from tui.models.timewindow import TimeWindow
from tui.models.trailfilter import FilterError, TrailFilter, compile_filter
from tui.models.trailscan import Match
from tui.models.writers import write_csv, write_table
from tui.settings import Settings
from tui.verbs import fail, verb

COLUMNS = (
    "time",
    "event_name",
    "source",
    "principal",
    "source_ip",
    "error_code",
    "resources",
    "region",
    "account",
    "event_id",
)


def event_row(event: TrailEvent) -> dict[str, Any]:
    """The pane's columns of one event, raw values (csv/table writers escape as they need)."""
    return {
        "time": event.event_time,
        "event_name": event.event_name,
        "source": event.source,
        "principal": event.principal,
        "source_ip": event.source_ip,
        "error_code": event.error_code,
        "resources": " ".join(event.resources),
        "region": event.aws_region,
        "account": event.account_id,
        "event_id": event.event_id,
    }


def filter_error_text(text: str, err: FilterError) -> str:
    """The filter, a caret under the offending column, and the message (display-safe)."""
    shown = display_safe(text)
    # Escaped characters widen the text; move the caret by what precedes the column.
    caret_at = len(display_safe(text[: err.column]))
    return f"hamari: bad filter: {display_safe(err.message)}\n  {shown}\n  {' ' * caret_at}^"


MAX_NOTES = 10
"""Record-level reasons printed (the counts are exact); every skipped file gets its own line."""


class _ProgressLine:
    """S3 or file progress on stderr: a line rewritten at most once a second on a terminal, one
    summary at the end (also when stderr is a file or a pipe, where a ticker would be noise)."""

    def __init__(self, err: IO[str], live: bool) -> None:
        self.err = err
        self.live = live
        self.last: S3Progress | None = None
        self.shown_at = 0.0
        self.dirty = False

    def update(self, progress: S3Progress) -> None:
        self.last = progress
        now = time.monotonic()
        if self.live and not progress.done and now - self.shown_at >= 1.0:
            self.shown_at = now
            self.err.write(f"\r\x1b[Khamari: {progress.describe()}")
            self.err.flush()
            self.dirty = True

    def clear(self) -> None:
        """Erase the progress line (before a row is written to the same terminal)."""
        if self.dirty:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self.dirty = False

    def finish(self) -> None:
        if self.dirty:
            self.err.write("\r\x1b[K")
        if self.last is not None:
            print(f"hamari: read {self.last.describe()}", file=self.err, flush=True)


class _AfterProgress:
    """stdout that first erases the progress line when both are one terminal: a row written
    after "hamari: 1/57 files · … ~1 s" began on that line ("…~1 sTIME  EVENT_NAME")."""

    def __init__(self, out: IO[str], progress: _ProgressLine) -> None:
        self._out = out
        self._progress = progress

    def write(self, text: str) -> int:
        self._progress.clear()
        return self._out.write(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._out, name)


class _Totals:
    def __init__(self) -> None:
        self.events = 0
        self.scanned = 0
        self.pages = 0
        self.bad = 0
        self.bad_files = 0
        self.duplicates = 0
        self.files = FileTally()
        self.notes: list[str] = []
        self.skipped: list[str] = []
        self.region_errors: list[str] = []  # a region that could not be read, one line each
        self.progress: _ProgressLine | None = None

    def add(self, batch: TrailBatch) -> None:
        if batch.progress is not None and self.progress is not None:
            self.progress.update(batch.progress)
        self.events += len(batch.events) + len(batch.kept)
        self.scanned += batch.scanned
        self.pages += batch.pages
        self.bad += batch.bad
        self.bad_files += batch.bad_files
        self.duplicates += batch.duplicates
        self.files.add(batch)
        self.skipped += batch.skipped
        self.region_errors += batch.region_errors
        if len(self.notes) < MAX_NOTES:
            self.notes += list(batch.notes)[: MAX_NOTES - len(self.notes)]

    def summary(self, source: TrailSource) -> str:
        """Every file once, in one of the parts adding up to their total (each file not read
        has its own line above), then the records: ``3 events matched; 4 files: 2 read (5
        events), 1 unreadable, 1 skipped (digest, empty or not a log); 2 duplicates folded``."""
        text = f"{self.events} events matched; "
        unit = "pages" if source.kind in ("lookup", "cwl") else "files"
        text += self.files.describe(self.scanned, self.pages, unit)
        text += f"; {self.duplicates} duplicates folded"
        if self.bad:
            text += f"; {self.bad} bad records skipped"
        return text

    def nothing_read(self, source: TrailSource) -> bool:
        """True when files were given but not one event could be read from them."""
        if source.kind == "lookup" or self.scanned:
            return False
        return source.kind == "local" or bool(self.skipped or self.bad)


async def _events(
    settings: Settings,
    source: TrailSource,
    window: TimeWindow | None,
    flt: TrailFilter,
    totals: _Totals,
) -> AsyncIterator[Match]:
    """LookupEvents, S3 objects (through the fast route) or CloudWatch Logs, as matches."""
    regions = [settings.region] if settings.region else []
    async with open_aws(settings) as aws:
        now = datetime.now(UTC)
        live_window = window or settings.window(now)
        stream = stream_source(aws, source, live_window, flt, regions=regions, fast=True)
        async for batch in stream:
            totals.add(batch)
            for match in batch.matches():
                yield match


def _drain_local(
    source: TrailSource,
    window: TimeWindow | None,
    flt: TrailFilter,
    totals: _Totals,
    fmt: str,
    out: IO[str],
) -> None:
    """Local files, scanned in worker processes (``tui.aws.trailfiles``); ndjson is written
    one file at a time."""
    from tui.aws.trailfiles import scan_local

    batches = scan_local(source.location, window, flt)
    if fmt == "ndjson":
        for batch in batches:
            totals.add(batch)
            _write_lines(batch.matches(), out)
        out.flush()
        return

    def kept() -> Iterator[Match]:
        for batch in batches:
            totals.add(batch)
            yield from batch.matches()

    _write(kept(), fmt, out)


def _write_lines(matches: Sequence[Match], out: IO[str]) -> None:
    """NDJSON lines in one write: on an unbuffered stdout (``python -u``, PYTHONUNBUFFERED)
    each write is a system call, and a million events' two writes each cost ~0.1 s."""
    if matches:
        out.write("".join([f"{match.line()}\n" for match in matches]))


def _write(matches: Iterable[Match], fmt: str, out: IO[str]) -> None:
    """ndjson as each event arrives (as delivered when safe), csv too, a table at the end;
    only csv and table rows build the whole event."""
    if fmt == "ndjson":
        for match in matches:
            _write_lines([match], out)
        out.flush()
    elif fmt == "csv":
        write_csv((event_row(m.full()) for m in matches), COLUMNS, out)
    else:
        write_table([event_row(m.full()) for m in matches], COLUMNS, out)


def _drain(agen: AsyncIterator[Match | TrailEvent], fmt: str, out: IO[str]) -> None:
    """Run the async stream, writing each event as it arrives (ndjson/csv) or at the end."""
    loop = asyncio.new_event_loop()
    try:

        def iterate() -> Iterator[Match]:
            while True:
                try:
                    item = loop.run_until_complete(agen.__anext__())
                except StopAsyncIteration:
                    return
                if isinstance(item, TrailEvent):  # a remote query's events
                    item = Match.of(item)
                yield item

        _write(iterate(), fmt, out)
    finally:
        try:
            loop.run_until_complete(agen.aclose())  # type: ignore[attr-defined]
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def run(settings: Settings, ns: argparse.Namespace) -> int:
    """Stream the events in the chosen format; counts on stderr."""
    text = ns.filter or ""
    try:
        flt = compile_filter(text)
    except FilterError as err:
        print(filter_error_text(text, err), file=sys.stderr)
        return 2
    source = parse_source(ns.source or settings.trail_source)
    window: TimeWindow | None = None
    if source.kind != "local" or settings.since or settings.until:
        window = settings.window(datetime.now(UTC))
    totals = _Totals()
    if ns.format is None:  # a person at a terminal reads the columns; a pipe gets the events
        ns.format = "table" if sys.stdout.isatty() else "ndjson"
    live = sys.stderr.isatty() and (ns.format == "table" or not sys.stdout.isatty())
    totals.progress = _ProgressLine(sys.stderr, live)
    out: IO[str] = sys.stdout
    if live and sys.stdout.isatty():
        out = _AfterProgress(sys.stdout, totals.progress)  # type: ignore[assignment]
    try:
        remote = getattr(ns, "remote", False)
        if source.kind == "local" and not remote:
            _drain_local(source, window, flt, totals, ns.format, out)
        else:
            events: AsyncIterator[Match | TrailEvent] = _events(
                settings, source, window, flt, totals
            )
            if remote:  # CloudTrail Lake or Logs Insights (trailremote.py)
                from tui.headless.trailremote import remote_events

                events = remote_events(settings, source, window, flt, totals, ns)
            _drain(events, ns.format, out)
    finally:
        totals.progress.finish()
    for line in totals.skipped:
        print(f"hamari: not read: {display_safe(line)}", file=sys.stderr)
    for line in totals.region_errors:
        print(f"hamari: {display_safe(line)}", file=sys.stderr)
    for note in totals.notes:
        print(f"hamari: skipped: {display_safe(note)}", file=sys.stderr)
    unnamed = totals.bad - len(totals.notes)
    if unnamed > 0:
        print(
            f"hamari: … and {unnamed} more bad record(s) not listed here (the count is exact)",
            file=sys.stderr,
        )
    print(f"hamari: {totals.summary(source)}", file=sys.stderr, flush=True)
    if totals.nothing_read(source):
        return fail(
            "nothing could be read: no CloudTrail event in "
            f"{display_safe(source.location or source.label)} (the reasons are above)",
            "give CloudTrail files: S3 deliveries (.json, .json.gz), NDJSON, LookupEvents "
            "output, a zip of those, or the console's Event history CSV",
        )
    return 0


@verb("trail")
def register(parser: argparse.ArgumentParser) -> None:
    """CloudTrail events (LookupEvents, trail S3 files or local files), filtered, to stdout."""
    parser.add_argument(
        "--source",
        metavar="SRC",
        default=None,
        help="lookup (default), s3://bucket/prefix, s3 (the trail's bucket), cwl:GROUP (the "
        "trail's CloudWatch Logs group), or a file/folder "
        "(S3 deliveries .json/.json.gz, NDJSON incl. log-pipeline exports, LookupEvents "
        "output, zip archives, the console's Event history CSV)",
    )
    parser.add_argument(
        "--filter",
        metavar="EXPR",
        default=None,
        help="e.g. 'error:AccessDenied* user:alice name:Start* source:kms ip:10.0.0.0/8'",
    )
    parser.add_argument(
        "--format",
        choices=("ndjson", "csv", "table"),
        default=None,
        help="ndjson: raw event JSON, one per line; csv/table: the pane's columns "
        "(default: table on a terminal, ndjson in a pipe)",
    )
    from tui.headless.trailremote import add_arguments

    add_arguments(parser)  # --remote, --max-gb, --yes, --lake-store
    parser.set_defaults(run=run)
