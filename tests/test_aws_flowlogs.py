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

from tests.awstools import sent_requests as _requests
from tui.aws.errors import AccessDeniedError
from tui.aws.flowlogs import FlowBatch, stream_cloudwatch, stream_local, stream_s3
from tui.aws.flowsources import open_plan
from tui.aws.network import load_flow_logs, load_topology
from tui.aws.ratelimit import RATES, RateLimiters
from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
from tui.demo import extensions
from tui.demo.seed import DemoWorld, clients, seed
from tui.demo.server import EmbeddedAws, FaultRule
from tui.models.flowfilter import parse_filter
from tui.models.flowlog import DEFAULT_FORMAT, FIELDS, FlowRecord, parse_source
from tui.models.flowplan import plan_sources
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
    requests, (_, last) = await _requests(
        aws,
        "logs",
        "FilterLogEvents",
        lambda: _drain(stream_cloudwatch(aws, config, _window(live), flt)),
    )
    sent = [r.get("filterPattern", "") for r in requests]
    assert sent and all(0 < len(p) <= limit for p in sent)
    assert last.pushed_down == sent[0] and 'action="REJECT"' in sent[0]


# --- S3: the window's edges and a central bucket ------------------------------------------------

_T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)  # S3 keeps any age: a fixed past window


def _flow_key(acct: str, region: str, stamp: datetime, *, hourly: bool = False) -> str:
    hour = f"{stamp:%H}/" if hourly else ""
    return (
        f"AWSLogs/{acct}/vpcflowlogs/{region}/{stamp:%Y/%m/%d}/{hour}"
        f"{acct}_vpcflowlogs_{region}_fl-0c1_{stamp:%Y%m%dT%H%M}Z_{stamp:%H%M}beef.log.gz"
    )


def _flow_object(eni: str, start: datetime, end: datetime) -> bytes:
    line = f"2 1 {eni} 10.9.0.1 10.9.0.2 40000 443 6 1 40 {int(start.timestamp())} {int(end.timestamp())} REJECT OK"
    return gzip.compress(f"{' '.join(DEFAULT_FORMAT)}\n{line}\n".encode())


@pytest.fixture
def central(live: DemoWorld) -> Iterator[tuple[str, list[str]]]:
    """A central bucket: this account and region, another account, another region."""
    s3 = clients(live.url)["s3"]
    bucket = "central-flow-logs-edges"
    s3.create_bucket(Bucket=bucket)
    acct, region = live.account_id, live.region
    other_region = "eu-west-3" if region != "eu-west-3" else "ap-south-1"
    objects = {
        # stamped 6 minutes before the window: its record ends inside it
        _flow_key(acct, region, _T0 - timedelta(minutes=6)): _flow_object(
            "eni-early", _T0 - timedelta(minutes=16), _T0 + timedelta(seconds=30)
        ),
        _flow_key(acct, region, _T0 + timedelta(minutes=20)): _flow_object(
            "eni-mid", _T0 + timedelta(minutes=10), _T0 + timedelta(minutes=19)
        ),
        _flow_key("999988887777", region, _T0 + timedelta(minutes=20)): _flow_object(
            "eni-other-account", _T0 + timedelta(minutes=10), _T0 + timedelta(minutes=19)
        ),
        _flow_key(acct, other_region, _T0 + timedelta(minutes=20)): _flow_object(
            "eni-other-region", _T0 + timedelta(minutes=10), _T0 + timedelta(minutes=19)
        ),
    }
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    yield bucket, list(objects)
    for key in objects:
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)


async def _listed_prefixes(aws: Aws, run: Any) -> tuple[list[str], Any]:
    """Run ``run()`` and return the Prefix of every ListObjectsV2 request hamari built."""
    requests, result = await _requests(aws, "s3", "ListObjectsV2", run)
    return [r.get("Prefix", "") for r in requests], result


async def test_s3_lists_only_the_configured_account_and_region(
    aws: Aws, live: DemoWorld, central: tuple[str, list[str]]
) -> None:
    bucket, _ = central
    config = FlowLogConfig(
        "fl-0c1", "vpc-x", "s3", None, f"arn:aws:s3:::{bucket}", file_format="plain-text"
    )
    window = TimeWindow(_T0, _T0 + timedelta(hours=1), live=False)
    (plan,) = plan_sources(
        None, [config]
    )  # the flow log DescribeFlowLogs names, as the app reads it
    prefixes, (records, _) = await _listed_prefixes(
        aws, lambda: _drain(open_plan(aws, plan, window))
    )
    assert {r.interface_id for r in records} == {"eni-early", "eni-mid"}
    mine = f"AWSLogs/{live.account_id}/vpcflowlogs/{live.region}/"
    assert prefixes and all(p.startswith(mine) for p in prefixes), prefixes
    # without the configuration the whole tree is walked (what a central bucket cost before)
    walked, (everything, _) = await _listed_prefixes(
        aws, lambda: _drain(stream_s3(aws, bucket, "", window))
    )
    assert "AWSLogs/" in walked
    assert {r.interface_id for r in everything} >= {"eni-other-account", "eni-other-region"}


async def test_s3_keeps_objects_stamped_before_the_window_whose_records_reach_into_it(
    aws: Aws, live: DemoWorld, central: tuple[str, list[str]]
) -> None:
    """Records can be 10 minutes older than their object's stamp; it was read only from -1 min."""
    bucket, _ = central
    window = TimeWindow(_T0, _T0 + timedelta(minutes=5), live=False)
    records, _ = await _drain(stream_s3(aws, bucket, f"AWSLogs/{live.account_id}/", window))
    assert [r.interface_id for r in records] == ["eni-early"]


async def test_s3_hour_folder_after_the_window_end_is_listed(aws: Aws, live: DemoWorld) -> None:
    """Hourly partitions: the last minutes of a window are delivered in the next hour's folder."""
    s3 = clients(live.url)["s3"]
    bucket = "hourly-flow-logs-edges"
    s3.create_bucket(Bucket=bucket)
    stamp = _T0 + timedelta(hours=1, minutes=4)  # 11:04, folder 11
    key = _flow_key(live.account_id, live.region, stamp, hourly=True)
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=_flow_object("eni-late", _T0 + timedelta(minutes=55), _T0 + timedelta(minutes=58)),
    )
    try:
        window = TimeWindow(_T0, _T0 + timedelta(minutes=59), live=False)
        records, _ = await _drain(stream_s3(aws, bucket, "", window))
    finally:
        s3.delete_object(Bucket=bucket, Key=key)
        s3.delete_bucket(Bucket=bucket)
    assert [r.interface_id for r in records] == ["eni-late"]
