"""Describe EC2 instances with their EBS volumes, through the one door to AWS.

Compare, findings and focus need an instance's volumes with their KMS keys and limits, which
DescribeInstances does not return; one DescribeVolumes filtered by ``attachment.instance-id``
completes them. Both are paginated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tui.aws.session import Aws
from tui.models.inventory import InstanceInfo, instance_from_api

# DescribeVolumes accepts at most 200 values per filter.
_FILTER_CHUNK = 200


async def _instances_raw(aws: Aws, instance_ids: Sequence[str] | None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {}
    if instance_ids:
        params["InstanceIds"] = list(instance_ids)
    out: list[dict[str, Any]] = []
    async for page in aws.pages("ec2", "DescribeInstances", **params):
        for reservation in page.get("Reservations", []) or []:
            out.extend(reservation.get("Instances", []) or [])
    return out


async def _volumes_raw(aws: Aws, instance_ids: Sequence[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    ids = list(dict.fromkeys(instance_ids))
    for start in range(0, len(ids), _FILTER_CHUNK):
        chunk = ids[start : start + _FILTER_CHUNK]
        flt = [{"Name": "attachment.instance-id", "Values": chunk}]
        async for page in aws.pages("ec2", "DescribeVolumes", Filters=flt):
            out.extend(page.get("Volumes", []) or [])
    return out


async def describe_instances(
    aws: Aws, instance_ids: Sequence[str] | None = None
) -> list[InstanceInfo]:
    """Describe instances (all of the region's, or these) with their attached volumes.

    Args:
        aws: The open AWS access point.
        instance_ids: Only these instances; None or empty for every instance in the region.

    Returns:
        One :class:`InstanceInfo` per instance, in the order AWS returned them.

    Raises:
        HamariError: When DescribeInstances or DescribeVolumes fails (translated by the door).
    """
    items = await _instances_raw(aws, instance_ids)
    ids = [str(i.get("InstanceId")) for i in items if i.get("InstanceId")]
    volumes = await _volumes_raw(aws, ids) if ids else []
    return [instance_from_api(item, volumes) for item in items]


async def load_key_aliases(aws: Aws) -> dict[str, str]:
    """KMS key ID -> its first alias name (kms:ListAliases), to name keys as people know them."""
    out: dict[str, str] = {}
    async for page in aws.pages("kms", "ListAliases", token_in="Marker", token_out="NextMarker"):
        for alias in page.get("Aliases", []) or []:
            target = alias.get("TargetKeyId")
            if target and alias.get("AliasName"):
                out.setdefault(str(target), str(alias["AliasName"]))
    return out
