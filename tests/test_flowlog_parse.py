"""Flow-log parser: formats, headers, status rows, bad lines, readers, pairing, properties."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.parquet import write_parquet
from tui.models.flowlog import (
    DEFAULT_FORMAT,
    FIELD_SPECS,
    FIELDS,
    TGW_DEFAULT_FORMAT,
    FlowLogParser,
    ParseStats,
    conversation_key,
    decode_tcp_flags,
    one_sided_conversations,
    parse_log_format,
    protocol_name,
    read_flow_logs,
)

V2_ACCEPT = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
V2_NODATA = "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"
V2_SKIP = "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA"


def test_field_table_covers_versions_2_to_8() -> None:
    versions = {s.version for s in FIELD_SPECS}
    assert versions == {2, 3, 4, 5, 6, 7, 8}
    assert FIELDS["tgw-attachment-id"].version == 6
    assert FIELDS["ecs-cluster-name"].version == 7
    assert FIELDS["reject-reason"].version == 8
    assert FIELDS["tcp-flags"].kind == "int"
    assert FIELDS["pkt-srcaddr"].kind == "ip"
    assert len(DEFAULT_FORMAT) == 14
    assert len(TGW_DEFAULT_FORMAT) == 36
    assert len(set(TGW_DEFAULT_FORMAT)) == 36
    assert all(name in FIELDS for name in TGW_DEFAULT_FORMAT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${version} ${srcaddr} ${dstaddr}", ("version", "srcaddr", "dstaddr")),
        ("  ${version}   ${account-id}  ", ("version", "account-id")),
        ("${version}${interface-id}", ("version", "interface-id")),
        ("version srcaddr tcp-flags", ("version", "srcaddr", "tcp-flags")),
        ("${version} ${my-new-field}", ("version", "my-new-field")),
    ],
)
def test_parse_log_format(text: str, expected: tuple[str, ...]) -> None:
    assert parse_log_format(text) == expected


def test_parse_log_format_rejects_empty() -> None:
    with pytest.raises(ValueError):
        parse_log_format("   ")


def test_default_v2_record_is_typed() -> None:
    p = FlowLogParser()
    r = p.feed_line(V2_ACCEPT + "\n")
    assert r is not None
    assert (r.version, r.account_id, r.interface_id) == (2, "123456789010", "eni-1235b8ca123456789")
    assert (r.srcaddr, r.dstaddr, r.srcport, r.dstport) == (
        "172.31.16.139",
        "172.31.16.21",
        20641,
        22,
    )
    assert (r.protocol, r.packets, r.bytes, r.start, r.end) == (6, 20, 4249, 1418530010, 1418530070)
    assert (r.action, r.log_status) == ("ACCEPT", "OK")
    assert r.vpc_id is None and r.tcp_flags is None and r.reject_reason is None
    assert r.raw == V2_ACCEPT
    assert r.protocol_name == "tcp"
    assert r.get("log-status") == "OK" and r.get("dst_port") is None and r.get("dstport") == 22
    assert p.stats.records == 1


def test_nodata_and_skipdata_are_status_rows() -> None:
    p = FlowLogParser()
    recs = list(p.parse_lines([V2_ACCEPT, V2_NODATA, V2_SKIP]))
    assert len(recs) == 3
    nodata, skip = recs[1], recs[2]
    assert nodata.is_status and not nodata.data_loss
    assert skip.is_status and skip.data_loss
    assert nodata.srcaddr is None and nodata.packets is None and nodata.action is None
    assert (p.stats.records, p.stats.nodata, p.stats.skipdata) == (1, 1, 1)
    assert p.stats.data_loss


def test_ipv6_addresses() -> None:
    line = "2 123456789010 eni-1 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8::1 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK"
    r = FlowLogParser().feed_line(line)
    assert r is not None and r.srcaddr == "2001:db8:1234:a100:8d6e:3477:df66:f105"
    assert r.dstaddr == "2001:db8::1"


def test_header_line_sets_format_and_unknown_fields_are_kept() -> None:
    p = FlowLogParser()
    lines = [
        "dstport srcaddr version my-field action",
        "443 10.0.0.1 5 hello REJECT",
        "80 10.0.0.2 5 - ACCEPT",
    ]
    recs = list(p.parse_lines(lines))
    assert p.stats.headers == 1 and p.stats.bad_lines == 0
    assert [(r.dstport, r.srcaddr, r.version, r.action) for r in recs] == [
        (443, "10.0.0.1", 5, "REJECT"),
        (80, "10.0.0.2", 5, "ACCEPT"),
    ]
    assert recs[0].extra == {"my-field": "hello"}
    assert recs[1].extra == {"my-field": None}
    assert list(recs[0].as_dict()) == ["dstport", "srcaddr", "version", "my-field", "action"]
    assert recs[0].get("my-field") == "hello"


def test_header_wins_over_given_format_and_resets_per_file() -> None:
    p = FlowLogParser("${srcaddr} ${dstport}")
    assert p.feed_line("10.0.0.1 443").dstport == 443  # type: ignore[union-attr]
    p.feed_line("dstport srcaddr")
    r = p.feed_line("22 10.0.0.9")
    assert r is not None and (r.dstport, r.srcaddr) == (22, "10.0.0.9")
    p.start_file("next")
    r = p.feed_line("10.0.0.1 8080")
    assert r is not None and r.dstport == 8080


def test_headerless_custom_layout_is_not_guessed() -> None:
    p = FlowLogParser()
    assert p.feed_line("2 eni-1235b8ca123456789 172.31.16.139 172.31.16.21") is None
    assert p.stats.bad_lines == 1
    assert "no log format" in p.stats.samples[0].reason and "too few" in p.stats.samples[0].reason
    p2 = FlowLogParser("version interface-id srcaddr dstaddr")
    r = p2.feed_line("2 eni-1235b8ca123456789 172.31.16.139 172.31.16.21")
    assert r is not None and r.dstaddr == "172.31.16.21"


def test_tgw_default_by_field_count() -> None:
    values = {n: "-" for n in TGW_DEFAULT_FORMAT}
    values.update(
        {
            "version": "6",
            "resource-type": "TransitGateway",
            "tgw-attachment-id": "tgw-attach-1",
            "tgw-src-az-id": "use1-az1",
            "srcaddr": "10.0.0.1",
            "packets-lost-blackhole": "7",
            "log-status": "OK",
        }
    )
    r = FlowLogParser().feed_line(" ".join(values[n] for n in TGW_DEFAULT_FORMAT))
    assert r is not None
    assert (r.resource_type, r.tgw_attachment_id, r.tgw_src_az_id) == (
        "TransitGateway",
        "tgw-attach-1",
        "use1-az1",
    )
    assert r.packets_lost_blackhole == 7 and r.srcaddr == "10.0.0.1" and r.interface_id is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (V2_ACCEPT.rsplit(" ", 1)[0], "too few"),
        (V2_ACCEPT + " extra", "too many"),
        (V2_ACCEPT.replace(" 22 ", " ssh "), "not a number"),
        ("bogus line", "no log format"),
        # numbers that parse but cannot be right: named, never a traceback later (issue 12.3)
        (V2_ACCEPT.replace(" 4249 ", " 12345678901234567890123 "), "bytes is too large"),
        (V2_ACCEPT.replace(" 4249 ", " 9223372036854775808 "), "bytes is too large"),
        (V2_ACCEPT.replace("1418530010", "1418530010000"), "start is not a Unix time in seconds"),
        (V2_ACCEPT.replace("1418530070", "1418530070000"), "(milliseconds?)"),
        (V2_ACCEPT.replace(" 20641 ", " -1 "), "srcport is negative"),
    ],
)
def test_bad_lines_are_counted_and_parsing_continues(line: str, reason: str) -> None:
    p = FlowLogParser()
    recs = list(p.parse_lines([line, V2_ACCEPT]))
    assert len(recs) == 1 and recs[0].dstport == 22
    assert p.stats.bad_lines == 1
    assert reason in p.stats.samples[0].reason
    assert p.stats.samples[0].lineno == 1


def test_comments_blank_lines_and_double_spaces() -> None:
    p = FlowLogParser("instance-id interface-id srcaddr dstaddr")
    recs = list(p.parse_lines(["", "   ", "- eni-1  10.0.1.5 203.0.113.5 #to the internet"]))
    assert len(recs) == 1
    assert recs[0].instance_id is None and recs[0].dstaddr == "203.0.113.5"
    assert recs[0].raw.endswith("#to the internet")
    assert p.stats.bad_lines == 0


@pytest.mark.parametrize(
    ("mask", "names"),
    [
        (None, ()),
        (0, ()),
        (1, ("FIN",)),
        (2, ("SYN",)),
        (3, ("SYN", "FIN")),
        (4, ("RST",)),
        (16, ("ACK",)),
        (18, ("SYN-ACK",)),
        (19, ("SYN-ACK", "FIN")),
        (20, ("ACK", "RST")),
    ],
)
def test_decode_tcp_flags(mask: int | None, names: tuple[str, ...]) -> None:
    assert decode_tcp_flags(mask) == names


@pytest.mark.parametrize(
    ("number", "name"),
    [(6, "tcp"), (17, "udp"), (1, "icmp"), (58, "icmpv6"), (250, "250"), (None, "-")],
)
def test_protocol_name(number: int | None, name: str) -> None:
    assert protocol_name(number) == name


def _rec(line: str, fmt: str | None = None):  # type: ignore[no-untyped-def]
    r = FlowLogParser(fmt).feed_line(line)
    assert r is not None
    return r


def test_conversation_key_matches_swapped_legs_only() -> None:
    fwd = _rec("2 1 eni-a 10.0.0.5 192.168.1.9 40000 443 6 1 1 1 2 ACCEPT OK")
    ret = _rec("2 1 eni-b 192.168.1.9 10.0.0.5 443 40000 6 1 1 1 2 REJECT OK")
    other = _rec("2 1 eni-b 192.168.1.9 10.0.0.5 443 40001 6 1 1 1 2 REJECT OK")
    udp = _rec("2 1 eni-b 192.168.1.9 10.0.0.5 443 40000 17 1 1 1 2 REJECT OK")
    assert conversation_key(fwd) == conversation_key(ret)
    assert conversation_key(fwd) != conversation_key(other)
    assert conversation_key(fwd) != conversation_key(udp)


def test_incident3_return_leg_rejected_in_other_az() -> None:
    fmt = "version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status pkt-srcaddr pkt-dstaddr az-id"
    recs = [
        # forward: instance ENI in AZ a, to on-prem, accepted
        _rec(
            "5 eni-inst 10.1.1.10 172.16.5.5 40000 443 6 5 400 100 160 ACCEPT OK 10.1.1.10 172.16.5.5 -",
            fmt,
        ),
        # return: arrives on the TGW attachment ENI in AZ c, rejected by its NACL
        _rec(
            "5 eni-tgwc 172.16.5.5 10.1.3.200 443 40000 6 5 400 110 170 REJECT OK 172.16.5.5 10.1.1.10 -",
            fmt,
        ),
        # an unrelated, healthy conversation
        _rec(
            "5 eni-inst 10.1.1.10 172.16.5.6 40001 22 6 5 400 100 160 ACCEPT OK 10.1.1.10 172.16.5.6 -",
            fmt,
        ),
        _rec(
            "5 eni-inst 172.16.5.6 10.1.1.10 22 40001 6 5 400 100 160 ACCEPT OK 172.16.5.6 10.1.1.10 -",
            fmt,
        ),
    ]
    found = one_sided_conversations(recs, {"eni-inst": "use1-az1", "eni-tgwc": "use1-az3"})
    assert len(found) == 1
    conv = found[0]
    assert conv.rejected == "reverse"
    assert conv.forward.src == "10.1.1.10" and conv.forward.actions == frozenset({"ACCEPT"})
    assert conv.reverse.interfaces == ("eni-tgwc",) and conv.reverse.azs == ("use1-az3",)
    assert conv.forward.azs == ("use1-az1",)
    assert conv.cross_az
    assert "stateless" in conv.hint


def test_one_sided_ignores_status_rows_and_single_legs() -> None:
    recs = [
        _rec(V2_NODATA),
        _rec("2 1 eni-a 10.0.0.5 192.168.1.9 40000 443 6 1 1 1 2 REJECT OK"),
    ]
    assert one_sided_conversations(recs) == []


# --- readers ------------------------------------------------------------------------------------


def _v2_lines(n: int) -> list[str]:
    return [
        f"2 123456789010 eni-{i % 7:017d} 10.0.{i % 250}.1 10.1.0.{i % 200} {1024 + i} 443 6 3 {i} 100 160 ACCEPT OK"
        for i in range(n)
    ]


def test_truncated_gzip_keeps_what_precedes_and_other_files(tmp_path: Path) -> None:
    lines = _v2_lines(20000)
    blob = gzip.compress(("\n".join(lines) + "\n").encode())
    (tmp_path / "a.log.gz").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "b.log.gz").write_bytes(gzip.compress(("\n".join(lines[:10]) + "\n").encode()))
    stats = ParseStats()
    recs = list(read_flow_logs(tmp_path, stats=stats))
    assert stats.bad_files == 1
    assert "truncated" in stats.samples[0].reason
    from_a = [r for r in recs if r.bytes is not None and r.srcport is not None]
    assert len(recs) > 10 + 1000  # a good part of the truncated file was read
    assert len(recs) < 20000 + 10
    assert stats.bad_lines == 0  # the partial last line is dropped, not parsed
    # every record from the truncated file is an exact prefix of the original lines
    got_a = [r.raw for r in from_a[: len(recs) - 10]]
    assert got_a == lines[: len(got_a)]


def test_multi_member_gzip_and_header_per_member(tmp_path: Path) -> None:
    part1 = gzip.compress(b"version srcaddr dstport\n2 10.0.0.1 22\n")
    part2 = gzip.compress(b"2 10.0.0.2 23\n")
    (tmp_path / "m.log.gz").write_bytes(part1 + part2)
    stats = ParseStats()
    recs = list(read_flow_logs(tmp_path / "m.log.gz", stats=stats))
    assert [r.dstport for r in recs] == [22, 23]
    assert stats.bad_files == 0


def test_cloudwatch_subscription_payload_gz_and_concatenated(tmp_path: Path) -> None:
    payload = {
        "messageType": "DATA_MESSAGE",
        "logEvents": [{"id": "1", "timestamp": 0, "message": V2_ACCEPT}],
    }
    control = {
        "messageType": "CONTROL_MESSAGE",
        "logEvents": [{"id": "0", "message": "CWL CONTROL"}],
    }
    text = json.dumps(control) + json.dumps(payload) + "\n" + json.dumps(payload)
    (tmp_path / "x.json.gz").write_bytes(gzip.compress(text.encode()))
    stats = ParseStats()
    recs = list(read_flow_logs(tmp_path, stats=stats))
    assert len(recs) == 2 and recs[0].dstport == 22
    assert stats.bad_lines == 0 and stats.bad_files == 0


def test_parquet_with_nulls_and_int_account(tmp_path: Path) -> None:
    write_parquet(
        tmp_path / "f.parquet",
        {
            "version": ("INTEGER", [2, 2]),
            "account_id": ("BIGINT", [12345, 12345]),
            "srcaddr": ("VARCHAR", ["10.0.0.1", None]),
            "dstport": ("INTEGER", [443, None]),
            "action": ("VARCHAR", ["REJECT", None]),
            "log_status": ("VARCHAR", ["OK", "NODATA"]),
        },
    )
    stats = ParseStats()
    recs = list(read_flow_logs(tmp_path, stats=stats))
    assert [r.dstport for r in recs] == [443, None]
    assert recs[0].account_id == "000000012345"
    assert (stats.records, stats.nodata, stats.bad_lines) == (1, 1, 0)


def test_corrupt_file_does_not_stop_others(tmp_path: Path) -> None:
    (tmp_path / "a.parquet").write_bytes(b"PAR1 this is not parquet")
    (tmp_path / "b.log").write_text(V2_ACCEPT + "\n")
    stats = ParseStats()
    recs = list(read_flow_logs(tmp_path, stats=stats))
    assert len(recs) == 1 and stats.bad_files == 1


def test_sidecar_format_file(tmp_path: Path) -> None:
    (tmp_path / "nat.format").write_text("instance-id interface-id srcaddr dstaddr\n")
    (tmp_path / "nat.log").write_text("- eni-1 10.0.1.5 10.0.0.220\n")
    recs = list(read_flow_logs(tmp_path))
    assert len(recs) == 1 and recs[0].dstaddr == "10.0.0.220"


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.integers(-(2**70), 2**70).map(str) | st.sampled_from(["-", "1e3", "5.5", "0x1"]),
        min_size=14,
        max_size=14,
    ).map(lambda tokens: ["2", "123", "eni-1", "10.0.0.1", "10.0.0.2", *tokens[5:12], "ACCEPT OK"])
)
def test_any_number_in_any_numeric_field_is_a_record_or_a_named_bad_line(
    tokens: list[str],
) -> None:
    """Fuzz of the numeric fields: whatever the value, no exception reaches the caller, and a
    record's numbers fit a 64-bit column and its times are dates (issue 12.3)."""
    from datetime import UTC, datetime

    p = FlowLogParser()
    rec = p.feed_line(" ".join(tokens))
    if rec is None:
        assert p.stats.bad_lines == 1 and p.stats.samples[0].reason
        return
    for name in ("srcport", "dstport", "protocol", "packets", "bytes", "start", "end"):
        value = rec.get(name)
        assert value is None or 0 <= value < 2**63
    for value in (rec.start, rec.end):
        if value is not None:
            datetime.fromtimestamp(value, UTC)  # renders


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=120), max_size=20))
def test_parser_never_raises(lines: list[str]) -> None:
    p = FlowLogParser()
    out = list(p.parse_lines(lines))
    s = p.stats
    assert len(out) == s.records + s.nodata + s.skipdata


_TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-:./", min_size=1, max_size=12
).filter(
    lambda t: t != "-" and t not in FIELDS  # a lone field name would read as a header line
)


def _value(kind: str, name: str = "") -> st.SearchStrategy[str | int | None]:
    if name in ("start", "end"):
        return st.one_of(st.none(), st.integers(0, 253_402_300_799))  # a time in seconds
    if kind == "int":
        return st.one_of(st.none(), st.integers(0, 2**63 - 1))
    if kind == "ip":
        return st.one_of(
            st.none(),
            st.ip_addresses().map(str),
        )
    return st.one_of(st.none(), _TOKEN)


@st.composite
def _records(draw: st.DrawFn) -> tuple[tuple[str, ...], list[dict[str, object]]]:
    names = draw(
        st.lists(
            st.sampled_from([s.name for s in FIELD_SPECS]), min_size=1, max_size=20, unique=True
        )
    )
    if draw(st.booleans()):
        names.append("some-future-field")
    kinds = {n: FIELDS[n].kind if n in FIELDS else "str" for n in names}
    rows = draw(
        st.lists(
            st.fixed_dictionaries({n: _value(kinds[n], n) for n in names}), min_size=1, max_size=5
        )
    )
    return tuple(names), rows


@settings(max_examples=200, deadline=None)
@given(_records(), st.booleans())
def test_round_trip_generated_records(
    data: tuple[tuple[str, ...], list[dict[str, object]]], header: bool
) -> None:
    names, rows = data
    lines = [" ".join("-" if row[n] is None else str(row[n]) for n in names) for row in rows]
    if header:
        p = FlowLogParser()
        recs = list(p.parse_lines([" ".join(names), *lines]))
    else:
        p = FlowLogParser(" ".join(f"${{{n}}}" for n in names))
        recs = list(p.parse_lines(lines))
    assert p.stats.bad_lines == 0
    assert len(recs) == len(rows)
    for rec, row, line in zip(recs, rows, lines, strict=True):
        assert rec.as_dict() == row
        assert rec.raw == line


# --- layouts without a header (issue 11.11) -----------------------------------------------------

_V5 = [s.name for s in FIELD_SPECS if s.version in (2, 3, 4, 5)]


def _v5_line(action: str = "REJECT", dstport: str = "443") -> str:
    values = {n: "-" for n in _V5}
    values.update(
        {
            "version": "5",
            "account-id": "123456789012",
            "interface-id": "eni-1",
            "srcaddr": "10.0.0.1",
            "dstaddr": "10.0.0.2",
            "srcport": "40000",
            "dstport": dstport,
            "protocol": "6",
            "packets": "3",
            "bytes": "180",
            "start": "1700000000",
            "end": "1700000060",
            "action": action,
            "log-status": "OK",
            "az-id": "use1-az2",
            "flow-direction": "ingress",
        }
    )
    return " ".join(values[n] for n in _V5)


def test_every_v5_field_without_a_header_is_guessed_from_the_count_and_said() -> None:
    p = FlowLogParser(source="f.log")
    recs = list(p.parse_lines([_v5_line(), _v5_line("ACCEPT", "22")]))
    assert [(r.action, r.dstport, r.az_id, r.flow_direction) for r in recs] == [
        ("REJECT", 443, "use1-az2", "ingress"),
        ("ACCEPT", 22, "use1-az2", "ingress"),
    ]
    assert p.stats.bad_lines == 0
    assert p.stats.guessed == [
        (
            "f.log",
            "no header line and no log format: its 29 fields per line are read as every VPC "
            "field up to version 5 in AWS's order (guessed from the field count; give the log "
            "format if that is wrong)",
        )
    ]


def test_a_count_that_fits_but_values_that_do_not_is_not_guessed() -> None:
    swapped = _v5_line().replace(" REJECT OK ", " OK REJECT ")
    p = FlowLogParser()
    assert p.feed_line(swapped) is None
    assert p.stats.bad_lines == 1 and "no log format or header" in p.stats.samples[0].reason
    assert p.stats.guessed == []


def test_the_given_log_format_reads_a_custom_layout_and_nothing_is_guessed() -> None:
    fmt = "${srcaddr} ${dstaddr} ${action} ${dstport} ${vpc-id}"
    p = FlowLogParser(fmt)
    (rec,) = p.parse_lines(["10.0.0.1 10.0.0.2 REJECT 5432 vpc-1"])
    assert (rec.srcaddr, rec.action, rec.dstport, rec.vpc_id) == (
        "10.0.0.1",
        "REJECT",
        5432,
        "vpc-1",
    )
    assert p.stats.guessed == []


# --- JSON-wrapped lines and parsed records (issue 11.12) ----------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_lines_wrapped_in_json_objects_one_per_line(tmp_path: Path, gz: bool) -> None:
    """Firehose and log collectors write each line as {"message": ...}; Insights exports
    @message. Both read as the line they wrap."""
    docs = [
        {"message": V2_ACCEPT, "@timestamp": "2014-12-14T04:06:50Z", "owner": "123456789010"},
        {"@message": V2_NODATA, "@logStream": "eni-1235b8ca123456789-all"},
        {"message": V2_SKIP},
    ]
    text = "\n".join(json.dumps(d) for d in docs) + "\n"
    path = tmp_path / ("f.json.gz" if gz else "f.ndjson")
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    stats = ParseStats()
    recs = list(read_flow_logs(path, stats=stats))
    assert [r.log_status for r in recs] == ["OK", "NODATA", "SKIPDATA"]
    assert recs[0].dstport == 22 and recs[0].raw == V2_ACCEPT
    assert (stats.records, stats.bad_lines, stats.bad_files, stats.skipped) == (1, 0, 0, [])


def test_records_already_parsed_into_objects_in_aws_and_insights_spelling(tmp_path: Path) -> None:
    aws = {
        "version": 2,
        "account-id": "123456789010",
        "interface-id": "eni-1",
        "srcaddr": "10.0.0.1",
        "dst-addr": "10.0.0.2",
        "srcport": 40000,
        "dstport": 443,
        "protocol": 6,
        "packets": 3,
        "bytes": 180.0,  # a writer that went through floats
        "start": 1418530010,
        "end": 1418530070,
        "action": "REJECT",
        "log_status": "OK",
        "az_id": "use1-az2",
    }
    insights = {
        "@timestamp": "2014-12-14 04:06:50.000",
        "accountId": "123456789010",
        "interfaceId": "eni-2",
        "srcAddr": "10.0.0.2",
        "dstAddr": "10.0.0.1",
        "srcPort": "443",
        "dstPort": "40000",
        "protocol": "6",
        "packets": "3",
        "bytes": "180",
        "startTime": "1418530010",
        "endTime": "1418530070",
        "action": "ACCEPT",
        "logStatus": "OK",
        "pktSrcAddr": None,
    }
    path = tmp_path / "parsed.ndjson"
    path.write_text(json.dumps(aws) + "\n" + json.dumps(insights) + "\n" + '{"hello": 1}\n')
    stats = ParseStats()
    recs = list(read_flow_logs(path, stats=stats))
    assert [(r.srcaddr, r.dstaddr, r.dstport, r.action, r.start) for r in recs] == [
        ("10.0.0.1", "10.0.0.2", 443, "REJECT", 1418530010),
        ("10.0.0.2", "10.0.0.1", 40000, "ACCEPT", 1418530010),
    ]
    assert recs[0].az_id == "use1-az2" and recs[1].interface_id == "eni-2"
    assert recs[1].bytes == 180 and recs[1].pkt_srcaddr is None
    assert len(one_sided_conversations(recs)) == 1  # the two legs pair
    assert stats.bad_lines == 1 and stats.samples[0].lineno == 3
    assert "neither a flow-log line nor a flow record" in stats.samples[0].reason


def test_json_that_is_no_flow_log_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('[{"eventName": "StartInstances"}]')
    stats = ParseStats()
    assert list(read_flow_logs(path, stats=stats)) == []
    assert stats.skipped[0][0] == str(path)
    assert stats.skipped[0][1].startswith("not a flow log: JSON that holds no flow-log line")
