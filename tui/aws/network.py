"""Load the network around flow records (ENIs, subnets, NACLs, TGW attachments, flow logs).

Flow records carry ENI ids and addresses; the user needs instance names, subnets, AZs, the NACL
rule that dropped a packet and a warning where no flow log is written. All of it comes from EC2's
Describe* APIs, paginated through :meth:`tui.aws.session.Aws.pages` (the one door to AWS), and
becomes the pure :class:`tui.models.network.Topology`. One API refused (AccessDenied on
DescribeNetworkAcls, say) leaves a warning and the rest of the topology, not an empty pane; only
DescribeNetworkInterfaces is essential.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal, cast

from tui.aws.errors import AccessDeniedError, HamariError
from tui.aws.session import Aws
from tui.models.flowlog import DEFAULT_FORMAT, parse_log_format
from tui.models.network import (
    FLOW_LOGS_PART,
    EniInfo,
    FlowLogConfig,
    NaclEntry,
    SgRule,
    SubnetInfo,
    Topology,
)


def _name(tags: Any) -> str | None:
    for tag in tags or ():
        if isinstance(tag, dict) and tag.get("Key") == "Name":
            return str(tag.get("Value", ""))
    return None


def _filters(vpc_ids: Sequence[str] | None) -> dict[str, Any]:
    return {"Filters": [{"Name": "vpc-id", "Values": list(vpc_ids)}]} if vpc_ids else {}


async def _collect(aws: Aws, op: str, key: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    async for page in aws.pages("ec2", op, **params):
        items.extend(page.get(key, []) or [])
    return items


def eni_from_api(item: dict[str, Any]) -> EniInfo:
    """Build an :class:`EniInfo` from one DescribeNetworkInterfaces item."""
    ips = [str(p.get("PrivateIpAddress")) for p in item.get("PrivateIpAddresses", []) or []]
    if item.get("PrivateIpAddress") and item["PrivateIpAddress"] not in ips:
        ips.insert(0, str(item["PrivateIpAddress"]))
    ips += [str(p.get("Ipv6Address")) for p in item.get("Ipv6Addresses", []) or []]
    description = str(item.get("Description", "") or "")
    interface_type = str(item.get("InterfaceType", "") or "interface")
    attachment = None
    if interface_type == "transit_gateway" or "Transit Gateway Attachment" in description:
        tail = description.rsplit(" ", 1)[-1]
        attachment = tail if tail.startswith("tgw-attach-") else None
    return EniInfo(
        eni_id=str(item["NetworkInterfaceId"]),
        instance_id=(item.get("Attachment") or {}).get("InstanceId"),
        subnet_id=str(item.get("SubnetId", "")),
        vpc_id=str(item.get("VpcId", "")),
        az=str(item.get("AvailabilityZone", "")),
        az_id=item.get("AvailabilityZoneId"),
        private_ips=tuple(ip for ip in ips if ip and ip != "None"),
        tgw_attachment_id=attachment,
        description=description,
        interface_type=interface_type,
        security_group_ids=tuple(str(g.get("GroupId")) for g in item.get("Groups", []) or []),
    )


def nacl_entry_from_api(item: dict[str, Any]) -> NaclEntry:
    """Build a :class:`NaclEntry` from one DescribeNetworkAcls ``Entries`` item."""
    ports = item.get("PortRange") or {}
    icmp = item.get("IcmpTypeCode") or {}
    action = str(item.get("RuleAction", "deny")).lower()
    return NaclEntry(
        rule_number=int(item.get("RuleNumber", 32767)),
        egress=bool(item.get("Egress", False)),
        action="allow" if action == "allow" else "deny",
        cidr=str(item.get("CidrBlock") or item.get("Ipv6CidrBlock") or ""),
        protocol=str(item.get("Protocol", "-1")),
        port_from=ports.get("From"),
        port_to=ports.get("To"),
        icmp_type=icmp.get("Type"),
        icmp_code=icmp.get("Code"),
    )


def sg_rules_from_api(group: dict[str, Any]) -> tuple[SgRule, ...]:
    """Build the :class:`SgRule` list of one DescribeSecurityGroups item."""
    gid = str(group.get("GroupId"))
    rules: list[SgRule] = []
    for egress, key in ((False, "IpPermissions"), (True, "IpPermissionsEgress")):
        for perm in group.get(key, []) or []:
            rules.append(
                SgRule(
                    group_id=gid,
                    egress=egress,
                    protocol=str(perm.get("IpProtocol", "-1")),
                    port_from=perm.get("FromPort"),
                    port_to=perm.get("ToPort"),
                    cidrs=tuple(
                        [
                            str(r.get("CidrIp"))
                            for r in perm.get("IpRanges", []) or []
                            if r.get("CidrIp")
                        ]
                        + [
                            str(r.get("CidrIpv6"))
                            for r in perm.get("Ipv6Ranges", []) or []
                            if r.get("CidrIpv6")
                        ]
                    ),
                    groups=tuple(
                        str(g.get("GroupId"))
                        for g in perm.get("UserIdGroupPairs", []) or []
                        if g.get("GroupId")
                    ),
                    prefix_lists=tuple(
                        str(p.get("PrefixListId"))
                        for p in perm.get("PrefixListIds", []) or []
                        if p.get("PrefixListId")
                    ),
                )
            )
    return tuple(rules)


def flow_log_from_api(item: dict[str, Any]) -> FlowLogConfig:
    """Build a :class:`FlowLogConfig` from one DescribeFlowLogs item."""
    log_format = str(item.get("LogFormat") or "")
    try:
        fields = parse_log_format(log_format) if log_format.strip() else DEFAULT_FORMAT
    except ValueError:
        fields = DEFAULT_FORMAT
    dest_type = str(item.get("LogDestinationType") or "cloud-watch-logs")
    options = item.get("DestinationOptions") or {}
    file_format = None
    if dest_type == "s3":
        file_format = "parquet" if options.get("FileFormat") == "parquet" else "plain-text"
    status = str(item.get("DeliverLogsStatus") or item.get("FlowLogStatus") or "")
    return FlowLogConfig(
        flow_log_id=str(item.get("FlowLogId", "")),
        resource_id=str(item.get("ResourceId", "")),
        destination_type=cast(
            Literal["cloud-watch-logs", "s3", "kinesis-data-firehose"], dest_type
        ),
        log_group=item.get("LogGroupName"),
        destination=item.get("LogDestination"),
        fields=fields,
        file_format=cast(Literal["plain-text", "parquet"] | None, file_format),
        hive=bool(options.get("HiveCompatiblePartitions", False)),
        traffic_type=str(item.get("TrafficType", "ALL")),
        per_hour=bool(options.get("PerHourPartition", False)),
        status=status,
        name=_name(item.get("Tags")),
    )


async def load_flow_logs(aws: Aws) -> tuple[FlowLogConfig, ...]:
    """Every flow log in the region (DescribeFlowLogs, paginated)."""
    items = await _collect(aws, "DescribeFlowLogs", "FlowLogs")
    return tuple(flow_log_from_api(i) for i in items)


async def _optional(coro: Any, what: str, warnings: list[str]) -> list[dict[str, Any]]:
    try:
        return cast(list[dict[str, Any]], await coro)
    except AccessDeniedError as err:
        warnings.append(f"{what}: {err.message}")
        return []
    except HamariError as err:
        if err.transient:
            raise
        warnings.append(f"{what}: {err.message}")
        return []


async def load_topology(
    aws: Aws, *, vpc_ids: Sequence[str] | None = None, interfaces_required: bool = True
) -> Topology:
    """Describe the network of the region (or of some VPCs) as a :class:`Topology`.

    Calls, concurrently and paginated: DescribeNetworkInterfaces (required), DescribeSubnets,
    DescribeNetworkAcls, DescribeFlowLogs, DescribeTransitGatewayAttachments, DescribeInstances
    (for Name tags) and DescribeVpcs. A refused optional call becomes a line in
    ``Topology.warnings``.

    Args:
        aws: The open AWS access point.
        vpc_ids: Only these VPCs (flow logs are always loaded for the whole region).
        interfaces_required: False: a refused DescribeNetworkInterfaces is a warning too (the
            flow pane shows records without their interfaces' context rather than none).

    Raises:
        HamariError: When DescribeNetworkInterfaces fails (and is required), or on a transient
            error.
    """
    flt = _filters(vpc_ids)
    warnings: list[str] = []
    interfaces = _collect(aws, "DescribeNetworkInterfaces", "NetworkInterfaces", **flt)
    if not interfaces_required:
        interfaces = _optional(interfaces, "network interfaces", warnings)
    (
        enis_raw,
        subnets_raw,
        nacls_raw,
        flows_raw,
        tgw_raw,
        inst_raw,
        vpcs_raw,
        sgs_raw,
    ) = await asyncio.gather(
        interfaces,
        _optional(_collect(aws, "DescribeSubnets", "Subnets", **flt), "subnets", warnings),
        _optional(
            _collect(aws, "DescribeNetworkAcls", "NetworkAcls", **flt), "network ACLs", warnings
        ),
        _optional(_collect(aws, "DescribeFlowLogs", "FlowLogs"), FLOW_LOGS_PART, warnings),
        _optional(
            _collect(aws, "DescribeTransitGatewayAttachments", "TransitGatewayAttachments"),
            "transit gateway attachments",
            warnings,
        ),
        _optional(_instances(aws, flt), "instance names", warnings),
        _optional(
            _collect(aws, "DescribeVpcs", "Vpcs", **({"VpcIds": list(vpc_ids)} if vpc_ids else {})),
            "VPCs",
            warnings,
        ),
        _optional(
            _collect(aws, "DescribeSecurityGroups", "SecurityGroups", **flt),
            "security groups",
            warnings,
        ),
    )
    names: dict[str, str] = {}
    for items, id_key in (
        (vpcs_raw, "VpcId"),
        (subnets_raw, "SubnetId"),
        (nacls_raw, "NetworkAclId"),
        (tgw_raw, "TransitGatewayAttachmentId"),
        (inst_raw, "InstanceId"),
        (flows_raw, "FlowLogId"),
    ):
        for item in items:
            name = _name(item.get("Tags"))
            if name is not None and item.get(id_key):
                names[str(item[id_key])] = name

    nacls: dict[str, tuple[NaclEntry, ...]] = {}
    subnet_nacl: dict[str, str] = {}
    default_nacl: dict[str, str] = {}
    for acl in nacls_raw:
        acl_id = str(acl.get("NetworkAclId"))
        nacls[acl_id] = tuple(nacl_entry_from_api(e) for e in acl.get("Entries", []) or [])
        for assoc in acl.get("Associations", []) or []:
            if assoc.get("SubnetId"):
                subnet_nacl[str(assoc["SubnetId"])] = acl_id
        if acl.get("IsDefault"):
            default_nacl[str(acl.get("VpcId"))] = acl_id

    subnets: dict[str, SubnetInfo] = {}
    az_names: dict[str, str] = {}
    for s in subnets_raw:
        sid, vpc = str(s.get("SubnetId")), str(s.get("VpcId"))
        az, az_id = str(s.get("AvailabilityZone", "")), s.get("AvailabilityZoneId")
        if az_id:
            az_names[str(az_id)] = az
        v6 = tuple(
            str(a.get("Ipv6CidrBlock"))
            for a in s.get("Ipv6CidrBlockAssociationSet", []) or []
            if a.get("Ipv6CidrBlock")
        )
        subnets[sid] = SubnetInfo(
            subnet_id=sid,
            vpc_id=vpc,
            cidr=str(s.get("CidrBlock", "")),
            az=az,
            az_id=az_id,
            nacl_id=subnet_nacl.get(sid) or default_nacl.get(vpc),
            name=_name(s.get("Tags")),
            ipv6_cidrs=v6,
        )

    enis: dict[str, EniInfo] = {}
    for item in enis_raw:
        eni = eni_from_api(item)
        if eni.az_id is None and eni.subnet_id in subnets:
            eni = replace(eni, az_id=subnets[eni.subnet_id].az_id)
        if eni.az_id:
            az_names.setdefault(eni.az_id, eni.az)
        enis[eni.eni_id] = eni
        name = _name(item.get("TagSet"))
        if name is not None:
            names.setdefault(eni.eni_id, name)

    attachment_tgw = {
        str(a.get("TransitGatewayAttachmentId")): str(a.get("TransitGatewayId"))
        for a in tgw_raw
        if a.get("TransitGatewayAttachmentId")
    }
    vpcs = {str(v.get("VpcId")): str(v.get("CidrBlock", "")) for v in vpcs_raw if v.get("VpcId")}
    return Topology(
        enis=enis,
        subnets=subnets,
        nacls=nacls,
        names=names,
        flow_logs=tuple(flow_log_from_api(f) for f in flows_raw),
        vpcs=vpcs,
        attachment_tgw=attachment_tgw,
        az_names=az_names,
        warnings=tuple(warnings),
        security_groups={str(g.get("GroupId")): sg_rules_from_api(g) for g in sgs_raw},
    )


async def _instances(aws: Aws, flt: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async for page in aws.pages("ec2", "DescribeInstances", **flt):
        for reservation in page.get("Reservations", []) or []:
            out.extend(reservation.get("Instances", []) or [])
    return out
