"""The complete list of AWS operations hamari may call: all of them read-only.

Every call goes through :meth:`tui.aws.session.Aws.call`, which refuses any operation missing from
:data:`ALLOWED`. A test walks the source to prove that every operation named in the code is listed
here and that each one is read-only, and the shipped IAM policy (``tui/iam-policy.json``) is
generated from this same list (``python -m tui.aws.operations > tui/iam-policy.json``).

One exception, opt-in: Athena (:data:`OPT_IN`). Running a query makes Athena write its result
to the workgroup's S3 output location, so those calls are refused unless the connection was
opened with ``--athena-workgroup``; the policy ships them as a separate, optional statement.
"""

from __future__ import annotations

import json
from typing import Final

# (botocore service name, operation name as in the API reference)
ALLOWED: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        ("sts", "GetCallerIdentity"),
        ("cloudtrail", "LookupEvents"),
        ("cloudtrail", "DescribeTrails"),
        ("cloudtrail", "GetTrailStatus"),
        ("cloudtrail", "ListEventDataStores"),
        ("cloudtrail", "StartQuery"),
        ("cloudtrail", "DescribeQuery"),
        ("cloudtrail", "GetQueryResults"),
        ("cloudtrail", "ListQueries"),
        ("cloudtrail", "CancelQuery"),
        ("s3", "ListObjectsV2"),
        ("s3", "GetObject"),
        ("cloudwatch", "GetMetricData"),
        ("cloudwatch", "ListMetrics"),
        ("ec2", "DescribeInstances"),
        ("ec2", "DescribeInstanceTypes"),
        ("ec2", "DescribeVolumes"),
        ("ec2", "DescribeNetworkInterfaces"),
        ("ec2", "DescribeSubnets"),
        ("ec2", "DescribeVpcs"),
        ("ec2", "DescribeNetworkAcls"),
        ("ec2", "DescribeSecurityGroups"),
        ("ec2", "DescribeFlowLogs"),
        ("ec2", "DescribeTransitGatewayAttachments"),
        ("logs", "DescribeLogGroups"),
        ("logs", "FilterLogEvents"),
        ("logs", "StartQuery"),
        ("logs", "DescribeQueries"),
        ("logs", "GetQueryResults"),
        ("logs", "StopQuery"),
        ("kms", "DescribeKey"),
        ("kms", "ListAliases"),
    }
)

# Logs Insights queries are started and stopped, which changes no resource.
READ_ONLY_PREFIXES: Final = ("Describe", "Get", "List", "Lookup", "Filter")
QUERY_CONTROL: Final = frozenset(
    {
        ("logs", "StartQuery"),
        ("logs", "StopQuery"),
        # CloudTrail Lake queries (tui/aws/lake.py): SELECT only, Lake refuses anything else.
        ("cloudtrail", "StartQuery"),
        ("cloudtrail", "CancelQuery"),
    }
)


# Athena runs the flow filter over S3 where the logs are; each query writes its result CSV to
# the workgroup's output location (the one place hamari causes a write), so these are allowed
# only on a connection opened with --athena-workgroup (Aws.call refuses them otherwise).
OPT_IN: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        ("athena", "StartQueryExecution"),
        ("athena", "GetQueryExecution"),
        ("athena", "GetQueryResults"),
        ("athena", "StopQueryExecution"),
        ("glue", "GetTable"),
        ("glue", "GetPartitions"),
        ("glue", "GetDatabases"),  # to find the table by its S3 location (no --athena-table)
        ("glue", "GetTables"),
    }
)


# Calls that must not be sent again when their answer is lost (timed out, connection dropped,
# 5xx): each attempt may start something new that bills (a Logs Insights query). Only a throttle,
# which AWS refused, is retried for them; the caller decides the rest (tui/aws/insights.py).
NOT_IDEMPOTENT: Final = frozenset(
    {("logs", "StartQuery"), ("athena", "StartQueryExecution"), ("cloudtrail", "StartQuery")}
)


def is_read_only(service: str, operation: str) -> bool:
    """True for operations that cannot change anything in the account."""
    return operation.startswith(READ_ONLY_PREFIXES) or (service, operation) in QUERY_CONTROL


# IAM action names that differ from the API operation name (the Service Authorization
# Reference): ListObjectsV2 is authorized as s3:ListBucket. The botocore service names hamari
# uses are also the IAM prefixes (sts, cloudtrail, s3, cloudwatch, ec2, logs, kms).
_IAM_ACTION: Final[dict[tuple[str, str], str]] = {("s3", "ListObjectsV2"): "ListBucket"}


def iam_action(service: str, operation: str) -> str:
    """The IAM action that authorizes one API call: ``s3:ListBucket`` for ListObjectsV2."""
    return f"{service}:{_IAM_ACTION.get((service, operation), operation)}"


def iam_actions() -> list[str]:
    """The IAM actions needed for :data:`ALLOWED`, sorted."""
    return sorted({iam_action(service, op) for service, op in ALLOWED})


#: Where the optional Athena statement lets query results be written and read: replace it with
#: the workgroup's output location (``aws athena get-work-group --work-group WG``).
ATHENA_OUTPUT_RESOURCE: Final = "arn:aws:s3:::ATHENA-OUTPUT-BUCKET/ATHENA-OUTPUT-PREFIX/*"
#: What Athena itself does with the caller's credentials while it runs hamari's query: read the
#: table's database from Glue (the table and partitions are hamari's own calls).
_ATHENA_ON_BEHALF: Final = ("glue:GetDatabase",)


def iam_policy() -> dict[str, object]:
    """The least-privilege IAM policy document for hamari (add kms:Decrypt for SSE-KMS buckets).

    The first statement is all hamari needs by default. The two ``HamariAthenaOptIn``
    statements are for ``--athena-workgroup`` only: leave them out to keep hamari read-only.
    """
    opt_in = sorted({iam_action(s, o) for s, o in OPT_IN} | set(_ATHENA_ON_BEHALF))
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "HamariReadOnly",
                "Effect": "Allow",
                "Action": iam_actions(),
                "Resource": "*",
            },
            {
                "Sid": "HamariAthenaOptIn",
                "Effect": "Allow",
                "Action": opt_in,
                "Resource": "*",
            },
            {
                "Sid": "HamariAthenaOptInResults",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": ATHENA_OUTPUT_RESOURCE,
            },
        ],
    }


if __name__ == "__main__":
    print(json.dumps(iam_policy(), indent=2))
