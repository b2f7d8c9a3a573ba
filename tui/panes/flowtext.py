"""What the flow pane writes about records and resources, as rich Text: pure builders.

The pair detail (each leg's interface resolved to instance / subnet / AZ / attachment, and the NACL
verdict), the explanation line and the "flow logs are not enabled here" warning with the command
that enables them. Pure functions of a record, a conversation and the topology, so they are tested
without an app.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from tui.models.flowplan import unlisted_advice
from tui.models.health import partition_of
from tui.models.nacl import explain
from tui.models.network import FLOW_LOGS_PART, Topology
from tui.models.text import display_safe
from tui.panes.flowrows import PAIR_HINT, PairGroup, endpoint

# --- pure text builders --------------------------------------------------------------------------


def annotate(topology: Topology | None, eni_id: str | None) -> str:
    """``eni-0a1b… → i-… app-web-01 · app-private-a · use1-az1`` (display-safe).

    A Transit Gateway attachment's interface reads ``→ TGW tgw-attach-… · <subnet> · <AZ>``.
    """
    if not eni_id:
        return "-"
    head = display_safe(eni_id)
    eni = topology.enis.get(eni_id) if topology is not None else None
    if eni is None or topology is None:
        return head + (" (not in the loaded topology)" if topology is not None else "")
    parts: list[str] = []
    if eni.tgw_attachment_id:
        parts.append(f"TGW {eni.tgw_attachment_id}")
    elif eni.instance_id:
        name = topology.names.get(eni.instance_id)
        parts.append(f"{eni.instance_id} {name}" if name else eni.instance_id)
    else:
        parts.append(eni.interface_type or "interface")
    subnet = topology.subnets.get(eni.subnet_id)
    parts.append(subnet.name or subnet.subnet_id if subnet is not None else eni.subnet_id)
    parts.append(topology.az_label(eni.az_id) if eni.az_id else eni.az)
    return f"{head} → " + " · ".join(display_safe(p) for p in parts if p)


def leg_text(
    text: Text, title: str, leg: Any, action: str, topology: Any, *, compact: bool
) -> None:
    mark = "✗" if action == "REJECT" else "✓"
    style = "bold red" if action == "REJECT" else "green"
    text.append(f"\n{mark} {action} ", style=style)
    text.append(f"{title} {endpoint(leg.src, leg.srcport)} → {endpoint(leg.dst, leg.dstport)}")
    for eni in leg.interfaces or ("?",):
        text.append("\n  ")
        line = annotate(topology, eni)
        if compact:
            line = _compact_ids(line)
        text.append(line)


def _compact_ids(line: str) -> str:
    """Shorten long AWS ids (``tgw-attach-0c57513064d6d5929`` -> ``tgw-attach-0c57…``)."""
    words = []
    for word in line.split(" "):
        head, _, tail = word.rpartition("-")
        if head and len(tail) >= 12 and all(c in "0123456789abcdef" for c in tail):
            word = f"{head}-{tail[:4]}…"
        words.append(word)
    return " ".join(words)


def pair_detail(group: PairGroup, topology: Any, *, compact: bool = False) -> Text:
    """The selected pair: the NACL verdict first, then both legs with each interface resolved."""
    conv = group.sample
    text = Text()
    if conv.cross_az:
        text.append("⚠ cross-AZ ", style="bold yellow")
    text.append(f"{PAIR_HINT} ", style="bold")
    text.append(f"({group.count} conversations; e: explain)")
    record = group.rejected_record
    if record is not None and topology is not None:
        text.append("\n")
        try:
            text.append_text(explanation_line(explain(record, topology)))
        except Exception as exc:
            text.append(f"NACL: cannot evaluate ({type(exc).__name__})", style="yellow")
    fwd_action = "REJECT" if conv.rejected == "forward" else "ACCEPT"
    rev_action = "REJECT" if conv.rejected == "reverse" else "ACCEPT"
    leg_text(text, "request", conv.forward, fwd_action, topology, compact=compact)
    leg_text(text, "return ", conv.reverse, rev_action, topology, compact=compact)
    return text


def explanation_line(exp: Any) -> Text:
    """The NACL verdict in one line: ``denied by NACL acl-… rule 100 (egress deny …) on …``."""
    denied = bool(getattr(exp, "denied", False))
    text = Text()
    text.append("✗ NACL: " if denied else "NACL: ", style="bold")
    text.append(display_safe(getattr(exp, "verdict", "")), style="bold red" if denied else "")
    return text


def flow_log_warning(
    topology: Topology | None,
    focused: str | None,
    account: str,
    region: str = "",
    source: str | None = None,
) -> Text | None:
    """A warning when no flow log covers the focused resource, or none exists at all (with the
    command that enables them, its role ARN in ``region``'s partition), or the network could be
    described only in part (each refused Describe* named). ``source`` is the user's
    ``--flows-source``: when the flow logs cannot be listed, naming it is no longer the advice."""
    if topology is None:
        return None
    text = _coverage_warning(topology, focused, account, region, source)
    others = [w for w in topology.warnings if not w.startswith(f"{FLOW_LOGS_PART}: ")]
    if not others:
        return text
    text = Text() if text is None else text.append("\n")
    text.append("⚠ Network context incomplete", style="bold yellow")
    text.append(" (records are shown without it): ")
    text.append(display_safe("; ".join(others)))
    return text


def _coverage_warning(
    topology: Topology, focused: str | None, account: str, region: str, source: str | None
) -> Text | None:
    denied = topology.part_warning(FLOW_LOGS_PART)
    if not topology.flow_logs and denied is not None:
        # Not "no flow logs exist": they could not be listed, so hamari cannot tell.
        text = Text("⚠ The region's VPC flow logs could not be listed", style="bold yellow")
        text.append(f" ({display_safe(denied.rstrip('.'))}): ")
        text.append(display_safe(unlisted_advice(source)))
        return text
    if not topology.flow_logs:
        vpcs = topology.vpcs_without_flow_logs() or ["vpc-XXXXXXXX"]
        text = Text("⚠ No VPC flow logs exist in this region", style="bold yellow")
        text.append(": nothing records traffic here. ")
        return _enable_command(text, vpcs[0], account, region)
    if not focused:
        return None
    targets = _coverage_targets(topology, focused)
    if not targets or any(topology.flow_logs_for(t) for t in targets):
        return None
    enis = [topology.enis[t] for t in targets if t in topology.enis]
    vpc = enis[0].vpc_id if enis else None
    if vpc is None:
        subnet = topology.subnets.get(focused)
        vpc = subnet.vpc_id if subnet is not None else focused
    text = Text("⚠ Flow logs are not enabled for ", style="bold yellow")
    text.append(display_safe(focused), style="bold")
    text.append(" (nor its subnet or VPC): its traffic is not recorded. ")
    return _enable_command(text, vpc, account, region)


def _coverage_targets(topology: Topology, resource: str) -> list[str]:
    """The ids whose flow-log coverage answers "is ``resource`` logged?" ([] if unknown)."""
    if resource.startswith("i-"):
        return [e.eni_id for e in topology.enis.values() if e.instance_id == resource]
    known = resource in topology.enis or resource in topology.subnets
    if known or resource in topology.vpcs:
        return [resource]
    return []


def _enable_command(text: Text, resource: str, account: str, region: str) -> Text:
    kind = "Subnet" if resource.startswith("subnet-") else "VPC"
    rid = display_safe(resource)
    text.append("Enable them (hamari never changes anything):\n")
    text.append(
        f"aws ec2 create-flow-logs --resource-type {kind} --resource-ids {rid} "
        "--traffic-type ALL --max-aggregation-interval 60 --log-destination-type "
        f"cloud-watch-logs --log-group-name /vpc/flow-logs/{rid} --deliver-logs-permission-arn "
        f"arn:{partition_of(region)}:iam::{display_safe(account)}:role/FlowLogsDelivery",
        style="bold",
    )
    return text
