"""``hamari flows``: VPC flow records, filtered and aggregated, for pipes, tickets and the bastion.

Incident 3 in one command: ``hamari flows --filter 'action=REJECT' --aggregate rejects-by-az``
shows every REJECT sitting in the other AZ, and ``--explain`` names the NACL rule that drops each
one. Records are written as they arrive (one CloudWatch page or S3 object at a time), so a pipe to
``head`` or ``jq`` starts at once; counts, data-loss warnings and the filter pattern actually sent
go to stderr so stdout stays machine-readable. Neither textual nor rich is imported on this path:
start-up time is part of beating ``zcat | gawk``.
"""

from __future__ import annotations

import argparse
import csv
import functools
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring as _esc
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from tui.models.flowagg import AGGREGATIONS, AggRow, aggregate
from tui.models.flowfilter import FilterError, FlowFilter, parse_filter
from tui.models.flowlog import (
    FIELDS,
    FIELDS_BY_ATTR,
    FlowRecord,
    ParseStats,
    parse_log_format,
    parse_source,
)
from tui.models.flowscan import RawBlock
from tui.models.text import display_safe, json_terminal_safe
from tui.models.timewindow import TimeWindow
from tui.models.writers import csv_cell, ndjson_line, write_table
from tui.settings import Settings
from tui.verbs import fail, verb

if TYPE_CHECKING:
    from tui.aws.flowlogs import FlowBatch
    from tui.aws.session import Aws
    from tui.models.network import Topology

# The AWS layer (aiobotocore, asyncio) is imported only when a source needs AWS: a local file
# with --filter is a pipe stage, and its start-up is part of every run.

#: Columns of csv output (and the record part of ndjson is every field of the format).
CSV_COLUMNS = (
    "start",
    "end",
    "interface_id",
    "where",
    "srcaddr",
    "srcport",
    "dstaddr",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "action",
    "log_status",
    "az_id",
    "flow_direction",
    "tcp_flags",
    "explain",
    "source",
)

# Table: (title, width). Fixed widths so rows can be printed as they arrive.
_TABLE = (
    ("TIME", 19),
    ("INTERFACE", 21),
    ("WHERE", 44),
    ("SRC", 15),
    ("SPORT", 5),
    ("DST", 15),
    ("DPORT", 5),
    ("PROTO", 5),
    ("PKTS", 6),
    ("BYTES", 8),
    ("ACTION", 6),
)
AGG_COLUMNS = ("label", "flows", "rejects", "accepts", "packets", "bytes")


def _time(epoch: int | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _where(record: FlowRecord, topology: Topology | None) -> str:
    eni = record.interface_id or ""
    if topology is not None and eni in topology.enis:
        return topology.annotate(eni)
    parts = [p for p in (record.instance_id, record.subnet_id, record.az_id) if p]
    return " / ".join(parts)


def _explain(record: FlowRecord, topology: Topology | None) -> str | None:
    if topology is None or record.action != "REJECT":
        return None
    from tui.models.nacl import explain  # with --explain only: a local file has no topology

    return explain(record, topology).verdict


@functools.lru_cache(maxsize=64)
def _line_encoder(fmt: tuple[str, ...], with_explain: bool) -> Callable[..., str]:
    """``encode(record, where, explain, source)``: the record's NDJSON line, for one format.

    Byte for byte what ``json`` writes (before :func:`~tui.models.text.json_terminal_safe`,
    which the writer applies once per batch) for ``{**record.as_dict(), "where": ...,
    ["explain": ...,] "source": ...}``, built by one generated expression per format (as
    :func:`~tui.models.flowlog.layout_for` builds records): 2.5x faster than a dict per record
    through the JSON encoder, which dominated runs with hundreds of thousands of matches. Only
    indices and the JSON-escaped field names are interpolated, never a value. A value of an
    unexpected type raises TypeError; the caller then uses the general encoder.
    """
    parts = []
    for i, name in enumerate(fmt):
        spec = FIELDS.get(name)
        conv = "_int" if spec is not None and spec.kind == "int" else "_esc"
        lead = ("{" if i == 0 else ", ") + _esc(name) + ": "
        parts.append(f"{lead!r}, 'null' if r[{i}] is None else {conv}(r[{i}])")
    parts.append("', \"where\": ', _esc(where)")
    if with_explain:
        parts.append("', \"explain\": ', 'null' if explain is None else _esc(explain)")
    parts.append("', \"source\": ', _esc(source), '}'")
    src = f"def encode(r, where, explain, source):\n    return ''.join(({', '.join(parts)}))\n"
    scope: dict[str, Any] = {"_int": int.__repr__, "_esc": _esc}
    exec(src, scope)
    encode: Callable[..., str] = scope["encode"]
    return encode


# The fields _where joins when there is no topology, in its order (first position of each).
_WHERE_FIELDS = ("instance-id", "subnet-id", "az-id")


@functools.lru_cache(maxsize=64)
def _raw_encoder(fmt: tuple[str, ...]) -> Callable[[list[bytes], str], str]:
    """``encode(lines, tail)``: the NDJSON lines of plain lines of one format, without records.

    The same text as :func:`_line_encoder` gives for the records the lines parse to, with no
    topology (a local file): ``layout.plain`` already holds each line to printable ASCII
    without a quote or backslash, numbers as ``int`` writes them, one space between values.
    So the values are worked on a column at a time: a column without ``-`` goes out as written
    (a text column's quotes ride on the keys around it), another in a few bulk string
    operations (``-`` to ``null``, quotes around text); one join writes the batch. There is no
    Python step per value. Several times faster than a record per line through
    :func:`_line_encoder`, which was most of a run's time once the scan parsed only the lines
    that match.
    """
    width = len(fmt)
    numbers = []
    keys = []
    for i, name in enumerate(fmt):
        spec = FIELDS.get(name)
        numbers.append(spec is not None and spec.kind == "int")
        keys.append(("{" if i == 0 else ", ") + f"{_esc(name)}: ")
    keys.append(', "where": "')
    where = [fmt.index(n) for n in _WHERE_FIELDS if n in fmt]
    step = 2 * (width + 2)  # per line: a key before each value, the where, the tail

    def encode(lines: list[bytes], tail: str) -> str:
        n = len(lines)
        parts = b" ".join(lines).decode("ascii").split(" ")
        out: list[str] = [""] * (n * step)
        close = ""  # the quote that ends the previous value, when the keys carry its quotes
        for i, number in enumerate(numbers):
            column = parts[i::width]
            if "-" not in column:  # as written: text gets its quotes from the keys around it
                out[2 * i :: step] = [close + keys[i] + ("" if number else '"')] * n
                close = "" if number else '"'
            else:
                out[2 * i :: step] = [close + keys[i]] * n
                close = ""
                if number:  # digits or "-": a "-" can only be a whole value
                    text = "\x1f".join(column).replace("-", "null")
                else:
                    text = ('"' + '"\x1f"'.join(column) + '"').replace('"-"', "null")
                column = text.split("\x1f")
            out[2 * i + 1 :: step] = column
        out[2 * width :: step] = [close + keys[width]] * n
        if where:
            # A column of "-" only is left out; a line-by-line step only when another has one.
            columns = [c for c in (parts[i::width] for i in where) if c.count("-") != n]
            if any("-" in c for c in columns):
                joined = [
                    " / ".join([v for v in w if v != "-"]) for w in zip(*columns, strict=True)
                ]
            elif columns:
                joined = list(map(" / ".join, zip(*columns, strict=True)))
            else:
                joined = [""] * n
            out[2 * width + 1 :: step] = joined
        out[2 * width + 2 :: step] = [tail] * n
        out[2 * width + 3 :: step] = ["\n"] * n
        out[-1] = ""
        return "".join(out)

    return encode


def _raw_formatter(source: str, fields: tuple[str, ...]) -> Callable[[list[bytes]], str]:
    """How :func:`~tui.models.flowengine.scan_files` writes plain lines: NDJSON, as ``_Writer``
    writes their records for a file (no topology, no explanation)."""
    # The values and names are printable ASCII (layout.plain); the source is made safe here,
    # once, so that the writer writes the text of a block as it is (see _Writer.write).
    tail = json_terminal_safe(f'", "source": {_esc(source)}}}')
    return functools.partial(_raw_encoder(fields), tail=tail)


class _Writer:
    """Writes records in one format as batches arrive; the header once."""

    def __init__(
        self, fmt: str, topology: Topology | None, *, with_explain: bool, out: IO[str]
    ) -> None:
        self.fmt = fmt
        self.topology = topology
        self.with_explain = with_explain
        self.out = out
        self.count = 0
        self._csv: Any = None
        if fmt == "csv":
            self._csv = csv.writer(out)
            self._csv.writerow([c for c in CSV_COLUMNS if c != "explain" or with_explain])
        elif fmt == "table":
            cols = list(_TABLE) + ([("EXPLAIN", 0)] if with_explain else [])
            out.write(self._line([t for t, _ in cols], [w for _, w in cols]) + "\n")

    @staticmethod
    def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
        parts = []
        for cell, width in zip(cells, widths, strict=True):
            if width and len(cell) > width:
                cell = cell[: width - 1] + "…"
            parts.append(cell.ljust(width) if width else cell)
        return "  ".join(parts).rstrip()

    def write(self, records: Iterable[FlowRecord | RawBlock], source: str) -> None:
        topo, out = self.topology, self.out
        if self.fmt == "ndjson":
            # One encoder and one write per batch: json.dumps with options builds an encoder
            # per call, and per-record writes dominate once the scan itself is fast.
            lines = []
            explain = self.with_explain
            fmt: tuple[str, ...] = ()
            encode: Callable[..., str] = str
            count = 0
            for r in records:
                if type(r) is RawBlock:  # plain lines, already terminal-safe (_raw_formatter)
                    if lines:
                        out.write(json_terminal_safe("\n".join(lines)) + "\n")
                        lines = []
                    out.write(r[0])
                    out.write("\n")
                    count += r[1]
                    continue
                count += 1
                r = cast(FlowRecord, r)
                where = _where(r, topo)
                why = _explain(r, topo) if explain else None
                if r.FORMAT is not fmt:  # once per format, not an lru_cache hash of 29 names
                    fmt = r.FORMAT
                    encode = _line_encoder(fmt, explain)
                try:
                    lines.append(encode(r, where, why, source))
                except TypeError:  # a value of an unexpected type: the general encoder
                    row: dict[str, Any] = r.as_dict()
                    row["where"] = where
                    if explain:
                        row["explain"] = why
                    row["source"] = source
                    lines.append(ndjson_line(row))
            if lines:
                lines.append("")
                # Once per batch, not per field: a batch without C1, bidi or DEL costs one check.
                out.write(json_terminal_safe("\n".join(lines)))
            self.count += count
            out.flush()
            return
        for item in records:
            r = cast(FlowRecord, item)  # raw lines are asked for in NDJSON only
            why = _explain(r, topo) if self.with_explain else None
            if self.fmt == "csv":
                values = {
                    **{c: r.get(c) for c in CSV_COLUMNS},
                    "where": _where(r, topo),
                    "explain": why,
                    "source": source,
                }
                self._csv.writerow(
                    [
                        csv_cell(values[c])
                        for c in CSV_COLUMNS
                        if c != "explain" or self.with_explain
                    ]
                )
            else:
                cells = [
                    _time(r.start),
                    r.interface_id or "-",
                    _where(r, topo) or "-",
                    r.srcaddr or "-",
                    "-" if r.srcport is None else str(r.srcport),
                    r.dstaddr or "-",
                    "-" if r.dstport is None else str(r.dstport),
                    r.protocol_name,
                    "-" if r.packets is None else str(r.packets),
                    "-" if r.bytes is None else str(r.bytes),
                    r.action or r.log_status or "-",
                ]
                widths = [w for _, w in _TABLE]
                if self.with_explain:
                    cells.append(why or "")
                    widths.append(0)
                out.write(self._line([display_safe(c) for c in cells], widths) + "\n")
            self.count += 1
        out.flush()


async def _batches(
    aws: Aws | None,
    topology: Topology | None,
    kind: str,
    value: str,
    window: TimeWindow,
    flt: FlowFilter,
    explicit_window: bool,
    remote: argparse.Namespace | None = None,
) -> AsyncIterator[FlowBatch]:
    """The batches of the planned sources (:func:`tui.models.flowplan.plan_sources`).

    The same planner as the flows pane and ``hamari diagnose``: one flow log per resource
    (CloudWatch Logs first, S3 when that is all there is), a bucket named alone reads the flow
    logs writing under it, and headerless objects get their flow log's (or ``--log-format``'s)
    fields. ``--remote`` runs the filter in Logs Insights, or in Athena for S3 with a workgroup.
    """
    from tui.aws import insights
    from tui.aws.flowsources import open_plan
    from tui.models.flowplan import NoFlowLogs, plan_sources

    given = _log_format(remote)
    text = {"local": value, "s3": f"s3://{value}", "cwl": f"cwl:{value}"}.get(kind)
    if kind == "local":
        from tui.aws.flowlogs import stream_local

        plans = plan_sources(text, (), given)
        paths = _local_paths(value, remote) if remote is not None else [value]
        stream = (
            open_plan(None, plans[0], window if explicit_window else None, flt)
            if len(paths) == 1
            else stream_local(paths, window if explicit_window else None, flt, fmt=given)
        )
        async for batch in stream:
            yield batch
        return
    assert aws is not None
    if kind == "s3" and remote is not None and remote.remote and aws.conn.athena_workgroup:
        async for batch in _athena_batches(aws, value, window, flt, remote):
            yield batch
        return
    flow_logs = topology.flow_logs if topology is not None else ()
    try:
        plans = plan_sources(text, flow_logs, given)
    except NoFlowLogs:
        raise _NoFlowLogs() from None
    if remote is not None and remote.remote and kind != "s3":
        cwl = [p.config for p in plans if p.kind == "cwl" and p.config is not None]
        if not cwl:
            raise _NoFlowLogs()
        cost = await insights.estimate(aws, [str(c.log_group) for c in cwl], window)
        print(f"hamari: {cost.describe()}", file=sys.stderr, flush=True)
        if cost.estimated_bytes > remote.max_gb * insights.GB and not remote.yes:
            raise _OverBudget(cost.describe())
        for config in cwl:
            async for batch in insights.stream_flow_insights(aws, config, window, flt):
                yield batch
        return
    for plan in plans:
        async for batch in open_plan(aws, plan, window, flt):
            yield batch


class _NoFlowLogs(Exception):
    pass


def _log_format(ns: argparse.Namespace | None) -> tuple[str, ...] | None:
    """The fields of ``--log-format`` (checked by :func:`run`), or None."""
    text = getattr(ns, "log_format", None)
    return parse_log_format(text) if text else None


async def _athena_batches(
    aws: Aws, source: str, window: TimeWindow, flt: FlowFilter, remote: argparse.Namespace
) -> AsyncIterator[FlowBatch]:
    """``--remote`` on s3:// with ``--athena-workgroup``: estimate, then run it in Athena."""
    from tui.aws import athena

    table = await athena.resolve_table(aws, getattr(remote, "athena_table", None), source)
    cost = await athena.estimate(aws, table, window)
    print(f"hamari: {cost.describe()}", file=sys.stderr, flush=True)
    if cost.estimated_bytes > remote.max_gb * athena.GB and not remote.yes:
        raise _OverBudget(cost.describe())
    workgroup = str(aws.conn.athena_workgroup)
    async for batch in athena.stream_flow_athena(aws, table, window, flt, workgroup=workgroup):
        yield batch


MAX_BAD_LINES = 10
"""Bad lines named on stderr (file:line, reason, start); the rest are counted and said to be."""


class _OverBudget(Exception):
    """The Logs Insights estimate is above --max-gb and --yes was not given."""


def _summary(
    stats: dict[str, ParseStats], shown: int, pushed: set[str], *, files: int | None = None
) -> str:
    """The stderr line: rows written out of rows read (status rows are rows too), and why
    some may be missing."""
    total = ParseStats()
    for s in stats.values():
        total.records += s.records
        total.bad_lines += s.bad_lines
        total.bad_files += s.bad_files
        total.not_flow_logs += s.not_flow_logs
        total.nodata += s.nodata
        total.skipdata += s.skipdata
    read = total.records + total.nodata + total.skipdata
    origin = f"{files} file(s)" if files is not None else f"{len(stats)} source(s)"
    text = (
        f"{shown} row(s) shown of {read} read from {origin}; records {total.records}, "
        f"NODATA {total.nodata}, SKIPDATA {total.skipdata}, "
        f"bad lines {total.bad_lines}, bad files {total.bad_files}"
    )
    if total.not_flow_logs:  # a README or a CloudTrail file beside the logs: no record is lost
        text += f", not flow logs {total.not_flow_logs} (skipped, each named above)"
    if total.data_loss:
        text += " — DATA LOSS: some records are missing"
    # Whole files not read have a line of their own (see _report); these are lines.
    kept = [b for s in stats.values() for b in s.samples if b.lineno]
    for bad in kept[:MAX_BAD_LINES]:  # file, line, why (AWS and file text is untrusted)
        where = f"{bad.source}:{bad.lineno}" if bad.lineno else bad.source
        text += f"\n  {display_safe(where)}: {display_safe(bad.reason)[:160]}"
        if bad.text:
            text += f' — "{display_safe(bad.text)[:60]}"'
    unnamed = total.bad_lines - min(len(kept), MAX_BAD_LINES)
    if unnamed > 0:
        text += f"\n  … and {unnamed} more bad line(s) not listed here (the count is exact)"
    for pattern in sorted(pushed):
        text += f"\npushed down to CloudWatch Logs: {pattern}"
    return text


def _report(stats: Iterable[ParseStats], summary: str, where: str) -> int:
    """Print one line per file not read (with its reason) and the summary; exit 2 with a fix
    when nothing at all could be read, as ``hamari trail`` does."""
    rows = 0
    for s in stats:
        rows += s.rows
        for source, how in s.guessed:
            how = how.replace("give the log format", "give --log-format")
            print(f"hamari: note: {display_safe(source)}: {how}", file=sys.stderr)
        for label, files in (("not read", s.skipped), ("read in part", s.partial)):
            for source, why in files:
                text = f"hamari: {label}: {display_safe(source)}: {display_safe(why)}"
                print(text, file=sys.stderr)
    print(summary, file=sys.stderr, flush=True)
    if rows:
        return 0
    return fail(
        f"nothing could be read: no flow-log record in {display_safe(where)}"
        + " (the reasons are above)",
        "give VPC or Transit Gateway flow-log files: S3 deliveries (.log.gz, with their header "
        "line), text with --log-format for a custom layout, CloudWatch Logs or Firehose JSON, "
        "or Parquet",
    )


def _needs_aws(kind: str, settings: Settings, ns: argparse.Namespace) -> bool:
    return kind != "local" or settings.demo or ns.explain or getattr(ns, "remote", False)


def _engine_applies(
    kind: str, settings: Settings, ns: argparse.Namespace, paths: Sequence[str] = ()
) -> bool:
    """Local files without a time window go through DuckDB / the byte pre-filter; a pipe
    (``<(zcat …)``, /dev/stdin) is read once, by the Python path (DuckDB reads a file twice)."""
    explicit_window = bool(settings.since or settings.until)
    need_aws = _needs_aws(kind, settings, ns)
    engine = getattr(ns, "engine", "auto")
    piped = [p for p in paths if Path(p).exists() and not (Path(p).is_file() or Path(p).is_dir())]
    if engine == "duckdb" and (need_aws or explicit_window or piped):
        print(
            "hamari: note: --engine duckdb reads local files (not a pipe) without --demo, "
            "--explain or --since/--until; using the Python path",
            file=sys.stderr,
        )
    return not need_aws and engine != "python" and not explicit_window and not piped


async def collect_and_write(settings: Settings, ns: argparse.Namespace, flt: FlowFilter) -> int:
    """Open the source, stream, filter and write; returns the exit status."""
    from tui.aws.network import load_topology
    from tui.headless.common import open_aws
    from tui.models.flowplan import unlisted_advice
    from tui.models.network import FLOW_LOGS_PART

    kind, value = parse_source(ns.source or settings.flows_source or "")
    now = datetime.now(UTC)
    window = settings.window(now)
    explicit_window = bool(settings.since or settings.until)
    out = sys.stdout
    if not _needs_aws(kind, settings, ns):
        return await _stream(None, None, kind, value, window, flt, ns, explicit_window, out)
    ns.athena_table = settings.athena_table  # flag, env or config: for --remote on s3://
    async with open_aws(settings) as aws:
        topology: Topology | None = None
        try:
            topology = await load_topology(aws)
        except Exception as exc:  # the records still stream without names
            print(f"hamari: warning: network topology not loaded: {exc}", file=sys.stderr)
        named = ns.source or settings.flows_source
        unlisted = topology.part_warning(FLOW_LOGS_PART) if topology is not None else None
        why = (unlisted or "").rstrip(".")
        if topology is not None:
            for warning in topology.warnings:
                if unlisted is not None and warning == f"{FLOW_LOGS_PART}: {unlisted}":
                    advice = unlisted_advice(
                        named, source_flag="--source", format_flag="--log-format"
                    )
                    warning = f"the region's VPC flow logs could not be listed ({why}): {advice}"
                print(f"hamari: warning: {display_safe(warning)}", file=sys.stderr)
            for vpc in topology.vpcs_without_flow_logs():
                name = topology.names.get(vpc)
                label = f"{vpc} ({name})" if name else vpc
                print(
                    f"hamari: warning: no flow log is enabled for {display_safe(label)}",
                    file=sys.stderr,
                )
        try:
            return await _stream(aws, topology, kind, value, window, flt, ns, explicit_window, out)
        except _OverBudget as over:
            return fail(
                f"{over} is above --max-gb {ns.max_gb:g}.",
                "Narrow --since/--until or --filter, raise --max-gb, or pass --yes.",
            )
        except _NoFlowLogs:
            if unlisted is not None:  # not "none exist": they could not be listed
                return fail(
                    f"the VPC flow logs of {aws.region} could not be listed ({why}), so "
                    "hamari cannot tell where flow records are.",
                    "Grant ec2:DescribeFlowLogs, or name the source: --source cwl:LOG_GROUP, "
                    "s3://bucket/prefix or PATH.",
                )
            return fail(
                f"no flow logs found in {aws.region} (DescribeFlowLogs returned none "
                "delivered to CloudWatch Logs or S3).",
                "Enable VPC flow logs, or read files with --source s3://bucket/prefix or PATH.",
            )


async def _stream(
    aws: Aws | None,
    topology: Topology | None,
    kind: str,
    value: str,
    window: TimeWindow,
    flt: FlowFilter,
    ns: argparse.Namespace,
    explicit_window: bool,
    out: IO[str],
) -> int:
    stats: dict[str, ParseStats] = {}
    pushed: set[str] = set()
    writer = (
        None if ns.aggregate else _Writer(ns.format, topology, with_explain=ns.explain, out=out)
    )
    kept: list[FlowRecord] = []
    async for batch in _batches(aws, topology, kind, value, window, flt, explicit_window, ns):
        stats[str(id(batch.stats))] = batch.stats
        if batch.pushed_down:
            pushed.add(batch.pushed_down)
        if writer is not None:
            writer.write(batch.records, batch.source)
        else:
            kept.extend(batch.records)
    shown = writer.count if writer is not None else len(kept)
    if ns.aggregate:
        _write_aggregate(aggregate(kept, ns.aggregate, topology, limit=ns.limit), ns, out)
    # Local files are counted as files, as the DuckDB route counts them ("from 3 file(s)").
    files = sum(s.files for s in stats.values()) if kind == "local" else None
    summary = _summary(stats, shown, pushed, files=files)
    if kind != "local":  # an empty window of a live source is an answer, not a failure
        print(summary, file=sys.stderr, flush=True)
        return 0
    return _report(stats.values(), summary, ", ".join(_local_paths(value, ns)))


def _local_paths(value: str, ns: argparse.Namespace) -> list[str]:
    """The local files and folders to read: the source and any further PATHs."""
    return [value, *getattr(ns, "more_paths", ())]


def _run_engine(
    path: list[str], flt: FlowFilter, ns: argparse.Namespace, out: IO[str]
) -> int | None:
    """Local files through :mod:`tui.models.flowengine`; None when the filter needs Python.

    Records stream through :func:`~tui.models.flowengine.scan_files` (a byte pre-filter on the
    filter's literals, else DuckDB with the filter in SQL); ``--aggregate`` loads the files into
    DuckDB (memory-limited) and groups in SQL.
    """
    from tui.models.flowengine import FlowEngine, scan_files

    try:
        flt.to_sql_where("duckdb")
    except FilterError as err:
        print(
            f"hamari: note: {display_safe(err.message)}; filtering in Python, not DuckDB",
            file=sys.stderr,
        )
        return None
    stats = ParseStats()
    if ns.aggregate:
        with FlowEngine() as engine:
            stats = engine.load_files(path, _log_format(ns))
            shown = engine.count(flt)
            _write_aggregate(engine.aggregate(ns.aggregate, flt, limit=ns.limit), ns, out)
    else:
        writer = _Writer(ns.format, None, with_explain=False, out=out)
        batch: list[FlowRecord | RawBlock] = []
        current = ""
        # Plain matching lines are written without a record, by the process that sifts them.
        raw = _raw_formatter if ns.format == "ndjson" else None
        for source, rec in scan_files(path, flt, fields=_log_format(ns), stats=stats, raw=raw):
            if source != current and batch:
                writer.write(batch, current)
                batch = []
            current = source
            batch.append(rec)
            if len(batch) >= 4096:
                writer.write(batch, current)
                batch = []
        if batch:
            writer.write(batch, current)
        shown = writer.count
    summary = _summary({"local": stats}, shown, set(), files=stats.files)
    return _report([stats], summary, ", ".join(path))


def _write_aggregate(groups: Sequence[AggRow], ns: argparse.Namespace, out: IO[str]) -> None:
    rows = [
        {
            "key": list(row.key),
            "label": row.label,
            "flows": row.flows,
            "rejects": row.rejects,
            "accepts": row.accepts,
            "packets": row.packets,
            "bytes": row.bytes,
        }
        for row in groups
    ]
    if ns.format == "ndjson":
        for row in rows:
            out.write(ndjson_line(row) + "\n")
        out.flush()
    elif ns.format == "csv":
        w = csv.writer(out)
        w.writerow(AGG_COLUMNS)
        for row in rows:
            w.writerow([csv_cell(row[c]) for c in AGG_COLUMNS])
        out.flush()
    else:
        write_table(rows, AGG_COLUMNS, out)


def filter_error_text(text: str, err: FilterError) -> str:
    """The filter with a caret under the offending column, for stderr."""
    safe = display_safe(text)
    return (
        f"hamari: bad --filter: {display_safe(err.message)}\n  {safe}\n  "
        + " " * len(display_safe(text[: err.column]))
        + "^"
    )


def run(settings: Settings, ns: argparse.Namespace) -> int:
    """Parse the filter (exit 2 with a caret if bad), then stream the records."""
    try:
        flt = parse_filter(ns.filter or "")
    except FilterError as err:
        print(filter_error_text(ns.filter or "", err), file=sys.stderr)
        return 2
    paths: list[str] = list(getattr(ns, "path", None) or [])
    if paths:
        if ns.source:
            print("hamari: give either PATH or --source, not both", file=sys.stderr)
            return 2
        ns.source = paths[0]
    ns.more_paths = paths[1:]  # PATH given more than once (a shell glob): read as one source
    if ns.format is None:
        ns.format = "table" if sys.stdout.isatty() else "ndjson"
    ns.log_format = getattr(ns, "log_format", None) or settings.flows_format
    if ns.log_format:
        try:
            fields = parse_log_format(ns.log_format)
        except ValueError:
            return fail(
                f"--log-format names no field: {display_safe(ns.log_format)!r}",
                "Write it as AWS does: '${version} ${vpc-id} ${srcaddr} ...' (DescribeFlowLogs' "
                "LogFormat, or the console's custom format).",
            )
        unknown = [f for f in fields if f not in FIELDS and f not in FIELDS_BY_ATTR]
        if unknown:
            print(
                f"hamari: note: --log-format: {display_safe(', '.join(unknown))} not a known "
                "flow-log field (read as text)",
                file=sys.stderr,
            )
    kind, value = parse_source(ns.source or settings.flows_source or "")
    missing = [p for p in [value, *ns.more_paths] if not Path(p).exists()]
    if kind == "local" and missing:
        return fail(
            f"No such file or folder: {display_safe(', '.join(missing))}",
            "Give a flow-log file (.log, .log.gz, .parquet, CloudWatch Logs JSON) or a folder "
            "of them, or --source s3://bucket/prefix or cwl:LOG_GROUP.",
        )
    if ns.more_paths and kind != "local":
        return fail(
            f"several PATHs are local files or folders; {display_safe(ns.source)} is not one",
            "Give local files, or one --source s3://bucket/prefix or cwl:LOG_GROUP.",
        )
    if _engine_applies(kind, settings, ns, _local_paths(value, ns) if kind == "local" else ()):
        status = _run_engine(_local_paths(value, ns), flt, ns, sys.stdout)
        if status is not None:
            return status
    import asyncio

    return asyncio.run(collect_and_write(settings, ns, flt))


@verb("flows")
def register(parser: argparse.ArgumentParser) -> None:
    """VPC flow records: filter, aggregate, explain REJECTs with the NACL rule."""
    parser.add_argument(
        "path",
        nargs="*",
        default=[],
        metavar="PATH",
        help="local flow-log files or folders, read as one source (one is the same as "
        "--source PATH; a shell glob such as ./flowlogs/*.gz gives several); a pipe too: "
        "/dev/stdin, <(zcat x.log.gz)",
    )
    parser.add_argument(
        "--source",
        metavar="SRC",
        default=None,
        help="cwl:LOG_GROUP, s3://bucket/prefix, or a local file/folder (default: the flow "
        "logs DescribeFlowLogs finds in CloudWatch Logs)",
    )
    parser.add_argument(
        "--filter",
        metavar="EXPR",
        default="",
        help="e.g. 'action=REJECT and srcaddr in 10.1.0.0/16 and dstport=443'",
    )
    parser.add_argument(
        "--log-format",
        metavar="FMT",
        default=None,
        help="the fields of files without a header line, as AWS writes them: "
        "'${version} ${vpc-id} ${srcaddr} ...' (DescribeFlowLogs' LogFormat); without it "
        "the default formats, or a layout guessed from the field count (said on stderr)",
    )
    parser.add_argument(
        "--aggregate",
        choices=AGGREGATIONS,
        default=None,
        help="print groups instead of records",
    )
    parser.add_argument("--limit", type=int, default=50, help="rows of an aggregation (default 50)")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="for each REJECT, name the NACL rule that denies it",
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "duckdb", "python"),
        default="auto",
        help="local files: auto/duckdb filter and aggregate with DuckDB and a byte pre-filter "
        "(memory-limited); python uses the pure reader (default: auto)",
    )
    parser.add_argument(
        "--remote",
        action="store_true",
        help="run the filter as a CloudWatch Logs Insights query on AWS's side (billed per GB "
        "scanned: the estimate is printed first); running queries are stopped on exit. On an "
        "s3:// source with --athena-workgroup, it runs in Athena instead (see --athena-table)",
    )
    parser.add_argument(
        "--max-gb",
        type=float,
        default=10.0,
        metavar="GB",
        help="with --remote, refuse when the estimated scan is larger (default 10)",
    )
    parser.add_argument("--yes", action="store_true", help="with --remote, run above --max-gb")
    parser.add_argument(
        "--format",
        choices=("ndjson", "csv", "table"),
        default=None,
        help="output format (default: table on a terminal, ndjson in a pipe)",
    )
    parser.set_defaults(run=run)
