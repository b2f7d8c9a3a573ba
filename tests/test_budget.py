"""The hourly budget and the cost estimate: pure, table-driven, time passed in."""

from __future__ import annotations

import pytest

from tui.models.budget import (
    GB,
    INSIGHTS_BYTES_SCANNED,
    METRICS_REQUESTED,
    Budget,
    BudgetStatus,
    estimate_cost,
)
from tui.settings import load_settings

# (requests_limit, metrics_limit, [(t, requests_total, metrics_total), ...],
#  expected (requests, metrics, over) of the last check)
BUDGET_CASES = [
    pytest.param(100, 1000, [(0, 0, 0)], (0, 0, None), id="nothing-yet"),
    pytest.param(100, 1000, [(0, 0, 0), (60, 100, 10)], (100, 10, None), id="at-limit-not-over"),
    pytest.param(100, 1000, [(0, 0, 0), (60, 101, 10)], (101, 10, "requests"), id="one-over"),
    pytest.param(100, 1000, [(0, 0, 0), (60, 5, 1001)], (5, 1001, "metrics"), id="metrics-over"),
    pytest.param(
        100, 1000, [(0, 0, 0), (60, 500, 5000)], (500, 5000, "requests"), id="both-requests-first"
    ),
    # Traffic older than an hour no longer counts: 150 at t=60 is the baseline at t=3700.
    pytest.param(
        100, 1000, [(0, 0, 0), (60, 150, 0), (3700, 200, 0)], (50, 0, None), id="old-traffic-ages"
    ),
    # No sample at or before the horizon except t=0: the baseline is the t=0 sample (0).
    pytest.param(
        100, 1000, [(0, 0, 0), (1800, 150, 0), (3500, 160, 0)], (160, 0, "requests"), id="young"
    ),
    # The baseline is the newest sample at least an hour old, so never an under-estimate.
    pytest.param(
        100,
        1000,
        [(0, 0, 0), (100, 90, 0), (200, 150, 0), (3750, 200, 0)],
        (110, 0, "requests"),
        id="conservative-baseline",
    ),
    pytest.param(0, 0, [(0, 0, 0), (60, 10**6, 10**7)], (10**6, 10**7, None), id="disabled"),
    # Counters went down (a new meter after reconnecting): counting starts again.
    pytest.param(100, 1000, [(0, 0, 0), (60, 500, 0), (70, 20, 0)], (20, 0, None), id="new-meter"),
    # Samples closer than the resolution (10 s) are not kept; the totals still are current.
    pytest.param(
        100, 1000, [(0, 0, 0), (1, 50, 0), (2, 101, 0)], (101, 0, "requests"), id="coalesced"
    ),
]


@pytest.mark.parametrize(("req_limit", "met_limit", "checks", "expected"), BUDGET_CASES)
def test_budget_counts_the_last_hour(
    req_limit: int,
    met_limit: int,
    checks: list[tuple[float, int, int]],
    expected: tuple[int, int, str | None],
) -> None:
    budget = Budget(req_limit, met_limit)
    status = None
    for t, requests, metrics in checks:
        status = budget.check(t, requests, metrics)
    assert status is not None
    assert (status.requests, status.metrics, status.over) == expected
    assert status.paused == (expected[2] is not None)


def test_samples_stay_bounded_over_a_day() -> None:
    budget = Budget(10**9, 10**9)
    for t in range(0, 86400, 1):
        budget.check(t, t, 0)
    assert len(budget._samples) <= 3600 / budget.resolution + 2


# (event sequence, expected paused after each step)
RESUME_CASES = [
    pytest.param(
        [("check", 0, 0), ("check", 10, 200), ("resume", 20, None), ("check", 30, 300)],
        [False, True, False, False],
        id="R-resumes",
    ),
    pytest.param(
        [("check", 0, 0), ("resume", 5, None), ("check", 10, 200)],
        [False, False, True],
        id="stray-R-grants-nothing",
    ),
    pytest.param(
        [("check", 0, 200), ("resume", 10, None), ("check", 3609, 300), ("check", 3611, 400)],
        [True, False, False, True],
        id="grant-lasts-one-hour",
    ),
]


@pytest.mark.parametrize(("steps", "paused"), RESUME_CASES)
def test_resume_grants_one_hour_only_when_paused(
    steps: list[tuple[str, float, int | None]], paused: list[bool]
) -> None:
    budget = Budget(100, 0)
    seen: list[bool] = []
    for action, t, requests in steps:
        if action == "check":
            assert requests is not None
            seen.append(budget.check(t, requests, 0).paused)
        else:
            granted = budget.resume(t)
            assert budget.last is not None
            seen.append(budget.last.paused)
            assert granted == (budget.last.over is not None)
    assert seen == paused


@pytest.mark.parametrize(
    ("status", "full", "compact"),
    [
        (
            BudgetStatus(4210, 10, 3600, 20000, "requests"),
            "⏸ paused: 4,210 requests in the last hour exceed the budget of 3,600"
            " — press $ to review, R to resume",
            "⏸ paused: 4,210 requests/h > budget 3,600 — $ review, R resume",
        ),
        (
            BudgetStatus(10, 25000, 3600, 20000, "metrics"),
            "⏸ paused: 25,000 metrics requested in the last hour exceed the budget of 20,000"
            " — press $ to review, R to resume",
            "⏸ paused: 25,000 metrics/h > budget 20,000 — $ review, R resume",
        ),
        (BudgetStatus(4210, 10, 3600, 20000, "requests", resumed=True), "", ""),
        (BudgetStatus(1, 1, 3600, 20000, None), "", ""),
    ],
)
def test_pause_message(status: BudgetStatus, full: str, compact: str) -> None:
    assert status.message() == full
    assert status.message(compact=True) == compact
    assert len(status.message(compact=True)) <= 76  # fits the status line at 80 columns


@pytest.mark.parametrize(
    ("requests", "quantities", "expected"),
    [
        pytest.param({}, {}, {}, id="nothing"),
        pytest.param(
            {"cloudwatch:GetMetricData": 10},
            {METRICS_REQUESTED: 100_000},
            {"CloudWatch GetMetricData": 1.0},
            id="getmetricdata-per-metric-not-per-call",
        ),
        pytest.param(
            {"cloudtrail:LookupEvents": 5000},
            {},
            {"CloudTrail LookupEvents": 0.0},
            id="lookupevents-free",
        ),
        pytest.param(
            {"logs:FilterLogEvents": 900, "logs:StartQuery": 2, "logs:GetQueryResults": 30},
            {INSIGHTS_BYTES_SCANNED: 200 * GB},
            {"CloudWatch Logs API calls": 0.0, "Logs Insights scanned": 1.0},
            id="filterlogevents-free-insights-per-gb",
        ),
        pytest.param(
            {"s3:GetObject": 10_000, "s3:GetBucketLocation": 0, "s3:ListObjectsV2": 2000},
            {},
            {"S3 GET": 0.004, "S3 LIST": 0.01},
            id="s3-get-and-list",
        ),
        pytest.param(
            {"cloudwatch:ListMetrics": 1000, "ec2:DescribeInstances": 10**6},
            {},
            {"CloudWatch ListMetrics": 0.01},
            id="listmetrics-priced-ec2-free",
        ),
    ],
)
def test_estimate_cost(
    requests: dict[str, int], quantities: dict[str, int], expected: dict[str, float]
) -> None:
    lines = estimate_cost(requests, quantities)
    assert {line.label: round(line.usd, 6) for line in lines} == expected


def test_budget_settings_from_environment_and_config(tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("budget-metrics-per-hour = 5000\n")
    settings = load_settings({}, env={"HAMARI_BUDGET_REQUESTS_PER_HOUR": "120"}, config_file=config)
    assert settings.budget_requests_per_hour == 120
    assert settings.budget_metrics_per_hour == 5000
    defaults = load_settings({}, env={}, config_file=tmp_path / "none.toml")
    assert (defaults.budget_requests_per_hour, defaults.budget_metrics_per_hour) == (3600, 20000)
