"""Resource focus: the closure of what belongs to a resource, and the pane predicates."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tui.models.focus import event_in_scope, flow_in_scope, scope_for
from tui.models.inventory import InstanceInfo, VolumeInfo
from tui.models.network import EniInfo, SubnetInfo, Topology

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def volume(vid: str, key: str | None) -> VolumeInfo:
    return VolumeInfo(vid, "/dev/xvda", "gp3", 100, 3000, 125, key is not None, key, "in-use")


def instance(iid: str, vols: tuple[VolumeInfo, ...], enis: tuple[str, ...]) -> InstanceInfo:
    return InstanceInfo(
        instance_id=iid,
        name=iid,
        instance_type="m5.large",
        state="stopped",
        state_reason_code=None,
        state_reason_message=None,
        state_transition_reason=None,
        az="us-east-1a",
        subnet_id="subnet-a",
        vpc_id="vpc-1",
        private_ip="10.20.1.10",
        iam_instance_profile=None,
        security_group_ids=(),
        volumes=vols,
        eni_ids=enis,
        launch_time=None,
        ebs_optimized=True,
        raw={},
    )


def eni(eid: str, inst: str | None, subnet: str, tgw: str | None = None) -> EniInfo:
    return EniInfo(
        eid,
        inst,
        subnet,
        "vpc-1",
        "us-east-1a",
        "use1-az6",
        ("10.0.0.1",),
        tgw,
        "",
        "interface",
        (),
    )


BAD = instance("i-bad", (volume("vol-bad", KEY),), ("eni-bad",))
GOOD = instance("i-good", (volume("vol-good", None),), ("eni-good",))
TOPO = Topology(
    enis={
        "eni-bad": eni("eni-bad", "i-bad", "subnet-a"),
        "eni-good": eni("eni-good", "i-good", "subnet-a"),
        "eni-tgw-c": eni("eni-tgw-c", None, "subnet-tgw-c", "tgw-attach-1"),
    },
    subnets={
        "subnet-a": SubnetInfo(
            "subnet-a", "vpc-1", "10.20.1.0/24", "us-east-1a", "use1-az6", None, None
        )
    },
)


@pytest.mark.parametrize(
    ("focus", "must", "must_not"),
    [
        (
            "i-bad",
            {"i-bad", "vol-bad", KEY, "1234abcd-12ab-34cd-56ef-1234567890ab", "eni-bad"},
            {"i-good", "vol-good"},
        ),
        ("vol-bad", {"i-bad", "vol-bad", KEY, "eni-bad"}, {"i-good"}),
        ("eni-good", {"i-good", "vol-good", "eni-good"}, {"i-bad", KEY}),
        ("vpc-1", {"eni-bad", "eni-good", "eni-tgw-c"}, set()),
        ("i-unknown", {"i-unknown"}, {"i-bad", "eni-bad"}),
    ],
)
def test_scope_closure(focus: str, must: set[str], must_not: set[str]) -> None:
    scope = scope_for(focus, [BAD, GOOD], TOPO)
    assert must <= scope.ids
    assert not (must_not & scope.ids)


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (("i-bad",), True),
        ((KEY,), True),  # the KMS denial names the key, not the instance
        (("1234abcd-12ab-34cd-56ef-1234567890ab",), True),
        (("arn:aws:ec2:us-east-1:123456789012:volume/vol-bad",), True),
        (("i-good",), False),
        ((), False),
    ],
)
def test_event_in_scope(resources: tuple[str, ...], expected: bool) -> None:
    scope = scope_for("i-bad", [BAD, GOOD], TOPO)
    assert event_in_scope(SimpleNamespace(resources=resources), scope) is expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (SimpleNamespace(interface_id="eni-bad", instance_id=None), True),
        (SimpleNamespace(interface_id="eni-x", instance_id="i-bad"), True),
        (SimpleNamespace(interface_id="eni-good", instance_id="i-good"), False),
        (SimpleNamespace(interface_id=None, instance_id=None), False),
    ],
)
def test_flow_in_scope(record: object, expected: bool) -> None:
    assert flow_in_scope(record, scope_for("i-bad", [BAD, GOOD], TOPO)) is expected


def test_describe_counts_related() -> None:
    assert scope_for("i-unknown").describe() == "i-unknown"
    assert scope_for("i-bad", [BAD], TOPO).describe().startswith("i-bad (+")
