"""The Glue catalog and Athena workgroup over a world's S3 flow logs (for ``--athena-workgroup``).

One table per S3 flow log, in the two ways the Athena docs make them: the text log with
partition projection (a ``day`` key, ``yyyy/MM/dd``, and a ``storage.location.template``), the
hive-layout Parquet log with ``year``/``month``/``day``/``hour`` partitions added one by one (as
AWS's flow-log Athena integration does), so both of hamari's ways to prune the window run. The
workgroup writes its results to a bucket of its own (Athena's output location).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .spec import DemoWorld, FlowLogSpec

__all__ = ["DATABASE", "WORKGROUP", "create_catalog", "table_name"]

DATABASE = "flowlogs"
WORKGROUP = "hamari"
_INT = {"version", "srcport", "dstport", "tcp-flags", "traffic-path"}
_BIGINT = {"protocol", "packets", "bytes", "start", "end"}


def table_name(fl: FlowLogSpec) -> str:
    """The Glue table of one S3 flow log (``flow_logs_s3_text``)."""
    return "flow_logs_" + fl.kind.replace("-", "_")


def results_bucket(world: DemoWorld) -> str:
    return f"{world.flowlogs_bucket}-athena-results"


def _columns(fl: FlowLogSpec) -> list[dict[str, str]]:
    kinds = {f: "int" if f in _INT else "bigint" if f in _BIGINT else "string" for f in fl.fields}
    return [{"Name": f.replace("-", "_"), "Type": kinds[f]} for f in fl.fields]


def create_catalog(c: dict[str, Any], world: DemoWorld, start: datetime, end: datetime) -> None:
    """The results bucket, the workgroup, the database, one table per S3 flow log."""
    region, acct = world.region, world.account_id
    bucket = results_bucket(world)
    where = {} if region == "us-east-1" else {"LocationConstraint": region}
    c["s3"].create_bucket(Bucket=bucket, **({"CreateBucketConfiguration": where} if where else {}))
    c["athena"].create_work_group(
        Name=WORKGROUP,
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{bucket}/results/"}},
    )
    glue = c["glue"]
    glue.create_database(DatabaseInput={"Name": DATABASE})
    for fl in world.spec.flow_logs:
        if fl.destination != "s3":
            continue
        root = f"s3://{world.flowlogs_bucket}/" + (f"{fl.prefix}/" if fl.prefix else "")
        if fl.file_format == "parquet":
            location = (
                f"{root}AWSLogs/aws-account-id={acct}/aws-service=vpcflowlogs/aws-region={region}/"
            )
            keys = ["year", "month", "day", "hour"]
            serde = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
            fmt = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
            params: dict[str, str] = {"EXTERNAL": "TRUE"}
        else:
            location = f"{root}AWSLogs/{acct}/vpcflowlogs/{region}/"
            keys = ["day"]
            serde = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
            fmt = "org.apache.hadoop.mapred.TextInputFormat"
            params = {
                "EXTERNAL": "TRUE",
                "skip.header.line.count": "1",
                "projection.enabled": "true",
                "projection.day.type": "date",
                "projection.day.format": "yyyy/MM/dd",
                "projection.day.range": "2020/01/01,NOW",
                "storage.location.template": location + "${day}",
            }
        sd = {
            "Columns": _columns(fl),
            "Location": location,
            "InputFormat": fmt,
            "SerdeInfo": {"SerializationLibrary": serde, "Parameters": {"field.delim": " "}},
        }
        glue.create_table(
            DatabaseName=DATABASE,
            TableInput={
                "Name": table_name(fl),
                "TableType": "EXTERNAL_TABLE",
                "StorageDescriptor": sd,
                "PartitionKeys": [{"Name": k, "Type": "string"} for k in keys],
                "Parameters": params,
            },
        )
        if keys == ["day"]:
            continue
        hour = start.replace(minute=0, second=0, microsecond=0)
        inputs = []
        while hour <= end:
            values = [f"{hour:%Y}", f"{hour:%m}", f"{hour:%d}", f"{hour:%H}"]
            path = f"{location}year={values[0]}/month={values[1]}/day={values[2]}/hour={values[3]}/"
            inputs.append({"Values": values, "StorageDescriptor": {**sd, "Location": path}})
            hour += timedelta(hours=1)
        for i in range(0, len(inputs), 100):
            glue.batch_create_partition(
                DatabaseName=DATABASE,
                TableName=table_name(fl),
                PartitionInputList=inputs[i : i + 100],
            )
