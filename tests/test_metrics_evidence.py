"""The metrics evidence without an app: the sweep and the target's result the findings read.

These build :class:`tui.evidence.metrics.MetricsEvidence` directly (milliseconds) so that what the
findings, the bundle and replay see is pinned apart from the metrics pane.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.test_bundle import sample
from tests.test_fleet import BUSY, DB, IDLE, T0, fleet_series
from tui.aws.errors import HamariError
from tui.evidence.metrics import MetricsEvidence
from tui.models.fleet import assess_fleet


def test_before_anything_is_loaded_nothing_is_claimed() -> None:
    evidence = MetricsEvidence()
    assert (evidence.assessment, evidence.target_id, evidence.worst) == (None, "", None)
    assert not evidence.has_data()
    assert evidence.snapshot() is None and evidence.snapshot_queries() == {}


@pytest.mark.parametrize(
    ("fleet", "error", "text", "worst"),
    [
        (None, None, "", None),
        (None, HamariError("throttled"), "sweep: failed", None),
        ([IDLE, BUSY, DB], None, "sweep: 1/3 at a limit", "i-0db"),
        ([IDLE, BUSY, DB], HamariError("throttled"), "sweep: 1/3 at a limit", "i-0db"),
    ],
)
def test_the_sweep_in_a_few_words_and_its_worst_instance(
    fleet: list | None, error: HamariError | None, text: str, worst: str | None
) -> None:
    evidence = MetricsEvidence()
    evidence.fleet_error = error
    if fleet is not None:
        evidence.swept(assess_fleet(fleet, fleet_series(), at=T0))
        assert evidence.fleet_error is None  # a sweep that succeeds clears the last error
    assert evidence.fleet_text() == text
    assert (evidence.worst.item.instance_id if evidence.worst else None) == worst


def test_the_sweep_and_the_target_are_independent() -> None:
    """The findings read the sweep whatever target the pane shows, and the reverse."""
    evidence = MetricsEvidence()
    evidence.swept(assess_fleet([IDLE, BUSY, DB], fleet_series(), at=T0))
    snap = sample().metrics
    assert snap is not None
    evidence.result = evidence.replace(snap)
    assert evidence.target_id == "vol-1" and evidence.fleet is None  # a replay has no sweep
    evidence.swept(assess_fleet([DB], fleet_series(), at=T0))
    assert evidence.target_id == "vol-1" and evidence.worst is not None


def test_a_saved_result_is_judged_again_and_saved_the_same() -> None:
    snap = sample().metrics
    assert snap is not None
    evidence = MetricsEvidence()
    result = evidence.replace(snap)
    assert result is evidence.result and evidence.target_id == "vol-1"
    assert evidence.assessment is not None and evidence.has_data()
    again = evidence.snapshot()
    assert again is not None
    assert (again.resource_id, again.kind, again.series) == (
        snap.resource_id,
        snap.kind,
        snap.series,
    )
    assert again.verdict == evidence.assessment.verdict
    queries = evidence.snapshot_queries()
    assert queries["target"] == "vol-1" and queries["api"] == "cloudwatch:GetMetricData"


def test_a_saved_result_without_a_time_span_is_refused() -> None:
    snap = sample().metrics
    assert snap is not None
    with pytest.raises(ValueError, match="time span"):
        MetricsEvidence().replace(replace(snap, series=(), start=None, end=None))
