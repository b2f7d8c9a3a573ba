"""Aggregations over flow records: keys, sums, ordering, topology fallbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.models.flowagg import AGGREGATIONS, aggregate, service_port
from tui.models.flowengine import FlowEngine
from tui.models.flowlog import DEFAULT_FORMAT, TGW_DEFAULT_FORMAT, FlowLogParser, FlowRecord
from tui.models.network import EniInfo, Topology

V5 = [
    "version",
    "interface-id",
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
    "log-status",
    "az-id",
    "flow-direction",
]
V2 = list(DEFAULT_FORMAT)  # the default (version 2) format

LINES = [
    "5 eni-a 10.0.1.10 192.168.1.10 40000 5432 6 4 240 1 2 ACCEPT OK use1-az1 egress",
    "5 eni-c 192.168.1.10 10.0.1.10 5432 40000 6 4 240 1 2 REJECT OK use1-az3 ingress",
    "5 eni-c 192.168.1.10 10.0.1.10 5432 40001 6 2 120 1 2 REJECT OK use1-az3 ingress",
    "5 eni-a 45.0.0.1 10.0.1.10 5555 22 6 1 44 1 2 REJECT OK use1-az1 ingress",
    "5 eni-a 10.0.1.10 8.8.8.8 443 50000 6 10 9000 1 2 ACCEPT OK use1-az1 egress",
    "5 eni-b - - - - - - - 1 2 - NODATA use1-az1 -",
]


def _records(fields: list[str], lines: list[str]) -> list[FlowRecord]:
    p = FlowLogParser(fields)
    return [r for r in (p.feed_line(line) for line in lines) if r is not None]


def test_rejects_by_az_sorted_by_rejects_keeps_accepts_for_contrast() -> None:
    rows = aggregate(_records(V5, LINES), "rejects-by-az")
    assert [(r.key, r.rejects, r.accepts, r.flows, r.packets, r.bytes) for r in rows] == [
        (("use1-az3",), 2, 0, 2, 6, 360),
        (("use1-az1",), 1, 2, 4, 15, 9284),
    ]


def test_rejects_by_port_uses_the_service_port_of_return_legs() -> None:
    rows = aggregate(_records(V5, LINES), "rejects-by-port")
    assert [(r.label, r.rejects) for r in rows] == [("tcp/5432", 2), ("tcp/22", 1)]


def test_top_talkers_by_bytes_and_by_action() -> None:
    recs = _records(V5, LINES)
    top = aggregate(recs, "top-talkers", limit=2)
    assert [r.label for r in top] == ["10.0.1.10 → 8.8.8.8", "192.168.1.10 → 10.0.1.10"]
    actions = {r.key[0]: r.flows for r in aggregate(recs, "by-action")}
    assert actions == {"ACCEPT": 2, "REJECT": 3, "NODATA": 1}


def test_direction_and_az_from_topology_for_v2_records() -> None:
    topo = Topology(
        enis={
            "eni-c": EniInfo(
                "eni-c",
                None,
                "subnet-c",
                "vpc",
                "us-east-1c",
                "use1-az3",
                ("10.0.255.20",),
                "tgw-attach-1",
                "",
                "transit_gateway",
                (),
            ),
            "eni-a": EniInfo(
                "eni-a",
                "i-1",
                "subnet-a",
                "vpc",
                "us-east-1a",
                "use1-az1",
                ("10.0.1.10",),
                None,
                "",
                "interface",
                (),
            ),
        },
        az_names={"use1-az3": "us-east-1c"},
    )
    v2 = [
        "2 1 eni-c 192.168.1.10 10.0.1.10 5432 40000 6 4 240 1 2 REJECT OK",
        "2 1 eni-a 45.0.0.1 10.0.1.10 5555 22 6 1 44 1 2 REJECT OK",
    ]
    recs = _records(V2, v2)
    by_az = aggregate(recs, "rejects-by-az", topo)
    assert [(r.key, r.label) for r in by_az] == [
        (("use1-az1",), "use1-az1"),
        (("use1-az3",), "use1-az3 (us-east-1c)"),
    ]
    dirs = {r.key[0] for r in aggregate(recs, "rejects-by-direction", topo)}
    assert dirs == {"transit", "ingress"}
    enis = aggregate(recs, "rejects-by-eni", topo)
    assert any("tgw-attach-1 (AZ us-east-1c)" in r.label for r in enis)


def test_every_kind_runs_and_unknown_kind_raises() -> None:
    recs = _records(V5, LINES)
    for kind in AGGREGATIONS:
        assert aggregate(recs, kind)
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate(recs, "by-colour")


def test_service_port() -> None:
    recs = _records(V5, LINES)
    assert [service_port(r) for r in recs] == [5432, 5432, 5432, 22, 443, None]


def _tgw_line(src: str, dst: str, nbytes: int, status: str = "OK") -> str:
    values = {name: "-" for name in TGW_DEFAULT_FORMAT}
    values.update(
        {
            "version": "6",
            "resource-type": "TransitGateway",
            "account-id": "210987654321",
            "tgw-id": "tgw-0f1",
            "tgw-attachment-id": "tgw-attach-0a1",
            "start": "1700000000",
            "end": "1700000060",
            "log-status": status,
            "region": "eu-west-3",
        }
    )
    if status == "OK":
        values.update(
            {
                "srcaddr": src,
                "dstaddr": dst,
                "srcport": "50000",
                "dstport": "443",
                "protocol": "6",
                "packets": "3",
                "bytes": str(nbytes),
            }
        )
    return " ".join(values[name] for name in TGW_DEFAULT_FORMAT)


TGW_LINES = [
    _tgw_line("172.20.1.5", "172.21.0.9", 900),
    _tgw_line("172.20.1.5", "172.21.0.9", 100),
    _tgw_line("172.22.3.3", "172.20.1.5", 5000),
    _tgw_line("-", "-", 0, status="NODATA"),
]


def test_top_talkers_of_transit_gateway_records_without_action() -> None:
    """Transit Gateway flow logs have no action field; their talkers are still talkers."""
    recs = _records(list(TGW_DEFAULT_FORMAT), TGW_LINES)
    assert all(r.action is None for r in recs)
    top = aggregate(recs, "top-talkers")
    assert [(r.label, r.flows, r.bytes) for r in top] == [
        ("172.22.3.3 → 172.20.1.5", 1, 5000),
        ("172.20.1.5 → 172.21.0.9", 2, 1000),
    ]


def test_top_talkers_skip_status_rows_of_every_format() -> None:
    assert all(
        k != ("-", "-") for k in (r.key for r in aggregate(_records(V5, LINES), "top-talkers"))
    )


def test_duckdb_top_talkers_of_transit_gateway_records_equal_pure(tmp_path: Path) -> None:
    path = tmp_path / "tgw.log"
    path.write_text(" ".join(TGW_DEFAULT_FORMAT) + "\n" + "\n".join(TGW_LINES) + "\n")
    want = aggregate(_records(list(TGW_DEFAULT_FORMAT), TGW_LINES), "top-talkers")
    with FlowEngine(temp_directory=tmp_path) as engine:
        engine.load_files(path)
        assert engine.aggregate("top-talkers") == want
        assert len(want) == 2
