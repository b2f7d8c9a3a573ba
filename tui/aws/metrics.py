"""The CloudWatch source for incident 2: find a target's resources and limits, fetch its series.

"It was faster on-prem" is answered by two kinds of AWS facts side by side: *limits* (the instance
type's EBS-optimized baseline and maximum from DescribeInstanceTypes, each volume's type, size and
provisioned figures from DescribeVolumes) and *usage* (ops and bytes from CloudWatch). This module
gathers both through the one door (:class:`tui.aws.session.Aws`) and hands the pure model
(:mod:`tui.models.metrics`) what it needs to name the limit that binds.

Cost and speed rules it keeps:

* one GetMetricData request per refresh for up to 500 series (split above that), ascending
  timestamps, the period chosen from the window and CloudWatch retention, the window aligned to
  the period; ``NextToken`` pages followed; every metric requested counted into the meter
  (GetMetricData is billed per metric);
* discovery (three Describe calls) is cached on the :class:`Target` and redone only when the
  caller asks, so a refresh costs one request;
* no metric math: IOPS and MB/s are computed on the client from ``Sum``.

No textual or rich here: the CLI uses this module too.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from tui.aws.errors import InvalidRequestError, NotFoundError
from tui.models.budget import METRICS_REQUESTED
from tui.models.metrics import (
    Assessment,
    MetricSpec,
    Series,
    align_window,
    build_queries,
    choose_period,
    evaluate,
    instance_presets,
    series_from_results,
    split_queries,
    volume_presets,
)

if TYPE_CHECKING:
    from tui.aws.session import Aws

TargetKind = Literal["instance", "volume", "tgw_attachment"]

PARSE_IN_THREAD: Final = 100
"""Above this many queries, the answer is read in a worker thread (~20 us per datapoint)."""

_INSTANCE_ID: Final = re.compile(r"^i-[0-9a-f]{8,17}$")
_VOLUME_ID: Final = re.compile(r"^vol-[0-9a-f]{8,17}$")
_ENI_ID: Final = re.compile(r"^eni-[0-9a-f]{8,17}$")
_TGW_ATTACHMENT_ID: Final = re.compile(r"^tgw-attach-[0-9a-f]{8,17}$")

# AWS/TransitGateway metrics per attachment; bytes become B/s (from Sum), drops stay counts.
_TGW_METRICS: Final[tuple[tuple[str, str, Any], ...]] = (
    ("BytesIn", "Sum", "bytes_per_s"),
    ("BytesOut", "Sum", "bytes_per_s"),
    ("PacketsIn", "Sum", "count"),
    ("PacketsOut", "Sum", "count"),
    ("PacketDropCountBlackhole", "Sum", "count"),
    ("PacketDropCountNoRoute", "Sum", "count"),
)


def tag_value(tags: object, key: str = "Name") -> str:
    """The value of one tag from an EC2 ``Tags`` list ('' when absent)."""
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, Mapping) and tag.get("Key") == key:
                return str(tag.get("Value") or "")
    return ""


@dataclass(frozen=True, slots=True)
class TargetSummary:
    """One line of the target picker: enough to recognise a resource, nothing more.

    Attributes:
        kind: ``instance`` or ``volume``.
        resource_id: ``i-...`` or ``vol-...``.
        name: The Name tag (raw; the UI makes it display-safe).
        detail: Instance type, or volume type and size.
        state: Instance state or volume state.
    """

    kind: TargetKind
    resource_id: str
    name: str = ""
    detail: str = ""
    state: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """A discovered target: its resources, the raw Describe items the limits come from, presets.

    Attributes:
        kind: What was asked for.
        resource_id: The target's ID.
        name: Name tag, if any.
        instance: The DescribeInstances item (for an instance target).
        instance_type_info: The DescribeInstanceTypes item of its type, or None when unknown.
        volumes: DescribeVolumes items (attached volumes, or the volume itself).
        specs: The preset series to fetch.
        note: Something the user should know about the discovery (e.g. an ENI resolved to its
            instance).
    """

    kind: TargetKind
    resource_id: str
    name: str = ""
    instance: Mapping[str, Any] | None = None
    instance_type_info: Mapping[str, Any] | None = None
    volumes: tuple[Mapping[str, Any], ...] = ()
    specs: tuple[MetricSpec, ...] = ()
    note: str = ""

    @property
    def instance_type(self) -> str:
        """The instance type, or ''."""
        return str((self.instance or {}).get("InstanceType") or "")

    @property
    def state(self) -> str:
        """Instance state name, or the volume state."""
        if self.instance is not None:
            state = self.instance.get("State")
            return str(state.get("Name") or "") if isinstance(state, Mapping) else ""
        if self.volumes:
            return str(self.volumes[0].get("State") or "")
        return ""

    def volume(self, volume_id: str) -> Mapping[str, Any] | None:
        """The DescribeVolumes item of one of the target's volumes."""
        return next((v for v in self.volumes if v.get("VolumeId") == volume_id), None)

    @property
    def basic_monitoring(self) -> frozenset[str]:
        """The instance ID when its AWS/EC2 metrics are 5-minute data (see :func:`basic_monitored`)."""
        return basic_monitored([self.instance] if self.instance is not None else [])

    def queries(self, specs: Sequence[MetricSpec], period: int) -> list[dict[str, Any]]:
        """The GetMetricData queries for ``specs``, each at a period its data has."""
        return build_queries(specs, period=period, basic_monitoring=self.basic_monitoring)


def basic_monitored(instances: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """IDs of the instances whose ``Monitoring.State`` is not ``enabled`` (basic, AWS's default).

    ``disabling`` and ``pending`` count as basic: part of the window is 5-minute data, and a
    5-minute Sum is right for both. An instance without the field is left to detection.
    """
    out: set[str] = set()
    for inst in instances:
        mon = inst.get("Monitoring")
        state = str(mon.get("State") or "") if isinstance(mon, Mapping) else ""
        if state and state != "enabled":
            out.add(str(inst.get("InstanceId") or ""))
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class MetricsResult:
    """What one refresh produced.

    Attributes:
        target: The target the series belong to.
        series: One per spec, in spec order (display units).
        assessment: Every series judged against its limit, and the verdict.
        period: Period in seconds asked for (instances with basic monitoring are asked at 300 s;
            each series carries the period its data has).
        start: Aligned window start.
        end: Aligned window end.
        requests: GetMetricData requests made (pages included).
        metrics_requested: Queries sent (what AWS bills).
        messages: Top-level ``Messages`` of the responses, as ``(code, value)``.
    """

    target: Target
    series: tuple[Series, ...]
    assessment: Assessment
    period: int
    start: datetime
    end: datetime
    requests: int
    metrics_requested: int
    messages: tuple[tuple[str, str], ...] = field(default=())


def classify(target_id: str) -> TargetKind | Literal["eni", "name"]:
    """Which Describe call finds ``target_id`` (anything that is not an ID is a Name tag)."""
    text = target_id.strip()
    if _INSTANCE_ID.match(text):
        return "instance"
    if _VOLUME_ID.match(text):
        return "volume"
    if _ENI_ID.match(text):
        return "eni"
    if _TGW_ATTACHMENT_ID.match(text):
        return "tgw_attachment"
    return "name"


def tgw_attachment_presets(attachment_id: str, transit_gateway_id: str) -> list[MetricSpec]:
    """AWS/TransitGateway per-attachment metrics (bytes as B/s, packets and drops as counts)."""
    dims = (("TransitGateway", transit_gateway_id), ("TransitGatewayAttachment", attachment_id))
    return [
        MetricSpec("AWS/TransitGateway", name, dims, stat, unit, f"{attachment_id} {name}")
        for name, stat, unit in _TGW_METRICS
    ]


def _not_found(what: str, target_id: str, region: str) -> NotFoundError:
    return NotFoundError(
        f"No {what} {target_id!r} in {region}.",
        hint="Check the ID (i-…, vol-…, eni-…, tgw-attach-…) or Name tag, and the region "
        "(--region). In the TUI, t lists the instances and volumes of the region.",
        code="NotFound",
    )


class MetricsSource:
    """Discovery and fetching for the CloudWatch pane and ``hamari metrics``."""

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self._type_info: dict[str, Mapping[str, Any] | None] = {}

    # -- picker --------------------------------------------------------------------------------

    async def list_targets(self, *, max_items: int = 500) -> list[TargetSummary]:
        """Instances (running first, then by name) followed by volumes, for the picker."""
        instances: list[TargetSummary] = []
        async for page in self.aws.pages("ec2", "DescribeInstances", MaxResults=100):
            for res in page.get("Reservations", []) or []:
                for inst in res.get("Instances", []) or []:
                    state = inst.get("State") or {}
                    instances.append(
                        TargetSummary(
                            "instance",
                            str(inst.get("InstanceId") or ""),
                            tag_value(inst.get("Tags")),
                            str(inst.get("InstanceType") or ""),
                            str(state.get("Name") or "") if isinstance(state, Mapping) else "",
                        )
                    )
            if len(instances) >= max_items:
                break
        instances.sort(key=lambda t: (t.state != "running", t.name == "", t.name, t.resource_id))
        volumes: list[TargetSummary] = []
        async for page in self.aws.pages("ec2", "DescribeVolumes", MaxResults=500):
            for vol in page.get("Volumes", []) or []:
                volumes.append(
                    TargetSummary(
                        "volume",
                        str(vol.get("VolumeId") or ""),
                        tag_value(vol.get("Tags")),
                        f"{vol.get('VolumeType') or '?'} {vol.get('Size') or '?'} GiB",
                        str(vol.get("State") or ""),
                    )
                )
            if len(volumes) >= max_items:
                break
        return instances[:max_items] + volumes[:max_items]

    # -- discovery -----------------------------------------------------------------------------

    async def discover(self, target_id: str) -> Target:
        """Find a target and everything its limits depend on.

        Args:
            target_id: ``i-…``, ``vol-…``, ``eni-…`` (resolved to its instance),
                ``tgw-attach-…``, or an instance Name tag.

        Raises:
            NotFoundError: no such resource in the region (with a hint).
            HamariError: any other AWS trouble, translated.
        """
        text = target_id.strip()
        if not text:
            raise InvalidRequestError("No target given.", hint="Type an instance or volume ID.")
        kind = classify(text)
        if kind == "volume":
            return await self._discover_volume(text)
        if kind == "tgw_attachment":
            return await self._discover_tgw_attachment(text)
        if kind == "eni":
            return await self._discover_eni(text)
        if kind == "instance":
            inst = await self._describe_instance(InstanceIds=[text])
            if inst is None:
                raise _not_found("instance", text, self.aws.region)
            return await self._instance_target(inst)
        inst = await self._describe_instance(Filters=[{"Name": "tag:Name", "Values": [text]}])
        if inst is None:
            raise _not_found("instance named", text, self.aws.region)
        return await self._instance_target(inst)

    async def _describe_instance(self, **params: Any) -> Mapping[str, Any] | None:
        """The first matching instance (running ones preferred), or None."""
        found: list[Mapping[str, Any]] = []
        try:
            async for page in self.aws.pages("ec2", "DescribeInstances", **params):
                for res in page.get("Reservations", []) or []:
                    found.extend(res.get("Instances", []) or [])
        except NotFoundError:
            return None
        except InvalidRequestError as err:
            if "Malformed" in err.code:
                return None
            raise
        if not found:
            return None
        running = [i for i in found if (i.get("State") or {}).get("Name") == "running"]
        return (running or found)[0]

    async def instance_type_info(self, instance_type: str) -> Mapping[str, Any] | None:
        """DescribeInstanceTypes item of a type (cached; None when AWS does not know it)."""
        if not instance_type:
            return None
        if instance_type not in self._type_info:
            try:
                resp = await self.aws.call(
                    "ec2", "DescribeInstanceTypes", InstanceTypes=[instance_type]
                )
            except (NotFoundError, InvalidRequestError):
                resp = {}
            items = resp.get("InstanceTypes") or []
            self._type_info[instance_type] = items[0] if items else None
        return self._type_info[instance_type]

    async def _volumes(self, **params: Any) -> list[Mapping[str, Any]]:
        out: list[Mapping[str, Any]] = []
        async for page in self.aws.pages("ec2", "DescribeVolumes", **params):
            out.extend(page.get("Volumes", []) or [])
        return out

    async def _instance_target(self, inst: Mapping[str, Any], note: str = "") -> Target:
        iid = str(inst.get("InstanceId") or "")
        itype = str(inst.get("InstanceType") or "")
        info = await self.instance_type_info(itype)
        volumes = await self._volumes(Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])
        volumes.sort(key=_attachment_order)
        specs = instance_presets(iid, info)
        for vol in volumes:
            specs.extend(volume_presets(vol))
        return Target(
            "instance",
            iid,
            tag_value(inst.get("Tags")),
            inst,
            info,
            tuple(volumes),
            tuple(specs),
            note,
        )

    async def _discover_volume(self, volume_id: str) -> Target:
        try:
            volumes = await self._volumes(VolumeIds=[volume_id])
        except (NotFoundError, InvalidRequestError) as err:
            if isinstance(err, InvalidRequestError) and "Malformed" not in err.code:
                raise
            volumes = []
        if not volumes:
            raise _not_found("volume", volume_id, self.aws.region)
        vol = volumes[0]
        return Target(
            "volume",
            volume_id,
            tag_value(vol.get("Tags")),
            volumes=(vol,),
            specs=tuple(volume_presets(vol)),
        )

    async def _discover_eni(self, eni_id: str) -> Target:
        """An ENI has no EBS limits of its own: show the instance it is attached to."""
        try:
            resp = await self.aws.call(
                "ec2", "DescribeNetworkInterfaces", NetworkInterfaceIds=[eni_id]
            )
        except (NotFoundError, InvalidRequestError):
            resp = {}
        items = resp.get("NetworkInterfaces") or []
        if not items:
            raise _not_found("network interface", eni_id, self.aws.region)
        attachment = items[0].get("Attachment") or {}
        iid = str(attachment.get("InstanceId") or "")
        if not iid:
            raise NotFoundError(
                f"{eni_id} is not attached to an instance; CloudWatch has no per-ENI metrics.",
                hint="Pick the instance it belongs to, or look at its flows in pane 3.",
                code="NotFound",
            )
        inst = await self._describe_instance(InstanceIds=[iid])
        if inst is None:
            raise _not_found("instance", iid, self.aws.region)
        return await self._instance_target(inst, note=f"{eni_id} is attached to {iid}")

    async def _discover_tgw_attachment(self, attachment_id: str) -> Target:
        try:
            resp = await self.aws.call(
                "ec2",
                "DescribeTransitGatewayAttachments",
                TransitGatewayAttachmentIds=[attachment_id],
            )
        except (NotFoundError, InvalidRequestError):
            resp = {}
        items = resp.get("TransitGatewayAttachments") or []
        if not items:
            raise _not_found("Transit Gateway attachment", attachment_id, self.aws.region)
        tgw = str(items[0].get("TransitGatewayId") or "")
        return Target(
            "tgw_attachment",
            attachment_id,
            tag_value(items[0].get("Tags")),
            specs=tuple(tgw_attachment_presets(attachment_id, tgw)),
        )

    # -- ListMetrics ---------------------------------------------------------------------------

    async def available_metrics(self, target: Target, *, max_pages: int = 5) -> list[MetricSpec]:
        """Metrics CloudWatch has for the target's resources that the presets do not show.

        One ListMetrics request per resource (and page): the instance, each volume.
        """
        shown = {(s.namespace, s.metric_name, s.dimensions) for s in target.specs}
        dims: list[tuple[str, str]] = []
        if target.instance is not None:
            dims.append(("InstanceId", target.resource_id))
        dims.extend(("VolumeId", str(v.get("VolumeId"))) for v in target.volumes)
        if target.kind == "tgw_attachment":
            dims.append(("TransitGatewayAttachment", target.resource_id))
        out: list[MetricSpec] = []
        seen: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
        for name, value in dims:
            async for page in self.aws.pages(
                "cloudwatch",
                "ListMetrics",
                max_pages=max_pages,
                Dimensions=[{"Name": name, "Value": value}],
            ):
                for item in page.get("Metrics", []) or []:
                    spec = MetricSpec.from_list_metrics(item)
                    key = (spec.namespace, spec.metric_name, spec.dimensions)
                    if key in shown or key in seen:
                        continue
                    seen.add(key)
                    out.append(spec)
        out.sort(key=lambda s: (s.namespace, s.metric_name, s.dimensions))
        return out

    # -- fetching ------------------------------------------------------------------------------

    async def fetch(
        self,
        target: Target,
        start: datetime,
        end: datetime,
        *,
        now: datetime | None = None,
        extra: Sequence[MetricSpec] = (),
        max_points: int = 1440,
    ) -> MetricsResult:
        """Fetch every series of ``target`` (plus ``extra``) over a window, and judge them.

        One GetMetricData request per 500 queries (plus ``NextToken`` pages, rare below 100,800
        datapoints). Per-series statuses (``PartialData``, ``Forbidden``...) and messages stay on
        each series.

        Raises:
            HamariError: the call failed as a whole (AccessDenied, throttled after retries...).
        """
        now = now or datetime.now(UTC)
        specs = _unique(list(target.specs) + list(extra))
        period = choose_period(start, end, now, max_points=max_points)
        got = await get_metric_data(self.aws, target.queries(specs, period), start, end, period)
        assessment = evaluate(target.instance_type_info, target.volumes, got.series)
        return MetricsResult(
            target,
            got.series,
            assessment,
            period,
            got.start,
            got.end,
            got.requests,
            got.metrics_requested,
            got.messages,
        )


@dataclass(frozen=True, slots=True)
class Fetched:
    """The series of one set of queries, and what asking for them took."""

    series: tuple[Series, ...]
    start: datetime
    end: datetime
    requests: int
    metrics_requested: int
    messages: tuple[tuple[str, str], ...]


async def get_metric_data(
    aws: Aws,
    queries: Sequence[Mapping[str, Any]],
    start: datetime,
    end: datetime,
    period: int,
) -> Fetched:
    """Run ``queries`` over the window: one GetMetricData per 500 (plus ``NextToken`` pages).

    The window is aligned to the coarsest period asked for, so that every series' first bucket
    is whole; every query is counted on the meter (GetMetricData is billed per metric).
    Per-series statuses (``PartialData``, ``Forbidden``...) and messages stay on each series.
    """
    coarsest = max((int(q["MetricStat"]["Period"]) for q in queries), default=period)
    aligned_start, aligned_end = align_window(start, end, coarsest)
    pages: list[Mapping[str, Any]] = []
    requests = 0
    for batch in split_queries(queries):
        aws.meter.add(METRICS_REQUESTED, len(batch))
        async for page in aws.pages(
            "cloudwatch",
            "GetMetricData",
            MetricDataQueries=batch,
            StartTime=aligned_start,
            EndTime=aligned_end,
            ScanBy="TimestampAscending",
        ):
            requests += 1
            pages.append(page)
    messages = tuple(
        (str(m.get("Code", "")), str(m.get("Value", "")))
        for page in pages
        for m in (page.get("Messages") or [])
        if isinstance(m, Mapping)
    )
    if len(queries) > PARSE_IN_THREAD:  # a fleet's answer is seconds of CPU: not on the UI loop
        parsed = await asyncio.to_thread(series_from_results, pages, queries, period)
    else:
        parsed = series_from_results(pages, queries, period)
    series = tuple(parsed)
    return Fetched(series, aligned_start, aligned_end, requests, len(queries), messages)


def _unique(specs: Iterable[MetricSpec]) -> list[MetricSpec]:
    seen: set[tuple[str, str, tuple[tuple[str, str], ...], str]] = set()
    out: list[MetricSpec] = []
    for spec in specs:
        key = (spec.namespace, spec.metric_name, spec.dimensions, spec.stat)
        if key not in seen:
            seen.add(key)
            out.append(spec)
    return out


def _attachment_order(volume: Mapping[str, Any]) -> str:
    """Root device first (``/dev/xvda``, ``/dev/sda1``), then by device name."""
    attachments = volume.get("Attachments") or []
    device = str(attachments[0].get("Device") or "") if attachments else ""
    return device or str(volume.get("VolumeId") or "")


__all__ = [
    "MetricsResult",
    "MetricsSource",
    "Target",
    "TargetSummary",
    "basic_monitored",
    "classify",
    "get_metric_data",
    "tag_value",
    "tgw_attachment_presets",
]
