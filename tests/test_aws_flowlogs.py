"""Flow-log sources and the topology against the embedded AWS over real HTTP.

The world is seeded at the real clock (not ``DEMO_NOW``): CloudWatch Logs refuses events older
than 14 days, so a world seeded in the past has empty log groups.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tui.aws.errors import AccessDeniedError
from tui.aws.flowlogs import FlowBatch, stream_cloudwatch, stream_local, stream_s3
from tui.aws.network import load_flow_logs, load_topology
from tui.aws.ratelimit import RATES, RateLimiters
from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
from tui.demo import extensions
from tui.demo.seed import DemoWorld, clients, seed
from tui.demo.server import EmbeddedAws, FaultRule
from tui.models.flowfilter import parse_filter
from tui.models.flowlog import FIELDS, FlowRecord, parse_source
from tui.models.nacl import explain
from tui.models.network import FlowLogConfig
from tui.models.timewindow import TimeWindow

pytest_plugins = ["tests.demo_fixtures"]


@pytest.fixture(scope="module")
def live(emulator: EmbeddedAws) -> Iterator[DemoWorld]:
    emulator.reset()
    world = seed(emulator.url, now=datetime.now(UTC).replace(second=0, microsecond=0))
    yield world
    emulator.faults.clear()  # type: ignore[union-attr]


@pytest.fixture
async def aws(live: DemoWorld, emulator: EmbeddedAws) -> AsyncIterator[Aws]:
    fast_s3 = {("s3", "ListObjectsV2"): 500.0, ("s3", "GetObject"): 500.0}
    a = Aws(
        Connection(
            region="us-east-1",
            endpoint_url=emulator.url,
            demo=True,
            static_credentials=DEMO_CREDENTIALS,
        ),
        limiters=RateLimiters({**RATES, **fast_s3}),
    )
    a.backoff_base = 0
    await a.open()
    yield a
    await a.close()
    emulator.faults.clear()  # type: ignore[union-attr]


def _window(world: DemoWorld) -> TimeWindow:
    return TimeWindow(world.now - timedelta(hours=3), world.now, live=False)


async def _config(aws: Aws, group: str) -> FlowLogConfig:
    return next(fl for fl in await load_flow_logs(aws) if fl.log_group == group)


async def _drain(gen: AsyncIterator[FlowBatch]) -> tuple[list[FlowRecord], FlowBatch]:
    records: list[FlowRecord] = []
    last = None
    async for batch in gen:
        records.extend(batch.records)
        last = batch
    assert last is not None and last.done
    return records, last


async def test_cwl_pushdown_returns_the_rejected_return_legs(aws: Aws, live: DemoWorld) -> None:
    config = await _config(aws, live.log_group_v5)
    flt = parse_filter("action=REJECT and flags=syn-ack")
    records, last = await _drain(stream_cloudwatch(aws, config, _window(live), flt))
    assert last.pushed_down is not None and 'action="REJECT"' in last.pushed_down
    assert "tcp_flags=" not in last.pushed_down  # flag names are tested locally only
    c = live.az_names[1]
    assert records and all(r.action == "REJECT" and r.tcp_flags == 18 for r in records)
    assert {r.interface_id for r in records} == {live.tgw_eni_ids[c]}
    assert {r.dstaddr for r in records} == {live.private_ips["app-web-01"]}
    assert {r.srcaddr for r in records} <= set(live.onprem_hosts.values())


async def test_cwl_empty_pages_followed_and_follow_polls_deduped(aws: Aws, live: DemoWorld) -> None:
    config = await _config(aws, live.log_group_v2)
    flt = parse_filter("action=REJECT")
    seen: set[str] = set()
    extensions.set_empty_filter_pages(2)
    try:
        first, last = await _drain(stream_cloudwatch(aws, config, _window(live), flt, seen=seen))
    finally:
        extensions.set_empty_filter_pages(0)
    assert first and last.pages >= 3
    start_ms = int((live.now - timedelta(minutes=30)).timestamp() * 1000)
    again, _ = await _drain(
        stream_cloudwatch(aws, config, _window(live), flt, seen=seen, follow_from_ms=start_ms)
    )
    assert again == []
    assert len({r.raw for r in first}) <= len(first)


async def test_s3_text_and_hive_parquet_agree(aws: Aws, live: DemoWorld) -> None:
    flt = parse_filter("action=REJECT")
    window = _window(live)
    text, t_last = await _drain(stream_s3(aws, live.flowlogs_bucket, "", window, flt))
    parquet, p_last = await _drain(stream_s3(aws, live.flowlogs_bucket, "parquet", window, flt))
    assert text and len(text) == len(parquet)
    assert t_last.stats.bad_files == p_last.stats.bad_files == 0
    assert {r.interface_id for r in text} == {r.interface_id for r in parquet}
    assert parquet[0].az_id is not None  # v5 columns came through
    assert aws.meter.quantities["s3_objects"] == t_last.pages + p_last.pages
    assert aws.meter.quantities["s3_bytes"] > 0


async def test_truncated_gzip_in_s3_loses_only_itself(aws: Aws, live: DemoWorld) -> None:
    s3 = clients(live.url)["s3"]
    stamp = live.now - timedelta(minutes=5)
    key = (
        f"AWSLogs/{live.account_id}/vpcflowlogs/{live.region}/{stamp:%Y/%m/%d}/"
        f"{live.account_id}_vpcflowlogs_{live.region}_fl-bad_{stamp:%Y%m%dT%H%M}Z_deadbeef.log.gz"
    )
    body = gzip.compress(
        b"version account-id\n" + b"2 1 eni-x 1.1.1.1 2.2.2.2 1 2 6 1 40 1 2 REJECT OK\n" * 500
    )
    s3.put_object(Bucket=live.flowlogs_bucket, Key=key, Body=body[: len(body) // 2])
    try:
        flt = parse_filter("action=REJECT")
        records, last = await _drain(stream_s3(aws, live.flowlogs_bucket, "", _window(live), flt))
    finally:
        s3.delete_object(Bucket=live.flowlogs_bucket, Key=key)
    assert last.stats.bad_files == 1
    assert any(
        live.flowlogs_bucket in s.source and "fl-bad" in s.source for s in last.stats.samples
    )
    assert sum(1 for r in records if r.interface_id == live.tgw_eni_ids[live.az_names[1]]) > 100


async def test_throttling_on_filter_log_events_is_absorbed(
    aws: Aws, live: DemoWorld, emulator: EmbeddedAws
) -> None:
    config = await _config(aws, live.log_group_v2)
    # botocore makes a single attempt; hamari's layer sees each throttle, backs off (delay
    # patched to zero), slows its rate limiter and retries: three throttles, then success.
    before = len(emulator.calls("logs", "FilterLogEvents"))
    emulator.faults.add(FaultRule("logs", "FilterLogEvents", "throttle", times=3))  # type: ignore[union-attr]
    records, _ = await _drain(
        stream_cloudwatch(aws, config, _window(live), parse_filter("action=REJECT"))
    )
    assert records
    assert aws.meter.throttles["logs:FilterLogEvents"] == 3
    assert len(emulator.calls("logs", "FilterLogEvents")) - before == 4


async def test_access_denied_on_filter_log_events_but_describe_flow_logs_works(
    aws: Aws, live: DemoWorld, emulator: EmbeddedAws
) -> None:
    config = await _config(aws, live.log_group_v2)
    emulator.faults.add(FaultRule("logs", "FilterLogEvents", "access_denied"))  # type: ignore[union-attr]
    with pytest.raises(AccessDeniedError) as info:
        await _drain(stream_cloudwatch(aws, config, _window(live)))
    assert info.value.action == "logs:FilterLogEvents"
    assert len(await load_flow_logs(aws)) == 4


async def test_topology_and_explain_name_the_seeded_nacl_rule(aws: Aws, live: DemoWorld) -> None:
    topology = await load_topology(aws)
    c = live.az_names[1]
    tgw_eni = topology.enis[live.tgw_eni_ids[c]]
    assert tgw_eni.tgw_attachment_id == live.tgw_attachment_id
    assert topology.annotate(tgw_eni.eni_id) == f"{live.tgw_attachment_id} (AZ {c})"
    assert "app-web-01" in topology.annotate(live.eni_ids["app-web-01"])
    assert topology.vpcs_without_flow_logs().count(live.legacy_vpc_id) == 1
    assert live.vpc_id not in topology.vpcs_without_flow_logs()
    config = await _config(aws, live.log_group_v2)  # v2: no az-id, no flow-direction
    records, _ = await _drain(
        stream_cloudwatch(
            aws, config, _window(live), parse_filter(f"action=REJECT and eni={tgw_eni.eni_id}")
        )
    )
    exp = explain(records[0], topology)
    assert exp.denied and exp.nacl_id == live.nacl_id and exp.direction == "egress"
    assert exp.rule is not None and exp.rule.rule_number == live.nacl_deny_rule
    assert f"NACL {live.nacl_id} rule {live.nacl_deny_rule} (egress deny" in exp.verdict


async def test_stream_local_gzip_and_truncated_file(tmp_path: Path) -> None:
    line = "2 1 eni-a 10.0.0.1 10.0.0.2 1 443 6 1 40 100 160 {} OK\n"
    good = "".join(line.format("REJECT" if i % 3 == 0 else "ACCEPT") for i in range(12_000))
    (tmp_path / "a.log.gz").write_bytes(gzip.compress(good.encode()))
    blob = gzip.compress(good.encode())
    (tmp_path / "b.log.gz").write_bytes(blob[: len(blob) // 2])
    records, last = await _drain(stream_local(str(tmp_path), None, parse_filter("action=REJECT")))
    assert last.stats.bad_files == 1
    assert len(records) >= 4000 and all(r.action == "REJECT" for r in records)
    window = TimeWindow(
        datetime.fromtimestamp(1000, UTC), datetime.fromtimestamp(2000, UTC), live=False
    )
    none, _ = await _drain(stream_local(str(tmp_path / "a.log.gz"), window))
    assert none == []


def test_parse_source() -> None:
    assert parse_source("cwl:/vpc/flow-logs/app") == ("cwl", "/vpc/flow-logs/app")
    assert parse_source("s3://bucket/pre/fix") == ("s3", "bucket/pre/fix")
    assert parse_source("") == ("auto", "")
    assert parse_source("/tmp/x.log.gz") == ("local", "/tmp/x.log.gz")


async def test_filter_pattern_sent_fits_the_service_models_limit(aws: Aws, live: DemoWorld) -> None:
    """A 58-field format made a pattern longer than FilterLogEvents accepts (AWS refuses it)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("logs")
    shape = model.operation_model("FilterLogEvents").input_shape.members["filterPattern"]
    limit = int(shape.metadata["max"])
    fields = tuple(FIELDS)
    config = FlowLogConfig("fl-long", "vpc-x", "cloud-watch-logs", live.log_group_v5, None, fields)
    flt = parse_filter(
        "proto=tcp and action=REJECT and srcaddr in 10.1.0.0/16 and dstaddr in 10.2.0.0/16 and "
        "srcport=1024..65535 and dstport=443|5432|22|8080|3306 and az=use1-az1 and vpc=vpc-1 and "
        "subnet=subnet-a and eni=eni-aaa"
    )
    assert len(flt.to_cwl_filter_pattern(fields) or "") > limit  # what was sent before
    sent: list[str] = []
    client = await aws._client("logs")

    def capture(params: dict[str, Any], **_: Any) -> None:
        sent.append(params.get("filterPattern", ""))

    client.meta.events.register("provide-client-params.logs.FilterLogEvents", capture)
    try:
        _, last = await _drain(stream_cloudwatch(aws, config, _window(live), flt))
    finally:
        client.meta.events.unregister("provide-client-params.logs.FilterLogEvents", capture)
    assert sent and all(0 < len(p) <= limit for p in sent)
    assert last.pushed_down == sent[0] and 'action="REJECT"' in sent[0]
