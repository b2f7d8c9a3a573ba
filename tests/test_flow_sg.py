"""Security groups in the REJECT explanation: allow-only, stateful, evaluated after the NACL."""

from __future__ import annotations

import pytest

from tui.aws.network import sg_rules_from_api
from tui.models.flowlog import FlowLogParser
from tui.models.nacl import evaluate_security_groups, explain
from tui.models.network import EniInfo, NaclEntry, SgRule, SubnetInfo, Topology

WEB_SG = {
    "GroupId": "sg-web",
    "IpPermissions": [
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
        },
        {
            "IpProtocol": "tcp",
            "FromPort": 22,
            "ToPort": 22,
            "UserIdGroupPairs": [{"GroupId": "sg-bastion"}],
        },
        {
            "IpProtocol": "tcp",
            "FromPort": 8080,
            "ToPort": 8080,
            "PrefixListIds": [{"PrefixListId": "pl-1"}],
        },
    ],
    "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
}


def eni(eid: str, ip: str, sgs: tuple[str, ...]) -> EniInfo:
    return EniInfo(
        eid, "i-1", "subnet-a", "vpc-1", "us-east-1a", "use1-az6", (ip,), None, "", "interface", sgs
    )


TOPO = Topology(
    enis={
        "eni-web": eni("eni-web", "10.0.1.10", ("sg-web",)),
        "eni-bastion": eni("eni-b", "10.0.9.9", ("sg-bastion",)),
    },
    subnets={
        "subnet-a": SubnetInfo(
            "subnet-a", "vpc-1", "10.0.1.0/24", "us-east-1a", "use1-az6", "acl-1", "app-a"
        )
    },
    nacls={
        "acl-1": (
            NaclEntry(100, False, "allow", "0.0.0.0/0", "-1", None, None),
            NaclEntry(100, True, "allow", "0.0.0.0/0", "-1", None, None),
        )
    },
    security_groups={"sg-web": sg_rules_from_api(WEB_SG), "sg-bastion": ()},
)


@pytest.mark.parametrize(
    ("remote", "port", "egress", "expected"),
    [
        ("198.51.100.7", 443, False, True),  # open to the world
        ("198.51.100.7", 3389, False, False),  # nothing allows RDP
        ("10.0.9.9", 22, False, True),  # from a member of the referenced group
        ("10.0.7.7", 22, False, False),  # not a member
        ("198.51.100.7", 8080, False, None),  # a prefix list: cannot tell
        ("203.0.113.1", 5432, True, True),  # all outbound allowed
    ],
)
def test_evaluate_security_groups(
    remote: str, port: int, egress: bool, expected: bool | None
) -> None:
    allowed, _rule = evaluate_security_groups(
        ("sg-web",), TOPO, egress=egress, protocol=6, remote_ip=remote, port=port
    )
    assert allowed is expected


def test_unloaded_groups_are_inconclusive() -> None:
    assert evaluate_security_groups(
        ("sg-missing",), TOPO, egress=False, protocol=6, remote_ip="1.2.3.4", port=1
    ) == (None, None)


def record(src: str, dst: str, dport: int, action: str = "REJECT"):
    line = (
        f"2 123456789012 eni-web {src} {dst} 40000 {dport} 6 1 44 1700000000 1700000060 {action} OK"
    )
    rec = FlowLogParser().feed_line(line)
    assert rec is not None
    return rec


def test_explain_names_the_security_group_when_the_nacl_allows() -> None:
    exp = explain(record("198.51.100.7", "10.0.1.10", 3389), TOPO)
    assert exp.denied and exp.sg_denied
    assert "allowed by NACL acl-1" in exp.verdict
    assert (
        "denied by security groups sg-web: no inbound rule allows tcp/3389 from 198.51.100.7"
        in exp.verdict
    )


def test_explain_says_which_rule_allows() -> None:
    exp = explain(record("198.51.100.7", "10.0.1.10", 443), TOPO)
    assert not exp.denied
    assert "security groups allow it (sg-web inbound tcp/443 from 0.0.0.0/0)" in exp.verdict


def test_sg_rule_describe() -> None:
    rule = SgRule("sg-1", False, "tcp", 1024, 65535, ("10.0.0.0/8",))
    assert rule.describe() == "inbound tcp/1024-65535 from 10.0.0.0/8"
