"""boto3 clients for a world's account, and the small helpers every seed module shares.

moto derives the account of a request from its access key: keys it does not know belong to
its default account (the demo's); keys it issued for an AssumeRole into
``arn:aws:iam::<account>:role/…`` belong to that account. So a world in another account is
seeded, and read by the product, with credentials of a role assumed there. Those keys live in
moto's IAM backend and vanish on a reset (requests would then land in the default account, in
silence), so they are asked for anew by every seeding instead of being cached.
"""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from .spec import DEMO

__all__ = ["clients", "operator_credentials"]

SERVICES = ("ec2", "kms", "logs", "s3", "cloudwatch", "cloudtrail", "sts", "glue", "athena")
_TEST_KEYS = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
SEED_ROLE = "hamari-seed"  # assumed in a world's account by the seeding (any name works in moto)

_CLIENTS: dict[tuple[str, str], dict[str, Any]] = {}
_CLIENTS_LOCK = threading.Lock()


def clients(url: str, region: str = "us-east-1", account: str = DEMO.account) -> dict[str, Any]:
    """boto3 clients for the emulator, in ``account`` (test credentials; moto checks none).

    The default account's are made once per (url, region) and shared (boto3 clients are
    thread-safe): the seed and the live feeder would otherwise each parse the same API models,
    ~0.3 s of CPU at start-up. Another account's are made with fresh assumed-role keys.
    """
    if account != DEMO.account:
        creds = assume(url, region, f"arn:aws:iam::{account}:role/{SEED_ROLE}", "seed")
        return _make_clients(url, region, creds)
    with _CLIENTS_LOCK:
        made = _CLIENTS.get((url, region))
        if made is None:
            made = _CLIENTS[(url, region)] = _make_clients(url, region, _TEST_KEYS)
        return made


def _make_clients(url: str, region: str, creds: tuple[str, ...]) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=creds[0],
        aws_secret_access_key=creds[1],
        aws_session_token=creds[2] if len(creds) > 2 else None,
        region_name=region,
    )
    config = Config(
        retries={"total_max_attempts": 2, "mode": "standard"}, parameter_validation=False
    )
    return {n: session.client(n, endpoint_url=url, config=config) for n in SERVICES}


def assume(url: str, region: str, role_arn: str, session: str) -> tuple[str, str, str]:
    """Temporary credentials of ``role_arn`` (in the role's account, as moto derives it)."""
    creds = clients(url, region)["sts"].assume_role(
        RoleArn=role_arn, RoleSessionName=session, DurationSeconds=43200
    )["Credentials"]
    return creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]


def operator_credentials(url: str, world: Any = None) -> tuple[str, str, str]:
    """Temporary credentials of the scenario's operator (the demo's: alice, in role OpsAdmin).

    The demo signs in as her, like an engineer on the bastion would after ``aws sso login``,
    so the header and every "who am I" answer (GetCallerIdentity) name the assumed role. Give
    a seeded ``world`` (or a :class:`~tui.demo.seed.spec.WorldSpec`) to sign in to its account.
    """
    spec = getattr(world, "spec", world) or DEMO
    return assume(url, spec.region, spec.role_arn, spec.operator)


def uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tags(name: str, **extra: str) -> list[dict[str, str]]:
    out = [{"Key": "Name", "Value": name}, {"Key": "env", "Value": "prod"}]
    out += [{"Key": k, "Value": v} for k, v in extra.items()]
    return out
