"""The fleet-wide EBS limits sweep: every running instance and attached volume, through the one door.

Each sweep costs, for N running instances with V attached volumes:

* DescribeInstances (one page per 1,000 instances) every sweep: which instances run now;
* DescribeVolumes (one call per 200 instances, filtered by ``attachment.instance-id``) only when
  the set of running instances changed or :data:`VOLUMES_TTL` passed: limits change rarely;
* DescribeInstanceTypes once per instance type for the session (100 types per call);
* GetMetricData: one call per 500 metrics (plus ``NextToken`` pages), about 4-6 metrics per
  instance and 4-5 per volume (:func:`tui.models.fleet.sweep_specs`), every metric counted on the
  meter (``metrics_requested``), which is what AWS bills.

The window is the app's, cut to its last :data:`SWEEP_SPAN` (a limit binds on the latest points),
and each instance's EC2 metrics are asked for at the period their data has (5 minutes under basic
monitoring, see :func:`tui.models.metrics.query_period`). No textual or rich here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from tui.aws.errors import InvalidRequestError, NotFoundError
from tui.aws.inventory import _instances_raw, _volumes_raw
from tui.aws.metrics import basic_monitored, get_metric_data
from tui.models.fleet import FleetAssessment, FleetInstance, assess_fleet, sweep_specs
from tui.models.metrics import MetricSpec, build_queries, choose_period

if TYPE_CHECKING:
    from tui.aws.session import Aws

SWEEP_SPAN: Final = timedelta(minutes=30)
"""How much of the window a sweep reads: the saturation rule looks at the latest 5 points, 25
minutes of 5-minute data; every datapoint more is CPU spent reading it."""
VOLUMES_TTL: Final = 900.0
"""Seconds the attached volumes are kept when the running instances did not change."""
_TYPES_PER_CALL: Final = 100


class FleetSweep:
    """Sweeps the region's running instances; keeps the limits it described between sweeps."""

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self._types: dict[str, Mapping[str, Any] | None] = {}
        self._volumes: dict[str, tuple[Mapping[str, Any], ...]] = {}
        self._volumes_for: frozenset[str] = frozenset()
        self._volumes_at = float("-inf")
        self.last_metrics = 0
        """Metrics the last sweep asked for (to pace the next one)."""

    async def inventory(self) -> list[FleetInstance]:
        """Running instances with their attached volumes and type information."""
        items = [
            i
            for i in await _instances_raw(self.aws, None)
            if isinstance(i.get("State"), Mapping) and i["State"].get("Name") == "running"
        ]
        ids = frozenset(str(i.get("InstanceId") or "") for i in items)
        if ids != self._volumes_for or time.monotonic() - self._volumes_at > VOLUMES_TTL:
            by_instance: dict[str, list[Mapping[str, Any]]] = {}
            for vol in await _volumes_raw(self.aws, sorted(ids)) if ids else []:
                for att in vol.get("Attachments") or []:
                    if isinstance(att, Mapping) and att.get("InstanceId") in ids:
                        by_instance.setdefault(str(att["InstanceId"]), []).append(vol)
            self._volumes = {k: tuple(v) for k, v in by_instance.items()}
            self._volumes_for, self._volumes_at = ids, time.monotonic()
        await self._describe_types({str(i.get("InstanceType") or "") for i in items} - {""})
        return [
            FleetInstance(
                i,
                self._types.get(str(i.get("InstanceType") or "")),
                self._volumes.get(str(i.get("InstanceId") or ""), ()),
            )
            for i in items
        ]

    async def _describe_types(self, types: Iterable[str]) -> None:
        """DescribeInstanceTypes for the types not yet known, 100 per call.

        A call naming a type AWS does not know fails whole; its types are then asked one by one,
        so one odd type does not hide the limits of the others.
        """
        todo = sorted(t for t in types if t not in self._types)
        for start in range(0, len(todo), _TYPES_PER_CALL):
            chunk = todo[start : start + _TYPES_PER_CALL]
            try:
                await self._types_call(chunk)
            except (NotFoundError, InvalidRequestError):
                for one in chunk:
                    try:
                        await self._types_call([one])
                    except (NotFoundError, InvalidRequestError):
                        self._types[one] = None

    async def _types_call(self, chunk: Sequence[str]) -> None:
        async for page in self.aws.pages("ec2", "DescribeInstanceTypes", InstanceTypes=list(chunk)):
            for info in page.get("InstanceTypes") or []:
                if isinstance(info, Mapping) and info.get("InstanceType"):
                    self._types[str(info["InstanceType"])] = info
        for t in chunk:
            self._types.setdefault(t, None)

    async def sweep(
        self, start: datetime, end: datetime, *, now: datetime | None = None
    ) -> FleetAssessment:
        """Describe, fetch every EBS series of the fleet in as few calls as the 500-metric cap
        allows, and judge each instance.

        Raises:
            HamariError: a Describe call or a GetMetricData call failed as a whole.
        """
        now = now or datetime.now(UTC)
        items = await self.inventory()
        start = max(start, end - SWEEP_SPAN)
        specs: list[MetricSpec] = []
        for item in items:
            specs += sweep_specs(item)
        period = choose_period(start, end, now)
        basic = basic_monitored(i.instance for i in items)
        queries = build_queries(specs, period=period, basic_monitoring=basic)
        got = await get_metric_data(self.aws, queries, start, end, period)
        self.last_metrics = got.metrics_requested
        return await asyncio.to_thread(  # ~10 ms per instance: off the UI loop
            assess_fleet,
            items,
            got.series,
            at=got.end,
            requested_period=period,
            requests=got.requests,
            metrics_requested=got.metrics_requested,
        )


__all__ = ["SWEEP_SPAN", "VOLUMES_TTL", "FleetSweep"]
