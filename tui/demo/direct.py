"""Bulk seeding straight into the backends of an emulator that runs in this process.

Seeding three hours of history (about 10k datapoints and 17k flow-log lines) over HTTP costs
about 2.3 s of CPU, nearly all of it botocore serialising requests and moto parsing them, in the
same process (and under the same GIL) as the UI that is trying to paint its first data. When the
emulator is ours (:meth:`EmbeddedAws.serves`), the seed hands the very same batches to the very
same moto backend methods the HTTP handlers call, skipping only the wire. Nothing else changes:
the app reads everything over HTTP through aiobotocore, and the live feeder writes over HTTP.

The adapters mimic the few boto3 client methods the seed uses, so one seeding function serves
both paths.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

# Writes made here, which the emulator's request log never sees: part of its state token.
WRITES = [0]


class DirectLogs:
    """``create_log_stream``/``put_log_events`` of a boto3 logs client, on moto's backend."""

    def __init__(self, account: str, region: str) -> None:
        from moto.logs.exceptions import ResourceAlreadyExistsException
        from moto.logs.models import logs_backends

        self._backend = logs_backends[account][region]
        self.exceptions = type(
            "Exceptions", (), {"ResourceAlreadyExistsException": ResourceAlreadyExistsException}
        )

    def create_log_stream(self, *, logGroupName: str, logStreamName: str) -> None:
        WRITES[0] += 1
        self._backend.create_log_stream(logGroupName, logStreamName)

    def put_log_events(
        self,
        *,
        logGroupName: str,
        logStreamName: str,
        logEvents: list[dict[str, Any]],
    ) -> dict[str, Any]:
        WRITES[0] += 1
        token, rejected = self._backend.put_log_events(logGroupName, logStreamName, logEvents)
        if rejected:  # the seed only writes in-range events; say so loudly if that ever changes
            raise ValueError(f"moto rejected seeded log events: {rejected}")
        return {"nextSequenceToken": token}


class DirectMetrics:
    """``put_metric_data`` of a boto3 CloudWatch client, on moto's backend."""

    def __init__(self, account: str, region: str) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        self._backend = cloudwatch_backends[account][region]

    def put_metric_data(self, *, Namespace: str, MetricData: list[dict[str, Any]]) -> None:
        WRITES[0] += 1
        # moto's request parser hands the backend naive UTC datetimes; do the same.
        items = [
            {**m, "Timestamp": m["Timestamp"].astimezone(UTC).replace(tzinfo=None)}
            if m.get("Timestamp") is not None and m["Timestamp"].tzinfo is not None
            else m
            for m in MetricData
        ]
        self._backend.put_metric_data(Namespace, items)
