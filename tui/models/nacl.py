"""Network ACL evaluation: which rule of which subnet's NACL decided a flow record's fate.

NACLs are stateless, so a conversation can be ACCEPTed forward and REJECTed on the way back
(incident 3). Seeing the REJECT is half the answer; the other half is the rule, and it is easy to
look at the wrong NACL: the return leg of incident 3 is logged on the Transit Gateway attachment's
ENI in the *other* AZ, and it is that subnet's *egress* rule that drops it. This module evaluates
NACL entries exactly as AWS does (lowest rule number first, first match wins, ``*`` denies) and
works out which NACL and which direction apply to a record. It is pure.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from tui.models.flowlog import PROTOCOL_NUMBERS, FlowRecord
from tui.models.network import EniInfo, NaclEntry, SgRule, SubnetInfo, Topology

Direction = Literal["ingress", "egress"]
_Net = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Rule number of the ``*`` rule that ends every NACL.
DEFAULT_RULE = 32767


@lru_cache(maxsize=4096)
def _net(cidr: str) -> _Net | None:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def _protocol_number(text: str) -> int | None:
    """``"6"`` -> 6, ``"tcp"`` -> 6, ``"-1"``/``"all"`` -> None (all protocols)."""
    low = text.strip().lower()
    if low in ("-1", "all", ""):
        return None
    if low.lstrip("-").isdigit():
        return int(low)
    return PROTOCOL_NUMBERS.get(low, -2)  # -2 never matches a real protocol


def default_entry(*, egress: bool, ipv6: bool = False) -> NaclEntry:
    """The ``*`` rule (deny everything) that AWS appends to every NACL."""
    return NaclEntry(DEFAULT_RULE, egress, "deny", "::/0" if ipv6 else "0.0.0.0/0", "-1")


def entry_matches(
    entry: NaclEntry,
    *,
    egress: bool,
    protocol: int | None,
    remote_ip: str,
    port: int | None,
    icmp_type: int | None = None,
    icmp_code: int | None = None,
) -> bool:
    """True when one NACL entry applies to a packet.

    Args:
        entry: The rule.
        egress: The direction being evaluated.
        protocol: The packet's IANA protocol number; None (unknown) matches only ``-1`` rules.
        remote_ip: The address the rule's CIDR is matched against (the source for ingress,
            the destination for egress).
        port: The destination port (NACL port ranges always test the destination port).
        icmp_type: The ICMP type when known; a rule for one type matches only a known equal type.
        icmp_code: The ICMP code when known.
    """
    if entry.egress != egress:
        return False
    net = _net(entry.cidr)
    try:
        addr = ipaddress.ip_address(remote_ip)
    except ValueError:
        return False
    if net is None or net.version != addr.version or addr not in net:
        return False
    want = _protocol_number(entry.protocol)
    if want is None:
        return True
    if protocol is None or want != protocol:
        return False
    if protocol in (6, 17):
        if entry.port_from is None and entry.port_to is None:
            return True
        lo = entry.port_from if entry.port_from is not None else 0
        hi = entry.port_to if entry.port_to is not None else lo
        return port is not None and lo <= port <= hi
    if protocol in (1, 58) and entry.icmp_type is not None and entry.icmp_type != -1:
        if icmp_type is None or icmp_type != entry.icmp_type:
            return False
        if entry.icmp_code is not None and entry.icmp_code != -1:
            return icmp_code is not None and icmp_code == entry.icmp_code
    return True


def evaluate_nacl(
    entries: tuple[NaclEntry, ...] | list[NaclEntry],
    *,
    egress: bool,
    protocol: int | None,
    remote_ip: str,
    port: int | None,
    icmp_type: int | None = None,
    icmp_code: int | None = None,
) -> tuple[str, NaclEntry | None]:
    """Evaluate a NACL for one packet, as AWS does.

    Rules are tried in rule-number order and the first that matches decides; when none
    matches, the ``*`` rule (32767) denies. AWS lists the ``*`` rules among the entries; when
    they are absent (as in some emulators) an equivalent one is returned.

    Args:
        entries: The NACL's entries (both directions, any order).
        egress: True to evaluate outbound rules.
        protocol: IANA protocol number of the packet, or None if unknown.
        remote_ip: Source address for ingress, destination address for egress.
        port: Destination port of the packet (TCP/UDP), or None.
        icmp_type: ICMP type when known.
        icmp_code: ICMP code when known.

    Returns:
        ``("allow" | "deny", the deciding entry)``; the entry is None only when ``remote_ip`` is
        not an IP address.
    """
    for entry in sorted(entries, key=lambda e: e.rule_number):
        if entry_matches(
            entry,
            egress=egress,
            protocol=protocol,
            remote_ip=remote_ip,
            port=port,
            icmp_type=icmp_type,
            icmp_code=icmp_code,
        ):
            return entry.action, entry
    try:
        ipv6 = ipaddress.ip_address(remote_ip).version == 6
    except ValueError:
        return "deny", None
    return "deny", default_entry(egress=egress, ipv6=ipv6)


@dataclass(frozen=True)
class Explanation:
    """Why a record was (or would be) allowed or denied by a NACL.

    Attributes:
        verdict: One sentence: ``denied by NACL acl-… rule 100 (egress deny 10.20.1.0/24 all)
            on subnet-… app-tgw-c``, ``allowed by NACL …; check security groups``, or
            ``no NACL found …``.
        nacl_id: The NACL that decided, or None.
        subnet_id: The subnet whose NACL that is, or None.
        rule: The deciding entry (the synthesized ``*`` rule for a default deny), or None.
        direction: The direction evaluated on that NACL.
        evaluated: Every entry of that NACL in that direction, in evaluation order, each with
            whether it matched; for showing the rule list with the decisive one highlighted.
    """

    verdict: str
    nacl_id: str | None
    subnet_id: str | None
    rule: NaclEntry | None
    direction: Direction
    evaluated: tuple[tuple[NaclEntry, bool], ...]
    security_groups: tuple[str, ...] = ()
    sg_denied: bool = False

    @property
    def denied(self) -> bool:
        """True when a NACL rule, or the interface's security groups, deny the packet."""
        return (self.rule is not None and self.rule.action == "deny") or self.sg_denied


def _rule_label(entry: NaclEntry) -> str:
    return "*" if entry.is_default else str(entry.rule_number)


def _hop(
    topology: Topology,
    subnet: SubnetInfo,
    *,
    egress: bool,
    record: FlowRecord,
    remote_ip: str,
) -> Explanation:
    direction: Direction = "egress" if egress else "ingress"
    nacl_id = subnet.nacl_id
    where = f"{subnet.subnet_id} {subnet.name}" if subnet.name else subnet.subnet_id
    if nacl_id is None or nacl_id not in topology.nacls:
        return Explanation(
            f"no NACL found for {where}", nacl_id, subnet.subnet_id, None, direction, ()
        )
    entries = topology.nacls[nacl_id]
    port = record.dstport
    action, rule = evaluate_nacl(
        entries, egress=egress, protocol=record.protocol, remote_ip=remote_ip, port=port
    )
    ordered = sorted((e for e in entries if e.egress == egress), key=lambda e: e.rule_number)
    evaluated = tuple(
        (
            e,
            entry_matches(
                e, egress=egress, protocol=record.protocol, remote_ip=remote_ip, port=port
            ),
        )
        for e in ordered
    )
    if rule is not None and rule.is_default and not any(e.is_default for e in ordered):
        evaluated += ((rule, True),)
    if rule is None:
        verdict = f"no NACL decision: {remote_ip!r} is not an IP address"
    else:
        label = _rule_label(rule)
        what = rule.describe()
        if rule.is_default:
            what = f"{direction} default deny"
        verb = "denied" if action == "deny" else "allowed"
        verdict = f"{verb} by NACL {nacl_id} rule {label} ({what}) on {where}"
        if action == "allow":
            verdict += "; check security groups"
    return Explanation(verdict, nacl_id, subnet.subnet_id, rule, direction, evaluated)


def _hops(
    record: FlowRecord, topology: Topology, eni: EniInfo | None
) -> list[tuple[SubnetInfo, bool, str]]:
    """The (subnet, egress?, remote address) NACL evaluations that the packet went through."""
    src, dst = record.srcaddr or "", record.dstaddr or ""
    subnet = None
    vpc = eni.vpc_id if eni is not None else record.vpc_id
    if eni is not None:
        subnet = topology.subnets.get(eni.subnet_id)
    elif record.subnet_id:
        subnet = topology.subnets.get(record.subnet_id)
    if eni is not None and dst in eni.private_ips:
        return [(subnet, False, src)] if subnet else []
    if eni is not None and src in eni.private_ips:
        return [(subnet, True, dst)] if subnet else []
    if eni is None and subnet is None:
        # No interface context: the record's own direction, on the subnet holding our side.
        if record.flow_direction == "egress":
            s = topology.subnet_of_ip(src, vpc)
            return [(s, True, dst)] if s else []
        s = topology.subnet_of_ip(dst, vpc)
        return [(s, False, src)] if s else []
    # A pass-through interface (Transit Gateway attachment, NAT, appliance): neither address is
    # its own. Traffic towards a VPC subnet leaves this subnet (egress here, ingress there);
    # traffic from a VPC subnet entered this subnet (egress there, ingress here).
    own = subnet.subnet_id if subnet else None
    dst_subnet = topology.subnet_of_ip(dst, vpc)
    src_subnet = topology.subnet_of_ip(src, vpc)
    hops: list[tuple[SubnetInfo, bool, str]] = []
    if dst_subnet is not None and dst_subnet.subnet_id != own:
        if subnet:
            hops.append((subnet, True, dst))
        hops.append((dst_subnet, False, src))
    elif src_subnet is not None and src_subnet.subnet_id != own:
        hops.append((src_subnet, True, dst))
        if subnet:
            hops.append((subnet, False, src))
    elif subnet is not None:
        egress = record.flow_direction == "egress"
        hops.append((subnet, egress, dst if egress else src))
    return hops


def sg_rule_matches(
    rule: SgRule,
    *,
    protocol: int | None,
    remote_ip: str,
    port: int | None,
    topology: Topology | None = None,
) -> bool | None:
    """Does this allow rule cover the packet? None when it cannot be told (a prefix list)."""
    rule_proto = _protocol_number(rule.protocol)
    if (
        rule.protocol != "-1"
        and rule_proto is not None
        and protocol is not None
        and rule_proto != protocol
    ):
        return False
    ranged = rule.protocol != "-1" and rule_proto in (6, 17) and rule.port_from not in (None, -1)
    if ranged:
        low = int(rule.port_from or 0)
        high = int(rule.port_to) if rule.port_to is not None else low
        if port is None or not low <= port <= high:
            return False
    try:
        addr = ipaddress.ip_address(remote_ip)
    except ValueError:
        return False
    for cidr in rule.cidrs:
        net = _net(cidr)
        if net is not None and addr.version == net.version and addr in net:
            return True
    if rule.groups and topology is not None:
        for eni in topology.enis.values():
            if remote_ip in eni.private_ips and set(eni.security_group_ids) & set(rule.groups):
                return True
    return None if rule.prefix_lists else False


def evaluate_security_groups(
    group_ids: tuple[str, ...],
    topology: Topology,
    *,
    egress: bool,
    protocol: int | None,
    remote_ip: str,
    port: int | None,
) -> tuple[bool | None, SgRule | None]:
    """Would these security groups allow a *new* connection? (allowed?, the rule that allows).

    Security groups only allow, and are stateful: replies to an allowed connection pass whatever
    the rules say, so this answers for the packet as the first of its conversation. None when
    the groups are not loaded or a rule cannot be evaluated.
    """
    if not group_ids or any(g not in topology.security_groups for g in group_ids):
        return None, None
    unknown = False
    for gid in group_ids:
        for rule in topology.security_groups[gid]:
            if rule.egress != egress:
                continue
            hit = sg_rule_matches(
                rule, protocol=protocol, remote_ip=remote_ip, port=port, topology=topology
            )
            if hit:
                return True, rule
            unknown = unknown or hit is None
    return (None if unknown else False), None


def _with_security_groups(exp: Explanation, record: FlowRecord, topology: Topology) -> Explanation:
    """After a NACL allowed a REJECTed packet, ask the interface's security groups."""
    eni = topology.enis.get(record.interface_id or "")
    if eni is None or exp.denied or not eni.security_group_ids:
        return exp
    src, dst = record.srcaddr or "", record.dstaddr or ""
    if dst in eni.private_ips:
        egress, remote, port = False, src, record.dstport
    elif src in eni.private_ips:
        egress, remote, port = True, dst, record.dstport
    else:
        return exp
    allowed, rule = evaluate_security_groups(
        eni.security_group_ids,
        topology,
        egress=egress,
        protocol=record.protocol,
        remote_ip=remote,
        port=port,
    )
    groups = ", ".join(eni.security_group_ids)
    if allowed is False:
        proto = {6: "tcp", 17: "udp", 1: "icmp"}.get(record.protocol or -1, str(record.protocol))
        way = "outbound" if egress else "inbound"
        peer = f"to {remote}" if egress else f"from {remote}"
        verdict = (
            f"{exp.verdict.replace('; check security groups', '')}; denied by security groups "
            f"{groups}: no {way} rule allows {proto}/{port} {peer}"
        )
        return replace(exp, verdict=verdict, security_groups=eni.security_group_ids, sg_denied=True)
    if allowed and rule is not None:
        verdict = exp.verdict.replace(
            "; check security groups",
            f"; security groups allow it ({rule.group_id} {rule.describe()})",
        )
        return replace(exp, verdict=verdict, security_groups=eni.security_group_ids)
    return exp


def explain(record: FlowRecord, topology: Topology) -> Explanation:
    """Name the NACL rule that decides a record's packet, on the interface that logged it.

    On an instance's ENI the direction follows the addresses: ``ingress`` when the destination is
    the ENI's address, ``egress`` when the source is. On a pass-through ENI (a Transit Gateway
    attachment's, whose address is neither), traffic heading into a VPC subnet is checked against
    the egress rules of the ENI's subnet and then the ingress rules of the destination subnet;
    traffic coming from a VPC subnet against that subnet's egress and this subnet's ingress rules
    (AWS's documented evaluation for transit gateways). The first deny found is reported.

    Args:
        record: A flow record (usually a REJECT).
        topology: The loaded topology.

    Returns:
        The :class:`Explanation`; its verdict says ``no NACL found`` when the interface or its
        subnet is not in the topology.
    """
    eni = topology.enis.get(record.interface_id or "")
    hops = _hops(record, topology, eni)
    if not hops:
        direction: Direction = "egress" if record.flow_direction == "egress" else "ingress"
        what = record.interface_id or "this record"
        return Explanation(
            f"no NACL found: {what} is not in the loaded topology", None, None, None, direction, ()
        )
    first: Explanation | None = None
    for subnet, egress, remote in hops:
        exp = _hop(topology, subnet, egress=egress, record=record, remote_ip=remote)
        if exp.denied:
            return exp
        if first is None:
            first = exp
    assert first is not None
    return _with_security_groups(first, record, topology)
