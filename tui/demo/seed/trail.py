"""Incident 1 in CloudTrail: a start accepted, then EC2's KMS calls denied; the everyday noise
around it; the decoys a healthy account has; and the trail's log files in S3.

AWS has no API to write CloudTrail events: they go to LookupEvents through
:func:`tui.demo.extensions.record_events` and, as log and digest files, into the trail's bucket
(under the trail's ``S3KeyPrefix`` when it has one).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from .common import iso, uuid4
from .spec import DEMO, WorldSpec

__all__ = ["decoy_events", "incident_events", "noise_events", "start_attempt_events"]

Principal = tuple[str, str, str, str, str, str]  # kind, name, arn, access key, ip, user agent


def principals(spec: WorldSpec = DEMO) -> list[Principal]:
    """The world's everyday principals; the first is the operator."""
    acct = spec.account
    return [
        (
            "AssumedRole",
            spec.operator,
            spec.principal_arn,
            "ASIAQ3EGRE3VALICE01",
            "198.51.100.24",
            "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.11.9 "
            "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe sid/0c2a command/ec2.start-instances",
        ),
        (
            "AssumedRole",
            spec.readonly_user,
            f"arn:aws:sts::{acct}:assumed-role/{spec.readonly_role}/{spec.readonly_user}",
            "ASIAQ3EGRE3VBOB0002",
            "198.51.100.77",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
        ),
        (
            "AssumedRole",
            "i-0deploy",
            f"arn:aws:sts::{acct}:assumed-role/{spec.ci_role}/{spec.ci_session}",
            "ASIAQ3EGRE3VCIDEP03",
            "20.42.11.8",
            "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 "
            "os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.12.4 md/pyimpl#CPython cfg/retry-mode#legacy "
            "Botocore/1.34.144",
        ),
        (
            "IAMUser",
            spec.bot_user,
            f"arn:aws:iam::{acct}:user/{spec.bot_user}",
            "AKIAQ3EGRE3VMONBOT4",
            spec.bot_ip,
            "Grafana/10.4.2 aws-sdk-go/1.51.21 (go1.22.2; linux; amd64)",
        ),
    ]


def _identity(
    kind: str, name: str, arn: str, key: str, when: datetime, spec: WorldSpec
) -> dict[str, Any]:
    acct = spec.account
    if kind == "IAMUser":
        return {
            "type": "IAMUser",
            "principalId": "AIDAQ3EGRE3V" + hashlib.md5(name.encode()).hexdigest()[:9].upper(),
            "arn": arn,
            "accountId": acct,
            "accessKeyId": key,
            "userName": name,
        }
    role = arn.split("/")[1]
    role_id = "AROAQ3EGRE3V" + hashlib.md5(role.encode()).hexdigest()[:9].upper()
    session = arn.rsplit("/", 1)[-1]
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": arn,
        "accountId": acct,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": f"arn:aws:iam::{acct}:role/{role}",
                "accountId": acct,
                "userName": role,
            },
            "attributes": {
                "creationDate": iso(when - timedelta(minutes=37)),
                "mfaAuthenticated": "true" if session == spec.operator else "false",
            },
        },
    }


def _event(
    rng: random.Random,
    when: datetime,
    source: str,
    name: str,
    principal: tuple[str, ...],
    *,
    read_only: bool,
    params: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
    invoked_by: str | None = None,
    resources: list[dict[str, str]] | None = None,
    spec: WorldSpec = DEMO,
) -> dict[str, Any]:
    kind, pname, arn, key, ip, agent = principal
    region = spec.region
    identity = _identity(kind, pname, arn, key, when, spec)
    service = source.split(".")[0]
    record: dict[str, Any] = {
        "eventVersion": "1.10" if service in ("ec2", "kms") else "1.09",
        "userIdentity": identity,
        "eventTime": iso(when),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": invoked_by or ip,
        "userAgent": invoked_by or agent,
    }
    if invoked_by:
        identity["invokedBy"] = invoked_by
    if error:
        record["errorCode"], record["errorMessage"] = error
    record["requestParameters"] = params
    record["responseElements"] = response
    record["requestID"] = uuid4(rng)
    record["eventID"] = uuid4(rng)
    record["readOnly"] = read_only
    if resources:
        record["resources"] = resources
    record["eventType"] = "AwsApiCall"
    record["managementEvent"] = True
    record["recipientAccountId"] = spec.account
    record["eventCategory"] = "Management"
    if not invoked_by:
        record["tlsDetails"] = {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{service}.{region}.amazonaws.com",
        }
    return record


def _instances_set(instance_id: str) -> dict[str, Any]:
    return {"instancesSet": {"items": [{"instanceId": instance_id}]}}


def _state_change(instance_id: str, prev: tuple[int, str], cur: tuple[int, str]) -> dict[str, Any]:
    return {
        "requestId": "",
        "instancesSet": {
            "items": [
                {
                    "instanceId": instance_id,
                    "currentState": {"code": cur[0], "name": cur[1]},
                    "previousState": {"code": prev[0], "name": prev[1]},
                }
            ]
        },
    }


def start_attempt_events(
    rng: random.Random,
    when: datetime,
    instance_id: str,
    volume_id: str,
    key_arn: str,
    *,
    denied: bool,
    spec: WorldSpec = DEMO,
) -> list[dict[str, Any]]:
    """StartInstances by the operator, then the KMS calls EC2 makes for her to attach the volume."""
    operator = principals(spec)[0]
    ec2_principal = f"ec2.{spec.region}.amazonaws.com"
    events = [
        _event(
            rng,
            when,
            "ec2.amazonaws.com",
            "StartInstances",
            operator,
            read_only=False,
            params=_instances_set(instance_id),
            response=_state_change(instance_id, (80, "stopped"), (0, "pending")),
            spec=spec,
        )
    ]
    kms_resources = [{"accountId": spec.account, "type": "AWS::KMS::Key", "ARN": key_arn}]
    context = {"aws:ebs:id": volume_id}
    for offset, name, params, ok_response in (
        (
            1.2,
            "CreateGrant",
            {
                "keyId": key_arn,
                "granteePrincipal": ec2_principal,
                "retiringPrincipal": ec2_principal,
                "operations": [
                    "Decrypt",
                    "GenerateDataKeyWithoutPlaintext",
                    "ReEncryptFrom",
                    "ReEncryptTo",
                    "CreateGrant",
                    "DescribeKey",
                ],
                "constraints": {"encryptionContextSubset": {"aws:ebs:id": volume_id}},
            },
            {
                "grantId": hashlib.sha256(f"{volume_id}{when}".encode()).hexdigest(),
                "keyId": key_arn,
            },
        ),
        (
            1.9,
            "Decrypt",
            {"encryptionContext": context, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
            None,
        ),
    ):
        error = None
        if denied:
            error = (
                "AccessDenied",
                f"User: {spec.principal_arn} is not authorized to perform: kms:{name} on "
                f"resource: {key_arn} because no resource-based policy allows the kms:{name} "
                "action",
            )
        events.append(
            _event(
                rng,
                when + timedelta(seconds=offset),
                "kms.amazonaws.com",
                name,
                operator,
                read_only=name != "CreateGrant",
                params=params,
                response=None if denied else ok_response,
                error=error,
                invoked_by="ec2.amazonaws.com",
                resources=kms_resources,
                spec=spec,
            )
        )
    return events


def noise_events(
    rng: random.Random,
    start: datetime,
    end: datetime,
    per_hour: int,
    instance_ids: list[str],
    spec: WorldSpec = DEMO,
) -> list[dict[str, Any]]:
    """Everyday management events from several principals, addresses and user agents."""
    people = principals(spec)
    acct = spec.account
    flow_group = next((f.log_group for f in spec.flow_logs if f.log_group), "")
    span = (end - start).total_seconds()
    count = max(0, int(per_hour * span / 3600))
    out = []
    for _ in range(count):
        when = start + timedelta(seconds=rng.uniform(0, span))
        principal = rng.choice(people)
        pick = rng.random()
        if pick < 0.30:
            out.append(
                _event(
                    rng,
                    when,
                    "ec2.amazonaws.com",
                    "DescribeInstances",
                    principal,
                    read_only=True,
                    params={"instancesSet": {}, "filterSet": {}},
                    spec=spec,
                )
            )
        elif pick < 0.42:
            out.append(
                _event(
                    rng,
                    when,
                    "sts.amazonaws.com",
                    "GetCallerIdentity",
                    principal,
                    read_only=True,
                    spec=spec,
                )
            )
        elif pick < 0.52:
            out.append(
                _event(
                    rng,
                    when,
                    "ec2.amazonaws.com",
                    "DescribeVolumes",
                    principal,
                    read_only=True,
                    params={"volumeSet": {}, "filterSet": {}},
                    spec=spec,
                )
            )
        elif pick < 0.62:
            out.append(
                _event(
                    rng,
                    when,
                    "monitoring.amazonaws.com",
                    "GetMetricData",
                    principal,
                    read_only=True,
                    params={"startTime": iso(when - timedelta(hours=3)), "endTime": iso(when)},
                    spec=spec,
                )
            )
        elif pick < 0.74:
            role = rng.choice([spec.readonly_role, spec.ci_role, spec.operator_role])
            cross = role == spec.ci_role
            ev = _event(
                rng,
                when,
                "sts.amazonaws.com",
                "AssumeRole",
                principal,
                read_only=True,
                params={
                    "roleArn": f"arn:aws:iam::{acct}:role/{role}",
                    "roleSessionName": principal[1],
                    "durationSeconds": 3600,
                },
                response={
                    "credentials": {
                        "accessKeyId": "ASIAQ3EGRE3V"
                        + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(8)),
                        "expiration": iso(when + timedelta(hours=1)),
                    }
                },
                resources=[
                    {
                        "accountId": acct,
                        "type": "AWS::IAM::Role",
                        "ARN": f"arn:aws:iam::{acct}:role/{role}",
                    }
                ],
                spec=spec,
            )
            if cross:
                ev["sharedEventID"] = uuid4(rng)
            out.append(ev)
        elif pick < 0.80:
            human = people[rng.choice([0, 1])]
            out.append(
                _event(
                    rng,
                    when,
                    "signin.amazonaws.com",
                    "ConsoleLogin",
                    human,
                    read_only=False,
                    response={"ConsoleLogin": "Success"},
                    params=None,
                    spec=spec,
                )
                | {
                    "additionalEventData": {
                        "LoginTo": "https://console.aws.amazon.com/console/home",
                        "MobileVersion": "No",
                        "MFAUsed": "Yes",
                    }
                }
            )
        elif pick < 0.90:
            out.append(
                _event(
                    rng,
                    when,
                    "logs.amazonaws.com",
                    "FilterLogEvents",
                    principal,
                    read_only=True,
                    params={"logGroupName": flow_group, "filterPattern": "REJECT"},
                    spec=spec,
                )
            )
        else:
            iid = rng.choice(instance_ids)
            out.append(
                _event(
                    rng,
                    when,
                    "ec2.amazonaws.com",
                    "DescribeInstanceStatus",
                    principal,
                    read_only=True,
                    params={
                        "instancesSet": {"items": [{"instanceId": iid}]},
                        "includeAllInstances": True,
                    },
                    spec=spec,
                )
            )
    return out


# Incident 1's timeline, in minutes before ``now``: the twin stops and starts fine, then the
# failing instance stops, its start is accepted and denied, and is retried later.
TWIN_STOP, FAILING_STOP, FAILING_START, FAILING_RETRY = 95, 58, 52, 31


def incident_events(
    rng: random.Random,
    spec: WorldSpec,
    now: datetime,
    ids: dict[str, str],
    key_arn: str,
    managed_key_arn: str,
) -> tuple[list[dict[str, Any]], datetime]:
    """The stops and starts of incident 1 (denied only when ``spec.incidents``).

    ``ids`` holds "failing", "twin", "failing_volume" and "twin_volume". Returns the events
    and the time of the first start attempt of the failing instance.
    """
    operator = principals(spec)[0]
    failing, twin = ids["failing"], ids["twin"]
    denied = spec.incidents
    events = []
    twin_stop = now - timedelta(minutes=TWIN_STOP)
    events.append(
        _event(
            rng,
            twin_stop,
            "ec2.amazonaws.com",
            "StopInstances",
            operator,
            read_only=False,
            params=_instances_set(twin) | {"force": False},
            response=_state_change(twin, (16, "running"), (64, "stopping")),
            spec=spec,
        )
    )
    events += start_attempt_events(
        rng,
        twin_stop + timedelta(minutes=4),
        twin,
        ids["twin_volume"],
        managed_key_arn,
        denied=False,
        spec=spec,
    )
    events.append(
        _event(
            rng,
            now - timedelta(minutes=FAILING_STOP),
            "ec2.amazonaws.com",
            "StopInstances",
            operator,
            read_only=False,
            params=_instances_set(failing) | {"force": False},
            response=_state_change(failing, (16, "running"), (64, "stopping")),
            spec=spec,
        )
    )
    start_at = now - timedelta(minutes=FAILING_START)
    events += start_attempt_events(
        rng, start_at, failing, ids["failing_volume"], key_arn, denied=denied, spec=spec
    )
    events.append(
        _event(
            rng,
            start_at + timedelta(seconds=41),
            "ec2.amazonaws.com",
            "DescribeInstances",
            operator,
            read_only=True,
            params={"instancesSet": {"items": [{"instanceId": failing}]}, "filterSet": {}},
            spec=spec,
        )
    )
    events += start_attempt_events(
        rng,
        now - timedelta(minutes=FAILING_RETRY),
        failing,
        ids["failing_volume"],
        key_arn,
        denied=denied,
        spec=spec,
    )
    return events, start_at


def decoy_events(
    rng: random.Random, spec: WorldSpec, start: datetime, end: datetime, starts: list[datetime]
) -> list[dict[str, Any]]:
    """What a healthy account also logs, none of which is an incident.

    * A Lambda function denied ``kms:Decrypt`` on its environment key at every cold start
      (about every 9 minutes), one of them seconds after each StartInstances in ``starts``.
    * The CI role throttled (``RequestLimitExceeded``) a little all the time and a few times in a
      row at each deploy, every retry then succeeding.
    """
    acct, region = spec.account, spec.region
    fn_role, fn = f"{spec.prefix}-fn-role", f"{spec.prefix}-nightly-export"
    lam = (
        "AssumedRole",
        fn,
        f"arn:aws:sts::{acct}:assumed-role/{fn_role}/{fn}",
        "ASIAQ3EGRE3VLAMBDA5",
        "lambda.amazonaws.com",
        "lambda.amazonaws.com",
    )
    ci = principals(spec)[2]
    env_key = f"arn:aws:kms:{region}:{acct}:key/5f0c2b1e-7d1a-4c39-9a0e-3b7f6d2c8e41"
    out: list[dict[str, Any]] = []

    def lambda_denied(when: datetime) -> None:
        out.append(
            _event(
                rng,
                when,
                "kms.amazonaws.com",
                "Decrypt",
                lam,
                read_only=True,
                params={
                    "encryptionContext": {"LambdaFunctionName": fn},
                    "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                },
                error=(
                    "AccessDenied",
                    f"User: {lam[2]} is not authorized to perform: kms:Decrypt on resource: "
                    f"{env_key} because no identity-based policy allows the kms:Decrypt action",
                ),
                resources=[{"accountId": acct, "type": "AWS::KMS::Key", "ARN": env_key}],
                spec=spec,
            )
        )

    when = start + timedelta(minutes=rng.uniform(0, 9))
    while when < end:
        lambda_denied(when)
        when += timedelta(minutes=rng.uniform(8, 10))
    for at in starts:
        lambda_denied(at + timedelta(seconds=3))

    def throttled(when: datetime, name: str) -> None:
        out.append(
            _event(
                rng,
                when,
                "ec2.amazonaws.com",
                name,
                ci,
                read_only=True,
                params={"filterSet": {}},
                error=("Client.RequestLimitExceeded", "Request limit exceeded."),
                spec=spec,
            )
        )
        out.append(  # the SDK's retry, a moment later, succeeds
            _event(
                rng,
                when + timedelta(seconds=rng.uniform(0.5, 3)),
                "ec2.amazonaws.com",
                name,
                ci,
                read_only=True,
                params={"filterSet": {}},
                spec=spec,
            )
        )

    names = ["DescribeInstances", "DescribeSecurityGroups", "DescribeSubnets"]
    when = start + timedelta(minutes=rng.uniform(0, 3))
    while when < end:  # the trickle: about one every 3 minutes
        throttled(when, rng.choice(names))
        when += timedelta(minutes=rng.uniform(2, 4))
    deploy = start + timedelta(minutes=7)
    while deploy < end:  # each deploy: a handful in a row
        for i in range(rng.randint(4, 6)):
            throttled(deploy + timedelta(seconds=4 * i), rng.choice(names))
        deploy += timedelta(minutes=20)
    return [e for e in out if start <= _time(e) < end]


def _time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))


def member_events(
    spec: WorldSpec, rng: random.Random, events: list[dict[str, Any]], account: str, region: str
) -> list[dict[str, Any]]:
    """Another member account's share of an organization trail: a third of the world's
    read-only calls that succeeded, as that account and region recorded them (no error, no
    start: they add volume and accounts, never a finding)."""
    calm = [e for e in events if e.get("readOnly") and not e.get("errorCode")][::3]
    out = []
    for event in calm:
        text = json.dumps(event).replace(spec.account, account).replace(spec.region, region)
        copy = json.loads(text)
        copy["eventID"], copy["requestID"] = uuid4(rng), uuid4(rng)
        out.append(copy)
    return out


def trail_objects(
    spec: WorldSpec, trail_bucket: str, rng: random.Random, events: list[dict[str, Any]]
) -> list[tuple[str, bytes]]:
    """CloudTrail log files (one per 15 minutes) and an hourly digest file; for an
    organization trail (``spec.trail_org``), the other members' files beside the world's."""
    objects = _account_objects(spec, trail_bucket, rng, events, spec.account, spec.region)
    for account, region in spec.org_members:
        mine = member_events(spec, rng, events, account, region)
        objects += _account_objects(spec, trail_bucket, rng, mine, account, region)
    return objects


def _account_objects(
    spec: WorldSpec,
    trail_bucket: str,
    rng: random.Random,
    events: list[dict[str, Any]],
    acct: str,
    region: str,
) -> list[tuple[str, bytes]]:
    by_file: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for ev in events:
        ts = int(_time(ev).timestamp())
        by_file[ts // 900 * 900].append(ev)
    objects = []
    hourly: dict[int, list[dict[str, Any]]] = defaultdict(list)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    root = f"{spec.trail_prefix}/AWSLogs" if spec.trail_prefix else "AWSLogs"
    if spec.trail_org:
        root += f"/{spec.trail_org}"
    prefix = f"{root}/{acct}/CloudTrail/{region}"
    for start, records in sorted(by_file.items()):
        delivered = datetime.fromtimestamp(start + 900, UTC)
        rand = "".join(rng.choice(alphabet) for _ in range(16))
        key = (
            f"{prefix}/{delivered:%Y/%m/%d}/{acct}_CloudTrail_{region}_"
            f"{delivered:%Y%m%dT%H%MZ}_{rand}.json.gz"
        )
        body = gzip.compress(json.dumps({"Records": records}).encode(), compresslevel=5)
        objects.append((key, body))
        hourly[start // 3600 * 3600].append(
            {
                "s3Bucket": trail_bucket,
                "s3Object": key,
                "hashValue": hashlib.sha256(body).hexdigest(),
                "hashAlgorithm": "SHA-256",
                "newestEventTime": max(r["eventTime"] for r in records),
                "oldestEventTime": min(r["eventTime"] for r in records),
            }
        )
    for hour, files in sorted(hourly.items()):
        end = datetime.fromtimestamp(hour + 3600, UTC)
        digest = {
            "awsAccountId": acct,
            "digestStartTime": iso(datetime.fromtimestamp(hour, UTC)),
            "digestEndTime": iso(end),
            "digestS3Bucket": trail_bucket,
            "digestS3Object": "",
            "digestPublicKeyFingerprint": hashlib.md5(b"hamari-demo").hexdigest(),
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": max(f["newestEventTime"] for f in files),
            "oldestEventTime": min(f["oldestEventTime"] for f in files),
            "previousDigestS3Bucket": None,
            "previousDigestS3Object": None,
            "previousDigestHashValue": None,
            "previousDigestHashAlgorithm": None,
            "previousDigestSignature": None,
            "logFiles": files,
        }
        key = (
            f"{root}/{acct}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/"
            f"{acct}_CloudTrail-Digest_{region}_{spec.trail_name}_{region}_"
            f"{end:%Y%m%dT%H%M%SZ}.json.gz"
        )
        digest["digestS3Object"] = key
        objects.append((key, gzip.compress(json.dumps(digest).encode())))
    return objects
