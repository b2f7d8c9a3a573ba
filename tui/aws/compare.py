"""Gather what :func:`tui.models.compare.compare` needs about an instance, through the one door.

For each instance: DescribeInstances + DescribeVolumes (:mod:`tui.aws.inventory`), KMS DescribeKey
and ListAliases for the volumes' keys (alias, customer- or AWS-managed), the subnet, its network
ACL and the security groups' names, and a short CloudWatch summary of the last hour. Everything but
the instance itself is optional: a refused call becomes a warning on the :class:`TwinSide`, so the
comparison still shows what could be read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tui.aws.errors import HamariError
from tui.aws.inventory import describe_instances, load_key_aliases
from tui.aws.network import nacl_entry_from_api
from tui.aws.session import Aws
from tui.models.compare import KeyInfo, TwinSide
from tui.models.inventory import InstanceInfo, resolve_instance


class InstanceNotFound(HamariError):
    """A name or id given to ``:compare`` matches no instance (or several)."""


async def resolve(aws: Aws, refs: Sequence[str]) -> list[InstanceInfo]:
    """The instances named by ``refs`` (ids or Name tags), in order.

    Raises:
        InstanceNotFound: When a reference matches no instance, or several.
    """
    if all(r.startswith("i-") for r in refs):
        found = {i.instance_id: i for i in await describe_instances(aws, list(refs))}
        pool = list(found.values())
    else:
        pool = await describe_instances(aws)
    out = []
    for ref in refs:
        hits = resolve_instance(ref, pool)
        if not hits:
            raise InstanceNotFound(f"No instance named or with id {ref!r} in {aws.region}.")
        if len(hits) > 1:
            ids = ", ".join(h.instance_id for h in hits[:4])
            raise InstanceNotFound(f"{ref!r} names {len(hits)} instances ({ids}); use an id.")
        out.append(hits[0])
    return out


async def _optional(coro: Any, what: str, warnings: list[str], default: Any) -> Any:
    try:
        return await coro
    except HamariError as err:
        warnings.append(f"{what}: {err.message}")
        return default


async def describe_keys(
    aws: Aws, key_ids: Sequence[str], warnings: list[str]
) -> dict[str, KeyInfo]:
    """KMS key ARN (as given) -> :class:`KeyInfo`; a refused DescribeKey leaves alias-only info."""
    if not key_ids:
        return {}
    aliases = await _optional(load_key_aliases(aws), "kms:ListAliases", warnings, {})

    async def one(key: str) -> tuple[str, KeyInfo]:
        key_id = key.rsplit("/", 1)[-1]
        try:
            meta = (await aws.call("kms", "DescribeKey", KeyId=key)).get("KeyMetadata", {})
        except HamariError as err:
            warnings.append(f"kms:DescribeKey {key_id}: {err.message}")
            return key, KeyInfo(arn=key, alias=aliases.get(key_id))
        key_id = str(meta.get("KeyId") or key_id)
        return key, KeyInfo(
            arn=str(meta.get("Arn") or key),
            alias=aliases.get(key_id),
            manager=meta.get("KeyManager"),
            state=meta.get("KeyState"),
        )

    pairs = await asyncio.gather(*(one(k) for k in dict.fromkeys(key_ids)))
    return dict(pairs)


async def _subnet_and_nacl(
    aws: Aws, inst: InstanceInfo, warnings: list[str]
) -> tuple[str | None, str | None, str | None, tuple[Any, ...]]:
    if not inst.subnet_id:
        return None, None, None, ()
    cidr = name = None
    subnets = await _optional(
        aws.call("ec2", "DescribeSubnets", SubnetIds=[inst.subnet_id]),
        "ec2:DescribeSubnets",
        warnings,
        {},
    )
    for s in subnets.get("Subnets", []) or []:
        cidr = s.get("CidrBlock")
        for tag in s.get("Tags", []) or []:
            if tag.get("Key") == "Name":
                name = str(tag.get("Value", ""))
    flt = [{"Name": "vpc-id", "Values": [inst.vpc_id or ""]}]
    acls = await _optional(
        aws.call("ec2", "DescribeNetworkAcls", Filters=flt),
        "ec2:DescribeNetworkAcls",
        warnings,
        {},
    )
    chosen = default = None
    for acl in acls.get("NetworkAcls", []) or []:
        if any(a.get("SubnetId") == inst.subnet_id for a in acl.get("Associations", []) or []):
            chosen = acl
        if acl.get("IsDefault"):
            default = acl
    acl = chosen or default
    if acl is None:
        return cidr, name, None, ()
    entries = tuple(nacl_entry_from_api(e) for e in acl.get("Entries", []) or [])
    return cidr, name, str(acl.get("NetworkAclId")), entries


async def _group_names(aws: Aws, group_ids: Sequence[str], warnings: list[str]) -> dict[str, str]:
    if not group_ids:
        return {}
    resp = await _optional(
        aws.call("ec2", "DescribeSecurityGroups", GroupIds=list(group_ids)),
        "ec2:DescribeSecurityGroups",
        warnings,
        {},
    )
    return {
        str(g.get("GroupId")): str(g.get("GroupName", ""))
        for g in resp.get("SecurityGroups", []) or []
    }


def _summary(values: Sequence[float], unit: str) -> str:
    if not values:
        return "no data"
    avg = sum(values) / len(values)
    return f"avg {avg:.0f}{unit} max {max(values):.0f}{unit}"


async def metrics_summary(
    aws: Aws, instance_id: str, now: datetime, minutes: int = 60
) -> dict[str, str]:
    """CPU and status checks of the last ``minutes``, as short text (one GetMetricData)."""
    dims = [{"Name": "InstanceId", "Value": instance_id}]
    queries = [
        {
            "Id": qid,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/EC2", "MetricName": metric, "Dimensions": dims},
                "Period": 300,
                "Stat": stat,
            },
        }
        for qid, metric, stat in (
            ("cpu", "CPUUtilization", "Average"),
            ("status", "StatusCheckFailed", "Maximum"),
        )
    ]
    end = now.astimezone(UTC)
    resp = await aws.call(
        "cloudwatch",
        "GetMetricData",
        MetricDataQueries=queries,
        StartTime=end - timedelta(minutes=minutes),
        EndTime=end,
    )
    aws.meter.quantities["metrics_requested"] += len(queries)
    found = {
        r.get("Id"): list(r.get("Values", []) or []) for r in resp.get("MetricDataResults", [])
    }
    status = found.get("status", [])
    return {
        f"CPU {minutes}m": _summary(found.get("cpu", []), "%"),
        f"status check {minutes}m": "no data"
        if not status
        else ("failed" if max(status) > 0 else "passed"),
    }


async def gather_side(
    aws: Aws, inst: InstanceInfo, *, now: Callable[[], datetime] | None = None
) -> TwinSide:
    """Everything compared about ``inst`` (already described)."""
    warnings: list[str] = []
    keys_ids = list(inst.kms_key_ids)
    clock = now or (lambda: datetime.now(UTC))
    keys, net, groups, metrics = await asyncio.gather(
        describe_keys(aws, keys_ids, warnings),
        _subnet_and_nacl(aws, inst, warnings),
        _group_names(aws, inst.security_group_ids, warnings),
        _optional(metrics_summary(aws, inst.instance_id, clock()), "metrics", warnings, None),
    )
    cidr, subnet_name, nacl_id, entries = net
    return TwinSide(
        instance=inst,
        keys=keys,
        security_groups=groups,
        subnet_cidr=cidr,
        subnet_name=subnet_name,
        nacl_id=nacl_id,
        nacl_entries=entries,
        metrics=metrics,
        warnings=tuple(warnings),
    )


async def gather_twins(
    aws: Aws, left: str, right: str, *, now: Callable[[], datetime] | None = None
) -> tuple[TwinSide, TwinSide]:
    """Resolve two instances (ids or names) and gather both sides concurrently."""
    a, b = await resolve(aws, [left, right])
    return await asyncio.gather(gather_side(aws, a, now=now), gather_side(aws, b, now=now))  # type: ignore[return-value]
