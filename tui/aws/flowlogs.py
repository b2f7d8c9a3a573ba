"""Flow-log sources that stream: CloudWatch Logs, S3 (text and Parquet) and local files.

Incident 3 needs the REJECTed return leg out of millions of records, from wherever the flow logs
were sent. Each source here is an async generator of :class:`FlowBatch` so the pane and the
headless verb show records as they arrive and a cancelled worker stops the network at once:

* CloudWatch Logs: FilterLogEvents over the window with the filter pushed down as a filter
  pattern where one can say it (it only ever widens), the exact filter re-applied locally, empty
  pages that carry a nextToken followed (AWS returns them while it scans), events deduplicated by
  id across follow polls.
* S3: only the date (and hour) prefixes that overlap the window are listed, in the default and
  the hive-compatible layouts, and only the flow log's own account and region folder when its
  configuration is known (a central bucket holds every account's); gzip text is decompressed as it streams (python-isal when present:
  ~3.6x zlib) and parsed by its header line; Parquet objects are read with DuckDB. A truncated
  or corrupt object is counted in ``stats.bad_files`` and the others still load.
* Local files and folders: :func:`tui.models.flowlog.read_flow_logs` in a worker thread, a chunk
  at a time, so the event loop never blocks.

CPU work (decompressing, parsing, filtering) runs in worker threads in chunks; AWS calls go
through :class:`tui.aws.session.Aws` only.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, Final

from tui.aws.errors import AccessDeniedError, HamariError
from tui.aws.session import Aws
from tui.models.flowfilter import FlowFilter
from tui.models.flowlog import (
    FlowLogParser,
    FlowRecord,
    ParseStats,
    iter_files,
    read_flow_logs,
)
from tui.models.flowlog import _parquet_lines as _parquet_records
from tui.models.gunzip import GunzipStream
from tui.models.network import FlowLogConfig
from tui.models.timewindow import TimeWindow

#: Records handed from a worker thread to the loop at a time (local files).
LOCAL_CHUNK: Final = 5000
#: Bytes read from an S3 body per await.
S3_CHUNK: Final = 1 << 20
#: The slowest download an S3 object is given time for, beyond the call deadline (bytes/s).
S3_MIN_RATE: Final = 32 * 1024
#: CloudWatch pages with more events than this are parsed in a worker thread.
_THREAD_EVENTS: Final = 2000
#: How late S3 objects may be delivered after the records they hold end.
DELIVERY_SLACK: Final = timedelta(hours=1)
#: How much older than its object's time stamp a record may be: a file holds up to 5 minutes of
#: records, each aggregated over up to 10 minutes (the longest MaxAggregationInterval).
RECORD_SLACK: Final = timedelta(minutes=10)

Predicate = Callable[[FlowRecord], bool]


@dataclass
class FlowBatch:
    """Records that arrived together (one CloudWatch page, one S3 object or a local chunk).

    Attributes:
        records: Records that pass the filter (and the window), in arrival order.
        stats: The source's running counters (shared by all its batches): records, bad lines,
            bad files, NODATA and SKIPDATA.
        source: Where they came from (``cwl:/vpc/flow-logs/app``, ``s3://bucket/key``, a path).
        pages: Pages (CloudWatch), objects (S3) or chunks (local) read so far.
        done: True on the source's last batch.
        pushed_down: The CloudWatch filter pattern actually sent, or None.
        last_event_ms: Newest CloudWatch event timestamp seen so far (for follow mode).
        bytes_read: Bytes downloaded or read so far (S3 and local).
    """

    records: list[FlowRecord]
    stats: ParseStats
    source: str
    pages: int
    done: bool
    pushed_down: str | None = None
    last_event_ms: int | None = None
    bytes_read: int = 0


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _predicate(flt: FlowFilter | None) -> Predicate | None:
    return None if flt is None or flt.is_empty else flt.to_predicate()


def _in_window(window: TimeWindow | None) -> Predicate | None:
    if window is None:
        return None
    lo, hi = int(window.start.timestamp()), int(window.end.timestamp())

    def inside(r: FlowRecord) -> bool:
        end, start = r.end, r.start
        return (end is None or end >= lo) and (start is None or start <= hi)

    return inside


def _both(a: Predicate | None, b: Predicate | None) -> Predicate | None:
    if a is None:
        return b
    if b is None:
        return a
    return lambda r: a(r) and b(r)


# --- CloudWatch Logs --------------------------------------------------------------------------


@functools.cache
def filter_pattern_limit() -> int | None:
    """The longest ``filterPattern`` FilterLogEvents accepts, from botocore's service model.

    botocore checks only minimum lengths before sending; AWS refuses a longer pattern with
    InvalidParameterException, so the pattern is shortened to this first. Reading the model
    costs ~0.1 s once: call it from a worker thread.
    """
    from botocore.loaders import create_loader
    from botocore.model import ServiceModel

    model = ServiceModel(create_loader().load_service_model("logs", "service-2"), "logs")
    shape = model.operation_model("FilterLogEvents").input_shape.members["filterPattern"]
    limit = shape.metadata.get("max")
    return int(limit) if limit is not None else None


def _parse_events(
    events: list[dict[str, Any]], parser: FlowLogParser, seen: set[str], keep: Predicate | None
) -> tuple[list[FlowRecord], int | None]:
    out: list[FlowRecord] = []
    newest: int | None = None
    feed = parser.feed_line
    for ev in events:
        event_id = ev.get("eventId")
        if event_id is not None:
            if event_id in seen:
                continue
            seen.add(event_id)
        ts = ev.get("timestamp")
        if isinstance(ts, int) and (newest is None or ts > newest):
            newest = ts
        rec = feed(str(ev.get("message", "")))
        if rec is not None and (keep is None or keep(rec)):
            out.append(rec)
    return out, newest


async def stream_cloudwatch(
    aws: Aws,
    config: FlowLogConfig,
    window: TimeWindow,
    flt: FlowFilter | None = None,
    *,
    seen: set[str] | None = None,
    follow_from_ms: int | None = None,
) -> AsyncIterator[FlowBatch]:
    """Stream a flow log's records from CloudWatch Logs with FilterLogEvents.

    The filter is pushed down as a space-delimited filter pattern when part of it can be
    expressed (:meth:`FlowFilter.to_cwl_filter_pattern`; never for a log group whose format is
    unknown) and always re-applied locally. Empty pages that carry a nextToken are followed.
    FilterLogEvents is spaced to 5 requests/s and retried on throttling by ``aws``.

    Args:
        aws: The AWS access point.
        config: The flow log (its ``log_group`` and ``fields`` are used).
        window: Events with timestamps in [start, end] are read.
        flt: The filter, or None for all records.
        seen: Event ids already read; updated. Pass the same set to every poll in follow mode so
            the overlap between polls is not shown twice.
        follow_from_ms: Start here instead of at the window start (follow mode: the newest
            ``last_event_ms`` minus a margin for late events).

    Yields:
        One batch per page; the last has ``done=True``.

    Raises:
        HamariError: AccessDeniedError, NotFoundError (no such group) and others, after the
            pages already yielded.
    """
    if not config.log_group:
        raise HamariError(f"flow log {config.flow_log_id} has no log group", service="logs")
    seen = seen if seen is not None else set()
    pattern = None
    if flt is not None and not flt.is_empty and config.format_known:
        limit = await asyncio.to_thread(filter_pattern_limit)
        pattern = flt.to_cwl_filter_pattern(config.fields, max_length=limit)
    keep = _predicate(flt)
    source = f"cwl:{config.log_group}"
    parser = FlowLogParser(config.fields if config.format_known else None, source=source)
    start_ms = _ms(window.start) if follow_from_ms is None else follow_from_ms
    params: dict[str, Any] = {
        "logGroupName": config.log_group,
        "startTime": start_ms,
        "endTime": max(_ms(window.end), start_ms),
    }
    if pattern:
        params["filterPattern"] = pattern
    pages = 0
    newest: int | None = None
    done = False
    async for page in aws.pages(
        "logs", "FilterLogEvents", token_in="nextToken", token_out="nextToken", **params
    ):
        pages += 1
        events = page.get("events", []) or []
        if len(events) > _THREAD_EVENTS:
            records, top = await asyncio.to_thread(_parse_events, events, parser, seen, keep)
        else:
            records, top = _parse_events(events, parser, seen, keep)
        if top is not None and (newest is None or top > newest):
            newest = top
        done = not page.get("nextToken")
        yield FlowBatch(records, parser.stats, source, pages, done, pattern, newest)
    if not done:  # the token repeated: the session stopped paging
        yield FlowBatch([], parser.stats, source, pages, True, pattern, newest)


# --- S3 ---------------------------------------------------------------------------------------

_STAMP = re.compile(r"_(\d{8}T\d{4})Z_")
_HOUR_DIR = re.compile(r"(?:^|/)(?:hour=)?(\d{2})/$")
_HOUR_KEY = re.compile(r"(?:/\d{4}/\d{2}/\d{2}/(\d{2})|/hour=(\d{2}))/[^/]+$")
_DAY_KEY = re.compile(r"(?:(\d{4})/(\d{2})/(\d{2})|year=(\d{4})/month=(\d{2})/day=(\d{2}))/")
_REGION_DIR = re.compile(r"(?:vpcflowlogs/[a-z0-9-]+|aws-region=[a-z0-9-]+)/$")
_ACCOUNT_DIR = re.compile(r"AWSLogs/(?:\d{12}|aws-account-id=\d{12})/$")


def s3_location(value: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` or ``bucket/prefix`` -> ``(bucket, prefix)``."""
    text = value[5:] if value.startswith("s3://") else value
    bucket, _, prefix = text.partition("/")
    return bucket, prefix


async def _list(
    aws: Aws, bucket: str, prefix: str, *, delimiter: bool = False
) -> tuple[list[dict[str, Any]], list[str]]:
    objects: list[dict[str, Any]] = []
    dirs: list[str] = []
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        params["Delimiter"] = "/"
    async for page in aws.pages(
        "s3",
        "ListObjectsV2",
        token_in="ContinuationToken",
        token_out="NextContinuationToken",
        **params,
    ):
        objects.extend(page.get("Contents", []) or [])
        dirs.extend(str(p["Prefix"]) for p in page.get("CommonPrefixes", []) or [])
    return objects, dirs


def _stamps(window: TimeWindow) -> tuple[datetime, datetime]:
    """The object time stamps (and so day and hour folders) that may hold the window's records."""
    return window.start - RECORD_SLACK, window.end + DELIVERY_SLACK


def _days(window: TimeWindow) -> list[datetime]:
    lo, hi = _stamps(window)
    day = lo.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    last = hi.astimezone(UTC)
    out = []
    while day <= last:
        out.append(day)
        day += timedelta(days=1)
    return out


def _day_prefix(region_dir: str, day: datetime) -> str:
    if "aws-region=" in region_dir:
        return f"{region_dir}year={day:%Y}/month={day:%m}/day={day:%d}/"
    return f"{region_dir}{day:%Y/%m/%d}/"


def _hour_overlaps(day: datetime, hour: int, window: TimeWindow) -> bool:
    start = day + timedelta(hours=hour)
    lo, hi = _stamps(window)
    return start <= hi and start + timedelta(hours=1) > lo


def _object_in_window(key: str, window: TimeWindow) -> bool:
    """Decide from the key alone: the time stamp in the name, else the hour partition."""
    m = _STAMP.search(key)
    if m is not None:
        stamp = datetime.strptime(m.group(1), "%Y%m%dT%H%M").replace(tzinfo=UTC)
        lo, hi = _stamps(window)
        return lo <= stamp + timedelta(minutes=1) and stamp <= hi  # stamps are whole minutes
    day_m = _DAY_KEY.search(key)
    hour_m = _HOUR_KEY.search(key)
    if day_m and hour_m:
        y, mo, d = (g for g in day_m.groups() if g is not None)
        day = datetime(int(y), int(mo), int(d), tzinfo=UTC)
        hour = hour_m.group(1) or hour_m.group(2)
        return _hour_overlaps(day, int(hour), window)
    return True  # unknown naming: read it and filter the records


def configured_region_dirs(config: FlowLogConfig, account: str, region: str) -> list[str]:
    """The one region folder a flow log writes to: ``{prefix}AWSLogs/{account}/vpcflowlogs/{region}/``.

    A central bucket holds every account's and region's flow logs; listing all of them to read
    one flow log costs a ListObjectsV2 per account, region and day. DescribeFlowLogs names the
    prefix and the layout (hive or not); the account and region are those it was asked in.
    """
    prefix = config.prefix.strip("/")
    prefix = f"{prefix}/" if prefix else ""
    if config.hive:
        return [
            f"{prefix}AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/"
        ]
    return [f"{prefix}AWSLogs/{account}/vpcflowlogs/{region}/"]


_PREFIX_PROBES: Final = 50
"""Top-level folders of a bucket looked into for ``AWSLogs/`` when the bucket is given alone."""


async def _region_dirs(
    aws: Aws, bucket: str, prefix: str, config: FlowLogConfig | None = None
) -> list[str]:
    """Region-level folders of the default and hive layouts under ``prefix``."""
    if _REGION_DIR.search(prefix):
        return [prefix]
    if (
        config is not None
        and config.destination_type == "s3"
        and config.bucket == bucket
        and config.prefix.strip("/") == prefix.strip("/")
        and aws.identity is not None
    ):
        return configured_region_dirs(config, aws.account, aws.region)
    if _ACCOUNT_DIR.search(prefix):
        accounts = [prefix]
    else:
        # `s3://bucket/vpc/AWSLogs/` names the folder itself; `s3://bucket/vpc/` its parent.
        base = prefix if prefix.endswith("AWSLogs/") else f"{prefix}AWSLogs/"
        _, accounts = await _list(aws, bucket, base, delimiter=True)
        if not accounts and not prefix:
            # A flow log written under a key prefix: look for AWSLogs/ one folder down, as the
            # CloudTrail reader does for a trail's prefix.
            _, tops = await _list(aws, bucket, "", delimiter=True)
            for top in tops[:_PREFIX_PROBES]:
                _, found = await _list(aws, bucket, f"{top}AWSLogs/", delimiter=True)
                accounts.extend(found)
    regions: list[str] = []
    for account in accounts:
        service = "aws-service=vpcflowlogs/" if "aws-account-id=" in account else "vpcflowlogs/"
        _, dirs = await _list(aws, bucket, account + service, delimiter=True)
        regions.extend(dirs)
    return regions


async def list_flow_objects(
    aws: Aws,
    bucket: str,
    prefix: str,
    window: TimeWindow,
    *,
    config: FlowLogConfig | None = None,
) -> list[dict[str, Any]]:
    """The flow-log objects whose date/hour prefix (and delivery stamp) overlap the window.

    Lists only the region folder the flow log writes to when its configuration is given (see
    :func:`configured_region_dirs`), else every account and region folder with a delimiter;
    then only the day folders of the window and, when objects are partitioned per hour, only
    the overlapping hours. Objects stamped up to :data:`RECORD_SLACK` before the window and
    :data:`DELIVERY_SLACK` after it are kept: their records may still overlap it.

    Args:
        aws: The AWS access point.
        bucket: The bucket.
        prefix: The flow log's prefix (``""``, ``parquet/``) or a deeper folder.
        window: The time window.
        config: The flow log (DescribeFlowLogs) that writes here, if known.

    Returns:
        ListObjectsV2 ``Contents`` items, sorted by key.
    """
    prefix = prefix.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if _DAY_KEY.search(prefix):  # a date folder named by hand: read what is there
        objects, _ = await _list(aws, bucket, prefix)
        return sorted(
            (o for o in objects if _object_in_window(str(o["Key"]), window)),
            key=lambda o: str(o["Key"]),
        )
    found: list[dict[str, Any]] = []
    for region_dir in await _region_dirs(aws, bucket, prefix, config):
        for day in _days(window):
            objects, hour_dirs = await _list(
                aws, bucket, _day_prefix(region_dir, day), delimiter=True
            )
            found.extend(objects)
            for hour_dir in hour_dirs:
                m = _HOUR_DIR.search(hour_dir)
                if m is None or _hour_overlaps(day, int(m.group(1)), window):
                    more, _ = await _list(aws, bucket, hour_dir)
                    found.extend(more)
    keep = [o for o in found if _object_in_window(str(o["Key"]), window)]
    return sorted(keep, key=lambda o: str(o["Key"]))


class _TextObject:
    """Incremental gzip (multi-member) or plain text -> parsed, filtered records."""

    def __init__(self, parser: FlowLogParser, keep: Predicate | None) -> None:
        self.parser = parser
        self.keep = keep
        self.gzip: bool | None = None
        self.d: Any = None
        self.tail = b""

    def _lines(self, data: bytes) -> list[FlowRecord]:
        data = self.tail + data if self.tail else data
        cut = data.rfind(b"\n")
        if cut < 0:
            self.tail = data
            return []
        self.tail = data[cut + 1 :]
        lines = data[:cut].decode("utf-8", "replace").split("\n")
        return self._parse(lines)

    def _parse(self, lines: Sequence[str]) -> list[FlowRecord]:
        feed, keep = self.parser.feed_line, self.keep
        out = []
        for line in lines:
            rec = feed(line)
            if rec is not None and (keep is None or keep(rec)):
                out.append(rec)
        return out

    def feed(self, chunk: bytes) -> list[FlowRecord]:
        if self.gzip is None:
            self.gzip = chunk[:2] == b"\x1f\x8b"
            if self.gzip:
                self.d = GunzipStream("object")
        if not self.gzip:
            return self._lines(chunk)
        out: list[FlowRecord] = []
        for data in self.d.feed(chunk):
            out.extend(self._lines(data))
        return out

    def finish(self) -> list[FlowRecord]:
        out = self._parse([self.tail.decode("utf-8", "replace")]) if self.tail else []
        self.tail = b""
        if self.gzip:
            self.d.close()
        return out


def _read_parquet(data: bytes, parser: FlowLogParser, keep: Predicate | None) -> list[FlowRecord]:
    records = _parquet_records(data, parser)
    return [r for r in records if keep is None or keep(r)]


async def stream_s3(
    aws: Aws,
    bucket: str,
    prefix: str,
    window: TimeWindow,
    flt: FlowFilter | None = None,
    *,
    fields: Sequence[str] | str | None = None,
    config: FlowLogConfig | None = None,
) -> AsyncIterator[FlowBatch]:
    """Stream flow-log records from S3 objects whose prefixes overlap the window.

    Text objects (gzip or plain) are decompressed and parsed as they download, by their header
    line (``fields`` only for headerless objects); Parquet objects are read whole, one at a time.
    Records outside the window and records the filter rejects are dropped. Objects and bytes are
    counted into ``aws.meter`` (``s3_objects``, ``s3_bytes``).

    Args:
        aws: The AWS access point.
        bucket: The bucket.
        prefix: The flow log's key prefix (``""`` for none) or a deeper folder.
        window: The time window.
        flt: The filter, or None.
        fields: The format of objects without a header line (DescribeFlowLogs' LogFormat).
        config: The flow log that writes under ``prefix``: only its account's and region's
            folder is listed.

    Yields:
        A batch per object (more for big objects); the last has ``done=True``.

    Raises:
        AccessDeniedError: ListObjectsV2 or GetObject refused (e.g. a KMS key policy).
    """
    stats = ParseStats()
    keep = _both(_in_window(window), _predicate(flt))
    objects = await list_flow_objects(aws, bucket, prefix, window, config=config)
    total = 0
    if not objects:
        yield FlowBatch([], stats, f"s3://{bucket}/{prefix}", 0, True)
        return
    for index, obj in enumerate(objects, 1):
        key = str(obj["Key"])
        source = f"s3://{bucket}/{key}"
        last = index == len(objects)
        parser = FlowLogParser(fields, stats=stats, source=source)
        pending: list[FlowRecord] = []
        try:
            resp = await aws.call("s3", "GetObject", Bucket=bucket, Key=key)
            aws.meter.add("s3_objects")
            body = _Deadline(
                resp["Body"], aws.conn.call_timeout + int(obj.get("Size") or 0) / S3_MIN_RATE
            )
            async with body:
                first = await body.read(S3_CHUNK)
                total += len(first)
                aws.meter.add("s3_bytes", len(first))
                if first[:4] == b"PAR1":
                    rest = await body.read()
                    total += len(rest)
                    aws.meter.add("s3_bytes", len(rest))
                    pending = await asyncio.to_thread(_read_parquet, first + rest, parser, keep)
                else:
                    text = _TextObject(parser, keep)
                    chunk = first
                    while chunk:
                        pending.extend(await asyncio.to_thread(text.feed, chunk))
                        if len(pending) >= LOCAL_CHUNK:
                            yield FlowBatch(
                                pending, stats, source, index - 1, False, None, None, total
                            )
                            pending = []
                        chunk = await body.read(S3_CHUNK)
                        total += len(chunk)
                        aws.meter.add("s3_bytes", len(chunk))
                    pending.extend(text.finish())
        except AccessDeniedError:
            raise
        except HamariError as err:
            if err.transient:
                raise
            stats.bad_files += 1
            stats.note(source, 0, err.message)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            stats.bad_files += 1
            stats.note(source, 0, f"download timed out after {body.waited:.0f} s ({total:,} bytes)")
        except Exception as exc:  # a corrupt object loses only itself
            stats.bad_files += 1
            stats.note(source, parser._lineno, f"{type(exc).__name__}: {exc}")
        yield FlowBatch(pending, stats, source, index, last, None, None, total)


class _Deadline:
    """An S3 body whose reads share one deadline: aiohttp's read timeout is per read, so a body
    that drips a byte a second would never end. Only time spent waiting on the network counts
    (not the consumer's, between two batches)."""

    def __init__(self, body: Any, seconds: float) -> None:
        self.body = body
        self.left = seconds
        self.waited = 0.0

    async def __aenter__(self) -> _Deadline:
        await self.body.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.body.__aexit__(*exc)

    async def read(self, n: int = -1) -> bytes:
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            async with asyncio.timeout(max(self.left, 0.0)):
                data: bytes = await self.body.read(n)
                return data
        finally:
            spent = loop.time() - began
            self.left -= spent
            self.waited += spent


# --- local files --------------------------------------------------------------------------------


def _take(
    it: Iterator[FlowRecord], keep: Predicate | None, n: int
) -> tuple[list[FlowRecord], bool]:
    chunk = list(islice(it, n))
    if keep is not None:
        return [r for r in chunk if keep(r)], len(chunk) < n
    return chunk, len(chunk) < n


async def stream_local(
    path: str | Sequence[str],
    window: TimeWindow | None,
    flt: FlowFilter | None = None,
    fmt: str | Sequence[str] | None = None,
) -> AsyncIterator[FlowBatch]:
    """Stream records from local files or folders (text, gzip, CWL JSON, Parquet).

    Listing, reading, decompressing, parsing and filtering run in a worker thread, about
    :data:`LOCAL_CHUNK` records at a time; a batch holds one file's records and names that
    file as its ``source`` (``hamari flows`` writes it beside each record).

    Args:
        path: A file or a folder (read recursively), or several.
        window: Keep records overlapping this window; None keeps all.
        flt: The filter, or None.
        fmt: The log format of files without a header line (``--log-format``), or None.

    Yields:
        Non-empty batches as chunks complete, and a last one with ``done=True``.
    """
    stats = ParseStats()
    given = [path] if isinstance(path, str) else list(path)
    paths = [os.fspath(Path(p).expanduser()) for p in given]
    files = await asyncio.to_thread(lambda: list(iter_files(paths, skipped=stats.skipped)))
    keep = _both(_in_window(window), _predicate(flt))
    chunks = 0
    for number, file in enumerate(files, 1):
        it = read_flow_logs(file, fmt=fmt, stats=stats)
        exhausted = False
        while not exhausted:
            records, exhausted = await asyncio.to_thread(_take, it, keep, LOCAL_CHUNK)
            chunks += 1
            last = exhausted and number == len(files)
            if records or last:
                yield FlowBatch(records, stats, str(file), chunks, last)
    if not files:
        yield FlowBatch([], stats, ", ".join(paths), chunks, True)
