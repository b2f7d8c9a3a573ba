"""A fleet for the sweep benchmark: many running instances with attached volumes and EBS metrics.

Not a story like the seed's incidents: just size (``hamari``'s fleet sweep measured against 500
instances with 2 volumes each), with one instance pinned at its m5.large EBS throughput baseline
so that the benchmark also checks the sweep finds it first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

FLEET_REGION = "eu-west-3"
FLEET_TYPES = ("m5.large", "m5.4xlarge", "t3.medium", "c5.xlarge")


def seed_fleet(url: str, now: datetime, instances: int, volumes: int = 2) -> dict[str, Any]:
    """``instances`` running instances with ``volumes`` gp3/gp2 volumes each, half on basic
    monitoring (5-minute EC2 data), 30 minutes of EBS metrics, one instance pinned at its
    m5.large EBS throughput baseline. Metrics go straight into the in-process backend."""
    from datetime import timedelta

    from tui.demo.direct import DirectMetrics
    from tui.demo.seed.common import clients
    from tui.demo.seed.metrics import put_metrics
    from tui.demo.seed.spec import DEMO

    ec2 = clients(url, FLEET_REGION)["ec2"]
    devices = ["/dev/xvda"] + [f"/dev/sd{chr(ord('f') + i)}" for i in range(volumes - 1)]
    ids: list[tuple[str, bool]] = []
    for i in range(instances):
        detailed = i % 2 == 0
        inst = ec2.run_instances(
            ImageId="ami-0c7217cdde317cfec",
            MinCount=1,
            MaxCount=1,
            InstanceType=FLEET_TYPES[i % len(FLEET_TYPES)],
            Monitoring={"Enabled": detailed},
            BlockDeviceMappings=[
                {
                    "DeviceName": d,
                    "Ebs": {"VolumeSize": 100 + 50 * k, "VolumeType": ("gp3", "gp2")[k % 2]},
                }
                for k, d in enumerate(devices)
            ],
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": f"node-{i:03d}"}]}
            ],
        )["Instances"][0]
        ids.append((inst["InstanceId"], detailed))
    vols: dict[str, list[str]] = {}
    for page in ec2.get_paginator("describe_volumes").paginate():
        for v in page["Volumes"]:
            for a in v.get("Attachments") or []:
                vols.setdefault(a["InstanceId"], []).append(v["VolumeId"])
    hot = ids[0][0] if FLEET_TYPES[0] == "m5.large" else ""
    start = now - timedelta(minutes=30)
    data: dict[str, list[dict[str, Any]]] = {"AWS/EC2": [], "AWS/EBS": []}

    def put(ns: str, name: str, dim: tuple[str, str], at: Any, value: float) -> None:
        data[ns].append(
            {
                "MetricName": name,
                "Dimensions": [{"Name": dim[0], "Value": dim[1]}],
                "Timestamp": at,
                "Value": value,
                "Unit": "Count" if name.endswith("Ops") else "Percent" if "%" in name else "Bytes",
            }
        )

    for iid, detailed in ids:
        step = 60 if detailed else 300
        mbps = 81.25e6 if iid == hot else 20e6
        for k in range(0, 1800, step):
            at = start + timedelta(seconds=k)
            put("AWS/EC2", "EBSReadOps", ("InstanceId", iid), at, 600.0 * step)
            put("AWS/EC2", "EBSWriteOps", ("InstanceId", iid), at, 400.0 * step)
            put("AWS/EC2", "EBSReadBytes", ("InstanceId", iid), at, mbps * 0.6 * step)
            put("AWS/EC2", "EBSWriteBytes", ("InstanceId", iid), at, mbps * 0.4 * step)
            balance = 0.0 if iid == hot else 100.0
            put("AWS/EC2", "EBSByteBalance%", ("InstanceId", iid), at, balance)
            put("AWS/EC2", "EBSIOBalance%", ("InstanceId", iid), at, 100.0)
        for vid in vols.get(iid, []):
            for k in range(0, 1800, 60):
                at = start + timedelta(seconds=k)
                put("AWS/EBS", "VolumeReadOps", ("VolumeId", vid), at, 300.0 * 60)
                put("AWS/EBS", "VolumeWriteOps", ("VolumeId", vid), at, 200.0 * 60)
                put("AWS/EBS", "VolumeReadBytes", ("VolumeId", vid), at, 6e6 * 60)
                put("AWS/EBS", "VolumeWriteBytes", ("VolumeId", vid), at, 4e6 * 60)
    points = put_metrics(DirectMetrics(DEMO.account, FLEET_REGION), data)
    return {
        "instances": ids,
        "volumes": sum(len(v) for v in vols.values()),
        "hot": hot,
        "points": points,
    }
