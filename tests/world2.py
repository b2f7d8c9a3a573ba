"""A second seeded world that shares none of the demo's choices, and a healthy copy of it.

The demo is one world; users have others. ``WORLD2`` is the same story built by other hands:
another region and account, AZs ``c``/``d`` instead of ``a``/``c``, other names, CIDRs,
instance types and NACL rule numbers, basic (5-minute) monitoring on most instances, the slow
instance neither the first by name nor by ID (a busy decoy sorts first), the trail under an S3
key prefix, flow logs in a custom format only, and decoys: a Lambda denied ``kms:Decrypt``, a
throttled CI role, security-group scanners REJECTed. ``HEALTHY`` is the same world without the
incidents (decoys kept), in a third account: it must give no finding.

The fixture seeds all three on the session's emulator, side by side: each account and region
holds its own world, so the product signed in to one must see only that one.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.demo_fixtures import DEMO_NOW
from tui.demo.seed import DemoWorld, WorldSpec, operator_credentials, seed
from tui.demo.seed.spec import (
    BUSY,
    FAILING,
    LEGACY,
    SLOW,
    TWIN,
    WEB,
    WEB_OTHER,
    FlowLogSpec,
    InstanceSpec,
)
from tui.demo.server import EmbeddedAws

__all__ = ["CUSTOM_FIELDS", "HEALTHY", "WORLD2", "Worlds", "aws_env", "worlds"]

# A custom layout a user might pick: v5 fields, in an order of its own, no header in CWL.
CUSTOM_FIELDS = (
    "version",
    "account-id",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "interface-id",
    "az-id",
    "flow-direction",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "tcp-flags",
    "log-status",
    "traffic-path",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "type",
)

WORLD2 = WorldSpec(
    region="ap-northeast-1",
    account="210987654321",
    az_letters=("c", "d"),
    prefix="billing",
    vpc_cidr="10.64.0.0/16",
    subnet_cidrs=("10.64.16.0/20", "10.64.32.0/20"),
    tgw_cidrs=("10.64.250.0/28", "10.64.250.16/28"),
    legacy_vpc_cidr="172.20.0.0/16",
    legacy_subnet_cidr="172.20.8.0/24",
    onprem_cidr="172.16.40.0/24",
    onprem_hosts={"db": "172.16.40.21", "ssh": "172.16.40.22"},
    nacl_rules=(130, 140, 900),
    instances=(
        InstanceSpec("billing-api-1", WEB, "c6i.large", 0, "10.64.16.10", monitoring=60),
        InstanceSpec("billing-api-2", WEB_OTHER, "c6i.large", 1, "10.64.32.10", monitoring=60),
        InstanceSpec("invoice-worker-1", FAILING, "c5.xlarge", 0, "10.64.16.41", monitoring=300),
        InstanceSpec("invoice-worker-2", TWIN, "c5.xlarge", 0, "10.64.16.42", monitoring=300),
        InstanceSpec("ledger-db-primary", SLOW, "r5.xlarge", 0, "10.64.16.20", monitoring=300),
        # Sorts first by name; busy (~4,000 IOPS, ~110 MB/s) on a type whose EBS baseline is its
        # maximum, on basic monitoring: 5-minute sums read as 1-minute sums put it "at the limit".
        InstanceSpec("analytics-etl", BUSY, "m5.4xlarge", 1, "10.64.32.30", monitoring=300),
        InstanceSpec("old-crm-01", LEGACY, "t3.micro", monitoring=300),
    ),
    operator="kenji",
    operator_role="SreOnCall",
    readonly_role="Auditor",
    readonly_user="mika",
    ci_role="gha-terraform",
    ci_session="deploy-4411",
    bot_user="datadog-integration",
    bot_ip="10.64.16.30",
    kms_alias="alias/invoice-ebs",
    kms_description="invoice workers' data volumes",
    trail_name="acme-audit",
    trail_bucket="acme-audit-logs-210987654321",
    trail_prefix="cloudtrail",
    # An organization trail: world2's files and two other members', one in another region.
    trail_org="o-7k2m9p4q1z",
    org_members=(("456789012345", "ap-northeast-1"), ("567890123456", "eu-central-1")),
    flowlog_bucket="acme-vpc-flows-210987654321",
    flow_logs=(
        FlowLogSpec(
            "cwl-custom",
            "cloud-watch-logs",
            CUSTOM_FIELDS,
            custom=True,
            log_group="/acme/vpc/billing",
        ),
        FlowLogSpec("s3-custom", "s3", CUSTOM_FIELDS, custom=True, prefix="vpc"),
    ),
    slow_gp3=(500, 4000, 250),
    slow_gp2_size=200,
    slow_mbps=(220.0, 143.75),  # r5.xlarge: EBS baseline 143.75 MB/s
    decoys=True,
)

HEALTHY = replace(
    WORLD2,
    account="345678901234",
    trail_bucket="acme-audit-logs-345678901234",
    flowlog_bucket="acme-vpc-flows-345678901234",
    incidents=False,
)

# Not the demo's present either: off the hour and off any 5-minute boundary.
WORLD2_NOW = DEMO_NOW - timedelta(minutes=23, seconds=17)


@dataclass(frozen=True)
class Worlds:
    demo: DemoWorld
    world2: DemoWorld
    healthy: DemoWorld


_SEEDED: dict[str, Any] = {}  # the last three worlds seeded, and the emulator's state token after


@pytest.fixture(scope="module")
def worlds(emulator: EmbeddedAws) -> Iterator[Worlds]:
    """The demo, WORLD2 and HEALTHY, side by side on a freshly reset emulator (read-only use).

    Seeded again only when something wrote to the emulator since (see ``seeded_demo``).
    """
    assert emulator.faults is not None
    emulator.faults.clear()
    if _SEEDED.get("worlds") is None or _SEEDED.get("token") != emulator.state_token():
        emulator.reset()
        demo = seed(emulator.url, now=DEMO_NOW)
        world2 = seed(emulator.url, now=WORLD2_NOW, spec=WORLD2, seed=2027)
        healthy = seed(emulator.url, now=WORLD2_NOW, spec=HEALTHY, seed=3301)
        _SEEDED.update(worlds=Worlds(demo, world2, healthy), token=emulator.state_token())
    emulator.faults.clear_seen()  # the seeding's own requests are not the product's
    yield _SEEDED["worlds"]


def aws_env(world: DemoWorld) -> dict[str, str]:
    """Environment for a ``hamari`` subprocess signed in as the world's operator."""
    import os

    key, secret, token = operator_credentials(world.url, world)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=key,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_SESSION_TOKEN=token,
        AWS_DEFAULT_REGION=world.region,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    return env


def run_hamari(
    world: DemoWorld, verb: str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``hamari VERB … ARGS`` in a subprocess, signed in to ``world``'s account and region,
    over its seeded window."""
    return subprocess.run(
        [
            *(sys.executable, "-m", "tui", verb, "--endpoint-url", world.url),
            *("--region", world.region, *window_args(world), *args),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=Path(__file__).resolve().parents[1],
        env=aws_env(world),
    )


def window_args(world: DemoWorld) -> list[str]:
    """``--since/--until`` covering the world's seeded history (its ``now`` is not the clock's)."""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    start: datetime = world.now - timedelta(hours=3)
    return ["--since", start.strftime(fmt), "--until", world.now.strftime(fmt)]
