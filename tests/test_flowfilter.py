"""Filter language: parsing, errors, local predicate, and the CWL / Insights / SQL compilers."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.models.flowfilter import FilterError, complete, parse_filter
from tui.models.flowlog import FIELDS, FlowLogParser, FlowRecord

FMT = [
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
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "az-id",
    "flow-direction",
]

LINES = [
    "5 1 eni-aaa 10.1.2.3 10.2.0.9 40000 443 6 10 5000 100 160 REJECT OK vpc-1 subnet-a i-1 2 use1-az1 egress",
    "5 1 eni-aaa 10.2.0.9 10.1.2.3 443 40000 6 8 900 100 160 ACCEPT OK vpc-1 subnet-a i-1 18 use1-az1 ingress",
    "5 1 eni-bbb 192.168.0.1 10.1.200.1 53 5353 17 1 80 100 160 ACCEPT OK vpc-1 subnet-b - 0 use1-az2 ingress",
    "5 1 eni-bbb 172.16.0.1 10.1.0.1 0 0 1 4 336 100 160 REJECT OK vpc-1 subnet-b - 0 use1-az2 ingress",
    "5 1 eni-ccc 2001:db8::5 2001:db8:1::9 22 50000 6 3 200 100 160 ACCEPT OK vpc-2 subnet-c i-2 19 use1-az3 egress",
    "5 1 eni-ccc - - - - - - - 100 160 - NODATA vpc-2 subnet-c i-2 - use1-az3 -",
    "5 1 eni-ddd 10.9.9.9 10.1.2.3 1024 8080 6 100 99999 100 160 ACCEPT OK vpc-2 subnet-d i-3 3 use1-az1 ingress",
]


def _records() -> list[FlowRecord]:
    p = FlowLogParser(FMT)
    recs = list(p.parse_lines(LINES))
    assert len(recs) == len(LINES)
    return recs


RECORDS = _records()

# (filter, indices of LINES that match)
CASES = [
    ("", [0, 1, 2, 3, 4, 5, 6]),
    ("action=REJECT", [0, 3]),
    ("action=reject", [0, 3]),
    ("ACTION = Reject", [0, 3]),
    ("action!=REJECT", [1, 2, 4, 6]),
    ("not action=REJECT", [1, 2, 4, 5, 6]),
    ("action=REJECT and srcaddr in 10.1.0.0/16 and dstport=443", [0]),
    ("srcaddr in 10.1.0.0/16", [0]),
    ("addr in 10.1.0.0/16", [0, 1, 2, 3, 6]),
    ("10.1.2.3", [0, 1, 6]),
    ("10.2.0.0/16 or 192.168.0.0/16", [0, 1, 2]),
    ("2001:db8:1::/48", [4]),
    ("srcaddr in 2001:db8::/32", [4]),
    ("addr not in 10.0.0.0/8", [4]),
    ("dstport=443", [0]),
    ("dst_port=443|8080", [0, 6]),
    ("dstport=1024..65535", [1, 2, 4, 6]),
    ("dstport=1024-65535", [1, 2, 4, 6]),
    ("dstport in 1024..65535", [1, 2, 4, 6]),
    ("port=53", [2]),
    ("dstport>=8080", [1, 4, 6]),
    ("dstport<443", [3]),
    ("bytes>1000", [0, 6]),
    ("packets<=4 and packets>=3", [3, 4]),
    ("protocol=tcp", [0, 1, 4, 6]),
    ("proto=udp|icmp", [2, 3]),
    ("protocol=17", [2]),
    ("flags=syn", [0, 6]),
    ("flags=syn-ack", [1, 4]),
    ("flags=fin", [4, 6]),
    ("tcp_flags=0", [2, 3]),
    ("direction=ingress", [1, 2, 3, 6]),
    ("flow-direction=EGRESS", [0, 4]),
    ("az=use1-az1", [0, 1, 6]),
    ("subnet=subnet-b", [2, 3]),
    ("eni=eni-aaa", [0, 1]),
    ("eni=ENI-AAA", [0, 1]),
    ("eni=eni-a*", [0, 1]),
    ("instance=i-1 or instance=i-3", [0, 1, 6]),
    ("vpc=vpc-2 and not log-status=NODATA", [4, 6]),
    ("status=nodata", [5]),
    ("(action=ACCEPT or action=REJECT) and az=use1-az2", [2, 3]),
    ("action=ACCEPT or action=REJECT and az=use1-az2", [1, 2, 3, 4, 6]),
    ("not (az=use1-az1 or az=use1-az3)", [2, 3]),
    ("az=use1-az1 action=accept", [1, 6]),
    ("az=use1-az1 && action=accept || eni=eni-bbb", [1, 2, 3, 6]),
    ('eni="eni-ccc"', [4, 5]),
    ("tcp", [0, 1, 4, 6]),
    ("TCP and action=REJECT", [0]),
    ("udp or icmp", [2, 3]),
    ("udp|icmp", [2, 3]),
    ("not tcp", [2, 3, 5]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_predicate(text: str, expected: list[int]) -> None:
    pred = parse_filter(text).to_predicate()
    assert [i for i, r in enumerate(RECORDS) if pred(r)] == expected


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("action=REJCT", 7, "one of ACCEPT, REJECT"),
        ("dstport=abc", 8, "needs a number"),
        ("(action=REJECT", 14, "')' expected"),
        ("action=REJECT and (dstport=1", 28, "')' expected"),
        ("foo=1", 0, "unknown field"),
        ("dstprt=1", 0, "did you mean 'dstport'"),
        ("dstport >", 9, "value expected"),
        ("srcaddr in 10.0.0.300/8", 11, "not an IP"),
        ("bytes<1..2", 6, "needs a number"),
        ("action=REJECT )", 14, "unexpected ')'"),
        ("dstport=10-5", 8, "empty range"),
        ("dstport=443|x", 12, "needs a number"),
        ("protocol=tcpp", 9, "protocol"),
        ("flags=syns", 6, "flag"),
        ("action<REJECT", 7, "needs one number"),
        ("hello", 0, "neither a field comparison"),
        # The CloudTrail pane's `field:value`, typed in the flow pane: the flow way, in a line.
        ("action:REJECT", 0, "flow filters compare with '=': action=REJECT"),
        ("tcp and dstport:443", 8, "compare with '=': dstport=443"),
        ("hello:world", 0, "neither a field comparison"),
        ("2001:db8::1", None, ""),
        ("tcp|http", 0, "protocol (tcp, udp, icmp, icmpv6)"),
        ("action=REJECT and", 17, "expression expected"),
        ('action="REJECT', 7, "unexpected character"),
        ("dstport=443 or", 14, "expression expected"),
    ],
)
def test_errors_point_at_the_column(text: str, column: int | None, fragment: str) -> None:
    if column is None:  # parses (an IPv6 address has colons too)
        parse_filter(text)
        return
    with pytest.raises(FilterError) as err:
        parse_filter(text)
    assert err.value.column == column
    assert fragment in err.value.message


_PIECES = [*'adnortsc =!<>()|.-*"10/:', " and ", " or ", "not ", " in ", "dstport", "srcaddr"]
_PIECES += ["action", "REJECT", "10.0.0.0/8", "flags", "syn-ack", "2001:db8::/32", "1..9", "addr"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join))
def test_parse_never_raises_other_errors(text: str) -> None:
    try:
        f = parse_filter(text)
    except FilterError as e:
        assert 0 <= e.column <= len(text)
        return
    pred = f.to_predicate()
    for r in RECORDS:
        assert pred(r) in (True, False)


@pytest.mark.parametrize(
    ("bare", "spelled"),
    [("tcp", "protocol=tcp"), ("not udp", "not protocol=17"), ("icmp|icmpv6", "proto=1|58")],
)
def test_bare_protocol_word_compiles_like_protocol_field_everywhere(
    bare: str, spelled: str
) -> None:
    """The README's `tcp` is `protocol=tcp` on every backend a filter can run on."""
    a, b = parse_filter(bare), parse_filter(spelled)
    assert a.to_insights() == b.to_insights() and "protocol" in a.to_insights()
    assert a.to_insights(FMT) == b.to_insights(FMT)
    assert a.to_sql("t") == b.to_sql("t")
    assert a.to_sql("t", dialect="duckdb") == b.to_sql("t", dialect="duckdb")
    assert a.to_cwl_filter_pattern(FMT) == b.to_cwl_filter_pattern(FMT)
    pa, pb = a.to_predicate(), b.to_predicate()
    assert [pa(r) for r in RECORDS] == [pb(r) for r in RECORDS]


@pytest.mark.parametrize("text", ["tcp", "not tcp", "udp|icmp"])
def test_bare_protocol_word_in_the_duckdb_store_and_file_scan(tmp_path: Path, text: str) -> None:
    """``hamari flows FILE --filter tcp`` (byte pre-filter + DuckDB) and the pane's store."""
    from tui.models.flowengine import FlowEngine, scan_files

    path = tmp_path / "flows.log"
    path.write_text(" ".join(FMT) + "\n" + "\n".join(LINES) + "\n")
    pred = parse_filter(text).to_predicate()
    want = sorted(r.raw for r in RECORDS if pred(r))
    assert want
    assert sorted(r.raw for _, r in scan_files(path, parse_filter(text))) == want
    with FlowEngine(temp_directory=tmp_path) as engine:
        engine.load_files(path)
        assert engine.count(parse_filter(text)) == len(want)


def test_bare_tcp_is_pushed_down_to_cloudwatch() -> None:
    assert "protocol=6" in (parse_filter("tcp").to_cwl_filter_pattern(FMT[:14]) or "")


def test_extra_fields_can_be_filtered_when_declared() -> None:
    r = FlowLogParser("version my-field").feed_line("2 blue")
    assert r is not None
    with pytest.raises(FilterError):
        parse_filter("my-field=blue")
    f = parse_filter("my_field=BLUE", extra_fields=["my-field"])
    assert f.to_predicate()(r)
    assert not parse_filter("my-field=red", extra_fields=["my-field"]).to_predicate()(r)


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("act", ["action"]),
        ("action=", ["ACCEPT", "REJECT"]),
        ("action=r", ["REJECT"]),
        ("flags=s", ["syn", "syn-ack"]),
        ("proto=ic", ["icmp", "icmpv6"]),
        ("x and dst", ["dst", "dstaddr", "dstport"]),
        ("direction=", ["ingress", "egress"]),
        ("tgw-src-a", ["tgw-src-az-id"]),
        ("action=REJECT and tc", ["tcp", "tcp-flags"]),
    ],
)
def test_complete(text: str, candidates: list[str]) -> None:
    assert complete(text) == candidates


# --- CloudWatch Logs filter pattern ----------------------------------------------------------


def _cwl_matches(pattern: str, fmt: list[str], line: str) -> bool:
    """A small evaluator of the subset of space-delimited patterns the compiler emits."""
    slots = [s.strip() for s in pattern.strip("[]").split(",")]
    if "..." in slots:  # one ellipsis: any number of fields without a condition
        at = slots.index("...")
        slots[at : at + 1] = ["_"] * (len(fmt) - len(slots) + 1)
    tokens = line.split()
    assert len(slots) == len(fmt) == len(tokens)
    for slot, tok in zip(slots, tokens, strict=True):
        if not re.search(r"[=<>]", slot):
            continue
        for alt in slot.split("||"):
            if all(_cwl_term(t, tok) for t in alt.split("&&")):
                break
        else:
            return False
    return True


def _cwl_term(term: str, tok: str) -> bool:
    m = re.fullmatch(r"[a-z_0-9]+(!=|>=|<=|=|<|>)(.+)", term)
    assert m, term
    op, val = m.groups()
    if val.startswith('"'):
        val = val.strip('"')
        return (tok == val) if op == "=" else (tok != val)
    if val.endswith("*"):
        assert op == "="
        return tok.startswith(val[:-1])
    if not tok.lstrip("-").isdigit():
        return False
    a, b = int(tok), int(val)
    return {"=": a == b, "!=": a != b, ">=": a >= b, "<=": a <= b, "<": a < b, ">": a > b}[op]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            "action=REJECT and srcaddr in 10.1.0.0/16 and dstport=443",
            "[version, account_id, interface_id, srcaddr=10.1.*, dstaddr, srcport, dstport=443, "
            'protocol, packets, bytes, start, end, action="REJECT", log_status]',
        ),
        ("10.0.0.0/8", None),
        ("action=REJECT or dstport=22", None),
        ("not action=REJECT", None),
        ("flags=syn", None),
        (
            "dstport=1024..65535",
            "[version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport>=1024&&dstport<=65535, protocol, packets, bytes, start, end, action, log_status]",
        ),
    ],
)
def test_cwl_pattern_default_format(text: str, pattern: str | None) -> None:
    assert parse_filter(text).to_cwl_filter_pattern(FMT[:14]) == pattern


@pytest.mark.parametrize(
    "text",
    [c[0] for c in CASES] + ["srcaddr in 10.1.16.0/20", "dstaddr=10.1.2.3", "dstport!=443|22"],
)
def test_cwl_pattern_is_exact_or_broader(text: str) -> None:
    f = parse_filter(text)
    pattern = f.to_cwl_filter_pattern(FMT)
    pred = f.to_predicate()
    for line, rec in zip(LINES, RECORDS, strict=True):
        if pred(rec):
            assert pattern is None or _cwl_matches(pattern, FMT, line), (pattern, line)


ALL_FIELDS = list(FIELDS)  # 58 fields: every field AWS documents, VPC and Transit Gateway
ALL_LINES = [
    " ".join(str(r.get(n)) if r.get(n) is not None else "-" for n in ALL_FIELDS) for r in RECORDS
]
ALL_RECORDS = list(FlowLogParser(ALL_FIELDS).parse_lines(ALL_LINES))
LONG = (
    "proto=tcp and action=REJECT and srcaddr in 10.1.0.0/16 and dstaddr in 10.2.0.0/16 and "
    "srcport=1024..65535 and dstport=443|5432|22|8080|3306 and az=use1-az1 and vpc=vpc-1 and subnet=subnet-a and eni=eni-aaa"
)


@pytest.mark.parametrize("limit", [1024, 400, 200, 60])
@pytest.mark.parametrize("text", [LONG, "action=REJECT", *(c[0] for c in CASES)])
def test_cwl_pattern_fits_the_limit_and_stays_exact_or_broader(text: str, limit: int) -> None:
    """A 58-field format wrote a 1,035-character pattern; FilterLogEvents takes 1,024."""
    f = parse_filter(text)
    pattern = f.to_cwl_filter_pattern(ALL_FIELDS, max_length=limit)
    pred = f.to_predicate()
    assert pattern is None or len(pattern) <= limit
    for line, rec in zip(ALL_LINES, ALL_RECORDS, strict=True):
        if pred(rec):
            assert pattern is None or _cwl_matches(pattern, ALL_FIELDS, line), (pattern, line)


def test_cwl_pattern_for_a_long_format_keeps_every_condition_within_the_limit() -> None:
    f = parse_filter(LONG)
    full = f.to_cwl_filter_pattern(ALL_FIELDS)
    assert full is not None and len(full) > 1024  # what hamari sent before
    short = f.to_cwl_filter_pattern(ALL_FIELDS, max_length=1024)
    assert short is not None and len(short) <= 1024
    conditions = [s.strip() for s in full.strip("[]").split(",") if re.search("[=<>]", s)]
    assert len(conditions) == 10
    assert all(c in short for c in conditions)
    tight = f.to_cwl_filter_pattern(ALL_FIELDS, max_length=200)
    assert tight is not None and "..." in tight and 'action="REJECT"' in tight


def test_cwl_pattern_skips_fields_missing_from_format() -> None:
    assert parse_filter("az=use1-az1").to_cwl_filter_pattern("${version} ${srcaddr}") is None
    got = parse_filter("az=use1-az1 and dstport<1024").to_cwl_filter_pattern(
        "${version} ${dstport} ${az-id}"
    )
    assert got == '[version, dstport<1024, az_id="use1-az1"]'


# --- Logs Insights ---------------------------------------------------------------------------------


def test_insights_default_format_uses_discovered_fields() -> None:
    q = parse_filter("action=reject and srcaddr in 10.1.0.0/16 and dstport=443").to_insights(
        limit=100
    )
    assert "parse @message" not in q
    assert 'action = "REJECT"' in q
    assert 'isIpInSubnet(srcAddr, "10.1.0.0/16")' in q
    assert "dstPort = 443" in q
    assert q.endswith("| limit 100")


# AWS, "Supported logs and discovered fields" (CloudWatch Logs user guide): what Logs Insights
# discovers in VPC flow logs of the default format. Typed from the page, not from the code.
INSIGHTS_DISCOVERED = {
    "accountId",
    "endTime",
    "interfaceId",
    "logStatus",
    "startTime",
    "version",
    "action",
    "bytes",
    "dstAddr",
    "dstPort",
    "packets",
    "protocol",
    "srcAddr",
    "srcPort",
}
_INSIGHTS_WORDS = {"and", "or", "not", "in", "like", "isIpInSubnet", "ispresent"}


def _insights_filter_fields(query: str) -> set[str]:
    """The field names a compiled query's filter clause reads (literals and functions removed)."""
    clause = next(p for p in query.split("\n| ") if p.startswith("filter "))[len("filter ") :]
    clause = re.sub(r'"(?:[^"\\]|\\.)*"', " ", clause)  # strings
    clause = re.sub(r"/\(\?i\)\^.*?\$/", " ", clause)  # regexes
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", clause)) - _INSIGHTS_WORDS


def _parsed_fields(query: str) -> list[str]:
    m = re.search(r'\| parse @message "[* ]+" as (.+)', query)
    assert m, query
    return [f.strip() for f in m.group(1).split(",")]


_DEFAULT_FIELD_FILTERS = [
    ("version=2", "version"),
    ("account=123456789012", "accountId"),
    ("eni=eni-1", "interfaceId"),
    ("srcaddr=10.0.0.1", "srcAddr"),
    ("dstaddr in 10.0.0.0/8", "dstAddr"),
    ("srcport=443", "srcPort"),
    ("dstport=1024..65535", "dstPort"),
    ("tcp", "protocol"),
    ("packets>1", "packets"),
    ("bytes>=1000", "bytes"),
    ("start>1700000000", "startTime"),
    ("end<1700000000", "endTime"),
    ("action=REJECT", "action"),
    ("status=NODATA", "logStatus"),
]


@pytest.mark.parametrize(("text", "field"), _DEFAULT_FIELD_FILTERS)
def test_insights_default_format_names_only_discovered_fields(text: str, field: str) -> None:
    """Insights discovers startTime/endTime; a filter on start/end silently matched nothing."""
    used = _insights_filter_fields(parse_filter(text).to_insights())
    assert used == {field}
    assert used <= INSIGHTS_DISCOVERED


def test_every_default_field_has_a_filter_case() -> None:
    from tui.models.flowlog import DEFAULT_FORMAT

    cases = {parse_filter(t).fields().pop() for t, _ in _DEFAULT_FIELD_FILTERS}
    assert cases == set(DEFAULT_FORMAT)


@pytest.mark.parametrize(
    "text",
    [c[0] for c in CASES if c[0]] + ["start>1 and end<2", "flags=syn and az=use1-az1"],
)
def test_insights_custom_format_reads_only_fields_it_parsed(text: str) -> None:
    """A custom format's fields are not discovered: every name read is one ``parse`` made."""
    q = parse_filter(text).to_insights(FMT)
    parsed = _parsed_fields(q)
    assert len(parsed) == len(FMT) == len(set(parsed))
    assert _insights_filter_fields(q) <= set(parsed)


def test_insights_custom_format_parses_message() -> None:
    q = parse_filter("flags=syn-ack and az=use1-az1").to_insights(FMT)
    stars = " ".join("*" for _ in FMT)
    assert f'parse @message "{stars}" as version, account_id,' in q
    assert "tcp_flags in [18, 19," in q
    assert 'az_id = "use1-az1"' in q


def test_insights_rejects_field_missing_from_format() -> None:
    with pytest.raises(FilterError) as err:
        parse_filter("dstport=1 and az=use1-az1").to_insights()
    assert err.value.column == 14


# --- SQL ---------------------------------------------------------------------------------------


def test_athena_sql_shape() -> None:
    sql = parse_filter("action=REJECT and srcaddr in 10.1.0.0/16 and end>5 and flags=syn").to_sql(
        "vpc_flow_logs"
    )
    assert sql.startswith("SELECT * FROM vpc_flow_logs WHERE ")
    assert "contains('10.1.0.0/16', TRY_CAST(srcaddr AS IPADDRESS))" in sql
    assert "action = 'REJECT'" in sql
    assert '"end" > 5' in sql
    assert "bitwise_and(tcp_flags, 2) = 2" in sql


def test_sql_rejects_odd_table_names_and_escapes_strings() -> None:
    with pytest.raises(ValueError):
        parse_filter("dstport=1").to_sql("t; DROP TABLE x")
    sql = parse_filter('eni="it\'s"').to_sql("t")
    assert "'it''s'" in sql


def test_duckdb_rejects_ipv6_cidr_with_column() -> None:
    with pytest.raises(FilterError) as err:
        parse_filter("action=ACCEPT and 2001:db8::/32").to_sql("t", dialect="duckdb")
    assert err.value.column == 18
    assert "contains('2001:db8::/32'" in parse_filter("2001:db8::/32").to_sql("t")


@pytest.fixture(scope="module")
def duck() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    cols = []
    for name in FMT:
        spec = FIELDS[name]
        sqltype = "BIGINT" if spec.kind == "int" else "VARCHAR"
        col = f'"{spec.attr}"' if spec.attr == "end" else spec.attr
        cols.append(f"{col} {sqltype}")
    con.execute(f"CREATE TABLE flows (rowid_ INTEGER, {', '.join(cols)})")
    for i, rec in enumerate(RECORDS):
        values = [i, *(rec.get(n) for n in FMT)]
        con.execute(f"INSERT INTO flows VALUES ({', '.join('?' for _ in values)})", values)
    return con


@pytest.mark.parametrize(("text", "expected"), [c for c in CASES if ":" not in c[0]])
def test_duckdb_sql_runs_and_agrees_with_predicate(
    duck: duckdb.DuckDBPyConnection, text: str, expected: list[int]
) -> None:
    sql = parse_filter(text).to_sql("flows", dialect="duckdb")
    rows = duck.execute(sql.replace("SELECT *", "SELECT rowid_") + " ORDER BY rowid_").fetchall()
    assert [r[0] for r in rows] == expected, sql
