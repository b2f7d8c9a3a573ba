"""Aggregations over flow records: keys, sums, ordering, topology fallbacks."""

from __future__ import annotations

import pytest

from tui.models.flowagg import AGGREGATIONS, aggregate, service_port
from tui.models.flowlog import FlowLogParser, FlowRecord
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
V2 = [
    "version",
    "account-id",
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
]

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
