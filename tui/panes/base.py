"""What every evidence pane shares: the shared window and focus, a poll loop, status and errors.

A pane owns one long-lived poller (a named, exclusive async worker) that never overlaps itself,
backs off on transient trouble, pauses while the pane is hidden or the user is idle, and keeps what
it already loaded when a refresh fails (marking it stale). Errors specific to this pane's APIs
(AccessDenied on LookupEvents, say) are shown inline with what to do; the other panes carry on.

The pane's title carries its data's age ("· 12s ago"). A refresh that has not completed a few
seconds after it was due (an endpoint that accepts and never answers, or drips a byte a second,
holds a call until its outer deadline) turns the title and border to "STALE": data must never
look live when it is not. What a source skipped (bad lines, unreadable or empty files) is listed,
file:line and reason, behind the ``b`` key.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from tui.aws.errors import (
    AccessDeniedError,
    CredentialsError,
    DiskFullError,
    HamariError,
    UnresolvedHostError,
)
from tui.crash import redact
from tui.host import host
from tui.models import scratch
from tui.models.budget import METRICS_REQUESTED
from tui.models.skipped import Skipped
from tui.models.text import display_safe
from tui.models.timewindow import TimeWindow, window_label

if TYPE_CHECKING:
    from tui.aws.session import Aws, AwsEvent

# While paused (budget, idle, hidden), how often the poller looks again: cheap, no request, and a
# key press or R resumes within a second instead of at the next refresh tick.
PAUSED_RECHECK_SECONDS = 1.0
# A refresh not completed this many seconds after it was due marks the pane's data stale.
STALE_GRACE_SECONDS = 5.0

_POLLING: ContextVar[object] = ContextVar("hamari_polling_pane", default=None)
"""The pane whose poll worker (and the tasks it starts) is running: an AWS call retried in it
is said in that pane."""


def unexpected_error(exc: Exception) -> HamariError:
    """What a pane says of an exception its refresh did not expect: a full store folder is
    said as such (with the fix), anything else is a bug."""
    text = redact(f"{type(exc).__name__}: {exc}")
    if scratch.disk_full(exc):
        return DiskFullError(text, hint=scratch.full_hint())
    return HamariError(text, hint="This is a bug in hamari; the pane keeps what it loaded.")


def window_hint(count: int, noun: str, window: TimeWindow, utc: bool) -> str:
    """Why a table is empty when the window hides everything a source held, and the fix."""
    label = window_label(window, utc=utc)
    return f"{count:,} {noun} read, none in the window ({label}): W fits the window to the data"


def format_age(seconds: float) -> str:
    """``<10s``, ``20s``, ``2m``, ``3h``, ``2d``: a data age short enough for a pane title.

    Ten-second steps under a minute: the title is the pane's border, and a new title repaints
    the whole pane, ~4.5 KB to the terminal at 80x24. A title ticking every second sent that
    every second per visible pane, most of a slow SSH link, to say the data aged one second.
    """
    seconds = max(0.0, seconds)
    if seconds < 10:
        return "<10s"
    if seconds < 60:
        return f"{seconds // 10 * 10:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m"
    if seconds < 86400:
        return f"{seconds // 3600:.0f}h"
    return f"{seconds // 86400:.0f}d"


class ErrorPanel(Static):
    """An inline panel in a pane: what failed, and what to do about it (never markup)."""

    DEFAULT_CSS = """
    ErrorPanel {
        display: none;
        height: auto;
        max-height: 8;  /* six lines: what failed, and what to do (a KMS key ARN, a command) */
        border: round $error;
        padding: 0 1;
        color: $text;
    }
    ErrorPanel.-shown { display: block; }
    """

    shown_error: HamariError | None = None

    def show(self, err: HamariError, *, title: str | None = None) -> None:
        self.shown_error = err
        text = Text()
        text.append(f"{title or err.title}: ", style="bold")
        text.append(display_safe(redact(err.message)))
        if err.hint:
            text.append("\n→ ")
            text.append(display_safe(redact(err.hint)))
        self.update(text)
        self.add_class("-shown")

    def clear(self) -> None:
        self.shown_error = None
        self.remove_class("-shown")


class Pane(Vertical):
    """Base class of the three evidence panes."""

    DEFAULT_CSS = """
    Pane {
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        height: 1fr;
        width: 1fr;
    }
    Pane:focus-within { border: round $accent; }
    Pane.-stale { border: round $warning; }
    Pane > .pane-status { height: 1; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "b",
            "show_skipped",
            "Skipped",
            id="pane.skipped",
            tooltip="What this pane's source could not read: file:line and why",
        ),
    ]

    title: ClassVar[str] = "pane"
    key: ClassVar[str] = "1"

    window: reactive[TimeWindow | None] = reactive(None, init=False)
    focused_resource: reactive[str | None] = reactive(None, init=False)
    # The shared time cursor (an instant another pane selected) and the clock display: bound from
    # the screen so that evidence lines up; each pane marks the cursor its own way.
    time_cursor: reactive[datetime | None] = reactive(None, init=False)
    utc: reactive[bool] = reactive(True, init=False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.aws: Aws | None = None
        self.refresh_seconds: float = 60.0
        self.idle_pause_seconds: float = 1800.0
        self._wake = asyncio.Event()
        self._last_ok: float | None = None
        # The app clock's time of the last completed refresh (the data's age), and of the start
        # of the refresh running now; the title says STALE once a refresh is overdue.
        self.loaded_at: datetime | None = None
        self._refresh_started: datetime | None = None
        self._delay = 0.0
        self.stale = False
        self._shown_title: tuple[str, bool] | None = None  # what the border says now
        # What the shared window and the focus hide (the panes explain an empty table with it),
        # and the span of everything a local source held (w fits the window to it).
        self.outside_window = 0
        self.data_span: tuple[datetime, datetime] | None = None
        self.hidden_by_focus = 0
        self._had_skipped = False
        # The status line as the pane last set it, and an AWS call of its poll now waiting to
        # be retried (throttled, or a transient failure) with when: said in front of it.
        self._status_text = Text("waiting for AWS…")
        self._retry: tuple[AwsEvent, float] | None = None
        # A refresh is running (tests and snapshots wait for quiet). Not named `loading`:
        # that is Textual's reactive which swaps the pane for a spinner.
        self.refreshing = False
        self.border_title = f"{self.key} {self.title}"

    def compose(self) -> ComposeResult:
        yield Static("waiting for AWS…", classes="pane-status", markup=False)
        yield ErrorPanel()
        yield from self.compose_body()

    def compose_body(self) -> ComposeResult:
        """The pane's own widgets."""
        yield from ()

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick_age)

    # -- data down ---------------------------------------------------------------------------

    def start(self, aws: Aws, *, refresh_seconds: float, idle_pause_seconds: float) -> None:
        """Called by the screen once AWS is connected (and the demo seeded)."""
        self.aws = aws
        self.refresh_seconds = refresh_seconds
        self.idle_pause_seconds = idle_pause_seconds
        if self._aws_event not in aws.listeners:
            aws.listeners.append(self._aws_event)
        self.poll()

    def watch_window(self, _old: TimeWindow | None, _new: TimeWindow | None) -> None:
        self.wake()

    def watch_focused_resource(self, _old: str | None, _new: str | None) -> None:
        self.wake()

    def wake(self) -> None:
        """Refresh now instead of at the next tick."""
        self._wake.set()

    def credentials_renewed(self) -> None:
        """The user asked again after AWS refused the credentials (r): every loop retries."""
        self.wake()

    # -- the poller ----------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """Hidden panes and idle users cost nothing, once each pane has loaded; over budget, none.

        The first load happens even while hidden (one pane at a time at 80x24), so that findings
        across all three panes appear without the user visiting each pane first. The app-wide
        budget (requests and metrics in the last hour) applies to first loads too.
        """
        if not self.is_mounted:
            return True
        if self.over_budget:
            return True
        if self._last_ok is None:
            return False
        if not self.display:
            return True
        idle = time.monotonic() - host(self).last_input_at
        return idle > self.idle_pause_seconds

    @property
    def over_budget(self) -> bool:
        """The app's hourly budget is exceeded and the user has not resumed (R)."""
        budget = host(self).budget
        if self.aws is None:
            return False
        meter = self.aws.meter
        status = budget.check(
            time.monotonic(), meter.total_requests, meter.quantities.get(METRICS_REQUESTED, 0)
        )
        return bool(status.paused)

    @work(exclusive=True, group="poll", exit_on_error=False, description="poll")
    async def poll(self) -> None:
        """Refresh forever: never overlapping, backing off on trouble, pausing when hidden."""
        _POLLING.set(self)  # this worker's task, and the tasks it starts
        failures = 0
        while True:
            self._wake.clear()
            paused = self.paused
            if not paused:
                self.refreshing = True
                self._refresh_started = self._clock()
                try:
                    await self.refresh_data()
                except HamariError as err:
                    failures += 1
                    self.on_failure(err)
                    if isinstance(err, CredentialsError):
                        # Shown once, no retry storm: wait for r (the user fixed them) or a
                        # new window; the AWS door refuses without a request until then.
                        self.refreshing = False
                        self._refresh_started = None
                        self._tick_age()
                        self._wake.clear()
                        await self._wake.wait()
                        continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug must not kill the pane silently
                    failures += 1
                    self.on_failure(unexpected_error(exc))
                else:
                    failures = 0
                    self._last_ok = time.monotonic()
                    self.loaded_at = self._clock()
                    self.remove_class("-stale")
                    self.clear_error()
            self.refreshing = False
            self._refresh_started = None
            if self._retry is not None:  # the refresh is over: no call waits any more
                self._retry = None
                self._show_status()
                self.on_retry_changed()
            delay = (
                self.refresh_seconds * (2 ** min(failures, 4)) if failures else self.refresh_seconds
            )
            if paused:
                delay = min(delay, PAUSED_RECHECK_SECONDS)
            self._delay = delay
            self._tick_age()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    def has_data(self) -> bool:
        """True once the pane shows records (for the start-up benchmark)."""
        return False

    # -- the data's age --------------------------------------------------------------------------

    def _clock(self) -> datetime:
        return host(self).clock()

    def overdue(self, now: datetime) -> float | None:
        """Seconds since the data's age passed the next refresh plus a grace, or None.

        A pane with data whose refresh did not complete when due (plus the grace) is stale,
        whatever the reason: a call held by a black-holed endpoint, a failing one backing off.
        Paused panes are not (they say why elsewhere); nor is a pane that never loaded.
        """
        if self.loaded_at is None or self.paused:
            return None
        age = (now - self.loaded_at).total_seconds()
        due = max(self._delay, self.refresh_seconds) + STALE_GRACE_SECONDS
        return age - due if age > due else None

    def _tick_age(self) -> None:
        """Once a second: the age in the title, and the stale mark when a refresh is overdue."""
        if not self.is_mounted:
            return
        now = self._clock()
        title = Text(f"{self.key} {self.title}")
        overdue = self.overdue(now)
        stale = overdue is not None or self.has_class("-stale")
        if self.loaded_at is not None:
            age = format_age((now - self.loaded_at).total_seconds())
            if stale:
                title.append(" · ")
                title.append(f"⚠ STALE {age}", style="bold reverse")
            else:
                title.append(f" · {age} ago", style="dim")
        elif self._refresh_started is not None:
            waited = (now - self._refresh_started).total_seconds()
            if waited >= STALE_GRACE_SECONDS:
                title.append(f" · loading {format_age(waited)}", style="italic")
        if (title.plain, stale) != self._shown_title:  # setting it repaints the whole pane
            self._shown_title = (title.plain, stale)
            self.border_title = title
        if self._retry is not None:  # "retrying in 3 s", counting down
            self._show_status()
            self.on_retry_changed()
        if overdue is not None:
            self.add_class("-stale")  # removed by the next refresh that completes
        if stale != self.stale:
            self.stale = stale
            self.on_stale_changed(stale)

    def on_stale_changed(self, stale: bool) -> None:
        """The data turned stale or fresh again: panes that show "● follow" say so."""

    # -- what was skipped ------------------------------------------------------------------------

    def skipped_items(self) -> list[Skipped]:
        """What the source could not read, as far as it kept samples (the pane overrides)."""
        return []

    def skipped_total(self) -> int:
        """How many lines, records and files were skipped in all (samples may be fewer)."""
        return 0

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_skipped":
            return self.skipped_total() > 0 or bool(self.skipped_items())
        return True

    def action_show_skipped(self) -> None:
        """b: the list of what was skipped, file:line and reason."""
        from tui.dialogs.skipped import SkippedScreen

        self.app.push_screen(
            SkippedScreen(f"{self.key} {self.title}", self.skipped_items(), self.skipped_total())
        )

    async def refresh_data(self) -> None:
        """Load or refresh the pane's data through ``self.aws``. Raise HamariError on trouble."""

    def on_failure(self, err: HamariError) -> None:
        """Keep what is loaded, mark it stale, and say what went wrong and what to do."""
        self.add_class("-stale")
        if isinstance(err, AccessDeniedError | UnresolvedHostError) or not err.transient:
            self.query_one(ErrorPanel).show(err)
        else:
            self.set_status(
                Text(f"⚠ {display_safe(redact(err.message))} — retrying", style="yellow")
            )

    # -- a call of this pane's being retried -----------------------------------------------------

    def _aws_event(self, event: AwsEvent) -> None:
        """(AWS listener) a call of this pane's poll throttled or failing, retried after a
        backoff (up to ~8 s in all): said in the pane at once, not only in the app's status
        line, until the call answers or gives up."""
        if _POLLING.get() is not self or not self.is_attached:
            return
        if event.kind in ("throttled", "retrying"):
            self._retry = (event, time.monotonic() + event.retry_in)
        elif self._retry is not None and event.kind in ("recovered", "error"):
            self._retry = None
        else:
            return
        self.set_class(self._retry is not None and event.kind == "throttled", "-throttled")
        self._show_status()
        self.on_retry_changed()

    def retry_notice(self) -> str:
        """``⚠ AWS is throttling cloudtrail:LookupEvents: retry 1 of 4 in 2 s``, or ``""``."""
        if self._retry is None:
            return ""
        event, at = self._retry
        left = at - time.monotonic()
        when = f"in {math.ceil(left)} s" if left > 0 else "now"
        step = f"retry {event.attempt} of {event.attempts}" if event.attempts else "retrying"
        api = f"{event.service}:{event.operation}"
        if event.kind == "throttled":
            return f"⚠ AWS is throttling {api}: {step} {when}"
        why = display_safe(redact(event.message)).rstrip(".")[:80]  # names the API, mostly
        return f"⚠ {why if api in why else f'{api}: {why}'}: {step} {when}"

    def on_retry_changed(self) -> None:
        """A call of this pane's poll began or ended waiting to be retried (or a second passed)."""

    def _show_status(self) -> None:
        if not self.is_mounted:
            return
        line = Text()
        notice = self.retry_notice()
        if notice and not self.stale:
            line.append(notice, style="yellow")
            line.append(" · ")
        line.append_text(self._status_text)
        if notice and self.stale:  # "⚠ STALE" leads a stale pane's line (it may be cut)
            line.append(" · ")
            line.append(notice, style="yellow")
        self.query_one(".pane-status", Static).update(line)

    def clear_error(self) -> None:
        """A refresh got through: the panel that said why the last one failed goes."""
        self.query_one(ErrorPanel).clear()

    def set_status(self, text: Text | str) -> None:
        """The one-line status under the title (counts, rates, watermark); a call being
        retried is said in front of it."""
        self._status_text = text if isinstance(text, Text) else Text(text)
        self._show_status()
        skipped = self.skipped_total() > 0
        if skipped != self._had_skipped:  # the footer shows `b` only when there is a list
            self._had_skipped = skipped
            self.refresh_bindings()
        # Status changes as data arrives: the first time there is data, tell the benchmark.
        if self.has_data():
            self.app.milestone(f"data_{self.id}")  # type: ignore[attr-defined]

    @property
    def body(self) -> Widget:
        return self
