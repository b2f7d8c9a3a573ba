"""Every flow-log file of the shared corpus parses, with assertions on what is really in them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tui.models.flowfilter import parse_filter
from tui.models.flowlog import (
    FlowRecord,
    ParseStats,
    one_sided_conversations,
    parse_log_format,
    read_flow_logs,
)

CORPUS = Path(
    os.environ.get("HAMARI_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)
FLOWLOGS = CORPUS / "flowlogs"

pytestmark = pytest.mark.skipif(not FLOWLOGS.is_dir(), reason=f"corpus not found at {FLOWLOGS}")

DOCS = FLOWLOGS / "awsdocs_amazon-vpc-user-guide"
READER = FLOWLOGS / "obsrvbl-oss_flowlogs-reader"
OTEL = FLOWLOGS / "open-telemetry_opentelemetry-collector-contrib"


def _read(path: Path, fmt: str | None = None) -> tuple[list[FlowRecord], ParseStats]:
    stats = ParseStats()
    return list(read_flow_logs(path, fmt=fmt, stats=stats)), stats


def _flow_files() -> list[Path]:
    if not FLOWLOGS.is_dir():
        return []
    return sorted(
        p
        for p in FLOWLOGS.rglob("*")
        if p.is_file()
        and p.suffix in (".log", ".json", ".parquet")
        and "describe-flow-logs" not in p.name
    )


# (file name, records yielded incl. status rows, bad lines, nodata, skipdata)
EXPECTED = {
    "custom_nat-gateway.log": (6, 0, 0, 0),
    "custom_tcp-flag-sequence.log": (8, 0, 0, 0),
    "custom_transit-gateway-vpc.log": (4, 1, 0, 0),  # the "..." elision line
    "custom_v5_service-name-traffic-path-flow-direction.log": (2, 0, 0, 0),
    "default-v2_accepted-rejected-nodata-skipdata-icmp-ipv6.log": (7, 0, 1, 1),
    "extracted_V2_RECORDS.log": (5, 0, 1, 1),
    "extracted_V3_FILE.log": (2, 0, 0, 0),
    "extracted_V4_FILE.log": (2, 0, 0, 0),
    "extracted_V5_FILE.log": (2, 1, 0, 0),  # "bogus line"
    "extracted_V6_FILE.log": (1, 0, 0, 0),
    "flows.parquet": (3, 0, 2, 0),
    "valid_tgw_flow_cw.json": (0, 1, 0, 0),  # 27 fields, no format given: never guessed
    "valid_tgw_flow_log.log": (1, 0, 0, 0),
    "valid_vpc_flow_cw.json": (2, 0, 0, 0),
    "valid_vpc_flow_cw_custom.json": (0, 2, 0, 0),  # custom format, none given
    "valid_vpc_flow_log.log": (1, 0, 1, 0),
    "valid_vpc_flow_log_ecs.log": (1, 0, 0, 0),
    "valid_vpc_flow_log_multi.log": (2, 0, 0, 0),
    "vpc_flow_log_too_few_fields.log": (0, 1, 0, 0),
    "vpc_flow_log_too_many_fields.log": (0, 1, 0, 0),
}


def test_every_corpus_file_is_known_here() -> None:
    assert sorted(p.name for p in _flow_files()) == sorted(EXPECTED)


@pytest.mark.parametrize("path", _flow_files(), ids=lambda p: p.name)
def test_every_file_parses(path: Path) -> None:
    recs, stats = _read(path)
    n, bad, nodata, skip = EXPECTED[path.name]
    assert (len(recs), stats.bad_lines, stats.nodata, stats.skipdata) == (n, bad, nodata, skip)
    assert stats.bad_files == 0


def test_whole_corpus_folder_in_one_pass() -> None:
    recs, stats = _read(FLOWLOGS)
    # describe-flow-logs output is JSON but not log events: not a flow log, and no data lost
    assert (stats.bad_files, stats.not_flow_logs) == (0, 1)
    assert len(recs) == sum(v[0] for v in EXPECTED.values())


def test_sg_nacl_icmp_pair_is_one_sided() -> None:
    recs, _ = _read(DOCS / "default-v2_accepted-rejected-nodata-skipdata-icmp-ipv6.log")
    found = one_sided_conversations(recs)
    assert len(found) == 1
    conv = found[0]
    assert conv.protocol == 1
    assert (conv.forward.src, conv.forward.dst) == ("203.0.113.12", "172.31.16.139")
    assert conv.forward.actions == frozenset({"ACCEPT"})
    assert conv.reverse.actions == frozenset({"REJECT"})
    assert conv.rejected == "reverse"


def test_ipv6_record_from_docs() -> None:
    recs, _ = _read(DOCS / "default-v2_accepted-rejected-nodata-skipdata-icmp-ipv6.log")
    v6 = [r for r in recs if r.srcaddr and ":" in r.srcaddr]
    assert len(v6) == 1 and v6[0].dstport == 22
    assert parse_filter("2001:db8:1234:a100::/56").to_predicate()(v6[0])


@pytest.mark.parametrize(
    "stem",
    [
        "custom_nat-gateway",
        "custom_tcp-flag-sequence",
        "custom_transit-gateway-vpc",
        "custom_v5_service-name-traffic-path-flow-direction",
    ],
)
def test_format_files_drive_custom_parses(stem: str) -> None:
    fields = parse_log_format((DOCS / f"{stem}.format").read_text())
    recs, stats = _read(DOCS / f"{stem}.log", fmt=" ".join(fields))
    assert stats.bad_lines == (1 if stem == "custom_transit-gateway-vpc" else 0)
    assert recs and all(fields == r.FORMAT for r in recs)
    sidecar, _ = _read(DOCS / f"{stem}.log")  # found beside the .log without being told
    assert [r.as_dict() for r in sidecar] == [r.as_dict() for r in recs]


def test_tcp_flag_sequence_decoded() -> None:
    recs, _ = _read(DOCS / "custom_tcp-flag-sequence.log")
    assert [r.tcp_flags for r in recs] == [2, 18, 2, 18, 1, 1, 3, 19]
    assert recs[1].flags == ("SYN-ACK",) and recs[7].flags == ("SYN-ACK", "FIN")
    assert recs[7].dstport == 43638  # the line with a double space
    syn = parse_filter("flags=syn").to_predicate()
    assert [r.srcport for r in recs if syn(r)] == [43416, 43418, 43638]


def test_nat_gateway_packet_addresses_and_comments() -> None:
    recs, _ = _read(DOCS / "custom_nat-gateway.log")
    assert recs[0].instance_id is None and recs[0].pkt_dstaddr == "203.0.113.5"
    assert recs[0].dst == "203.0.113.5" and recs[0].dstaddr == "10.0.0.220"
    assert recs[4].instance_id == "i-01234567890123456"
    assert recs[4].raw.endswith("#Traffic from the source instance to host on the internet")


def test_transit_gateway_vpc_legs_pair_through_pkt_addresses() -> None:
    recs, _ = _read(DOCS / "custom_transit-gateway-vpc.log")
    tgw_leg = recs[2]  # request seen on the TGW ENI: srcaddr is the TGW ENI, pkt-srcaddr the client
    assert tgw_leg.srcaddr == "10.40.1.175" and tgw_leg.src == "10.20.33.164"
    from tui.models.flowlog import conversation_key

    assert conversation_key(tgw_leg) == conversation_key(recs[0]) == conversation_key(recs[1])


def test_v5_traffic_path_and_direction() -> None:
    recs, _ = _read(DOCS / "custom_v5_service-name-traffic-path-flow-direction.log")
    assert [(r.flow_direction, r.traffic_path) for r in recs] == [("ingress", None), ("egress", 8)]
    assert recs[0].pkt_src_aws_service == "S3" and recs[1].pkt_dst_aws_service == "S3"
    assert recs[0].az_id == "apse2-az3"


def test_headers_in_non_default_order() -> None:
    recs, stats = _read(READER / "extracted_V5_FILE.log")
    assert stats.headers == 1
    assert recs[0].account_id == "999999999999" and recs[0].flow_direction == "ingress"
    assert recs[1].traffic_path == 7 and recs[1].tcp_flags == 7
    assert stats.samples[0].text == "bogus line"
    v4, _ = _read(READER / "extracted_V4_FILE.log")
    assert (v4[1].sublocation_type, v4[1].sublocation_id) == ("outpost", "outpostid04")


def test_v6_tgw_header_file() -> None:
    (rec,), _ = _read(READER / "extracted_V6_FILE.log")
    assert rec.resource_type == "TransitGateway"
    assert rec.tgw_pair_attachment_id == "00000012"
    assert rec.packets_lost_ttl_expired == 16


def test_otel_tgw_and_ecs() -> None:
    (tgw,), _ = _read(OTEL / "valid_tgw_flow_log.log")
    assert tgw.tgw_src_az_id == "use1-az1" and tgw.tgw_dst_az_id == "use1-az2"
    assert tgw.packets_lost_mtu_exceeded == 3 and tgw.flow_direction == "ingress"
    (ecs,), _ = _read(OTEL / "valid_vpc_flow_log_ecs.log")
    assert ecs.ecs_cluster_name == "my-cluster" and ecs.ecs_task_id == "abcdef1234567890"
    assert ecs.ecs_second_container_id == "container-2"


def test_cloudwatch_payloads_with_their_formats() -> None:
    recs, stats = _read(
        OTEL / "valid_vpc_flow_cw_custom.json", fmt="version interface-id srcaddr dstaddr"
    )
    assert [r.srcaddr for r in recs] == ["172.31.16.139", "172.31.9.69"] and stats.bad_lines == 0
    # the .log sibling's header without the four packets-lost fields (not in the CW message)
    header = (OTEL / "valid_tgw_flow_log.log").read_text().splitlines()[0].split()
    fmt = [f for f in header if not f.startswith("packets-lost")]
    (tgw,), stats = _read(OTEL / "valid_tgw_flow_cw.json", fmt=" ".join(fmt))
    assert tgw.tgw_attachment_id == "tgw-attach-0abc12345def67890" and tgw.region == "us-east-1"


def test_describe_flow_logs_formats_parse() -> None:
    doc = json.loads((FLOWLOGS / "aws_aws-cli" / "describe-flow-logs__L9_output.json").read_text())
    formats = [parse_log_format(fl["LogFormat"]) for fl in doc["FlowLogs"]]
    assert len(formats[0]) == 14 and formats[0][0] == "version"
    assert formats[1] == parse_log_format((DOCS / "custom_tcp-flag-sequence.format").read_text())


def test_parquet_loads_with_loose_types() -> None:
    recs, stats = _read(READER / "flows.parquet")
    assert recs[0].dstport == 49152 and recs[0].account_id == "123456789010"
    assert recs[1].srcport is None and recs[1].log_status == "NODATA"
    assert stats.nodata == 2 and stats.bad_lines == 0


@pytest.mark.parametrize(
    "text", ["", "action=REJECT", "dstport=443", "bytes > 100", "not protocol=tcp"]
)
@pytest.mark.parametrize("path", _flow_files(), ids=lambda p: p.name)
def test_hamari_flows_reads_every_file_like_the_pure_reader(path: Path, text: str) -> None:
    """`hamari flows FILE --filter ...` (byte pre-filter or DuckDB) finds what the pure reader
    finds, with the same counts, on every file others wrote."""
    pytest.importorskip("duckdb")
    from tui.models.flowengine import scan_files

    flt = parse_filter(text)
    pred = flt.to_predicate()
    recs, stats = _read(path)
    got_stats = ParseStats()
    got = [r for _, r in scan_files(path, flt, stats=got_stats)]
    assert [r.as_dict() for r in got] == [r.as_dict() for r in recs if pred(r)]
    assert (got_stats.records, got_stats.bad_lines, got_stats.bad_files) == (
        stats.records,
        stats.bad_lines,
        stats.bad_files,
    )
    assert (got_stats.nodata, got_stats.skipdata) == (stats.nodata, stats.skipdata)


@pytest.mark.parametrize("path", _flow_files(), ids=lambda p: p.name)
def test_the_duckdb_store_loads_every_file_like_the_pure_reader(path: Path, tmp_path: Path) -> None:
    """`--aggregate` and the pane's store hold what the pure reader reads, counted the same."""
    pytest.importorskip("duckdb")
    from tui.models.flowagg import aggregate
    from tui.models.flowengine import FlowEngine

    recs, stats = _read(path)
    with FlowEngine(temp_directory=tmp_path) as engine:
        got = engine.load_files(path)
        assert (got.records, got.bad_lines, got.nodata, got.skipdata, got.bad_files) == (
            stats.records,
            stats.bad_lines,
            stats.nodata,
            stats.skipdata,
            stats.bad_files,
        )
        assert engine.count() == len(recs)
        assert engine.aggregate("by-action", limit=500) == aggregate(recs, "by-action", limit=500)


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_hamari_flows_over_the_corpus_reads_or_names_every_file(engine: str) -> None:
    """Issue 11 "done means": over every file others wrote, `hamari flows` gives records or
    one line per file saying why not (and exit 0, since some could be read)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui",
            "flows",
            str(FLOWLOGS),
            "--engine",
            engine,
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for path in sorted(p for p in FLOWLOGS.rglob("*") if p.is_file()):
        if path.name.startswith(".") or path.suffix == ".format":
            continue
        stats = ParseStats()
        read = (
            list(read_flow_logs(path, stats=stats))
            if path.suffix in (".log", ".json", ".parquet")
            else []
        )
        if not read:
            assert f"hamari: not read: {path}: " in proc.stderr, (path, proc.stderr)
    rows = sum(v[0] for v in EXPECTED.values())
    assert len(proc.stdout.splitlines()) == 1 + rows  # the header, then every record read
