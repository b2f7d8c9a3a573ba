"""CloudTrail sources that stream events as they arrive: LookupEvents, the trail's S3 files, local files.

Incident 1 ("start returned no error") is solved by reading CloudTrail around the failed start, and
on a bastion over a slow link the user must see the first rows after the first page, not after the
last. Every source here is an async generator of :class:`TrailBatch` (one per LookupEvents page,
S3 object or local file), and every source applies the same :class:`~tui.models.trailfilter.TrailFilter`
and time window locally, so the pane, the headless verb and the tests see the same events.

Rules this module keeps:

* **LookupEvents**: at most 2 requests/s (enforced by :class:`~tui.aws.session.Aws`), MaxResults 50
  with NextToken, one lookup attribute per request (an API rule: the filter's best pushable term)
  plus StartTime/EndTime; everything else is filtered here. Global services (IAM, STS, sign-in)
  are recorded in the partition's global region (us-east-1, us-gov-west-1, cn-north-1), so it is
  read beside the selected region (unless turned off), each region failing on its own (a note,
  not a stop), and delivery duplicates (same eventID, name, time and source) are folded and counted.
* **S3 trail files**: the bucket comes from DescribeTrails or from ``s3://bucket/prefix``; a
  trail's key prefix is found (its S3KeyPrefix, or ``AWSLogs/`` one folder down) and, when
  nothing is there, the error names every folder searched; both the
  default (``AWSLogs/{account}/CloudTrail/{region}/YYYY/MM/DD/``) and the organization
  (``AWSLogs/{org-id}/{account}/CloudTrail/...``) layouts are listed, only for the days and regions
  that overlap the window; digest files are skipped; each object is decompressed on its own in a
  thread (aiobotocore never decompresses); a corrupt object is counted, never fatal.
* **Follow mode**: CloudTrail delivers events 5 to 15 minutes late and not in order, so a follower
  re-reads the newest part of the window on each poll, keeps only events it has not seen, and
  reports a *complete up to* watermark (now - 15 minutes).

No textual or rich here: the headless verb uses this module too.

Size (~970 lines): four sources sharing one batch type, filter and window; the S3 reader and follow
mode are the seams to split at.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from tui.aws.errors import (
    AccessDeniedError,
    CredentialsError,
    EndpointUnreachableError,
    HamariError,
    InvalidRequestError,
    NotFoundError,
)
from tui.aws.trailbatch import (
    NO_RECORD,
    READ,
    SKIPPED,
    UNREADABLE,
    S3Progress,
    TrailBatch,
    _Selector,
)
from tui.models.cloudtrail import (
    ParseResult,
    SourceKind,
    iter_trail_path,
    parse_lookup_response,
    read_trail_bytes,
)
from tui.models.trailfilter import FolderScope, TrailFilter
from tui.models.trailscan import DeliveryScan, FileScan, delivery_text

if TYPE_CHECKING:
    from tui.aws.session import Aws
    from tui.models.timewindow import TimeWindow

__all__ = [
    "DELIVERY_LAG",
    "GLOBAL_REGION",
    "LOOKUP_PAGE_SIZE",
    "S3_PARALLEL",
    "S3Progress",
    "TrailBatch",
    "TrailFollower",
    "TrailSource",
    "fanout_regions",
    "parse_source",
    "stream_local",
    "stream_lookup",
    "stream_s3",
    "stream_source",
    "watermark",
]

LOOKUP_PAGE_SIZE: Final = 50
"""LookupEvents MaxResults (the API's maximum)."""

GLOBAL_REGION: Final = "us-east-1"
"""Where CloudTrail records events of global services in the aws partition (see global_region)."""

DELIVERY_LAG: Final = timedelta(minutes=15)
"""CloudTrail delivers events within about 15 minutes; newer parts of the window may still fill."""

MAX_OBJECT_BYTES: Final = 256 << 20
"""A compressed trail object larger than this is counted as bad instead of downloaded."""

S3_PARALLEL: Final = 8
"""Trail objects downloaded and parsed at once (and S3 folders listed at once). The reads wait
on the network, the parses run in threads; the rate limiter and the meter see every request."""

_T = TypeVar("_T")
_A = TypeVar("_A")
_MAX_CHILD_FOLDERS: Final = 50  # folders of a bucket searched for AWSLogs/ one level down
_MAX_NOTES: Final = 20
# CloudTrail log file names carry their delivery time: ..._CloudTrail_us-east-1_20260314T0915Z_x.json.gz
_FILE_TIME_RE: Final = re.compile(r"_(\d{8}T\d{4})Z_")
_ACCOUNT_RE: Final = re.compile(r"^\d{12}$")
_ORG_RE: Final = re.compile(r"^o-[a-z0-9]{10,32}$")


@dataclass(frozen=True, slots=True)
class TrailSource:
    """A parsed ``--source``/``--trail-source`` value.

    Attributes:
        kind: ``lookup``, ``s3`` or ``local``.
        location: ``s3://bucket/prefix``, a trail name or ARN (or "" for "the first trail"), or
            the local path.
    """

    kind: Literal["lookup", "s3", "local", "cwl"]
    location: str = ""

    @property
    def label(self) -> str:
        """Short text for the status line."""
        if self.kind == "lookup":
            return "LookupEvents"
        if self.kind == "s3":
            return self.location or "trail S3 files"
        if self.kind == "cwl":
            return f"cwl:{self.location}"
        return Path(self.location).name or self.location

    @property
    def live(self) -> bool:
        """True when new events can appear (follow mode makes sense)."""
        return self.kind != "local"


def parse_source(text: str | None) -> TrailSource:
    """Read a source choice: ``lookup`` (default), ``s3://bucket/prefix``, ``s3`` or
    ``trail:NAME`` (the trail's bucket, from DescribeTrails), ``cwl:GROUP`` (the trail's log
    group in CloudWatch Logs), or a local file or folder.

    Raises:
        InvalidRequestError: an ``s3://`` URI without a bucket.
    """
    value = (text or "").strip()
    if not value or value.lower() == "lookup":
        return TrailSource("lookup")
    if value.lower().startswith("s3://"):
        bucket, _, _prefix = value[5:].partition("/")
        if not bucket:
            raise InvalidRequestError(
                f"{value!r} names no bucket.", hint="Example: --source s3://my-trail-bucket/prefix"
            )
        return TrailSource("s3", "s3://" + value[5:])
    if value.lower() == "s3":
        return TrailSource("s3", "")
    if value.lower().startswith("trail:"):
        return TrailSource("s3", value)
    if value.lower().startswith("cwl:"):  # a trail delivered to CloudWatch Logs (trailcwl.py)
        if not value[4:].strip():
            raise InvalidRequestError(
                f"{value!r} names no log group.", hint="Example: --source cwl:/aws/cloudtrail/org"
            )
        return TrailSource("cwl", value[4:].strip())
    return TrailSource("local", str(Path(value).expanduser()))


@functools.cache
def _global_regions() -> tuple[tuple[re.Pattern[str], str], ...]:
    """(region pattern, global region) per partition, from botocore's endpoint data.

    A partition's global services (IAM above all) sign in one region, and CloudTrail records
    their events there: us-east-1 in aws, us-gov-west-1 in aws-us-gov, cn-north-1 in aws-cn.
    That region is IAM's global endpoint's credential scope; partitions without one use their
    implicit global region.
    """
    from botocore.loaders import create_loader

    loader = create_loader()
    implicit: dict[str, str] = {}
    with contextlib.suppress(Exception):  # older botocore: no partitions.json
        for part in loader.load_data("partitions").get("partitions", []):
            region = part.get("outputs", {}).get("implicitGlobalRegion")
            if region:
                implicit[str(part.get("id"))] = str(region)
    out: list[tuple[re.Pattern[str], str]] = []
    for part in loader.load_data("endpoints").get("partitions", []):
        iam = part.get("services", {}).get("iam", {})
        endpoint = iam.get("endpoints", {}).get(iam.get("partitionEndpoint", ""), {})
        region = endpoint.get("credentialScope", {}).get("region") or implicit.get(
            part.get("partition", "")
        )
        if region and part.get("regionRegex"):
            out.append((re.compile(part["regionRegex"]), str(region)))
    return tuple(out)


def global_region(region: str) -> str | None:
    """Where CloudTrail records global-service events for ``region``'s partition (None: unknown)."""
    for pattern, where in _global_regions():
        if pattern.match(region):
            return where
    return None


def fanout_regions(regions: Iterable[str], *, global_events: bool = True) -> list[str]:
    """The selected regions, in order, plus their partition's global region, without repeats."""
    out = list(dict.fromkeys(r for r in regions if r))
    extra = global_region(out[0]) if global_events and out else None
    if extra and extra not in out:
        out.append(extra)
    return out


def watermark(source: TrailSource, now: datetime, window: TimeWindow | None) -> datetime | None:
    """Time up to which the window is complete (events arrive up to 15 minutes late).

    Returns None for local files (they do not grow).
    """
    if source.kind == "local":
        return None
    mark = now - DELIVERY_LAG
    if window is not None and window.end < mark:
        return window.end
    return mark


# ------------------------------------------------------------------------------------- helpers


def _notes(reasons: Iterable[str]) -> tuple[str, ...]:
    return tuple(list(reasons)[:_MAX_NOTES])


# ------------------------------------------------------------------------------------ LookupEvents


def lookup_params(start: datetime, end: datetime, flt: TrailFilter | None) -> dict[str, Any]:
    """The LookupEvents request: time range, MaxResults 50, and at most one lookup attribute."""
    params: dict[str, Any] = {"StartTime": start, "EndTime": end, "MaxResults": LOOKUP_PAGE_SIZE}
    attribute = flt.lookup_attribute() if flt is not None else None
    if attribute is not None:
        key, value = attribute
        params["LookupAttributes"] = [{"AttributeKey": key, "AttributeValue": value}]
    return params


async def _lookup_region(
    aws: Aws,
    region: str,
    start: datetime,
    end: datetime,
    flt: TrailFilter | None,
    max_pages: int | None,
) -> AsyncIterator[tuple[str, dict[str, Any] | HamariError]]:
    """One region's pages; its failure is yielded (after its pages), not raised: the other
    regions' events must still show."""
    params = lookup_params(start, end, flt)
    try:
        async for page in aws.pages(
            "cloudtrail", "LookupEvents", region=region, max_pages=max_pages, **params
        ):
            yield region, page
    except HamariError as err:
        yield region, err


def region_note(region: str, err: HamariError, home: str = "") -> str:
    """One line for a region that could not be read, e.g. ``us-east-1: not reachable (…)``.

    ``home``: the session's region, where refused credentials are the session's own (an
    expired token), not another partition's.
    """
    if isinstance(err, EndpointUnreachableError) or err.transient:
        what = "not reachable"
    elif isinstance(err, CredentialsError) and region == home:
        what = "credentials refused"
    elif isinstance(err, CredentialsError):
        what = "refused the credentials (another partition, or the region is not enabled)"
    else:
        what = err.title.lower()
    return f"{region}: {what}: {err.message}"


async def _merge(iterators: list[AsyncIterator[_T]]) -> AsyncIterator[_T]:
    """Interleave several page iterators as pages arrive; an exception stops them all (the
    regions hand their AWS failures over as items instead)."""
    if len(iterators) == 1:
        async for item in iterators[0]:
            yield item
        return
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=8)

    async def pump(it: AsyncIterator[_T]) -> None:
        try:
            async for item in it:
                await queue.put(("item", item))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the consumer, raised there
            await queue.put(("error", exc))
            return
        await queue.put(("end", None))

    tasks = [asyncio.create_task(pump(it)) for it in iterators]
    running = len(tasks)
    try:
        while running:
            kind, payload = await queue.get()
            if kind == "item":
                yield payload
            elif kind == "end":
                running -= 1
            else:
                raise payload
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def stream_lookup(
    aws: Aws,
    window: TimeWindow,
    flt: TrailFilter | None = None,
    *,
    regions: Sequence[str] = (),
    max_pages: int | None = None,
    seen: set[str] | None = None,
) -> AsyncIterator[TrailBatch]:
    """Stream LookupEvents pages over ``window`` in the selected regions plus us-east-1.

    Args:
        aws: the open AWS access point (it spaces LookupEvents at 2 requests/s per region).
        window: the time range (sent as StartTime/EndTime).
        flt: the filter; its best exact term is pushed as the one lookup attribute, and the whole
            filter is applied to what comes back.
        regions: the selected regions (default: the session's region).
        max_pages: stop each region after this many pages (None: read to the end).
        seen: event keys already known (follow mode); updated in place.

    Yields:
        One batch per page, then a final ``done`` batch.

    Raises:
        HamariError: e.g. AccessDeniedError naming cloudtrail:LookupEvents, after the batches
            already yielded.
    """
    chosen = list(regions or [aws.region])
    selected = fanout_regions(chosen, global_events=aws.conn.global_events)
    selector = _Selector(window, flt, seen)
    iterators = [
        _lookup_region(aws, region, window.start, window.end, flt, max_pages) for region in selected
    ]
    failed: list[HamariError] = []
    async for region, page in _merge(iterators):
        if isinstance(page, HamariError):
            # Each region fails on its own: a note beside the other regions' events. A region
            # the user chose raises at the end (the pane shows why); the added global region
            # never does.
            if region in chosen:
                failed.append(page)
            note = region_note(region, page, aws.region)
            yield TrailBatch([], 0, f"lookup {region}", 0, False, region_errors=(note,))
            continue
        events, bad = parse_lookup_response(page)
        yield TrailBatch(
            events=selector.take(events),
            bad=len(bad),
            source=f"lookup {region}",
            pages=1,
            done=False,
            scanned=len(events),
            duplicates=selector.last_folded,
            notes=_notes(f"{region}: entry {b.index}: {b.reason}" for b in bad),
        )
    if failed:
        raise failed[0]
    yield TrailBatch([], 0, "lookup", 0, True)


# ------------------------------------------------------------------------------------------- S3


@dataclass(frozen=True, slots=True)
class _S3Location:
    bucket: str
    prefix: str  # "" or ending with "/"


def _folder(prefix: str) -> str:
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def _split_s3(uri: str) -> _S3Location:
    bucket, _, prefix = uri[5:].partition("/")
    return _S3Location(bucket, _folder(prefix))


def _s3_uri(bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix}"


async def _describe_trails(aws: Aws) -> list[dict[str, Any]]:
    resp = await aws.call("cloudtrail", "DescribeTrails", includeShadowTrails=True)
    return [t for t in resp.get("trailList", []) if isinstance(t, dict)]


async def _trail_location(aws: Aws, name: str) -> _S3Location:
    """Where a trail's files are (by name or ARN, or the first trail when ``name`` is ""):
    its bucket, and its key prefix (S3KeyPrefix) followed by ``AWSLogs/``."""
    wanted = name.removeprefix("trail:")
    for trail in await _describe_trails(aws):
        if wanted and wanted not in (trail.get("Name"), trail.get("TrailARN")):
            continue
        bucket = trail.get("S3BucketName")
        if bucket:
            return _S3Location(
                str(bucket), _folder(str(trail.get("S3KeyPrefix") or "")) + "AWSLogs/"
            )
    raise NotFoundError(
        f"No CloudTrail trail {'named ' + repr(wanted) + ' ' if wanted else ''}delivers to S3 "
        "in this account and region.",
        hint="Give the bucket with --source s3://BUCKET/PREFIX, or use --source lookup.",
        service="cloudtrail",
        operation="DescribeTrails",
    )


def _s3_listing(aws: Aws, bucket: str, prefix: str, **extra: Any) -> AsyncIterator[dict[str, Any]]:
    """The ListObjectsV2 pages under ``prefix`` (``Delimiter="/"`` for the folders only)."""
    return aws.pages(
        "s3",
        "ListObjectsV2",
        token_in="ContinuationToken",
        token_out="NextContinuationToken",
        Bucket=bucket,
        Prefix=prefix,
        **extra,
    )


async def _common_prefixes(aws: Aws, bucket: str, prefix: str) -> list[str]:
    out: list[str] = []
    async for page in _s3_listing(aws, bucket, prefix, Delimiter="/"):
        for item in page.get("CommonPrefixes") or []:
            value = item.get("Prefix")
            if isinstance(value, str):
                out.append(value)
    return out


def _days(start: datetime, end: datetime) -> list[datetime]:
    """UTC days from ``start`` to ``end`` plus the delivery lag (files are dated on delivery)."""
    day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    last = (end + DELIVERY_LAG).astimezone(UTC)
    out = []
    while day <= last:
        out.append(day)
        day += timedelta(days=1)
    return out


async def _account_roots(
    aws: Aws, loc: _S3Location, searched: list[str], accounts: FolderScope | None = None
) -> list[str]:
    """``.../AWSLogs/[o-…/]{account}/`` roots to read, in the default or the organization layout.

    ``accounts`` (the filter's ``account:`` terms) narrows them; without it an organization
    folder gives every member account and the default layout this account's folder when it is
    there (else every account). Every ``AWSLogs/`` folder listed is added to ``searched`` (for
    "nothing found" messages).
    """
    base = loc.prefix
    if "CloudTrail/" in base:
        return [base.split("CloudTrail/", 1)[0]]
    if "AWSLogs/" not in base:
        base += "AWSLogs/"
    tail = [part for part in base.split("AWSLogs/", 1)[1].split("/") if part]
    if tail and _ACCOUNT_RE.match(tail[-1]):
        return [base]
    searched.append(_s3_uri(loc.bucket, base))
    if tail and _ORG_RE.match(tail[-1]):
        return await _org_accounts(aws, loc.bucket, base, accounts)
    plain: list[str] = []
    org: list[str] = []
    for child in await _common_prefixes(aws, loc.bucket, base):
        last = child.rstrip("/").rsplit("/", 1)[-1]
        if _ACCOUNT_RE.match(last):
            plain.append(child)
        elif _ORG_RE.match(last):
            org += await _org_accounts(aws, loc.bucket, child, accounts)
    return _pick_accounts(aws, plain, accounts) + org


async def _org_accounts(aws: Aws, bucket: str, org: str, accounts: FolderScope | None) -> list[str]:
    """The member account roots of an organization folder (``…/AWSLogs/o-…/``) to read.

    Accounts the filter spells out are read without listing the organization's folder (it may
    hold a thousand accounts); otherwise every member account that the filter can match.
    """
    if accounts is not None and accounts.exact is not None:
        return [f"{org}{a}/" for a in sorted(accounts.exact) if _ACCOUNT_RE.match(a)]
    children = await _common_prefixes(aws, bucket, org)
    return [
        c
        for c in children
        if _ACCOUNT_RE.match(name := _last(c)) and (accounts is None or accounts.match(name))
    ]


async def _trail_prefixes(aws: Aws, bucket: str) -> list[str]:
    """``{S3KeyPrefix}/AWSLogs/`` of this account's trails that deliver to ``bucket``.

    Empty when DescribeTrails is not allowed or no trail of this account writes there (a
    central bucket of another account): the bucket itself is searched then.
    """
    try:
        trails = await _describe_trails(aws)
    except (AccessDeniedError, NotFoundError, InvalidRequestError):
        return []
    found = [
        _folder(str(t.get("S3KeyPrefix") or "")) + "AWSLogs/"
        for t in trails
        if t.get("S3BucketName") == bucket
    ]
    return list(dict.fromkeys(found))


async def _find_roots(
    aws: Aws, loc: _S3Location, searched: list[str], accounts: FolderScope | None = None
) -> list[str]:
    """The account roots under ``s3://bucket/prefix``, wherever the trail's key prefix put them.

    A prefix that names ``AWSLogs/`` or ``CloudTrail/`` is read as given. Otherwise the key
    prefix of this account's trails into the bucket (DescribeTrails) and ``prefix/AWSLogs/``
    are both read (a shared log bucket holds other services' ``AWSLogs/`` at the top and the
    trail's under its prefix), and when neither exists ``prefix/<each folder>/AWSLogs/`` one
    level down: a trail with S3KeyPrefix ``cloudtrail`` writes under ``cloudtrail/AWSLogs/``.
    """
    if "AWSLogs/" in loc.prefix or "CloudTrail/" in loc.prefix:
        return await _account_roots(aws, loc, searched, accounts)
    known = [p for p in await _trail_prefixes(aws, loc.bucket) if p.startswith(loc.prefix)]
    roots: list[str] = []
    for prefix in [*known, loc.prefix + "AWSLogs/"]:
        if _s3_uri(loc.bucket, prefix) not in searched:
            roots += await _account_roots(aws, _S3Location(loc.bucket, prefix), searched, accounts)
    if roots:
        return list(dict.fromkeys(roots))
    children = [
        c for c in await _common_prefixes(aws, loc.bucket, loc.prefix) if not c.endswith("AWSLogs/")
    ]
    for child in children[:_MAX_CHILD_FOLDERS]:
        if _s3_uri(loc.bucket, child + "AWSLogs/") not in searched:
            roots += await _account_roots(aws, _S3Location(loc.bucket, child), searched, accounts)
    if len(children) > _MAX_CHILD_FOLDERS:
        searched.append(
            f"(not the other {len(children) - _MAX_CHILD_FOLDERS} folders of "
            f"{_s3_uri(loc.bucket, loc.prefix)})"
        )
    return list(dict.fromkeys(roots))


def _listing(places: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(places[:limit])
    more = len(places) - limit
    return f"{shown} and {more} more" if more > 0 else shown or "nothing"


def _last(prefix: str) -> str:
    """The last folder name of ``a/b/c/``: ``c``."""
    return prefix.rstrip("/").rsplit("/", 1)[-1]


def _pick_accounts(aws: Aws, children: list[str], accounts: FolderScope | None) -> list[str]:
    """Account roots of the default layout: those the filter can match, else this account's
    (a bucket other accounts' trails deliver to as well), else all of them."""
    found = [c for c in children if _ACCOUNT_RE.match(_last(c))]
    if accounts is not None:
        return [c for c in found if accounts.match(_last(c))]
    mine = [c for c in found if _last(c) == aws.account]
    return mine or found


def _is_org_root(root: str) -> bool:
    return any(_ORG_RE.match(part) for part in root.split("/"))


async def _bounded(items: Sequence[_A], fn: Callable[[_A], Awaitable[_T]], limit: int) -> list[_T]:
    """``fn`` over ``items`` with at most ``limit`` running, results in the items' order; the
    first failure cancels the rest and is raised as itself."""
    gate = asyncio.Semaphore(limit)

    async def one(item: _A) -> _T:
        async with gate:
            return await fn(item)

    tasks = [asyncio.create_task(one(item)) for item in items]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _file_time(key: str) -> datetime | None:
    match = _FILE_TIME_RE.search(key)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%dT%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None


def object_overlaps(key: str, start: datetime, end: datetime) -> bool:
    """True when a log file delivered at the time in its name can hold events of the window."""
    if "CloudTrail-Digest" in key:
        return False
    delivered = _file_time(key)
    if delivered is None:
        return True
    return start <= delivered <= end + DELIVERY_LAG + timedelta(minutes=5)


async def _root_regions(
    aws: Aws,
    bucket: str,
    root: str,
    fanout: Sequence[str],
    regions: FolderScope | None,
) -> list[str]:
    """The region folders to read under one account root.

    Regions the filter spells out are read as given; a region glob, and an organization root
    with no ``region:`` term, read every region folder there is (one delimiter listing: an org
    trail records every region of every member); the default layout reads the session's
    regions (``fanout``).
    """
    if regions is not None and regions.exact is not None:
        return sorted(regions.exact)
    if regions is None and not _is_org_root(root):
        return list(fanout)
    found = [_last(p) for p in await _common_prefixes(aws, bucket, f"{root}CloudTrail/")]
    return [r for r in found if regions is None or regions.match(r)]


async def _list_keys(
    aws: Aws,
    bucket: str,
    roots: Sequence[str],
    window: TimeWindow,
    regions: Sequence[str],
    scope: FolderScope | None = None,
    *,
    parallel: int = S3_PARALLEL,
) -> list[tuple[str, int]]:
    """Keys and sizes of the log files of the window: one listing per (account, region, day)
    folder, ``parallel`` at a time, in that order (so the read order is the same every run)."""
    per_root = await _bounded(
        roots, lambda root: _root_regions(aws, bucket, root, regions, scope), parallel
    )
    prefixes = [
        f"{root}CloudTrail/{region}/{day:%Y/%m/%d}/"
        for root, names in zip(roots, per_root, strict=True)
        for region in names
        for day in _days(window.start, window.end)
    ]

    async def listed(prefix: str) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        async for page in _s3_listing(aws, bucket, prefix):
            for item in page.get("Contents") or []:
                key = item.get("Key")
                if isinstance(key, str) and object_overlaps(key, window.start, window.end):
                    found.append((key, int(item.get("Size") or 0)))
        return found

    return [key for keys in await _bounded(prefixes, listed, parallel) for key in keys]


async def _fetch_object(
    aws: Aws, bucket: str, key: str, size: int, scan: DeliveryScan | None = None
) -> ParseResult | FileScan:
    name = f"s3://{bucket}/{key}"
    if size > MAX_OBJECT_BYTES:
        return ParseResult(name, SourceKind.BAD, reason=f"object too large ({size} bytes)")
    try:
        resp = await aws.call("s3", "GetObject", Bucket=bucket, Key=key)
    except NotFoundError as err:
        return ParseResult(name, SourceKind.BAD, reason=err.message)
    body = resp["Body"]
    chunks: list[bytes] = []
    total = 0
    try:
        async with asyncio.timeout(aws.conn.call_timeout):
            while True:
                chunk = await body.read(1 << 20)
                if not chunk:
                    break
                total += len(chunk)
                if total > MAX_OBJECT_BYTES:
                    return ParseResult(name, SourceKind.BAD, reason="object too large")
                chunks.append(chunk)
    except TimeoutError:
        return ParseResult(name, SourceKind.BAD, reason="download timed out")
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    aws.meter.add("s3_bytes", total)
    # Decompression and JSON parsing are CPU work: off the event loop.
    return await asyncio.to_thread(read_object, b"".join(chunks), name, scan)


def read_object(data: bytes, name: str, scan: DeliveryScan | None) -> ParseResult | FileScan:
    """One file or object: through the fast route when given one and it can, else read whole."""
    if scan is not None:
        text = delivery_text(name, data)
        found = scan.scan(text) if text is not None else None
        if found is not None:
            return found
    return read_trail_bytes(data, name)


def batch_from_scan(scan: FileScan, name: str, selector: _Selector) -> TrailBatch:
    """A fast-route file's batch: its kept records windowed and folded by the stream's selector."""
    selector.last_folded = 0
    kept = [m for m in scan.matches() if selector.admit_stamp(m.key, m.stamp)]
    notes = _notes(f"{name}: {note}" for note in scan.notes)
    fate = READ
    skipped: tuple[str, ...] = ()
    if not scan.scanned and scan.bad:  # as the whole read says it (batch_from_result)
        fate = NO_RECORD
        records = "record" if scan.bad == 1 else "records"
        why = scan.notes[0].partition(": ")[2] if scan.notes else "not a CloudTrail event"
        skipped = (f"{name}: {scan.bad} {records}, none readable: {why}",)
    return TrailBatch(
        [], scan.bad, name, 1, False, scan.scanned, notes=notes,
        duplicates=selector.last_folded, kept=kept, fate=fate, skipped=skipped,
    )  # fmt: skip


def batch_from_result(
    result: ParseResult, selector: _Selector, source: str | None = None, *, read: int | None = None
) -> TrailBatch:
    """One file's batch; a file (or archive member) not read gets one line saying why.

    ``read``: how many events the file had when they are not in ``result.events`` (a worker
    stored them, see :func:`tui.aws.trailfiles.stream_files`).
    """
    skipped: list[str] = []
    scanned = len(result.events) if read is None else read
    fate = SKIPPED if result.skipped else UNREADABLE if result.bad_file else READ
    if result.skipped or result.bad_file:
        skipped.append(f"{result.name}: {result.reason or result.kind.value}")
    elif not scanned and result.bad_samples:
        count = result.bad_count
        why = result.bad_samples[0].reason
        skipped.append(f"{result.name}: {count} record{'s' * (count != 1)}, none readable: {why}")
        fate = NO_RECORD
    skipped += [f"{result.name}!{part}" for part in result.skipped_parts]
    notes = [f"{result.name}: record {b.index}: {b.reason}" for b in result.bad_samples[:3]]
    events = selector.take(result.events)
    return TrailBatch(
        events=events,
        bad=result.bad_count,
        source=source or result.name,
        pages=0 if result.skipped else 1,
        done=False,
        scanned=scanned,
        bad_files=1 if result.bad_file else 0,
        notes=_notes(notes),
        duplicates=selector.last_folded,
        skipped=tuple(skipped),
        fate=fate,
        parts_skipped=len(result.skipped_parts),
    )


async def stream_s3(
    aws: Aws,
    uri_or_trail: str,
    window: TimeWindow,
    flt: TrailFilter | None = None,
    *,
    regions: Sequence[str] = (),
    seen: set[str] | None = None,
    empty_ok: bool = False,
    parallel: int = S3_PARALLEL,
    fast: bool = False,
    read: set[str] | None = None,
) -> AsyncIterator[TrailBatch]:
    """Stream the trail's S3 log files that overlap ``window``, one batch per object.

    Args:
        aws: the open AWS access point.
        uri_or_trail: ``s3://bucket/prefix``, or a trail name/ARN (``trail:NAME``), or "" for the
            first trail that DescribeTrails lists.
        window: only objects whose day, region and delivery time overlap it are downloaded, and
            only events inside it are kept.
        flt: applied to every event; its ``account:`` and ``region:`` terms also choose the
            account and region folders listed (see :meth:`TrailFilter.folder_scope`).
        regions: regions whose files are read in the default layout when the filter names
            none (default: the session's region plus its partition's global region). An
            organization layout (``AWSLogs/o-…/``) reads every region folder of every member
            account unless the filter's ``account:``/``region:`` terms narrow it.
        seen: EventIds already known; updated in place.
        empty_ok: no file in the window is normal (a follow poll over the last minutes).
        parallel: objects downloaded and parsed at once (1: one after another).
        fast: decode only the records the filter can match (``tui.models.trailscan``); they
            come in ``kept``, not ``events`` (``hamari trail``; the pane needs every event).
        read: the keys of the objects already handed over (updated in place), when the
            caller keeps what they held: a load that failed part-way (an S3 500 that outlasted
            the retries) and is resumed, or a follow poll after it. Those objects are not
            downloaded and counted again (objects never change once delivered) but shown as
            done in ``progress``; ``seen`` then holds the events they held, and a copy of one
            met in another object is counted as a duplicate, as one stream would have.

    Yields:
        A batch with the listing's totals (``progress``), one batch per object (digests are
        never listed) with the progress so far, then a final ``done`` batch.

    Raises:
        NotFoundError: no CloudTrail layout under the location (naming every folder searched),
            or, unless ``empty_ok``, no log file delivered in the window (naming where).
    """
    if uri_or_trail.lower().startswith("s3://"):
        loc = _split_s3(uri_or_trail)
    else:
        loc = await _trail_location(aws, uri_or_trail)
    selector = _Selector(window, flt, seen, resumed=bool(read))
    searched: list[str] = []
    accounts = flt.folder_scope("account") if flt is not None else None
    region_scope = flt.folder_scope("region") if flt is not None else None
    roots = await _find_roots(aws, loc, searched, accounts)
    if not roots and accounts is None:
        raise NotFoundError(
            f"No CloudTrail files in {_s3_uri(loc.bucket, loc.prefix)}: looked for "
            f"AWSLogs/<account>/CloudTrail/ in {_listing(searched)}.",
            hint="Give the trail's key prefix (its S3KeyPrefix): --source "
            f"s3://{loc.bucket}/PREFIX/, or the trail itself: --source trail:NAME.",
            service="s3",
            operation="ListObjectsV2",
        )
    chosen = fanout_regions(regions or [aws.region], global_events=aws.conn.global_events)
    keys = await _list_keys(aws, loc.bucket, roots, window, chosen, region_scope, parallel=parallel)
    if not keys and not empty_ok:
        names = ",".join(chosen) if region_scope is None else "<the filter's regions>"
        where = [f"{_s3_uri(loc.bucket, root)}CloudTrail/{{{names}}}/" for root in roots]
        if not roots:
            where = [f"{_s3_uri(loc.bucket, loc.prefix)} (no account folder the filter matches)"]
        raise NotFoundError(
            f"No CloudTrail log file delivered {window.start:%Y-%m-%d %H:%M} - "
            f"{window.end:%Y-%m-%d %H:%M} UTC in {_listing(where)}.",
            hint="Widen the window (--since), choose the region the trail records (--region, "
            "or region: in the filter), or read Event history instead (--source lookup).",
            service="s3",
            operation="ListObjectsV2",
        )
    source = f"s3://{loc.bucket}/{loc.prefix}"
    total_bytes = sum(size for _, size in keys)
    before = {key for key, _ in keys} & read if read else set()
    earlier = sum(size for key, size in keys if key in before)
    keys = [(key, size) for key, size in keys if key not in before]
    gate = asyncio.Semaphore(max(1, parallel))
    scan = DeliveryScan(flt) if fast else None

    async def fetch(key: str, size: int) -> ParseResult | FileScan:
        async with gate:
            return await _fetch_object(aws, loc.bucket, key, size, scan)

    # Up to twice the parallelism is started ahead, and results are handed over in the
    # listing's order (account, region, day, delivery time): the same order every run, so
    # which copy of a duplicate is kept does not depend on the network. When an object fails
    # (past the retries), the objects already on their way are still handed over, then the
    # error is raised: what was downloaded is shown, and a resumed load reads only the rest.
    pending: deque[tuple[str, int, asyncio.Task[ParseResult | FileScan]]] = deque()
    position = done = done_bytes = events = 0
    failure: BaseException | None = None
    started = time.monotonic()
    listed = len(keys) + len(before)
    yield TrailBatch(
        [], 0, source, 0, False,
        progress=S3Progress(len(before), listed, earlier, total_bytes, 0, 0.0, earlier=earlier),
    )  # fmt: skip
    try:
        while position < len(keys) or pending:
            while failure is None and position < len(keys) and len(pending) < 2 * max(1, parallel):
                key, size = keys[position]
                pending.append((key, size, asyncio.create_task(fetch(key, size))))
                position += 1
            if not pending:
                break
            key, size, task = pending.popleft()
            try:
                result = await task
            except HamariError as exc:
                failure = failure or exc
                continue
            done += 1
            done_bytes += size
            if isinstance(result, FileScan):
                events += result.scanned
                batch = batch_from_scan(result, f"s3://{loc.bucket}/{key}", selector)
            else:
                events += len(result.events)
                batch = batch_from_result(result, selector)
            progress = S3Progress(
                len(before) + done, listed, earlier + done_bytes, total_bytes, events,
                time.monotonic() - started, earlier=earlier,
            )  # fmt: skip
            if read is not None:
                read.add(key)
            yield dataclasses.replace(batch, progress=progress)
    finally:
        for _, _, task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*(task for _, _, task in pending), return_exceptions=True)
    if failure is not None:
        raise failure
    yield TrailBatch([], 0, source, 0, True)


# ---------------------------------------------------------------------------------------- local


def require_path(path: str) -> None:
    """Raise NotFoundError (with the fix) when a local trail file or folder does not exist."""
    if not Path(path).exists():
        raise NotFoundError(
            f"No such file or folder: {path}",
            hint="Give a CloudTrail file (.json or .json.gz) or a folder of them.",
        )


async def stream_local(
    path: str,
    window: TimeWindow | None = None,
    flt: TrailFilter | None = None,
    *,
    seen: set[str] | None = None,
) -> AsyncIterator[TrailBatch]:
    """Stream a local trail file or folder, one batch per file (read in a thread).

    Args:
        path: a file or folder: ``{"Records": [...]}`` (plain or .gz), NDJSON (also from log
            pipelines: ``@timestamp``, Elastic Common Schema, wrapped events), LookupEvents
            output, zip archives of those, or the console's Event history CSV.
        window: keep only events inside it (None: every event).
        flt: applied to every event.
        seen: event keys already known; updated in place.

    Raises:
        NotFoundError: the path does not exist.
    """
    require_path(path)
    selector = _Selector(window, flt, seen)
    files = iter_trail_path(path)
    end = object()
    while True:
        result = await asyncio.to_thread(next, files, end)
        if result is end:
            break
        assert isinstance(result, ParseResult)
        yield batch_from_result(result, selector)
    yield TrailBatch([], 0, path, 0, True)


def stream_source(
    aws: Aws | None,
    source: TrailSource,
    window: TimeWindow | None,
    flt: TrailFilter | None = None,
    *,
    regions: Sequence[str] = (),
    max_pages: int | None = None,
    seen: set[str] | None = None,
    empty_ok: bool = False,
    fast: bool = False,
    read: set[str] | None = None,
) -> AsyncIterator[TrailBatch]:
    """The stream for a parsed source (``aws`` may be None for local files).

    ``empty_ok``: a window without S3 files is no error (follow polls); ``fast``: S3 objects
    through the fast route; ``read``: the S3 objects a failed load already handed over (see
    :func:`stream_s3`; other sources read again from the start). A pane's big local loads go through
    :func:`tui.aws.trailfiles.stream_files` instead.
    """
    if source.kind == "local":
        return stream_local(source.location, window, flt, seen=seen)
    assert aws is not None and window is not None
    if source.kind == "cwl":
        from tui.aws.trailcwl import stream_cwl

        return stream_cwl(aws, source.location, window, flt, seen=seen)
    if source.kind == "s3":
        return stream_s3(
            aws, source.location, window, flt, regions=regions, seen=seen, empty_ok=empty_ok,
            fast=fast, read=read,
        )  # fmt: skip
    return stream_lookup(aws, window, flt, regions=regions, max_pages=max_pages, seen=seen)


# ----------------------------------------------------------------------------------- follow mode


@dataclass
class TrailFollower:
    """Polls the newest part of a live window, returning only events not seen before.

    Each poll re-reads from ``last poll - DELIVERY_LAG`` (late deliveries land there) to now; the
    ``seen`` set drops what was already shown. S3 objects never change once delivered: those
    in ``read`` (the load's, and each poll's) are not downloaded again, so a poll reads and
    counts only the files delivered since, and a known event met in one is a copy.

    Attributes:
        source: where to read.
        regions: selected regions (us-east-1 is added).
        seen: keys of the events already shown (share the pane's set).
        read: S3 objects already read (share the load's set); None: read again every poll.
        last_end: end of the previous poll (None before the first).
    """

    source: TrailSource
    regions: Sequence[str] = ()
    seen: set[str] = field(default_factory=set)
    read: set[str] | None = None
    last_end: datetime | None = None
    lag: timedelta = DELIVERY_LAG

    def span(self, window: TimeWindow, now: datetime) -> tuple[datetime, datetime]:
        """The part of the window the next poll reads."""
        start = (
            window.start
            if self.last_end is None
            else max(window.start, self.last_end - self.lag - timedelta(minutes=1))
        )
        return start, max(start, min(now, window.end) if not window.live else now)

    async def poll(
        self, aws: Aws | None, window: TimeWindow, now: datetime, flt: TrailFilter | None = None
    ) -> AsyncIterator[TrailBatch]:
        """Yield the new events (known keys dropped) of the newest part of the window."""
        from tui.models.timewindow import TimeWindow as _Window

        start, end = self.span(window, now)
        part = _Window(start, end, live=False)
        async for batch in stream_source(
            aws, self.source, part, flt, regions=self.regions, seen=self.seen, empty_ok=True,
            read=self.read,
        ):  # fmt: skip
            yield batch
        self.last_end = end

    def complete_up_to(self, window: TimeWindow, now: datetime) -> datetime | None:
        """The watermark for the status line."""
        return watermark(self.source, now, window)
