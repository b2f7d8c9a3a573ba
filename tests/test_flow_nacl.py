"""NACL evaluation as AWS does it (rule order, ``*`` default deny, ports, protocols, ICMP, IPv6),
and :func:`explain` choosing the right subnet and direction for a REJECT."""

from __future__ import annotations

import pytest

from tui.models.flowlog import FlowLogParser
from tui.models.nacl import DEFAULT_RULE, evaluate_nacl, explain
from tui.models.network import EniInfo, NaclEntry, SubnetInfo, Topology

E = NaclEntry

RULES = (
    E(200, False, "allow", "0.0.0.0/0", "-1"),
    E(90, False, "deny", "10.20.2.0/24", "-1"),
    E(100, False, "allow", "10.20.0.0/16", "6", 443, 443),
    E(110, False, "allow", "10.20.0.0/16", "17", 1024, 65535),
    E(120, False, "deny", "10.30.0.0/16", "1", icmp_type=8, icmp_code=-1),
    E(130, False, "allow", "10.30.0.0/16", "1", icmp_type=-1, icmp_code=-1),
    E(100, True, "deny", "192.168.0.0/16", "6", 22, 22),
    E(110, True, "allow", "192.168.0.0/16", "-1"),
    E(50, False, "deny", "2001:db8:bad::/48", "-1"),
    E(60, False, "allow", "2001:db8::/32", "6", 80, 80),
)


@pytest.mark.parametrize(
    ("egress", "protocol", "remote", "port", "icmp", "action", "rule"),
    [
        # Rule order: 90 (deny the /24) comes before 100 and 200.
        (False, 6, "10.20.2.5", 443, None, "deny", 90),
        (False, 6, "10.20.1.5", 443, None, "allow", 100),
        # Port range edges and outside the range.
        (False, 17, "10.20.1.5", 1024, None, "allow", 110),
        (False, 17, "10.20.1.5", 65535, None, "allow", 110),
        (False, 17, "10.20.1.5", 53, None, "allow", 200),  # falls to the protocol -1 rule
        (False, 6, "10.20.1.5", 444, None, "allow", 200),
        # Protocol -1 matches everything, also an unknown protocol.
        (False, None, "8.8.8.8", None, None, "allow", 200),
        (False, 47, "10.20.2.9", None, None, "deny", 90),
        # ICMP: a type-specific rule needs the type; -1 matches all types.
        (False, 1, "10.30.1.1", None, 8, "deny", 120),
        (False, 1, "10.30.1.1", None, 0, "allow", 130),
        (False, 1, "10.30.1.1", None, None, "allow", 130),
        # Egress rules are separate; no match -> the * rule denies.
        (True, 6, "192.168.1.1", 22, None, "deny", 100),
        (True, 6, "192.168.1.1", 443, None, "allow", 110),
        (True, 6, "8.8.8.8", 443, None, "deny", DEFAULT_RULE),
        # IPv6 entries only match IPv6 addresses; no IPv6 catch-all here -> default deny.
        (False, 6, "2001:db8:bad::1", 80, None, "deny", 50),
        (False, 6, "2001:db8:1::1", 80, None, "allow", 60),
        (False, 6, "2001:db8:1::1", 81, None, "deny", DEFAULT_RULE),
    ],
)
def test_evaluate_nacl(
    egress: bool,
    protocol: int | None,
    remote: str,
    port: int | None,
    icmp: int | None,
    action: str,
    rule: int,
) -> None:
    got, entry = evaluate_nacl(
        RULES, egress=egress, protocol=protocol, remote_ip=remote, port=port, icmp_type=icmp
    )
    assert (got, entry.rule_number if entry else None) == (action, rule)


def test_default_rule_matches_the_address_family() -> None:
    _, v4 = evaluate_nacl((), egress=False, protocol=6, remote_ip="1.2.3.4", port=1)
    _, v6 = evaluate_nacl((), egress=True, protocol=6, remote_ip="2001:db8::1", port=1)
    assert v4 is not None and v4.cidr == "0.0.0.0/0" and not v4.egress
    assert v6 is not None and v6.cidr == "::/0" and v6.egress
    assert evaluate_nacl((), egress=False, protocol=6, remote_ip="nope", port=1) == ("deny", None)


def test_protocol_names_in_entries() -> None:
    entries = (E(10, False, "deny", "0.0.0.0/0", "tcp", 22, 22),)
    assert (
        evaluate_nacl(entries, egress=False, protocol=6, remote_ip="1.1.1.1", port=22)[0] == "deny"
    )


# --- explain ---------------------------------------------------------------------------------

V5 = "version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction"


def _topology() -> Topology:
    subnets = {
        "subnet-a": SubnetInfo(
            "subnet-a", "vpc-1", "10.20.1.0/24", "us-east-1a", "use1-az1", "acl-a", "app-a"
        ),
        "subnet-c": SubnetInfo(
            "subnet-c", "vpc-1", "10.20.3.0/24", "us-east-1c", "use1-az3", "acl-c", "app-c"
        ),
        "subnet-tc": SubnetInfo(
            "subnet-tc", "vpc-1", "10.20.255.16/28", "us-east-1c", "use1-az3", "acl-c", "tgw-c"
        ),
    }
    no_cross = {
        "acl-a": (
            E(100, False, "deny", "10.20.3.0/24", "-1"),
            E(100, True, "deny", "10.20.3.0/24", "-1"),
            E(200, False, "allow", "0.0.0.0/0", "-1"),
            E(200, True, "allow", "0.0.0.0/0", "-1"),
        ),
        "acl-c": (
            E(100, False, "deny", "10.20.1.0/24", "-1"),
            E(100, True, "deny", "10.20.1.0/24", "-1"),
            E(200, False, "allow", "0.0.0.0/0", "-1"),
            E(200, True, "allow", "0.0.0.0/0", "-1"),
        ),
    }
    enis = {
        "eni-web": EniInfo(
            "eni-web",
            "i-web",
            "subnet-a",
            "vpc-1",
            "us-east-1a",
            "use1-az1",
            ("10.20.1.10",),
            None,
            "Primary network interface",
            "interface",
            ("sg-1",),
        ),
        "eni-tgwc": EniInfo(
            "eni-tgwc",
            None,
            "subnet-tc",
            "vpc-1",
            "us-east-1c",
            "use1-az3",
            ("10.20.255.20",),
            "tgw-attach-1",
            "Network Interface for Transit Gateway Attachment tgw-attach-1",
            "transit_gateway",
            (),
        ),
    }
    return Topology(enis=enis, subnets=subnets, nacls=no_cross, names={"i-web": "web-01"})


def _rec(line: str):
    rec = FlowLogParser(V5.split()).feed_line(line)
    assert rec is not None
    return rec


def test_explain_return_leg_on_the_other_az_attachment_is_its_subnet_egress_rule() -> None:
    rec = _rec("5 eni-tgwc 192.168.100.10 10.20.1.10 5432 40000 6 4 240 1 2 REJECT OK ingress")
    exp = explain(rec, _topology())
    assert exp.denied and exp.nacl_id == "acl-c" and exp.subnet_id == "subnet-tc"
    assert exp.direction == "egress" and exp.rule is not None and exp.rule.rule_number == 100
    assert exp.verdict.startswith("denied by NACL acl-c rule 100 (egress deny 10.20.1.0/24 all)")
    assert [e.rule_number for e, _ in exp.evaluated] == [100, 200]


def test_explain_direction_from_the_enis_own_address() -> None:
    topo = _topology()
    ingress = explain(_rec("5 eni-web 10.20.3.7 10.20.1.10 1 22 6 1 40 1 2 REJECT OK -"), topo)
    assert (ingress.direction, ingress.nacl_id, ingress.rule.rule_number) == (
        "ingress",
        "acl-a",
        100,
    )  # type: ignore[union-attr]
    egress = explain(_rec("5 eni-web 10.20.1.10 10.20.3.7 22 1 6 1 40 1 2 REJECT OK -"), topo)
    assert (egress.direction, egress.rule.rule_number) == ("egress", 100)  # type: ignore[union-attr]
    allowed = explain(_rec("5 eni-web 45.1.1.1 10.20.1.10 1 22 6 1 40 1 2 REJECT OK -"), topo)
    assert not allowed.denied and allowed.verdict.endswith("check security groups")


def test_explain_without_topology_says_so() -> None:
    exp = explain(_rec("5 eni-zzz 1.1.1.1 2.2.2.2 1 2 6 1 40 1 2 REJECT OK -"), Topology())
    assert exp.verdict.startswith("no NACL found") and exp.rule is None


def test_topology_helpers() -> None:
    topo = _topology()
    assert topo.annotate("eni-web") == "i-web web-01 / subnet-a / use1-az1"
    assert topo.annotate("eni-tgwc") == "tgw-attach-1 (AZ us-east-1c)"
    assert topo.annotate("eni-unknown") == "eni-unknown"
    assert topo.subnet_of_ip("10.20.255.17").subnet_id == "subnet-tc"  # type: ignore[union-attr]
    assert topo.subnet_of_ip("10.99.0.1") is None
    assert topo.eni_az() == {"eni-web": "use1-az1", "eni-tgwc": "use1-az3"}
    assert topo.vpcs_without_flow_logs() == ["vpc-1"]
