"""EC2 instances and their EBS volumes as plain frozen records.

Compare-with-a-twin, findings and the metrics limits all ask the same questions of an instance:
its type, state and state reason, where it lives, which profile and groups it carries, and which
volumes (with type, size, IOPS, throughput and KMS key) are attached. The builders here turn
DescribeInstances / DescribeVolumes items into those records. Pure: no network, no UI; AWS strings
are kept raw (display sanitizing happens where they are shown).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tui.models.text import name_label


@dataclass(frozen=True)
class VolumeInfo:
    """One EBS volume as attached to an instance.

    Attributes:
        volume_id: ``vol-…``.
        device: The device name on the instance (``/dev/xvda``), or ``""``.
        volume_type: ``gp3``, ``gp2``, ``io2``...
        size_gib: Size in GiB.
        iops: Provisioned (or baseline) IOPS, or None.
        throughput: Provisioned throughput in MiB/s (gp3), or None.
        encrypted: True when encrypted.
        kms_key_id: The KMS key ARN (or id) encrypting it, or None.
        state: ``in-use``, ``available``...
    """

    volume_id: str
    device: str
    volume_type: str
    size_gib: int
    iops: int | None
    throughput: int | None
    encrypted: bool
    kms_key_id: str | None
    state: str


@dataclass(frozen=True)
class InstanceInfo:
    """One EC2 instance with its volumes.

    Attributes:
        instance_id: ``i-…``.
        name: The Name tag, raw, or None.
        instance_type: ``m5.large``.
        state: ``running``, ``stopped``...
        state_reason_code: ``Client.InternalError`` and the like, or None.
        state_reason_message: The state reason's message, or None.
        state_transition_reason: The free-text transition reason, or None.
        az: The AZ name.
        subnet_id: Its subnet, or None (EC2-Classic, terminated).
        vpc_id: Its VPC, or None.
        private_ip: The primary private IPv4 address, or None.
        iam_instance_profile: The instance profile ARN, or None.
        security_group_ids: Every group of every interface, sorted, no duplicates.
        volumes: The attached EBS volumes, by device name.
        eni_ids: The network interfaces, primary first.
        launch_time: ``LaunchTime`` as ISO 8601 text, or None.
        ebs_optimized: The EbsOptimized flag.
        raw: The DescribeInstances item itself.
    """

    instance_id: str
    name: str | None
    instance_type: str
    state: str
    state_reason_code: str | None
    state_reason_message: str | None
    state_transition_reason: str | None
    az: str
    subnet_id: str | None
    vpc_id: str | None
    private_ip: str | None
    iam_instance_profile: str | None
    security_group_ids: tuple[str, ...]
    volumes: tuple[VolumeInfo, ...]
    eni_ids: tuple[str, ...]
    launch_time: str | None
    ebs_optimized: bool
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        """``i-… (name)`` or the id alone (also when the Name tag shows nothing)."""
        name = name_label(self.name, None)
        return f"{self.instance_id} ({name})" if name else self.instance_id

    @property
    def kms_key_ids(self) -> tuple[str, ...]:
        """The distinct KMS keys of its volumes, in volume order."""
        out: list[str] = []
        for v in self.volumes:
            if v.kms_key_id and v.kms_key_id not in out:
                out.append(v.kms_key_id)
        return tuple(out)


def tag_value(tags: Any, key: str = "Name") -> str | None:
    """The value of tag ``key`` in an AWS ``Tags`` list, or None."""
    for tag in tags or ():
        if isinstance(tag, dict) and tag.get("Key") == key:
            return str(tag.get("Value", ""))
    return None


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def volume_from_api(item: Mapping[str, Any], instance_id: str | None = None) -> VolumeInfo:
    """Build a :class:`VolumeInfo` from one DescribeVolumes item.

    Args:
        item: The volume.
        instance_id: Take the device name from the attachment to this instance.
    """
    device = ""
    for att in item.get("Attachments", []) or []:
        if instance_id is None or att.get("InstanceId") == instance_id:
            device = str(att.get("Device", "") or "")
            break
    return VolumeInfo(
        volume_id=str(item.get("VolumeId", "")),
        device=device,
        volume_type=str(item.get("VolumeType", "") or ""),
        size_gib=_int(item.get("Size")) or 0,
        iops=_int(item.get("Iops")),
        throughput=_int(item.get("Throughput")),
        encrypted=bool(item.get("Encrypted", False)),
        kms_key_id=_text(item.get("KmsKeyId")),
        state=str(item.get("State", "") or ""),
    )


def instance_from_api(
    item: Mapping[str, Any], volumes: Iterable[Mapping[str, Any]] = ()
) -> InstanceInfo:
    """Build an :class:`InstanceInfo` from one DescribeInstances item and its DescribeVolumes items.

    Volumes that the block-device mapping names but that DescribeVolumes did not return (refused,
    or gone) are kept as bare records with what the mapping says.
    """
    iid = str(item.get("InstanceId", ""))
    vols: dict[str, VolumeInfo] = {}
    for v in volumes:
        if any(a.get("InstanceId") == iid for a in v.get("Attachments", []) or []):
            info = volume_from_api(v, iid)
            vols[info.volume_id] = info
    for bdm in item.get("BlockDeviceMappings", []) or []:
        ebs = bdm.get("Ebs") or {}
        vid = ebs.get("VolumeId")
        if vid and vid not in vols:
            vols[str(vid)] = VolumeInfo(
                volume_id=str(vid),
                device=str(bdm.get("DeviceName", "") or ""),
                volume_type="",
                size_gib=0,
                iops=None,
                throughput=None,
                encrypted=False,
                kms_key_id=None,
                state=str(ebs.get("Status", "") or ""),
            )
    enis = sorted(
        item.get("NetworkInterfaces", []) or [],
        key=lambda n: _int((n.get("Attachment") or {}).get("DeviceIndex")) or 0,
    )
    groups = {str(g.get("GroupId")) for g in item.get("SecurityGroups", []) or [] if g}
    for eni in enis:
        groups |= {str(g.get("GroupId")) for g in eni.get("Groups", []) or [] if g}
    reason = item.get("StateReason") or {}
    profile = item.get("IamInstanceProfile") or {}
    return InstanceInfo(
        instance_id=iid,
        name=tag_value(item.get("Tags")),
        instance_type=str(item.get("InstanceType", "") or ""),
        state=str((item.get("State") or {}).get("Name", "") or ""),
        state_reason_code=_text(reason.get("Code")),
        state_reason_message=_text(reason.get("Message")),
        state_transition_reason=_text(item.get("StateTransitionReason")),
        az=str((item.get("Placement") or {}).get("AvailabilityZone", "") or ""),
        subnet_id=_text(item.get("SubnetId")),
        vpc_id=_text(item.get("VpcId")),
        private_ip=_text(item.get("PrivateIpAddress")),
        iam_instance_profile=_text(profile.get("Arn")),
        security_group_ids=tuple(sorted(g for g in groups if g and g != "None")),
        volumes=tuple(sorted(vols.values(), key=lambda v: (v.device, v.volume_id))),
        eni_ids=tuple(str(n.get("NetworkInterfaceId")) for n in enis),
        launch_time=_text(item.get("LaunchTime")),
        ebs_optimized=bool(item.get("EbsOptimized", False)),
        raw=dict(item),
    )


def resolve_instance(ref: str, instances: Iterable[InstanceInfo]) -> list[InstanceInfo]:
    """The instances that ``ref`` names: by id, else by exact Name tag, else by Name prefix."""
    pool = list(instances)
    exact = [i for i in pool if i.instance_id == ref]
    if exact:
        return exact
    named = [i for i in pool if i.name == ref]
    if named:
        return named
    return [i for i in pool if i.name and ref and i.name.startswith(ref)]
