"""The VPC around a flow record: which interface, instance, subnet, AZ, NACL and flow log it belongs to.

A flow record names an ENI and two addresses; incident 3 is understood only once the ENI is known
to be the Transit Gateway attachment's interface in *the other AZ*, and its subnet's NACL is the
one that denies the return leg. This module holds that context as plain frozen data, built by
:func:`tui.aws.network.load_topology` from the Describe* APIs, and answers the questions the pane,
the pairing and the NACL explainer ask of it. It is pure: no network, no UI, and AWS strings are
kept raw (display sanitizing happens where they are shown).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from tui.models.flowlog import DEFAULT_FORMAT, protocol_name

DestinationType = Literal["cloud-watch-logs", "s3", "kinesis-data-firehose"]
_Net = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class EniInfo:
    """One elastic network interface.

    Attributes:
        eni_id: ``eni-…``.
        instance_id: The attached instance, or None (TGW, NAT, endpoint, Lambda ENIs).
        subnet_id: Its subnet.
        vpc_id: Its VPC.
        az: The AZ name (``us-east-1c``).
        az_id: The AZ id (``use1-az6``), the one flow logs write; None if unknown.
        private_ips: Every private IPv4 and IPv6 address of the interface.
        tgw_attachment_id: For a Transit Gateway attachment's ENI, the attachment id.
        description: The ENI's description, raw.
        interface_type: ``interface``, ``transit_gateway``, ``nat_gateway``, ...
        security_group_ids: The groups of the interface.
    """

    eni_id: str
    instance_id: str | None
    subnet_id: str
    vpc_id: str
    az: str
    az_id: str | None
    private_ips: tuple[str, ...]
    tgw_attachment_id: str | None
    description: str
    interface_type: str
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class SubnetInfo:
    """One subnet and the NACL that guards it.

    Attributes:
        subnet_id: ``subnet-…``.
        vpc_id: Its VPC.
        cidr: Its IPv4 CIDR.
        az: The AZ name.
        az_id: The AZ id, or None.
        nacl_id: The associated network ACL (the VPC's default one when not associated).
        name: The Name tag, raw, or None.
        ipv6_cidrs: Its IPv6 CIDRs, if any.
    """

    subnet_id: str
    vpc_id: str
    cidr: str
    az: str
    az_id: str | None
    nacl_id: str | None
    name: str | None
    ipv6_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class NaclEntry:
    """One network ACL rule, as DescribeNetworkAcls returns it.

    Attributes:
        rule_number: Evaluation order (lowest first); 32767 is the ``*`` default rule.
        egress: True for an outbound rule.
        action: ``allow`` or ``deny``.
        cidr: IPv4 or IPv6 CIDR.
        protocol: IANA number as text, ``-1`` for all.
        port_from: First port (TCP/UDP), or None for all.
        port_to: Last port (TCP/UDP), or None for all.
        icmp_type: ICMP type (-1 or None: all).
        icmp_code: ICMP code (-1 or None: all).
    """

    rule_number: int
    egress: bool
    action: Literal["allow", "deny"]
    cidr: str
    protocol: str
    port_from: int | None = None
    port_to: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None

    @property
    def is_default(self) -> bool:
        """True for the ``*`` rule every NACL ends with."""
        return self.rule_number >= 32767

    def describe(self) -> str:
        """``egress deny 10.20.1.0/24 all`` / ``ingress allow 0.0.0.0/0 tcp 1024-65535``."""
        direction = "egress" if self.egress else "ingress"
        if self.protocol in ("-1", "all"):
            what = "all"
        else:
            try:
                what = protocol_name(int(self.protocol))
            except ValueError:
                what = self.protocol
            if self.port_from is not None and self.protocol in ("6", "17"):
                if self.port_to is None or self.port_to == self.port_from:
                    what += f" {self.port_from}"
                else:
                    what += f" {self.port_from}-{self.port_to}"
            if self.icmp_type is not None and self.icmp_type != -1:
                what += f" type {self.icmp_type}"
                if self.icmp_code is not None and self.icmp_code != -1:
                    what += f" code {self.icmp_code}"
        return f"{direction} {self.action} {self.cidr} {what}"


@dataclass(frozen=True)
class FlowLogConfig:
    """One flow log, as DescribeFlowLogs describes it.

    Attributes:
        flow_log_id: ``fl-…``.
        resource_id: What it logs: a VPC, subnet, ENI, transit gateway or TGW attachment.
        destination_type: ``cloud-watch-logs``, ``s3`` or ``kinesis-data-firehose``.
        log_group: The CloudWatch Logs group, for that destination.
        destination: The destination ARN (S3 bucket with optional prefix, Firehose stream).
        fields: The format's field names (the v2 default when LogFormat is empty).
        file_format: ``plain-text`` or ``parquet`` for S3, else None.
        hive: True for hive-compatible S3 partitions.
        traffic_type: ``ALL``, ``ACCEPT`` or ``REJECT``.
        per_hour: True when S3 objects are partitioned per hour.
        format_known: False when the format was not read from DescribeFlowLogs (a log group
            named by hand): the parser then goes by header or field count.
        status: FlowLogStatus / DeliverLogsStatus, raw (``ACTIVE``, ``FAILED``...).
        name: The Name tag, raw, or None.
    """

    flow_log_id: str
    resource_id: str
    destination_type: DestinationType
    log_group: str | None
    destination: str | None
    fields: tuple[str, ...] = DEFAULT_FORMAT
    file_format: Literal["plain-text", "parquet"] | None = None
    hive: bool = False
    traffic_type: str = "ALL"
    per_hour: bool = False
    format_known: bool = True
    status: str = ""
    name: str | None = None

    @property
    def bucket(self) -> str | None:
        """For S3, the bucket name from the destination ARN."""
        if self.destination_type != "s3" or not self.destination:
            return None
        return self.destination.split(":::", 1)[-1].split("/", 1)[0]

    @property
    def prefix(self) -> str:
        """For S3, the key prefix from the destination ARN (``""`` when none)."""
        if self.destination_type != "s3" or not self.destination:
            return ""
        rest = self.destination.split(":::", 1)[-1]
        return rest.split("/", 1)[1] if "/" in rest else ""

    @property
    def source(self) -> str:
        """The ``--source`` text that reads this flow log (``cwl:GROUP``, ``s3://b/p``)."""
        if self.destination_type == "cloud-watch-logs":
            return f"cwl:{self.log_group}"
        if self.destination_type == "s3":
            return f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return self.destination or self.flow_log_id

    def covers(self, topology: Topology, resource_id: str) -> bool:
        """True when this flow log records the traffic of ``resource_id``.

        A VPC flow log covers its subnets and their ENIs; a subnet flow log its ENIs; a transit
        gateway or attachment flow log the attachment's ENIs.

        Args:
            topology: The loaded topology (to find an ENI's subnet and VPC).
            resource_id: An ENI, subnet, VPC, transit gateway or attachment id.
        """
        own = self.resource_id
        if resource_id == own:
            return True
        eni = topology.enis.get(resource_id)
        if eni is not None:
            return own in (eni.subnet_id, eni.vpc_id, eni.tgw_attachment_id) or (
                own.startswith("tgw-")
                and not own.startswith("tgw-attach-")
                and eni.tgw_attachment_id is not None
                and topology.attachment_tgw.get(eni.tgw_attachment_id) == own
            )
        subnet = topology.subnets.get(resource_id)
        if subnet is not None:
            return own == subnet.vpc_id
        return (
            resource_id.startswith("tgw-attach-")
            and topology.attachment_tgw.get(resource_id) == own
        )


@dataclass(frozen=True)
class SgRule:
    """One security-group permission (allow-only; security groups are stateful).

    Attributes:
        group_id: The security group it belongs to.
        egress: True for an outbound rule.
        protocol: ``-1`` (all), ``6``/``tcp``, ``17``/``udp``, ``1``/``icmp``...
        port_from: First port (or ICMP type), None for all.
        port_to: Last port (or ICMP code), None for all.
        cidrs: IPv4/IPv6 ranges it allows.
        groups: Security groups it allows (members' addresses).
        prefix_lists: Managed prefix lists it allows (not resolved: a rule naming one makes the
            evaluation inconclusive rather than wrong).
    """

    group_id: str
    egress: bool
    protocol: str
    port_from: int | None
    port_to: int | None
    cidrs: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    prefix_lists: tuple[str, ...] = ()

    def describe(self) -> str:
        """``inbound tcp/443 from 0.0.0.0/0``."""
        proto = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp"}.get(
            self.protocol, self.protocol
        )
        if self.port_from is None or self.protocol == "-1":
            ports = ""
        elif self.port_from == self.port_to:
            ports = f"/{self.port_from}"
        else:
            ports = f"/{self.port_from}-{self.port_to}"
        peers = ", ".join([*self.cidrs, *self.groups, *self.prefix_lists]) or "nowhere"
        return f"{'outbound' if self.egress else 'inbound'} {proto}{ports} {'to' if self.egress else 'from'} {peers}"


#: The part of a :class:`Topology` that lists the region's flow logs (a warning's prefix).
FLOW_LOGS_PART = "flow logs"


@dataclass(frozen=True)
class Topology:
    """The network context of flow records: interfaces, subnets, NACLs, names and flow logs.

    Attributes:
        enis: ENI id -> :class:`EniInfo`.
        subnets: Subnet id -> :class:`SubnetInfo`.
        nacls: NACL id -> its entries (in the order AWS returned them).
        names: Resource id -> Name tag (instances, subnets, VPCs, NACLs, attachments), raw.
        flow_logs: Every flow log in the region.
        vpcs: VPC id -> primary CIDR (VPCs seen, including ones without subnets).
        attachment_tgw: TGW attachment id -> transit gateway id.
        az_names: AZ id -> AZ name (``use1-az6`` -> ``us-east-1c``).
        warnings: Parts that could not be loaded (e.g. AccessDenied on DescribeNetworkAcls).
        security_groups: Security group id -> its rules (inbound and outbound).
    """

    enis: Mapping[str, EniInfo] = field(default_factory=dict)
    subnets: Mapping[str, SubnetInfo] = field(default_factory=dict)
    nacls: Mapping[str, tuple[NaclEntry, ...]] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    flow_logs: tuple[FlowLogConfig, ...] = ()
    vpcs: Mapping[str, str] = field(default_factory=dict)
    attachment_tgw: Mapping[str, str] = field(default_factory=dict)
    az_names: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    security_groups: Mapping[str, tuple[SgRule, ...]] = field(default_factory=dict)

    def part_warning(self, part: str) -> str | None:
        """Why ``part`` (e.g. :data:`FLOW_LOGS_PART`) could not be loaded, or None."""
        prefix = f"{part}: "
        return next((w[len(prefix) :] for w in self.warnings if w.startswith(prefix)), None)

    def eni_az(self) -> dict[str, str]:
        """ENI id -> AZ id (the AZ name when the id is unknown), for pairing legs by AZ."""
        return {e.eni_id: e.az_id or e.az for e in self.enis.values()}

    def annotate(self, eni_id: str) -> str:
        """A one-line description of an ENI for tables.

        Returns:
            ``i-… web-01 / subnet-… / use1-az1`` for an instance's ENI,
            ``tgw-attach-… (AZ us-east-1c)`` for a Transit Gateway attachment's, the interface
            type, subnet and AZ for others, and the id itself when the ENI is unknown.
        """
        eni = self.enis.get(eni_id)
        if eni is None:
            return eni_id
        if eni.tgw_attachment_id:
            return f"{eni.tgw_attachment_id} (AZ {eni.az or eni.az_id})"
        where = f"{eni.subnet_id} / {eni.az_id or eni.az}"
        if eni.instance_id:
            name = self.names.get(eni.instance_id)
            who = f"{eni.instance_id} {name}" if name else eni.instance_id
            return f"{who} / {where}"
        return f"{eni.interface_type or 'interface'} / {where}"

    def az_label(self, az_id: str) -> str:
        """``use1-az6 (us-east-1c)`` when the AZ name is known, else the id."""
        name = self.az_names.get(az_id)
        return f"{az_id} ({name})" if name and name != az_id else az_id

    @cached_property
    def _subnet_nets(self) -> list[tuple[_Net, SubnetInfo]]:
        out: list[tuple[_Net, SubnetInfo]] = []
        for s in self.subnets.values():
            for cidr in (s.cidr, *s.ipv6_cidrs):
                try:
                    out.append((ipaddress.ip_network(cidr, strict=False), s))
                except ValueError:
                    continue
        out.sort(key=lambda item: item[0].prefixlen, reverse=True)  # longest prefix first
        return out

    @cached_property
    def _ip_owner(self) -> dict[str, EniInfo]:
        return {ip: e for e in self.enis.values() for ip in e.private_ips}

    def eni_of_ip(self, ip: str) -> EniInfo | None:
        """The ENI holding this private address, or None."""
        return self._ip_owner.get(ip)

    def subnet_of_ip(self, ip: str, vpc_id: str | None = None) -> SubnetInfo | None:
        """The subnet whose CIDR holds ``ip`` (longest prefix), or None.

        Args:
            ip: An IPv4 or IPv6 address.
            vpc_id: Only look in this VPC (VPCs may reuse CIDRs).
        """
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        for net, subnet in self._subnet_nets:
            if vpc_id is not None and subnet.vpc_id != vpc_id:
                continue
            if addr.version == net.version and addr in net:
                return subnet
        return None

    def flow_logs_for(self, resource_id: str) -> tuple[FlowLogConfig, ...]:
        """The flow logs that record ``resource_id``'s traffic."""
        return tuple(fl for fl in self.flow_logs if fl.covers(self, resource_id))

    def vpcs_without_flow_logs(self) -> list[str]:
        """VPCs (with subnets or interfaces) that no VPC-level or narrower flow log covers.

        A VPC is listed when neither it nor any of its subnets or ENIs has a flow log: that is
        where "are logs being written?" is answered "no" before anyone has to look. None is
        listed when the flow logs could not be listed (DescribeFlowLogs refused): unknown is not
        "no" (:meth:`part_warning` says why).
        """
        if self.part_warning(FLOW_LOGS_PART) is not None:
            return []
        vpc_ids = set(self.vpcs) | {s.vpc_id for s in self.subnets.values()}
        vpc_ids |= {e.vpc_id for e in self.enis.values()}
        logged = {fl.resource_id for fl in self.flow_logs}
        out = []
        for vpc in sorted(vpc_ids):
            parts = {vpc} | {s.subnet_id for s in self.subnets.values() if s.vpc_id == vpc}
            parts |= {e.eni_id for e in self.enis.values() if e.vpc_id == vpc}
            if not parts & logged:
                out.append(vpc)
        return out
