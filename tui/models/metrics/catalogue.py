"""Which CloudWatch metrics hamari knows for instances and EBS volumes, and how each is read.

It exists so that a metric's statistic, display unit, the limit it is judged against and the
read+write pair it belongs to are stated once (``_CATALOGUE``): the presets of an instance or a
volume (:func:`instance_presets`, :func:`volume_presets`), a metric picked from ListMetrics and a
query read back from its dict (:meth:`MetricSpec.from_list_metrics`, :meth:`MetricSpec.from_query`)
all get the same :class:`MetricSpec`. Ops and bytes are always asked with ``Stat=Sum``, because
IOPS and MB/s can only be made honestly from a Sum (:mod:`tui.models.metrics.series`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from tui.models.metrics.limits import has_ebs_burst

UnitKind = Literal["iops", "mbps", "percent", "count", "bytes_per_s", "seconds", "raw"]
"""How a series is shown. ``iops``, ``mbps`` and ``bytes_per_s`` are rates made from a Sum."""

LimitKind = Literal[
    "instance_iops",
    "instance_mbps",
    "volume_iops",
    "volume_mbps",
    "burst_balance",
    "instance_io_balance",
    "instance_byte_balance",
]
"""Which limit a series is compared to (the balances tell whether a burst limit still applies)."""

_RATE_KINDS: Final = frozenset({"iops", "mbps", "bytes_per_s"})
_UNIT_LABELS: Final[dict[str, str]] = {
    "iops": "IOPS",
    "mbps": "MB/s",
    "percent": "%",
    "count": "count",
    "bytes_per_s": "B/s",
    "seconds": "s",
    "raw": "",
}

# (namespace, metric name) -> (stat, unit kind, limit kind, combine key). Presets and the
# ListMetrics constructor both read this table, so a query rebuilt from its dict gets the same spec.
_CATALOGUE: Final[dict[tuple[str, str], tuple[str, UnitKind, LimitKind | None, str | None]]] = {
    ("AWS/EC2", "CPUUtilization"): ("Average", "percent", None, None),
    ("AWS/EC2", "NetworkIn"): ("Sum", "bytes_per_s", None, None),
    ("AWS/EC2", "NetworkOut"): ("Sum", "bytes_per_s", None, None),
    ("AWS/EC2", "EBSReadOps"): ("Sum", "iops", "instance_iops", "ebs_ops"),
    ("AWS/EC2", "EBSWriteOps"): ("Sum", "iops", "instance_iops", "ebs_ops"),
    ("AWS/EC2", "EBSReadBytes"): ("Sum", "mbps", "instance_mbps", "ebs_bytes"),
    ("AWS/EC2", "EBSWriteBytes"): ("Sum", "mbps", "instance_mbps", "ebs_bytes"),
    ("AWS/EC2", "EBSIOBalance%"): ("Minimum", "percent", "instance_io_balance", None),
    ("AWS/EC2", "EBSByteBalance%"): ("Minimum", "percent", "instance_byte_balance", None),
    ("AWS/EC2", "StatusCheckFailed"): ("Maximum", "count", None, None),
    ("AWS/EBS", "VolumeReadOps"): ("Sum", "iops", "volume_iops", "volume_ops"),
    ("AWS/EBS", "VolumeWriteOps"): ("Sum", "iops", "volume_iops", "volume_ops"),
    ("AWS/EBS", "VolumeReadBytes"): ("Sum", "mbps", "volume_mbps", "volume_bytes"),
    ("AWS/EBS", "VolumeWriteBytes"): ("Sum", "mbps", "volume_mbps", "volume_bytes"),
    ("AWS/EBS", "VolumeQueueLength"): ("Average", "count", None, None),
    ("AWS/EBS", "BurstBalance"): ("Minimum", "percent", "burst_balance", None),
    ("AWS/EBS", "VolumeThroughputPercentage"): ("Average", "percent", None, None),
    ("AWS/EBS", "VolumeIOPSExceededCheck"): ("Maximum", "count", None, None),
    ("AWS/EBS", "VolumeThroughputExceededCheck"): ("Maximum", "count", None, None),
    ("AWS/EBS", "VolumeTotalReadTime"): ("Sum", "seconds", None, None),
    ("AWS/EBS", "VolumeTotalWriteTime"): ("Sum", "seconds", None, None),
    ("AWS/EBS", "VolumeIdleTime"): ("Sum", "seconds", None, None),
}


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One CloudWatch metric to fetch, and how to show and judge it.

    Attributes:
        namespace: CloudWatch namespace, e.g. ``AWS/EBS``.
        metric_name: Metric name, e.g. ``VolumeReadOps``.
        dimensions: ``(name, value)`` pairs, in request order.
        stat: Statistic requested (``Sum`` for ops and bytes).
        unit_kind: How values are converted and labelled.
        label: Human label, also sent as the query ``Label``.
        limit: The limit the series is compared to, if any.
        combine: Series of one resource sharing this key are summed into a total (read + write).
        parts: Non-empty for a derived total: the metric names it sums. Never queried.
    """

    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    unit_kind: UnitKind
    label: str
    limit: LimitKind | None = None
    combine: str | None = None
    parts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.unit_kind in _RATE_KINDS and self.stat != "Sum":
            raise ValueError(
                f"{self.metric_name}: a {self.unit_kind} series is made from Stat=Sum, not {self.stat}"
            )

    @property
    def resource_id(self) -> str:
        """The volume or instance ID from the dimensions (else the first dimension value)."""
        dims = dict(self.dimensions)
        for key in ("VolumeId", "InstanceId", "NetworkInterfaceId", "TransitGatewayAttachment"):
            if key in dims:
                return dims[key]
        return self.dimensions[0][1] if self.dimensions else ""

    @property
    def unit(self) -> str:
        """Display unit after conversion (``IOPS``, ``MB/s``, ``%``...)."""
        return _UNIT_LABELS[self.unit_kind]

    def metric(self) -> dict[str, Any]:
        """Return the ``Metric`` structure of a GetMetricData ``MetricStat``."""
        return {
            "Namespace": self.namespace,
            "MetricName": self.metric_name,
            "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
        }

    @classmethod
    def from_list_metrics(
        cls, item: Mapping[str, Any], *, stat: str | None = None, label: str | None = None
    ) -> MetricSpec:
        """Build a spec from one ListMetrics ``Metrics[]`` item.

        Known EC2/EBS metrics get their catalogue statistic, unit and limit; anything else is shown
        raw with ``Average`` (or ``stat``). Asking a rate metric for a statistic other than ``Sum``
        shows it raw, since IOPS and MB/s can only be made honestly from a Sum.

        Args:
            item: ``{"Namespace", "MetricName", "Dimensions": [{"Name", "Value"}]}``.
            stat: Statistic to request instead of the default.
            label: Label instead of ``"<resource> <metric>"``.

        Returns:
            The spec.
        """
        namespace = str(item.get("Namespace") or "")
        name = str(item.get("MetricName") or "")
        dims = _dimensions(item.get("Dimensions"))
        known = _CATALOGUE.get((namespace, name))
        unit: UnitKind
        limit: LimitKind | None
        if known is None:
            chosen_stat, unit, limit, combine = stat or "Average", "raw", None, None
        else:
            chosen_stat, unit, limit, combine = known
            if stat is not None and stat != chosen_stat:
                chosen_stat = stat
                if unit in _RATE_KINDS:
                    unit, limit, combine = "raw", None, None
        resource = next((v for _, v in dims), "")
        return cls(
            namespace=namespace,
            metric_name=name,
            dimensions=dims,
            stat=chosen_stat,
            unit_kind=unit,
            label=label or (f"{resource} {name}".strip()),
            limit=limit,
            combine=combine,
        )

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> MetricSpec:
        """Rebuild a spec from a ``MetricDataQueries`` item (the inverse of :func:`build_queries`).

        Expression queries (metric math from elsewhere) become a raw spec named by the expression.
        """
        stat_block = query.get("MetricStat")
        label = query.get("Label")
        if not isinstance(stat_block, Mapping):
            expr = str(query.get("Expression") or query.get("Id") or "")
            return cls("", expr, (), "Average", "raw", str(label or expr))
        metric = stat_block.get("Metric")
        metric = metric if isinstance(metric, Mapping) else {}
        spec = cls.from_list_metrics(metric, stat=str(stat_block.get("Stat") or "Average"))
        return replace(spec, label=str(label)) if label else spec


def _dimensions(raw: object) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    if isinstance(raw, list | tuple):
        for d in raw:
            if isinstance(d, Mapping) and "Name" in d:
                out.append((str(d["Name"]), str(d.get("Value", ""))))
    return tuple(out)


def _preset(namespace: str, name: str, dim: str, resource: str) -> MetricSpec:
    stat, unit, limit, combine = _CATALOGUE[(namespace, name)]
    return MetricSpec(
        namespace, name, ((dim, resource),), stat, unit, f"{resource} {name}", limit, combine
    )


def instance_presets(
    instance_id: str, instance_type_info: Mapping[str, Any] | None
) -> list[MetricSpec]:
    """Metrics to show for an instance.

    Args:
        instance_id: ``i-...``.
        instance_type_info: The DescribeInstanceTypes item of its type, or None if unknown.

    Returns:
        CPUUtilization, NetworkIn/Out, EBSRead/WriteOps, EBSRead/WriteBytes, the EBS balances when
        the type can burst (see :func:`has_ebs_burst`), and StatusCheckFailed. The four EBS
        series are left out for a Xen type (``Hypervisor: xen``): AWS publishes them on Nitro
        only, and GetMetricData bills every metric asked for, empty or not (its limits are then
        judged on its volumes' sum).
    """
    names = ["CPUUtilization", "NetworkIn", "NetworkOut"]
    if not is_xen(instance_type_info):
        names += ["EBSReadOps", "EBSWriteOps", "EBSReadBytes", "EBSWriteBytes"]
    if has_ebs_burst(instance_type_info):
        names += ["EBSIOBalance%", "EBSByteBalance%"]
    names.append("StatusCheckFailed")
    return [_preset("AWS/EC2", n, "InstanceId", instance_id) for n in names]


def is_xen(instance_type_info: Mapping[str, Any] | None) -> bool:
    """Whether DescribeInstanceTypes says the type runs on Xen (m4, c4, r4, t2, i3...)."""
    return (
        isinstance(instance_type_info, Mapping)
        and str(instance_type_info.get("Hypervisor") or "").lower() == "xen"
    )


def volume_presets(volume: Mapping[str, Any]) -> list[MetricSpec]:
    """Metrics to show for a volume.

    Args:
        volume: A DescribeVolumes item (``VolumeId``, ``VolumeType``...).

    Returns:
        Read/write ops and bytes, queue length; BurstBalance for gp2/st1/sc1;
        VolumeThroughputPercentage for io1/io2; the two ExceededCheck metrics for every type but
        ``standard`` (AWS publishes them for all other types on Nitro instances).
    """
    vid = str(volume.get("VolumeId") or "")
    vtype = str(volume.get("VolumeType") or "")
    names = [
        "VolumeReadOps",
        "VolumeWriteOps",
        "VolumeReadBytes",
        "VolumeWriteBytes",
        "VolumeQueueLength",
    ]
    if vtype in ("gp2", "st1", "sc1"):
        names.append("BurstBalance")
    if vtype in ("io1", "io2"):
        names.append("VolumeThroughputPercentage")
    if vtype != "standard":
        names += ["VolumeIOPSExceededCheck", "VolumeThroughputExceededCheck"]
    return [_preset("AWS/EBS", n, "VolumeId", vid) for n in names]
