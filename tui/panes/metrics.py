"""CloudWatch pane: a target's EBS and instance series drawn against the limits that bind.

Incident 2 ("it was faster on-prem") is solved by looking at IOPS and MB/s *next to the limit that
caps them*, on the volume and on the instance type. The pane therefore shows, for one target:

* the one-line verdict of :func:`tui.models.metrics.evaluate` at the top (which limit binds);
* one row per series: a short label, a :class:`~widgets.sparkline.LeanSparkline` scaled to the
  limit, the latest value in an honest unit, and its percentage of the limit; a row at the limit
  gets the ``-saturated`` class *and* a ``▲`` (a burst balance at zero gets ``!``), so the meaning
  does not rest on colour;
* read and write are summed into a total, which is what the limits apply to; the parts are shown
  with ``d``.

Keys: ``t`` target list, ``a`` or ``:`` type an ID or Name tag, ``m`` add any metric found with
ListMetrics, ``d`` details, enter on a row opens the chart, ``←/→`` on a row move the shared time
cursor along its datapoints (every row marks the instant in its sparkline). All AWS work runs in the base pane's
poll loop (one GetMetricData per refresh) or in named exclusive workers; the widgets only receive
values (data down) and post messages (messages up).

The pane also runs the fleet-wide EBS limits sweep (:class:`tui.aws.fleet.FleetSweep`) in its own
worker, at a cadence of minutes paced by the metrics budget, hidden or not, and opens on the
sweep's worst instance. The sweep's assessment and the target's result live in a
:class:`~tui.evidence.metrics.MetricsEvidence` the main screen owns and passes down: this pane fills
it and draws from it; the findings, the bundle and replay read it, whatever target is shown.

Size (~1,140 lines): the pure row formatting (series_key ... row_view) is the seam; left whole while
another change edits this pane.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.aws.errors import CredentialsError, HamariError, InvalidRequestError, NotFoundError
from tui.aws.fleet import FleetSweep
from tui.aws.metrics import MetricsResult, MetricsSource, Target, TargetSummary, classify
from tui.crash import redact
from tui.evidence.metrics import MetricsEvidence
from tui.host import host
from tui.models.bundle import MetricsSnapshot
from tui.models.findings import Evidence
from tui.models.fleet import SWEEP_SECONDS, FleetAssessment, sweep_interval
from tui.models.metrics.assessment import SeriesAssessment
from tui.models.metrics.catalogue import MetricSpec
from tui.models.metrics.limits import EXHAUSTED_BALANCE_PCT
from tui.models.metrics.series import data_note
from tui.models.metrics.units import fmt_number, format_value
from tui.models.text import clip, display_safe, name_label
from tui.models.timewindow import TimeWindow
from tui.panes.base import Pane
from widgets.sparkline import LeanSparkline

if TYPE_CHECKING:
    from tui.aws.session import Aws

# Re-discover the target (attachments, types) this often, so a volume detached mid-session shows.
REDISCOVER_SECONDS = 300.0
# The first target waits this long for the first fleet sweep, to open on its worst instance.
FIRST_SWEEP_WAIT = 20.0

_SHORT: dict[str, str] = {
    "CPUUtilization": "CPU",
    "NetworkIn": "net in",
    "NetworkOut": "net out",
    "EBSReadOps": "EBS rd ops",
    "EBSWriteOps": "EBS wr ops",
    "EBSReadBytes": "EBS rd MB/s",
    "EBSWriteBytes": "EBS wr MB/s",
    "EBSIOBalance%": "EBS IO bal",
    "EBSByteBalance%": "EBS B bal",
    "StatusCheckFailed": "status chk",
    "VolumeReadOps": "read IOPS",
    "VolumeWriteOps": "write IOPS",
    "VolumeReadBytes": "read MB/s",
    "VolumeWriteBytes": "write MB/s",
    "VolumeQueueLength": "queue",
    "BurstBalance": "burst bal",
    "VolumeThroughputPercentage": "tput %",
    "VolumeIOPSExceededCheck": "IOPS exceed",
    "VolumeThroughputExceededCheck": "tput exceed",
    "BytesIn": "bytes in",
    "BytesOut": "bytes out",
    "PacketsIn": "pkts in",
    "PacketsOut": "pkts out",
    "PacketDropCountBlackhole": "drop blackh",
    "PacketDropCountNoRoute": "drop noroute",
}
_BALANCE_KINDS = frozenset({"burst_balance", "instance_io_balance", "instance_byte_balance"})
LABEL_WIDTH = 11


def series_key(spec: MetricSpec) -> str:
    """A stable key for a series across refreshes (used for widget reuse and the chart)."""
    dims = ",".join(f"{n}={v}" for n, v in spec.dimensions)
    return f"{spec.namespace}|{spec.metric_name}|{dims}|{spec.stat}"


def short_label(spec: MetricSpec) -> str:
    """A label that fits in :data:`LABEL_WIDTH` cells (raw; made display-safe by the caller)."""
    if spec.parts:
        return f"EBS {spec.unit}" if spec.namespace == "AWS/EC2" else spec.unit
    return _SHORT.get(spec.metric_name, spec.metric_name)


@dataclass(frozen=True, slots=True)
class RowView:
    """What one series row shows: pure values, computed from an assessment row."""

    key: str
    resource_id: str
    label: str
    data: tuple[float | None, ...]
    limit: float | None
    value: str
    percent: str
    symbol: str
    saturated: bool
    stale: bool
    error: str
    timestamps: tuple[datetime, ...] = ()


def nearest_point(
    timestamps: Sequence[datetime], when: datetime | None, period: float | None = 0.0
) -> int | None:
    """Index of the datapoint nearest ``when``.

    None when ``when`` is None, or more than ``period`` seconds outside the series (``period``
    None: never outside).
    """
    if when is None or not timestamps:
        return None
    if period is not None:
        slack = timedelta(seconds=period)
        if when < timestamps[0] - slack or when > timestamps[-1] + slack:
            return None
    i = bisect.bisect_left(timestamps, when)
    candidates = [j for j in (i - 1, i) if 0 <= j < len(timestamps)]
    return min(candidates, key=lambda j: abs((timestamps[j] - when).total_seconds()))


def row_view(row: SeriesAssessment, *, stale: bool = False) -> RowView:
    """Turn an assessment row into display values (pure, for tests and reuse)."""
    s = row.series
    spec = s.spec
    limit = row.limit.value if row.limit is not None else None
    value = format_value(row.latest, s.unit)
    percent = ""
    symbol = ""
    saturated = row.saturated
    if row.percent is not None and math.isfinite(row.percent):
        percent = f"{row.percent:.0f}%"
        if row.saturated:
            symbol = "▲"
    elif (
        spec.limit in _BALANCE_KINDS
        and row.latest is not None
        and row.latest <= EXHAUSTED_BALANCE_PCT
    ):
        symbol = "!"
        saturated = True
    error = ""
    if not s.ok:
        error = f"{s.status}: {s.message}" if s.message else s.status
    elif s.status == "PartialData":
        error = "partial data"
    if s.messages and not error:
        error = "; ".join(v for _, v in s.messages if v)
    return RowView(
        series_key(spec),
        spec.resource_id,
        short_label(spec),
        s.values,
        limit,
        value,
        percent,
        symbol,
        saturated,
        stale or s.stale,
        error,
        s.timestamps,
    )


class SeriesRow(Widget, can_focus=True):
    """One series: label, sparkline against its limit, latest value and percent of the limit."""

    DEFAULT_CSS = """
    SeriesRow { layout: horizontal; height: 1; width: 1fr; }
    SeriesRow:focus { background: $boost; }
    SeriesRow:focus > .series-label { text-style: bold reverse; }
    SeriesRow > .series-label { width: 12; }
    SeriesRow > LeanSparkline { width: 1fr; min-width: 6; }
    SeriesRow > .series-value { width: 20; padding-left: 1; }
    SeriesRow.-saturated > .series-value { color: $error; text-style: bold; }
    SeriesRow.-error > .series-value { color: $warning; }
    """

    BINDINGS = [
        Binding("enter", "open_chart", "Chart", id="metrics.chart", tooltip="Chart this series"),
        Binding("j,down", "app.focus_next", "Down", show=False),
        Binding("k,up", "app.focus_previous", "Up", show=False),
        Binding(
            "left,h",
            "step(-1)",
            "◀",
            show=False,
            id="metrics.cursor_left",
            tooltip="Time cursor: earlier datapoint",
        ),
        Binding(
            "right,l",
            "step(1)",
            "▶",
            show=False,
            id="metrics.cursor_right",
            tooltip="Time cursor: later datapoint",
        ),
    ]

    class CursorStepped(Message):
        """The user moved along this row's datapoints (the pane turns it into a time cursor)."""

        def __init__(self, row: SeriesRow, step: int) -> None:
            super().__init__()
            self.row = row
            self.step = step

        @property
        def control(self) -> SeriesRow:
            return self.row

    class ChartRequested(Message):
        """The user asked for the full chart of this row's series."""

        def __init__(self, row: SeriesRow) -> None:
            super().__init__()
            self.row = row

        @property
        def control(self) -> SeriesRow:
            return self.row

    def __init__(self, view: RowView) -> None:
        classes = " ".join(
            name for name, on in (("-saturated", view.saturated), ("-error", view.error)) if on
        )
        super().__init__(classes=classes)
        self.view = view
        self.marker_at: datetime | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._label(), classes="series-label", markup=False)
        yield LeanSparkline(
            self.view.data,
            limit=self.view.limit,
            gap=" ",
            marker=self._marker_index(),
            classes="-stale" if self.view.stale else None,
        )
        yield Static(self._value(), classes="series-value", markup=False)

    def _marker_index(self) -> int | None:
        period = 0.0
        ts = self.view.timestamps
        if len(ts) >= 2:
            period = (ts[1] - ts[0]).total_seconds()
        return nearest_point(ts, self.marker_at, period)

    def set_time_cursor(self, when: datetime | None) -> None:
        """Mark the datapoint nearest ``when`` in the sparkline (None removes the mark)."""
        self.marker_at = when
        if self.is_mounted:
            self.query_one(LeanSparkline).set_marker(self._marker_index())

    def action_step(self, step: int) -> None:
        self.post_message(self.CursorStepped(self, step))

    def on_mount(self) -> None:
        self._apply_classes()

    def _label(self) -> Text:
        return Text(clip(display_safe(self.view.label), LABEL_WIDTH), no_wrap=True)

    def _value(self) -> Text:
        v = self.view
        text = Text(no_wrap=True, overflow="ellipsis")
        if v.error and v.value == "no data":
            text.append(display_safe(v.error))
            return text
        text.append(v.value)
        if v.percent:
            text.append(f" {v.percent}")
        if v.symbol:
            text.append(f" {v.symbol}", style="bold")
        if v.error:
            text.append(f" ⚠ {display_safe(v.error)}")
        return text

    def _apply_classes(self) -> None:
        self.set_class(self.view.saturated, "-saturated")
        self.set_class(bool(self.view.error), "-error")
        self.query_one(LeanSparkline).set_class(self.view.stale, "-stale")

    def update_view(self, view: RowView) -> None:
        """New values for the same series; widgets are updated only where something changed."""
        old, self.view = self.view, view
        spark = self.query_one(LeanSparkline)
        spark.update(view.data, limit=view.limit)
        spark.set_marker(self._marker_index())
        if (old.label, old.value, old.percent, old.symbol, old.error) != (
            view.label,
            view.value,
            view.percent,
            view.symbol,
            view.error,
        ):
            self.query_one(".series-label", Static).update(self._label())
            self.query_one(".series-value", Static).update(self._value())
        self._apply_classes()

    def action_open_chart(self) -> None:
        self.post_message(self.ChartRequested(self))


class ResourceHeader(Static):
    """The resource the following rows belong to, with the limits that apply to it."""

    DEFAULT_CSS = """
    ResourceHeader { height: 1; color: $text-muted; text-style: bold; }
    """

    def show(self, text: Text) -> None:
        """Update only when the text changed (nothing is written to the terminal otherwise)."""
        if text != self.content:
            self.update(text)


def _resource_header(target: Target, resource_id: str, result: MetricsResult) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(display_safe(resource_id))
    if target.instance is not None and resource_id == target.resource_id:
        if name_label(target.name):
            text.append(f" {name_label(target.name)}")
        text.append(f" {display_safe(target.instance_type)}")
        lim = result.assessment.instance_limits
        if lim is not None:
            text.append(
                f" EBS {fmt_number(lim.baseline_iops)}/{fmt_number(lim.maximum_iops)} IOPS"
                f" {fmt_number(lim.baseline_mbps)}/{fmt_number(lim.maximum_mbps)} MB/s",
                style="not bold",
            )
        elif target.instance_type_info is None:
            text.append(" (type limits unknown)", style="not bold")
        return text
    vol = target.volume(resource_id)
    vlim = result.assessment.volume_limits.get(resource_id)
    if vol is not None:
        name = name_label(target.name) if target.kind == "volume" else ""
        if name:
            text.append(f" {name}")
        text.append(f" {display_safe(vol.get('VolumeType'))} {display_safe(vol.get('Size'))} GiB")
    if vlim is not None:
        parts = []
        if vlim.baseline_iops is not None:
            burst = f"→{fmt_number(vlim.burst_iops)}" if vlim.burst_iops else ""
            parts.append(f"{fmt_number(vlim.baseline_iops)}{burst} IOPS")
        if vlim.baseline_mibps is not None:
            parts.append(f"{fmt_number(vlim.baseline_mibps)} MiB/s")
        if parts:
            text.append(" " + " ".join(parts), style="not bold")
    return text


def _target_option(t: TargetSummary) -> Option:
    text = Text(no_wrap=True, overflow="ellipsis")
    mark = "●" if t.state in ("running", "in-use") else "○"
    text.append(f"{mark} ")
    text.append(display_safe(t.resource_id), style="bold")
    if name_label(t.name):
        text.append(f" {name_label(t.name, 24)}")
    text.append(f"  {display_safe(t.detail)} {display_safe(t.state)}", style="dim")
    return Option(text, id=t.resource_id)


class MetricsPane(Pane):
    """Live metrics against the limits that bind."""

    title = "CloudWatch"
    HELP_WIDGETS: ClassVar[tuple[type, ...]] = (SeriesRow,)  # ? lists a row's keys (enter)
    key = "2"

    DEFAULT_CSS = """
    MetricsPane > #metrics-verdict { height: auto; max-height: 2; }
    MetricsPane > #metrics-verdict.-bound { color: $error; text-style: bold; }
    MetricsPane > #metrics-message { height: auto; max-height: 3; color: $warning; display: none; }
    MetricsPane > #metrics-message.-shown { display: block; }
    MetricsPane > ContentSwitcher { height: 1fr; }
    MetricsPane #metrics-rows { height: 1fr; scrollbar-size-vertical: 1; }
    MetricsPane #metrics-picker, MetricsPane #metrics-adder { height: 1fr; border: none; }
    MetricsPane > #metrics-input { display: none; height: 3; }
    MetricsPane > #metrics-input.-shown { display: block; }
    MetricsPane .metrics-more { height: 1; color: $text-muted; }
    """

    BINDINGS: ClassVar = [
        Binding("t", "targets", "Targets", id="metrics.targets", tooltip="Pick an instance/volume"),
        Binding("a", "type_id", "ID", id="metrics.type_id", tooltip="Type an ID or Name tag"),
        Binding("m", "add_metric", "+Metric", id="metrics.add", tooltip="Add any metric"),
        Binding("d", "details", "Details", id="metrics.details", tooltip="Read/write parts"),
        Binding("escape", "back", "Back", show=False),
    ]

    class TargetChosen(Message):
        """The user chose a target (the screen may make it the focused resource)."""

        def __init__(self, pane: MetricsPane, resource_id: str) -> None:
            super().__init__()
            self.pane = pane
            self.resource_id = resource_id

        @property
        def control(self) -> MetricsPane:
            return self.pane

    class TimeCursorMoved(Message):
        """The user moved along a series' datapoints: that instant is the shared time cursor."""

        def __init__(self, pane: MetricsPane, when: datetime) -> None:
            super().__init__()
            self.pane = pane
            self.when = when

        @property
        def control(self) -> MetricsPane:
            return self.pane

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, MetricsPane.TimeCursorMoved)

    class WindowSelected(Message):
        """The user selected a span on a chart: it becomes the shared window (fixed)."""

        def __init__(self, pane: MetricsPane, window: TimeWindow) -> None:
            super().__init__()
            self.pane = pane
            self.window = window

        @property
        def control(self) -> MetricsPane:
            return self.pane

    class DataChanged(Message):
        """A new result (series and assessment) arrived (findings are recomputed from it)."""

        def __init__(self, pane: MetricsPane) -> None:
            super().__init__()
            self.pane = pane

        @property
        def control(self) -> MetricsPane:
            return self.pane

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, MetricsPane.DataChanged)

    def __init__(
        self,
        *,
        evidence: MetricsEvidence | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        # The target's result and the fleet sweep are the screen's, shared with the findings
        # and the bundle; this pane fills them and draws the target.
        self.evidence = evidence if evidence is not None else MetricsEvidence()
        self.source: MetricsSource | None = None
        self.targets: list[TargetSummary] | None = None
        self.requested_id: str | None = None
        self.target: Target | None = None
        self.extra: list[MetricSpec] = []
        self.show_details = False
        self._discovered_at = 0.0
        self._reload_targets = False
        self._row_keys: tuple[str, ...] = ()
        self._chart_key: str | None = None
        self._available: dict[str, MetricSpec] = {}
        self._last_status: Text | None = None
        # The trouble a retried refresh met: said first in the stale status line (the
        # base's "retrying" line is replaced by the last values' line).
        self._failure: HamariError | None = None
        self._evidence_key: str | None = None
        self._posted_cursor: datetime | None = None
        self.replaying = False
        self._swept = asyncio.Event()
        self._sweep_wake = asyncio.Event()

    # -- layout --------------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        yield Static("", id="metrics-verdict", markup=False)
        yield Static("", id="metrics-message", markup=False)
        with ContentSwitcher(initial="metrics-rows"):
            yield VerticalScroll(id="metrics-rows", can_focus=False)
            yield OptionList(id="metrics-picker")
            yield OptionList(id="metrics-adder")
        yield Input(placeholder="i-…, vol-…, eni-…, tgw-attach-… or Name tag", id="metrics-input")

    def on_mount(self) -> None:
        super().on_mount()
        for lister in self.query(OptionList):
            lister.can_focus = False  # the rows are shown first
        self._show_input(False)

    def has_data(self) -> bool:
        return self.evidence.has_data()

    # -- the evidence, read through ---------------------------------------------------------------

    @property
    def result(self) -> MetricsResult | None:
        """The target's last result (the evidence's)."""
        return self.evidence.result

    @property
    def fleet(self) -> FleetAssessment | None:
        """The last fleet-wide sweep (the evidence's)."""
        return self.evidence.fleet

    # -- the poll loop's work ------------------------------------------------------------------

    async def refresh_data(self) -> None:
        """Targets once, discovery when needed, then one GetMetricData for the whole target."""
        assert self.aws is not None and self.window is not None
        if self.source is None:
            self.source = MetricsSource(self.aws)
        if self.targets is None or self._reload_targets:
            self._reload_targets = False
            self.targets = await self.source.list_targets()
            self._fill_picker(self.targets)
        if self.requested_id is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._swept.wait(), FIRST_SWEEP_WAIT)
            self.requested_id = self._default_target(self.targets)
            if self.requested_id is None:
                self.set_status("no instances or volumes in this region")
                self._switch("metrics-picker")
                return
        wanted = self.requested_id
        fresh = time.monotonic() - self._discovered_at < REDISCOVER_SECONDS
        if self.target is None or wanted not in self._target_names(self.target) or not fresh:
            try:
                target = await self.source.discover(wanted)
            except (NotFoundError, InvalidRequestError) as err:
                self._discovery_failed(err)
                return
            if self.target is None or target.resource_id != self.target.resource_id:
                self.evidence.result = None
                self.extra = [s for s in self.extra if s.resource_id in _ids(target)]
            if target.resource_id != (self.target.resource_id if self.target else None):
                self._show_message(None)
            self.target = target
            self._discovered_at = time.monotonic()
            self.requested_id = target.resource_id
            self.post_message(self.TargetChosen(self, target.resource_id))
        now = self._now()
        window = self.window.at(now) if self.window.live else self.window
        result = await self.source.fetch(
            self.target, window.start, window.end, now=now, extra=self.extra
        )
        self.evidence.result = result
        self._render_result(result, stale=False)
        self.post_message(self.DataChanged(self))
        if self._evidence_key is not None:
            self.call_after_refresh(self._refocus, self._evidence_key)
            self._evidence_key = None

    # -- the fleet sweep -------------------------------------------------------------------------

    def start(self, aws: Aws, *, refresh_seconds: float, idle_pause_seconds: float) -> None:
        """As the base, and the fleet sweep in its own worker."""
        super().start(aws, refresh_seconds=refresh_seconds, idle_pause_seconds=idle_pause_seconds)
        self._sweep_loop()

    def watch_window(self, old: TimeWindow | None, new: TimeWindow | None) -> None:
        super().watch_window(old, new)
        self._sweep_wake.set()

    def credentials_renewed(self) -> None:
        super().credentials_renewed()
        self._sweep_wake.set()  # the sweep waited for them too

    @work(exclusive=True, group="fleet", exit_on_error=False, description="fleet")
    async def _sweep_loop(self) -> None:
        """Sweep the fleet now and then every few minutes (longer when the budget says so).

        It runs while the pane is hidden (findings need it) but not while the user is idle or
        the hourly budget is spent, like every poll loop.
        """
        assert self.aws is not None
        sweeper = FleetSweep(self.aws)
        floor = min(SWEEP_SECONDS, self.refresh_seconds * 12)
        while True:
            self._sweep_wake.clear()
            idle = time.monotonic() - host(self).last_input_at
            if self.window is not None and not self.over_budget and idle <= self.idle_pause_seconds:
                try:
                    now = self._now()
                    window = self.window.at(now) if self.window.live else self.window
                    self.evidence.swept(await sweeper.sweep(window.start, window.end, now=now))
                    self.post_message(self.DataChanged(self))
                except HamariError as err:
                    self.evidence.fleet_error = err
                    if isinstance(err, CredentialsError):  # until r renews them (no storm)
                        self._swept.set()
                        self._sweep_wake.clear()
                        await self._sweep_wake.wait()
                        continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug must not end the sweep silently
                    self.evidence.fleet_error = HamariError(
                        f"fleet sweep: {type(exc).__name__}: {exc}",
                        hint="This is a bug in hamari; the pane keeps working.",
                    )
                finally:
                    self._swept.set()
            budget = float(host(self).settings.budget_metrics_per_hour or 0)
            delay = sweep_interval(sweeper.last_metrics, budget, floor=floor)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sweep_wake.wait(), timeout=delay)

    def _fleet_text(self) -> str:
        """The sweep in a few words for the status line."""
        return self.evidence.fleet_text()

    def show_evidence(self, evidence: Evidence) -> None:
        """Show the evidence's target (its ``query``) and focus its series row."""
        wanted = evidence.query
        current = self.target is not None and (
            wanted is None
            or wanted in self._target_names(self.target)
            or wanted in _ids(self.target)
        )
        self._switch("metrics-rows")
        if current:
            if evidence.record_key:
                self.call_after_refresh(self._refocus, evidence.record_key)
            return
        assert wanted is not None
        self._evidence_key = evidence.record_key
        self.choose(wanted)

    def on_failure(self, err: HamariError) -> None:
        """Keep the last values, drawn stale; the base shows the panel or the status."""
        self._failure = err if err.transient else None  # a refusal has the panel
        super().on_failure(err)
        if self.result is not None:
            self._render_result(self.result, stale=True)

    def on_stale_changed(self, stale: bool) -> None:
        """A refresh overdue (a black-holed endpoint holds the call): the rows and the status
        line say STALE now, not only once the call finally fails."""
        if self.result is not None:
            self._render_result(self.result, stale=stale)

    def set_status(self, text: Text | str) -> None:
        """As the base, but nothing is redrawn when the line did not change."""
        line = text if isinstance(text, Text) else Text(text)
        if line == self._last_status:
            return
        self._last_status = line
        super().set_status(line)

    def _now(self) -> datetime:
        return host(self).clock()

    def _default_target(self, targets: Sequence[TargetSummary]) -> str | None:
        """The fleet sweep's worst instance, else the first running instance, else anything."""
        worst = self.evidence.worst
        if worst is not None:
            return worst.item.instance_id
        running = next((t for t in targets if t.kind == "instance" and t.state == "running"), None)
        if running is not None:
            return running.resource_id
        return targets[0].resource_id if targets else None

    @staticmethod
    def _target_names(target: Target) -> set[str]:
        names = {target.resource_id}
        if target.name:
            names.add(target.name)
        return names

    def _discovery_failed(self, err: HamariError) -> None:
        """A typed ID that does not exist: say so, keep showing the previous target."""
        self._show_message(err)
        if self.target is not None:
            self.requested_id = self.target.resource_id
        else:
            self.requested_id = None
            self._switch("metrics-picker")

    # -- rendering -----------------------------------------------------------------------------

    def _visible_rows(self, result: MetricsResult) -> tuple[list[SeriesAssessment], int]:
        """Rows to show in order, and how many were hidden (parts and empty series)."""
        rows = list(result.assessment.rows)
        totals = {
            (r.series.spec.resource_id, r.series.spec.namespace, p)
            for r in rows
            for p in r.series.spec.parts
        }
        order = [result.target.resource_id] + [
            str(v.get("VolumeId")) for v in result.target.volumes
        ]

        def rank(r: SeriesAssessment) -> tuple[int, int, int]:
            spec = r.series.spec
            res = order.index(spec.resource_id) if spec.resource_id in order else len(order)
            if spec.parts:
                kind = 0
            elif spec.limit in _BALANCE_KINDS:
                kind = 1
            elif spec.namespace not in ("AWS/EC2", "AWS/EBS", "AWS/TransitGateway"):
                kind = 3
            else:
                kind = 2
            return res, kind, rows.index(r)

        shown: list[SeriesAssessment] = []
        hidden = 0
        for r in sorted(rows, key=rank):
            spec = r.series.spec
            is_part = (spec.resource_id, spec.namespace, spec.metric_name) in totals
            empty = not r.series.values and r.series.ok
            if not self.show_details and (is_part or empty):
                hidden += 1
                continue
            shown.append(r)
        return shown, hidden

    def _render_result(self, result: MetricsResult, *, stale: bool) -> None:
        assessment = result.assessment
        verdict = self.query_one("#metrics-verdict", Static)
        text = Text()
        if assessment.binding is not None:
            text.append("▲ ", style="bold")
        text.append(display_safe(assessment.verdict))
        more = len(assessment.findings) - 1
        if more > 0:
            text.append(f"  (+{more} more ▲/! below)", style="dim")
        if text != verdict.content:
            verdict.update(text)
        verdict.set_class(assessment.binding is not None, "-bound")

        target = result.target
        status = Text(no_wrap=True, overflow="ellipsis")
        # What matters first: a narrow pane cuts the line at its end (STALE was cut there).
        if not stale:
            self._failure = None
            status.append("◎ ")
        else:
            status.append("⚠ STALE", style="bold reverse")
            if self._failure is not None:
                said = display_safe(redact(self._failure.message))
                status.append(f" {said} — retrying", style="yellow")
            status.append(" · ")
        if name_label(target.name):  # a Name of only blanks would push the id off the line
            status.append(name_label(target.name) + " ", style="bold")
        status.append(display_safe(target.resource_id))
        if target.instance_type:
            status.append(f" {display_safe(target.instance_type)}")
        if target.state:
            status.append(f" {display_safe(target.state)}")
        status.append(f" · {data_note(result.series, result.period)}")
        if target.note:
            status.append(f" · {display_safe(target.note)}")
        if self._fleet_text():
            status.append(f" · {self._fleet_text()}")
        status.append(f" · {len(result.series)} series · {result.requests} req")
        self.set_status(status)

        shown, hidden = self._visible_rows(result)
        views = [row_view(r, stale=stale) for r in shown]
        self._update_rows(target, result, views, hidden)
        self._feed_chart(result, stale)

    def _update_rows(
        self, target: Target, result: MetricsResult, views: list[RowView], hidden: int
    ) -> None:
        """Reuse row widgets when the same series are shown (no remount, no flicker)."""
        container = self.query_one("#metrics-rows", VerticalScroll)
        keys = (*(v.key for v in views), f"hidden={hidden}")
        if keys == self._row_keys:
            for row, view in zip(container.query(SeriesRow), views, strict=False):
                row.update_view(view)
            for header in container.query(ResourceHeader):
                header.show(_resource_header(target, str(header.name), result))
            return
        focused_key = self.app.focused.view.key if isinstance(self.app.focused, SeriesRow) else None
        self._row_keys = keys
        widgets: list[Widget] = []
        current: str | None = None
        for view in views:
            if view.resource_id != current:
                current = view.resource_id
                widgets.append(
                    ResourceHeader(
                        _resource_header(target, current, result), name=current, markup=False
                    )
                )
            row = SeriesRow(view)
            row.marker_at = self.time_cursor
            widgets.append(row)
        if hidden:
            widgets.append(
                Static(
                    Text(f"{hidden} more series (read/write parts, no data): d shows them"),
                    classes="metrics-more",
                    markup=False,
                )
            )
        with self.app.batch_update():
            removed = container.remove_children()
            mounted = container.mount_all(widgets)
        if focused_key is not None or self._should_take_focus():

            async def refocus_new_rows() -> None:
                # Only once the old rows are gone: focusing one of them (same key) lost the
                # focus when it was removed, and the pane's keys (t, a, m, d) did nothing.
                await removed
                await mounted
                self._refocus(focused_key)

            self.call_after_refresh(refocus_new_rows)

    def _should_take_focus(self) -> bool:
        """Focus the first row when this pane is active and nothing useful has the focus."""
        if not self.has_class("-active"):
            return False
        if self.query_one(ContentSwitcher).current != "metrics-rows":
            return False
        focused = self.app.focused
        if focused is None or not focused.display:
            return True
        return self in focused.ancestors and not isinstance(focused, SeriesRow | Input)

    def _refocus(self, key: str | None) -> None:
        rows = list(self.query(SeriesRow))
        if not rows:
            return
        match = next((r for r in rows if r.view.key == key), rows[0])
        match.focus(scroll_visible=True)

    def _show_message(self, err: HamariError | None) -> None:
        message = self.query_one("#metrics-message", Static)
        if err is None:
            message.remove_class("-shown")
            return
        text = Text()
        text.append(f"{err.title}: ", style="bold")
        text.append(display_safe(err.message))
        if err.hint:
            text.append(f"\n→ {display_safe(err.hint)}")
        message.update(text)
        message.add_class("-shown")

    def _show_input(self, shown: bool) -> Input:
        """Show or hide the ID box; hidden, it cannot take the focus (keys would vanish in it)."""
        box = self.query_one("#metrics-input", Input)
        box.set_class(shown, "-shown")
        box.can_focus = shown
        return box

    def _switch(self, which: str) -> None:
        self.query_one(ContentSwitcher).current = which
        for lister in self.query(OptionList):
            # A hidden list must not take the focus (the screen focuses a pane's first
            # focusable widget): keys such as d would go nowhere.
            lister.can_focus = lister.id == which
        if which != "metrics-rows":
            self.query_one(f"#{which}", OptionList).focus()

    def _fill_picker(self, targets: Sequence[TargetSummary]) -> None:
        picker = self.query_one("#metrics-picker", OptionList)
        index = picker.highlighted
        keep = picker.get_option_at_index(index).id if index is not None else self.requested_id
        picker.clear_options()
        picker.add_options([_target_option(t) for t in targets])
        ids = [t.resource_id for t in targets]
        if keep in ids:
            picker.highlighted = ids.index(keep)

    # -- the chart -----------------------------------------------------------------------------

    @on(SeriesRow.ChartRequested)
    def _open_chart(self, event: SeriesRow.ChartRequested) -> None:
        from tui.dialogs.chart import ChartScreen

        event.stop()
        if self.result is None:
            return
        found = self._assessment_row(event.row.view.key)
        if found is None:
            return
        row = found
        self._chart_key = event.row.view.key
        title = f"{display_safe(row.series.spec.resource_id)} {display_safe(row.series.spec.metric_name)}"
        self.app.push_screen(
            ChartScreen(
                self._chart_key,
                title,
                row.series,
                limit=row.limit.value if row.limit else None,
                limit_label=row.limit.label if row.limit else "",
                window=(self.result.start, self.result.end),
                cursor=self.time_cursor,
                utc=self.utc,
                on_cursor=self._chart_cursor,
            ),
            callback=self._chart_closed,
        )

    def _chart_cursor(self, when: datetime) -> None:
        self._set_markers(when)
        self._posted_cursor = when
        self.post_message(self.TimeCursorMoved(self, when))

    def _chart_closed(self, span: TimeWindow | None = None) -> None:
        self._chart_key = None
        if span is not None:
            self.post_message(self.WindowSelected(self, span))

    def _assessment_row(self, key: str) -> SeriesAssessment | None:
        if self.result is None:
            return None
        return next(
            (r for r in self.result.assessment.rows if series_key(r.series.spec) == key), None
        )

    def _feed_chart(self, result: MetricsResult, stale: bool) -> None:
        from tui.dialogs.chart import ChartScreen

        screen = self.app.screen
        if self._chart_key is None or not isinstance(screen, ChartScreen):
            return
        row = self._assessment_row(self._chart_key)
        if row is None or screen.key != self._chart_key:
            return
        series = row.series.mark_stale() if stale else row.series
        screen.update_series(
            series,
            limit=row.limit.value if row.limit else None,
            limit_label=row.limit.label if row.limit else "",
            window=(result.start, result.end),
        )

    # -- keys ----------------------------------------------------------------------------------

    def _replay_refuses(self) -> bool:
        if self.replaying:
            self.app.notify(
                "A replay shows what was saved: other targets and metrics need AWS.",
                markup=False,
                timeout=4,
            )
        return self.replaying

    def action_targets(self) -> None:
        """Show the target list (reloaded at the next refresh)."""
        if self._replay_refuses():
            return
        self._reload_targets = True
        self._switch("metrics-picker")
        self.wake()

    def action_type_id(self) -> None:
        if self._replay_refuses():
            return
        box = self._show_input(True)
        box.value = ""
        box.focus()

    def action_details(self) -> None:
        self.show_details = not self.show_details
        if self.result is not None:
            self._render_result(self.result, stale=self.has_class("-stale"))

    def action_add_metric(self) -> None:
        if self._replay_refuses() or self.target is None:
            return
        adder = self.query_one("#metrics-adder", OptionList)
        adder.clear_options()
        adder.add_option(Option(Text("asking ListMetrics…"), disabled=True))
        self._switch("metrics-adder")
        self._load_available(self.target)

    def action_back(self) -> None:
        box = self.query_one("#metrics-input", Input)
        if (
            not box.has_class("-shown")
            and self.query_one(ContentSwitcher).current == "metrics-rows"
        ):
            raise SkipAction()  # nothing to go back from: esc reaches the screen
        self._show_input(False)
        self._switch("metrics-rows")
        self._refocus(None)

    @work(
        exclusive=True,
        group="metrics-listmetrics",
        exit_on_error=False,
        description="metrics-listmetrics",
    )
    async def _load_available(self, target: Target) -> None:
        """ListMetrics for the target's resources, into the adder list."""
        assert self.source is not None
        adder = self.query_one("#metrics-adder", OptionList)
        try:
            specs = await self.source.available_metrics(target)
        except HamariError as err:
            adder.clear_options()
            adder.add_option(
                Option(Text(f"{err.title}: {display_safe(err.message)}"), disabled=True)
            )
            return
        self._available = {series_key(s): s for s in specs}
        adder.clear_options()
        if not specs:
            adder.add_option(Option(Text("no other metric for this target"), disabled=True))
            return
        for spec in specs:
            text = Text(no_wrap=True, overflow="ellipsis")
            text.append(display_safe(spec.namespace) + " ", style="dim")
            text.append(display_safe(spec.metric_name), style="bold")
            dims = " ".join(f"{n}={v}" for n, v in spec.dimensions)
            text.append(f" {display_safe(dims)}", style="dim")
            adder.add_option(Option(text, id=series_key(spec)))

    @on(OptionList.OptionSelected, "#metrics-picker")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.choose(event.option.id)

    @on(OptionList.OptionSelected, "#metrics-adder")
    def _added(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        spec = self._available.get(event.option.id or "")
        if spec is not None and spec not in self.extra:
            self.extra.append(spec)
        self._switch("metrics-rows")
        self.wake()

    @on(Input.Submitted, "#metrics-input")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        self._show_input(False)
        value = event.value.strip()
        if value:
            self.choose(value)
        else:
            self._switch("metrics-rows")
        self._refocus(None)

    def choose(self, target_id: str) -> None:
        """Show ``target_id`` (an ID or Name tag) from the next refresh, which starts now."""
        self.requested_id = target_id
        self._show_message(None)
        self._switch("metrics-rows")
        self.wake()

    # -- the shared time cursor ----------------------------------------------------------------

    @on(SeriesRow.CursorStepped)
    def _row_stepped(self, event: SeriesRow.CursorStepped) -> None:
        """Move the shared cursor to the row's previous/next datapoint (from the latest)."""
        event.stop()
        stamps = event.row.view.timestamps
        if not stamps:
            return
        reference = self._posted_cursor or self.time_cursor
        current = nearest_point(stamps, reference, None)
        if current is None:
            index = len(stamps) - 1
        else:
            index = max(0, min(len(stamps) - 1, current + event.step))
        when = stamps[index]
        self._set_markers(when)
        self._posted_cursor = when
        self.post_message(self.TimeCursorMoved(self, when))

    def _set_markers(self, when: datetime | None) -> None:
        for row in self.query(SeriesRow):
            row.set_time_cursor(when)

    def watch_time_cursor(self, _old: datetime | None, new: datetime | None) -> None:
        """Every sparkline marks the shared instant; an open chart draws it as a line."""
        if new is None or new != self._posted_cursor:
            self._posted_cursor = None
        if not self.is_mounted:
            return
        self._set_markers(new)
        from tui.dialogs.chart import ChartScreen

        screen = self.app.screen
        if self._chart_key is not None and isinstance(screen, ChartScreen):
            screen.set_cursor(new)

    def load_snapshot(self, snap: MetricsSnapshot | None) -> None:
        """Replay: draw the saved series, judged again against their limits (no AWS opened)."""
        self.replaying = True
        if snap is None:
            self.set_status("replay: no metrics were saved")
            return
        result = self.evidence.replace(snap)
        self.target = result.target
        self.requested_id = result.target.resource_id
        self._render_result(result, stale=False)
        self.post_message(self.DataChanged(self))

    def snapshot(self) -> MetricsSnapshot | None:
        """The last result as a bundle section (the evidence's)."""
        return self.evidence.snapshot()

    def snapshot_queries(self) -> dict[str, object]:
        """The exact GetMetricData request of the last result (the evidence's)."""
        return self.evidence.snapshot_queries()

    def watch_focused_resource(self, old: str | None, new: str | None) -> None:
        """Follow the shared focus when it names something this pane can chart."""
        known = self.target is not None and new in self._target_names(self.target)
        if new and new != old and classify(new) != "name" and not known:
            self.requested_id = new
        super().watch_focused_resource(old, new)


def _ids(target: Target) -> set[str]:
    return {target.resource_id} | {str(v.get("VolumeId")) for v in target.volumes}
