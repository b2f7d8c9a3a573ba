"""The thin App: wires settings and the AWS connection, global keys, CSS, and the main screen.

Everything else lives in screens, panes, the AWS layer and the models. The App owns the life cycle
of the one :class:`~tui.aws.session.Aws` (created on the app's own loop, closed on exit, on SIGHUP
and on SIGTERM) and, with ``--demo``, of the embedded emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tui.aws.errors import (
    ConfigError,
    CredentialsError,
    HamariError,
    RegionNotEnabledError,
    translate,
)
from tui.aws.session import Aws, Connection, connection_for
from tui.commands import HamariCommands, NameCache
from tui.logsafety import install as install_log_safety
from tui.models.budget import Budget
from tui.models.text import display_safe
from tui.models.timewindow import utc_now
from tui.settings import Settings

# Errors that make the app unusable: exit with one sentence instead of showing empty panes.
FATAL = (CredentialsError, ConfigError, RegionNotEnabledError)
# The services the three panes call first (their API models are parsed ahead, off the loop).
PANE_SERVICES = ("ec2", "cloudtrail", "cloudwatch", "logs")


class HamariApp(App[None]):
    """hamari's application object."""

    CSS_PATH = "app.tcss"
    TITLE = "hamari"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {HamariCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Close AWS clients and quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("colon", "command_palette", "Cmd", key_display=":", id="command", show=False),
        Binding(
            "dollar_sign",
            "meter",
            "Cost",
            key_display="$",
            id="meter",
            tooltip="Requests per API, data read, estimated cost and the hourly budget",
        ),
        Binding(
            "R",
            "resume_polling",
            "Resume",
            id="budget.resume",
            show=False,
            tooltip="Resume polling paused by the hourly budget, for another hour",
        ),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        demo_runtime: Any = None,
        aws: Aws | None = None,
        replay: Any = None,
        replay_path: str = "",
        credentials: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__()
        # Resolved before the app started (an MFA prompt needs the plain terminal).
        self.credentials = credentials
        # Replay mode (`hamari --replay FILE`): a loaded tui.models.bundle.Bundle; no AWS at all.
        self.replay = replay
        self.replay_path = replay_path
        install_log_safety()  # botocore never at DEBUG; every log record redacted
        self.settings = settings
        # The demo's emulator bills nothing: its fast refresh must not trip the default budget
        # (one set explicitly still applies, so it can be tried out in the demo).
        limits = (settings.budget_requests_per_hour, settings.budget_metrics_per_hour)
        defaults = (Settings.budget_requests_per_hour, Settings.budget_metrics_per_hour)
        self.budget = Budget(0, 0) if settings.demo and limits == defaults else Budget(*limits)
        self.clock = clock
        self.demo_runtime = demo_runtime
        self.aws: Aws | None = aws
        self.fatal: HamariError | None = None
        self.demo_world: Any = None
        self.last_input_at = time.monotonic()
        self.crash_report: str | None = None
        self._milestones: set[str] = set()
        self.names = NameCache()  # instance names for `:` completion
        self.health_report: Any = None  # the last "are logs written?" report
        if settings.keymap:
            self.set_keymap(settings.keymap)

    def on_mount(self) -> None:
        from tui.screens.main import MainScreen

        self._install_signal_handlers()
        if self.replay is not None:
            # Replay: the panes are fed from the bundle; AWS is never opened, nothing polls.
            screen = MainScreen(self.replay.window)
            self.push_screen(screen)
            self.call_after_refresh(screen.replay, self.replay, self.replay_path)
            return
        self.push_screen(MainScreen(self.settings.window(self.clock())))
        self.call_after_refresh(self.milestone, "first_frame")
        self.connect()
        self._sweep_scratch()

    @work(thread=True, exit_on_error=False, name="scratch-sweep", description="scratch-sweep")
    def _sweep_scratch(self) -> None:
        """Remove the store folders of killed runs before any store is made (off the loop)."""
        from tui.models import scratch

        scratch.sweep_once()

    # -- connection ----------------------------------------------------------------------------

    @work(exclusive=True, group="connect", exit_on_error=False, description="connect")
    async def connect(self) -> None:
        """Open the AWS connection (starting and seeding the emulator with --demo)."""
        from tui.screens.main import MainScreen

        screen = self.screen
        try:
            conn = await self._connection()
            if self.aws is None:
                self.aws = Aws(conn)
            identity = await self.aws.open()
            self.milestone("connected")
        except Exception as exc:  # anything botocore throws at start-up, translated
            err = translate(exc, profile=self.settings.profile, region=self.settings.region or "")
            local = self._local_sources()
            if local and isinstance(screen, MainScreen):
                # Without credentials botocore fails at once, before the screen has composed
                # its panes: wait for them (a few frames at most).
                for _ in range(250):
                    if screen.panes:
                        break
                    await asyncio.sleep(0.02)
                self._go_offline(screen, err, local)
            else:
                self._fail(err)
            return
        if isinstance(screen, MainScreen):
            screen.connected(self.aws, identity)
            if self.aws.identity_error is not None:
                from tui.screens.chrome import StatusLine

                err = self.aws.identity_error
                screen.query_one(StatusLine).flash(f"⚠ {err.message} {err.hint}", seconds=30)
            if self.aws.region_notice:
                from tui.screens.chrome import StatusLine

                screen.query_one(StatusLine).flash(f"⚠ {self.aws.region_notice}", seconds=30)
        # The panes' first calls need these models; parse them off the loop, meanwhile.
        preload = asyncio.create_task(self.aws.preload(PANE_SERVICES))
        if self.demo_runtime is not None and self.settings.demo:
            try:
                self.demo_world = await asyncio.to_thread(self.demo_runtime.seed, self.clock())
                self.milestone("seeded")
            except Exception as exc:
                self.notify(
                    f"Demo seeding failed: {type(exc).__name__}", severity="error", markup=False
                )
                return
        await preload
        if isinstance(screen, MainScreen):
            screen.start_panes()
        self.start_health_monitor()
        if self.demo_runtime is not None and self.settings.demo:
            await asyncio.to_thread(self.demo_runtime.start_live)

    async def _connection(self) -> Connection:
        settings = self.settings
        if settings.demo:
            if self.demo_runtime is None:
                from tui.demo.runtime import DemoRuntime

                self.demo_runtime = DemoRuntime()
            url = await asyncio.to_thread(self.demo_runtime.start)
            credentials = getattr(self.demo_runtime, "credentials", None)
            return connection_for(settings, demo_url=url, credentials=credentials)
        return connection_for(settings, credentials=self.credentials)

    def _local_sources(self) -> list[str]:
        """The panes reading local files, which need no AWS (never in the demo)."""
        from tui.aws.cloudtrail import parse_source as trail_source
        from tui.models.flowlog import parse_source as flow_source

        if self.settings.demo:
            return []
        local: list[str] = []
        with contextlib.suppress(HamariError, ValueError):
            if trail_source(self.settings.trail_source).kind == "local":
                local.append("CloudTrail")
        flows = self.settings.flows_source
        with contextlib.suppress(HamariError, ValueError):
            if flows and flow_source(flows)[0] == "local":
                local.append("flow logs")
        return local

    def _go_offline(self, screen: Any, err: HamariError, local: list[str]) -> None:
        """AWS cannot be opened, but some panes read local files: run them offline.

        The panes that need AWS show why (every call raises the offline error, once).
        """
        from tui.screens.chrome import StatusLine

        if self.aws is None:
            self.aws = Aws(connection_for(self.settings, credentials=self.credentials))
        self.aws.go_offline(err)
        screen.connected(self.aws, None)
        screen.query_one(StatusLine).flash(
            f"offline: {err.message} · reading local {' and '.join(local)} files; the panes "
            "that need AWS say so",
            seconds=30,
        )
        screen.start_panes()
        self.milestone("offline")

    def _fail(self, err: HamariError) -> None:
        """A start-up failure: fatal ones exit with the fix, others show in the status line."""
        if isinstance(err, FATAL) or self.aws is None or self.aws.identity is None:
            self.fatal = err
            self.exit(return_code=2)
            return
        self.notify(err.message, title=err.title, severity="error", markup=False)

    async def on_event(self, event: events.Event) -> None:
        # Idle tracking only (pollers pause when nobody has touched a key for a long time).
        if isinstance(event, events.Key | events.MouseDown):
            self.last_input_at = time.monotonic()
        await super().on_event(event)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification is plain, display-safe text, whoever sends it.

        Messages often carry AWS strings or paths (an export in a folder whose name holds escape
        sequences); sanitizing here, at the one door, covers every pane and screen.
        """
        super().notify(
            display_safe(message, multiline=True),
            title=display_safe(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def milestone(self, name: str) -> None:
        """Report a start-up milestone to the benchmark runner (only when it asked for them)."""
        fd = self.settings.bench_fd
        if fd is None or name in self._milestones:
            return
        self._milestones.add(name)
        with contextlib.suppress(OSError):
            os.write(fd, f"{name} {time.time():.6f}\n".encode())

    # -- life cycle ----------------------------------------------------------------------------

    def _install_signal_handlers(self) -> None:
        """SIGHUP (SSH dropped) and SIGTERM exit cleanly: clients closed, queries stopped."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: int = signal.SIGHUP) -> None:
        self.exit(return_code=128 + sig)  # the shell's convention: 129 for SIGHUP, 143 for TERM

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Of Textual's own commands in the ``:`` palette, only Theme: its Quit skips closing the
        AWS clients, Screenshot writes files into the current folder of a shared bastion, and
        Keys and Maximize duplicate ``?`` and ``z``."""
        for command in super().get_system_commands(screen):
            if command.title == "Theme":
                yield command

    async def action_quit(self) -> None:
        self.exit()

    async def on_unmount(self) -> None:
        await self.cleanup()

    async def cleanup(self) -> None:
        """Close AWS clients (stopping Logs Insights queries) and the demo emulator."""
        if self.aws is not None:
            await self.aws.close()
        if self.demo_runtime is not None:
            await asyncio.to_thread(self.demo_runtime.stop)
        self.milestone("closed")

    def _fatal_error(self) -> None:
        """An unexpected error: a short message, and the traceback (no locals) in a private file.

        Textual's default prints a traceback with local variables, which can hold credentials.
        """
        from rich.text import Text

        from tui.crash import write_crash_report

        error = self._exception
        path = write_crash_report(error) if error is not None else None
        self.crash_report = path
        self.bell()
        message = Text(f"hamari stopped on an unexpected error: {type(error).__name__}\n")
        if path:
            message.append(
                f"The details (without secrets) are in {path}; please attach it to a bug report.\n"
            )
        self._exit_renderables.append(message)
        self._close_messages_no_wait()

    # -- `:` commands ----------------------------------------------------------------------------

    def start_health_monitor(self) -> None:
        """Check "are logs written?" now and every five minutes (the header's logs badge)."""
        from tui.screens.health import monitor

        self.run_worker(monitor(self), group="health", exclusive=True, exit_on_error=False)

    def show_compare(self, left: str, right: str) -> None:
        from tui.screens.compare import CompareScreen

        self.push_screen(CompareScreen(left, right))

    def show_health(self) -> None:
        from tui.screens.health import HealthScreen

        if not isinstance(self.screen, HealthScreen):
            self.push_screen(HealthScreen())

    def action_meter(self) -> None:
        from tui.screens.meter import MeterScreen

        if not isinstance(self.screen, MeterScreen):
            self.push_screen(MeterScreen())

    def action_resume_polling(self) -> None:
        if self.budget.resume(time.monotonic()):
            self.notify("Polling resumed for an hour despite the budget.", timeout=4)
        else:
            self.notify("Polling is not paused by the budget.", timeout=3)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())
