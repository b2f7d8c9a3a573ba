"""The ``:`` commands: a command palette provider for typed, k9s-style commands.

``compare A B``, ``health``, ``focus ID|NAME``, ``unfocus``, ``window 15m|2h|1d|ISO..ISO`` and
``pane trail|metrics|flows``. Typed text works as a command: ``:compare app-batch-01 app-batch-02``
then enter runs it (the parsed command is the top hit); partial text offers completions with the
region's instance names. Names are resolved to ids from a short-lived cache of DescribeInstances
(:class:`NameCache`), so opening the palette costs at most one request a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.host import host
from tui.models.inventory import InstanceInfo, resolve_instance
from tui.models.text import display_safe
from tui.models.timewindow import TimeParseError, parse_window

PANES = ("trail", "metrics", "flows")
EXACT_SCORE = 1e9  # above any fuzzy score
WINDOWS = ("15m", "1h", "2h", "6h", "1d")
RESOURCE_PREFIXES = ("i-", "vol-", "eni-", "vpc-", "subnet-")
VERBS = {
    "compare": "compare two instances side by side (ids or Name tags)",
    "health": "are logs written? trails, flow logs, metrics",
    "focus": "scope every pane to one resource",
    "unfocus": "back to the whole account",
    "window": "time window: 15m, 2h, 1d or ISO..ISO",
    "pane": "show a pane: trail, metrics, flows",
    "utc": "show times in UTC",
    "local": "show times in the local zone (UTC beside it in details)",
    "cursor": "cursor clear: drop the shared time cursor",
    "save": "save an incident bundle (reopen with hamari --replay FILE)",
}


@dataclass(frozen=True)
class Command:
    """A parsed ``:`` command."""

    verb: str
    args: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " ".join((self.verb, *self.args))


class CommandError(ValueError):
    """The text is not a complete, valid command."""


def parse(text: str, instances: list[InstanceInfo] | None = None) -> Command:
    """Parse a typed command; names are checked against ``instances`` when known.

    Raises:
        CommandError: Incomplete or invalid (the message says what is expected).
    """
    words = text.strip().lstrip(":").split()
    if not words:
        raise CommandError("type a command")
    verb, args = words[0].lower(), tuple(words[1:])
    if verb not in VERBS:
        raise CommandError(f"unknown command {verb!r}")
    if verb in ("health", "unfocus", "utc", "local", "save"):
        if args:
            raise CommandError(f"{verb} takes no argument")
        return Command(verb)
    if verb == "compare":
        if len(args) != 2:
            raise CommandError("compare needs two instances")
        if instances is not None:
            for ref in args:
                if len(resolve_instance(ref, instances)) != 1 and not ref.startswith("i-"):
                    raise CommandError(f"{ref!r} is not one instance")
        return Command(verb, args)
    if verb == "cursor":
        if args != ("clear",):
            raise CommandError("cursor clear")
        return Command(verb, args)
    if len(args) != 1:
        raise CommandError(f"{verb} needs one argument")
    arg = args[0]
    if verb == "pane":
        if arg not in PANES:
            raise CommandError("pane trail|metrics|flows")
        return Command(verb, (arg,))
    if verb == "window":
        return Command(verb, (arg,))
    # focus
    if not arg.startswith(RESOURCE_PREFIXES):
        hits = resolve_instance(arg, instances or [])
        if len(hits) != 1:
            raise CommandError(f"{arg!r} names no single instance")
        arg = hits[0].instance_id
    return Command(verb, (arg,))


class NameCache:
    """The region's instances, for name completion and resolution; refreshed at most once a minute."""

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self.instances: list[InstanceInfo] | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, aws: Any, timeout: float = 5.0) -> list[InstanceInfo] | None:
        from tui.aws.errors import HamariError
        from tui.aws.inventory import describe_instances

        if aws is None:
            return self.instances
        async with self._lock:
            if self.instances is None or time.monotonic() - self._at > self.ttl:
                with contextlib.suppress(HamariError, TimeoutError):
                    async with asyncio.timeout(timeout):
                        self.instances = await describe_instances(aws)
                        self._at = time.monotonic()
        return self.instances


def _main_screen(app: Any) -> Any:
    from tui.screens.main import MainScreen

    return next((s for s in app.screen_stack if isinstance(s, MainScreen)), None)


def run(app: Any, command: Command) -> None:
    """Carry out ``command`` on ``app`` (screens are pushed by the app's small actions)."""
    if command.verb == "compare":
        app.show_compare(*command.args)
        return
    if command.verb == "health":
        app.show_health()
        return
    main = _main_screen(app)
    if main is None:
        return
    while app.screen is not main:
        app.pop_screen()
    if command.verb == "focus":
        main.focused_resource = command.args[0]
    elif command.verb == "unfocus":
        main.focused_resource = None
    elif command.verb == "pane":
        main.active_pane = command.args[0]
    elif command.verb in ("utc", "local"):
        if main.utc != (command.verb == "utc"):
            main.action_toggle_utc()
    elif command.verb == "cursor":
        main.time_cursor = None
    elif command.verb == "save":
        main.action_save_bundle()
    elif command.verb == "window":
        try:
            main.window = parse_window(command.args[0], host(app).clock())
        except TimeParseError as err:
            app.notify(str(err), title="window", severity="error", markup=False)


class HamariCommands(Provider):
    """Typed ``:`` commands and their completions."""

    async def startup(self) -> None:
        app = host(self)
        self.instances: list[InstanceInfo] | None = None
        self.instances = await app.names.get(app.aws)

    def _names(self) -> list[str]:
        return [i.name or i.instance_id for i in self.instances or []]

    def _suggestions(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        world = host(self).demo_world
        by_id = {i.instance_id: i.name for i in self.instances or []}
        if world is not None:
            bad = by_id.get(world.failing_instance_id) or world.failing_instance_id
            good = by_id.get(world.healthy_twin_id) or world.healthy_twin_id
            out.append((f"compare {bad} {good}", "the failing instance beside its healthy twin"))
        out.append(("health", VERBS["health"]))
        for name in self._names():
            out.append((f"focus {name}", VERBS["focus"]))
        out.append(("unfocus", VERBS["unfocus"]))
        out += [(f"window {w}", VERBS["window"]) for w in WINDOWS]
        out += [(f"pane {p}", VERBS["pane"]) for p in PANES]
        out += [(v, VERBS[v]) for v in ("utc", "local", "save")]
        out.append(("cursor clear", VERBS["cursor"]))
        return out

    def _completions(self, query: str) -> list[tuple[str, str]]:
        words = query.split()
        out = self._suggestions()
        if words and words[0] == "compare":
            names = self._names()
            if len(words) >= 2:
                out += [
                    (f"compare {words[1]} {n}", VERBS["compare"]) for n in names if n != words[1]
                ]
        return out

    def _runner(self, command: Command) -> Callable[[], None]:
        return partial(run, self.app, command)

    async def discover(self) -> Hits:
        for text, help_text in self._suggestions():
            try:
                command = parse(text, self.instances)
            except CommandError:
                continue
            yield DiscoveryHit(Text(display_safe(text)), self._runner(command), text, help_text)

    async def search(self, query: str) -> Hits:
        query = " ".join(query.strip().lstrip(":").split())
        exact: Command | None = None
        with contextlib.suppress(CommandError):
            exact = parse(query, self.instances)
        if exact is not None:
            # Textual's fuzzy scores are not bounded by 1 ("utc" scores high against
            # "focus app-batch-01"): what was typed exactly must come first, or enter runs
            # something else.
            yield Hit(
                EXACT_SCORE,
                Text(display_safe(query), style="bold"),  # as typed (a name, not its i-…)
                self._runner(exact),
                query,
                VERBS[exact.verb],
            )
        matcher = self.matcher(query)
        for text, help_text in self._completions(query):
            if exact is not None and text in (exact.text, query):
                continue
            score = matcher.match(text)
            if score <= 0:
                continue
            try:
                command = parse(text, self.instances)
            except CommandError:
                continue
            yield Hit(
                score * 0.9,
                matcher.highlight(display_safe(text)),
                self._runner(command),
                text,
                help_text,
            )
