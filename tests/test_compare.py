"""Compare with a healthy twin: pure rows and ordering (incident 1: only the KMS key differs)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tui.models.compare import KeyInfo, TwinSide, compare, differences, verdict
from tui.models.inventory import instance_from_api, resolve_instance
from tui.models.network import NaclEntry

CMK = "arn:aws:kms:us-east-1:123456789012:key/1111"
AWS_EBS = "arn:aws:kms:us-east-1:123456789012:key/2222"
KEYS = {
    CMK: KeyInfo(CMK, "alias/app-ebs", "CUSTOMER", "Enabled"),
    AWS_EBS: KeyInfo(AWS_EBS, "alias/aws/ebs", "AWS", "Enabled"),
}
NACL = (
    NaclEntry(100, False, "deny", "10.20.3.0/24", "-1"),
    NaclEntry(200, False, "allow", "0.0.0.0/0", "-1"),
    NaclEntry(32767, True, "deny", "0.0.0.0/0", "-1"),
)


def api_instance(iid: str, name: str, ip: str, eni: str, **over: Any) -> dict[str, Any]:
    item = {
        "InstanceId": iid,
        "InstanceType": "m5.large",
        "ImageId": "ami-1",
        "State": {"Name": "running"},
        "Placement": {"AvailabilityZone": "us-east-1a", "Tenancy": "default"},
        "SubnetId": "subnet-a",
        "VpcId": "vpc-1",
        "PrivateIpAddress": ip,
        "LaunchTime": f"2026-11-28T0{len(iid) % 9}:00:00+00:00",
        "EbsOptimized": True,
        "KeyName": "ops",
        "Architecture": "x86_64",
        "SecurityGroups": [{"GroupId": "sg-batch"}],
        "NetworkInterfaces": [
            {"NetworkInterfaceId": eni, "Attachment": {"DeviceIndex": 0}, "Groups": []}
        ],
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": f"vol-{iid}"}}],
        "Tags": [{"Key": "Name", "Value": name}],
    }
    item.update(over)
    return item


def api_volume(iid: str, key: str | None, **over: Any) -> dict[str, Any]:
    vol = {
        "VolumeId": f"vol-{iid}",
        "VolumeType": "gp3",
        "Size": 100,
        "Iops": 3000,
        "Throughput": 125,
        "Encrypted": key is not None,
        "State": "in-use",
        "Attachments": [{"InstanceId": iid, "Device": "/dev/xvda"}],
    }
    if key:
        vol["KmsKeyId"] = key
    vol.update(over)
    return vol


def side(
    iid: str,
    name: str,
    ip: str,
    eni: str,
    key: str | None,
    inst: dict[str, Any] | None = None,
    vol: dict[str, Any] | None = None,
    **side_over: Any,
) -> TwinSide:
    info = instance_from_api(
        api_instance(iid, name, ip, eni, **(inst or {})), [api_volume(iid, key, **(vol or {}))]
    )
    base: dict[str, Any] = {
        "instance": info,
        "keys": KEYS,
        "security_groups": {"sg-batch": "app-batch"},
        "subnet_cidr": "10.20.1.0/24",
        "nacl_id": "acl-1",
        "nacl_entries": NACL,
    }
    base.update(side_over)
    return TwinSide(**base)


def incident_pair() -> tuple[TwinSide, TwinSide]:
    bad = side(
        "i-bad",
        "app-batch-01",
        "10.20.1.41",
        "eni-bad",
        CMK,
        inst={
            "State": {"Name": "stopped"},
            "StateReason": {"Code": "Client.InternalError", "Message": "Client error on launch"},
        },
        metrics={"CPU 60m": "no data"},
    )
    good = side(
        "i-good", "app-batch-02", "10.20.1.42", "eni-good", AWS_EBS, metrics={"CPU 60m": "avg 40%"}
    )
    return bad, good


def test_incident_1_twins_differ_only_by_the_kms_key_and_it_comes_first() -> None:
    rows = compare(*incident_pair())
    diffs = differences(rows)
    assert [d.attribute for d in diffs] == ["/dev/xvda KMS key"]
    first = rows[0]
    assert first.attribute == "/dev/xvda KMS key" and first.differs
    assert first.left == "alias/app-ebs (customer-managed)"
    assert first.right == "alias/aws/ebs (AWS-managed)"
    assert "kms:CreateGrant" in first.note
    assert "only configuration difference" in verdict(rows)


def test_state_is_the_symptom_not_the_difference() -> None:
    rows = compare(*incident_pair())
    state = next(r for r in rows if r.attribute == "state")
    assert state.differs and state.kind == "symptom" and not state.meaningful
    # Symptoms come right after the configuration differences.
    kinds = [r.kind for r in rows if r.differs]
    assert kinds[0] == "config" and set(kinds[1:]) == {"symptom"}


@pytest.mark.parametrize(
    "attribute", ["instance", "ENI", "private IP", "launched", "/dev/xvda volume", "CPU 60m"]
)
def test_ids_and_metrics_that_always_differ_are_shown_but_not_flagged(attribute: str) -> None:
    rows = compare(*incident_pair())
    row = next(r for r in rows if r.attribute == attribute)
    assert row.left != row.right
    assert not row.differs


def test_identical_twins_flag_nothing() -> None:
    a = side("i-a", "twin-a", "10.0.0.1", "eni-a", AWS_EBS)
    b = side("i-b", "twin-b", "10.0.0.2", "eni-b", AWS_EBS)
    rows = compare(a, b)
    assert [r for r in rows if r.differs] == []
    assert verdict(rows) == "No configuration difference found."


@pytest.mark.parametrize(
    ("inst", "vol", "side_over", "expected"),
    [
        ({"InstanceType": "m5.xlarge"}, {}, {}, "type"),
        ({}, {"VolumeType": "gp2"}, {}, "/dev/xvda type"),
        ({}, {"Iops": 6000}, {}, "/dev/xvda IOPS"),
        ({}, {"Size": 200}, {}, "/dev/xvda size GiB"),
        (
            {"IamInstanceProfile": {"Arn": "arn:aws:iam::1:instance-profile/x"}},
            {},
            {},
            "instance profile",
        ),
        ({"Placement": {"AvailabilityZone": "us-east-1c", "Tenancy": "default"}}, {}, {}, "AZ"),
        ({"SecurityGroups": [{"GroupId": "sg-other"}]}, {}, {}, "groups"),
        ({}, {}, {"nacl_entries": NACL[1:]}, "in 100"),
    ],
)
def test_each_configuration_difference_is_flagged_first(
    inst: dict[str, Any], vol: dict[str, Any], side_over: dict[str, Any], expected: str
) -> None:
    a = side("i-a", "twin-a", "10.0.0.1", "eni-a", AWS_EBS)
    b = side("i-b", "twin-b", "10.0.0.2", "eni-b", AWS_EBS, inst=inst, vol=vol, **side_over)
    rows = compare(a, b)
    assert rows[0].attribute == expected and rows[0].meaningful
    assert [r.attribute for r in differences(rows)] == [expected]


def test_unencrypted_vs_encrypted_flags_both_rows_with_the_key_first() -> None:
    a = side("i-a", "a", "10.0.0.1", "eni-a", None)
    b = side("i-b", "b", "10.0.0.2", "eni-b", CMK)
    attrs = [r.attribute for r in differences(compare(a, b))]
    assert attrs == ["/dev/xvda KMS key", "/dev/xvda encrypted"]


def test_unknown_key_manager_still_shows_the_key() -> None:
    a = side("i-a", "a", "10.0.0.1", "eni-a", CMK, keys={})
    b = side("i-b", "b", "10.0.0.2", "eni-b", AWS_EBS, keys={})
    row = compare(a, b)[0]
    assert (row.left, row.right) == ("1111", "2222")


def test_aws_managed_detected_by_alias_even_when_manager_says_customer() -> None:
    # moto reports aws/ebs as CUSTOMER; the alias decides.
    assert KeyInfo(AWS_EBS, "alias/aws/ebs", "CUSTOMER").aws_managed is True
    assert KeyInfo(CMK, None, None).label() == "1111 (?)"
    assert (
        KeyInfo(CMK, "alias/x", "CUSTOMER", "Disabled").label()
        == "alias/x (customer-managed, Disabled)"
    )


def test_resolve_by_id_name_and_prefix() -> None:
    a, b = incident_pair()
    pool = [a.instance, b.instance]
    assert resolve_instance("i-good", pool) == [b.instance]
    assert resolve_instance("app-batch-01", pool) == [a.instance]
    assert len(resolve_instance("app-batch", pool)) == 2
    assert resolve_instance("nope", pool) == []


def test_volumes_on_one_side_only() -> None:
    a = side("i-a", "a", "10.0.0.1", "eni-a", AWS_EBS)
    inst_b = replace(a.instance, instance_id="i-b", volumes=())
    rows = compare(a, replace(a, instance=inst_b))
    assert rows[0].attribute == "/dev/xvda" and rows[0].right == "—"
