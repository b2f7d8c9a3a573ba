"""The infrastructure every incident stands on: the VPCs, subnets, Transit Gateway, NACLs,
security groups, the KMS key and the instances with their volumes.

The app VPC has an app subnet and a Transit Gateway attachment subnet in each of two AZs, one
TGW attachment (an ENI per AZ) towards the on-prem range, and one NACL per AZ that denies the
other AZ's CIDRs (the "no cross-AZ traffic" rule that drops return traffic arriving through the
other AZ's attachment: incident 3's cause). A legacy VPC has no flow logs. Calls are made in a
fixed order, so that with moto's ID generator seeded a world gets the same IDs every time.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from .common import tags
from .spec import BUSY, FAILING, LEGACY, SLOW, TWIN, WEB, WEB_OTHER, InstanceSpec, WorldSpec

__all__ = ["Infra", "build"]


@dataclass(frozen=True)
class Infra:
    """What :func:`build` made (the network part of :class:`~tui.demo.seed.spec.DemoWorld`)."""

    vpc: str
    az_names: tuple[str, str]
    az_ids: dict[str, str]
    subnets: dict[str, str]
    subnet_cidrs: dict[str, str]
    tgw_subnets: dict[str, str]
    tgw_cidrs: dict[str, str]
    legacy_vpc: str
    legacy_subnet: str
    tgw_id: str
    attachment: str
    tgw_enis: dict[str, str]
    route_table: str
    nacls: dict[str, str]
    security_groups: dict[str, str]
    key: dict[str, Any]
    instance_ids: dict[str, str]
    instance_types: dict[str, str]
    eni_ids: dict[str, str]
    private_ips: dict[str, str]
    volume_ids: dict[str, str]
    managed_key_arn: str


def dns_resolver(vpc_cidr: str) -> str:
    """The VPC's Amazon-provided DNS resolver: the network address plus two."""
    return str(ipaddress.ip_network(vpc_cidr).network_address + 2)


def _provision(ec2: Any, vol: dict[str, Any], mappings: list[dict[str, Any]]) -> None:
    """Give a gp3 the IOPS and throughput its mapping asked for (moto keeps 3,000 and none).

    An operator raises a gp3's figures with ModifyVolume; only volumes that asked for more than
    the gp3 defaults are modified (the demo's are not).
    """
    if vol["VolumeType"] != "gp3":
        return
    device = next((a["Device"] for a in vol.get("Attachments", [])), "")
    ebs = next((m["Ebs"] for m in mappings if m["DeviceName"] == device), None)
    if ebs is None or (ebs.get("Iops", 3000), ebs.get("Throughput", 125)) == (3000, 125):
        return
    ec2.modify_volume(VolumeId=vol["VolumeId"], Iops=ebs["Iops"], Throughput=ebs["Throughput"])


def _sg_of(spec: WorldSpec, role: str) -> str:
    tier = {WEB: "web", WEB_OTHER: "web", SLOW: "db"}.get(role, "batch")
    return f"{spec.prefix}-{tier}"


def build(ec2: Any, kms: Any, spec: WorldSpec) -> Infra:
    """Create the world's network, key and instances (see the module docstring)."""
    a, cz = spec.az_names
    p = spec.prefix
    onprem = spec.onprem_cidr

    def tag_spec(kind: str, name: str) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": tags(name)}]

    vpc = ec2.create_vpc(CidrBlock=spec.vpc_cidr, TagSpecifications=tag_spec("vpc", p))["Vpc"][
        "VpcId"
    ]
    subnet_cidrs = dict(zip((a, cz), spec.subnet_cidrs, strict=True))
    tgw_cidrs = dict(zip((a, cz), spec.tgw_cidrs, strict=True))
    subnets, tgw_subnets, az_ids = {}, {}, {}
    for az in (a, cz):
        letter = az[-1]
        sn = ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=subnet_cidrs[az],
            AvailabilityZone=az,
            TagSpecifications=tag_spec("subnet", f"{p}-private-{letter}"),
        )["Subnet"]
        subnets[az] = sn["SubnetId"]
        az_ids[az] = sn["AvailabilityZoneId"]
        tgw_subnets[az] = ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=tgw_cidrs[az],
            AvailabilityZone=az,
            TagSpecifications=tag_spec("subnet", f"{p}-tgw-{letter}"),
        )["Subnet"]["SubnetId"]
    legacy_vpc = ec2.create_vpc(
        CidrBlock=spec.legacy_vpc_cidr, TagSpecifications=tag_spec("vpc", "legacy")
    )["Vpc"]["VpcId"]
    legacy_subnet = ec2.create_subnet(
        VpcId=legacy_vpc,
        CidrBlock=spec.legacy_subnet_cidr,
        AvailabilityZone=a,
        TagSpecifications=tag_spec("subnet", f"legacy-{a[-1]}"),
    )["Subnet"]["SubnetId"]

    igw = ec2.create_internet_gateway(TagSpecifications=tag_spec("internet-gateway", f"{p}-igw"))
    igw_id = igw["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc)
    tgw = ec2.create_transit_gateway(
        Description="core network hub (on-prem via Direct Connect)",
        TagSpecifications=tag_spec("transit-gateway", "core-tgw"),
    )
    tgw_id = tgw["TransitGateway"]["TransitGatewayId"]
    attachment = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw_id,
        VpcId=vpc,
        SubnetIds=[tgw_subnets[a], tgw_subnets[cz]],
        TagSpecifications=tag_spec("transit-gateway-attachment", f"{p}-vpc"),
    )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    tgw_enis_resp = ec2.describe_network_interfaces(
        Filters=[{"Name": "description", "Values": [f"*{attachment}"]}]
    )["NetworkInterfaces"]
    tgw_enis = {e["AvailabilityZone"]: e["NetworkInterfaceId"] for e in tgw_enis_resp}
    rtb = ec2.create_route_table(
        VpcId=vpc, TagSpecifications=tag_spec("route-table", f"{p}-private")
    )
    rtb_id = rtb["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    ec2.create_route(RouteTableId=rtb_id, DestinationCidrBlock=onprem, TransitGatewayId=tgw_id)
    for az in (a, cz):
        ec2.associate_route_table(RouteTableId=rtb_id, SubnetId=subnets[az])
        ec2.associate_route_table(RouteTableId=rtb_id, SubnetId=tgw_subnets[az])

    # One NACL per AZ, written to forbid traffic between the AZs (incident 3's root cause).
    default_nacl = ec2.describe_network_acls(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default", "Values": ["true"]}]
    )["NetworkAcls"][0]
    assoc = {x["SubnetId"]: x["NetworkAclAssociationId"] for x in default_nacl["Associations"]}
    deny_subnet, deny_tgw, allow_all = spec.nacl_rules
    nacls = {}
    for az, other in ((a, cz), (cz, a)):
        nacl = ec2.create_network_acl(
            VpcId=vpc, TagSpecifications=tag_spec("network-acl", f"{p}-az-{az[-1]}-no-cross-az")
        )["NetworkAcl"]["NetworkAclId"]
        nacls[az] = nacl
        for egress in (False, True):
            for number, cidr, action in (
                (deny_subnet, subnet_cidrs[other], "deny"),
                (deny_tgw, tgw_cidrs[other], "deny"),
                (allow_all, "0.0.0.0/0", "allow"),
            ):
                ec2.create_network_acl_entry(
                    NetworkAclId=nacl,
                    RuleNumber=number,
                    Protocol="-1",
                    RuleAction=action,
                    Egress=egress,
                    CidrBlock=cidr,
                )
        for sn in (subnets[az], tgw_subnets[az]):
            if sn in assoc:
                ec2.replace_network_acl_association(AssociationId=assoc[sn], NetworkAclId=nacl)

    sgs = {}
    for name, desc, rules in (
        (f"{p}-web", "web tier", [(443, "0.0.0.0/0"), (22, onprem)]),
        (f"{p}-db", "database tier", [(5432, spec.vpc_cidr), (5432, onprem), (22, onprem)]),
        (f"{p}-batch", "batch workers", [(22, onprem)]),
    ):
        gid = ec2.create_security_group(
            GroupName=name,
            Description=desc,
            VpcId=vpc,
            TagSpecifications=tag_spec("security-group", name),
        )["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=gid,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": c}]}
                for port, c in rules
            ],
        )
        sgs[name] = gid

    # -- KMS and instances -------------------------------------------------------------------
    key = kms.create_key(
        Description=spec.kms_description,
        Tags=[{"TagKey": "owner", "TagValue": "platform"}],
    )["KeyMetadata"]
    kms.create_alias(AliasName=spec.kms_alias, TargetKeyId=key["KeyId"])

    def launch(inst: InstanceSpec, volumes: list[dict[str, Any]]) -> dict[str, Any]:
        return ec2.run_instances(
            ImageId=spec.ami,
            MinCount=1,
            MaxCount=1,
            InstanceType=inst.itype,
            KeyName=spec.key_name,
            NetworkInterfaces=[
                {
                    "DeviceIndex": 0,
                    "SubnetId": subnets[spec.az_names[inst.az]],
                    "PrivateIpAddress": inst.ip,
                    "Groups": [sgs[_sg_of(spec, inst.role)]],
                }
            ],
            BlockDeviceMappings=volumes,
            EbsOptimized=True,
            # Detailed monitoring publishes 1-minute datapoints; basic (AWS's default) 5-minute.
            Monitoring={"Enabled": inst.monitoring == 60},
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags(inst.name)}],
        )["Instances"][0]

    def gp3(size: int, iops: int = 3000, throughput: int = 125, **extra: Any) -> dict[str, Any]:
        return {
            "DeviceName": "/dev/xvda",
            "Ebs": {
                "VolumeSize": size,
                "VolumeType": "gp3",
                "Iops": iops,
                "Throughput": throughput,
                "DeleteOnTermination": True,
                **extra,
            },
        }

    size, iops, throughput = spec.slow_gp3
    volumes_of = {
        WEB: [gp3(30)],
        WEB_OTHER: [gp3(30)],
        FAILING: [gp3(100, Encrypted=True, KmsKeyId=key["Arn"])],
        TWIN: [gp3(100, Encrypted=True)],
        SLOW: [
            gp3(size, iops, throughput, Encrypted=True),
            {
                "DeviceName": "/dev/sdf",
                "Ebs": {
                    "VolumeSize": spec.slow_gp2_size,
                    "VolumeType": "gp2",
                    "Encrypted": True,
                    "DeleteOnTermination": False,
                },
            },
        ],
        BUSY: [gp3(500, 16000, 1000, Encrypted=True)],
    }
    instance_ids, instance_types, eni_ids, ips = {}, {}, {}, {}
    for inst in spec.instances:
        if inst.role == LEGACY:
            continue
        made = launch(inst, volumes_of[inst.role])
        instance_ids[inst.name] = made["InstanceId"]
        instance_types[inst.name] = inst.itype
        eni_ids[inst.name] = made["NetworkInterfaces"][0]["NetworkInterfaceId"]
        ips[inst.name] = inst.ip
    old = spec.role(LEGACY)
    legacy = ec2.run_instances(
        ImageId=spec.ami,
        MinCount=1,
        MaxCount=1,
        InstanceType=old.itype,
        SubnetId=legacy_subnet,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags(old.name)}],
    )["Instances"][0]
    instance_ids[old.name] = legacy["InstanceId"]
    instance_types[old.name] = old.itype
    eni_ids[old.name] = legacy["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ips[old.name] = legacy["PrivateIpAddress"]

    volume_ids: dict[str, str] = {}
    spec_of = {i.name: i for i in spec.instances}
    by_instance = {v: k for k, v in instance_ids.items()}
    slow, twin = spec.name(SLOW), spec.name(TWIN)
    managed_key_arn = ""
    for vol in ec2.describe_volumes()["Volumes"]:
        for att in vol.get("Attachments", []):
            owner = by_instance.get(att["InstanceId"])
            if not owner:
                continue
            role = vol["VolumeType"] if owner == slow else "root"
            volume_ids[f"{owner}:{role}"] = vol["VolumeId"]
            ec2.create_tags(Resources=[vol["VolumeId"]], Tags=tags(f"{owner}-{role}"))
            _provision(ec2, vol, volumes_of.get(spec_of[owner].role, []))
            if owner == twin:
                managed_key_arn = vol.get("KmsKeyId", "")

    return Infra(
        vpc=vpc,
        az_names=(a, cz),
        az_ids=az_ids,
        subnets=subnets,
        subnet_cidrs=subnet_cidrs,
        tgw_subnets=tgw_subnets,
        tgw_cidrs=tgw_cidrs,
        legacy_vpc=legacy_vpc,
        legacy_subnet=legacy_subnet,
        tgw_id=tgw_id,
        attachment=attachment,
        tgw_enis=tgw_enis,
        route_table=rtb_id,
        nacls=nacls,
        security_groups=sgs,
        key=key,
        instance_ids=instance_ids,
        instance_types=instance_types,
        eni_ids=eni_ids,
        private_ips=ips,
        volume_ids=volume_ids,
        managed_key_arn=managed_key_arn,
    )
