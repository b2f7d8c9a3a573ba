"""Resource focus: what "everything about i-0abc" means in each pane.

Focusing an instance must scope all three panes to it *and what belongs to it*: its volumes and
their KMS keys (incident 1's denials name the key and the volume, not the instance), its network
interfaces (flow logs are per ENI), and, for a VPC, the Transit Gateway attachment interfaces
through which its return traffic arrives (incident 3). This module computes that closure from
the inventory and the topology the panes already loaded, and the two predicates the panes apply.
Pure: no UI, no network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tui.models.inventory import InstanceInfo
from tui.models.network import Topology


@dataclass(frozen=True)
class FocusScope:
    """The focused resource and every identifier that belongs to it."""

    resource_id: str
    ids: frozenset[str]
    eni_ids: frozenset[str]

    def describe(self) -> str:
        """``i-0abc (+5 related)`` for the header and the panes' status lines."""
        extra = len(self.ids) - 1
        return f"{self.resource_id} (+{extra} related)" if extra > 0 else self.resource_id


def _key_forms(key: str | None) -> set[str]:
    """A KMS key as CloudTrail may name it: the ARN, or the bare key id."""
    if not key:
        return set()
    forms = {key}
    if ":key/" in key:
        forms.add(key.rsplit("/", 1)[-1])
    return forms


def scope_for(
    resource_id: str,
    instances: Iterable[InstanceInfo] = (),
    topology: Topology | None = None,
) -> FocusScope:
    """Everything that belongs to ``resource_id``, as far as the loaded data tells.

    Instances bring their volumes, KMS keys and ENIs; a volume brings its instance's ENIs and
    its key; an ENI its instance; a subnet or VPC every ENI in it (TGW attachment ENIs included).
    Unknown IDs scope to themselves only.
    """
    ids: set[str] = {resource_id}
    enis: set[str] = set()
    instances = list(instances)

    def add_instance(inst: InstanceInfo) -> None:
        ids.add(inst.instance_id)
        for vol in inst.volumes:
            ids.add(vol.volume_id)
            ids.update(_key_forms(vol.kms_key_id))
        enis.update(inst.eni_ids)

    for inst in instances:
        if (
            inst.instance_id == resource_id
            or any(v.volume_id == resource_id for v in inst.volumes)
            or resource_id in inst.eni_ids
        ):
            add_instance(inst)
    if topology is not None:
        for eni in topology.enis.values():
            if resource_id in {eni.eni_id, eni.instance_id, eni.subnet_id, eni.vpc_id} or (
                eni.tgw_attachment_id and eni.tgw_attachment_id == resource_id
            ):
                enis.add(eni.eni_id)
                if eni.instance_id:
                    ids.add(eni.instance_id)
            elif eni.instance_id and eni.instance_id in ids:
                enis.add(eni.eni_id)
        if resource_id.startswith(("vpc-", "subnet-")):
            vpc = resource_id
            if resource_id.startswith("subnet-") and resource_id in topology.subnets:
                vpc = topology.subnets[resource_id].vpc_id
            for eni in topology.enis.values():
                # Return traffic enters a VPC through its TGW attachment interfaces.
                if eni.vpc_id == vpc and eni.tgw_attachment_id:
                    enis.add(eni.eni_id)
    ids.update(enis)
    return FocusScope(resource_id, frozenset(ids), frozenset(enis))


def event_in_scope(event: Any, scope: FocusScope) -> bool:
    """True when a CloudTrail event names any identifier of the scope among its resources."""
    resources = getattr(event, "resources", ()) or ()
    for res in resources:
        if res in scope.ids:
            return True
        tail = str(res).rsplit("/", 1)[-1]
        if tail in scope.ids:
            return True
    return False


def flow_in_scope(record: Any, scope: FocusScope) -> bool:
    """True when a flow record was logged on one of the scope's interfaces (or its instance)."""
    eni = getattr(record, "interface_id", None)
    if eni and eni in scope.eni_ids:
        return True
    instance = getattr(record, "instance_id", None)
    return bool(instance and instance in scope.ids)
