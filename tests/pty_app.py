"""Run the real app, with Textual's real terminal driver, on a seeded emulator full of hostile data.

A script, not a test: ``tests/test_safety_pty.py`` and ``tests/test_safety_signals.py`` start it in
a pseudo-terminal and read every byte it writes, as the user's terminal would. It starts the
embedded AWS in this process, seeds the demo world, and puts every string of
:data:`tests.hostile.HOSTILE` into each place a string reaches the screen: CloudTrail events
(userAgent, eventName, errorCode/errorMessage, principal, resources, source IP), flow-log lines in
the CloudWatch Logs group, an EC2 Name tag (what EC2's XML can carry), and a custom metric's name
and dimension. Then it runs :class:`tui.app.HamariApp` in demo mode on that emulator.

Options:
    --clean             seed only, inject nothing (a baseline run)
    --milestones PATH   the app's start-up and ``closed`` milestones are appended to PATH
    --calls-out PATH    at exit, the emulator's request log as JSON lines (service, operation)
    --track-query ID    make the app believe Logs Insights query ID is running (close stops it)
    --hostile-cwd       chdir into a folder whose name holds OSC 52 / OSC 8 / markup payloads,
                        so that the export dialog's default path and its notification carry them
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.apptools import AttachedRuntime  # noqa: E402
from tests.hostile import HOSTILE  # noqa: E402

# What can travel in HTTP/JSON at all (lone surrogates cannot be encoded).
SENDABLE = [h for h in HOSTILE if not re.search("[\ud800-\udfff]", h)]
# What XML 1.0 can carry (EC2 answers in XML): no C0 controls except TAB/LF/CR.
XML_SAFE = [h for h in SENDABLE if not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", h)]
# A folder name: no NUL, no slash.
PATH_SAFE = "".join(h for h in SENDABLE if "\x00" not in h and "/" not in h)

HOSTILE_PORT = 4444  # flow records carrying hostile fields use this source port


def trail_records(now: datetime) -> list[dict[str, Any]]:
    at = now - timedelta(minutes=2)
    records = []
    for index, text in enumerate(HOSTILE):
        records.append(
            {
                "eventVersion": "1.10",
                "eventTime": f"{at + timedelta(seconds=index):%Y-%m-%dT%H:%M:%SZ}",
                "eventSource": "ec2.amazonaws.com",
                "eventName": f"Hostile{index}{text}",
                "eventID": f"hostile-{index:04d}",
                "userAgent": text,
                "sourceIPAddress": text,
                "awsRegion": "us-east-1",
                "errorCode": f"AccessDenied{text}",
                "errorMessage": text,
                "readOnly": False,
                "userIdentity": {
                    "type": "IAMUser",
                    "userName": text,
                    "arn": f"arn:aws:iam::123456789012:user/{text}",
                    "accountId": "123456789012",
                },
                "resources": [{"ARN": f"arn:aws:ec2:us-east-1:123456789012:instance/{text}"}],
                "_resources": [{"ResourceType": "AWS::EC2::Instance", "ResourceName": text}],
            }
        )
    return records


def inject(world: Any) -> None:
    """Put the hostile corpus everywhere a string from AWS reaches the screen."""
    from tui.demo import extensions
    from tui.demo.seed import V5_FIELDS, clients

    extensions.record_events(trail_records(world.now), region=world.region)
    boto = clients(world.url, world.region)
    ec2, logs, cw = boto["ec2"], boto["logs"], boto["cloudwatch"]
    ec2.create_tags(
        Resources=[world.slow_instance_id],
        Tags=[{"Key": "Name", "Value": "".join(XML_SAFE)[:255]}],
    )
    stamp = int(world.now.timestamp()) - 120
    values = dict.fromkeys(V5_FIELDS, "-")
    values.update(
        {
            "version": "5",
            "account-id": world.account_id,
            "interface-id": next(iter(world.eni_ids.values())),
            "srcaddr": "10.20.1.99",
            "dstaddr": "10.20.1.10",
            "srcport": str(HOSTILE_PORT),
            "dstport": "22",
            "protocol": "6",
            "packets": "1",
            "bytes": "40",
            "start": str(stamp),
            "end": str(stamp + 60),
            "action": "REJECT",
            "log-status": "OK",
        }
    )
    lines = []
    for i, evil in enumerate(SENDABLE):
        token = re.sub(r"\s", "_", evil) or "x"
        row = dict(values, **{"subnet-id": token, "sublocation-id": f"{token}{i}"})
        lines.append(" ".join(row[f] for f in V5_FIELDS))
    lines.extend(SENDABLE)  # not flow records at all: counted as bad lines
    for group in (world.log_group_v5, world.log_group_v2):
        logs.create_log_stream(logGroupName=group, logStreamName="hostile")
        logs.put_log_events(
            logGroupName=group,
            logStreamName="hostile",
            logEvents=[{"timestamp": stamp * 1000, "message": line} for line in lines],
        )
    cw.put_metric_data(
        Namespace="Custom",
        MetricData=[
            {
                "MetricName": (HOSTILE[0] + "[/]" + HOSTILE[4])[:255],
                "Dimensions": [
                    {"Name": "InstanceId", "Value": world.slow_instance_id},
                    {"Name": "Evil", "Value": HOSTILE[2][:255]},
                ],
                "Timestamp": world.now - timedelta(minutes=5),
                "Value": 1.0,
            }
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true")
    parser.add_argument("--milestones")
    parser.add_argument("--calls-out")
    parser.add_argument("--track-query")
    parser.add_argument("--hostile-cwd", action="store_true")
    args = parser.parse_args(argv)

    from tui.app import HamariApp
    from tui.aws.session import DEMO_CREDENTIALS, Aws, Connection
    from tui.demo.seed import seed
    from tui.demo.server import EmbeddedAws
    from tui.settings import Settings

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    server = EmbeddedAws()
    url = server.start()
    try:
        world = seed(url, now=now)
        if not args.clean:
            inject(world)
        server.faults.clear_seen()
        if args.hostile_cwd:
            folder = Path(tempfile.mkdtemp(prefix="hamari-pty-")) / PATH_SAFE[:200]
            folder.mkdir()
            os.chdir(folder)
        bench_fd = None
        if args.milestones:
            bench_fd = os.open(args.milestones, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        aws = Aws(
            Connection(
                region=world.region,
                endpoint_url=url,
                demo=True,
                static_credentials=DEMO_CREDENTIALS,
            )
        )
        if args.track_query:
            aws.track_query(args.track_query, world.region)
        app = HamariApp(
            Settings(demo=True, bench_fd=bench_fd),
            clock=lambda: world.now,
            demo_runtime=AttachedRuntime(url, world),
            aws=aws,
        )
        app.run()
        if args.calls_out:
            with open(args.calls_out, "w", encoding="utf-8") as fh:
                for seen in server.requests_seen:
                    fh.write(json.dumps([seen.service, seen.operation]) + "\n")
        return app.return_code or 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
