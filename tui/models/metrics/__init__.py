"""CloudWatch metric series for EBS and instances, and the limit that binds them (incident 2).

"It was faster on-prem": a migrated instance is slow, CPU and memory look fine, and the cause is an
EBS limit that nobody checked, either on the volume (gp2 burst balance, gp3/io1/io2 provisioned
IOPS and throughput) or on the instance type (EBS-optimized baseline and maximum). This package is
the pure part of that investigation, with no UI and no network, in the order one depends on the
next:

* :mod:`~tui.models.metrics.units`: the MB and MiB AWS states figures in, and number checks;
* :mod:`~tui.models.metrics.limits`: what the limits are (instance type, volume, bursts);
* :mod:`~tui.models.metrics.catalogue`: which metrics to ask for and how each is read;
* :mod:`~tui.models.metrics.series`: how to ask for them and how to read the answer (periods,
  rates, gaps, the resolution the data really has);
* :mod:`~tui.models.metrics.assessment`: which limit binds, as a verdict and findings.

Every public name is re-exported here, so ``from tui.models.metrics import X`` keeps working.
"""

from __future__ import annotations

from tui.models.metrics.assessment import (
    AppliedLimit,
    Assessment,
    LimitHit,
    SeriesAssessment,
    evaluate,
)
from tui.models.metrics.catalogue import (
    LimitKind,
    MetricSpec,
    UnitKind,
    instance_presets,
    volume_presets,
)
from tui.models.metrics.limits import (
    EXHAUSTED_BALANCE_PCT,
    EbsLimits,
    VolumeLimits,
    has_ebs_burst,
    instance_ebs_limits,
    volume_limits,
)
from tui.models.metrics.series import (
    BASIC_MONITORING_PERIOD,
    HIGH_RES_PERIODS,
    MAX_QUERIES_PER_CALL,
    STANDARD_PERIODS,
    Series,
    align_window,
    build_queries,
    choose_period,
    data_note,
    detect_period,
    is_valid_query_id,
    period_text,
    query_period,
    series_from_results,
    split_queries,
    with_totals,
)
from tui.models.metrics.units import MB, MIB, MIB_IN_MB, finite_number, fmt_number, mib_text

__all__ = [
    "BASIC_MONITORING_PERIOD",
    "EXHAUSTED_BALANCE_PCT",
    "HIGH_RES_PERIODS",
    "MAX_QUERIES_PER_CALL",
    "MB",
    "MIB",
    "MIB_IN_MB",
    "STANDARD_PERIODS",
    "AppliedLimit",
    "Assessment",
    "EbsLimits",
    "LimitHit",
    "LimitKind",
    "MetricSpec",
    "Series",
    "SeriesAssessment",
    "UnitKind",
    "VolumeLimits",
    "align_window",
    "build_queries",
    "choose_period",
    "data_note",
    "detect_period",
    "evaluate",
    "finite_number",
    "fmt_number",
    "has_ebs_burst",
    "instance_ebs_limits",
    "instance_presets",
    "is_valid_query_id",
    "mib_text",
    "period_text",
    "query_period",
    "series_from_results",
    "split_queries",
    "volume_limits",
    "volume_presets",
    "with_totals",
]
