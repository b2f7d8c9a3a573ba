"""Seed the three incidents (KMS-denied start, EBS limit, cross-AZ NACL) into the embedded AWS.

Every event and datapoint is placed relative to a given ``now``.

Everything goes through the emulator's own HTTP API with boto3, as an operator's scripts would,
except CloudTrail events: AWS has no API to write them, so they go through
:func:`tui.demo.extensions.record_events` (and, as log files, into the trail's S3 bucket).

A world is built from a :class:`~tui.demo.seed.spec.WorldSpec`: the demo's is
:data:`~tui.demo.seed.spec.DEMO` (account 123456789012, us-east-1, VPC ``app`` 10.20.0.0/16);
the tests build others (``tests/world2.py``) in their own region and account. One module per
part of the story:

* :mod:`.infra` — the VPCs, subnets in two AZs, the Transit Gateway and its attachment ENIs, one
  NACL per AZ that denies the other AZ's CIDRs, security groups, the KMS key, the instances.
* :mod:`.trail` — incident 1: the failing instance (volume on the customer-managed key) is
  stopped, its start is accepted, and EC2's kms:CreateGrant/Decrypt calls are denied (state
  reason ``Client.InternalError``), beside its healthy twin (``aws/ebs``); everyday noise;
  the decoys of a healthy account; the trail's log and digest files.
* :mod:`.metrics` — incident 2: the slow instance's gp3 at its provisioned IOPS, its gp2 burst
  balance drained, its EBS throughput pinned at its type's baseline.
* :mod:`.flows` — incident 3: the web instance's connections to on-prem ACCEPTed forward and,
  when the return leg comes back through the other AZ's attachment, REJECTed there; in every
  flow log the spec names (CloudWatch Logs or S3, default or custom format, text or Parquet).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.request import Request, urlopen

from .. import extensions
from . import infra
from .catalog import create_catalog
from .common import clients, operator_credentials
from .flows import create_flow_logs, flow_records, put_flow_records_cwl, s3_flow_objects
from .metrics import metric_data, put_metrics
from .spec import (
    DEMO,
    FAILING,
    HISTORY,
    SLOW,
    TWIN,
    V2_FIELDS,
    V5_FIELDS,
    V5_FORMAT,
    WEB,
    DemoWorld,
    FlowRecord,
    WorldSpec,
)
from .trail import decoy_events, incident_events, noise_events, start_attempt_events, trail_objects

__all__ = [
    "ACCOUNT",
    "DEMO",
    "PRINCIPAL",
    "V2_FIELDS",
    "V5_FIELDS",
    "V5_FORMAT",
    "DemoWorld",
    "FlowRecord",
    "WorldSpec",
    "clients",
    "flow_records",
    "metric_data",
    "noise_events",
    "operator_credentials",
    "put_flow_records_cwl",
    "put_metrics",
    "seed",
    "start_attempt_events",
]

ACCOUNT = DEMO.account
PRINCIPAL = DEMO.principal_arn


def _moto_seed(url: str, value: int) -> None:
    with urlopen(Request(f"{url}/moto-api/seed?a={value}", method="POST"), timeout=10) as r:
        r.read()


def seed(
    url: str,
    *,
    now: datetime,
    region: str | None = None,
    seed: int = 7,
    defer: Callable[[Callable[[], None]], None] | None = None,
    spec: WorldSpec = DEMO,
) -> DemoWorld:
    """Seed the three incidents into the emulator at ``url``, relative to ``now``.

    Args:
        url: the emulator endpoint (``EmbeddedAws.url``).
        now: the demo's present; events and datapoints cover the 3 hours before it.
        region: the region to seed (default: the spec's).
        seed: seeds both this generator and moto's ID generator, so a given (now, seed) gives
            the same world (IDs, records, values) every time on a freshly reset emulator.
        defer: when given, the S3 objects (trail and flow-log files, which no pane reads by
            default) are handed to it as one callable to write later, so ``hamari --demo`` can
            start its panes sooner; by default they are written before returning.
        spec: what to build (default: the demo's world). Its account and region must be
            empty in the emulator; another world may live beside it in another account.

    Returns:
        The identifiers of everything seeded.
    """
    started = time.perf_counter()
    if region is not None and region != spec.region:
        spec = replace(spec, region=region)
    region = spec.region
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    rng = random.Random(seed)
    _moto_seed(url, seed)
    c = clients(url, region, spec.account)
    ec2, kms, logs, s3, cw, ct = (
        c[n] for n in ("ec2", "kms", "logs", "s3", "cloudwatch", "cloudtrail")
    )
    net = infra.build(ec2, kms, spec)
    key = net.key
    a, cz = net.az_names
    instance_ids, volume_ids = net.instance_ids, net.volume_ids
    failing = instance_ids[spec.name(FAILING)]
    twin = instance_ids[spec.name(TWIN)]
    failing_volume = volume_ids[f"{spec.name(FAILING)}:root"]

    # Incident 1: stop OK, start accepted, KMS denied, back to stopped with Client.InternalError.
    ec2.stop_instances(InstanceIds=[failing])
    if spec.incidents:
        extensions.set_instance_state(failing, "stopped", region=region, account=spec.account)
    else:
        ec2.start_instances(InstanceIds=[failing])

    # -- CloudTrail --------------------------------------------------------------------------
    history_start = now - HISTORY
    events = noise_events(rng, history_start, now, 140, list(instance_ids.values()), spec)
    ids = {
        "failing": failing,
        "twin": twin,
        "failing_volume": failing_volume,
        "twin_volume": volume_ids[f"{spec.name(TWIN)}:root"],
    }
    timeline, start_at = incident_events(rng, spec, now, ids, key["Arn"], net.managed_key_arn)
    events += timeline
    if spec.decoys:
        starts = [
            datetime.fromisoformat(e["eventTime"].replace("Z", "+00:00"))
            for e in timeline
            if e["eventName"] == "StartInstances"
        ]
        events += decoy_events(rng, spec, history_start, now, starts)
    events.sort(key=lambda e: e["eventTime"])
    extensions.record_events(events, region=region, account=spec.account)

    # -- S3 buckets, trail, flow logs --------------------------------------------------------
    for bucket in (spec.flowlog_bucket, spec.trail_bucket):
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
    trail_args: dict[str, Any] = {"S3KeyPrefix": spec.trail_prefix} if spec.trail_prefix else {}
    trail = ct.create_trail(
        Name=spec.trail_name,
        S3BucketName=spec.trail_bucket,
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        **trail_args,
    )
    ct.start_logging(Name=spec.trail_name)
    # A CloudTrail Lake event data store over the same events (tui/demo/lake.py runs its SQL).
    ct.create_event_data_store(Name=f"{spec.trail_name}-lake")
    for fl in spec.flow_logs:
        if fl.log_group:
            logs.create_log_group(logGroupName=fl.log_group, tags={"purpose": "vpc-flow-logs"})
    flow_ids = create_flow_logs(ec2, spec, net.vpc, spec.flowlog_bucket)
    groups = {f.kind: f.log_group for f in spec.flow_logs}

    world = DemoWorld(
        now=now,
        url=url,
        region=region,
        account_id=spec.account,
        principal_arn=spec.principal_arn,
        role_arn=spec.role_arn,
        vpc_id=net.vpc,
        vpc_cidr=spec.vpc_cidr,
        legacy_vpc_id=net.legacy_vpc,
        onprem_cidr=spec.onprem_cidr,
        onprem_hosts=dict(spec.onprem_hosts),
        az_names=(a, cz),
        az_ids=net.az_ids,
        subnet_ids=net.subnets,
        subnet_cidrs=net.subnet_cidrs,
        tgw_subnet_ids=net.tgw_subnets,
        tgw_subnet_cidrs=net.tgw_cidrs,
        legacy_subnet_id=net.legacy_subnet,
        tgw_id=net.tgw_id,
        tgw_attachment_id=net.attachment,
        tgw_attachment_ids={a: net.attachment, cz: net.attachment},
        tgw_eni_ids=net.tgw_enis,
        route_table_id=net.route_table,
        nacl_ids=net.nacls,
        nacl_id=net.nacls[cz],
        nacl_deny_rule=spec.nacl_rules[0],
        security_group_ids=net.security_groups,
        instance_ids=instance_ids,
        instance_types=net.instance_types,
        eni_ids=net.eni_ids,
        private_ips=net.private_ips,
        volume_ids=volume_ids,
        kms_key_id=key["KeyId"],
        kms_key_arn=key["Arn"],
        kms_alias=spec.kms_alias,
        aws_managed_key_arn=net.managed_key_arn,
        failing_instance_id=failing,
        healthy_twin_id=twin,
        slow_instance_id=instance_ids[spec.name(SLOW)],
        web_instance_id=instance_ids[spec.name(WEB)],
        kms_denied_at=start_at + timedelta(seconds=1.2),
        log_group_v2=groups.get("cwl-v2", ""),
        log_group_v5=groups.get("cwl-v5", ""),
        flow_log_ids=flow_ids,
        flowlogs_bucket=spec.flowlog_bucket,
        trail_name=spec.trail_name,
        trail_arn=trail["TrailARN"],
        trail_bucket=spec.trail_bucket,
        seed=seed,
        spec=spec,
        failing_volume_id=failing_volume,
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
        # The Glue tables and Athena workgroup over the S3 flow logs (seed/catalog.py).
        create_catalog(c, world, history_start, now + timedelta(hours=1))
        objects = [(spec.flowlog_bucket, k, b) for k, b in s3_flow_objects(world, s3_rng, by_eni)]
        objects += [
            (spec.trail_bucket, k, b)
            for k, b in trail_objects(spec, spec.trail_bucket, s3_rng, events)
        ]
        for bucket, key_name, body in objects:
            s3.put_object(Bucket=bucket, Key=key_name, Body=body)

    from ..server import EmbeddedAws

    if EmbeddedAws.serves(url):
        from ..direct import DirectLogs, DirectMetrics

        n_flows = put_flow_records_cwl(DirectLogs(spec.account, region), world, by_eni)
        n_points = put_metrics(DirectMetrics(spec.account, region), datapoints)
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
    return replace(world, seed_seconds=elapsed, counts=counts)
