"""Open a planned flow-log source (:class:`tui.models.flowplan.FlowPlan`) as a stream of batches.

The one way the flows pane, ``hamari flows`` and ``hamari diagnose`` turn a plan into records, so
that an S3 object without a header line is read with its flow log's format everywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from tui.aws.flowlogs import FlowBatch, stream_cloudwatch, stream_local, stream_s3
from tui.aws.session import Aws
from tui.models.flowfilter import FlowFilter
from tui.models.flowplan import FlowPlan
from tui.models.timewindow import TimeWindow

__all__ = ["open_plan"]


def open_plan(
    aws: Aws | None,
    plan: FlowPlan,
    window: TimeWindow | None,
    flt: FlowFilter | None = None,
    *,
    seen: set[str] | None = None,
    follow_from_ms: int | None = None,
) -> AsyncIterator[FlowBatch]:
    """The batches of one planned source.

    Args:
        aws: The open AWS access point (None is fine for a local plan).
        plan: What to read.
        window: The time window; None keeps every record of a local source.
        flt: The filter, pushed down where the source can take it and always applied locally.
        seen: CloudWatch event IDs already read (follow mode).
        follow_from_ms: For follow mode: read CloudWatch from this timestamp on.
    """
    if plan.kind == "local":
        return stream_local(plan.path, window, flt, fmt=plan.fields)
    if aws is None or window is None:
        raise ValueError(f"{plan.label} needs AWS and a time window")
    if plan.kind == "s3":
        return stream_s3(
            aws, plan.bucket, plan.prefix, window, flt, fields=plan.fields, config=plan.config
        )
    assert plan.config is not None
    return stream_cloudwatch(
        aws, plan.config, window, flt, seen=seen, follow_from_ms=follow_from_ms
    )
