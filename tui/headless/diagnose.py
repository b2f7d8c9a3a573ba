"""``hamari diagnose``: the findings of the TUI, headless, for runbooks, cron jobs and chat bots.

It collects the same evidence the panes load (CloudTrail events, instance states, flow records
with the network topology, and the fleet's EBS limits) into the same evidence objects the TUI's
screen owns (:mod:`tui.evidence`): past their memory caps, events and flow records spill to their
DuckDB stores as in the app, so a big window is analysed whole instead of cut. It runs the same pure findings
(:func:`tui.models.findings.compute_findings`) and prints each finding with its evidence and the
hamari command that shows it. Each source is read on its own: one that fails is named with the
fix and the others still count.

Exit status: 0 when every source was read and nothing was found; 1 when something was found;
2 when nothing was found but some evidence could not be read (so health cannot be claimed), or on
a usage problem. No textual or rich is imported on this path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import shlex
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from tui.models.text import display_safe
from tui.settings import Settings
from tui.verbs import verb

if TYPE_CHECKING:
    from tui.aws.session import Aws
    from tui.evidence.flows import FlowEvidence
    from tui.evidence.trail import TrailEvidence
    from tui.models.cloudtrail import TrailEvent
    from tui.models.findings import Finding
    from tui.models.fleet import FleetAssessment
    from tui.models.flowlog import FlowRecord, OneSidedConversation
    from tui.models.metrics.assessment import Assessment
    from tui.models.nacl import Explanation
    from tui.models.network import Topology
    from tui.models.timewindow import TimeWindow

#: Events, series or legs printed under each finding.
EVIDENCE_LINES = 5
STORE_FLUSH = 5_000  # buffered trail events inserted into the store at a time
EVIDENCE_FINDINGS = 50
"""Findings whose evidence lines are listed (each is a search over every loaded event; a day
of a synthetic org trail gave 7,653 findings and took 12 minutes); every one has its ``show:``."""


@dataclass
class Problem:
    """A source that could not be read: which, why, and what to do."""

    source: str
    message: str
    hint: str = ""


@dataclass
class Collected:
    """Everything read, for the findings and for the evidence lines."""

    window: TimeWindow
    events: list[TrailEvent] = field(default_factory=list)
    # Calls per findings bucket, past the store threshold (events then hold failures only).
    trail_totals: dict[int, int] | None = None
    instances: list[Any] = field(default_factory=list)
    topology: Topology | None = None
    records: list[FlowRecord] = field(default_factory=list)
    conversations: list[OneSidedConversation] = field(default_factory=list)
    explanations: dict[Any, Explanation] = field(default_factory=dict)
    assessment: Assessment | None = None
    metrics_target: str = ""
    fleet: FleetAssessment | None = None
    key_aliases: dict[str, str] = field(default_factory=dict)
    trail: TrailEvidence | None = None
    flows: FlowEvidence | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    read: dict[str, str] = field(default_factory=dict)


MAX_REASONS = 10
"""Reasons a source skipped a file, line or record, named in the notes (the verbs name all)."""


def _name_reasons(c: Collected, source: str, reasons: list[str], unlisted: bool, src: str) -> None:
    """Put the first reasons in the notes, and say where the others are when there are more."""
    c.notes += [f"{source}: {reason}" for reason in reasons[:MAX_REASONS]]
    if unlisted:
        where = f" --source {shlex.quote(src)}" if src else ""
        c.notes.append(
            f"{source}: more was skipped than is listed here: `hamari {source}{where}` names "
            "every file not read and counts every bad record or line"
        )


def _problem(source: str, exc: BaseException) -> Problem:
    from tui.aws.errors import HamariError

    if isinstance(exc, HamariError):
        return Problem(source, exc.message, exc.hint)
    return Problem(source, f"{type(exc).__name__}: {exc}")


async def _guard(collected: Collected, source: str, work: Callable[[], Any]) -> None:
    """Run one collector; a failure becomes a named problem, never the end of the run."""
    try:
        await work()
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # each source fails alone
        collected.problems.append(_problem(source, exc))


async def _trail(aws: Aws | None, settings: Settings, c: Collected, window: Any) -> None:
    from tui.aws.cloudtrail import parse_source, stream_source
    from tui.evidence.trail import TrailEvidence

    source = parse_source(settings.trail_source)
    regions = [settings.region] if settings.region else []
    evidence = c.trail = TrailEvidence()
    reasons: list[str] = []  # every file not read, and samples of the records skipped
    try:
        if source.kind == "local":  # big folders in worker processes, as the pane reads them
            from tui.aws.trailfiles import stream_files
            from tui.evidence.trail import STORE_ABOVE

            stream = stream_files(
                source.location, window, store_after=STORE_ABOVE, store_window=window
            )
        else:
            stream = stream_source(aws, source, window, None, regions=regions)
        async for batch in stream:
            if batch.chunk is not None:  # a worker's store rows: inserted before they count
                await asyncio.to_thread(evidence.ensure_store().add_chunk, batch.chunk)
            evidence.take(batch)
            reasons += [f"not read: {line}" for line in batch.skipped]
            reasons += [f"skipped: {note}" for note in batch.notes]
            store = evidence.store
            if store is not None and store.buffered >= STORE_FLUSH:
                # Past the threshold the evidence buffers events for a query to insert; with no
                # query before the end, 1M events were all held (6.9 GB at its peak).
                await asyncio.to_thread(store.flush)
        if evidence.store is not None:  # past its memory cap: what the findings read, from disk
            await asyncio.to_thread(evidence.refresh_findings)
        c.events = evidence.loaded_events
        c.trail_totals = evidence.bucket_totals
        loaded = evidence.loaded_count
    finally:
        evidence.close()
    bad = evidence.bad + evidence.bad_files
    unlisted = len(reasons) > MAX_REASONS or evidence.bad > sum(
        r.startswith("skipped: ") for r in reasons
    )
    _name_reasons(c, "trail", reasons, unlisted, settings.trail_source)
    c.read["trail"] = f"{loaded} events from {source.label}" + (
        f" ({bad} unreadable records or files skipped)" if bad else ""
    )
    for line in evidence.region_errors.values():
        c.notes.append(f"trail: region not read: {line}")
    if source.kind == "local" and not evidence.scanned:  # health cannot be claimed from it
        c.problems.append(
            Problem(
                "trail",
                f"nothing could be read: no CloudTrail event in {source.location} "
                "(the reasons are in the notes)",
                "give CloudTrail files: S3 deliveries (.json, .json.gz), NDJSON, LookupEvents "
                "output, a zip of those, or the console's Event history CSV",
            )
        )


async def _instances(aws: Aws, c: Collected) -> None:
    from tui.aws.errors import HamariError
    from tui.aws.inventory import describe_instances, load_key_aliases

    c.instances = await describe_instances(aws)
    try:
        c.key_aliases = await load_key_aliases(aws)
    except HamariError as err:
        c.notes.append(f"instances: KMS aliases not read ({err.title}): keys named by ID")
    c.read["instances"] = f"{len(c.instances)} instances described"


async def _flows(
    aws: Aws | None, settings: Settings, c: Collected, window: Any, local_window: Any
) -> None:
    from tui.aws.flowsources import open_plan
    from tui.models.findings import explain_rejections
    from tui.models.flowlog import one_sided_conversations
    from tui.models.flowplan import NoFlowLogs, plan_sources, unlisted_advice
    from tui.models.network import FLOW_LOGS_PART

    not_listed: str | None = None  # why DescribeFlowLogs was refused
    why = ""
    if aws is not None:
        from tui.aws.network import load_topology

        c.topology = await load_topology(aws)
        not_listed = c.topology.part_warning(FLOW_LOGS_PART)
        why = (not_listed or "").rstrip(".")
        for warning in c.topology.warnings:
            if not_listed is not None and warning == f"{FLOW_LOGS_PART}: {not_listed}":
                advice = unlisted_advice(settings.flows_source, format_flag=None)
                warning = f"the region's VPC flow logs could not be listed ({why}): {advice}"
            c.notes.append(f"flows: {warning}")
        for vpc in c.topology.vpcs_without_flow_logs():
            name = c.topology.names.get(vpc)
            c.notes.append(
                f"flows: no flow log is enabled for {vpc}" + (f" ({name})" if name else "")
            )
    flow_logs = c.topology.flow_logs if c.topology is not None else ()
    try:
        plans = plan_sources(settings.flows_source, flow_logs)
    except NoFlowLogs:
        if not_listed is not None:  # not "none exist": they could not be listed
            c.problems.append(
                Problem(
                    "flows",
                    f"the region's VPC flow logs could not be listed ({why}), so hamari "
                    "cannot tell where flow records are",
                    "grant ec2:DescribeFlowLogs, or pass --flows-source cwl:LOG_GROUP, "
                    "s3://bucket/prefix or a folder",
                )
            )
            return
        c.problems.append(
            Problem(
                "flows",
                "no flow log delivers to CloudWatch Logs or S3 in this region, so return "
                "traffic dropped by a NACL cannot be seen",
                "enable VPC flow logs (hamari :health prints the command), or pass "
                "--flows-source s3://bucket/prefix or a folder",
            )
        )
        return
    from tui.evidence.flows import FlowEvidence

    evidence = c.flows = FlowEvidence()
    evidence.topology = c.topology
    try:
        for plan in plans:
            span = local_window if plan.kind == "local" else window
            stream = open_plan(aws, plan, span, None)
            async with contextlib.aclosing(evidence.load(stream)) as batches:
                async for added, _stats in batches:
                    if added.store_error is not None:
                        c.notes.append(f"flows: the on-disk store failed: {added.store_error}")
        # Past the memory cap, every record of the REJECTed conversations, from the store.
        c.records, error = await evidence.pair_records()
        loaded, lost = evidence.loaded_count, evidence.lost
    finally:
        evidence.close()
    if error is not None:
        c.notes.append(f"flows: conversations not read from the store ({error}); memory's used")
    if lost or error is not None:
        c.notes.append(
            f"flows: only the newest {evidence.max_records:,} records analysed "
            f"({evidence.counts.dropped:,} older)"
        )
    items = evidence.skipped_items()
    bad_lines = sum(getattr(s, "bad_lines", 0) for s in evidence.stats)
    unlisted = len(items) > MAX_REASONS or bad_lines > sum(1 for i in items if i.line)
    reasons = [f"skipped: {i.where}: {i.reason}" for i in items]
    _name_reasons(c, "flows", reasons, unlisted, settings.flows_source or "")
    eni_az = c.topology.eni_az() if c.topology is not None else {}
    c.conversations = one_sided_conversations(c.records, eni_az)
    c.explanations = explain_rejections(c.conversations, c.records, c.topology)
    c.read["flows"] = f"{loaded} flow records from " + ", ".join(p.label for p in plans)
    local = [p.label for p in plans if p.kind == "local"]
    if local and not sum(s.rows for s in evidence.stats):  # NODATA rows are rows read
        c.problems.append(
            Problem(
                "flows",
                f"nothing could be read: no flow-log record in {', '.join(local)} "
                "(the reasons are in the notes)",
                "give VPC or Transit Gateway flow-log files: S3 deliveries (.log.gz, with their "
                "header line), CloudWatch Logs or Firehose JSON, or Parquet",
            )
        )


async def _fleet(aws: Aws, c: Collected) -> None:
    from tui.aws.fleet import FleetSweep

    fleet = await FleetSweep(aws).sweep(c.window.start, c.window.end)
    c.fleet = fleet
    data = fleet.data or "no data"
    c.read["metrics"] = f"{fleet.instances} running instances, {fleet.volumes} volumes ({data})"
    for failed in fleet.failed:
        c.notes.append(f"metrics: series not read: {failed}")


def _needs_aws(settings: Settings) -> bool:
    from tui.aws.cloudtrail import parse_source as trail_source
    from tui.models.flowlog import parse_source as flow_source

    return (
        settings.demo
        or trail_source(settings.trail_source).kind != "local"
        or flow_source(settings.flows_source or "")[0] != "local"
    )


async def collect(
    settings: Settings, *, now: datetime | None = None, aws: Aws | None = None
) -> Collected:
    """Read every source concurrently; each one's failure is recorded, not raised.

    Args:
        settings: Sources, window, profile/region/endpoint (or ``--demo``).
        now: The clock (tests fix it).
        aws: An AWS access point that is already open; otherwise one is opened from settings
            when a source needs AWS.
    """
    now = now or datetime.now(UTC)
    window = settings.window(now)
    c = Collected(window)
    if aws is None and not _needs_aws(settings):
        # Local files keep every record unless a window was asked for (as `hamari trail` does).
        local_window = window if (settings.since or settings.until) else None
        await asyncio.gather(
            _guard(c, "trail", lambda: _trail(None, settings, c, local_window)),
            _guard(c, "flows", lambda: _flows(None, settings, c, local_window, local_window)),
        )
        c.notes.append("metrics: not read (the sources are local files; no AWS was opened)")
        return c
    if aws is not None:
        await _collect_aws(aws, settings, c)
        return c
    from tui.headless.common import open_aws

    async with open_aws(settings, now=now) as opened:
        await _collect_aws(opened, settings, c)
    return c


async def _collect_aws(aws: Aws, settings: Settings, c: Collected) -> None:
    window = c.window
    local = window if (settings.since or settings.until) else None
    trail_window = local if _trail_kind(settings) == "local" else window
    await asyncio.gather(
        _guard(c, "trail", lambda: _trail(aws, settings, c, trail_window)),
        _guard(c, "instances", lambda: _instances(aws, c)),
        _guard(c, "flows", lambda: _flows(aws, settings, c, window, local)),
        _guard(c, "metrics", lambda: _fleet(aws, c)),
    )


def _trail_kind(settings: Settings) -> str:
    from tui.aws.cloudtrail import parse_source

    return parse_source(settings.trail_source).kind


# ------------------------------------------------------------------------------------ output


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _window_flags(window: TimeWindow) -> list[str]:
    return ["--since", _iso(window.start) or "", "--until", _iso(window.end) or ""]


def _source_flags(settings: Settings, pane: str) -> list[str]:
    flags: list[str] = []
    if settings.demo:
        flags.append("--demo")
    if settings.profile:
        flags += ["--profile", settings.profile]
    if settings.region:
        flags += ["--region", settings.region]
    if pane == "trail" and settings.trail_source and settings.trail_source != "lookup":
        flags += ["--source", settings.trail_source]
    if pane == "flows" and settings.flows_source:
        flags += ["--source", settings.flows_source]
    return flags


def show_command(finding: Finding, settings: Settings, window: TimeWindow) -> str:
    """The hamari command that shows a finding's first evidence."""
    ev = finding.evidence[0] if finding.evidence else None
    pane = ev.pane if ev is not None else "trail"
    args = ["hamari"]
    if pane == "metrics":
        args += ["metrics", (ev.query if ev is not None else None) or finding.resource_id]
    else:
        args.append(pane)
        if ev is not None and ev.query:
            # `--filter=EXPR`: a filter that starts with `-` must not read as an option.
            args.append(f"--filter={ev.query}")
        if pane == "flows":
            args.append("--explain")
    args += _source_flags(settings, pane)
    if not (_reads_whole(settings, pane) and not (settings.since or settings.until)):
        # Local files were read whole (no --since/--until): the default window would hide
        # their events from the command, as it hides a past incident's.
        args += _window_flags(window)
    return " ".join(shlex.quote(a) for a in args)


def _reads_whole(settings: Settings, pane: str) -> bool:
    """True when the pane's source is local files, which are read whole without a window."""
    from tui.models.flowlog import parse_source as flow_source

    if pane == "trail":
        return _trail_kind(settings) == "local"
    if pane == "flows":
        return flow_source(settings.flows_source or "")[0] == "local"
    return False


def _event_line(e: TrailEvent) -> str:
    who = e.principal or e.principal_arn or "?"
    via = f" via {e.invoked_by}" if e.invoked_by else ""
    err = f" {e.error_code or 'error'}" if (e.error_code or e.error_message) else ""
    return f"{_iso(e.event_time)} {e.event_source.split('.')[0]}:{e.event_name}{err} by {who}{via}"


def _trail_evidence(query: str | None, c: Collected) -> list[str]:
    from tui.models.trailfilter import FilterError, compile_filter

    if not query:
        return []
    try:
        matched = compile_filter(query).apply(c.events)
    except FilterError:
        return []
    matched.sort(key=lambda e: e.event_time)
    newest = [_event_line(e) for e in matched[-EVIDENCE_LINES:]]
    # Calls in the same second read alike: one line with its count, not "the newest 5" over
    # a single line (identical lines were folded into one, uncounted).
    times = Counter(newest)
    lines = [f"{line} ({times[line]} times)" if times[line] > 1 else line for line in times]
    if len(matched) > EVIDENCE_LINES:
        lines.insert(0, f"({len(matched)} events; the newest {EVIDENCE_LINES})")
    return lines


def _leg_line(leg: Any, rejected: bool) -> str:
    action = "REJECT" if rejected else "ACCEPT"
    where = ",".join(leg.azs) or "?"
    return (
        f"{leg.src}:{leg.srcport} -> {leg.dst}:{leg.dstport} {action} "
        f"({leg.records} record{'' if leg.records == 1 else 's'}, seen in {where})"
    )


def _flow_evidence(record_key: str | None, c: Collected) -> list[str]:
    from tui.models.findings import conversation_id

    lines: list[str] = []
    for conv in c.conversations:
        if record_key and conversation_id(conv.key) != record_key:
            continue
        lines.append(_leg_line(conv.forward, conv.rejected == "forward"))
        lines.append(_leg_line(conv.reverse, conv.rejected == "reverse"))
        explanation = c.explanations.get(conv.key)
        if explanation is not None:
            lines.append(explanation.verdict)
        break
    return lines


def _metrics_evidence(c: Collected, resource: str, record_key: str | None = None) -> list[str]:
    """The assessment's verdict and its saturated series, the finding's own series first
    (``record_key``): three findings on one instance each lead with their own evidence."""
    from tui.models.findings import series_id
    from tui.models.metrics.units import fmt_number

    assessments = [c.assessment] if c.assessment is not None else []
    if c.fleet is not None:
        assessments += [
            v.assessment
            for v in c.fleet.verdicts
            if not resource
            or v.item.instance_id == resource
            or any(row.series.spec.resource_id == resource for row in v.assessment.rows)
        ]
    own: list[str] = []
    lines: list[str] = []
    for assessment in assessments:
        if assessment.verdict:
            lines.append(assessment.verdict)
        for row in assessment.rows:
            spec = row.series.spec
            if row.limit is None or row.latest is None or not row.saturated:
                continue
            line = (
                f"{spec.resource_id} {spec.metric_name}: latest "
                f"{fmt_number(row.latest)} {row.series.unit}, limit {row.limit.label}"
            )
            (own if record_key is not None and series_id(spec) == record_key else lines).append(
                line
            )
    return list(dict.fromkeys(own + lines))[:EVIDENCE_LINES]


def evidence_lines(finding: Finding, c: Collected) -> list[str]:
    """The records behind a finding, a line each (raw: escape for display).

    With more than one piece of evidence, each group starts with its label (``label:``).
    """
    groups: list[tuple[str, list[str]]] = []
    for ev in finding.evidence:
        if ev.pane == "trail":
            lines = _trail_evidence(ev.query, c)
        elif ev.pane == "flows":
            lines = _flow_evidence(ev.record_key, c)
        else:
            lines = _metrics_evidence(c, finding.resource_id, ev.record_key)
        if lines:
            groups.append((ev.label, lines))
    if len(groups) == 1:
        return list(dict.fromkeys(groups[0][1]))
    out: list[str] = []
    for label, lines in groups:
        out.append(f"{label}:")
        out += [f"  {line}" for line in lines]
    return out


def _safe(text: str) -> str:
    return display_safe(text)


def write_text(findings: Sequence[Finding], c: Collected, settings: Settings, out: IO[str]) -> None:
    """A report a person reads in a terminal or a chat message; every AWS string escaped."""
    w = c.window
    header = f"hamari diagnose: window {_iso(w.start)} .. {_iso(w.end)}"
    whole = (
        []
        if settings.since or settings.until
        else [pane for pane in ("trail", "flows") if _reads_whole(settings, pane)]
    )
    if whole:  # the window is then only the metrics' (a 2023 folder is read whole, not for 3 h)
        header += f"; local {' and '.join(whole)} files read whole (--since/--until to narrow)"
    out.write(header + "\n")
    for name, text in c.read.items():
        out.write(f"  read {name}: {_safe(text)}\n")
    for p in c.problems:
        out.write(f"  NOT READ {p.source}: {_safe(p.message)}\n")
        if p.hint:
            out.write(f"    fix: {_safe(p.hint)}\n")
    for note in c.notes:
        out.write(f"  note: {_safe(note)}\n")
    out.write("\n")
    if not findings:
        out.write("No findings.\n" if not c.problems else "No findings in what could be read.\n")
        return
    out.write(f"{len(findings)} finding(s):\n")
    if len(findings) > EVIDENCE_FINDINGS:
        out.write(
            f"(evidence is listed for the first {EVIDENCE_FINDINGS}; every finding's show: "
            "command lists its own)\n"
        )
    for i, f in enumerate(findings):
        out.write(f"\n{f.mark} {_safe(f.title)}\n")
        for line in _safe(f.detail).splitlines():
            out.write(f"    {line}\n")
        lines = evidence_lines(f, c) if i < EVIDENCE_FINDINGS else []
        if lines:
            out.write("  evidence:\n")
            for line in lines:
                out.write(f"    {_safe(line)}\n")
        out.write(f"  show: {_safe(show_command(f, settings, c.window))}\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report(findings: Sequence[Finding], c: Collected, settings: Settings) -> dict[str, Any]:
    """The JSON document: window, what was read, problems, findings with evidence."""
    return {
        "window": {"start": _iso(c.window.start), "end": _iso(c.window.end)},
        "read": dict(c.read),
        "problems": [
            {"source": p.source, "message": p.message, "hint": p.hint} for p in c.problems
        ],
        "notes": list(c.notes),
        "findings": [
            {
                "kind": f.kind,
                "severity": f.severity,
                "title": f.title,
                "detail": f.detail,
                "resource": f.resource_id,
                "at": _iso(f.at),
                # null past the first EVIDENCE_FINDINGS: not listed (show lists them)
                "evidence": evidence_lines(f, c) if i < EVIDENCE_FINDINGS else None,
                "show": show_command(f, settings, c.window),
            }
            for i, f in enumerate(findings)
        ],
    }


def write_json(doc: dict[str, Any], out: IO[str]) -> None:
    """One JSON document; ASCII only, so no control, bidi or zero-width character is written."""
    out.write(json.dumps(doc, ensure_ascii=True, indent=2, default=_jsonable) + "\n")


def diagnose(c: Collected) -> list[Finding]:
    """The findings of the collected evidence (the same function the TUI's strip runs)."""
    from tui.models.findings import compute_findings

    return compute_findings(
        events=c.events,
        instances=c.instances,
        assessment=c.assessment,
        metrics_target=c.metrics_target,
        fleet=c.fleet,
        conversations=c.conversations,
        explanations=c.explanations,
        topology=c.topology,
        key_aliases=c.key_aliases,
        trail_totals=c.trail_totals,
    )


def exit_status(findings: Iterable[Finding], c: Collected) -> int:
    """1 with findings; else 2 when some evidence could not be read; else 0."""
    if any(True for _ in findings):
        return 1
    return 2 if c.problems else 0


def run(settings: Settings, ns: argparse.Namespace) -> int:
    """Collect, find, print; the exit status says which of the three outcomes it was."""
    c = asyncio.run(collect(settings))
    findings = diagnose(c)
    if ns.format == "json":
        write_json(report(findings, c, settings), sys.stdout)
    else:
        write_text(findings, c, settings, sys.stdout)
    sys.stdout.flush()
    return exit_status(findings, c)


@verb("diagnose")
def register(parser: argparse.ArgumentParser) -> None:
    """The findings (the three incidents and more), with their evidence; exit 1 when found."""
    parser.add_argument(
        "--trail-source",
        metavar="SRC",
        default=argparse.SUPPRESS,
        help="CloudTrail source: lookup (default), s3://bucket/prefix, or a file/folder",
    )
    parser.add_argument(
        "--flows-source",
        metavar="SRC",
        default=argparse.SUPPRESS,
        help="flow-log source: cwl:GROUP, s3://bucket/prefix, or a file/folder "
        "(default: the flow logs DescribeFlowLogs finds)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: a report to read (default); json: one document for scripts and bots",
    )
    parser.set_defaults(run=run)
