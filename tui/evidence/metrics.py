"""The CloudWatch evidence: the fleet sweep's verdicts and the focused target's assessment.

Incident 2's finding comes from two places: the fleet-wide EBS limits sweep (every running
instance and its volumes, whatever the pane shows) and the one target the metrics pane draws. Both
used to be attributes of the pane, so the findings and the incident bundle read a widget. Now the
main screen creates one :class:`MetricsEvidence`; the metrics pane's loops fill it and draw the
target from it, and the findings, the bundle and replay read it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui.models.bundle import MetricsSnapshot

if TYPE_CHECKING:
    from tui.aws.errors import HamariError
    from tui.aws.metrics import MetricsResult
    from tui.models.fleet import FleetAssessment, InstanceVerdict
    from tui.models.metrics.assessment import Assessment

__all__ = ["MetricsEvidence", "result_from_snapshot"]


class MetricsEvidence:
    """The last result for the pane's target and the last fleet sweep.

    Attributes:
        result: The target's series and their assessment (None before the first result).
        fleet: The last fleet-wide sweep (None before the first, and in a replay).
        fleet_error: Why the last sweep failed (None when it succeeded or has not run).
    """

    def __init__(self) -> None:
        self.result: MetricsResult | None = None
        self.fleet: FleetAssessment | None = None
        self.fleet_error: HamariError | None = None

    @property
    def assessment(self) -> Assessment | None:
        """The latest assessment of the target, or None before the first result."""
        return self.result.assessment if self.result is not None else None

    @property
    def target_id(self) -> str:
        """The resource the loaded result is for ("" before the first result)."""
        return self.result.target.resource_id if self.result is not None else ""

    def has_data(self) -> bool:
        """The target has at least one datapoint."""
        return self.result is not None and any(s.points() for s in self.result.series)

    def swept(self, fleet: FleetAssessment) -> None:
        """Keep a sweep that succeeded (the previous error no longer holds)."""
        self.fleet, self.fleet_error = fleet, None

    @property
    def worst(self) -> InstanceVerdict | None:
        """The sweep's instance closest to (or at) a limit, when it is at or near one."""
        worst = self.fleet.worst if self.fleet is not None else None
        if worst is not None and (worst.bound or worst.closeness > 0):
            return worst
        return None

    def fleet_text(self) -> str:
        """The sweep in a few words ("sweep: 1/6 at a limit"; "" before the first)."""
        fleet = self.fleet
        if fleet is None:
            return "sweep: failed" if self.fleet_error is not None else ""
        return f"sweep: {len(fleet.bound)}/{fleet.instances} at a limit"

    # -- the incident bundle -------------------------------------------------------------------

    def snapshot(self) -> MetricsSnapshot | None:
        """The last result as a bundle section (None before the first result)."""
        result = self.result
        if result is None:
            return None
        target = result.target
        limits = tuple(
            {
                "series": r.series.spec.label,
                "resource": r.series.spec.resource_id,
                "metric": r.series.spec.metric_name,
                "unit": r.series.unit,
                "limit": r.limit.value if r.limit is not None else None,
                "limit_label": r.limit.label if r.limit is not None else "",
                "latest": r.latest,
                "percent": r.percent,
                "saturated": r.saturated,
            }
            for r in result.assessment.rows
        )
        return MetricsSnapshot(
            kind=target.kind,
            resource_id=target.resource_id,
            name=target.name,
            instance=target.instance,
            instance_type_info=target.instance_type_info,
            volumes=target.volumes,
            note=target.note,
            specs=target.specs,
            series=result.series,
            period=result.period,
            start=result.start,
            end=result.end,
            requests=result.requests,
            metrics_requested=result.metrics_requested,
            messages=result.messages,
            verdict=result.assessment.verdict,
            limits=limits,
        )

    def snapshot_queries(self) -> dict[str, object]:
        """The exact GetMetricData request of the last result (for the incident bundle)."""
        result = self.result
        if result is None:
            return {}
        specs = [s.spec for s in result.series if not s.spec.parts]
        return {
            "api": "cloudwatch:GetMetricData",
            "target": result.target.resource_id,
            "StartTime": result.start.isoformat(),
            "EndTime": result.end.isoformat(),
            "ScanBy": "TimestampAscending",
            "MetricDataQueries": result.target.queries(specs, result.period),
        }

    def replace(self, snap: MetricsSnapshot) -> MetricsResult:
        """Hold a saved result instead (replay), judged again against its limits."""
        self.result = result_from_snapshot(snap)
        self.fleet = self.fleet_error = None
        return self.result


def result_from_snapshot(snap: MetricsSnapshot) -> MetricsResult:
    """A bundle's metrics section as a result: the saved series, assessed again."""
    from tui.aws.metrics import MetricsResult, Target
    from tui.models.metrics.assessment import evaluate

    kind: Any = snap.kind
    target = Target(
        kind=kind,
        resource_id=snap.resource_id,
        name=snap.name,
        instance=snap.instance,
        instance_type_info=snap.instance_type_info,
        volumes=snap.volumes,
        specs=snap.specs,
        note=snap.note,
    )
    base = tuple(s for s in snap.series if not s.spec.parts)
    assessment = evaluate(target.instance_type_info, target.volumes, base)
    start = snap.start or (base[0].timestamps[0] if base and base[0].timestamps else None)
    end = snap.end or start
    if start is None or end is None:
        raise ValueError("the saved metrics have no time span")
    return MetricsResult(
        target,
        base,
        assessment,
        snap.period,
        start,
        end,
        snap.requests,
        snap.metrics_requested,
        snap.messages,
    )
