"""Small extensions of moto 5.2.5, so the product's real AWS code paths run unchanged in the demo.

Each extension is installed by :func:`install` (idempotent) by patching one moto class in this
process; none changes moto's files. What moto lacks, and what is added here:

* **CloudTrail LookupEvents** — moto raises NotImplementedError. Added over an in-memory store per
  (account, region) that :func:`record_events` fills (AWS has no API to write events): one lookup
  attribute, time range, MaxResults 1..50, opaque NextToken, newest first, items shaped like AWS's.
* **CloudWatch Logs filter patterns** — moto treats space-delimited patterns (the flow-log kind) and
  ``?term`` as match-all. Replaced by :func:`compile_filter_pattern`: space-delimited fields with
  ``=``/``!=``/``<``/``>``/``<=``/``>=``, ``*`` wildcards, ``&&``/``||`` and ``...``; quoted and
  multiple terms, ``?term`` (OR) and ``-term`` (NOT). FilterLogEvents always interleaves streams
  (AWS ignores ``interleaved`` since 2019); :func:`set_empty_filter_pages` makes it return empty
  pages that carry a nextToken, as AWS does while it scans, so clients can be tested on them.
* **CloudWatch GetMetricData** — moto's is O(periods x datapoints) per query (seconds for 3 h of
  1-minute data); replaced by an indexed version with periods aligned to period boundaries and
  ``pNN`` percentiles. Metric math and Metrics Insights still go to moto.
* **Transit Gateway attachment ENIs** — AWS creates one requester-managed ENI
  (``InterfaceType: transit_gateway``) per attachment subnet; moto creates none, so flow records
  of return traffic through an attachment would have no interface to belong to.
* **DescribeFlowLogs DestinationOptions** — moto drops them (file format, hive-compatible
  partitions, per-hour partition); they are kept and returned. S3 destinations with a prefix
  (``arn:aws:s3:::bucket/prefix``), which moto rejects as a missing bucket, are accepted.
* **Instance state reason** — moto has no way to make a start fail; :func:`set_instance_state`
  puts an instance in a state with a reason such as ``Client.InternalError``.

Size (~870 lines): one file for every moto patch, so that what the demo fakes is one list; each
section patches one moto class.
"""

from __future__ import annotations

import base64
import calendar
import functools
import hashlib
import json
import math
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "DEFAULT_ACCOUNT",
    "compile_filter_pattern",
    "install",
    "record_events",
    "reset_stores",
    "set_empty_filter_pages",
    "set_instance_state",
]

DEFAULT_ACCOUNT = "123456789012"

_install_lock = threading.Lock()
_installed = False

# --------------------------------------------------------------------------------------------
# CloudTrail LookupEvents
# --------------------------------------------------------------------------------------------

_events_lock = threading.Lock()
# (account, region) -> list of (event_time_epoch, seq, lookup item)
_events: dict[tuple[str, str], list[tuple[float, int, dict[str, Any]]]] = defaultdict(list)
_seq = 0

LOOKUP_ATTRIBUTES = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)


def _parse_time(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp() if value.tzinfo else calendar.timegm(value.utctimetuple())
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _username(identity: dict[str, Any]) -> str | None:
    kind = identity.get("type")
    if kind == "IAMUser":
        return identity.get("userName")
    if kind == "Root":
        return "root"
    if kind in ("AssumedRole", "FederatedUser"):
        arn = identity.get("arn", "")
        return arn.rsplit("/", 1)[-1] if "/" in arn else None
    return identity.get("userName")


def _derive_resources(record: dict[str, Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for res in record.get("resources") or []:
        if res.get("type") and res.get("ARN"):
            out.append({"ResourceType": res["type"], "ResourceName": res["ARN"]})
    params = record.get("requestParameters") or {}
    for item in (params.get("instancesSet") or {}).get("items", []):
        if "instanceId" in item:
            out.append({"ResourceType": "AWS::EC2::Instance", "ResourceName": item["instanceId"]})
    for key, rtype in (
        ("volumeId", "AWS::EC2::Volume"),
        ("roleArn", "AWS::IAM::Role"),
        ("networkInterfaceId", "AWS::EC2::NetworkInterface"),
    ):
        if isinstance(params.get(key), str):
            out.append({"ResourceType": rtype, "ResourceName": params[key]})
    seen: set[tuple[str, str]] = set()
    unique = []
    for r in out:
        k = (r["ResourceType"], r["ResourceName"])
        if k not in seen:
            seen.add(k)
            unique.append(r)
    return unique


def _lookup_item(record: dict[str, Any], resources: list[dict[str, str]] | None) -> dict[str, Any]:
    identity = record.get("userIdentity") or {}
    item: dict[str, Any] = {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": "true" if record.get("readOnly") else "false",
        "EventTime": _parse_time(record["eventTime"]),
        "EventSource": record["eventSource"],
        "Resources": resources if resources is not None else _derive_resources(record),
        "CloudTrailEvent": json.dumps(record, separators=(",", ":")),
    }
    if identity.get("accessKeyId"):
        item["AccessKeyId"] = identity["accessKeyId"]
    username = _username(identity)
    if username:
        item["Username"] = username
    return item


def record_events(
    events: Iterable[dict[str, Any]],
    region: str = "us-east-1",
    account: str = DEFAULT_ACCOUNT,
) -> int:
    """Store CloudTrail records so that LookupEvents returns them.

    Args:
        events: full CloudTrail records (the objects of a log file's ``Records``). A record may
            carry ``"_resources": [{"ResourceType": ..., "ResourceName": ...}]`` to set the
            LookupEvents ``Resources`` (it is removed from the stored record); otherwise they are
            derived from ``resources`` and ``requestParameters`` as CloudTrail does for EC2,
            KMS and IAM events.
        region: the region whose LookupEvents sees them.
        account: the account whose LookupEvents sees them.

    Returns:
        The number of events stored.
    """
    global _seq
    items = []
    for record in events:
        record = dict(record)
        resources = record.pop("_resources", None)
        items.append(_lookup_item(record, resources))
    with _events_lock:
        store = _events[(account, region)]
        for item in items:
            _seq += 1
            store.append((item["EventTime"], _seq, item))
        store.sort(key=lambda e: (e[0], e[1]), reverse=True)
    return len(items)


def recorded_events(account: str) -> list[str]:
    """The CloudTrail records (JSON text) stored for ``account`` in every region, oldest first:
    what a multi-region CloudTrail Lake event data store holds (tui/demo/lake.py)."""
    with _events_lock:
        stored = [e for (acct, _), items in _events.items() if acct == account for e in items]
    return [item["CloudTrailEvent"] for _, _, item in sorted(stored, key=lambda e: (e[0], e[1]))]


def _matches_attribute(item: dict[str, Any], key: str, value: str) -> bool:
    if key == "ResourceType":
        return any(r["ResourceType"] == value for r in item["Resources"])
    if key == "ResourceName":
        return any(r["ResourceName"] == value for r in item["Resources"])
    return item.get(key) == value


def _token_digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _lookup_events(self: Any) -> str:
    from moto.core.exceptions import JsonRESTError

    def error(code: str, message: str) -> JsonRESTError:
        return JsonRESTError(code, message)

    params = json.loads(self.body or "{}")
    attributes = params.get("LookupAttributes") or []
    if len(attributes) > 1:
        raise error(
            "InvalidLookupAttributesException",
            "You cannot specify more than one lookup attribute.",
        )
    for attr in attributes:
        if attr.get("AttributeKey") not in LOOKUP_ATTRIBUTES:
            raise error(
                "InvalidLookupAttributesException",
                f"The attribute key {attr.get('AttributeKey')!r} is not valid.",
            )
    max_results = params.get("MaxResults", 50)
    if not isinstance(max_results, int) or not 1 <= max_results <= 50:
        raise error(
            "InvalidMaxResultsException",
            "MaxResults must be a value between 1 and 50.",
        )
    now = datetime.now(UTC).timestamp()
    start = _parse_time(params["StartTime"]) if "StartTime" in params else now - 90 * 86400
    end = _parse_time(params["EndTime"]) if "EndTime" in params else now + 86400
    if start > end:
        raise error("InvalidTimeRangeException", "Start time must be before end time.")
    query = {"a": attributes, "s": params.get("StartTime"), "e": params.get("EndTime")}
    offset = 0
    if params.get("NextToken"):
        try:
            decoded = json.loads(base64.urlsafe_b64decode(params["NextToken"].encode()))
            offset = int(decoded["o"])
            if decoded["q"] != _token_digest(query) or offset < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise error("InvalidNextTokenException", "Invalid NextToken.") from None
    with _events_lock:
        store = list(_events.get((self.current_account, self.region), []))
    matching = [
        item
        for t, _, item in store
        if start <= t <= end
        and all(
            _matches_attribute(item, a["AttributeKey"], a["AttributeValue"]) for a in attributes
        )
    ]
    page = matching[offset : offset + max_results]
    result: dict[str, Any] = {"Events": page}
    if offset + max_results < len(matching):
        token = {"o": offset + max_results, "q": _token_digest(query)}
        result["NextToken"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
    return json.dumps(result)


# --------------------------------------------------------------------------------------------
# CloudWatch Logs filter patterns
# --------------------------------------------------------------------------------------------

Matcher = Callable[[str], bool]
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def _split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside double quotes."""
    parts, buf, quoted, i = [], [], False, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        if not quoted and text.startswith(sep, i):
            parts.append("".join(buf))
            buf = []
            i += len(sep)
            continue
        buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return parts


_CONDITION = re.compile(r"^\s*([A-Za-z_][\w\-.]*)\s*(!=|<=|>=|=|<|>)\s*(.*?)\s*$", re.S)


def _value_test(op: str, raw: str) -> Callable[[str], bool]:
    quoted = raw.strip().startswith('"')
    value = _unquote(raw)
    if op in ("<", ">", "<=", ">="):
        target = float(value)
        compare = {
            "<": lambda a: a < target,
            ">": lambda a: a > target,
            "<=": lambda a: a <= target,
            ">=": lambda a: a >= target,
        }[op]

        def numeric(field: str) -> bool:
            return bool(_NUMBER.match(field)) and compare(float(field))

        return numeric
    if not quoted and _NUMBER.match(value):
        target = float(value)

        def number_eq(field: str) -> bool:
            return bool(_NUMBER.match(field)) and float(field) == target

        equal = number_eq
    elif "*" in value:
        regex = re.compile(".*".join(re.escape(p) for p in value.split("*")), re.S)

        def wildcard(field: str) -> bool:
            return regex.fullmatch(field) is not None

        equal = wildcard
    else:

        def string_eq(field: str) -> bool:
            return field == value

        equal = string_eq
    return equal if op == "=" else (lambda field: not equal(field))


def _field_matcher(spec: str) -> tuple[str, Callable[[str], bool] | None]:
    """Compile one field of a space-delimited pattern: ``name``, ``name=v``, ``a>1 && a<5``."""
    spec = spec.strip()
    if not _CONDITION.match(spec):
        return spec, None
    alternatives = []
    name = ""
    for alt in _split_top(spec, "||"):
        tests = []
        for cond in _split_top(alt, "&&"):
            m = _CONDITION.match(cond)
            if not m:
                raise ValueError(f"invalid condition {cond!r}")
            name = name or m.group(1)
            tests.append(_value_test(m.group(2), m.group(3)))
        alternatives.append(tests)
    return name, lambda field: any(all(t(field) for t in tests) for tests in alternatives)


def _split_event_fields(message: str) -> list[str]:
    """Split a log event into fields: spaces separate, ``"..."`` and ``[...]`` group."""
    fields: list[str] = []
    i, n = 0, len(message)
    while i < n:
        if message[i] == " ":
            i += 1
            continue
        if message[i] in '"[':
            close = '"' if message[i] == '"' else "]"
            j = message.find(close, i + 1)
            if j == -1:
                j = n
            fields.append(message[i + 1 : j])
            i = j + 1
            continue
        j = message.find(" ", i)
        if j == -1:
            j = n
        fields.append(message[i:j])
        i = j
    return fields


def _space_delimited(pattern: str) -> Matcher:
    specs = [s for s in _split_top(pattern.strip()[1:-1], ",")]
    fields = [_field_matcher(s) for s in specs]
    if any(name == "" for name, _ in fields):
        raise ValueError("empty field in space-delimited pattern")
    ellipsis = [i for i, (name, _) in enumerate(fields) if name == "..."]

    def match_seq(pat: list[tuple[str, Any]], values: list[str]) -> bool:
        if not pat:
            return not values
        name, test = pat[0]
        if name == "...":
            return any(match_seq(pat[1:], values[k:]) for k in range(len(values) + 1))
        if not values:
            return False
        if test is not None and not test(values[0]):
            return False
        return match_seq(pat[1:], values[1:])

    if not ellipsis:
        count = len(fields)

        def fixed(message: str) -> bool:
            values = _split_event_fields(message)
            if len(values) != count:
                return False
            return all(t is None or t(v) for (_, t), v in zip(fields, values, strict=True))

        return fixed

    def with_ellipsis(message: str) -> bool:
        return match_seq(fields, _split_event_fields(message))

    return with_ellipsis


_TERM = re.compile(r'(\?|-)?("(?:[^"\\]|\\.)*"|\S+)')


def _text_pattern(pattern: str) -> Matcher:
    required: list[str] = []
    optional: list[str] = []
    excluded: list[str] = []
    for m in _TERM.finditer(pattern):
        prefix, term = m.group(1), _unquote(m.group(2))
        {"?": optional, "-": excluded}.get(prefix or "", required).append(term)

    def text(message: str) -> bool:
        if any(t in message for t in excluded):
            return False
        if optional and not required:
            return any(t in message for t in optional)
        return all(t in message for t in required)

    return text


@functools.lru_cache(maxsize=256)
def compile_filter_pattern(pattern: str | None) -> Matcher:
    """Compile a CloudWatch Logs filter pattern into a predicate on an event's message.

    Supported: ``""`` (all), space-delimited ``[a, b=1, c!=x*, d>=10 && d<20, ...]``, terms
    (``ERROR Exception``: all), quoted phrases, ``?a ?b`` (any) and ``-term`` (exclude). JSON
    patterns (``{ $.x = 1 }``) are not supported and match everything, as in moto.

    Raises:
        ValueError: for a malformed space-delimited pattern.
    """
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text.startswith("[") and text.endswith("]"):
        return _space_delimited(text)
    if text.startswith("{"):
        return lambda message: True
    return _text_pattern(text)


class _EventMessageFilter:
    """Drop-in for moto's ``EventMessageFilter`` backed by :func:`compile_filter_pattern`."""

    def __init__(self, pattern: str):
        try:
            self._match = compile_filter_pattern(pattern)
        except ValueError:
            self._match = lambda message: False

    def matches(self, message: str) -> bool:
        return self._match(message)


_empty_pages = 0
_EMPTY_PREFIX = "hamari-empty:"


def set_empty_filter_pages(count: int) -> None:
    """Make FilterLogEvents return ``count`` empty pages with a nextToken before each real page."""
    global _empty_pages
    _empty_pages = max(0, count)


def _wrap_filter_log_events(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def filter_log_events(
        self: Any,
        log_group_name: str,
        log_stream_names: list[str],
        start_time: int,
        end_time: int,
        limit: int | None,
        next_token: str | None,
        filter_pattern: str,
        interleaved: bool,
    ) -> Any:
        if _empty_pages:
            done, inner = 0, next_token
            if next_token and next_token.startswith(_EMPTY_PREFIX):
                count, _, rest = next_token[len(_EMPTY_PREFIX) :].partition(":")
                done, inner = int(count), rest or None
            if done < _empty_pages:
                streams = [
                    {"logStreamName": name, "searchedCompletely": False}
                    for name in (log_stream_names or [])
                ]
                return [], f"{_EMPTY_PREFIX}{done + 1}:{inner or ''}", streams
            next_token = inner
        events, token, streams = original(
            self,
            log_group_name,
            log_stream_names,
            start_time,
            end_time,
            limit,
            next_token,
            filter_pattern,
            True,
        )
        return events, token, streams

    return filter_log_events


# --------------------------------------------------------------------------------------------
# CloudWatch GetMetricData
# --------------------------------------------------------------------------------------------


def _epoch(dt: datetime) -> float:
    return calendar.timegm(dt.utctimetuple()) + dt.microsecond / 1e6


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(0, math.ceil(p / 100 * len(ordered)) - 1)
    return ordered[min(rank, len(ordered) - 1)]


def _metric_math(
    expression: str, results: list[dict[str, Any]]
) -> tuple[list[float], list[datetime]]:
    """Evaluate ``+ - * /``, numbers, query ids and ``PERIOD(id)`` per timestamp.

    moto's metric math only returns a referenced query unchanged (``m1``), not ``m1 / 60``.
    """
    import ast

    series = {r["id"]: dict(zip(r["timestamps"], r["values"], strict=True)) for r in results}
    periods = {r["id"]: r.get("period", 60) for r in results}
    tree = ast.parse(expression, mode="eval").body
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in calls}
    stamps = sorted(
        set.intersection(*(set(series.get(n, {})) for n in names)) if names else set(), reverse=True
    )

    def ev(node: ast.AST, ts: datetime) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            return float(series[node.id][ts])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand, ts)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "PERIOD"
            and isinstance(node.args[0], ast.Name)
        ):
            return float(periods.get(node.args[0].id, 60))
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left, ts), ev(node.right, ts)
            ops = {
                ast.Add: lambda: left + right,
                ast.Sub: lambda: left - right,
                ast.Mult: lambda: left * right,
                ast.Div: lambda: left / right if right else math.nan,
            }
            if type(node.op) in ops:
                return ops[type(node.op)]()
        raise ValueError(f"unsupported metric math: {expression}")

    values = [ev(tree, ts) for ts in stamps]
    return values, stamps


def _fast_get_metric_data(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def get_metric_data(
        self: Any,
        queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        from moto.cloudwatch.exceptions import ValidationError
        from moto.cloudwatch.models import MetricDatum, Statistics

        start_time = start_time.replace(microsecond=0)
        end_time = end_time.replace(microsecond=0)
        if start_time > end_time:
            raise ValidationError("The parameter EndTime must be greater than StartTime.")
        if start_time == end_time:
            raise ValidationError("The parameter StartTime must not equal parameter EndTime.")
        start_s, end_s = _epoch(start_time), _epoch(end_time)

        index: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[Any]] = defaultdict(list)
        for md in self.get_all_metrics():
            t = _epoch(md.timestamp)
            if start_s <= t < end_s:
                dims = tuple(sorted((d.name, d.value) for d in md.dimensions))
                index[(md.namespace, md.name, dims)].append((t, md))

        results: list[dict[str, Any]] = []
        to_return: list[dict[str, Any]] = []
        for query in queries:
            if "MetricStat" not in query:
                continue
            stat_spec = query["MetricStat"]
            metric = stat_spec["Metric"]
            period = int(stat_spec["Period"])
            stat = stat_spec["Stat"]
            unit = stat_spec.get("Unit")
            dims = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
            base = start_s - (start_s % period)
            buckets: dict[int, list[Any]] = defaultdict(list)
            for t, md in index.get((metric["Namespace"], metric["MetricName"], dims), []):
                if unit and md.unit != unit:
                    continue
                buckets[int((t - base) // period)].append(md)
            timestamps: list[datetime] = []
            values: list[float] = []
            for k in sorted(buckets):
                bucket_start = datetime.fromtimestamp(base + k * period, UTC)
                data = buckets[k]
                pct = re.fullmatch(r"p(\d+(?:\.\d+)?)", stat)
                if pct:
                    singles = [m.value for m in data if isinstance(m, MetricDatum)]
                    value = _percentile(singles, float(pct.group(1))) if singles else None
                else:
                    stats = Statistics([stat], bucket_start)
                    stats.metric_data = data
                    value = stats.get_statistics_for_type(stat)
                if value is None:
                    continue
                timestamps.append(bucket_start)
                values.append(float(value))
            if scan_by == "TimestampDescending":
                timestamps.reverse()
                values.reverse()
            label = query.get("Label") or f"{metric['MetricName']} {stat}"
            result = {
                "id": query["Id"],
                "label": label,
                "values": values,
                "timestamps": timestamps,
                "status_code": "Complete",
                "period": period,
            }
            results.append(result)
            if query.get("ReturnData", True):
                to_return.append({k: v for k, v in result.items() if k != "period"})
        for query in queries:
            if "Expression" not in query:
                continue
            if query["Expression"].startswith("SELECT"):
                to_return.extend(original(self, [query], start_time, end_time, scan_by))
                continue
            values, timestamps = _metric_math(query["Expression"], results)
            to_return.append(
                {
                    "id": query["Id"],
                    "label": query.get("Label") or query["Id"],
                    "values": values,
                    "timestamps": timestamps,
                    "status_code": "Complete",
                }
            )
        return to_return

    return get_metric_data


# --------------------------------------------------------------------------------------------
# EC2: TGW attachment ENIs, flow-log destination options, instance state
# --------------------------------------------------------------------------------------------


def _wrap_tgw_attachment(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create_transit_gateway_vpc_attachment(self: Any, *args: Any, **kwargs: Any) -> Any:
        attachment = original(self, *args, **kwargs)
        for subnet_id in attachment.subnet_ids:
            eni = self.create_network_interface(
                subnet=self.get_subnet(subnet_id),
                private_ip_address=None,
                description=f"Network Interface for Transit Gateway Attachment {attachment.id}",
            )
            eni.interface_type = "transit_gateway"
            eni.requester_managed = True
            eni.requester_id = "amazon-aws"
            eni.status = "in-use"
        return attachment

    return create_transit_gateway_vpc_attachment


def _wrap_create_flow_logs(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create_flow_logs(self: Any) -> Any:
        result = original(self)
        raw = self._get_param("DestinationOptions") or {}
        if not isinstance(raw, dict):
            raw = {}
        if raw:
            options = {
                "FileFormat": raw.get("FileFormat", "plain-text"),
                "HiveCompatiblePartitions": str(
                    raw.get("HiveCompatiblePartitions", "false")
                ).lower()
                == "true",
                "PerHourPartition": str(raw.get("PerHourPartition", "false")).lower() == "true",
            }
            ids = result.result.get("FlowLogIds", []) if hasattr(result, "result") else []
            for fl_id in ids:
                flow_log = self.ec2_backend.flow_logs.get(fl_id)
                if flow_log is not None:
                    flow_log.destination_options = options
        return result

    return create_flow_logs


_flow_lock = threading.Lock()


def _wrap_backend_create_flow_logs(original: Callable[..., Any]) -> Callable[..., Any]:
    """Accept S3 destinations with a prefix (``arn:aws:s3:::bucket/prefix``), as AWS does.

    moto looks the whole ``bucket/prefix`` up as a bucket name and reports it missing.
    """

    @functools.wraps(original)
    def create_flow_logs(self: Any, **kwargs: Any) -> Any:
        dest = kwargs.get("log_destination") or ""
        if kwargs.get("log_destination_type") != "s3" or "/" not in dest.split(":", 5)[-1]:
            return original(self, **kwargs)
        from moto.ec2.exceptions import FlowLogAlreadyExists

        bare = dest.split("/", 1)[0]
        with _flow_lock:
            if any(
                fl.resource_id in kwargs["resource_ids"] and fl.log_destination == dest
                for fl in self.flow_logs.values()
            ):
                raise FlowLogAlreadyExists()
            hidden = {k: v for k, v in self.flow_logs.items() if v.log_destination == bare}
            for k in hidden:
                del self.flow_logs[k]
            try:
                flow_logs, errors = original(self, **{**kwargs, "log_destination": bare})
            finally:
                self.flow_logs.update(hidden)
            for fl in flow_logs:
                fl.log_destination = dest
        return flow_logs, errors

    return create_flow_logs


def set_instance_state(
    instance_id: str,
    state: str = "stopped",
    *,
    reason_code: str = "Client.InternalError",
    reason_message: str = "Client.InternalError: Client error on launch",
    transition_reason: str | None = None,
    region: str = "us-east-1",
    account: str = DEFAULT_ACCOUNT,
) -> None:
    """Put an instance in ``state`` with a state reason (what EC2 does after a failed start)."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.instances import StateReason

    codes = {"pending": 0, "running": 16, "stopping": 64, "stopped": 80}
    instance = ec2_backends[account][region].get_instance(instance_id)
    instance._state.name = state
    instance._state.code = codes[state]
    instance.state_reason = StateReason(reason_message, reason_code)
    instance._reason = transition_reason if transition_reason is not None else reason_message


# --------------------------------------------------------------------------------------------
# install / reset
# --------------------------------------------------------------------------------------------


def _stop_query(self: Any) -> str:
    """Logs Insights ``StopQuery``: moto lacks it; hamari calls it on cancel and on exit.

    A query that is still known is marked ``Cancelled`` (moto runs queries synchronously, so
    this only matters for queries started but not yet read); an unknown id is the AWS error.
    """
    query_id = self._get_param("queryId")
    backend = self.logs_backend
    query = backend.queries.get(query_id)
    if query is None:
        from moto.logs.exceptions import ResourceNotFoundException

        raise ResourceNotFoundException(f"Query {query_id} does not exist")
    query.status = "Cancelled"
    return json.dumps({"success": True})


def install() -> None:
    """Install every extension into moto (idempotent, thread-safe)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.cloudtrail.responses import CloudTrailResponse
        from moto.cloudwatch.models import CloudWatchBackend
        from moto.ec2.models.flow_logs import FlowLogsBackend
        from moto.ec2.models.transit_gateway_attachments import TransitGatewayAttachmentBackend
        from moto.ec2.responses.flow_logs import FlowLogs
        from moto.logs import models as logs_models
        from moto.logs.responses import LogsResponse

        CloudTrailResponse.lookup_events = _lookup_events  # type: ignore[attr-defined]
        LogsResponse.stop_query = _stop_query  # type: ignore[attr-defined]
        logs_models.EventMessageFilter = _EventMessageFilter  # type: ignore[misc,assignment]
        logs_models.LogGroup.filter_log_events = _wrap_filter_log_events(  # type: ignore[method-assign]
            logs_models.LogGroup.filter_log_events
        )
        CloudWatchBackend.get_metric_data = _fast_get_metric_data(  # type: ignore[method-assign]
            CloudWatchBackend.get_metric_data
        )
        TransitGatewayAttachmentBackend.create_transit_gateway_vpc_attachment = (  # type: ignore[method-assign]
            _wrap_tgw_attachment(
                TransitGatewayAttachmentBackend.create_transit_gateway_vpc_attachment
            )
        )
        FlowLogsBackend.create_flow_logs = _wrap_backend_create_flow_logs(  # type: ignore[method-assign]
            FlowLogsBackend.create_flow_logs
        )
        FlowLogs.create_flow_logs = _wrap_create_flow_logs(FlowLogs.create_flow_logs)  # type: ignore[method-assign]
        from . import athena  # Athena's queries run on the seeded S3 objects (tui/demo/athena.py)

        athena.install()
        # CloudTrail Lake's queries run on the recorded events (tui/demo/lake.py).
        from . import lake

        lake.install(recorded_events)
        _installed = True


def reset_stores() -> None:
    """Forget every recorded CloudTrail event and the test knobs."""
    with _events_lock:
        _events.clear()
    set_empty_filter_pages(0)
    from . import athena

    athena.reset()
    from . import lake

    lake.reset()
