"""Seed the three incidents of ``incidents.md`` into the embedded AWS, relative to a given ``now``.

Everything goes through the emulator's own HTTP API with boto3, as an operator's scripts would,
except CloudTrail events: AWS has no API to write them, so they go through
:func:`tui.demo.extensions.record_events` (and, as log files, into the trail's S3 bucket).

The world, in account 123456789012, us-east-1:

* VPC ``app`` (10.20.0.0/16): an app subnet and a Transit Gateway attachment subnet in each of
  us-east-1a and us-east-1c; a TGW with one VPC attachment (an ENI per AZ) towards the on-prem
  range 192.168.100.0/24; one NACL per AZ that denies the other AZ's CIDRs (the "no cross-AZ
  traffic" rule that drops return traffic arriving through the other AZ's attachment).
* VPC ``legacy`` without flow logs.
* Incident 1: ``app-batch-01`` (volume on the customer-managed key ``alias/app-ebs``) fails to
  start — StartInstances OK, then kms:CreateGrant/Decrypt AccessDenied invoked by EC2, state
  reason ``Client.InternalError`` — beside its healthy twin ``app-batch-02`` (``aws/ebs``).
* Incident 2: ``app-db-01`` (m5.large) with gp3 at its 3,000 IOPS and a gp2 whose burst balance
  drains to 0, instance EBS throughput pinned at the m5.large 81.25 MB/s baseline.
* Incident 3: flow logs (CloudWatch Logs v2 and v5, S3 text and hive Parquet) where
  ``app-web-01``'s connections to on-prem are ACCEPTed forward and, when the return leg comes
  back through the AZ-c attachment, REJECTed there.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.request import Request, urlopen

from tui.models.flowlog import DEFAULT_FORMAT

from . import extensions

__all__ = ["ACCOUNT", "V5_FIELDS", "DemoWorld", "FlowRecord", "clients", "seed"]

ACCOUNT = "123456789012"
ONPREM_CIDR = "192.168.100.0/24"
ONPREM_HOSTS = {"db": "192.168.100.10", "ssh": "192.168.100.11"}
OPS_ROLE = "OpsAdmin"
PRINCIPAL = f"arn:aws:sts::{ACCOUNT}:assumed-role/{OPS_ROLE}/alice"
FLOWLOG_BUCKET = "hamari-demo-flowlogs"
TRAIL_BUCKET = "hamari-demo-trail"
TRAIL_NAME = "org-trail"
LOG_GROUP_V2 = "/vpc/flow-logs/app"
LOG_GROUP_V5 = "/vpc/flow-logs/app-v5"
# AWS refuses two flow logs of one resource to the same destination: the Parquet one has a prefix.
PARQUET_PREFIX = "parquet"
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
V5_FORMAT = " ".join(f"${{{f}}}" for f in V5_FIELDS)


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
    nacl_id: str  # the NACL whose egress rule REJECTs the return leg (AZ-c)
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
    log_group_v2: str
    log_group_v5: str
    flow_log_ids: dict[str, str]  # "cwl-v2", "cwl-v5", "s3-text", "s3-parquet"
    flowlogs_bucket: str
    trail_name: str
    trail_arn: str
    trail_bucket: str
    seed: int
    seed_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FlowRecord:
    """One flow-log record, with every v5 field (as strings, ``-`` when not applicable)."""

    values: dict[str, str]

    def line(self, fields: Iterable[str]) -> str:
        return " ".join(self.values.get(f, "-") for f in fields)


_CLIENTS: dict[tuple[str, str], dict[str, Any]] = {}
_CLIENTS_LOCK = threading.Lock()


def clients(url: str, region: str = "us-east-1") -> dict[str, Any]:
    """boto3 clients for the emulator (test credentials; the emulator checks none).

    Made once per (url, region) and shared (boto3 clients are thread-safe): the seed and the
    live feeder would otherwise each parse the same six API models, ~0.3 s of CPU at start-up.
    """
    with _CLIENTS_LOCK:
        made = _CLIENTS.get((url, region))
        if made is None:
            made = _CLIENTS[(url, region)] = _make_clients(url, region)
        return made


def _make_clients(url: str, region: str) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region_name=region,
    )
    config = Config(
        retries={"total_max_attempts": 2, "mode": "standard"}, parameter_validation=False
    )
    names = ("ec2", "kms", "logs", "s3", "cloudwatch", "cloudtrail", "sts")
    return {n: session.client(n, endpoint_url=url, config=config) for n in names}


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tags(name: str, **extra: str) -> list[dict[str, str]]:
    tags = [{"Key": "Name", "Value": name}, {"Key": "env", "Value": "prod"}]
    tags += [{"Key": k, "Value": v} for k, v in extra.items()]
    return tags


# ---------------------------------------------------------------------------------------------
# CloudTrail records
# ---------------------------------------------------------------------------------------------

_PRINCIPALS = [
    # (kind, name, arn, access key, ip, user agent)
    (
        "AssumedRole",
        "alice",
        PRINCIPAL,
        "ASIAQ3EGRE3VALICE01",
        "198.51.100.24",
        "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.11.9 "
        "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe sid/0c2a command/ec2.start-instances",
    ),
    (
        "AssumedRole",
        "bob",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/ReadOnly/bob",
        "ASIAQ3EGRE3VBOB0002",
        "198.51.100.77",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
    ),
    (
        "AssumedRole",
        "i-0deploy",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deployer/gh-actions-8812",
        "ASIAQ3EGRE3VCIDEP03",
        "20.42.11.8",
        "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 "
        "os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.12.4 md/pyimpl#CPython cfg/retry-mode#legacy "
        "Botocore/1.34.144",
    ),
    (
        "IAMUser",
        "monitoring-bot",
        f"arn:aws:iam::{ACCOUNT}:user/monitoring-bot",
        "AKIAQ3EGRE3VMONBOT4",
        "10.20.1.30",
        "Grafana/10.4.2 aws-sdk-go/1.51.21 (go1.22.2; linux; amd64)",
    ),
]


def _identity(kind: str, name: str, arn: str, key: str, when: datetime) -> dict[str, Any]:
    if kind == "IAMUser":
        return {
            "type": "IAMUser",
            "principalId": "AIDAQ3EGRE3V" + hashlib.md5(name.encode()).hexdigest()[:9].upper(),
            "arn": arn,
            "accountId": ACCOUNT,
            "accessKeyId": key,
            "userName": name,
        }
    role = arn.split("/")[1]
    role_id = "AROAQ3EGRE3V" + hashlib.md5(role.encode()).hexdigest()[:9].upper()
    session = arn.rsplit("/", 1)[-1]
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": arn,
        "accountId": ACCOUNT,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                "accountId": ACCOUNT,
                "userName": role,
            },
            "attributes": {
                "creationDate": _iso(when - timedelta(minutes=37)),
                "mfaAuthenticated": "true" if session == "alice" else "false",
            },
        },
    }


def _event(
    rng: random.Random,
    when: datetime,
    source: str,
    name: str,
    principal: tuple[str, ...],
    *,
    read_only: bool,
    params: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
    invoked_by: str | None = None,
    resources: list[dict[str, str]] | None = None,
    region: str = "us-east-1",
) -> dict[str, Any]:
    kind, pname, arn, key, ip, agent = principal
    identity = _identity(kind, pname, arn, key, when)
    service = source.split(".")[0]
    record: dict[str, Any] = {
        "eventVersion": "1.10" if service in ("ec2", "kms") else "1.09",
        "userIdentity": identity,
        "eventTime": _iso(when),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": invoked_by or ip,
        "userAgent": invoked_by or agent,
    }
    if invoked_by:
        identity["invokedBy"] = invoked_by
    if error:
        record["errorCode"], record["errorMessage"] = error
    record["requestParameters"] = params
    record["responseElements"] = response
    record["requestID"] = _uuid(rng)
    record["eventID"] = _uuid(rng)
    record["readOnly"] = read_only
    if resources:
        record["resources"] = resources
    record["eventType"] = "AwsApiCall"
    record["managementEvent"] = True
    record["recipientAccountId"] = ACCOUNT
    record["eventCategory"] = "Management"
    if not invoked_by:
        record["tlsDetails"] = {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{service}.{region}.amazonaws.com",
        }
    return record


def _instances_set(instance_id: str) -> dict[str, Any]:
    return {"instancesSet": {"items": [{"instanceId": instance_id}]}}


def _state_change(instance_id: str, prev: tuple[int, str], cur: tuple[int, str]) -> dict[str, Any]:
    return {
        "requestId": "",
        "instancesSet": {
            "items": [
                {
                    "instanceId": instance_id,
                    "currentState": {"code": cur[0], "name": cur[1]},
                    "previousState": {"code": prev[0], "name": prev[1]},
                }
            ]
        },
    }


def start_attempt_events(
    rng: random.Random,
    when: datetime,
    instance_id: str,
    volume_id: str,
    key_arn: str,
    *,
    denied: bool,
) -> list[dict[str, Any]]:
    """StartInstances by alice, then the KMS calls EC2 makes on her behalf to attach the volume."""
    alice = _PRINCIPALS[0]
    events = [
        _event(
            rng,
            when,
            "ec2.amazonaws.com",
            "StartInstances",
            alice,
            read_only=False,
            params=_instances_set(instance_id),
            response=_state_change(instance_id, (80, "stopped"), (0, "pending")),
        )
    ]
    kms_resources = [{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key_arn}]
    context = {"aws:ebs:id": volume_id}
    for offset, name, params, ok_response in (
        (
            1.2,
            "CreateGrant",
            {
                "keyId": key_arn,
                "granteePrincipal": "ec2.us-east-1.amazonaws.com",
                "retiringPrincipal": "ec2.us-east-1.amazonaws.com",
                "operations": [
                    "Decrypt",
                    "GenerateDataKeyWithoutPlaintext",
                    "ReEncryptFrom",
                    "ReEncryptTo",
                    "CreateGrant",
                    "DescribeKey",
                ],
                "constraints": {"encryptionContextSubset": {"aws:ebs:id": volume_id}},
            },
            {
                "grantId": hashlib.sha256(f"{volume_id}{when}".encode()).hexdigest(),
                "keyId": key_arn,
            },
        ),
        (
            1.9,
            "Decrypt",
            {"encryptionContext": context, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
            None,
        ),
    ):
        error = None
        if denied:
            error = (
                "AccessDenied",
                f"User: {PRINCIPAL} is not authorized to perform: kms:{name} on resource: "
                f"{key_arn} because no resource-based policy allows the kms:{name} action",
            )
        events.append(
            _event(
                rng,
                when + timedelta(seconds=offset),
                "kms.amazonaws.com",
                name,
                alice,
                read_only=name != "CreateGrant",
                params=params,
                response=None if denied else ok_response,
                error=error,
                invoked_by="ec2.amazonaws.com",
                resources=kms_resources,
            )
        )
    return events


def noise_events(
    rng: random.Random, start: datetime, end: datetime, per_hour: int, instance_ids: list[str]
) -> list[dict[str, Any]]:
    """Everyday management events from several principals, addresses and user agents."""
    span = (end - start).total_seconds()
    count = max(0, int(per_hour * span / 3600))
    out = []
    for _ in range(count):
        when = start + timedelta(seconds=rng.uniform(0, span))
        principal = rng.choice(_PRINCIPALS)
        pick = rng.random()
        if pick < 0.30:
            out.append(
                _event(
                    rng,
                    when,
                    "ec2.amazonaws.com",
                    "DescribeInstances",
                    principal,
                    read_only=True,
                    params={"instancesSet": {}, "filterSet": {}},
                )
            )
        elif pick < 0.42:
            out.append(
                _event(
                    rng, when, "sts.amazonaws.com", "GetCallerIdentity", principal, read_only=True
                )
            )
        elif pick < 0.52:
            out.append(
                _event(
                    rng,
                    when,
                    "ec2.amazonaws.com",
                    "DescribeVolumes",
                    principal,
                    read_only=True,
                    params={"volumeSet": {}, "filterSet": {}},
                )
            )
        elif pick < 0.62:
            out.append(
                _event(
                    rng,
                    when,
                    "monitoring.amazonaws.com",
                    "GetMetricData",
                    principal,
                    read_only=True,
                    params={"startTime": _iso(when - timedelta(hours=3)), "endTime": _iso(when)},
                )
            )
        elif pick < 0.74:
            role = rng.choice(["ReadOnly", "ci-deployer", OPS_ROLE])
            cross = role == "ci-deployer"
            ev = _event(
                rng,
                when,
                "sts.amazonaws.com",
                "AssumeRole",
                principal,
                read_only=True,
                params={
                    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                    "roleSessionName": principal[1],
                    "durationSeconds": 3600,
                },
                response={
                    "credentials": {
                        "accessKeyId": "ASIAQ3EGRE3V"
                        + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(8)),
                        "expiration": _iso(when + timedelta(hours=1)),
                    }
                },
                resources=[
                    {
                        "accountId": ACCOUNT,
                        "type": "AWS::IAM::Role",
                        "ARN": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                    }
                ],
            )
            if cross:
                ev["sharedEventID"] = _uuid(rng)
            out.append(ev)
        elif pick < 0.80:
            human = _PRINCIPALS[rng.choice([0, 1])]
            out.append(
                _event(
                    rng,
                    when,
                    "signin.amazonaws.com",
                    "ConsoleLogin",
                    human,
                    read_only=False,
                    response={"ConsoleLogin": "Success"},
                    params=None,
                )
                | {
                    "additionalEventData": {
                        "LoginTo": "https://console.aws.amazon.com/console/home",
                        "MobileVersion": "No",
                        "MFAUsed": "Yes",
                    }
                }
            )
        elif pick < 0.90:
            out.append(
                _event(
                    rng,
                    when,
                    "logs.amazonaws.com",
                    "FilterLogEvents",
                    principal,
                    read_only=True,
                    params={"logGroupName": LOG_GROUP_V2, "filterPattern": "REJECT"},
                )
            )
        else:
            iid = rng.choice(instance_ids)
            out.append(
                _event(
                    rng,
                    when,
                    "ec2.amazonaws.com",
                    "DescribeInstanceStatus",
                    principal,
                    read_only=True,
                    params={
                        "instancesSet": {"items": [{"instanceId": iid}]},
                        "includeAllInstances": True,
                    },
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# Flow records
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Eni:
    eni: str
    subnet: str
    az_id: str
    instance: str
    ip: str


def _flow(
    eni: _Eni,
    vpc: str,
    region: str,
    src: str,
    dst: str,
    sport: int,
    dport: int,
    proto: int,
    packets: int,
    nbytes: int,
    start: int,
    end: int,
    action: str,
    direction: str,
    flags: int,
    path: str = "-",
) -> FlowRecord:
    values = {
        "version": "5",
        "account-id": ACCOUNT,
        "interface-id": eni.eni,
        "srcaddr": src,
        "dstaddr": dst,
        "srcport": str(sport),
        "dstport": str(dport),
        "protocol": str(proto),
        "packets": str(packets),
        "bytes": str(nbytes),
        "start": str(start),
        "end": str(end),
        "action": action,
        "log-status": "OK",
        "vpc-id": vpc,
        "subnet-id": eni.subnet,
        "instance-id": eni.instance,
        "tcp-flags": str(flags),
        "type": "IPv4",
        "pkt-srcaddr": src,
        "pkt-dstaddr": dst,
        "region": region,
        "az-id": eni.az_id,
        "sublocation-type": "-",
        "sublocation-id": "-",
        "pkt-src-aws-service": "-",
        "pkt-dst-aws-service": "-",
        "flow-direction": direction,
        "traffic-path": path if direction == "egress" else "-",
    }
    return FlowRecord(values)


def _nodata(eni: _Eni, vpc: str, region: str, start: int, end: int) -> FlowRecord:
    values = {f: "-" for f in V5_FIELDS}
    values.update(
        {
            "version": "5",
            "account-id": ACCOUNT,
            "interface-id": eni.eni,
            "start": str(start),
            "end": str(end),
            "log-status": "NODATA",
            "vpc-id": vpc,
            "subnet-id": eni.subnet,
            "instance-id": eni.instance,
            "region": region,
            "az-id": eni.az_id,
        }
    )
    return FlowRecord(values)


def flow_records(
    world: DemoWorld, rng: random.Random, start: datetime, end: datetime
) -> dict[str, list[FlowRecord]]:
    """Flow records by ENI for [start, end), one aggregation window per minute."""
    a, c = world.az_names
    enis = {
        "web1": _Eni(
            world.eni_ids["app-web-01"],
            world.subnet_ids[a],
            world.az_ids[a],
            world.instance_ids["app-web-01"],
            world.private_ips["app-web-01"],
        ),
        "web2": _Eni(
            world.eni_ids["app-web-02"],
            world.subnet_ids[c],
            world.az_ids[c],
            world.instance_ids["app-web-02"],
            world.private_ips["app-web-02"],
        ),
        "db": _Eni(
            world.eni_ids["app-db-01"],
            world.subnet_ids[a],
            world.az_ids[a],
            world.instance_ids["app-db-01"],
            world.private_ips["app-db-01"],
        ),
        "batch1": _Eni(
            world.eni_ids["app-batch-01"],
            world.subnet_ids[a],
            world.az_ids[a],
            world.instance_ids["app-batch-01"],
            world.private_ips["app-batch-01"],
        ),
        "batch2": _Eni(
            world.eni_ids["app-batch-02"],
            world.subnet_ids[a],
            world.az_ids[a],
            world.instance_ids["app-batch-02"],
            world.private_ips["app-batch-02"],
        ),
        "tgwa": _Eni(world.tgw_eni_ids[a], world.tgw_subnet_ids[a], world.az_ids[a], "-", ""),
        "tgwc": _Eni(world.tgw_eni_ids[c], world.tgw_subnet_ids[c], world.az_ids[c], "-", ""),
    }
    out: dict[str, list[FlowRecord]] = defaultdict(list)
    vpc, region = world.vpc_id, world.region

    def emit(key: str, *args: Any, **kwargs: Any) -> None:
        out[enis[key].eni].append(_flow(enis[key], vpc, region, *args, **kwargs))

    t = int(start.timestamp()) // 60 * 60
    stop = int(end.timestamp())
    web1 = enis["web1"].ip
    while t < stop:
        w0, w1 = t, t + 60
        s = lambda w0=w0: w0 + rng.randint(0, 20)  # noqa: E731
        e = lambda w1=w1: w1 - rng.randint(0, 5)  # noqa: E731
        # Incident 3: app-web-01 -> on-prem. Forward ACCEPTed; return through AZ-c REJECTed.
        for host, port in ((ONPREM_HOSTS["db"], 5432), (ONPREM_HOSTS["ssh"], 22)):
            for _ in range(rng.randint(1, 3)):
                sport = rng.randint(32768, 60999)
                via_c = rng.random() < 0.7
                pk = rng.randint(2, 4)
                emit(
                    "web1",
                    web1,
                    host,
                    sport,
                    port,
                    6,
                    pk,
                    pk * 60,
                    s(),
                    e(),
                    "ACCEPT",
                    "egress",
                    2,
                    "1",
                )
                emit(
                    "tgwa",
                    web1,
                    host,
                    sport,
                    port,
                    6,
                    pk,
                    pk * 60,
                    s(),
                    e(),
                    "ACCEPT",
                    "ingress",
                    2,
                )
                if via_c:
                    emit(
                        "tgwc",
                        host,
                        web1,
                        port,
                        sport,
                        6,
                        pk,
                        pk * 60,
                        s(),
                        e(),
                        "REJECT",
                        "ingress",
                        18,
                    )
                else:
                    n = rng.randint(8, 40)
                    emit(
                        "tgwa",
                        host,
                        web1,
                        port,
                        sport,
                        6,
                        n,
                        n * 900,
                        s(),
                        e(),
                        "ACCEPT",
                        "egress",
                        19,
                        "1",
                    )
                    emit(
                        "web1",
                        host,
                        web1,
                        port,
                        sport,
                        6,
                        n,
                        n * 900,
                        s(),
                        e(),
                        "ACCEPT",
                        "ingress",
                        19,
                    )
        # app-web-02 (AZ-c) reaches on-prem fine: its return leg arrives in its own AZ.
        sport = rng.randint(32768, 60999)
        n = rng.randint(10, 60)
        web2 = enis["web2"].ip
        emit(
            "web2",
            web2,
            ONPREM_HOSTS["db"],
            sport,
            5432,
            6,
            n,
            n * 110,
            s(),
            e(),
            "ACCEPT",
            "egress",
            27,
            "1",
        )
        emit(
            "tgwc",
            web2,
            ONPREM_HOSTS["db"],
            sport,
            5432,
            6,
            n,
            n * 110,
            s(),
            e(),
            "ACCEPT",
            "ingress",
            27,
        )
        emit(
            "tgwc",
            ONPREM_HOSTS["db"],
            web2,
            5432,
            sport,
            6,
            n,
            n * 700,
            s(),
            e(),
            "ACCEPT",
            "egress",
            19,
            "1",
        )
        emit(
            "web2",
            ONPREM_HOSTS["db"],
            web2,
            5432,
            sport,
            6,
            n,
            n * 700,
            s(),
            e(),
            "ACCEPT",
            "ingress",
            19,
        )
        # Internet clients on 443, both web servers.
        for key in ("web1", "web2"):
            ip = enis[key].ip
            for _ in range(rng.randint(3, 7)):
                client = f"{rng.choice([203, 198, 100])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                cport = rng.randint(1024, 65535)
                n = rng.randint(5, 80)
                emit(
                    key,
                    client,
                    ip,
                    cport,
                    443,
                    6,
                    n,
                    n * rng.randint(80, 300),
                    s(),
                    e(),
                    "ACCEPT",
                    "ingress",
                    3,
                )
                emit(
                    key,
                    ip,
                    client,
                    443,
                    cport,
                    6,
                    n,
                    n * rng.randint(600, 1400),
                    s(),
                    e(),
                    "ACCEPT",
                    "egress",
                    19,
                    "8",
                )
        # Intra-AZ: web-01 -> db-01 on 5432, accepted both ways on both ENIs.
        db = enis["db"].ip
        sport = rng.randint(32768, 60999)
        n = rng.randint(20, 200)
        for key in ("web1", "db"):
            emit(
                key,
                web1,
                db,
                sport,
                5432,
                6,
                n,
                n * 120,
                s(),
                e(),
                "ACCEPT",
                "egress" if key == "web1" else "ingress",
                27,
                "1",
            )
            emit(
                key,
                db,
                web1,
                5432,
                sport,
                6,
                n,
                n * 1300,
                s(),
                e(),
                "ACCEPT",
                "ingress" if key == "web1" else "egress",
                19,
                "1",
            )
        # Batch twin to S3 over the internet gateway; DNS; an SSH scanner REJECTed by the SG.
        b2 = enis["batch2"].ip
        s3ip = f"52.217.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        sport = rng.randint(32768, 60999)
        n = rng.randint(50, 400)
        emit("batch2", b2, s3ip, sport, 443, 6, n, n * 1400, s(), e(), "ACCEPT", "egress", 3, "8")
        emit("batch2", s3ip, b2, 443, sport, 6, n, n * 90, s(), e(), "ACCEPT", "ingress", 19)
        emit(
            "db",
            db,
            "10.20.0.2",
            rng.randint(32768, 60999),
            53,
            17,
            1,
            72,
            s(),
            e(),
            "ACCEPT",
            "egress",
            0,
            "1",
        )
        if rng.random() < 0.35:
            scanner = f"45.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            emit(
                "web1",
                scanner,
                web1,
                rng.randint(1024, 65535),
                rng.choice([22, 3389, 23]),
                6,
                1,
                44,
                s(),
                e(),
                "REJECT",
                "ingress",
                2,
            )
        # The stopped instance logs nothing: NODATA.
        out[enis["batch1"].eni].append(_nodata(enis["batch1"], vpc, region, w0, w1))
        t += 60
    return out


def put_flow_records_cwl(
    logs: Any,
    world: DemoWorld,
    by_eni: dict[str, list[FlowRecord]],
    existing_streams: set[str] | None = None,
) -> int:
    """Write records to both CloudWatch Logs groups (v2 default and v5 custom format)."""
    total = 0
    for group, fields in ((world.log_group_v2, V2_FIELDS), (world.log_group_v5, V5_FIELDS)):
        for eni, records in by_eni.items():
            stream = f"{eni}-all"
            if existing_streams is None or (group, stream) not in existing_streams:
                with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                    logs.create_log_stream(logGroupName=group, logStreamName=stream)
                if existing_streams is not None:
                    existing_streams.add((group, stream))
            ordered = sorted(records, key=lambda r: int(r.values["start"]))
            version_fields = list(fields)
            events = []
            for r in ordered:
                line = r.line(version_fields)
                if fields is V2_FIELDS:
                    line = "2" + line[1:]
                events.append({"timestamp": int(r.values["start"]) * 1000, "message": line})
            for i in range(0, len(events), 5000):
                logs.put_log_events(
                    logGroupName=group, logStreamName=stream, logEvents=events[i : i + 5000]
                )
            total += len(events)
    return total


def _s3_flow_objects(
    world: DemoWorld, rng: random.Random, by_eni: dict[str, list[FlowRecord]]
) -> list[tuple[str, bytes]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = sorted(
        (r for rs in by_eni.values() for r in rs), key=lambda r: int(r.values["start"])
    )
    text_id, pq_id = world.flow_log_ids["s3-text"], world.flow_log_ids["s3-parquet"]
    objects: list[tuple[str, bytes]] = []
    by_10min: dict[int, list[FlowRecord]] = defaultdict(list)
    by_hour: dict[int, list[FlowRecord]] = defaultdict(list)
    for r in records:
        start = int(r.values["start"])
        by_10min[start // 600 * 600].append(r)
        by_hour[start // 3600 * 3600].append(r)
    for bucket_start, rs in sorted(by_10min.items()):
        dt = datetime.fromtimestamp(bucket_start + 600, UTC)
        suffix = f"{rng.getrandbits(32):08x}"
        key = (
            f"AWSLogs/{ACCOUNT}/vpcflowlogs/{world.region}/{dt:%Y/%m/%d}/"
            f"{ACCOUNT}_vpcflowlogs_{world.region}_{text_id}_{dt:%Y%m%dT%H%MZ}_{suffix}.log.gz"
        )
        lines = [" ".join(V2_FIELDS)] + ["2" + r.line(V2_FIELDS)[1:] for r in rs]
        objects.append((key, gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=5)))
    int_fields = {"version", "srcport", "dstport", "protocol", "tcp-flags", "traffic-path"}
    long_fields = {"packets", "bytes", "start", "end"}
    for hour_start, rs in sorted(by_hour.items()):
        dt = datetime.fromtimestamp(hour_start, UTC)
        columns: dict[str, Any] = {}
        for f in V5_FIELDS:
            raw = [r.values.get(f, "-") for r in rs]
            name = f.replace("-", "_")
            if f in int_fields or f in long_fields:
                typ = pa.int32() if f in int_fields else pa.int64()
                columns[name] = pa.array([None if v == "-" else int(v) for v in raw], type=typ)
            else:
                columns[name] = pa.array([None if v == "-" else v for v in raw], type=pa.string())
        table = pa.table(columns)
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="gzip")
        stamp = datetime.fromtimestamp(min(hour_start + 3600, int(world.now.timestamp())), UTC)
        suffix = f"{rng.getrandbits(32):08x}"
        key = (
            f"{PARQUET_PREFIX}/AWSLogs/aws-account-id={ACCOUNT}/aws-service=vpcflowlogs/"
            f"aws-region={world.region}/year={dt:%Y}/month={dt:%m}/day={dt:%d}/hour={dt:%H}/"
            f"{ACCOUNT}_vpcflowlogs_{world.region}_{pq_id}_{stamp:%Y%m%dT%H%MZ}_{suffix}.log.parquet"
        )
        objects.append((key, sink.getvalue()))
    return objects


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


def metric_data(
    world: DemoWorld, rng: random.Random, start: datetime, end: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Datapoints by namespace, one per minute in [start, end)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    t0 = int(start.timestamp()) // 60 * 60
    t_end = int(end.timestamp())
    history_start = world.now - HISTORY
    mb = 1024 * 1024

    def put(ns: str, name: str, dim: tuple[str, str], ts: int, value: float, unit: str) -> None:
        out[ns].append(
            {
                "MetricName": name,
                "Dimensions": [{"Name": dim[0], "Value": dim[1]}],
                "Timestamp": datetime.fromtimestamp(ts, UTC),
                "Value": round(value, 3),
                "Unit": unit,
            }
        )

    db = world.instance_ids["app-db-01"]
    gp3 = world.volume_ids["app-db-01:gp3"]
    gp2 = world.volume_ids["app-db-01:gp2"]
    failed_at = int(world.kms_denied_at.timestamp()) - 600
    for ts in range(t0, t_end, 60):
        minutes = (ts - history_start.timestamp()) / 60  # since the migration load started
        j = lambda spread=0.03: 1 + rng.uniform(-spread, spread)  # noqa: E731
        # gp2 100 GiB: 300 IOPS baseline, bursts at 3,000 until BurstBalance (100 %) is gone.
        burst = max(0.0, 100 - minutes * 3.0)
        gp2_iops = 3000 * j(0.02) if burst > 0 else 300 * j(0.01)
        gp3_iops = 2990 * j(0.005)  # pinned at its provisioned 3,000
        byte_balance = max(0.0, 100 - minutes * 2.5)
        inst_mbps = (150 if byte_balance > 0 else 81.25) * (j(0.01) if byte_balance > 0 else 1)
        if byte_balance <= 0:
            inst_mbps = 81.25 * (1 - rng.uniform(0, 0.004))
        gp3_mbps = inst_mbps * 0.82
        gp2_mbps = inst_mbps - gp3_mbps
        for vol, iops, mbps in ((gp3, gp3_iops, gp3_mbps), (gp2, gp2_iops, gp2_mbps)):
            reads = iops * 0.7 * 60
            writes = iops * 60 - reads
            put("AWS/EBS", "VolumeReadOps", ("VolumeId", vol), ts, reads, "Count")
            put("AWS/EBS", "VolumeWriteOps", ("VolumeId", vol), ts, writes, "Count")
            put("AWS/EBS", "VolumeReadBytes", ("VolumeId", vol), ts, mbps * mb * 0.6 * 60, "Bytes")
            put("AWS/EBS", "VolumeWriteBytes", ("VolumeId", vol), ts, mbps * mb * 0.4 * 60, "Bytes")
            put("AWS/EBS", "VolumeQueueLength", ("VolumeId", vol), ts, 28 * j(0.2), "Count")
            put("AWS/EBS", "VolumeIdleTime", ("VolumeId", vol), ts, 0.0, "Seconds")
        put("AWS/EBS", "BurstBalance", ("VolumeId", gp2), ts, burst, "Percent")
        total_ops = (gp3_iops + gp2_iops) * 60
        put("AWS/EC2", "EBSReadOps", ("InstanceId", db), ts, total_ops * 0.7, "Count")
        put("AWS/EC2", "EBSWriteOps", ("InstanceId", db), ts, total_ops * 0.3, "Count")
        put("AWS/EC2", "EBSReadBytes", ("InstanceId", db), ts, inst_mbps * mb * 0.6 * 60, "Bytes")
        put("AWS/EC2", "EBSWriteBytes", ("InstanceId", db), ts, inst_mbps * mb * 0.4 * 60, "Bytes")
        put("AWS/EC2", "EBSByteBalance%", ("InstanceId", db), ts, byte_balance, "Percent")
        put(
            "AWS/EC2",
            "EBSIOBalance%",
            ("InstanceId", db),
            ts,
            max(0.0, 100 - minutes * 0.2),
            "Percent",
        )
        put("AWS/EC2", "CPUUtilization", ("InstanceId", db), ts, 20 * j(0.2), "Percent")
        put("AWS/EC2", "NetworkIn", ("InstanceId", db), ts, 2.1e8 * j(0.2), "Bytes")
        put("AWS/EC2", "NetworkOut", ("InstanceId", db), ts, 6.3e8 * j(0.2), "Bytes")
        for name, cpu in (
            ("app-web-01", 14),
            ("app-web-02", 12),
            ("app-batch-02", 43),
            ("app-batch-01", 38),
        ):
            if name == "app-batch-01" and ts >= failed_at:
                continue  # stopped: no datapoints
            iid = world.instance_ids[name]
            put("AWS/EC2", "CPUUtilization", ("InstanceId", iid), ts, cpu * j(0.3), "Percent")
            put("AWS/EC2", "NetworkIn", ("InstanceId", iid), ts, 3.0e7 * j(0.4), "Bytes")
            put("AWS/EC2", "NetworkOut", ("InstanceId", iid), ts, 9.0e7 * j(0.4), "Bytes")
            put("AWS/EC2", "EBSReadOps", ("InstanceId", iid), ts, 120 * 60 * j(0.3), "Count")
            put("AWS/EC2", "EBSWriteOps", ("InstanceId", iid), ts, 80 * 60 * j(0.3), "Count")
            put("AWS/EC2", "EBSReadBytes", ("InstanceId", iid), ts, 4 * mb * 60 * j(0.3), "Bytes")
            put("AWS/EC2", "EBSWriteBytes", ("InstanceId", iid), ts, 3 * mb * 60 * j(0.3), "Bytes")
            put("AWS/EC2", "EBSByteBalance%", ("InstanceId", iid), ts, 100.0, "Percent")
            root = world.volume_ids.get(f"{name}:root")
            if root:
                put("AWS/EBS", "VolumeReadOps", ("VolumeId", root), ts, 120 * 60 * j(0.3), "Count")
                put("AWS/EBS", "VolumeWriteOps", ("VolumeId", root), ts, 80 * 60 * j(0.3), "Count")
    return out


def put_metrics(cw: Any, data: dict[str, list[dict[str, Any]]]) -> int:
    """PutMetricData in batches of at most 1,000 datapoints."""
    total = 0
    for ns, items in data.items():
        for i in range(0, len(items), 1000):
            cw.put_metric_data(Namespace=ns, MetricData=items[i : i + 1000])
        total += len(items)
    return total


# ---------------------------------------------------------------------------------------------
# seed
# ---------------------------------------------------------------------------------------------


def operator_credentials(url: str, region: str = "us-east-1") -> tuple[str, str, str]:
    """Temporary credentials of the scenario's operator (alice, in role OpsAdmin).

    The demo signs in as her, like an engineer on the bastion would after ``aws sso login``,
    so the header and every "who am I" answer (GetCallerIdentity) name the assumed role.
    """
    creds = clients(url, region)["sts"].assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{OPS_ROLE}",
        RoleSessionName="alice",
        DurationSeconds=43200,
    )["Credentials"]
    return creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]


def _moto_seed(url: str, value: int) -> None:
    with urlopen(Request(f"{url}/moto-api/seed?a={value}", method="POST"), timeout=10) as r:
        r.read()


def seed(
    url: str,
    *,
    now: datetime,
    region: str = "us-east-1",
    seed: int = 7,
    defer: Callable[[Callable[[], None]], None] | None = None,
) -> DemoWorld:
    """Seed the three incidents into the (empty) emulator at ``url``, relative to ``now``.

    Args:
        url: the emulator endpoint (``EmbeddedAws.url``).
        now: the demo's present; events and datapoints cover the 3 hours before it.
        region: the region to seed.
        seed: seeds both this generator and moto's ID generator, so a given (now, seed) gives
            the same world (IDs, records, values) every time on a freshly reset emulator.
        defer: when given, the S3 objects (trail and flow-log files, which no pane reads by
            default) are handed to it as one callable to write later, so ``hamari --demo`` can
            start its panes sooner; by default they are written before returning.

    Returns:
        The identifiers of everything seeded.
    """
    started = time.perf_counter()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    rng = random.Random(seed)
    _moto_seed(url, seed)
    c = clients(url, region)
    ec2, kms, logs, s3, cw, ct = (
        c[n] for n in ("ec2", "kms", "logs", "s3", "cloudwatch", "cloudtrail")
    )
    a, cz = f"{region}a", f"{region}c"

    # -- network ------------------------------------------------------------------------------
    def tag_spec(kind: str, name: str) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": _tags(name)}]

    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=tag_spec("vpc", "app"))["Vpc"][
        "VpcId"
    ]
    subnet_cidrs = {a: "10.20.1.0/24", cz: "10.20.3.0/24"}
    tgw_cidrs = {a: "10.20.255.0/28", cz: "10.20.255.16/28"}
    subnets, tgw_subnets, az_ids = {}, {}, {}
    for az in (a, cz):
        letter = az[-1]
        sn = ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=subnet_cidrs[az],
            AvailabilityZone=az,
            TagSpecifications=tag_spec("subnet", f"app-private-{letter}"),
        )["Subnet"]
        subnets[az] = sn["SubnetId"]
        az_ids[az] = sn["AvailabilityZoneId"]
        tgw_subnets[az] = ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=tgw_cidrs[az],
            AvailabilityZone=az,
            TagSpecifications=tag_spec("subnet", f"app-tgw-{letter}"),
        )["Subnet"]["SubnetId"]
    legacy_vpc = ec2.create_vpc(
        CidrBlock="10.99.0.0/16", TagSpecifications=tag_spec("vpc", "legacy")
    )["Vpc"]["VpcId"]
    legacy_subnet = ec2.create_subnet(
        VpcId=legacy_vpc,
        CidrBlock="10.99.1.0/24",
        AvailabilityZone=a,
        TagSpecifications=tag_spec("subnet", "legacy-a"),
    )["Subnet"]["SubnetId"]

    igw = ec2.create_internet_gateway(TagSpecifications=tag_spec("internet-gateway", "app-igw"))
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
        TagSpecifications=tag_spec("transit-gateway-attachment", "app-vpc"),
    )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    tgw_enis_resp = ec2.describe_network_interfaces(
        Filters=[{"Name": "description", "Values": [f"*{attachment}"]}]
    )["NetworkInterfaces"]
    tgw_enis = {e["AvailabilityZone"]: e["NetworkInterfaceId"] for e in tgw_enis_resp}
    rtb = ec2.create_route_table(
        VpcId=vpc, TagSpecifications=tag_spec("route-table", "app-private")
    )
    rtb_id = rtb["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    ec2.create_route(RouteTableId=rtb_id, DestinationCidrBlock=ONPREM_CIDR, TransitGatewayId=tgw_id)
    for az in (a, cz):
        ec2.associate_route_table(RouteTableId=rtb_id, SubnetId=subnets[az])
        ec2.associate_route_table(RouteTableId=rtb_id, SubnetId=tgw_subnets[az])

    # One NACL per AZ, written to forbid traffic between the AZs (the incident's root cause).
    default_nacl = ec2.describe_network_acls(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default", "Values": ["true"]}]
    )["NetworkAcls"][0]
    assoc = {x["SubnetId"]: x["NetworkAclAssociationId"] for x in default_nacl["Associations"]}
    nacls = {}
    for az, other in ((a, cz), (cz, a)):
        nacl = ec2.create_network_acl(
            VpcId=vpc, TagSpecifications=tag_spec("network-acl", f"app-az-{az[-1]}-no-cross-az")
        )["NetworkAcl"]["NetworkAclId"]
        nacls[az] = nacl
        for egress in (False, True):
            for number, cidr, action in (
                (100, subnet_cidrs[other], "deny"),
                (110, tgw_cidrs[other], "deny"),
                (200, "0.0.0.0/0", "allow"),
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
        ("app-web", "web tier", [(443, "0.0.0.0/0"), (22, ONPREM_CIDR)]),
        (
            "app-db",
            "database tier",
            [(5432, "10.20.0.0/16"), (5432, ONPREM_CIDR), (22, ONPREM_CIDR)],
        ),
        ("app-batch", "batch workers", [(22, ONPREM_CIDR)]),
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
                {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": cidr}]}
                for p, cidr in rules
            ],
        )
        sgs[name] = gid

    # -- KMS and instances -------------------------------------------------------------------
    key = kms.create_key(
        Description="EBS encryption for app batch volumes",
        Tags=[{"TagKey": "owner", "TagValue": "platform"}],
    )["KeyMetadata"]
    kms.create_alias(AliasName="alias/app-ebs", TargetKeyId=key["KeyId"])

    def launch(
        name: str,
        itype: str,
        az: str,
        ip: str,
        sg: str,
        volumes: list[dict[str, Any]],
        ami: str = "ami-0c7217cdde317cfec",
    ) -> dict[str, Any]:
        return ec2.run_instances(
            ImageId=ami,
            MinCount=1,
            MaxCount=1,
            InstanceType=itype,
            KeyName="ops-2024",
            NetworkInterfaces=[
                {
                    "DeviceIndex": 0,
                    "SubnetId": subnets.get(az, az),
                    "PrivateIpAddress": ip,
                    "Groups": [sg],
                }
            ],
            BlockDeviceMappings=volumes,
            EbsOptimized=True,
            TagSpecifications=[{"ResourceType": "instance", "Tags": _tags(name)}],
        )["Instances"][0]

    def gp3(size: int, **extra: Any) -> dict[str, Any]:
        return {
            "DeviceName": "/dev/xvda",
            "Ebs": {
                "VolumeSize": size,
                "VolumeType": "gp3",
                "Iops": 3000,
                "Throughput": 125,
                "DeleteOnTermination": True,
                **extra,
            },
        }

    plan = [
        ("app-web-01", "t3.medium", a, "10.20.1.10", "app-web", [gp3(30)]),
        ("app-web-02", "t3.medium", cz, "10.20.3.10", "app-web", [gp3(30)]),
        (
            "app-batch-01",
            "m5.large",
            a,
            "10.20.1.41",
            "app-batch",
            [gp3(100, Encrypted=True, KmsKeyId=key["Arn"])],
        ),
        ("app-batch-02", "m5.large", a, "10.20.1.42", "app-batch", [gp3(100, Encrypted=True)]),
        (
            "app-db-01",
            "m5.large",
            a,
            "10.20.1.20",
            "app-db",
            [
                gp3(200, Encrypted=True),
                {
                    "DeviceName": "/dev/sdf",
                    "Ebs": {
                        "VolumeSize": 100,
                        "VolumeType": "gp2",
                        "Encrypted": True,
                        "DeleteOnTermination": False,
                    },
                },
            ],
        ),
    ]
    instance_ids, instance_types, eni_ids, ips = {}, {}, {}, {}
    for name, itype, az, ip, sg, vols in plan:
        inst = launch(name, itype, az, ip, sgs[sg], vols)
        instance_ids[name] = inst["InstanceId"]
        instance_types[name] = itype
        eni_ids[name] = inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
        ips[name] = ip
    legacy = ec2.run_instances(
        ImageId="ami-0c7217cdde317cfec",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.small",
        SubnetId=legacy_subnet,
        TagSpecifications=[{"ResourceType": "instance", "Tags": _tags("legacy-app-01")}],
    )["Instances"][0]
    instance_ids["legacy-app-01"] = legacy["InstanceId"]
    instance_types["legacy-app-01"] = "t3.small"
    eni_ids["legacy-app-01"] = legacy["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ips["legacy-app-01"] = legacy["PrivateIpAddress"]

    volume_ids: dict[str, str] = {}
    by_instance = {v: k for k, v in instance_ids.items()}
    managed_key_arn = ""
    for vol in ec2.describe_volumes()["Volumes"]:
        for att in vol.get("Attachments", []):
            name = by_instance.get(att["InstanceId"])
            if not name:
                continue
            role = "root"
            if name == "app-db-01":
                role = vol["VolumeType"]
            volume_ids[f"{name}:{role}"] = vol["VolumeId"]
            ec2.create_tags(Resources=[vol["VolumeId"]], Tags=_tags(f"{name}-{role}"))
            if name == "app-batch-02":
                managed_key_arn = vol.get("KmsKeyId", "")

    # Incident 1: stop OK, start accepted, KMS denied, back to stopped with Client.InternalError.
    failing, twin = instance_ids["app-batch-01"], instance_ids["app-batch-02"]
    ec2.stop_instances(InstanceIds=[failing])
    extensions.set_instance_state(failing, "stopped", region=region)

    # -- CloudTrail --------------------------------------------------------------------------
    history_start = now - HISTORY
    alice = _PRINCIPALS[0]
    events = noise_events(rng, history_start, now, 140, list(instance_ids.values()))
    twin_stop = now - timedelta(minutes=95)
    events.append(
        _event(
            rng,
            twin_stop,
            "ec2.amazonaws.com",
            "StopInstances",
            alice,
            read_only=False,
            params=_instances_set(twin) | {"force": False},
            response=_state_change(twin, (16, "running"), (64, "stopping")),
        )
    )
    events += start_attempt_events(
        rng,
        twin_stop + timedelta(minutes=4),
        twin,
        volume_ids["app-batch-02:root"],
        managed_key_arn,
        denied=False,
    )
    stop_at = now - timedelta(minutes=58)
    events.append(
        _event(
            rng,
            stop_at,
            "ec2.amazonaws.com",
            "StopInstances",
            alice,
            read_only=False,
            params=_instances_set(failing) | {"force": False},
            response=_state_change(failing, (16, "running"), (64, "stopping")),
        )
    )
    start_at = now - timedelta(minutes=52)
    events += start_attempt_events(
        rng, start_at, failing, volume_ids["app-batch-01:root"], key["Arn"], denied=True
    )
    events.append(
        _event(
            rng,
            start_at + timedelta(seconds=41),
            "ec2.amazonaws.com",
            "DescribeInstances",
            alice,
            read_only=True,
            params={"instancesSet": {"items": [{"instanceId": failing}]}, "filterSet": {}},
        )
    )
    retry_at = now - timedelta(minutes=31)
    events += start_attempt_events(
        rng, retry_at, failing, volume_ids["app-batch-01:root"], key["Arn"], denied=True
    )
    events.sort(key=lambda e: e["eventTime"])
    extensions.record_events(events, region=region, account=ACCOUNT)

    # -- S3 buckets, trail, flow logs --------------------------------------------------------
    for bucket in (FLOWLOG_BUCKET, TRAIL_BUCKET):
        s3.create_bucket(Bucket=bucket)
    trail = ct.create_trail(
        Name=TRAIL_NAME,
        S3BucketName=TRAIL_BUCKET,
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
    )
    ct.start_logging(Name=TRAIL_NAME)
    logs.create_log_group(logGroupName=LOG_GROUP_V2, tags={"purpose": "vpc-flow-logs"})
    logs.create_log_group(logGroupName=LOG_GROUP_V5, tags={"purpose": "vpc-flow-logs"})
    flow_role = f"arn:aws:iam::{ACCOUNT}:role/vpc-flow-logs-delivery"
    flow_ids = {}
    for kind, kwargs in (
        (
            "cwl-v2",
            {
                "LogDestinationType": "cloud-watch-logs",
                "LogGroupName": LOG_GROUP_V2,
                "DeliverLogsPermissionArn": flow_role,
            },
        ),
        (
            "cwl-v5",
            {
                "LogDestinationType": "cloud-watch-logs",
                "LogGroupName": LOG_GROUP_V5,
                "DeliverLogsPermissionArn": flow_role,
                "LogFormat": V5_FORMAT,
            },
        ),
        (
            "s3-text",
            {
                "LogDestinationType": "s3",
                "LogDestination": f"arn:aws:s3:::{FLOWLOG_BUCKET}",
                "DestinationOptions": {
                    "FileFormat": "plain-text",
                    "HiveCompatiblePartitions": False,
                    "PerHourPartition": False,
                },
            },
        ),
        (
            "s3-parquet",
            {
                "LogDestinationType": "s3",
                "LogDestination": f"arn:aws:s3:::{FLOWLOG_BUCKET}/{PARQUET_PREFIX}",
                "LogFormat": V5_FORMAT,
                "DestinationOptions": {
                    "FileFormat": "parquet",
                    "HiveCompatiblePartitions": True,
                    "PerHourPartition": True,
                },
            },
        ),
    ):
        resp = ec2.create_flow_logs(
            ResourceIds=[vpc],
            ResourceType="VPC",
            TrafficType="ALL",
            MaxAggregationInterval=60,
            TagSpecifications=tag_spec("vpc-flow-log", f"app-{kind}"),
            **kwargs,
        )
        if not resp["FlowLogIds"]:
            raise RuntimeError(f"create_flow_logs {kind}: {resp['Unsuccessful']}")
        flow_ids[kind] = resp["FlowLogIds"][0]

    a_letter, c_letter = a, cz
    world = DemoWorld(
        now=now,
        url=url,
        region=region,
        account_id=ACCOUNT,
        principal_arn=PRINCIPAL,
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/{OPS_ROLE}",
        vpc_id=vpc,
        vpc_cidr="10.20.0.0/16",
        legacy_vpc_id=legacy_vpc,
        onprem_cidr=ONPREM_CIDR,
        onprem_hosts=dict(ONPREM_HOSTS),
        az_names=(a_letter, c_letter),
        az_ids=az_ids,
        subnet_ids=subnets,
        subnet_cidrs=subnet_cidrs,
        tgw_subnet_ids=tgw_subnets,
        tgw_subnet_cidrs=tgw_cidrs,
        legacy_subnet_id=legacy_subnet,
        tgw_id=tgw_id,
        tgw_attachment_id=attachment,
        tgw_attachment_ids={a: attachment, cz: attachment},
        tgw_eni_ids=tgw_enis,
        route_table_id=rtb_id,
        nacl_ids=nacls,
        nacl_id=nacls[cz],
        nacl_deny_rule=100,
        security_group_ids=sgs,
        instance_ids=instance_ids,
        instance_types=instance_types,
        eni_ids=eni_ids,
        private_ips=ips,
        volume_ids=volume_ids,
        kms_key_id=key["KeyId"],
        kms_key_arn=key["Arn"],
        kms_alias="alias/app-ebs",
        aws_managed_key_arn=managed_key_arn,
        failing_instance_id=failing,
        healthy_twin_id=twin,
        slow_instance_id=instance_ids["app-db-01"],
        web_instance_id=instance_ids["app-web-01"],
        kms_denied_at=start_at + timedelta(seconds=1.2),
        log_group_v2=LOG_GROUP_V2,
        log_group_v5=LOG_GROUP_V5,
        flow_log_ids=flow_ids,
        flowlogs_bucket=FLOWLOG_BUCKET,
        trail_name=TRAIL_NAME,
        trail_arn=trail["TrailARN"],
        trail_bucket=TRAIL_BUCKET,
        seed=seed,
    )

    # -- data: flow logs, trail files, metrics -----------------------------------------------
    # Generate everything first (fixed order and seeds, so the world is reproducible), then write
    # the stores. Seeding time is what stands between `hamari --demo` and data in the panes, so
    # when the emulator runs in this process the bulk writes go straight to its backends (see
    # tui/demo/direct.py: same batches, same moto methods, no wire); otherwise over HTTP, with
    # the three independent stores in parallel (the emulator is threaded).
    by_eni = flow_records(world, rng, history_start, now)
    datapoints = metric_data(world, rng, history_start, now)
    s3_rng = random.Random(seed * 7919 + 53)  # its own stream: the S3 files may be built later

    def put_s3() -> None:
        objects = [(FLOWLOG_BUCKET, k, b) for k, b in _s3_flow_objects(world, s3_rng, by_eni)]
        objects += [(TRAIL_BUCKET, k, b) for k, b in _trail_objects(world, s3_rng, events)]
        for bucket, key_name, body in objects:
            s3.put_object(Bucket=bucket, Key=key_name, Body=body)

    from .server import EmbeddedAws

    if EmbeddedAws.serves(url):
        from .direct import DirectLogs, DirectMetrics

        n_flows = put_flow_records_cwl(DirectLogs(ACCOUNT, region), world, by_eni)
        n_points = put_metrics(DirectMetrics(ACCOUNT, region), datapoints)
        if defer is None:
            put_s3()
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="hamari-seed") as pool:
            flows_done = pool.submit(put_flow_records_cwl, logs, world, by_eni)
            points_done = pool.submit(put_metrics, cw, datapoints)
            s3_done = pool.submit(put_s3) if defer is None else None
            n_flows, n_points = flows_done.result(), points_done.result()
            if s3_done is not None:
                s3_done.result()
    if defer is not None:
        defer(put_s3)

    counts = {
        "cloudtrail_events": len(events),
        "flow_log_events": n_flows,
        "datapoints": n_points,
        "flow_records": sum(len(v) for v in by_eni.values()),
    }
    elapsed = time.perf_counter() - started
    return _replace(world, seed_seconds=elapsed, counts=counts)


def _replace(world: DemoWorld, **changes: Any) -> DemoWorld:
    from dataclasses import replace

    return replace(world, **changes)


def _trail_objects(
    world: DemoWorld, rng: random.Random, events: list[dict[str, Any]]
) -> list[tuple[str, bytes]]:
    """CloudTrail log files (one per 15 minutes) and an hourly digest file."""
    by_file: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for ev in events:
        ts = int(datetime.fromisoformat(ev["eventTime"].replace("Z", "+00:00")).timestamp())
        by_file[ts // 900 * 900].append(ev)
    objects = []
    hourly: dict[int, list[dict[str, Any]]] = defaultdict(list)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    prefix = f"AWSLogs/{ACCOUNT}/CloudTrail/{world.region}"
    for start, records in sorted(by_file.items()):
        delivered = datetime.fromtimestamp(start + 900, UTC)
        rand = "".join(rng.choice(alphabet) for _ in range(16))
        key = (
            f"{prefix}/{delivered:%Y/%m/%d}/{ACCOUNT}_CloudTrail_{world.region}_"
            f"{delivered:%Y%m%dT%H%MZ}_{rand}.json.gz"
        )
        body = gzip.compress(json.dumps({"Records": records}).encode(), compresslevel=5)
        objects.append((key, body))
        hourly[start // 3600 * 3600].append(
            {
                "s3Bucket": world.trail_bucket,
                "s3Object": key,
                "hashValue": hashlib.sha256(body).hexdigest(),
                "hashAlgorithm": "SHA-256",
                "newestEventTime": max(r["eventTime"] for r in records),
                "oldestEventTime": min(r["eventTime"] for r in records),
            }
        )
    for hour, files in sorted(hourly.items()):
        end = datetime.fromtimestamp(hour + 3600, UTC)
        digest = {
            "awsAccountId": ACCOUNT,
            "digestStartTime": _iso(datetime.fromtimestamp(hour, UTC)),
            "digestEndTime": _iso(end),
            "digestS3Bucket": world.trail_bucket,
            "digestS3Object": "",
            "digestPublicKeyFingerprint": hashlib.md5(b"hamari-demo").hexdigest(),
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": max(f["newestEventTime"] for f in files),
            "oldestEventTime": min(f["oldestEventTime"] for f in files),
            "previousDigestS3Bucket": None,
            "previousDigestS3Object": None,
            "previousDigestHashValue": None,
            "previousDigestHashAlgorithm": None,
            "previousDigestSignature": None,
            "logFiles": files,
        }
        key = (
            f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{world.region}/{end:%Y/%m/%d}/"
            f"{ACCOUNT}_CloudTrail-Digest_{world.region}_{world.trail_name}_{world.region}_"
            f"{end:%Y%m%dT%H%M%SZ}.json.gz"
        )
        digest["digestS3Object"] = key
        objects.append((key, gzip.compress(json.dumps(digest).encode())))
    return objects
