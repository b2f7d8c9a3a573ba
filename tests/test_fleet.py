"""The fleet-wide EBS limits sweep, pure (issue 13 item 2): who is at a limit, with no target chosen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.test_metrics_model import M5_4XLARGE, M5_LARGE
from tui.models.findings import compute_findings, fleet_findings
from tui.models.fleet import FleetInstance, assess_fleet, sweep_interval, sweep_specs
from tui.models.metrics import MetricSpec, Series, build_queries, evaluate, series_from_results

T0 = datetime(2024, 6, 1, 11, 0, tzinfo=UTC)


def instance(iid: str, name: str, itype: str, monitoring: str = "enabled") -> dict[str, Any]:
    return {
        "InstanceId": iid,
        "InstanceType": itype,
        "State": {"Name": "running"},
        "Monitoring": {"State": monitoring},
        "Tags": [{"Key": "Name", "Value": name}] if name else [],
    }


def volume(vid: str, vtype: str, size: int, iid: str, **extra: Any) -> dict[str, Any]:
    return {
        "VolumeId": vid,
        "VolumeType": vtype,
        "Size": size,
        "Attachments": [{"InstanceId": iid, "State": "attached"}],
        **extra,
    }


def answer(specs: list[MetricSpec], values: dict[tuple[str, str], float], period: int) -> list[Any]:
    """GetMetricData's answer: 6 points per series at ``period``, each a Sum (or a percentage)."""
    queries = build_queries(specs, period=period)
    results = []
    for q, spec in zip(queries, specs, strict=True):
        per_second = values.get((spec.resource_id, spec.metric_name))
        if per_second is None:
            continue
        value = per_second * period if spec.stat == "Sum" else per_second
        stamps = [T0 + timedelta(seconds=period * i) for i in range(6)]
        results.append({"Id": q["Id"], "Timestamps": stamps, "Values": [value] * 6})
    return series_from_results({"MetricDataResults": results}, queries, period)


# Three instances: a database at its m5.large throughput baseline (byte balance spent), a busy
# m5.4xlarge on basic monitoring well inside its limits, and an idle web server without a name.
DB = FleetInstance(
    instance("i-0db", "ledger-db", "m5.large"),
    M5_LARGE,
    (volume("vol-0db1", "gp3", 200, "i-0db"), volume("vol-0db2", "gp2", 100, "i-0db")),
)
BUSY = FleetInstance(
    instance("i-0busy", "batch-7", "m5.4xlarge", "disabled"),
    M5_4XLARGE,
    (volume("vol-0busy", "gp3", 1000, "i-0busy", Iops=16000, Throughput=1000),),
)
IDLE = FleetInstance(instance("i-0idle", "", "m5.large"), M5_LARGE, ())


def fleet_series() -> list[Series]:
    db = {
        ("i-0db", "EBSReadBytes"): 48.75e6,
        ("i-0db", "EBSWriteBytes"): 32.5e6,  # 81.25 MB/s: the m5.large baseline
        ("i-0db", "EBSReadOps"): 900.0,
        ("i-0db", "EBSWriteOps"): 300.0,
        ("i-0db", "EBSByteBalance%"): 0.0,
        ("i-0db", "EBSIOBalance%"): 80.0,
        ("vol-0db1", "VolumeReadOps"): 700.0,
        ("vol-0db1", "VolumeWriteOps"): 200.0,
    }
    busy = {("i-0busy", "EBSReadOps"): 2400.0, ("i-0busy", "EBSWriteOps"): 1600.0}
    idle = {("i-0idle", "EBSReadOps"): 5.0, ("i-0idle", "EBSWriteOps"): 5.0}
    out = answer(sweep_specs(DB), db, 60)
    out += answer([s for s in sweep_specs(BUSY) if s.namespace == "AWS/EC2"], busy, 300)
    out += answer(sweep_specs(IDLE), idle, 60)
    return out


def test_sweep_asks_for_ebs_series_only_with_balances_where_they_exist() -> None:
    names = [(s.resource_id, s.metric_name) for s in sweep_specs(DB)]
    assert ("i-0db", "EBSByteBalance%") in names and ("vol-0db2", "BurstBalance") in names
    assert ("vol-0db1", "BurstBalance") not in names  # gp3 does not burst
    assert not [n for _, n in names if n in ("CPUUtilization", "NetworkIn", "VolumeQueueLength")]
    busy = [s.metric_name for s in sweep_specs(BUSY) if s.namespace == "AWS/EC2"]
    assert "EBSIOBalance%" not in busy  # baseline = maximum: no balance published
    assert len(sweep_specs(DB)) == 6 + 4 + 5


def test_the_worst_instance_comes_first_named_with_its_limit_and_how_close() -> None:
    fleet = assess_fleet([IDLE, BUSY, DB], fleet_series(), at=T0)
    assert fleet.instances == 3 and fleet.volumes == 3
    assert fleet.worst is not None and fleet.worst.item.instance_id == "i-0db"
    assert [v.item.instance_id for v in fleet.bound] == ["i-0db"]
    # the busy one is ranked by how close it is: 4,000 of 18,750 IOPS, read from 5-minute data
    busy = next(v for v in fleet.verdicts if v.item.instance_id == "i-0busy")
    assert busy.closeness == pytest.approx(4000 / 18750, rel=1e-3)
    assert [v.item.instance_id for v in fleet.verdicts] == ["i-0db", "i-0busy", "i-0idle"]
    assert fleet.covers() == {"i-0db", "vol-0db1", "vol-0db2", "i-0busy", "vol-0busy", "i-0idle"}

    (finding,) = [f for f in fleet_findings(fleet) if f.kind == "instance_ebs_limit"]
    assert finding.title.startswith("ledger-db (i-0db): IO at the m5.large EBS limit")
    assert "81 MB/s baseline, burst exhausted" in finding.title
    assert finding.title.endswith("at 100%")
    (evidence,) = finding.evidence
    assert evidence.pane == "metrics" and evidence.query == "i-0db"


def test_findings_read_the_sweep_with_no_target_chosen_and_do_not_repeat_the_pane() -> None:
    fleet = assess_fleet([IDLE, BUSY, DB], fleet_series(), at=T0)
    found = compute_findings(fleet=fleet)
    assert [f.resource_id for f in found if f.kind == "instance_ebs_limit"] == ["i-0db"]
    # the pane showing the same instance adds nothing; one it shows that the sweep missed does
    pane = evaluate(M5_LARGE, DB.volumes, fleet_series())
    again = compute_findings(fleet=fleet, assessment=pane, metrics_target="i-0db")
    assert len(again) == len(found)
    assert compute_findings(fleet=None, assessment=pane, metrics_target="i-0db")


def test_a_healthy_fleet_has_no_finding() -> None:
    quiet = answer(sweep_specs(IDLE), {("i-0idle", "EBSReadOps"): 5.0}, 60)
    fleet = assess_fleet([IDLE], quiet)
    assert not fleet.bound and fleet_findings(fleet) == []
    assert fleet.worst is not None and fleet.worst.item.label == "i-0idle"


@pytest.mark.parametrize(
    ("metrics", "budget", "floor", "want"),
    [
        (40, 20_000, 300, 300),  # a small fleet: every 5 minutes
        (7_000, 20_000, 300, 2_520),  # 500 instances: within half the hourly budget
        (7_000, 0, 300, 300),  # no budget set: the floor
        (40, 20_000, 60, 60),  # the demo's faster floor
    ],
)
def test_sweep_interval_keeps_within_its_share_of_the_metrics_budget(
    metrics: int, budget: float, floor: float, want: float
) -> None:
    assert sweep_interval(metrics, budget, floor=floor) == want
