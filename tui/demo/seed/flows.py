"""Incident 3 in VPC flow logs: the web instance's connections to on-prem are ACCEPTed forward
and, when the return leg comes back through the other AZ's TGW attachment, REJECTed there.

Around it, the traffic of a working app (internet clients, the database, S3, DNS, the other
web server's on-prem traffic that stays in its AZ) and SSH/RDP scanners REJECTed by the
security groups. Records are written in each flow log's own format: CloudWatch Logs groups
(one event per record), S3 text files (a header line, gzip, every 10 minutes) and hive-layout
Parquet (hourly), under the flow log's prefix.
"""

from __future__ import annotations

import contextlib
import gzip
import random
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .common import tags
from .infra import dns_resolver
from .spec import (
    FAILING,
    SLOW,
    TWIN,
    V2_FIELDS,
    V5_FIELDS,
    WEB,
    WEB_OTHER,
    DemoWorld,
    FlowLogSpec,
    FlowRecord,
    WorldSpec,
    log_format,
)

__all__ = ["create_flow_logs", "flow_records", "put_flow_records_cwl", "s3_flow_objects"]


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
    account: str,
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
        "account-id": account,
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


def _nodata(eni: _Eni, vpc: str, region: str, account: str, start: int, end: int) -> FlowRecord:
    values = {f: "-" for f in V5_FIELDS}
    values.update(
        {
            "version": "5",
            "account-id": account,
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
    spec = world.spec
    a, c = world.az_names

    def instance_eni(role: str, az: str) -> _Eni:
        name = spec.name(role)
        return _Eni(
            world.eni_ids[name],
            world.subnet_ids[az],
            world.az_ids[az],
            world.instance_ids[name],
            world.private_ips[name],
        )

    enis = {
        "web1": instance_eni(WEB, a),
        "web2": instance_eni(WEB_OTHER, c),
        "db": instance_eni(SLOW, a),
        "batch1": instance_eni(FAILING, a),
        "batch2": instance_eni(TWIN, a),
        "tgwa": _Eni(world.tgw_eni_ids[a], world.tgw_subnet_ids[a], world.az_ids[a], "-", ""),
        "tgwc": _Eni(world.tgw_eni_ids[c], world.tgw_subnet_ids[c], world.az_ids[c], "-", ""),
    }
    out: dict[str, list[FlowRecord]] = defaultdict(list)
    vpc, region, account = world.vpc_id, world.region, world.account_id
    onprem = world.onprem_hosts
    resolver = dns_resolver(world.vpc_cidr)

    def emit(key: str, *args: Any, **kwargs: Any) -> None:
        out[enis[key].eni].append(_flow(enis[key], vpc, region, account, *args, **kwargs))

    def scanned(key: str) -> None:
        scanner = f"45.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        emit(
            key,
            scanner,
            enis[key].ip,
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

    t = int(start.timestamp()) // 60 * 60
    stop = int(end.timestamp())
    web1 = enis["web1"].ip
    while t < stop:
        w0, w1 = t, t + 60
        s = lambda w0=w0: w0 + rng.randint(0, 20)  # noqa: E731
        e = lambda w1=w1: w1 - rng.randint(0, 5)  # noqa: E731
        # Incident 3: web -> on-prem. Forward ACCEPTed; return through the other AZ REJECTed.
        for host, port in ((onprem["db"], 5432), (onprem["ssh"], 22)):
            for _ in range(rng.randint(1, 3)):
                sport = rng.randint(32768, 60999)
                via_c = rng.random() < 0.7 and spec.incidents
                pk = rng.randint(2, 4)
                emit("web1", web1, host, sport, port, 6, pk, pk * 60, s(), e(), "ACCEPT", "egress", 2, "1")  # fmt: skip
                emit("tgwa", web1, host, sport, port, 6, pk, pk * 60, s(), e(), "ACCEPT", "ingress", 2)  # fmt: skip
                if via_c:
                    emit("tgwc", host, web1, port, sport, 6, pk, pk * 60, s(), e(), "REJECT", "ingress", 18)  # fmt: skip
                else:
                    n = rng.randint(8, 40)
                    emit("tgwa", host, web1, port, sport, 6, n, n * 900, s(), e(), "ACCEPT", "egress", 19, "1")  # fmt: skip
                    emit("web1", host, web1, port, sport, 6, n, n * 900, s(), e(), "ACCEPT", "ingress", 19)  # fmt: skip
        # The other web server reaches on-prem fine: its return leg arrives in its own AZ.
        sport = rng.randint(32768, 60999)
        n = rng.randint(10, 60)
        web2 = enis["web2"].ip
        db_host = onprem["db"]
        emit("web2", web2, db_host, sport, 5432, 6, n, n * 110, s(), e(), "ACCEPT", "egress", 27, "1")  # fmt: skip
        emit("tgwc", web2, db_host, sport, 5432, 6, n, n * 110, s(), e(), "ACCEPT", "ingress", 27)  # fmt: skip
        emit("tgwc", db_host, web2, 5432, sport, 6, n, n * 700, s(), e(), "ACCEPT", "egress", 19, "1")  # fmt: skip
        emit("web2", db_host, web2, 5432, sport, 6, n, n * 700, s(), e(), "ACCEPT", "ingress", 19)  # fmt: skip
        # Internet clients on 443, both web servers.
        for key in ("web1", "web2"):
            ip = enis[key].ip
            for _ in range(rng.randint(3, 7)):
                client = f"{rng.choice([203, 198, 100])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                cport = rng.randint(1024, 65535)
                n = rng.randint(5, 80)
                emit(key, client, ip, cport, 443, 6, n, n * rng.randint(80, 300), s(), e(), "ACCEPT", "ingress", 3)  # fmt: skip
                emit(key, ip, client, 443, cport, 6, n, n * rng.randint(600, 1400), s(), e(), "ACCEPT", "egress", 19, "8")  # fmt: skip
        # Intra-AZ: web -> db on 5432, accepted both ways on both ENIs.
        db = enis["db"].ip
        sport = rng.randint(32768, 60999)
        n = rng.randint(20, 200)
        for key in ("web1", "db"):
            out_dir, in_dir = ("egress", "ingress") if key == "web1" else ("ingress", "egress")
            emit(key, web1, db, sport, 5432, 6, n, n * 120, s(), e(), "ACCEPT", out_dir, 27, "1")  # fmt: skip
            emit(key, db, web1, 5432, sport, 6, n, n * 1300, s(), e(), "ACCEPT", in_dir, 19, "1")  # fmt: skip
        # Batch twin to S3 over the internet gateway; DNS; an SSH scanner REJECTed by the SG.
        b2 = enis["batch2"].ip
        s3ip = f"52.217.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        sport = rng.randint(32768, 60999)
        n = rng.randint(50, 400)
        emit("batch2", b2, s3ip, sport, 443, 6, n, n * 1400, s(), e(), "ACCEPT", "egress", 3, "8")
        emit("batch2", s3ip, b2, 443, sport, 6, n, n * 90, s(), e(), "ACCEPT", "ingress", 19)
        emit("db", db, resolver, rng.randint(32768, 60999), 53, 17, 1, 72, s(), e(), "ACCEPT", "egress", 0, "1")  # fmt: skip
        if rng.random() < 0.35:
            scanned("web1")
        if spec.decoys:  # scanners everywhere, REJECTed by the security groups, never answered
            for key in ("web1", "web2", "db", "batch2"):
                for _ in range(rng.randint(0, 3)):
                    scanned(key)
        # The stopped instance logs nothing: NODATA.
        out[enis["batch1"].eni].append(_nodata(enis["batch1"], vpc, region, account, w0, w1))
        t += 60
    return out


def line(record: FlowRecord, fields: tuple[str, ...] | list[str]) -> str:
    """The record as a flow log of ``fields`` writes it (the default format says version 2)."""
    text = record.line(fields)
    return "2" + text[1:] if list(fields) == V2_FIELDS else text


def put_flow_records_cwl(
    logs: Any,
    world: DemoWorld,
    by_eni: dict[str, list[FlowRecord]],
    existing_streams: set[tuple[str, str]] | None = None,
) -> int:
    """Write records to every CloudWatch Logs flow-log group of the world, in its format."""
    total = 0
    for group, fields in world.log_groups().items():
        for eni, records in by_eni.items():
            stream = f"{eni}-all"
            if existing_streams is None or (group, stream) not in existing_streams:
                with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                    logs.create_log_stream(logGroupName=group, logStreamName=stream)
                if existing_streams is not None:
                    existing_streams.add((group, stream))
            ordered = sorted(records, key=lambda r: int(r.values["start"]))
            events = [
                {"timestamp": int(r.values["start"]) * 1000, "message": line(r, fields)}
                for r in ordered
            ]
            for i in range(0, len(events), 5000):
                logs.put_log_events(
                    logGroupName=group, logStreamName=stream, logEvents=events[i : i + 5000]
                )
            total += len(events)
    return total


def create_flow_logs(ec2: Any, spec: WorldSpec, vpc: str, bucket: str) -> dict[str, str]:
    """Register the spec's flow logs of the app VPC; their IDs by kind."""
    flow_role = f"arn:aws:iam::{spec.account}:role/vpc-flow-logs-delivery"
    ids = {}
    for fl in spec.flow_logs:
        kwargs: dict[str, Any]
        if fl.destination == "s3":
            kwargs = {
                "LogDestinationType": "s3",
                "LogDestination": f"arn:aws:s3:::{bucket}" + (f"/{fl.prefix}" if fl.prefix else ""),
                "DestinationOptions": {
                    "FileFormat": fl.file_format,
                    "HiveCompatiblePartitions": fl.hive,
                    "PerHourPartition": fl.per_hour,
                },
            }
        else:
            kwargs = {
                "LogDestinationType": "cloud-watch-logs",
                "LogGroupName": fl.log_group,
                "DeliverLogsPermissionArn": flow_role,
            }
        if fl.custom:
            kwargs["LogFormat"] = log_format(fl.fields)
        resp = ec2.create_flow_logs(
            ResourceIds=[vpc],
            ResourceType="VPC",
            TrafficType="ALL",
            MaxAggregationInterval=60,
            TagSpecifications=[
                {"ResourceType": "vpc-flow-log", "Tags": tags(f"{spec.prefix}-{fl.kind}")}
            ],
            **kwargs,
        )
        if not resp["FlowLogIds"]:
            raise RuntimeError(f"create_flow_logs {fl.kind}: {resp['Unsuccessful']}")
        ids[fl.kind] = resp["FlowLogIds"][0]
    return ids


def s3_flow_objects(
    world: DemoWorld, rng: random.Random, by_eni: dict[str, list[FlowRecord]]
) -> list[tuple[str, bytes]]:
    """The S3 flow logs' files: text every 10 minutes, Parquet (hive layout) every hour."""
    records = sorted(
        (r for rs in by_eni.values() for r in rs), key=lambda r: int(r.values["start"])
    )
    by_10min: dict[int, list[FlowRecord]] = defaultdict(list)
    by_hour: dict[int, list[FlowRecord]] = defaultdict(list)
    for r in records:
        start = int(r.values["start"])
        by_10min[start // 600 * 600].append(r)
        by_hour[start // 3600 * 3600].append(r)
    objects: list[tuple[str, bytes]] = []
    for fl in world.spec.flow_logs:
        if fl.destination != "s3":
            continue
        if fl.file_format == "parquet":
            objects += _parquet_objects(world, fl, rng, by_hour)
        else:
            objects += _text_objects(world, fl, rng, by_10min)
    return objects


def _root(fl: FlowLogSpec) -> str:
    return f"{fl.prefix}/AWSLogs" if fl.prefix else "AWSLogs"


def _text_objects(
    world: DemoWorld, fl: FlowLogSpec, rng: random.Random, by_10min: dict[int, list[FlowRecord]]
) -> list[tuple[str, bytes]]:
    acct, region, fl_id = world.account_id, world.region, world.flow_log_ids[fl.kind]
    objects = []
    for bucket_start, rs in sorted(by_10min.items()):
        dt = datetime.fromtimestamp(bucket_start + 600, UTC)
        suffix = f"{rng.getrandbits(32):08x}"
        key = (
            f"{_root(fl)}/{acct}/vpcflowlogs/{region}/{dt:%Y/%m/%d}/"
            f"{acct}_vpcflowlogs_{region}_{fl_id}_{dt:%Y%m%dT%H%MZ}_{suffix}.log.gz"
        )
        lines = [" ".join(fl.fields)] + [line(r, fl.fields) for r in rs]
        objects.append((key, gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=5)))
    return objects


def _parquet_objects(
    world: DemoWorld, fl: FlowLogSpec, rng: random.Random, by_hour: dict[int, list[FlowRecord]]
) -> list[tuple[str, bytes]]:
    import duckdb  # writes the Parquet itself: no pyarrow

    acct, region, fl_id = world.account_id, world.region, world.flow_log_ids[fl.kind]
    int_fields = {"version", "srcport", "dstport", "protocol", "tcp-flags", "traffic-path"}
    long_fields = {"packets", "bytes", "start", "end"}
    types = [
        "INTEGER" if f in int_fields else "BIGINT" if f in long_fields else "VARCHAR"
        for f in fl.fields
    ]
    columns = ", ".join(
        f"'{f.replace('-', '_')}': '{t}'" for f, t in zip(fl.fields, types, strict=True)
    )
    objects = []
    con = duckdb.connect()
    tmp = tempfile.mkdtemp(prefix="hamari-seed-")
    out = Path(tmp) / "hour.parquet"
    text = Path(tmp) / "hour.txt"
    for hour_start, rs in sorted(by_hour.items()):
        dt = datetime.fromtimestamp(hour_start, UTC)
        # DuckDB reads the hour as text in C: executemany() bound each row in Python, holding
        # the GIL for ~15 s of the demo's start while the app (same process) tried to draw.
        text.write_text(
            "".join(" ".join(r.values.get(f, "-") for f in fl.fields) + "\n" for r in rs)
        )
        con.execute(
            f"COPY (SELECT * FROM read_csv('{text}', delim=' ', header=false, nullstr='-', "
            f"columns={{{columns}}})) TO '{out}' (FORMAT parquet, COMPRESSION gzip)"
        )
        data = out.read_bytes()
        stamp = datetime.fromtimestamp(min(hour_start + 3600, int(world.now.timestamp())), UTC)
        suffix = f"{rng.getrandbits(32):08x}"
        key = (
            f"{_root(fl)}/aws-account-id={acct}/aws-service=vpcflowlogs/"
            f"aws-region={region}/year={dt:%Y}/month={dt:%m}/day={dt:%d}/hour={dt:%H}/"
            f"{acct}_vpcflowlogs_{region}_{fl_id}_{stamp:%Y%m%dT%H%MZ}_{suffix}.log.parquet"
        )
        objects.append((key, data))
    con.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return objects
