"""Table-driven tests for the pure CloudWatch/EBS model (incident 2: "it was faster on-prem")."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tui.models.metrics import (
    MIB_IN_MB,
    MetricSpec,
    Series,
    align_window,
    build_queries,
    choose_period,
    data_note,
    evaluate,
    instance_ebs_limits,
    instance_presets,
    is_valid_query_id,
    query_period,
    series_from_results,
    split_queries,
    volume_limits,
    volume_presets,
    with_totals,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
T0 = datetime(2024, 6, 1, 11, 0, tzinfo=UTC)

# DescribeInstanceTypes items as moto 5.2.5 returns them (only the fields the model reads).
M5_LARGE: dict[str, Any] = {
    "InstanceType": "m5.large",
    "EbsInfo": {
        "EbsOptimizedSupport": "default",
        "EbsOptimizedInfo": {
            "BaselineBandwidthInMbps": 650,
            "BaselineIops": 3600,
            "BaselineThroughputInMBps": 81.25,
            "MaximumBandwidthInMbps": 4750,
            "MaximumIops": 18750,
            "MaximumThroughputInMBps": 593.75,
        },
    },
}
T3_MEDIUM: dict[str, Any] = {
    "InstanceType": "t3.medium",
    "EbsInfo": {
        "EbsOptimizedInfo": {
            "BaselineBandwidthInMbps": 347,
            "BaselineIops": 2000,
            "BaselineThroughputInMBps": 43.375,
            "MaximumBandwidthInMbps": 2085,
            "MaximumIops": 11800,
            "MaximumThroughputInMBps": 260.625,
        }
    },
}
M5_4XLARGE: dict[str, Any] = {
    "InstanceType": "m5.4xlarge",
    "EbsInfo": {
        "EbsOptimizedInfo": {
            "BaselineIops": 18750,
            "BaselineThroughputInMBps": 593.75,
            "MaximumIops": 18750,
            "MaximumThroughputInMBps": 593.75,
        }
    },
}
T2_MICRO: dict[str, Any] = {
    "InstanceType": "t2.micro",
    "EbsInfo": {"EbsOptimizedSupport": "unsupported", "MaximumEbsAttachments": 40},
}

GP3 = {"VolumeId": "vol-0abc", "VolumeType": "gp3", "Size": 100, "Attachments": []}
GP2 = {
    "VolumeId": "vol-0def",
    "VolumeType": "gp2",
    "Size": 100,
    "Attachments": [{"InstanceId": "i-1", "State": "attached"}],
}


def spec_of(presets: list[MetricSpec], name: str) -> MetricSpec:
    return next(s for s in presets if s.metric_name == name)


def fetch(pairs: list[tuple[MetricSpec, list[Any]]], period: int = 60) -> list[Series]:
    """Run specs through build_queries and a fake, newest-first GetMetricData response."""
    queries = build_queries([s for s, _ in pairs], period=period)
    results = []
    for q, (_, values) in zip(queries, pairs, strict=True):
        stamps = [T0 + timedelta(seconds=period * i) for i in range(len(values))]
        results.append(
            {
                "Id": q["Id"],
                "Label": q["Label"],
                "Timestamps": stamps[::-1],
                "Values": values[::-1],
                "StatusCode": "Complete",
            }
        )
    return series_from_results({"MetricDataResults": results, "Messages": []}, queries, period)


# ---------------------------------------------------------------- periods and windows


@pytest.mark.parametrize(
    ("start", "end", "kwargs", "expected"),
    [
        (NOW - timedelta(hours=1), NOW, {}, 60),
        (NOW - timedelta(days=1), NOW, {}, 60),  # exactly 1,440 points
        (NOW - timedelta(days=1, minutes=1), NOW, {}, 300),  # 1,441 points at 60 s
        (NOW - timedelta(days=14), NOW, {}, 900),  # 4,032 at 300 s > cap
        (NOW - timedelta(days=14, hours=23), NOW - timedelta(days=14), {}, 60),
        (NOW - timedelta(days=15), NOW - timedelta(days=14, hours=23), {}, 300),  # 1-min data gone
        (NOW - timedelta(days=62), NOW - timedelta(days=61), {}, 300),
        (NOW - timedelta(days=63), NOW - timedelta(days=62, hours=23), {}, 3600),
        (NOW - timedelta(days=100), NOW, {}, 21600),  # 2,400 at 3,600 s
        (NOW - timedelta(days=3650), NOW, {}, 3 * 86400),  # beyond one day per point
        (NOW - timedelta(minutes=10), NOW, {"high_resolution": True}, 1),
        (NOW - timedelta(hours=1), NOW, {"high_resolution": True}, 5),
        (
            NOW - timedelta(hours=4),
            NOW - timedelta(hours=3, minutes=50),
            {"high_resolution": True},
            60,
        ),
        (NOW - timedelta(hours=1), NOW, {"max_points": 10}, 900),
        (NOW - timedelta(hours=1), NOW - timedelta(hours=2), {}, 60),  # inverted: no crash
    ],
)
def test_choose_period(
    start: datetime, end: datetime, kwargs: dict[str, Any], expected: int
) -> None:
    period = choose_period(start, end, NOW, **kwargs)
    assert period == expected
    span = max((end - start).total_seconds(), 0)
    assert math.ceil(span / period) <= kwargs.get("max_points", 1440)


def test_choose_period_naive_datetimes_are_utc() -> None:
    naive_now = NOW.replace(tzinfo=None)
    assert choose_period(naive_now - timedelta(days=20), naive_now - timedelta(days=19), NOW) == 300


@pytest.mark.parametrize(
    ("start", "end", "period", "want_start", "want_end"),
    [
        ("10:02:30", "10:07:00", 300, "10:00:00", "10:10:00"),
        ("10:00:00", "10:05:00", 300, "10:00:00", "10:05:00"),
        ("10:00:59", "10:01:01", 60, "10:00:00", "10:02:00"),
        ("10:03:00", "10:03:00", 60, "10:03:00", "10:04:00"),  # never empty
        ("10:59:59", "11:00:00", 3600, "10:00:00", "11:00:00"),
    ],
)
def test_align_window(start: str, end: str, period: int, want_start: str, want_end: str) -> None:
    def at(hms: str) -> datetime:
        return datetime.fromisoformat(f"2024-06-01T{hms}+00:00")

    assert align_window(at(start), at(end), period) == (at(want_start), at(want_end))


def test_align_window_naive_is_utc_and_rejects_bad_period() -> None:
    s, _ = align_window(datetime(2024, 6, 1, 10, 2), datetime(2024, 6, 1, 10, 3), 60)
    assert s == datetime(2024, 6, 1, 10, 2, tzinfo=UTC)
    with pytest.raises(ValueError):
        align_window(NOW, NOW, 0)


# ---------------------------------------------------------------- queries


def test_build_queries_ids_valid_unique_and_split_at_500() -> None:
    specs = [
        MetricSpec("AWS/EBS", "VolumeReadOps", (("VolumeId", f"vol-{i}"),), "Sum", "iops", f"v{i}")
        for i in range(1001)
    ]
    queries = build_queries(specs, period=300)
    ids = [q["Id"] for q in queries]
    assert ids[:3] == ["m0", "m1", "m2"] and ids[-1] == "m1000"
    assert len(set(ids)) == 1001
    assert all(is_valid_query_id(i) for i in ids)
    assert all(q["ReturnData"] is True and "Expression" not in q for q in queries)
    assert queries[7]["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "VolumeId", "Value": "vol-7"}
    ]
    assert queries[0]["MetricStat"]["Period"] == 300
    batches = split_queries(queries)
    assert [len(b) for b in batches] == [500, 500, 1]
    assert [q["Id"] for b in batches for q in b] == ids
    assert split_queries([]) == []
    assert [len(b) for b in split_queries(queries[:500])] == [500]
    with pytest.raises(ValueError):
        split_queries(queries, 0)


@pytest.mark.parametrize(
    ("qid", "ok"),
    [("m0", True), ("m_1x", True), ("M0", False), ("0m", False), ("m-1", False), ("", False)],
)
def test_query_id_validity(qid: str, ok: bool) -> None:
    assert is_valid_query_id(qid) is ok


def test_ops_and_bytes_presets_are_requested_as_sum() -> None:
    specs = instance_presets("i-1", M5_LARGE) + volume_presets(GP2)
    queries = build_queries(specs)
    for spec, q in zip(specs, queries, strict=True):
        if spec.metric_name.endswith(("Ops", "Bytes")):
            assert q["MetricStat"]["Stat"] == "Sum", spec.metric_name


def test_rate_spec_requires_sum_and_totals_are_not_queryable() -> None:
    with pytest.raises(ValueError):
        MetricSpec("AWS/EBS", "VolumeReadOps", (), "Average", "iops", "x")
    read, write = fetch(
        [
            (spec_of(volume_presets(GP3), "VolumeReadOps"), [60]),
            (spec_of(volume_presets(GP3), "VolumeWriteOps"), [60]),
        ]
    )
    total = with_totals([read, write])[-1]
    with pytest.raises(ValueError):
        build_queries([total.spec])


# ---------------------------------------------------------------- presets


@pytest.mark.parametrize(
    ("info", "has_balances"),
    [(M5_LARGE, True), (T3_MEDIUM, True), (M5_4XLARGE, False), (T2_MICRO, False), (None, False)],
)
def test_instance_presets_balances_only_for_burstable_types(
    info: dict[str, Any] | None, has_balances: bool
) -> None:
    names = [s.metric_name for s in instance_presets("i-9", info)]
    assert ("EBSIOBalance%" in names) is has_balances
    assert ("EBSByteBalance%" in names) is has_balances
    for always in ("CPUUtilization", "EBSReadOps", "EBSWriteBytes", "StatusCheckFailed"):
        assert always in names
    assert all(s.dimensions == (("InstanceId", "i-9"),) for s in instance_presets("i-9", info))


@pytest.mark.parametrize(
    ("vtype", "present", "absent"),
    [
        ("gp2", {"BurstBalance", "VolumeIOPSExceededCheck"}, {"VolumeThroughputPercentage"}),
        ("gp3", {"VolumeThroughputExceededCheck"}, {"BurstBalance", "VolumeThroughputPercentage"}),
        ("io2", {"VolumeThroughputPercentage"}, {"BurstBalance"}),
        ("st1", {"BurstBalance"}, {"VolumeThroughputPercentage"}),
        ("standard", {"VolumeQueueLength"}, {"VolumeIOPSExceededCheck", "BurstBalance"}),
    ],
)
def test_volume_presets(vtype: str, present: set[str], absent: set[str]) -> None:
    names = {s.metric_name for s in volume_presets({"VolumeId": "vol-1", "VolumeType": vtype})}
    assert present <= names
    assert not (absent & names)


@pytest.mark.parametrize(
    ("item", "stat", "want"),
    [
        (
            {
                "Namespace": "AWS/EC2",
                "MetricName": "EBSReadOps",
                "Dimensions": [{"Name": "InstanceId", "Value": "i-1"}],
            },
            None,
            ("Sum", "iops", "instance_iops", "i-1"),
        ),
        (
            {"Namespace": "Custom/App", "MetricName": "Latency", "Dimensions": []},
            None,
            ("Average", "raw", None, ""),
        ),
        (
            {
                "Namespace": "AWS/EBS",
                "MetricName": "VolumeReadOps",
                "Dimensions": [{"Name": "VolumeId", "Value": "vol-2"}],
            },
            "Average",
            ("Average", "raw", None, "vol-2"),
        ),
        ({"MetricName": "X"}, "p99", ("p99", "raw", None, "")),
    ],
)
def test_spec_from_list_metrics(
    item: dict[str, Any], stat: str | None, want: tuple[Any, ...]
) -> None:
    spec = MetricSpec.from_list_metrics(item, stat=stat)
    assert (spec.stat, spec.unit_kind, spec.limit, spec.resource_id) == want


# ---------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("namespace", "name", "raw", "period", "want", "unit"),
    [
        ("AWS/EBS", "VolumeReadOps", 18000, 60, 300.0, "IOPS"),
        ("AWS/EBS", "VolumeReadOps", 90000, 300, 300.0, "IOPS"),
        ("AWS/EC2", "EBSReadBytes", 81.25e6 * 300, 300, 81.25, "MB/s"),
        ("AWS/EC2", "EBSReadBytes", 1_048_576 * 60, 60, MIB_IN_MB, "MB/s"),  # 1 MiB/s != 1 MB/s
        ("AWS/EC2", "NetworkIn", 6000, 60, 100.0, "B/s"),
        ("AWS/EC2", "CPUUtilization", 42.5, 300, 42.5, "%"),
        ("AWS/EBS", "VolumeQueueLength", 4.0, 60, 4.0, "count"),
    ],
)
def test_unit_conversion(
    namespace: str, name: str, raw: float, period: int, want: float, unit: str
) -> None:
    spec = MetricSpec.from_list_metrics(
        {"Namespace": namespace, "MetricName": name, "Dimensions": [{"Name": "X", "Value": "y"}]}
    )
    (series,) = fetch([(spec, [raw])], period=period)
    assert series.values == (pytest.approx(want),)
    assert series.unit == unit


def test_read_write_total_aligned_by_timestamp() -> None:
    vp = volume_presets(GP3)
    read, write = fetch(
        [
            (spec_of(vp, "VolumeReadOps"), [60, 120, 60, None]),
            (spec_of(vp, "VolumeWriteOps"), [60, None, 120, 60]),
        ]
    )
    out = with_totals([read, write])
    assert len(out) == 3
    total = out[2]
    assert total.spec.parts == ("VolumeReadOps", "VolumeWriteOps")
    assert total.values == (2.0, None, 3.0, None)
    assert total.timestamps == read.timestamps
    assert total.unit == "IOPS"
    # Different resources are never summed together.
    other = fetch([(spec_of(volume_presets({**GP3, "VolumeId": "vol-z"}), "VolumeWriteOps"), [60])])
    assert len(with_totals([read, *other])) == 2


# ---------------------------------------------------------------- parsing results

CPU = MetricSpec("AWS/EC2", "CPUUtilization", (("InstanceId", "i-1"),), "Average", "percent", "cpu")


def _q() -> list[dict[str, Any]]:
    return build_queries([CPU], period=60)


def test_series_sorted_deduplicated_and_gap_filled() -> None:
    t = [T0 + timedelta(minutes=i) for i in range(4)]
    result = {
        "Id": "m0",
        "Timestamps": [t[3], t[1], t[3], t[0]],
        "Values": [3.0, 1.0, 99.0, 0.0],
        "StatusCode": "Complete",
    }
    (s,) = series_from_results([result], _q(), 60)
    assert s.timestamps == tuple(t)
    assert s.values == (0.0, 1.0, None, 3.0)
    assert s.latest == 3.0 and s.latest_timestamp == t[3]
    (raw,) = series_from_results([result], _q(), 60, fill_gaps=False)
    assert raw.values == (0.0, 1.0, 3.0)


def test_series_tolerates_nan_inf_strings_and_short_values() -> None:
    result = {
        "Id": "m0",
        "Timestamps": [
            "2024-06-01T11:00:00Z",
            "2024-06-01T11:01:00+00:00",
            1717239720,
            "garbage",
            "2024-06-01T11:03:00Z",
        ],
        "Values": [float("nan"), float("inf"), "7", None],
        "StatusCode": "Complete",
    }
    (s,) = series_from_results({"MetricDataResults": [result]}, _q(), 60)
    assert len(s.timestamps) == 4  # the unparseable timestamp is dropped
    assert s.values == (None, None, None, None)
    assert s.latest is None and s.latest_timestamp is None


def test_series_pages_merge_status_and_messages() -> None:
    page1 = {
        "MetricDataResults": [
            {"Id": "m0", "Timestamps": [T0], "Values": [1.0], "StatusCode": "PartialData"}
        ],
        "NextToken": "x",
    }
    page2 = {
        "MetricDataResults": [
            {
                "Id": "m0",
                "Timestamps": [T0 + timedelta(minutes=1)],
                "Values": [2.0],
                "StatusCode": "Complete",
                "Messages": [{"Code": "ArithmeticError", "Value": "odd"}],
            }
        ]
    }
    (s,) = series_from_results([page1, page2], _q(), 60)
    assert s.values == (1.0, 2.0)
    assert s.status == "Complete" and s.ok
    assert s.messages == (("ArithmeticError", "odd"),)


def test_series_error_missing_and_unknown_ids() -> None:
    queries = build_queries([CPU, CPU], period=60)
    results = [
        {
            "Id": "m0",
            "Timestamps": [],
            "Values": [],
            "StatusCode": "Forbidden",
            "Messages": [{"Code": "AccessDenied", "Value": "not allowed"}],
        },
        {"Id": "zz", "Label": "stray", "Timestamps": [T0], "Values": [5], "StatusCode": "Complete"},
    ]
    s0, s1, stray = series_from_results(results, queries, 60)
    assert (s0.status, s0.message, s0.ok) == ("Forbidden", "not allowed", False)
    assert s1.status == "Missing" and s1.values == ()
    assert stray.spec.label == "stray" and stray.values == (5.0,)
    stale = s0.mark_stale("Throttling", "slow down")
    assert stale.stale and stale.status == "Throttling" and not s0.stale


# ---------------------------------------------------------------- limits


@pytest.mark.parametrize(
    ("size", "base_iops", "burst_iops", "base_mib", "burst_mib"),
    [
        (100, 300, 3000, 128, None),
        (10, 100, 3000, 128, None),  # floor of 100 IOPS
        (200, 600, 3000, 128, 250),
        (500, 1500, 3000, 250, None),
        (1000, 3000, None, 250, None),
        (2000, 6000, None, 250, None),
        (6000, 16000, None, 250, None),  # capped
    ],
)
def test_gp2_limits(
    size: int, base_iops: float, burst_iops: float | None, base_mib: float, burst_mib: float | None
) -> None:
    lim = volume_limits({"VolumeId": "v", "VolumeType": "gp2", "Size": size})
    assert (lim.baseline_iops, lim.burst_iops) == (base_iops, burst_iops)
    assert (lim.baseline_mibps, lim.burst_mibps) == (base_mib, burst_mib)


@pytest.mark.parametrize(
    ("volume", "iops", "mib", "burst_mib"),
    [
        ({"VolumeType": "gp3", "Size": 100}, 3000, 125, None),
        ({"VolumeType": "gp3", "Size": 100, "Iops": 6000, "Throughput": 500}, 6000, 500, None),
        ({"VolumeType": "io1", "Size": 100, "Iops": 1000}, 1000, 256, None),
        ({"VolumeType": "io1", "Size": 1000, "Iops": 64000}, 64000, 1000, None),
        # above 32,000 IOPS, 16 KiB per IOPS (EBS user guide): 48,000 IOPS -> 750 MiB/s
        ({"VolumeType": "io1", "Size": 1000, "Iops": 48000}, 48000, 750, None),
        ({"VolumeType": "io1", "Size": 1000, "Iops": 40000}, 40000, 625, None),
        ({"VolumeType": "io2", "Size": 100, "Iops": 1000}, 1000, 256, None),
        ({"VolumeType": "io2", "Size": 4000, "Iops": 16000}, 16000, 4000, None),  # 4,096 capped
        ({"VolumeType": "st1", "Size": 2048}, 500, 80, 500),
        ({"VolumeType": "st1", "Size": 12800}, 500, 500, None),  # baseline hits the cap
        ({"VolumeType": "sc1", "Size": 1024}, 250, 12, 80),
    ],
)
def test_volume_limits_by_type(
    volume: dict[str, Any], iops: float, mib: float, burst_mib: float | None
) -> None:
    lim = volume_limits({"VolumeId": "vol-1", **volume})
    assert lim.baseline_iops == iops
    assert lim.baseline_mibps == pytest.approx(mib)
    assert lim.burst_mibps == (pytest.approx(burst_mib) if burst_mib is not None else None)
    assert lim.baseline_mbps == pytest.approx(mib * 1.048576)


def test_volume_limits_magnetic_unknown_and_detached() -> None:
    std = volume_limits({"VolumeId": "vol-m", "VolumeType": "standard", "Size": 50})
    assert std.approximate and (std.baseline_iops, std.burst_iops) == (40, 200)
    odd = volume_limits({"VolumeId": "vol-x"})
    assert odd.baseline_iops is None and odd.baseline_mibps is None and odd.size_gib == 0
    assert volume_limits(GP3).attached_to == ()
    assert volume_limits(GP2).attached_to == ("i-1",)


@pytest.mark.parametrize(
    ("info", "want"),
    [
        (M5_LARGE, (3600, 18750, 81.25, 593.75, True)),
        (T3_MEDIUM, (2000, 11800, 43.375, 260.625, True)),
        (M5_4XLARGE, (18750, 18750, 593.75, 593.75, False)),
        (
            {
                "InstanceType": "x",
                "EbsInfo": {
                    "EbsOptimizedInfo": {"BaselineIops": 10, "BaselineBandwidthInMbps": 650}
                },
            },
            (10, 10, 81.25, 81.25, False),  # MB/s derived as Mbps / 8
        ),
        (T2_MICRO, None),
        (None, None),
        (
            {"InstanceType": "y", "EbsInfo": {"EbsOptimizedInfo": {"BaselineIops": float("nan")}}},
            None,
        ),
    ],
)
def test_instance_ebs_limits(info: dict[str, Any] | None, want: tuple[Any, ...] | None) -> None:
    lim = instance_ebs_limits(info)
    if want is None:
        assert lim is None
    else:
        assert lim is not None
        got = (
            lim.baseline_iops,
            lim.maximum_iops,
            lim.baseline_mbps,
            lim.maximum_mbps,
            lim.burstable,
        )
        assert got == want


# ---------------------------------------------------------------- verdicts

VP3 = volume_presets(GP3)
VP2 = volume_presets(GP2)
IP = instance_presets("i-1", M5_LARGE)


def test_verdict_iops_at_gp3_baseline() -> None:
    series = fetch(
        [
            (spec_of(VP3, "VolumeReadOps"), [2000 * 60] * 5),
            (spec_of(VP3, "VolumeWriteOps"), [1000 * 60] * 5),
            (spec_of(IP, "EBSReadOps"), [3000 * 60] * 5),  # 16% of 18,750: not binding
        ]
    )
    a = evaluate(M5_LARGE, [GP3], series)
    assert a.verdict == "volume vol-0abc at its 3,000 IOPS gp3 baseline"
    assert a.binding is not None
    assert (a.binding.kind, a.binding.resource_id, a.binding.value, a.binding.limit) == (
        "volume_iops",
        "vol-0abc",
        3000.0,
        3000.0,
    )
    assert len(a.binding.evidence) == 5
    total = next(r for r in a.rows if r.series.spec.parts)
    assert total.percent == pytest.approx(100.0) and total.saturated


def test_verdict_instance_mbps_baseline_with_byte_balance_exhausted() -> None:
    series = fetch(
        [
            (spec_of(IP, "EBSReadBytes"), [60e6 * 60] * 5),
            (spec_of(IP, "EBSWriteBytes"), [21.25e6 * 60] * 5),
            (spec_of(IP, "EBSByteBalance%"), [12, 4, 0, 0, 0]),
            (spec_of(VP3, "VolumeReadBytes"), [60e6 * 60] * 5),  # 46% of 131 MB/s
            (spec_of(VP3, "VolumeWriteBytes"), [21.25e6 * 60] * 5),
        ]
    )
    a = evaluate(M5_LARGE, [GP3], series)
    assert a.verdict == (
        "instance m5.large at its 81 MB/s EBS baseline "
        "(burst to 594 MB/s exhausted: EBSByteBalance% 0)"
    )
    assert a.binding is not None and a.binding.limit == pytest.approx(81.25)
    # The exhausted balance is part of the binding finding, not a second one.
    assert [f.kind for f in a.findings] == ["instance_mbps"]


def test_verdict_gp2_burst_exhausted() -> None:
    series = fetch(
        [
            (spec_of(VP2, "VolumeReadOps"), [3000 * 60, 3000 * 60, 300 * 60, 300 * 60, 300 * 60]),
            (spec_of(VP2, "VolumeWriteOps"), [0] * 5),
            (spec_of(VP2, "BurstBalance"), [2.0, 1.5, 0.0, 0.0, 0.0]),
        ]
    )
    a = evaluate(None, [GP2], series)
    assert (
        a.verdict == "gp2 burst balance exhausted on vol-0def (BurstBalance 0%, baseline 300 IOPS)"
    )


def test_verdict_gp2_balance_exhausted_without_ops_series() -> None:
    a = evaluate(None, [GP2], fetch([(spec_of(VP2, "BurstBalance"), [0.0])]))
    assert a.binding is not None and a.binding.kind == "burst_balance"
    assert a.verdict.startswith("gp2 burst balance exhausted on vol-0def (BurstBalance 0%")


def test_verdict_gp2_bursting_is_judged_against_burst_not_baseline() -> None:
    series = fetch(
        [
            (spec_of(VP2, "VolumeReadOps"), [2900 * 60] * 5),
            (spec_of(VP2, "VolumeWriteOps"), [100 * 60] * 5),
            (spec_of(VP2, "BurstBalance"), [60.0, 55.0, 50.0, 45.0, 40.0]),
        ]
    )
    a = evaluate(None, [GP2], series)
    assert a.verdict == "volume vol-0def at its 3,000 IOPS gp2 burst (BurstBalance 40%)"
    # 500 IOPS on the same volume with credits left is 17% of the burst, not 167% of baseline.
    calm = fetch(
        [
            (spec_of(VP2, "VolumeReadOps"), [500 * 60] * 5),
            (spec_of(VP2, "VolumeWriteOps"), [0] * 5),
            (spec_of(VP2, "BurstBalance"), [90.0] * 5),
        ]
    )
    assert evaluate(None, [GP2], calm).binding is None


def test_verdict_nothing_saturated_claims_no_limit() -> None:
    series = fetch(
        [
            (spec_of(VP3, "VolumeReadOps"), [500 * 60, 1050 * 60, 700 * 60]),
            (spec_of(VP3, "VolumeWriteOps"), [0, 0, 0]),
            (spec_of(IP, "EBSReadOps"), [500 * 60, 1050 * 60, 700 * 60]),
            (spec_of(IP, "EBSIOBalance%"), [100.0, 100.0, 100.0]),
        ]
    )
    a = evaluate(M5_LARGE, [GP3], series)
    assert a.binding is None and a.findings == ()
    assert a.verdict == "no EBS limit reached (peak 35% of vol-0abc IOPS)"
    assert " at its " not in a.verdict


@pytest.mark.parametrize(
    ("values", "saturated"),
    [
        ([2800 * 60, 2800 * 60, 100, 100, 100], False),  # 2 of the last 5
        ([100, 2800 * 60, 100, 2800 * 60, 2800 * 60], True),  # 3 of the last 5
        ([2800 * 60] * 3 + [100] * 5, False),  # old saturation has passed
        ([2700 * 60], True),  # a single point at 90%
        ([2600 * 60], False),
    ],
)
def test_saturation_rule(values: list[float], saturated: bool) -> None:
    (s,) = fetch([(spec_of(VP3, "VolumeReadOps"), values)])
    a = evaluate(None, [GP3], [s])
    assert a.rows[0].saturated is saturated
    assert (a.binding is not None) is saturated


def test_tighter_limit_wins_when_instance_caps_the_volume() -> None:
    # t3.medium after its IO burst: 2,000 IOPS baseline; the gp3 volume could do 3,000.
    ip = instance_presets("i-1", T3_MEDIUM)
    series = fetch(
        [
            (spec_of(ip, "EBSReadOps"), [2000 * 60] * 5),
            (spec_of(ip, "EBSWriteOps"), [0] * 5),
            (spec_of(ip, "EBSIOBalance%"), [0.0] * 5),
            (spec_of(VP3, "VolumeReadOps"), [2000 * 60] * 5),
            (spec_of(VP3, "VolumeWriteOps"), [0] * 5),
        ]
    )
    a = evaluate(T3_MEDIUM, [GP3], series)
    assert a.verdict.startswith("instance t3.medium at its 2,000 IOPS EBS baseline")
    assert "EBSIOBalance% 0" in a.verdict


def test_tighter_limit_wins_when_both_saturated() -> None:
    # Both saturated: the gp3 volume at 100% of 3,000 IOPS, the m5.large at 92% of its 3,600
    # IOPS baseline. The volume is used at the higher fraction, so it is the one named.
    series = fetch(
        [
            (spec_of(IP, "EBSReadOps"), [3300 * 60] * 5),  # listed first on purpose
            (spec_of(IP, "EBSIOBalance%"), [0.0] * 5),
            (spec_of(VP3, "VolumeReadOps"), [3000 * 60] * 5),
        ]
    )
    a = evaluate(M5_LARGE, [GP3], series)
    assert [f.kind for f in a.findings] == ["volume_iops", "instance_iops"]
    assert a.verdict == "volume vol-0abc at its 3,000 IOPS gp3 baseline"


@pytest.mark.parametrize(
    ("info", "fragment"),
    [
        (None, "instance type unknown"),
        (T2_MICRO, "instance type t2.micro has no EBS-optimized limits"),
    ],
)
def test_verdict_missing_type_info_says_so(info: dict[str, Any] | None, fragment: str) -> None:
    ip = instance_presets("i-1", info)
    series = fetch([(spec_of(ip, "EBSReadOps"), [50000 * 60] * 5)])
    a = evaluate(info, [], series)
    assert fragment in a.verdict
    assert a.binding is None and a.instance_limits is None
    assert a.rows[0].limit is None and a.rows[0].percent is None


@pytest.mark.parametrize(
    "series",
    [
        [],
        [Series(spec_of(VP3, "VolumeReadOps"))],
        [Series.failed(spec_of(VP3, "VolumeReadOps"), "AccessDenied", "no")],
    ],
)
def test_evaluate_empty_inputs(series: list[Series]) -> None:
    a = evaluate(None, [GP3, {"VolumeType": "gp2"}], series)
    assert a.verdict == "no EBS limit reached (no data yet)"
    assert a.binding is None


def test_series_of_unknown_volume_has_no_limit() -> None:
    spec = spec_of(volume_presets({"VolumeId": "vol-gone", "VolumeType": "gp3"}), "VolumeReadOps")
    a = evaluate(None, [GP3], fetch([(spec, [1e9])]))
    assert a.rows[0].limit is None and a.binding is None


# ---------------------------------------------------------------- properties

values_st = st.lists(
    st.one_of(
        st.none(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.text(max_size=3),
    ),
    max_size=30,
)
stamps_st = st.lists(
    st.one_of(
        st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ),
        st.text(max_size=25),
        st.integers(min_value=-(10**15), max_value=10**15),
        st.none(),
    ),
    max_size=30,
)


_Y2K = datetime(2000, 1, 1, tzinfo=UTC)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stamps=st.lists(stamps_st, min_size=1, max_size=4),
    values=st.lists(values_st, min_size=1, max_size=4),
    period=st.sampled_from([1, 60, 300, 3600]),
    statuses=st.lists(
        st.sampled_from(["Complete", "PartialData", "InternalError", "", None]), min_size=1
    ),
)
# Found by hypothesis: huge values overflowed to infinity when summed or made a percentage.
@example(
    stamps=[[None, _Y2K]], values=[[None, 8.98846567431158e307]], period=1, statuses=["Complete"]
)
@example(
    stamps=[[None, _Y2K]], values=[[None, 8.98846567431158e305]], period=1, statuses=["Complete"]
)
def test_parse_and_evaluate_never_crash(
    stamps: list[list[Any]], values: list[list[Any]], period: int, statuses: list[Any]
) -> None:
    specs = [
        *volume_presets(GP2)[:2],
        spec_of(VP2, "BurstBalance"),
        *instance_presets("i-1", M5_LARGE)[3:9],
    ]
    queries = build_queries(specs, period=period)
    results = [
        {
            "Id": q["Id"],
            "Timestamps": stamps[i % len(stamps)],
            "Values": values[i % len(values)],
            "StatusCode": statuses[i % len(statuses)],
        }
        for i, q in enumerate(queries)
    ]
    series = series_from_results({"MetricDataResults": results}, queries, period)
    assert len(series) == len(queries)
    for s in series:
        assert len(s.timestamps) == len(s.values)
        assert list(s.timestamps) == sorted(set(s.timestamps))
        assert all(v is None or math.isfinite(v) for v in s.values)
    a = evaluate(M5_LARGE, [GP2, {"VolumeId": "vol-x"}], series)
    assert isinstance(a.verdict, str) and a.verdict
    for row in a.rows:
        assert row.percent is None or math.isfinite(row.percent)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.floats(min_value=0, max_value=2699 * 60, allow_nan=False)),
        min_size=1,
        max_size=20,
    )
)
def test_below_ninety_percent_never_claims_a_limit(values: list[float | None]) -> None:
    (s,) = fetch([(spec_of(VP3, "VolumeReadOps"), values)])
    a = evaluate(M5_LARGE, [GP3], [s])
    assert a.binding is None
    assert a.verdict.startswith("no EBS limit reached")


# ---------------------------------------------------------------- the period the data has


def five_minute_answer(spec: MetricSpec, sums: list[float], asked: int) -> list[Series]:
    """GetMetricData's answer for 5-minute data asked at ``asked``: one point per 5 minutes."""
    queries = build_queries([spec], period=asked)
    stamps = [T0 + timedelta(minutes=5 * i) for i in range(len(sums))]
    result = {"Id": "m0", "Timestamps": stamps, "Values": sums, "StatusCode": "Complete"}
    return series_from_results({"MetricDataResults": [result]}, queries, asked)


def test_basic_monitoring_instances_are_asked_at_five_minutes_volumes_at_the_window_period() -> (
    None
):
    specs = instance_presets("i-basic", M5_LARGE) + volume_presets(GP3)
    queries = build_queries(specs, period=60, basic_monitoring={"i-basic"})
    periods = {q["Label"]: q["MetricStat"]["Period"] for q in queries}
    assert periods["i-basic EBSReadOps"] == periods["i-basic EBSByteBalance%"] == 300
    assert periods["vol-0abc VolumeReadOps"] == 60
    # another instance's metrics, and coarser windows, are left as they are
    assert query_period(spec_of(instance_presets("i-x", None), "EBSReadOps"), 60, {"i-y"}) == 60
    assert query_period(spec_of(instance_presets("i-x", None), "EBSReadOps"), 3600, {"i-x"}) == 3600


def test_five_minute_sums_asked_at_60s_become_rates_over_300s() -> None:
    spec = spec_of(instance_presets("i-1", M5_LARGE), "EBSReadOps")
    (series,) = five_minute_answer(spec, [270_000.0] * 6, asked=60)
    assert series.period == 300
    assert series.latest == pytest.approx(900.0)  # not 4,500
    assert len(series.timestamps) == 6  # no 1-minute gaps invented between the 5-minute points
    # two points prove nothing: the period asked for stands
    (short,) = five_minute_answer(spec, [270_000.0] * 2, asked=60)
    assert short.period == 60


def test_one_minute_data_with_gaps_stays_one_minute() -> None:
    spec = spec_of(volume_presets(GP3), "VolumeReadOps")
    queries = build_queries([spec], period=60)
    stamps = [T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=6), T0 + timedelta(minutes=10)]
    result = {"Id": "m0", "Timestamps": stamps, "Values": [6000.0] * 4}
    (series,) = series_from_results({"MetricDataResults": [result]}, queries, 60)
    assert series.period == 60 and series.latest == pytest.approx(100.0)


def test_no_false_ebs_limit_on_a_type_whose_baseline_is_its_maximum() -> None:
    """m5.4xlarge, 5-minute data truly at 5,000 IOPS: read as 1-minute it would be 25,000."""
    specs = instance_presets("i-1", M5_4XLARGE)
    reads, writes = spec_of(specs, "EBSReadOps"), spec_of(specs, "EBSWriteOps")
    series = five_minute_answer(reads, [5000 * 0.7 * 300] * 6, 60)
    series += five_minute_answer(writes, [5000 * 0.3 * 300] * 6, 60)
    assessment = evaluate(M5_4XLARGE, [], series)
    assert assessment.binding is None and not assessment.findings
    total = next(r for r in assessment.rows if r.series.spec.parts)
    assert total.latest == pytest.approx(5000.0)
    assert total.percent == pytest.approx(100 * 5000 / 18750)


def test_data_note_says_what_resolution_is_shown() -> None:
    inst = spec_of(instance_presets("i-1", M5_LARGE), "EBSReadOps")
    vol = spec_of(volume_presets(GP3), "VolumeReadOps")
    five = five_minute_answer(inst, [1.0] * 4, 60)
    one = fetch([(vol, [1.0, 2.0, 3.0])])
    assert data_note(five, 60) == "5-min data"
    assert data_note(one, 60) == "1-min data"
    assert data_note(one + five, 60) == "1-min data · 5-min data for i-1 (basic monitoring)"
    assert data_note([], 3600) == "1-h data"


# ------------------------------------------------- Xen types: no instance EBS metrics at all

# DescribeInstanceTypes items of Xen types as moto 5.2.5 returns them: EBS-optimized limits, but
# AWS/EC2 EBSReadOps and friends are published for Nitro instances only.
M4_LARGE: dict[str, Any] = {
    "InstanceType": "m4.large",
    "Hypervisor": "xen",
    "EbsInfo": {
        "EbsOptimizedSupport": "default",
        "EbsOptimizedInfo": {
            "BaselineBandwidthInMbps": 450,
            "BaselineIops": 3600,
            "BaselineThroughputInMBps": 56.25,
            "MaximumBandwidthInMbps": 450,
            "MaximumIops": 3600,
            "MaximumThroughputInMBps": 56.25,
        },
    },
}
C4_XLARGE: dict[str, Any] = {
    "InstanceType": "c4.xlarge",
    "Hypervisor": "xen",
    "EbsInfo": {
        "EbsOptimizedInfo": {
            "BaselineIops": 6000,
            "BaselineThroughputInMBps": 93.75,
            "MaximumIops": 6000,
            "MaximumThroughputInMBps": 93.75,
        }
    },
}
XEN_A = {
    "VolumeId": "vol-0aaa",
    "VolumeType": "gp3",
    "Size": 500,
    "Iops": 4000,
    "Throughput": 250,
    "Attachments": [{"InstanceId": "i-xen", "State": "attached"}],
}
XEN_B = {**XEN_A, "VolumeId": "vol-0bbb"}


def _xen_series(
    info: dict[str, Any], per_volume: dict[str, tuple[float | None, float | None]]
) -> list[Series]:
    """What the pane asks for a Xen instance (its presets: no AWS/EC2 EBS series, which Xen does
    not publish) and each volume's (IOPS, MB/s) as 1-minute sums, 5 points; None: no datapoint
    (Xen volumes report only activity).
    """
    ip = instance_presets("i-xen", info)
    pairs: list[tuple[MetricSpec, list[Any]]] = [(spec_of(ip, "CPUUtilization"), [20.0] * 5)]
    for vol in (XEN_A, XEN_B):
        iops, mbps = per_volume.get(str(vol["VolumeId"]), (None, None))
        vp = volume_presets(vol)
        if iops is not None:
            pairs.append((spec_of(vp, "VolumeReadOps"), [iops * 0.7 * 60] * 5))
            pairs.append((spec_of(vp, "VolumeWriteOps"), [iops * 0.3 * 60] * 5))
        if mbps is not None:
            pairs.append((spec_of(vp, "VolumeReadBytes"), [mbps * 0.5e6 * 60] * 5))
            pairs.append((spec_of(vp, "VolumeWriteBytes"), [mbps * 0.5e6 * 60] * 5))
    return fetch(pairs)


@pytest.mark.parametrize(
    ("info", "per_volume", "binding", "verdict_has"),
    [
        # two gp3 volumes at half their 4,000 IOPS each: the m4.large's 3,600 IOPS binds
        (
            M4_LARGE,
            {"vol-0aaa": (1800, 10), "vol-0bbb": (1800, 10)},
            "instance_iops",
            "instance m4.large at its 3,600 IOPS EBS limit",
        ),
        # 48 MB/s each, far under each volume's 250 MiB/s: the c4.xlarge's 93.75 MB/s binds
        (
            C4_XLARGE,
            {"vol-0aaa": (500, 48), "vol-0bbb": (500, 48)},
            "instance_mbps",
            "instance c4.xlarge at its 94 MB/s EBS limit",
        ),
        # one busy volume, the other idle and so without datapoints (Xen reports activity only)
        (
            M4_LARGE,
            {"vol-0aaa": (3500, 10)},
            "instance_iops",
            "instance m4.large at its 3,600 IOPS EBS limit",
        ),
        # healthy: 1,800 of 3,600 IOPS, 20 of 56 MB/s: no finding
        (M4_LARGE, {"vol-0aaa": (900, 10), "vol-0bbb": (900, 10)}, None, "no EBS limit reached"),
    ],
)
def test_xen_instance_limits_are_judged_on_the_sum_of_its_volumes(
    info: dict[str, Any],
    per_volume: dict[str, tuple[float | None, float | None]],
    binding: str | None,
    verdict_has: str,
) -> None:
    a = evaluate(info, [XEN_A, XEN_B], _xen_series(info, per_volume))
    assert verdict_has in a.verdict, a.verdict
    assert (a.binding.kind if a.binding is not None else None) == binding
    if binding is not None:
        assert a.binding is not None and a.binding.resource_id == "i-xen"
        assert "sum of its volumes" in a.verdict
        assert a.binding.evidence  # the chart can show where it was at the limit
    summed = [r for r in a.rows if r.series.spec.resource_id == "i-xen" and r.series.points()]
    assert {r.limit.kind for r in summed if r.limit} == {"instance_iops", "instance_mbps"}


def test_instance_metrics_when_published_are_not_replaced_by_the_volumes_sum() -> None:
    """Nitro (m5.large): the instance's own series are judged; the volumes are not summed too."""
    ip = instance_presets("i-xen", M5_LARGE)
    series = fetch(
        [
            (spec_of(ip, "EBSReadOps"), [500 * 60] * 5),
            (spec_of(ip, "EBSWriteOps"), [0] * 5),
            (spec_of(volume_presets(XEN_A), "VolumeReadOps"), [500 * 60] * 5),
        ]
    )
    a = evaluate(M5_LARGE, [XEN_A, XEN_B], series)
    instance_rows = [r for r in a.rows if r.series.spec.resource_id == "i-xen"]
    assert {r.series.spec.namespace for r in instance_rows} == {"AWS/EC2"}


@pytest.mark.parametrize(
    ("info", "asks_ebs"),
    [(M4_LARGE, False), (C4_XLARGE, False), (M5_LARGE, True), (None, True), ({}, True)],
    ids=["m4.large", "c4.xlarge", "m5.large", "unknown", "no-hypervisor"],
)
def test_instance_ebs_series_are_not_asked_of_xen_types(
    info: dict[str, Any] | None, asks_ebs: bool
) -> None:
    """GetMetricData bills every metric asked for: the four Nitro-only EBS series are not asked
    of a Xen type (its limits are judged on its volumes' sum), and are asked when unsure."""
    names = {s.metric_name for s in instance_presets("i-1", info)}
    ebs = {"EBSReadOps", "EBSWriteOps", "EBSReadBytes", "EBSWriteBytes"}
    assert (ebs <= names) is asks_ebs and (not ebs & names) is (not asks_ebs)
    assert {"CPUUtilization", "StatusCheckFailed"} <= names
