"""What a seeded world is made of: the spec that says how to build it, and what was built.

A :class:`WorldSpec` names everything a user's account would choose for itself (region, account,
names, CIDRs, instance types, monitoring, where the trail and the flow logs are written, in
which format); :data:`DEMO` is the demo's. The seed modules read nothing else, so the tests can
build a world that shares none of the demo's choices and check that the product finds the same
incidents there (``tests/world2.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tui.models.flowlog import DEFAULT_FORMAT

__all__ = [
    "DEMO",
    "HISTORY",
    "V2_FIELDS",
    "V5_FIELDS",
    "V5_FORMAT",
    "DemoWorld",
    "FlowLogSpec",
    "FlowRecord",
    "InstanceSpec",
    "WorldSpec",
    "log_format",
]

HISTORY = timedelta(hours=3)

# The AWS default (v2) format, as the product's parser defines it.
V2_FIELDS = list(DEFAULT_FORMAT)
V5_FIELDS = [
    *V2_FIELDS,
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
]


def log_format(fields: Iterable[str]) -> str:
    """AWS's ``LogFormat`` syntax for ``fields``: ``${version} ${account-id} …``."""
    return " ".join(f"${{{f}}}" for f in fields)


V5_FORMAT = log_format(V5_FIELDS)

# Roles an instance plays in the scenario; every world has one of each but "busy".
WEB, WEB_OTHER, FAILING, TWIN, SLOW, BUSY, LEGACY = (
    "web",  # incident 3: its return traffic comes back through the other AZ
    "web_other",  # in the other AZ; its return traffic stays in its AZ
    "failing",  # incident 1: its volume's CMK denies EC2
    "twin",  # incident 1: the healthy twin (AWS-managed key)
    "slow",  # incident 2: IO at its limits
    "busy",  # decoy: busy but within its limits, on basic monitoring
    "legacy",  # in the VPC without flow logs
)


@dataclass(frozen=True)
class InstanceSpec:
    """One instance: its Name tag, role, type, AZ (0 or 1), private IP and monitoring period."""

    name: str
    role: str
    itype: str
    az: int = 0
    ip: str = ""  # "" for the legacy instance (moto picks one)
    monitoring: int = 60  # seconds: 60 detailed monitoring, 300 basic (AWS's default)


@dataclass(frozen=True)
class FlowLogSpec:
    """One flow log of the app VPC: where it writes and in which format.

    ``kind`` keys :attr:`DemoWorld.flow_log_ids`; ``custom`` says whether a ``LogFormat`` is
    sent (the default format is sent as none, as a user who never chose one would).
    """

    kind: str
    destination: str  # "cloud-watch-logs" or "s3"
    fields: tuple[str, ...]
    custom: bool = False
    log_group: str = ""
    prefix: str = ""  # S3 key prefix inside the bucket
    file_format: str = "plain-text"  # or "parquet"
    hive: bool = False
    per_hour: bool = False


@dataclass(frozen=True)
class WorldSpec:
    """Everything a world's owner chose; the demo's values are :data:`DEMO`."""

    region: str
    account: str
    az_letters: tuple[str, str]
    prefix: str  # names of the network, security groups and flow-log tags: "<prefix>-web"
    vpc_cidr: str
    subnet_cidrs: tuple[str, str]
    tgw_cidrs: tuple[str, str]
    legacy_vpc_cidr: str
    legacy_subnet_cidr: str
    onprem_cidr: str
    onprem_hosts: dict[str, str]  # "db", "ssh"
    nacl_rules: tuple[int, int, int]  # deny the other AZ's app subnet, its TGW subnet; allow all
    instances: tuple[InstanceSpec, ...]
    operator: str  # the human whose start fails, signed in as the operator role
    operator_role: str
    readonly_role: str
    readonly_user: str
    ci_role: str
    ci_session: str
    bot_user: str
    bot_ip: str
    kms_alias: str
    kms_description: str
    trail_name: str
    trail_bucket: str
    trail_prefix: str  # S3KeyPrefix of the trail ("" for none)
    flowlog_bucket: str
    flow_logs: tuple[FlowLogSpec, ...]
    slow_gp3: tuple[int, int, int] = (200, 3000, 125)  # size GiB, IOPS, MiB/s
    slow_gp2_size: int = 100
    slow_mbps: tuple[float, float] = (150.0, 81.25)  # instance MB/s while bursting, at baseline
    incidents: bool = True  # False: the same world, healthy (for the no-false-positive check)
    decoys: bool = False  # Lambda denied kms:Decrypt, a throttled CI role, more SG scanners
    trail_org: str = ""  # an organization trail's org ID: files under AWSLogs/<org>/<account>/
    org_members: tuple[tuple[str, str], ...] = ()  # (account, region) of other members' files
    ami: str = "ami-0c7217cdde317cfec"
    key_name: str = "ops-2024"

    def role(self, role: str) -> InstanceSpec:
        """The instance playing ``role``."""
        return next(i for i in self.instances if i.role == role)

    def name(self, role: str) -> str:
        return self.role(role).name

    def has(self, role: str) -> bool:
        return any(i.role == role for i in self.instances)

    @property
    def az_names(self) -> tuple[str, str]:
        return (f"{self.region}{self.az_letters[0]}", f"{self.region}{self.az_letters[1]}")

    @property
    def principal_arn(self) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{self.operator_role}/{self.operator}"

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.operator_role}"


_DEMO_LOGS = (
    FlowLogSpec("cwl-v2", "cloud-watch-logs", tuple(V2_FIELDS), log_group="/vpc/flow-logs/app"),
    FlowLogSpec(
        "cwl-v5",
        "cloud-watch-logs",
        tuple(V5_FIELDS),
        custom=True,
        log_group="/vpc/flow-logs/app-v5",
    ),
    FlowLogSpec("s3-text", "s3", tuple(V2_FIELDS)),
    # AWS refuses two flow logs of one resource to the same destination: this one has a prefix.
    FlowLogSpec(
        "s3-parquet",
        "s3",
        tuple(V5_FIELDS),
        custom=True,
        prefix="parquet",
        file_format="parquet",
        hive=True,
        per_hour=True,
    ),
)

DEMO = WorldSpec(
    region="us-east-1",
    account="123456789012",
    az_letters=("a", "c"),
    prefix="app",
    vpc_cidr="10.20.0.0/16",
    subnet_cidrs=("10.20.1.0/24", "10.20.3.0/24"),
    tgw_cidrs=("10.20.255.0/28", "10.20.255.16/28"),
    legacy_vpc_cidr="10.99.0.0/16",
    legacy_subnet_cidr="10.99.1.0/24",
    onprem_cidr="192.168.100.0/24",
    onprem_hosts={"db": "192.168.100.10", "ssh": "192.168.100.11"},
    nacl_rules=(100, 110, 200),
    instances=(
        InstanceSpec("app-web-01", WEB, "t3.medium", 0, "10.20.1.10"),
        InstanceSpec("app-web-02", WEB_OTHER, "t3.medium", 1, "10.20.3.10"),
        InstanceSpec("app-batch-01", FAILING, "m5.large", 0, "10.20.1.41"),
        InstanceSpec("app-batch-02", TWIN, "m5.large", 0, "10.20.1.42"),
        InstanceSpec("app-db-01", SLOW, "m5.large", 0, "10.20.1.20"),
        InstanceSpec("legacy-app-01", LEGACY, "t3.small", monitoring=300),
    ),
    operator="alice",
    operator_role="OpsAdmin",
    readonly_role="ReadOnly",
    readonly_user="bob",
    ci_role="ci-deployer",
    ci_session="gh-actions-8812",
    bot_user="monitoring-bot",
    bot_ip="10.20.1.30",
    kms_alias="alias/app-ebs",
    kms_description="EBS encryption for app batch volumes",
    trail_name="org-trail",
    trail_bucket="hamari-demo-trail",
    trail_prefix="",
    flowlog_bucket="hamari-demo-flowlogs",
    flow_logs=_DEMO_LOGS,
)


@dataclass(frozen=True)
class DemoWorld:
    """Every identifier the product, tests, screenshots and benchmarks need."""

    now: datetime
    url: str
    region: str
    account_id: str
    principal_arn: str
    role_arn: str
    vpc_id: str
    vpc_cidr: str
    legacy_vpc_id: str
    onprem_cidr: str
    onprem_hosts: dict[str, str]
    az_names: tuple[str, str]
    az_ids: dict[str, str]  # az name -> az id
    subnet_ids: dict[str, str]  # az name -> app subnet
    subnet_cidrs: dict[str, str]
    tgw_subnet_ids: dict[str, str]  # az name -> TGW attachment subnet
    tgw_subnet_cidrs: dict[str, str]
    legacy_subnet_id: str
    tgw_id: str
    tgw_attachment_id: str
    tgw_attachment_ids: dict[str, str]  # az name -> attachment (one VPC attachment spans both)
    tgw_eni_ids: dict[str, str]  # az name -> requester-managed ENI of the attachment
    route_table_id: str
    nacl_ids: dict[str, str]  # az name -> NACL of that AZ's subnets
    nacl_id: str  # the NACL whose egress rule REJECTs the return leg (the second AZ's)
    nacl_deny_rule: int
    security_group_ids: dict[str, str]
    instance_ids: dict[str, str]  # Name tag -> instance id
    instance_types: dict[str, str]
    eni_ids: dict[str, str]  # Name tag -> primary ENI
    private_ips: dict[str, str]
    volume_ids: dict[str, str]  # "<instance>:<role>" -> volume id
    kms_key_id: str
    kms_key_arn: str
    kms_alias: str
    aws_managed_key_arn: str
    failing_instance_id: str
    healthy_twin_id: str
    slow_instance_id: str
    web_instance_id: str
    kms_denied_at: datetime
    log_group_v2: str  # "" when the world has no flow log of that kind
    log_group_v5: str
    flow_log_ids: dict[str, str]  # FlowLogSpec.kind -> flow log id
    flowlogs_bucket: str
    trail_name: str
    trail_arn: str
    trail_bucket: str
    seed: int
    seed_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    spec: WorldSpec = DEMO
    failing_volume_id: str = ""

    def name_of(self, role: str) -> str:
        """The Name tag of the instance playing ``role`` (see :class:`InstanceSpec`)."""
        return self.spec.name(role)

    def log_groups(self) -> dict[str, tuple[str, ...]]:
        """CloudWatch Logs flow-log groups -> their fields, in the spec's order."""
        return {f.log_group: f.fields for f in self.spec.flow_logs if f.destination != "s3"}


@dataclass(frozen=True)
class FlowRecord:
    """One flow-log record, with every v5 field (as strings, ``-`` when not applicable)."""

    values: dict[str, str]

    def line(self, fields: Iterable[str]) -> str:
        return " ".join(self.values.get(f, "-") for f in fields)
