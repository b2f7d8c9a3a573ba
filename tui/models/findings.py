"""Findings: what the loaded evidence says, in one line each, with the way back to that evidence.

The three incidents hamari grew from (an instance that will not start, an instance slow at its
EBS limit, traffic that fails one way across AZs) each leave a pattern in what the panes load:

* CloudTrail: ``StartInstances`` succeeds, and seconds later the KMS calls EC2 makes on the caller's
  behalf (``invokedBy: ec2.amazonaws.com``) are denied; the instance's state reason becomes
  ``Client.InternalError`` (:func:`start_failed_findings`);
* CloudWatch: the fleet-wide sweep (:class:`~tui.models.fleet.FleetAssessment`) finds the
  instances whose EBS limit binds, whichever instance the metrics pane shows
  (:func:`fleet_findings`, :func:`ebs_limit_findings`);
* flow logs: a conversation ACCEPTed one way and REJECTed on the way back, the return leg seen in
  another AZ and dropped by a NACL rule (:func:`return_path_findings`).

Generic patterns (bursts of AccessDenied or throttling for a principal, a sudden error rate) catch
the incidents nobody wrote a rule for. Every finding names its :class:`Evidence`: which pane, the
filter to apply there and the record to put the cursor on, so that one key shows it.

Every function is pure (no UI, no AWS SDK) and cheap enough to run on every refresh; the screen
runs :func:`compute_findings` in a thread worker when the inputs are large. Titles and details hold
raw AWS strings: display code must pass them through :func:`tui.models.text.display_safe`.

Size (~1,070 lines): one section per incident (plus generic and combined); those sections are the
seams if it grows.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, Protocol

from tui.models.cloudtrail import TrailEvent
from tui.models.fleet import FleetAssessment
from tui.models.flowlog import ConversationKey, FlowRecord, OneSidedConversation, protocol_name
from tui.models.metrics.assessment import Assessment, SeriesAssessment
from tui.models.metrics.catalogue import MetricSpec
from tui.models.metrics.units import fmt_number
from tui.models.nacl import Explanation, explain
from tui.models.network import Topology

__all__ = [
    "ERROR_BUCKET",
    "Evidence",
    "Finding",
    "InstanceLike",
    "PaneName",
    "Severity",
    "TrailMemo",
    "compute_findings",
    "conversation_id",
    "denial_burst_findings",
    "ebs_limit_findings",
    "error_rate_findings",
    "explain_rejections",
    "filter_value",
    "fleet_findings",
    "is_denial",
    "is_throttle",
    "return_path_findings",
    "series_id",
    "start_failed_findings",
    "throttling_findings",
]

PaneName = Literal["trail", "metrics", "flows"]
Severity = Literal["error", "warning", "info"]

SEVERITY_RANK: Final[dict[str, int]] = {"error": 0, "warning": 1, "info": 2}
SEVERITY_MARK: Final[dict[str, str]] = {"error": "✖", "warning": "▲", "info": "·"}
"""A symbol per severity, so that meaning never rests on colour."""

START_WINDOW: Final = timedelta(minutes=5)
ERROR_BUCKET: Final = timedelta(minutes=5)
"""The time bucket of :func:`error_rate_findings` (a store counts every call per bucket)."""
"""How long after a StartInstances the calls EC2 makes for it are looked for."""

EC2_SERVICE: Final = "ec2.amazonaws.com"

_THROTTLE_CODES: Final = frozenset(
    {
        "throttling",
        "throttlingexception",
        "requestlimitexceeded",
        "client.requestlimitexceeded",
        "toomanyrequestsexception",
        "requestthrottled",
        "requestthrottledexception",
        "provisionedthroughputexceededexception",
        "slowdown",
        "limitexceededexception",
    }
)


# ------------------------------------------------------------------------------------ the records


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a finding's evidence is, and how to show it.

    Attributes:
        pane: The pane that holds it.
        label: What the user will see there, e.g. ``KMS denials after StartInstances``.
        query: A filter to apply in that pane (trail or flow filter language), or for the metrics
            pane the target to show (an instance or volume ID); None to leave the pane as it is.
        record_key: The record to put the cursor on: an event ID, a series ID
            (:func:`series_id`) or a conversation ID (:func:`conversation_id`).
        at: When the evidence happened, if known.
    """

    pane: PaneName
    label: str
    query: str | None = None
    record_key: str | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the evidence says, with the evidence.

    Attributes:
        kind: ``start_failed``, ``instance_ebs_limit``, ``volume_limit``, ``burst_exhausted``,
            ``return_rejected``, ``one_sided_rejects``, ``denial_burst``, ``throttling`` or
            ``error_rate``.
        severity: ``error`` (something is broken), ``warning`` (a limit binds) or ``info``.
        title: One line, raw (escape it for display).
        detail: A few sentences: what was seen, the names, what to check; raw.
        resource_id: The resource it is about (instance, volume, NACL, principal...), or "".
        evidence: Where to look, most telling first.
        at: When it happened (the latest evidence), if known.
    """

    kind: str
    severity: Severity
    title: str
    detail: str
    resource_id: str
    evidence: tuple[Evidence, ...]
    at: datetime | None = None

    @property
    def mark(self) -> str:
        """``✖``, ``▲`` or ``·``."""
        return SEVERITY_MARK.get(self.severity, "·")


class InstanceLike(Protocol):
    """What the findings read from an instance (``tui.models.inventory.InstanceInfo``)."""

    @property
    def instance_id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def state_reason_code(self) -> str | None: ...
    @property
    def state_reason_message(self) -> str | None: ...


# ------------------------------------------------------------------------------------ helpers


def is_denial(code: str) -> bool:
    """True for AccessDenied-like error codes (``AccessDenied``, ``UnauthorizedOperation``, ...)."""
    low = code.lower()
    return "accessdenied" in low or "unauthorized" in low


def is_throttle(code: str) -> bool:
    """True for throttling error codes (``ThrottlingException``, ``RequestLimitExceeded``, ...)."""
    low = code.lower()
    return low in _THROTTLE_CODES or "throttl" in low


def filter_value(value: str) -> str:
    """A value usable unquoted in a filter: glob ``?`` stands for anything that would need quoting.

    Whitespace, quotes, glob characters, brackets and control characters become ``?`` (which
    matches exactly one character), so a hostile principal can never break or widen the query.
    """
    out = []
    for ch in value:
        if ch.isspace() or ch in "\"'*?[]()|\\" or not ch.isprintable():
            out.append("?")
        else:
            out.append(ch)
    return "".join(out) or "?"


def series_id(spec: MetricSpec) -> str:
    """The stable ID of a metric series (the same as the metrics pane's row key)."""
    dims = ",".join(f"{n}={v}" for n, v in spec.dimensions)
    return f"{spec.namespace}|{spec.metric_name}|{dims}|{spec.stat}"


def conversation_id(key: ConversationKey) -> str:
    """``6|10.20.1.10|34886|192.168.100.10|5432``: a conversation key as text."""
    return "|".join("" if part is None else str(part) for part in key)


def _resource_keys(resources: Iterable[str]) -> set[str]:
    """Lower-cased resources, with ARNs also by their trailing ID (key ARN ~ key ID)."""
    keys: set[str] = set()
    for resource in resources:
        if not resource:
            continue
        low = resource.lower()
        keys.add(low)
        if low.startswith("arn:") and "/" in low:
            tail = low.rpartition("/")[2]
            if len(tail) >= 8:
                keys.add(tail)
    return keys


def _same_principal(a: TrailEvent, b: TrailEvent) -> bool:
    if a.principal_arn and b.principal_arn:
        return a.principal_arn == b.principal_arn
    return bool(a.principal) and a.principal == b.principal and a.identity_type == b.identity_type


def _principal_key(event: TrailEvent) -> str:
    return event.principal_arn or event.principal or event.invoked_by or "?"


def _hhmm(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%H:%M:%S") if at is not None else "?"


def _action(event: TrailEvent) -> str:
    return f"{event.source}:{event.event_name}" if event.source else event.event_name


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _attr(obj: object, name: str) -> Any:
    return getattr(obj, name, None)


def _instance_resources(info: object | None) -> set[str]:
    """Volume, key and ENI IDs of an instance (read defensively: the inventory may be partial)."""
    if info is None:
        return set()
    found: list[str] = []
    for vol in _attr(info, "volumes") or ():
        for name in ("volume_id", "kms_key_id", "kms_key_arn"):
            value = _attr(vol, name)
            if isinstance(value, str) and value:
                found.append(value)
    for eni in _attr(info, "eni_ids") or ():
        if isinstance(eni, str):
            found.append(eni)
    return _resource_keys(found)


# ---------------------------------------------------------------------- incident 1: StartInstances


@dataclass(frozen=True, slots=True)
class _Attempt:
    start: TrailEvent
    errors: tuple[TrailEvent, ...]


def _linked_errors(
    start: TrailEvent,
    instance_id: str,
    extra: set[str],
    errors: Sequence[tuple[TrailEvent, set[str]]],
    window: timedelta,
) -> tuple[TrailEvent, ...]:
    """Errors EC2 (or the caller) hit for this start, among ``errors`` (denials and KMS
    errors, each with its :func:`_resource_keys`)."""
    own = _resource_keys((instance_id,)) | extra
    out = []
    for event, keys in errors:
        offset = event.event_time - start.event_time
        if offset < timedelta(0) or offset > window:
            continue
        shares = not own.isdisjoint(keys)
        on_behalf = event.invoked_by == EC2_SERVICE and _same_principal(event, start)
        if shares or on_behalf:
            out.append(event)
    return tuple(out)


def _start_attempts(
    events: Sequence[TrailEvent], infos: Mapping[str, object], window: timedelta
) -> dict[str, list[_Attempt]]:
    starts = [
        e
        for e in events
        if e.event_name == "StartInstances" and not e.is_error and e.source in ("ec2", "")
    ]
    if not starts:
        return {}
    errors = sorted(
        (e for e in events if e.is_error and (is_denial(e.error_code) or e.source == "kms")),
        key=lambda e: e.event_time,
    )
    times = [e.event_time for e in errors]
    keyed = [(e, _resource_keys(e.resources)) for e in errors]
    attempts: dict[str, list[_Attempt]] = defaultdict(list)
    for start in sorted(starts, key=lambda e: (e.event_time, e.event_id)):
        # Only the errors within the window after the start (a day of an org trail has tens
        # of thousands of each: every start against every error took hours).
        lo = bisect.bisect_left(times, start.event_time)
        near = keyed[lo : bisect.bisect_right(times, start.event_time + window, lo)]
        for instance_id in dict.fromkeys(r for r in start.resources if r.startswith("i-")):
            extra = _instance_resources(infos.get(instance_id))
            linked = _linked_errors(start, instance_id, extra, near, window)
            attempts[instance_id].append(_Attempt(start, linked))
    return attempts


def _trail_query(instance_id: str, errors: Sequence[TrailEvent]) -> str:
    """``name:StartInstances resource:i-… or error:AccessDenied source:kms invokedby:ec2…``."""
    parts = [f"name:StartInstances resource:{filter_value(instance_id)}"]
    seen: set[tuple[str, str, str]] = set()
    for event in errors:
        key = (event.error_code or "*", event.source or "*", event.invoked_by)
        if key in seen:
            continue
        seen.add(key)
        term = f"error:{filter_value(key[0])} source:{filter_value(key[1])}"
        if event.invoked_by:
            term += f" invokedby:{filter_value(event.invoked_by)}"
        parts.append(term)
    return " or ".join(parts)


def _key_id(key: str) -> str:
    """``arn:aws:kms:…:key/1234…`` or ``1234…`` -> ``1234…`` (an alias ARN -> ``alias/…``)."""
    tail = key.rsplit(":", 1)[-1]
    return tail.split("/", 1)[1] if tail.startswith("key/") else tail


def _key_name(key: str, aliases: Mapping[str, str]) -> str:
    """A KMS key as people know it: its alias, else ``key`` and the start of its ID.

    Titles stay short enough for the findings strip; the detail gives the full ARN and alias.
    """
    key_id = _key_id(key)
    if key_id.startswith("alias/"):
        return key_id
    alias = aliases.get(key_id) or aliases.get(key)
    return alias or f"key {key_id[:8] + '…' if len(key_id) > 12 else key_id}"


def _volume_keys(info: object | None) -> set[str]:
    """The short IDs of the KMS keys that encrypt an instance's volumes."""
    out: set[str] = set()
    for vol in _attr(info, "volumes") or ():
        key = _attr(vol, "kms_key_id")
        if isinstance(key, str) and key:
            out.add(_key_id(key))
    return out


def _start_title(
    who: str, denied: Sequence[TrailEvent], info: object | None, aliases: Mapping[str, str]
) -> str:
    """Cause first: ``i-… (name) will not start: kms:CreateGrant denied on alias/…``."""
    kms = [e for e in denied if e.source == "kms"]
    if kms:
        actions = sorted({_action(e) for e in kms}, key=lambda a: (a != "kms:CreateGrant", a))
        keys = [
            r
            for e in kms
            for r in e.resources
            if ":key/" in r or r.startswith("mrk-") or ":alias/" in r
        ]
        # The cause leads (the strip may cut the end): the KMS call EC2 made for the caller.
        said = f"{who} will not start: {actions[0]} denied"
        if keys:
            key = keys[0]
            said += f" on {_key_name(key, aliases)}"
            if _key_id(key) in _volume_keys(info):
                said += " (its EBS key)"
        return said
    if denied:
        actions = sorted({_action(e) for e in denied})
        return f"{who} will not start: {', '.join(actions[:2])} denied"
    volume_keys = sorted(_volume_keys(info))
    if volume_keys:
        return (
            f"{who} will not start (Client.InternalError): check {_key_name(volume_keys[0], aliases)}"
            ", its EBS key"
        )
    return f"{who} will not start (Client.InternalError)"


def _start_failed(
    events: Sequence[TrailEvent],
    instances: Sequence[InstanceLike],
    window: timedelta,
    aliases: Mapping[str, str] | None = None,
) -> tuple[list[Finding], set[str]]:
    infos: dict[str, object] = {i.instance_id: i for i in instances}
    attempts = _start_attempts(events, infos, window)
    findings: list[Finding] = []
    covered: set[str] = set()
    for instance_id in sorted(set(attempts) | set(infos)):
        tries = attempts.get(instance_id, [])
        info = infos.get(instance_id)
        state = str(_attr(info, "state") or "") if info is not None else ""
        reason_code = str(_attr(info, "state_reason_code") or "") if info is not None else ""
        reason_msg = str(_attr(info, "state_reason_message") or "") if info is not None else ""
        internal = reason_code == "Client.InternalError" and state in ("stopped", "stopping")
        failed = [a for a in tries if a.errors]
        latest_failed = bool(tries) and bool(tries[-1].errors)
        if state in ("running", "pending"):
            continue  # a later start worked: what failed before is history
        if not latest_failed and not internal:
            continue
        denied = [e for a in failed for e in a.errors]
        covered.update(e.event_id for e in denied)
        name = _attr(info, "name") if info is not None else None
        who = f"{instance_id} ({name})" if isinstance(name, str) and name else instance_id
        title = _start_title(who, denied, info, aliases or {})
        lines: list[str] = []
        if tries:
            last = tries[-1].start
            # The call returns success and the instance stops again: say both, or "succeeded
            # ... 2 failed" reads as a contradiction to someone who has not seen this before.
            lines.append(
                f"{who}: StartInstances by {last.principal or '?'} returned success at "
                f"{_hhmm(last.event_time)} UTC"
                + (f", yet the instance is {state}" if state else "")
                + f" ({_plural(len(tries), 'attempt')}, {len(failed)} followed by denials)."
            )
        if denied:
            by_action: dict[str, set[str]] = defaultdict(set)
            for event in denied:
                by_action[_action(event)].add(event.error_code or "error")
            said = ", ".join(f"{a} {'/'.join(sorted(c))}" for a, c in sorted(by_action.items()))
            via = {e.invoked_by for e in denied if e.invoked_by}
            lines.append(
                "Then denied"
                + (f" (invoked by {', '.join(sorted(via))})" if via else "")
                + f": {said}."
            )
            keys = sorted(
                {
                    r
                    for e in denied
                    if e.source == "kms"
                    for r in e.resources
                    if ":key/" in r or r.startswith("mrk-") or ":alias/" in r
                }
            )
            if keys:
                named = ", ".join(
                    f"{k} ({alias})" if (alias := (aliases or {}).get(_key_id(k))) else k
                    for k in keys[:3]
                )
                lines.append(f"KMS key: {named}.")
        if reason_code:
            lines.append(
                f"State reason: {reason_msg or reason_code}"
                + (f" (state {state})" if state else "")
                + "."
            )
        elif info is None:
            lines.append("State reason unknown (instance not described yet).")
        if any(e.source == "kms" for e in denied) or internal:
            lines.append(
                "Check the KMS key policy of the instance's EBS volumes, and the caller's IAM "
                "policy: EC2 needs kms:CreateGrant and kms:Decrypt on the key."
            )
        evidence: list[Evidence] = []
        focus = failed[-1] if failed else (tries[-1] if tries else None)
        if focus is not None:
            first_error = focus.errors[0] if focus.errors else None
            evidence.append(
                Evidence(
                    "trail",
                    "StartInstances and the denials after it"
                    if focus.errors
                    else "StartInstances calls",
                    _trail_query(instance_id, focus.errors),
                    (first_error or focus.start).event_id,
                    (first_error or focus.start).event_time,
                )
            )
            evidence.append(
                Evidence(
                    "trail",
                    "the StartInstances call" if len(tries) == 1 else "the StartInstances calls",
                    f"name:StartInstances resource:{filter_value(instance_id)}",
                    focus.start.event_id,
                    focus.start.event_time,
                )
            )
        else:
            evidence.append(
                Evidence("trail", "events of the instance", f"resource:{filter_value(instance_id)}")
            )
        at = max((e.event_time for e in denied), default=None)
        if at is None and tries:
            at = tries[-1].start.event_time
        findings.append(
            Finding(
                "start_failed",
                "error",
                title,
                " ".join(lines),
                instance_id,
                tuple(evidence),
                at,
            )
        )
    return findings, covered


def start_failed_findings(
    events: Sequence[TrailEvent],
    instances: Sequence[InstanceLike] = (),
    *,
    window: timedelta = START_WINDOW,
    key_aliases: Mapping[str, str] | None = None,
) -> list[Finding]:
    """ "i-… (name) will not start: kms:CreateGrant denied on alias/… (its EBS key)".

    Fires for an instance when its latest successful ``StartInstances`` was followed within
    ``window`` by denials (or KMS errors) that EC2 hit on the caller's behalf (``invokedBy:
    ec2.amazonaws.com``, same principal) or that name the instance, its volumes or their KMS key;
    or when the instance is stopped with the state reason ``Client.InternalError``. It does not
    fire for an instance that is running again, nor when the latest start had no such errors.

    Args:
        events: The loaded CloudTrail events, any order.
        instances: Described instances (state and state reason), possibly none.
        window: How long after the start errors are linked to it.
        key_aliases: KMS key ID -> alias (kms:ListAliases), to name keys as people know them.

    Returns:
        One finding per failing instance.
    """
    return _start_failed(events, instances, window, key_aliases)[0]


# ------------------------------------------------------------------------ incident 2: EBS limits


def _row_for(assessment: Assessment, kind: str, resource: str) -> SeriesAssessment | None:
    """The assessment row a metrics finding comes from (the read+write total first)."""
    best: SeriesAssessment | None = None
    for row in assessment.rows:
        spec = row.series.spec
        if spec.resource_id != resource:
            continue
        if kind in ("burst_balance", "instance_io_balance", "instance_byte_balance"):
            if spec.limit == kind:
                return row
            continue
        if row.limit is None or row.limit.kind != kind:
            continue
        better = (row.percent or 0) > (best.percent or 0) if best is not None else True
        if (
            best is None
            or (spec.parts and not best.series.spec.parts)
            or (bool(spec.parts) == bool(best.series.spec.parts) and better)
        ):
            best = row
    return best


def ebs_limit_findings(
    assessment: Assessment | None, target: str = "", owner: str = ""
) -> list[Finding]:
    """ "IO at the instance's EBS limit" / "IO at the volume's limit" / "burst balance exhausted".

    One finding per limit the metrics :class:`~tui.models.metrics.Assessment` says is reached
    (its own thresholds decide: several of the latest points at 90 % of the limit), none when
    no limit binds.

    Args:
        assessment: An instance's or the metrics pane's assessment, or None.
        target: The metrics target the assessment is for (the pane shows it), if known.
        owner: How people know the instance (``app-db-01 (i-…)``): the title starts with it
            and says how close the value is to the limit (the fleet sweep's findings).

    Returns:
        The findings, the binding one first.
    """
    if assessment is None:
        return []
    instance_type = assessment.instance_limits.instance_type if assessment.instance_limits else ""
    out: list[Finding] = []
    for found in assessment.findings:
        row = _row_for(assessment, found.kind, found.resource_id)
        key = series_id(row.series.spec) if row is not None else None
        at = max(found.evidence) if found.evidence else None
        limit_text = (
            f"{fmt_number(found.limit)} {found.unit}".strip() if found.limit is not None else ""
        )
        resource = found.resource_id
        if found.kind in ("instance_iops", "instance_mbps"):
            who = instance_type or resource
            kind = "instance_ebs_limit"
            exhausted = row is not None and row.limit is not None and row.limit.exhausted
            said = limit_text + (" baseline, burst exhausted" if exhausted else "")
            title = f"IO at the {who} EBS limit" + (f" ({said.strip()})" if said.strip() else "")
        elif found.kind in ("volume_iops", "volume_mbps"):
            exhausted = row is not None and row.limit is not None and row.limit.exhausted
            kind = "burst_exhausted" if exhausted else "volume_limit"
            title = (
                f"burst balance exhausted on {resource}: IO at its baseline ({limit_text})"
                if exhausted
                else f"IO at the volume's limit on {resource} ({limit_text})"
            )
        elif found.kind == "burst_balance":
            kind, title = "burst_exhausted", f"burst balance exhausted on {resource}"
        else:
            who = instance_type or resource
            kind, title = "burst_exhausted", f"{who} EBS burst balance exhausted"
        detail = found.text
        if found.limit is not None and found.unit != "%":
            detail += (
                f". Latest {fmt_number(found.value)} {found.unit} = {found.ratio:.0%} of the limit"
            )
        detail += (
            ". Both the volume (type, provisioned IOPS/throughput, burst balance) and the "
            "instance type (EBS-optimized baseline) cap IO: raise the one that binds."
        )
        label = f"{found.unit} against the limit" if found.unit != "%" else "burst balance"
        if owner:
            close = f" at {found.ratio:.0%}" if found.unit != "%" else ""
            title = f"{owner}: {title}{close}"
        out.append(
            Finding(
                kind,
                "warning",
                title,
                detail,
                resource,
                (Evidence("metrics", f"{label} of {resource}", target or resource, key, at),),
                at,
            )
        )
    return out


def fleet_findings(fleet: FleetAssessment | None) -> list[Finding]:
    """The EBS limit findings of every instance the fleet sweep judged, worst instance first.

    Each names the instance as people know it (Name tag and ID), the limit that binds and how
    close the latest value is; its evidence opens the metrics pane on that instance.
    """
    if fleet is None:
        return []
    out: list[Finding] = []
    for verdict in fleet.bound:
        item = verdict.item
        out += ebs_limit_findings(verdict.assessment, item.instance_id, item.label)
    return out


# --------------------------------------------------------------------- incident 3: return path


def explain_rejections(
    conversations: Sequence[OneSidedConversation],
    records: Iterable[FlowRecord],
    topology: Topology | None,
) -> dict[ConversationKey, Explanation]:
    """The NACL explanation of each conversation's REJECTed leg (from one of its records).

    Args:
        conversations: From :func:`tui.models.flowlog.one_sided_conversations`.
        records: The records they were found in.
        topology: The loaded topology; None gives no explanations.

    Returns:
        Conversation key -> explanation, for the conversations whose REJECT record was found.
    """
    if topology is None or not conversations:
        return {}
    wanted: dict[tuple[str, int | None, str, int | None], ConversationKey] = {}
    for conv in conversations:
        leg = conv.reverse if conv.rejected == "reverse" else conv.forward
        wanted[(leg.src, leg.srcport, leg.dst, leg.dstport)] = conv.key
    out: dict[ConversationKey, Explanation] = {}
    for record in records:
        if (record.action or "").upper() != "REJECT":
            continue
        key = wanted.get((record.src or "", record.srcport, record.dst or "", record.dstport))
        if key is None or key in out:
            continue
        try:
            out[key] = explain(record, topology)
        except Exception:  # a hole in the topology must not lose the finding
            continue
    return out


def _az_names(azs: Iterable[str], topology: Topology | None) -> str:
    names = []
    for az in azs:
        name = topology.az_names.get(az, az) if topology is not None else az
        names.append(name or az)
    return ", ".join(sorted(set(names))) or "?"


def _reject_az(
    conv: OneSidedConversation, denied: Explanation | None, topology: Topology | None
) -> str:
    """Where the return leg was dropped: the denying subnet's AZ, else the leg's other AZs."""
    if denied is not None and denied.subnet_id and topology is not None:
        subnet = topology.subnets.get(denied.subnet_id)
        if subnet is not None and (subnet.az or subnet.az_id):
            return subnet.az or _az_names((subnet.az_id or "",), topology)
    other = set(conv.reverse.azs) - set(conv.forward.azs)
    return _az_names(other or conv.reverse.azs, topology)


def _addr_term(addrs: Iterable[str]) -> str:
    return "|".join(filter_value(a) for a in sorted(set(addrs)))


def return_path_findings(
    conversations: Sequence[OneSidedConversation],
    explanations: Mapping[ConversationKey, Explanation] | None = None,
    topology: Topology | None = None,
    *,
    min_conversations: int = 2,
) -> list[Finding]:
    """ "Return traffic REJECTed in another AZ" + the NACL rule; "one-sided REJECTs between X and Y".

    Conversations whose return leg was REJECTed in a different AZ from the request are grouped by
    that AZ and the NACL rule that denies them (one finding each, an error); other one-sided
    conversations are grouped by client and server and reported as a warning from
    ``min_conversations`` on (or from one, when a NACL rule explains the REJECT). Conversations
    that were REJECTed both ways, or ACCEPTed both ways, are not one-sided and never reach here.

    Args:
        conversations: From :func:`tui.models.flowlog.one_sided_conversations`.
        explanations: From :func:`explain_rejections`, if the topology is known.
        topology: For AZ names.
        min_conversations: How many one-sided conversations between two hosts make a warning.

    Returns:
        The findings.
    """
    explanations = explanations or {}
    groups: dict[tuple[Any, ...], list[tuple[OneSidedConversation, Explanation | None]]] = {}
    for raw in conversations:
        conv = raw.oriented()
        exp = explanations.get(raw.key)
        rejected = conv.reverse if conv.rejected == "reverse" else conv.forward
        if conv.rejected == "reverse" and conv.cross_az:
            if exp is not None and exp.denied and exp.rule is not None:
                key: tuple[Any, ...] = ("return", exp.nacl_id, exp.rule.rule_number)
            else:
                key = ("return", tuple(sorted(set(rejected.azs) - set(conv.forward.azs))))
        else:
            key = ("pair", conv.protocol, conv.forward.src, conv.forward.dst, conv.forward.dstport)
        groups.setdefault(key, []).append((conv, exp))

    out: list[Finding] = []
    for key, items in groups.items():
        convs = [c for c, _ in items]
        denied = next((e for _, e in items if e is not None and e.denied), None)
        clients = {c.forward.src for c in convs}
        servers = {c.forward.dst for c in convs}
        pairs: dict[tuple[str, str, int | None, int | None], int] = defaultdict(int)
        for c in convs:
            pairs[(c.forward.src, c.forward.dst, c.forward.dstport, c.protocol)] += 1
        said = ", ".join(
            f"{s} → {d}:{p if p is not None else '-'}/{protocol_name(pr)} ({n})"
            for (s, d, p, pr), n in sorted(pairs.items(), key=lambda kv: -kv[1])[:4]
        )
        if len(pairs) > 4:
            said += f", +{len(pairs) - 4} more"
        last = max((c.reverse.last_end or c.forward.last_end or 0 for c in convs), default=0)
        at = datetime.fromtimestamp(last, UTC) if last else None
        first = convs[0]
        latest = max(convs, key=lambda c: c.reverse.last_end or c.forward.last_end or 0)
        query = f"action=REJECT and addr={_addr_term(clients)} and addr={_addr_term(servers)}"
        evidence = (Evidence("flows", "the REJECTed legs", query, conversation_id(latest.key), at),)
        rule_text = ""
        if denied is not None and denied.rule is not None:
            rule_no = "*" if denied.rule.is_default else str(denied.rule.rule_number)
            rule_text = f"{denied.nacl_id} rule {rule_no}"
        if key[0] == "return":
            where = _reject_az(first, denied, topology)
            sent_from = _az_names(first.forward.azs, topology)
            title = "return traffic REJECTed in " + where + (f" ({rule_text})" if rule_text else "")
            detail = (
                f"{_plural(len(convs), 'conversation')} ACCEPTed on the way out (in {sent_from}) "
                f"and REJECTed on the way back in {where}: {said}. "
            )
            if denied is not None:
                detail += f"The NACL explains it: {denied.verdict}. "
            detail += (
                "NACLs are stateless: the return leg arrives through another AZ's attachment "
                "(Transit Gateway) and that subnet's rule drops it."
            )
            out.append(
                Finding(
                    "return_rejected",
                    "error",
                    title,
                    detail,
                    denied.nacl_id if denied is not None and denied.nacl_id else "",
                    evidence,
                    at,
                )
            )
            continue
        if len(convs) < min_conversations and denied is None:
            continue
        client, server = first.forward.src, first.forward.dst
        leg = "return" if first.rejected == "reverse" else "request"
        title = f"one-sided REJECTs between {client} and {server}" + (
            f" ({rule_text})" if rule_text else ""
        )
        detail = (
            f"{_plural(len(convs), 'conversation')} with the {leg} leg REJECTed and the other "
            f"ACCEPTed: {said}. "
        )
        if denied is not None:
            detail += f"The NACL explains it: {denied.verdict}. "
        detail += first.hint + "."
        out.append(Finding("one_sided_rejects", "warning", title, detail, server, evidence, at))
    return out


# ------------------------------------------------------------------------------------ generic


def _bursts(
    events: Sequence[TrailEvent], threshold: int, window: timedelta
) -> tuple[int, datetime, datetime, list[TrailEvent]] | None:
    """The densest run of at least ``threshold`` events within ``window`` (by time), if any."""
    ordered = sorted(events, key=lambda e: e.event_time)
    best: tuple[int, int] | None = None
    left = 0
    for right in range(len(ordered)):
        while ordered[right].event_time - ordered[left].event_time > window:
            left += 1
        count = right - left + 1
        if count >= threshold and (best is None or count > best[1] - best[0] + 1):
            best = (left, right)
    if best is None:
        return None
    chunk = ordered[best[0] : best[1] + 1]
    return len(chunk), chunk[0].event_time, chunk[-1].event_time, chunk


def denial_burst_findings(
    events: Sequence[TrailEvent],
    *,
    threshold: int = 5,
    window: timedelta = timedelta(minutes=5),
    exclude: Iterable[str] = (),
) -> list[Finding]:
    """Bursts of AccessDenied for one principal: at least ``threshold`` within ``window``.

    Args:
        events: The loaded events.
        threshold: How many denials make a burst.
        window: Within how long.
        exclude: Event IDs already explained by another finding (they do not count).

    Returns:
        One finding per principal with a burst.
    """
    skip = set(exclude)
    by_principal: dict[str, list[TrailEvent]] = defaultdict(list)
    for event in events:
        if event.is_error and is_denial(event.error_code) and event.event_id not in skip:
            by_principal[_principal_key(event)].append(event)
    out = []
    for key, denied in by_principal.items():
        burst = _bursts(denied, threshold, window)
        if burst is None:
            continue
        count, start, end, chunk = burst
        who = chunk[-1].principal or key
        actions = sorted({_action(e) for e in chunk})
        minutes = max(1, round((end - start).total_seconds() / 60))
        codes = sorted({e.error_code for e in chunk})
        query = f"user:{filter_value(key)} error:" + (
            filter_value(codes[0]) if len(codes) == 1 else "any"
        )
        out.append(
            Finding(
                "denial_burst",
                "warning",
                f"{count} AccessDenied for {who} in {minutes} min",
                f"{who} was denied {count} times between {_hhmm(start)} and {_hhmm(end)} UTC: "
                f"{', '.join(actions[:6])}{' …' if len(actions) > 6 else ''}. A missing "
                "permission, a policy change, or someone probing.",
                key,
                (Evidence("trail", f"denials of {who}", query, chunk[-1].event_id, end),),
                end,
            )
        )
    return out


def throttling_findings(
    events: Sequence[TrailEvent],
    *,
    threshold: int = 10,
    window: timedelta = timedelta(minutes=5),
) -> list[Finding]:
    """Throttling for one principal and service: at least ``threshold`` within ``window``.

    Args:
        events: The loaded events.
        threshold: How many throttled calls make a finding.
        window: Within how long.

    Returns:
        One finding per (principal, service) throttled that much.
    """
    groups: dict[tuple[str, str], list[TrailEvent]] = defaultdict(list)
    for event in events:
        if event.is_error and is_throttle(event.error_code):
            groups[(_principal_key(event), event.source)].append(event)
    out = []
    for (key, source), throttled in groups.items():
        burst = _bursts(throttled, threshold, window)
        if burst is None:
            continue
        count, start, end, chunk = burst
        who = chunk[-1].principal or key
        names = sorted({e.event_name for e in chunk})
        query = f"user:{filter_value(key)} source:{filter_value(source or '*')} error:" + (
            filter_value(chunk[-1].error_code) if len({e.error_code for e in chunk}) == 1 else "any"
        )
        out.append(
            Finding(
                "throttling",
                "warning",
                f"{count} throttled {source or '?'} calls by {who}",
                f"{who} was throttled {count} times by {source or '?'} between {_hhmm(start)} and "
                f"{_hhmm(end)} UTC ({', '.join(names[:5])}). Calls are retried and slow down; "
                "look for a loop or a missing backoff, or ask for a quota increase.",
                key,
                (Evidence("trail", f"throttled calls of {who}", query, chunk[-1].event_id, end),),
                end,
            )
        )
    return out


def error_rate_findings(
    events: Sequence[TrailEvent],
    *,
    bucket: timedelta = ERROR_BUCKET,
    min_errors: int = 10,
    factor: float = 3.0,
    min_jump: float = 0.2,
    totals: Mapping[int, int] | None = None,
) -> list[Finding]:
    """A sudden error rate: a time bucket whose share of failed calls jumps above the baseline.

    The baseline is the error share of every other bucket of the loaded window. A bucket fires
    when it holds at least ``min_errors`` errors and its share is at least ``factor`` times the
    baseline and ``min_jump`` above it (so a steady 40 % error rate does not fire every bucket).

    Args:
        events: The loaded events.
        bucket: The width of a time bucket.
        min_errors: The fewest errors in a bucket that can fire.
        factor: How many times the baseline share.
        min_jump: How far above the baseline share (a fraction).
        totals: Every call per bucket (index ``i``: from ``i * bucket`` after the epoch), when
            ``events`` hold the failed calls only (a store past its threshold gives only those
            to the findings; counting calls from them would make every bucket fail).

    Returns:
        At most one finding: the worst bucket.
    """
    if not events:
        return []
    width = bucket.total_seconds()
    counted: dict[int, int] = defaultdict(int)
    errors: dict[int, list[TrailEvent]] = defaultdict(list)
    for event in events:
        index = int(event.timestamp // width)
        counted[index] += 1
        if event.is_error:
            errors[index].append(event)
    if totals is not None:
        counted = defaultdict(int, totals)
    totals = counted
    all_total = sum(totals.values())
    all_errors = sum(len(v) for v in errors.values())
    worst: tuple[float, int] | None = None
    for index, failed in errors.items():
        if len(failed) < min_errors:
            continue
        rest_total = all_total - totals[index]
        if rest_total <= 0:
            continue  # no baseline to compare with
        baseline = (all_errors - len(failed)) / rest_total
        share = len(failed) / totals[index]
        jump = share - baseline
        if share >= factor * baseline and jump >= min_jump and (worst is None or jump > worst[0]):
            worst = (jump, index)
    if worst is None:
        return []
    index = worst[1]
    failed = sorted(errors[index], key=lambda e: e.event_time)
    share = len(failed) / totals[index]
    baseline = (all_errors - len(failed)) / (all_total - totals[index])
    start = datetime.fromtimestamp(index * width, UTC)
    codes: dict[str, int] = defaultdict(int)
    for event in failed:
        codes[event.error_code or "error"] += 1
    top = ", ".join(f"{c} ×{n}" for c, n in sorted(codes.items(), key=lambda kv: -kv[1])[:4])
    return [
        Finding(
            "error_rate",
            "warning",
            f"error rate {share:.0%} at {start:%H:%M} (baseline {baseline:.0%})",
            f"{len(failed)} of {totals[index]} calls failed between {start:%H:%M} and "
            f"{start + bucket:%H:%M} UTC against {baseline:.0%} in the rest of the window: {top}.",
            "",
            (Evidence("trail", "the failed calls", "error:any", failed[-1].event_id, start),),
            failed[-1].event_time,
        )
    ]


# ---------------------------------------------------------------------------------- combined


def _sort_key(finding: Finding) -> tuple[int, float]:
    at = -finding.at.timestamp() if finding.at is not None else float("inf")
    return (SEVERITY_RANK.get(finding.severity, 9), at)


@dataclass
class TrailMemo:
    """The CloudTrail part of the findings, kept while its inputs stay the same.

    Linking starts to errors and finding bursts over a day of an org trail takes seconds;
    the findings are recomputed every few seconds while metrics and flows update, so the
    trail part is only recomputed when its events (``key``), instances or aliases changed.
    """

    entry: tuple[object, tuple[Finding, ...]] | None = None  # one attribute: set atomically


def _trail_findings(
    events: Sequence[TrailEvent],
    instances: Sequence[InstanceLike],
    key_aliases: Mapping[str, str] | None,
    trail_totals: Mapping[int, int] | None,
) -> list[Finding]:
    found, covered = _start_failed(events, instances, START_WINDOW, key_aliases)
    found += denial_burst_findings(events, exclude=covered)
    found += throttling_findings(events)
    found += error_rate_findings(events, totals=trail_totals)
    return found


def compute_findings(
    *,
    events: Sequence[TrailEvent] = (),
    instances: Sequence[InstanceLike] = (),
    assessment: Assessment | None = None,
    metrics_target: str = "",
    fleet: FleetAssessment | None = None,
    conversations: Sequence[OneSidedConversation] = (),
    explanations: Mapping[ConversationKey, Explanation] | None = None,
    topology: Topology | None = None,
    key_aliases: Mapping[str, str] | None = None,
    trail_totals: Mapping[int, int] | None = None,
    trail_key: object = None,
    memo: TrailMemo | None = None,
) -> list[Finding]:
    """Every finding the loaded evidence supports, deduplicated, sorted by severity then time.

    Denials already explained by a failed start do not make a second "burst" finding; two findings
    with the same kind, resource and title are one.

    Args:
        events: The CloudTrail pane's events.
        instances: Described instances (state reasons), if any.
        assessment: The metrics pane's assessment, if any: used for what the fleet sweep did
            not judge (a volume or a stopped instance chosen in the pane), or before it ran.
        metrics_target: The metrics pane's target.
        fleet: The fleet-wide EBS limits sweep, if it ran.
        conversations: One-sided conversations from the flows pane's records.
        explanations: NACL explanations of their REJECTed legs (:func:`explain_rejections`).
        topology: The flows pane's topology.
        key_aliases: KMS key ID -> alias, to name the key a failed start was denied.
        trail_totals: Every loaded call per :data:`ERROR_BUCKET`, when ``events`` are a store's
            failed calls and starts only (see :func:`error_rate_findings`).
        trail_key: Says which ``events`` these are (the same key, the same events), for ``memo``.
        memo: Where the CloudTrail findings are kept between calls (with a ``trail_key``).

    Returns:
        The findings, errors first, newest first within a severity.
    """
    inputs = (
        trail_key,
        tuple(instances),  # compared by value: state, reason, volumes, keys
        tuple(sorted((key_aliases or {}).items())),
        tuple(sorted((trail_totals or {}).items())),
    )
    kept = memo.entry if memo is not None and trail_key is not None else None
    if kept is not None and kept[0] == inputs:
        found = list(kept[1])
    else:
        found = _trail_findings(events, instances, key_aliases, trail_totals)
        if memo is not None and trail_key is not None:
            memo.entry = (inputs, tuple(found))
    swept = fleet.covers() if fleet is not None else set()
    found += fleet_findings(fleet)
    found += [
        f for f in ebs_limit_findings(assessment, metrics_target) if f.resource_id not in swept
    ]
    found += return_path_findings(conversations, explanations, topology)
    unique: dict[tuple[str, str, str], Finding] = {}
    for finding in found:
        key = (finding.kind, finding.resource_id, finding.title)
        held = unique.get(key)
        if held is None or _sort_key(finding) < _sort_key(held):
            unique[key] = finding
    return sorted(unique.values(), key=_sort_key)
