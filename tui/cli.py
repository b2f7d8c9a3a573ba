"""The ``hamari`` command: argument parsing, settings, and dispatch to the TUI or a headless verb.

Headless verbs (``hamari trail|metrics|flows``) must start fast and work in pipes, so this module
imports neither textual nor the app at module level; the TUI is imported only when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tui import __version__
from tui.verbs import VERBS, fail

DESCRIPTION = """\
hamari: a terminal cockpit for troubleshooting AWS live.

Three panes share one time window and one focused resource:
  CloudTrail   who called which API, when, from where, with what error
  CloudWatch   EBS IOPS and MB/s against the instance-type and volume limits
  Flow logs    ACCEPT/REJECT legs of each conversation, by AZ, ENI and NACL rule

hamari is read-only: it never calls an API that changes anything."""

EPILOG = """\
examples:
  hamari --demo                        explore the built-in demo (no AWS account needed)
  hamari --profile prod --region ap-northeast-1 --since 2h
  hamari --since 2026-11-28T09:00Z --until 2026-11-28T11:00Z
  hamari trail --demo --filter 'error:AccessDenied*' --format ndjson
  hamari --replay incident.json.gz     open a saved incident bundle, offline

credentials:
  The default AWS credential chain is used: --profile or AWS_PROFILE, SSO (run
  `aws sso login` first), environment variables, the EC2 instance profile (IMDSv2).
  A profile that assumes a role with MFA asks for the code before the screen opens.

region:
  --region, HAMARI_REGION, the config file, AWS_REGION, AWS_DEFAULT_REGION, the
  profile's region, in that order; with none of them, us-east-1 (and hamari says so).

endpoints:
  --endpoint-url URL        every service's requests go to URL (an emulator, a proxy)
  AWS_ENDPOINT_URL_<SERVICE>=URL   one service only: a VPC interface endpoint, e.g.
      AWS_ENDPOINT_URL_LOGS=https://vpce-0abc-xyz.logs.eu-west-1.vpce.amazonaws.com
      (SERVICE: STS, CLOUDTRAIL, S3, CLOUDWATCH, LOGS, EC2, KMS); the other services
      keep their public endpoints. AWS_ENDPOINT_URL sets all of them, like --endpoint-url.
  Plain-http endpoints are refused unless they are on loopback.

environment:
  HAMARI_PROFILE, HAMARI_REGION, HAMARI_REFRESH_SECONDS, HAMARI_WINDOW,
  HAMARI_GLOBAL_EVENTS override the config file ~/.config/hamari/config.toml; flags override both.

exit status: 0 on success, 1 on an unexpected error, 2 on a usage, credential or
connection problem (with the command that fixes it)."""


def _common(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    default = argparse.SUPPRESS if suppress else None
    aws = parser.add_argument_group("AWS")
    aws.add_argument(
        "--profile", metavar="NAME", default=default, help="AWS profile (as in ~/.aws/config)"
    )
    aws.add_argument(
        "--region", metavar="REGION", default=default, help="AWS region, e.g. us-east-1"
    )
    aws.add_argument(
        "--endpoint-url",
        metavar="URL",
        default=default,
        help="send the requests of every service (STS, CloudTrail, S3, CloudWatch, Logs, EC2, "
        "KMS) to this one endpoint: for an emulator or a proxy that serves them all. For a VPC "
        "interface endpoint, which serves one service, set AWS_ENDPOINT_URL_<SERVICE> instead "
        "(e.g. AWS_ENDPOINT_URL_LOGS). https, or http on loopback only",
    )
    aws.add_argument(
        "--no-global-events",
        dest="global_events",
        action="store_const",
        const=False,
        default=default,
        help="read CloudTrail in the chosen region only, not also in the partition's global "
        "region (us-east-1, us-gov-west-1, cn-north-1) where IAM, STS and sign-in events are "
        "recorded; env HAMARI_GLOBAL_EVENTS=0, config global_events = false",
    )
    aws.add_argument(
        "--athena-workgroup",
        metavar="WG",
        default=default,
        help="opt in to running flow filters in Athena with this workgroup (i in the flow pane "
        "and `hamari flows --remote` on an s3:// source): Athena writes each query's result to "
        "the workgroup's S3 output location, the one place hamari causes a write; env "
        "HAMARI_ATHENA_WORKGROUP, config athena_workgroup",
    )
    aws.add_argument(
        "--athena-table",
        metavar="DB.TABLE",
        default=default,
        help="the Glue table of the flow logs that Athena queries (with --athena-workgroup); "
        "env HAMARI_ATHENA_TABLE, config athena_table",
    )
    aws.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="run against the embedded AWS emulator seeded with three incidents",
    )
    when = parser.add_argument_group("time window")
    when.add_argument(
        "--since",
        metavar="TIME",
        default=default,
        help="start: 15m, 2h, 1d, or ISO 8601 (default 3h)",
    )
    when.add_argument(
        "--until", metavar="TIME", default=default, help="end: now (default) or ISO 8601"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hamari",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"hamari {__version__}")
    _common(parser)
    sources = parser.add_argument_group("sources")
    sources.add_argument(
        "--trail-source",
        metavar="SRC",
        default=None,
        help="CloudTrail source: lookup (default), s3://bucket/prefix, or a local file/folder",
    )
    sources.add_argument(
        "--flows-source",
        metavar="SRC",
        default=None,
        help="flow-log source: cwl:LOG_GROUP, s3://bucket/prefix, or a local file/folder",
    )
    sources.add_argument(
        "--flows-format",
        metavar="FMT",
        default=None,
        help="fields of flow-log files without a header line, as AWS writes them: "
        "'${version} ${vpc-id} ${srcaddr} ...' (without it: a layout guessed from the field "
        "count, said in the pane)",
    )
    parser.add_argument(
        "--replay",
        metavar="FILE",
        default=None,
        help="open an incident bundle saved with ctrl+s, offline: no AWS call is made",
    )
    if not VERBS:
        return parser
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", title="headless verbs (no TUI)")
    for name, register in VERBS.items():
        sub = verbs.add_parser(
            name,
            help=register.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _common(sub, suppress=True)
        register(sub)
    return parser


_VERB_MODULES = {name: f"tui.headless.{name}" for name in ("trail", "metrics", "flows", "diagnose")}


def _load_verbs(argv: Sequence[str] | None = None) -> None:
    """Import the verb modules; each registers itself on import (none imports textual).

    ``hamari flows …`` loads only its own verb: in a pipeline every 50 ms of start-up shows,
    and the others' modules (AWS sources, models) are not needed to parse its arguments.
    """
    import importlib

    args = list(sys.argv[1:] if argv is None else argv)
    wanted = (
        [_VERB_MODULES[args[0]]] if args and args[0] in _VERB_MODULES else _VERB_MODULES.values()
    )
    for module in wanted:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def _flags(ns: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(ns).items() if k not in {"verb", "run", "replay"}}


_DASH_VALUE_OPTIONS = ("--filter",)


def _attach_dash_values(argv: Sequence[str]) -> list[str]:
    """``--filter -source:ec2`` becomes ``--filter=-source:ec2``.

    argparse takes any value that starts with ``-`` for an option, and a filter term negated
    with ``-`` is such a value (``hamari trail|flows --filter -source:ec2`` failed with
    "expected one argument").
    """
    args = list(argv)
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out += args[i:]
            break
        following = args[i + 1] if i + 1 < len(args) else ""
        if arg in _DASH_VALUE_OPTIONS and following[:1] == "-" and following[:2] != "--":
            out.append(f"{arg}={following}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] != ["flows"]:
            return _main(args)
        from tui.models import inflater

        inflater.prefetch(args[1:])  # the file inflates while the rest is imported
        try:
            return _main(args)
        finally:
            inflater.discard_prefetched()
    except KeyboardInterrupt:  # ctrl+c while hamari starts: no traceback
        return 130


def _main(args: list[str]) -> int:
    from tui.aws.errors import HamariError

    _load_verbs(args)
    parser = build_parser()
    ns = parser.parse_args(_attach_dash_values(args))
    from tui.settings import load_settings

    try:
        settings = load_settings(_flags(ns))
        if settings.demo and not getattr(ns, "replay", None) and (missing := _demo_missing()):
            return fail(
                f"--demo needs the embedded emulator, which is not installed ({missing} missing): "
                "pip install 'hamari[demo]' (in a checkout: pip install -e '.[demo]')."
            )
        if getattr(ns, "verb", None):
            runner: Callable[[Any, argparse.Namespace], int] = ns.run
            return runner(settings, ns)
        replay = getattr(ns, "replay", None)
        if replay:
            return run_replay(settings, replay)
        return run_tui(settings)
    except HamariError as err:
        return fail(err.message, err.hint)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `hamari trail ... | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _demo_missing() -> str:
    """The first module of the ``demo`` extra that cannot be imported (``""`` when all can)."""
    from importlib.util import find_spec

    for module in ("moto", "flask", "flask_cors"):
        try:
            if find_spec(module) is None:
                return module
        except (ImportError, ValueError):
            return module
    return ""


def run_replay(settings: Any, path: str) -> int:
    """``--replay FILE``: check the bundle before drawing anything, then open it offline."""
    from tui.models.bundle import BundleError, load

    try:
        bundle = load(path)
    except BundleError as err:
        return fail(f"{err}.")
    return run_tui(settings, replay=bundle, replay_path=path)


#: Allocations between two young garbage collections while the TUI runs (Python's default: 700).
GC_YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Fewer, larger young collections for the TUI.

    Textual allocates heavily while it draws. At the default threshold the young collections
    ran in the middle of every frame and promoted its short-lived objects, so a full collection
    followed every second or two, scanning everything long-lived (a loaded window of flow
    records, the demo's emulator) for 0.2 to 0.5 s: a key pressed meanwhile waited (``python -m
    tui.bench keys``: idle p95 from ~300 ms to under 100 ms). With room to die young, a frame's
    objects are seldom promoted, and full collections become rare.
    """
    import gc

    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def run_tui(settings: Any, *, replay: Any = None, replay_path: str = "") -> int:
    """Start the Textual app; returns its exit status.

    A terminal that is not UTF-8 would show box drawing, symbols and escaped data as mojibake or
    fail on the first non-ASCII string, so it is refused with the fix. Headless verbs work in any
    locale: they never come here.
    """
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    if encoding not in ("utf8", "utf8sig"):
        return fail(
            f"the terminal's encoding is {encoding or 'unknown'}, not UTF-8: hamari cannot "
            "draw its screen.",
            "export LANG=C.UTF-8 (or another UTF-8 locale), then run hamari again.",
        )
    from tui.terminal import prepare_for_tui

    refusal = prepare_for_tui(VERBS)  # no tty, TERM=dumb: one line naming the headless verbs
    if refusal is not None:
        return fail(refusal)
    runtime = None
    if settings.demo and replay is None:
        # Start the emulator and its seeding now, so they overlap the app's own start-up.
        from tui.demo.runtime import DemoRuntime
        from tui.models.timewindow import utc_now

        runtime = DemoRuntime()
        runtime.begin(utc_now())
    credentials = None
    if not settings.demo and replay is None:
        from tui.aws.session import resolve_mfa_credentials

        # An MFA code is asked here, on the plain terminal, not under Textual's screen.
        credentials = resolve_mfa_credentials(settings.profile, endpoint_url=settings.endpoint_url)
    from tui.app import HamariApp

    app = HamariApp(
        settings,
        demo_runtime=runtime,
        replay=replay,
        replay_path=replay_path,
        credentials=credentials,
    )
    tune_gc()
    app.run()
    if app.fatal is not None:
        return fail(app.fatal.message, app.fatal.hint)
    return app.return_code or 0
