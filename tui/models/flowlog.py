"""VPC and Transit Gateway flow-log records: field table, formats, a fast streaming parser, readers.

"Sometimes it connects, sometimes it doesn't" is solved by reading flow logs: the forward leg of a
conversation is ACCEPTed on one interface, the return leg REJECTed by a stateless NACL on another.
To see that, every record has to be read correctly whatever its format, so this module:

* knows every field of record versions 2 to 8 (VPC, Transit Gateway, ECS, reject-reason) with its
  type and the version that introduced it, and keeps fields it does not know as strings;
* never parses by position alone when the layout is known: a ``LogFormat`` from DescribeFlowLogs
  or the header line of an S3 object decides which token is which;
* turns ``-`` into ``None``, counts NODATA and SKIPDATA (data loss) rows, and counts a bad line or
  a bad file instead of raising, so one truncated gzip never hides the others;
* is fast in plain CPython: the per-format line builder is generated once per layout (the way
  :func:`collections.namedtuple` builds its class) and records are tuples, so a v2 line costs one
  ``str.split``, a handful of ``int`` calls and one tuple allocation;
* is small in memory: text values are interned, so the thousands of records of one ENI, AZ, VPC
  or address share one string each (0.7 KB a v5 record instead of 1.7 KB, for 25 % more parse
  time);
* pairs the forward and return legs of a conversation and flags the ones where one leg was
  ACCEPTed and the other REJECTed.

The module is pure: no UI, no network. Sources in ``tui.aws`` feed it lines.

Size (~1,380 lines): field table, parser and readers share the record type; the file readers and
conversations are the seams.
"""

from __future__ import annotations

import io
import json
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from sys import intern as _intern
from typing import Any, ClassVar, Final, Literal

from tui.models.gunzip import TruncatedFileError
from tui.models.gunzip import gunzip as _gunzip
from tui.models.localfiles import entry_problem

FieldKind = Literal["int", "str", "ip"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One flow-log field as AWS names it.

    Attributes:
        name: The hyphenated AWS name (``pkt-srcaddr``), as used in ``${...}`` and headers.
        attr: The Python attribute on :class:`FlowRecord` (``pkt_srcaddr``), also the Athena column.
        kind: ``int``, ``str`` or ``ip``.
        version: The record version that introduced the field (6 is Transit Gateway).
    """

    name: str
    attr: str
    kind: FieldKind
    version: int


def _spec(name: str, kind: FieldKind, version: int) -> FieldSpec:
    return FieldSpec(name, name.replace("-", "_"), kind, version)


# The order is the order of the AWS field reference; the v2 fields are the default format.
FIELD_SPECS: Final[tuple[FieldSpec, ...]] = (
    _spec("version", "int", 2),
    _spec("account-id", "str", 2),
    _spec("interface-id", "str", 2),
    _spec("srcaddr", "ip", 2),
    _spec("dstaddr", "ip", 2),
    _spec("srcport", "int", 2),
    _spec("dstport", "int", 2),
    _spec("protocol", "int", 2),
    _spec("packets", "int", 2),
    _spec("bytes", "int", 2),
    _spec("start", "int", 2),
    _spec("end", "int", 2),
    _spec("action", "str", 2),
    _spec("log-status", "str", 2),
    _spec("vpc-id", "str", 3),
    _spec("subnet-id", "str", 3),
    _spec("instance-id", "str", 3),
    _spec("tcp-flags", "int", 3),
    _spec("type", "str", 3),
    _spec("pkt-srcaddr", "ip", 3),
    _spec("pkt-dstaddr", "ip", 3),
    _spec("region", "str", 4),
    _spec("az-id", "str", 4),
    _spec("sublocation-type", "str", 4),
    _spec("sublocation-id", "str", 4),
    _spec("pkt-src-aws-service", "str", 5),
    _spec("pkt-dst-aws-service", "str", 5),
    _spec("flow-direction", "str", 5),
    _spec("traffic-path", "int", 5),
    _spec("resource-type", "str", 6),
    _spec("tgw-id", "str", 6),
    _spec("tgw-attachment-id", "str", 6),
    _spec("tgw-src-vpc-account-id", "str", 6),
    _spec("tgw-dst-vpc-account-id", "str", 6),
    _spec("tgw-src-vpc-id", "str", 6),
    _spec("tgw-dst-vpc-id", "str", 6),
    _spec("tgw-src-subnet-id", "str", 6),
    _spec("tgw-dst-subnet-id", "str", 6),
    _spec("tgw-src-eni", "str", 6),
    _spec("tgw-dst-eni", "str", 6),
    _spec("tgw-src-az-id", "str", 6),
    _spec("tgw-dst-az-id", "str", 6),
    _spec("tgw-pair-attachment-id", "str", 6),
    _spec("packets-lost-no-route", "int", 6),
    _spec("packets-lost-blackhole", "int", 6),
    _spec("packets-lost-mtu-exceeded", "int", 6),
    _spec("packets-lost-ttl-expired", "int", 6),
    _spec("ecs-cluster-arn", "str", 7),
    _spec("ecs-cluster-name", "str", 7),
    _spec("ecs-container-instance-arn", "str", 7),
    _spec("ecs-container-instance-id", "str", 7),
    _spec("ecs-container-id", "str", 7),
    _spec("ecs-second-container-id", "str", 7),
    _spec("ecs-service-name", "str", 7),
    _spec("ecs-task-definition-arn", "str", 7),
    _spec("ecs-task-arn", "str", 7),
    _spec("ecs-task-id", "str", 7),
    _spec("reject-reason", "str", 8),
)

#: Every known field by its hyphenated AWS name.
FIELDS: Final[Mapping[str, FieldSpec]] = {s.name: s for s in FIELD_SPECS}
#: Every known field by its underscored attribute / Athena column name.
FIELDS_BY_ATTR: Final[Mapping[str, FieldSpec]] = {s.attr: s for s in FIELD_SPECS}

#: The VPC default format (version 2, 14 fields).
DEFAULT_FORMAT: Final[tuple[str, ...]] = tuple(s.name for s in FIELD_SPECS if s.version == 2)

#: The Transit Gateway default format (36 fields, in the order AWS writes them).
TGW_DEFAULT_FORMAT: Final[tuple[str, ...]] = (
    "version",
    "resource-type",
    "account-id",
    "tgw-id",
    "tgw-attachment-id",
    "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id",
    "tgw-src-vpc-id",
    "tgw-dst-vpc-id",
    "tgw-src-subnet-id",
    "tgw-dst-subnet-id",
    "tgw-src-eni",
    "tgw-dst-eni",
    "tgw-src-az-id",
    "tgw-dst-az-id",
    "tgw-pair-attachment-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "log-status",
    "type",
    "packets-lost-no-route",
    "packets-lost-blackhole",
    "packets-lost-mtu-exceeded",
    "packets-lost-ttl-expired",
    "tcp-flags",
    "region",
    "flow-direction",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
)

#: IANA protocol numbers seen in flow logs, and their names.
PROTOCOL_NAMES: Final[Mapping[int, str]] = {
    0: "hopopt",
    1: "icmp",
    2: "igmp",
    4: "ipip",
    6: "tcp",
    17: "udp",
    41: "ipv6",
    47: "gre",
    50: "esp",
    51: "ah",
    58: "icmpv6",
    89: "ospf",
    103: "pim",
    112: "vrrp",
    132: "sctp",
}
#: Protocol name (lower case) to number.
PROTOCOL_NUMBERS: Final[Mapping[str, int]] = {v: k for k, v in PROTOCOL_NAMES.items()}

#: TCP flag bits as flow logs report them. SYN-ACK (18) is reported as one value by AWS.
TCP_FLAG_BITS: Final[Mapping[str, int]] = {
    "FIN": 1,
    "SYN": 2,
    "RST": 4,
    "PSH": 8,
    "ACK": 16,
    "URG": 32,
}

#: ``traffic-path`` values (egress only) and what they mean.
TRAFFIC_PATHS: Final[Mapping[int, str]] = {
    1: "through another resource in the same VPC",
    2: "internet gateway or gateway VPC endpoint",
    3: "virtual private gateway",
    4: "intra-region VPC peering connection",
    5: "inter-region VPC peering connection",
    6: "local gateway",
    7: "gateway VPC endpoint (Nitro)",
    8: "internet gateway (Nitro)",
}


def protocol_name(number: int | None) -> str:
    """Name an IANA protocol number (``6`` -> ``tcp``); unknown numbers stay numeric.

    Args:
        number: The ``protocol`` field, or None.

    Returns:
        The lower-case name, the number as text, or ``-`` for None.
    """
    if number is None:
        return "-"
    return PROTOCOL_NAMES.get(number, str(number))


def decode_tcp_flags(mask: int | None) -> tuple[str, ...]:
    """Decode a ``tcp-flags`` bitmask into flag names.

    Flags are OR-ed over the aggregation interval, so one value can hold several. SYN together
    with ACK is reported as ``SYN-ACK`` (AWS's value 18), so ``SYN`` alone means a connection
    attempt and ``SYN-ACK`` its answer.

    Args:
        mask: The ``tcp-flags`` value, or None.

    Returns:
        Names in the order SYN, SYN-ACK, ACK, FIN, RST, PSH, URG (e.g. ``19`` ->
        ``("SYN-ACK", "FIN")``); empty for 0 or None.
    """
    if not mask:
        return ()
    names: list[str] = []
    if mask & 18 == 18:
        names.append("SYN-ACK")
    elif mask & 2:
        names.append("SYN")
    elif mask & 16:
        names.append("ACK")
    if mask & 1:
        names.append("FIN")
    if mask & 4:
        names.append("RST")
    if mask & 8:
        names.append("PSH")
    if mask & 32:
        names.append("URG")
    return tuple(names)


_DOLLAR_FIELD = re.compile(r"\$\{([^}\s]*)\}")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def parse_log_format(log_format: str) -> tuple[str, ...]:
    """Turn DescribeFlowLogs' ``LogFormat`` into field names.

    Args:
        log_format: ``"${version} ${srcaddr} ..."``; extra spaces are tolerated. A plain list of
            names (``"version srcaddr ..."``, as in a header line) is accepted too.

    Returns:
        The field names in order, hyphenated as AWS writes them.

    Raises:
        ValueError: If the string names no field.
    """
    names = _DOLLAR_FIELD.findall(log_format)
    if not names:
        names = log_format.split()
    names = [n.strip().lower() for n in names if n.strip()]
    if not names:
        raise ValueError(f"no field in log format {log_format!r}")
    return tuple(names)


class FlowRecord(tuple):  # type: ignore[type-arg]
    """One flow-log record: a tuple of the values of its format, then the raw line.

    Each format gets its own subclass (see :func:`layout_for`) whose fields are read by index;
    fields the format lacks read as ``None`` from this base class, so ``record.vpc_id`` works on
    every record. ``-`` in the line is ``None`` here. Unknown fields are in :attr:`extra`.
    """

    __slots__ = ()

    FORMAT: ClassVar[tuple[str, ...]] = ()
    _EXTRA: ClassVar[tuple[tuple[str, int], ...]] = ()

    version: int | None = None
    account_id: str | None = None
    interface_id: str | None = None
    srcaddr: str | None = None
    dstaddr: str | None = None
    srcport: int | None = None
    dstport: int | None = None
    protocol: int | None = None
    packets: int | None = None
    bytes: int | None = None
    start: int | None = None
    end: int | None = None
    action: str | None = None
    log_status: str | None = None
    vpc_id: str | None = None
    subnet_id: str | None = None
    instance_id: str | None = None
    tcp_flags: int | None = None
    type: str | None = None
    pkt_srcaddr: str | None = None
    pkt_dstaddr: str | None = None
    region: str | None = None
    az_id: str | None = None
    sublocation_type: str | None = None
    sublocation_id: str | None = None
    pkt_src_aws_service: str | None = None
    pkt_dst_aws_service: str | None = None
    flow_direction: str | None = None
    traffic_path: int | None = None
    resource_type: str | None = None
    tgw_id: str | None = None
    tgw_attachment_id: str | None = None
    tgw_src_vpc_account_id: str | None = None
    tgw_dst_vpc_account_id: str | None = None
    tgw_src_vpc_id: str | None = None
    tgw_dst_vpc_id: str | None = None
    tgw_src_subnet_id: str | None = None
    tgw_dst_subnet_id: str | None = None
    tgw_src_eni: str | None = None
    tgw_dst_eni: str | None = None
    tgw_src_az_id: str | None = None
    tgw_dst_az_id: str | None = None
    tgw_pair_attachment_id: str | None = None
    packets_lost_no_route: int | None = None
    packets_lost_blackhole: int | None = None
    packets_lost_mtu_exceeded: int | None = None
    packets_lost_ttl_expired: int | None = None
    ecs_cluster_arn: str | None = None
    ecs_cluster_name: str | None = None
    ecs_container_instance_arn: str | None = None
    ecs_container_instance_id: str | None = None
    ecs_container_id: str | None = None
    ecs_second_container_id: str | None = None
    ecs_service_name: str | None = None
    ecs_task_definition_arn: str | None = None
    ecs_task_arn: str | None = None
    ecs_task_id: str | None = None
    reject_reason: str | None = None

    @property
    def raw(self) -> str:
        """The line as read (without its newline), for export."""
        value: str = self[-1]
        return value

    @property
    def extra(self) -> dict[str, str | None]:
        """Fields this module does not know, by their names in the format, as strings."""
        return {name: self[i] for name, i in self._EXTRA}

    @property
    def is_status(self) -> bool:
        """True for a NODATA or SKIPDATA row (no traffic described)."""
        return self.log_status in ("NODATA", "SKIPDATA")

    @property
    def data_loss(self) -> bool:
        """True for a SKIPDATA row: flows were dropped by the flow-log service itself."""
        return self.log_status == "SKIPDATA"

    @property
    def src(self) -> str | None:
        """The original source address: ``pkt-srcaddr`` when present, else ``srcaddr``."""
        return self.pkt_srcaddr or self.srcaddr

    @property
    def dst(self) -> str | None:
        """The original destination address: ``pkt-dstaddr`` when present, else ``dstaddr``."""
        return self.pkt_dstaddr or self.dstaddr

    @property
    def flags(self) -> tuple[str, ...]:
        """Decoded TCP flags (see :func:`decode_tcp_flags`)."""
        return decode_tcp_flags(self.tcp_flags)

    @property
    def protocol_name(self) -> str:
        """The protocol as a name (``tcp``), or the number if unknown."""
        return protocol_name(self.protocol)

    def get(self, name: str) -> Any:
        """Value of a field by AWS name (``az-id``) or attribute name (``az_id``).

        Args:
            name: A known or unknown field name.

        Returns:
            The value, or None if the record's format lacks the field.
        """
        spec = FIELDS.get(name) or FIELDS_BY_ATTR.get(name)
        if spec is not None:
            return getattr(self, spec.attr)
        for extra_name, i in self._EXTRA:
            if extra_name == name:
                return self[i]
        return None

    def as_dict(self) -> dict[str, Any]:
        """The record's fields in its format's order, keyed by AWS name (unknown ones too)."""
        return dict(zip(self.FORMAT, self[:-1], strict=True))


#: The largest number a flow-log field may hold: DuckDB's BIGINT and Arrow's int64.
MAX_INT: Final = 2**63 - 1
#: The last second ``datetime`` can show (9999-12-31T23:59:59Z); a larger ``start`` or ``end`` is
#: not a Unix time in seconds (a millisecond epoch is ~1000x too large).
MAX_EPOCH: Final = 253_402_300_799
#: Fields holding a Unix time in seconds.
TIME_FIELDS: Final = frozenset({"start", "end"})


class FieldValueError(ValueError):
    """A number that parses but cannot be right for its field (why the line is bad)."""


def _out_of_range(name: str, value: int) -> Any:
    shown = str(value) if len(str(value)) <= 24 else str(value)[:21] + "..."
    if value < 0:
        raise FieldValueError(f"{name} is negative: {shown}")
    if name in TIME_FIELDS:
        hint = " (milliseconds?)" if value < MAX_EPOCH * 10_000 else ""
        raise FieldValueError(f"{name} is not a Unix time in seconds{hint}: {shown}")
    raise FieldValueError(f"{name} is too large for a 64-bit count: {shown}")


@dataclass(frozen=True, slots=True)
class Layout:
    """A compiled format: its record class and the function that builds one from tokens.

    Attributes:
        fields: The field names, in line order.
        record_class: The :class:`FlowRecord` subclass for this format.
        build: ``build(tokens, raw) -> FlowRecord``; raises ValueError on a wrong token count or a
            non-numeric token where a number is required.
        unknown: The names in ``fields`` this module does not know (kept as strings).
        plain: Matches (``fullmatch``) a line that ``build`` takes exactly as written: one space
            between values, printable ASCII without ``"``, ``\\`` or ``#``, numbers without a
            sign or leading zero and short enough to be in range. Such a line's values need no
            conversion to be written out again (see :class:`tui.models.flowscan.RawBlock`).
    """

    fields: tuple[str, ...]
    record_class: type[FlowRecord]
    build: Callable[[Sequence[str], str], FlowRecord]
    unknown: tuple[str, ...]
    plain: re.Pattern[bytes]


# A value `build` keeps as written: printable ASCII but space, quote, backslash and "#" (a
# comment to the parser). A number: "-", or digits without a sign or leading zero, few enough
# to be below MAX_INT (18 digits) or MAX_EPOCH (11); longer ones go through the parser.
_PLAIN_TEXT: Final = rb"[!$-\[\]-~]+"
_PLAIN_INT: Final = rb"(?:0|[1-9][0-9]{0,17}|-)"
_PLAIN_TIME: Final = rb"(?:0|[1-9][0-9]{0,10}|-)"


@lru_cache(maxsize=256)
def layout_for(fields: tuple[str, ...]) -> Layout:
    """Compile a format into a record class and a line builder (cached per format).

    Args:
        fields: Field names in line order (hyphenated; underscores are accepted too).

    Returns:
        The :class:`Layout`.
    """
    names = tuple(FIELDS_BY_ATTR[f].name if f in FIELDS_BY_ATTR else f for f in fields)
    namespace: dict[str, Any] = {"__slots__": (), "FORMAT": names}
    extra: list[tuple[str, int]] = []
    exprs: list[str] = []
    plain: list[bytes] = []
    for i, name in enumerate(names):
        spec = FIELDS.get(name)
        if spec is not None and spec.kind == "int":
            plain.append(_PLAIN_TIME if name in TIME_FIELDS else _PLAIN_INT)
        else:
            plain.append(_PLAIN_TEXT)
        if spec is None:
            extra.append((name, i))
        elif spec.attr not in namespace:  # a repeated field keeps its first position
            namespace[spec.attr] = property(itemgetter(i))
        if spec is not None and spec.kind == "int":
            # A number must fit the column it goes to (BIGINT in DuckDB, int64 in Arrow) and a
            # time must be a date in seconds: anything else is a bad line, named by _out.
            top = MAX_EPOCH if name in TIME_FIELDS else MAX_INT
            exprs.append(
                f"None if p{i} == '-' else "
                f"(v if 0 <= (v := _int(p{i})) <= {top} else _out({name!r}, v))"
            )
        else:
            exprs.append(f"None if p{i} == '-' else _intern(p{i})")  # shared, see the top
    namespace["_EXTRA"] = tuple(extra)
    cls = type(f"FlowRecord_{len(names)}", (FlowRecord,), namespace)
    # Generated once per format (like collections.namedtuple) so that the hot path is straight
    # code: unpacking checks the token count, and only indices and fixed converters are
    # interpolated - never a field name or a value.
    params = ", ".join(f"p{i}" for i in range(len(names)))
    body = ", ".join(f"({e})" for e in exprs)
    src = f"def build(parts, raw):\n    ({params},) = parts\n    return _new(_cls, ({body}, raw))\n"
    scope: dict[str, Any] = {
        "_new": tuple.__new__,
        "_cls": cls,
        "_int": int,
        "_intern": _intern,
        "_out": _out_of_range,
    }
    exec(src, scope)
    unknown = tuple(n for n, _ in extra)
    return Layout(names, cls, scope["build"], unknown, re.compile(b" ".join(plain)))


_AUTO_LAYOUTS: Final[Mapping[int, tuple[str, ...]]] = {
    len(DEFAULT_FORMAT): DEFAULT_FORMAT,
    len(TGW_DEFAULT_FORMAT): TGW_DEFAULT_FORMAT,
}

# Every VPC field up to a version, in the order of AWS's field reference: what a custom format
# that "selects all" holds (the Transit Gateway fields of version 6 are not VPC fields).
_VPC_FIELDS: Final = tuple(s for s in FIELD_SPECS if s.version != 6)
_GUESSES: Final[Mapping[int, tuple[int, tuple[str, ...]]]] = {
    len(names): (v, names)
    for v in (3, 4, 5, 7, 8)
    for names in [tuple(s.name for s in _VPC_FIELDS if s.version <= v)]
}
_STATUS: Final = frozenset({"OK", "NODATA", "SKIPDATA"})


def guess_layout(parts: Sequence[str]) -> tuple[tuple[str, ...], str] | None:
    """The layout of a header-less line from its field count, when only one fits.

    14 and 36 fields are AWS's VPC and Transit Gateway defaults. Otherwise a count that equals
    "every VPC field up to version N" (21, 25, 29, 40, 41) is taken when the line's values fit
    it (numbers where numbers go, an action and a log status where those go), and said.

    Returns:
        ``(fields, note)``; the note is "" for the defaults; None when nothing fits.
    """
    auto = _AUTO_LAYOUTS.get(len(parts))
    if auto is not None:
        return auto, ""
    guess = _GUESSES.get(len(parts))
    if guess is None:
        return None
    version, names = guess
    for name, token in zip(names, parts, strict=True):
        if token == "-":
            continue
        kind = FIELDS[name].kind
        if (kind == "int" and not (token.isascii() and token.isdigit())) or (
            name == "action" and token not in ("ACCEPT", "REJECT")
        ):
            return None
        if name == "log-status" and token not in _STATUS:
            return None
    note = (
        f"no header line and no log format: its {len(names)} fields per line are read as every "
        f"VPC field up to version {version} in AWS's order (guessed from the field count; "
        "give the log format if that is wrong)"
    )
    return names, note


FormatSpec = str | Sequence[str]


def _as_fields(fmt: FormatSpec) -> tuple[str, ...]:
    if isinstance(fmt, str):
        return parse_log_format(fmt)
    return tuple(fmt)


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line (or file) that could not be read, kept as a sample for the user.

    Attributes:
        source: File name or other origin ("" if unknown).
        lineno: 1-based line number within the source (0 for a whole file).
        reason: What was wrong.
        text: The start of the line.
    """

    source: str
    lineno: int
    reason: str
    text: str


NOT_A_FLOW_LOG: Final = "not a flow log: "
"""How the reason of a file judged not a flow log at all starts (see ``not_flow_logs``)."""


@dataclass(slots=True)
class ParseStats:
    """Counters shown to the user beside the records.

    Attributes:
        records: Traffic records yielded (NODATA and SKIPDATA rows are not counted here).
        bad_lines: Lines that could not be parsed (wrong field count, non-numeric number).
        nodata: NODATA rows: no traffic in the interval.
        skipdata: SKIPDATA rows: the flow-log service dropped records (data loss).
        bad_files: Files that could not be read completely (truncated gzip, corrupt parquet):
            records are missing.
        not_flow_logs: Files nothing was read from because they are not flow logs at all (JSON
            such as a CloudTrail file): skipped and named in :attr:`skipped`, no data loss.
        headers: Header lines seen (each one switches the format).
        samples: The first few bad lines and files, for display.
        files: Files opened.
        skipped: ``(file, why)`` for every file nothing was read from (empty, not a flow log,
            unreadable, or left out of a folder by its name).
        partial: ``(file, why)`` for every file read only up to a break (truncated gzip).
        guessed: ``(file, how)`` for every file whose layout was guessed from its field count.
    """

    records: int = 0
    bad_lines: int = 0
    nodata: int = 0
    skipdata: int = 0
    bad_files: int = 0
    not_flow_logs: int = 0
    headers: int = 0
    samples: list[BadLine] = field(default_factory=list)
    files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    partial: list[tuple[str, str]] = field(default_factory=list)
    guessed: list[tuple[str, str]] = field(default_factory=list)

    MAX_SAMPLES: ClassVar[int] = 20

    def note(self, source: str, lineno: int, reason: str, text: str = "") -> None:
        """Keep a sample of a problem (counting is the caller's job)."""
        if len(self.samples) < self.MAX_SAMPLES:
            self.samples.append(BadLine(source, lineno, reason, text[:200]))

    def guess(self, source: str, note: str) -> None:
        """Say once per file that its layout was guessed (see :func:`guess_layout`)."""
        if (source, note) not in self.guessed:
            self.guessed.append((source, note))

    @property
    def rows(self) -> int:
        """Rows read: records and NODATA/SKIPDATA status rows."""
        return self.records + self.nodata + self.skipdata

    def mark(self) -> tuple[int, int, int]:
        """Where the counters stand before a file, for :meth:`file_done`."""
        return self.rows, self.bad_lines, len(self.samples)

    def file_done(self, source: str, mark: tuple[int, int, int], error: str | None = None) -> None:
        """Count a file, and say why when nothing of it could be read (:attr:`skipped`).

        Args:
            source: The file.
            mark: :meth:`mark` before the file.
            error: Why it could not be read to its end (it then counts in ``bad_files``).
        """
        self.files += 1
        if error is not None:
            kept = self.rows - mark[0]
            if not kept and error.startswith(NOT_A_FLOW_LOG):
                self.not_flow_logs += 1  # skipped and named, but nothing of a flow log is lost
                self.note(source, 0, error)
                self.skipped.append((source, error))
                return
            self.bad_files += 1
            self.note(source, 0, error)
            if kept:
                self.partial.append((source, f"{error} ({kept} rows before it were read)"))
            else:
                self.skipped.append((source, error))
            return
        if self.rows > mark[0]:
            return
        bad = self.bad_lines - mark[1]
        if not bad:
            self.skipped.append((source, "empty: no flow-log record in it"))
            return
        first = next((b for b in self.samples[mark[2] :] if b.source == source), None)
        where = f" (line {first.lineno}: {first.reason})" if first is not None else ""
        lines = "its one line is not" if bad == 1 else f"none of its {bad} lines is"
        # Not counted in not_flow_logs: a flow log in a layout not given reads the same way,
        # so its lines stay bad lines (counted above), and the file is named here.
        self.skipped.append((source, f"{NOT_A_FLOW_LOG}{lines} a flow-log record{where}"))

    @property
    def data_loss(self) -> bool:
        """True if SKIPDATA rows or unreadable files mean some traffic is missing."""
        return bool(self.skipdata or self.bad_files)


def _looks_like_header(parts: Sequence[str]) -> bool:
    # A header names fields; a record's first token is a value. The first token must be a known
    # field name, every token must look like a field name, and at least half must be known, so
    # that "bogus line" stays a bad line and a record starting with "-" is never a header.
    known = 0
    for p in parts:
        if not _FIELD_NAME.match(p):
            return False
        if p in FIELDS or p in FIELDS_BY_ATTR:
            known += 1
    return known * 2 >= len(parts)


class FlowLogParser:
    """Streaming flow-log line parser with counters.

    The layout is, in order of authority: the last header line seen (S3 objects), the format
    given (DescribeFlowLogs' LogFormat), and only when neither is known the layout of the first
    record by its field count (14: VPC v2 default; 36: Transit Gateway default; every VPC field
    up to a version, when the values fit: see :func:`guess_layout`, noted in the stats). Other
    lines without a known layout are counted as bad.

    Example:
        >>> p = FlowLogParser()
        >>> r = p.feed_line("2 123 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 40 1 2 ACCEPT OK")
        >>> (r.dstport, r.action, p.stats.records)
        (22, 'ACCEPT', 1)
    """

    def __init__(
        self, fmt: FormatSpec | None = None, *, stats: ParseStats | None = None, source: str = ""
    ) -> None:
        """Create a parser.

        Args:
            fmt: The known format (``LogFormat`` string or field names), or None.
            stats: Counters to add to (shared across files); a new one if None.
            source: Name shown in problem samples.
        """
        self.stats = stats if stats is not None else ParseStats()
        self.source = source
        self._given: Layout | None = layout_for(_as_fields(fmt)) if fmt is not None else None
        self._layout: Layout | None = self._given
        self._lineno = 0

    @property
    def fmt(self) -> tuple[str, ...] | None:
        """The format in use (from the last header or the one given), or None (defaults)."""
        return self._layout.fields if self._layout is not None else None

    @property
    def layout(self) -> Layout | None:
        """The compiled format in use, or None before a header or record has set one."""
        return self._layout

    def start_file(self, source: str = "") -> None:
        """Forget a header seen in a previous file and restart line numbers."""
        self._layout = self._given
        self._lineno = 0
        self.source = source

    def _bad(self, reason: str, line: str) -> None:
        self.stats.bad_lines += 1
        self.stats.note(self.source, self._lineno, reason, line)

    def feed_line(self, line: str) -> FlowRecord | None:
        """Parse one line.

        Args:
            line: One line, with or without its newline. A trailing ``# comment`` is ignored.

        Returns:
            The record (including NODATA/SKIPDATA status rows), or None for a blank line, a
            header line (which becomes the format) or a bad line (counted in :attr:`stats`).
        """
        self._lineno += 1
        raw = line.rstrip("\r\n")
        text = raw.split("#", 1)[0] if "#" in raw else raw
        parts = text.split()
        if not parts:
            return None
        first = parts[0]
        if (first in FIELDS or first in FIELDS_BY_ATTR) and _looks_like_header(parts):
            self._layout = layout_for(tuple(parts))
            self.stats.headers += 1
            return None
        layout = self._layout
        if layout is None:
            guess = guess_layout(parts)
            if guess is None:
                n = len(parts)
                how = "too few" if n < len(DEFAULT_FORMAT) else "too many"
                self._bad(f"{how} fields for the default format: {n}; no log format or header", raw)
                return None
            # The file's first record decides, as a header would: DuckDB reads a file that way.
            layout = self._layout = layout_for(guess[0])
            if guess[1]:
                self.stats.guess(self.source, guess[1])
        try:
            rec = layout.build(parts, raw)
        except FieldValueError as err:
            self._bad(str(err), raw)
            return None
        except ValueError:
            want = len(layout.fields)
            if len(parts) < want:
                self._bad(f"too few fields: {len(parts)} < {want}", raw)
            elif len(parts) > want:
                self._bad(f"too many fields: {len(parts)} > {want}", raw)
            else:
                self._bad("not a number where a number is required", raw)
            return None
        status = rec.log_status
        if status == "NODATA":
            self.stats.nodata += 1
        elif status == "SKIPDATA":
            self.stats.skipdata += 1
        else:
            self.stats.records += 1
        return rec

    def parse_lines(self, lines: Iterable[str]) -> Iterator[FlowRecord]:
        """Parse lines lazily; bad lines are counted and skipped.

        Args:
            lines: Any iterable of lines (a file object, a list, a generator).

        Yields:
            Records, in input order.
        """
        feed = self.feed_line
        for line in lines:
            rec = feed(line)
            if rec is not None:
                yield rec


# --- reading files and folders ---------------------------------------------------------------

_CHUNK: Final = 1 << 20
_READABLE_SUFFIXES: Final = frozenset({".log", ".gz", ".json", ".parquet", ".txt", ".ndjson"})


def _lines_from_chunks(chunks: Iterable[bytes]) -> Iterator[str]:
    """Split byte chunks into text lines; a partial last line is kept only if the input ends."""
    tail = b""
    for chunk in chunks:
        data = tail + chunk if tail else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            tail = data
            continue
        tail = data[cut + 1 :]
        yield from data[:cut].decode("utf-8", "replace").split("\n")
    if tail:
        yield tail.decode("utf-8", "replace")


def _json_objects(text: str) -> Iterator[Any]:
    """The JSON values of a text: one document, several concatenated (Firehose does that), one
    per line (NDJSON), or a top-level array (its items)."""
    decoder = json.JSONDecoder()
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            break
        obj, pos = decoder.raw_decode(text, pos)
        if isinstance(obj, list):
            yield from obj
        else:
            yield obj


def _norm(key: str) -> str:
    return key.replace("-", "").replace("_", "").lower()


# A parsed record's keys, in AWS's spelling (srcaddr, src-addr, log_status) or Logs Insights'
# (srcAddr, interfaceId, startTime, endTime), to the field names.
_JSON_KEYS: Final[Mapping[str, str]] = {
    **{_norm(s.name): s.name for s in FIELD_SPECS},
    "starttime": "start",
    "endtime": "end",
}


def _json_token(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "_".join(str(value).split()) or "-"


def _object_line(obj: Mapping[Any, Any]) -> tuple[tuple[str, ...], str] | None:
    """(fields, line) of a flow record already parsed into an object; None when fewer than
    three of its keys name a flow-log field (other keys, such as ``@timestamp``, are left)."""
    names: list[str] = []
    tokens: list[str] = []
    for key, value in obj.items():
        name = _JSON_KEYS.get(_norm(key)) if isinstance(key, str) else None
        if name is None or name in names:
            continue
        names.append(name)
        tokens.append(_json_token(value))
    if len(names) < 3:
        return None
    return tuple(names), " ".join(tokens)


def _json_records(text: str, parser: FlowLogParser) -> Iterator[FlowRecord]:
    """Flow records from JSON, whatever wraps them.

    CloudWatch Logs subscription payloads and FilterLogEvents output (``logEvents`` or
    ``events``); a line wrapped in an object (``{"message": "2 123... ACCEPT OK"}``, as Firehose
    and log collectors write it; ``@message`` as Logs Insights exports it); or a record already
    parsed into an object, keyed by field name. A file whose first value is none of these is
    not a flow log (ValueError); a later value that is none of these is a bad line.
    """
    first = True
    for obj in _json_objects(text):
        lines: list[str] = []
        recognized = False
        if isinstance(obj, dict):
            if obj.get("messageType") == "CONTROL_MESSAGE":
                first = False
                continue
            events = obj.get("logEvents")
            if events is None:
                events = obj.get("events")
            message = obj.get("message", obj.get("@message"))
            if isinstance(events, list):
                recognized = True
                lines = [
                    ev["message"]
                    for ev in events
                    if isinstance(ev, dict) and isinstance(ev.get("message"), str)
                ]
            elif isinstance(message, str):
                recognized = True
                lines = [message]
            elif (parsed := _object_line(obj)) is not None:
                first = False
                saved, parser._layout = parser._layout, layout_for(parsed[0])
                try:
                    rec = parser.feed_line(parsed[1])
                finally:
                    parser._layout = saved
                if rec is not None:
                    yield rec
                continue
        if not recognized:
            if first:
                raise ValueError(
                    "JSON that holds no flow-log line (no logEvents/events, message or "
                    "@message) and no flow record (no srcaddr, dstaddr, action... keys)"
                )
            parser._lineno += 1
            parser._bad("JSON value that is neither a flow-log line nor a flow record", str(obj))
            continue
        first = False
        yield from parser.parse_lines(lines)


# Writers that go through pandas store missing values as these strings ("loose types").
_PARQUET_NULLS: Final = frozenset({"", "-", "None", "null", "NULL", "nan", "NaN"})


class CorruptParquetError(ValueError):
    """A Parquet file or object DuckDB could not read."""


def _parquet_lines(source: Path | bytes, parser: FlowLogParser) -> Iterator[FlowRecord]:
    """Records of a Parquet file (or an S3 object's bytes), read by DuckDB: no pyarrow needed."""
    if isinstance(source, bytes):  # DuckDB reads files, not buffers (without fsspec)
        import tempfile  # Parquet only: tempfile pulls shutil, random, bz2 and lzma

        with tempfile.TemporaryDirectory(prefix="hamari-parquet-") as tmp:
            path = Path(tmp) / "object.parquet"
            path.write_bytes(source)
            yield from _parquet_lines(path, parser)
        return
    import duckdb  # imported here: only parquet sources pay for it

    con = duckdb.connect()
    try:
        try:
            cur = con.execute("SELECT * FROM read_parquet(?)", [str(source)])
        except duckdb.Error as exc:
            raise CorruptParquetError(str(exc).split("\n", 1)[0]) from exc
        names = tuple(
            n.replace("_", "-") if n.replace("_", "-") in FIELDS else n
            for n in (d[0] for d in cur.description or ())
        )
        parser._layout = layout_for(names)  # the column names are the header
        pad = [
            12 if n in ("account-id", "tgw-src-vpc-account-id", "tgw-dst-vpc-account-id") else 0
            for n in names
        ]
        while True:
            try:
                rows = cur.fetchmany(65536)
            except duckdb.Error as exc:
                raise CorruptParquetError(str(exc).split("\n", 1)[0]) from exc
            if not rows:
                break
            for row in rows:
                tokens = []
                for v, width in zip(row, pad, strict=True):
                    if v is None or v != v or v in _PARQUET_NULLS:  # v != v: NaN
                        tokens.append("-")
                    elif width and isinstance(v, int):
                        tokens.append(str(v).zfill(width))  # int64 account ids lose leading zeros
                    elif isinstance(v, float) and v.is_integer():
                        tokens.append(str(int(v)))  # pandas writes int columns with gaps as float
                    else:
                        tokens.append(str(v).replace(" ", "_"))
                rec = parser.feed_line(" ".join(tokens))
                if rec is not None:
                    yield rec
    finally:
        con.close()


def _sidecar_format(path: Path) -> tuple[str, ...] | None:
    """``name.format`` beside ``name.log`` holds the field list of a headerless custom file."""
    stem = path.name.split(".", 1)[0]
    side = path.with_name(stem + ".format")
    if side.is_file():
        try:
            return parse_log_format(side.read_text("utf-8"))
        except (OSError, ValueError):
            return None
    return None


class _PutBack:
    """A pipe with the bytes already read from it in front again (a pipe cannot seek back)."""

    def __init__(self, head: bytes, fh: io.BufferedIOBase) -> None:
        self._head = head
        self._fh = fh

    def read(self, size: int = -1) -> bytes:
        head, self._head = self._head, b""
        return head + self._fh.read(size)


def _read_one(path: Path, parser: FlowLogParser) -> Iterator[FlowRecord]:
    with path.open("rb") as fh:
        head = fh.read(4)
        seekable = fh.seekable()
        src: Any = fh
        if seekable:
            fh.seek(0)
        else:  # a pipe named as the source: `<(zcat …)`, /dev/stdin
            src = _PutBack(head, fh)
        if head == b"PAR1":
            yield from _parquet_lines(path if seekable else src.read(), parser)
            return
        chunks: Iterator[bytes] = (
            _gunzip(src) if head[:2] == b"\x1f\x8b" else iter(lambda: src.read(_CHUNK), b"")
        )
        first = next(chunks, b"")
        if first.lstrip()[:1] in (b"{", b"["):
            text = (first + b"".join(chunks)).decode("utf-8", "replace")
            yield from _json_records(text, parser)
            return

        def _all() -> Iterator[bytes]:
            yield first
            yield from chunks

        yield from parser.parse_lines(_lines_from_chunks(_all()))


def parse_source(text: str) -> tuple[str, str]:
    """Read a ``--source`` / ``--flows-source`` value.

    Returns:
        ``("cwl", GROUP)`` for ``cwl:GROUP``; ``("s3", "bucket/prefix")`` for
        ``s3://bucket/prefix`` (see :func:`s3_location`); ``("auto", "")`` for ``""`` or
        ``auto`` (the flow logs DescribeFlowLogs finds); ``("local", PATH)`` otherwise
        (``file:PATH`` too, ``~`` expanded).
    """
    value = text.strip()
    if not value or value.lower() == "auto":
        return "auto", ""
    if value.startswith("cwl:"):
        return "cwl", value[4:]
    if value.startswith("s3://"):
        return "s3", value[5:]
    if value.startswith("file:"):
        value = value[5:]
    return "local", os.path.expanduser(value)


def iter_files(
    paths: str | Path | Iterable[str | Path], *, skipped: list[tuple[str, str]] | None = None
) -> Iterator[Path]:
    """Expand files and folders (recursively, sorted) into the files to read.

    In a folder only flow-log-looking regular files are taken (``.log``, ``.gz``, ``.json``,
    ``.parquet``, ``.txt``, ``.ndjson``); a FIFO, socket or device, a broken symlink and a
    symlink to a folder are named in ``skipped``, never opened. A file named explicitly is
    always taken (a pipe too: ``<(zcat …)``).

    Args:
        paths: Files and folders.
        skipped: Gets ``(path, why)`` for each file of a folder left out (hidden files and
            ``.format`` sidecars are not named).
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    for item in items:
        p = Path(item)
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if child.name.startswith(".") or (child.is_dir() and not child.is_symlink()):
                    continue  # hidden, or a folder (rglob lists what it holds)
                problem = entry_problem(child)
                if problem is not None:  # a FIFO, a broken link, a link to a folder
                    if skipped is not None:
                        skipped.append((str(child), problem))
                    continue
                if child.suffix.lower() in _READABLE_SUFFIXES:
                    yield child
                elif skipped is not None and child.suffix.lower() != ".format":
                    names = ", ".join(sorted(_READABLE_SUFFIXES))
                    skipped.append((str(child), f"not a flow-log file name ({names})"))
        else:
            yield p


def read_flow_logs(
    paths: str | Path | Iterable[str | Path],
    *,
    fmt: FormatSpec | None = None,
    stats: ParseStats | None = None,
) -> Iterator[FlowRecord]:
    """Read flow-log records from local files and folders, streaming.

    Plain text, gzip (streamed, every member, with python-isal when available), CloudWatch Logs
    subscription payloads or FilterLogEvents output (JSON, plain or gzip) and Parquet. Each file
    starts with the given format (or ``name.format`` beside ``name.log``); a header line in the
    file overrides it. A file that cannot be read completely is counted in ``stats.bad_files``
    after everything before the break was yielded; the other files are still read.

    Args:
        paths: A file, a folder, or several.
        fmt: The log format when files have no header (``LogFormat`` string or names).
        stats: Counters to update; read them after (or during) iteration.

    Yields:
        Records in file order.
    """
    stats = stats if stats is not None else ParseStats()
    for path in iter_files(paths, skipped=stats.skipped):
        file_fmt = fmt if fmt is not None else _sidecar_format(path)
        parser = FlowLogParser(file_fmt, stats=stats, source=str(path))
        mark = stats.mark()
        try:
            yield from _read_one(path, parser)
        except Exception as exc:  # one bad file must never stop the others
            stats.file_done(str(path), mark, file_error(exc, path, parser._lineno))
        else:
            stats.file_done(str(path), mark)


def file_error(exc: BaseException, path: Path, lineno: int = 0) -> str:
    """Why a file could not be read to its end, in the user's words (not a Python type)."""
    text = str(exc) or type(exc).__name__
    at = f" after line {lineno}" if lineno else ""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError | PermissionError):
        return f"cannot be opened: {exc.strerror or text}"
    if isinstance(exc, TruncatedFileError):
        return f"truncated gzip: the stream ends before its end marker{at}"
    if isinstance(exc, zlib.error) or type(exc).__name__ == "IsalError":
        return f"corrupt gzip{at}: {text}"
    if path.suffix.lower() == ".parquet" or isinstance(exc, CorruptParquetError):
        return f"corrupt Parquet: {text}"
    if isinstance(exc, RecursionError):
        return f"{NOT_A_FLOW_LOG}JSON nested too deeply"
    if isinstance(exc, ValueError) and ("JSON" in text or isinstance(exc, json.JSONDecodeError)):
        return f"{NOT_A_FLOW_LOG}{text}"
    return f"{type(exc).__name__}: {text}"


# --- conversations -----------------------------------------------------------------------------

ConversationKey = tuple[int | None, str, int | None, str, int | None]


def conversation_key(record: FlowRecord) -> ConversationKey:
    """A key shared by both legs of a conversation (addresses and ports swapped).

    Packet-level addresses (``pkt-srcaddr``/``pkt-dstaddr``) are used when present, so that a leg
    seen on a NAT or Transit Gateway interface pairs with the leg seen on the instance.

    Args:
        record: A flow record.

    Returns:
        ``(protocol, addr_a, port_a, addr_b, port_b)`` with endpoint a <= endpoint b.
    """
    a = (record.src or "", record.srcport)
    b = (record.dst or "", record.dstport)
    if (a[0], a[1] or 0) > (b[0], b[1] or 0):
        a, b = b, a
    return (record.protocol, a[0], a[1], b[0], b[1])


@dataclass(frozen=True, slots=True)
class Leg:
    """One direction of a conversation, summed over its records.

    Attributes:
        src: Source address. srcport: Source port. dst: Destination address. dstport: Destination
        port. actions: The actions seen. records/packets/bytes: Totals. first_start/last_end: Time
        span (Unix seconds). interfaces: ENIs that saw the leg. azs: AZ ids of those ENIs (from
        the record's ``az-id`` or the mapping given). subnets: Subnet ids seen.
    """

    src: str
    srcport: int | None
    dst: str
    dstport: int | None
    actions: frozenset[str]
    records: int
    packets: int
    bytes: int
    first_start: int | None
    last_end: int | None
    interfaces: tuple[str, ...]
    azs: tuple[str, ...]
    subnets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OneSidedConversation:
    """A conversation whose one leg was ACCEPTed and the other REJECTed.

    Attributes:
        key: The :func:`conversation_key`.
        protocol: The protocol number.
        forward: The leg that started first (the request).
        reverse: The other leg (the response).
        rejected: Which leg holds the REJECT: ``"forward"`` or ``"reverse"``.
    """

    key: ConversationKey
    protocol: int | None
    forward: Leg
    reverse: Leg
    rejected: Literal["forward", "reverse"]

    def oriented(self) -> OneSidedConversation:
        """The same conversation with the client -> server leg forward (the server port is the
        lower one).

        Pairing orders legs by start time; within one aggregation interval the response can be
        logged as starting first, which would read as a rejected request.
        """
        fwd = self.forward
        if fwd.srcport is None or fwd.dstport is None or fwd.srcport >= fwd.dstport:
            return self
        flipped: Literal["forward", "reverse"] = (
            "forward" if self.rejected == "reverse" else "reverse"
        )
        return replace(self, forward=self.reverse, reverse=fwd, rejected=flipped)

    @property
    def hint(self) -> str:
        """What this pattern usually means, for the user."""
        if self.rejected == "reverse":
            return "stateless rule on the return path? (NACL denies the response)"
        return "forward leg rejected while the return was accepted (asymmetric path?)"

    @property
    def cross_az(self) -> bool:
        """True when the two legs were seen in different AZs (e.g. via another TGW attachment)."""
        return bool(self.forward.azs and self.reverse.azs) and set(self.forward.azs) != set(
            self.reverse.azs
        )


class _LegAcc:
    __slots__ = ("actions", "azs", "bytes", "end", "enis", "packets", "records", "start", "subnets")

    def __init__(self) -> None:
        self.actions: set[str] = set()
        self.azs: set[str] = set()
        self.enis: set[str] = set()
        self.subnets: set[str] = set()
        self.records = self.packets = self.bytes = 0
        self.start: int | None = None
        self.end: int | None = None


def _leg(acc: _LegAcc, ends: tuple[str, int | None, str, int | None]) -> Leg:
    return Leg(
        ends[0],
        ends[1],
        ends[2],
        ends[3],
        frozenset(acc.actions),
        acc.records,
        acc.packets,
        acc.bytes,
        acc.start,
        acc.end,
        tuple(sorted(acc.enis)),
        tuple(sorted(acc.azs)),
        tuple(sorted(acc.subnets)),
    )


def one_sided_conversations(
    records: Iterable[FlowRecord], eni_az: Mapping[str, str] | None = None
) -> list[OneSidedConversation]:
    """Find conversations where one direction was ACCEPTed and the other REJECTed.

    Security groups are stateful, NACLs are not: a response dropped by a NACL shows up as an
    ACCEPTed request and a REJECTed response - "stateless rule on the return path?".

    Args:
        records: Flow records (status rows are ignored).
        eni_az: Optional ENI id -> AZ id mapping, used when a record has no ``az-id`` field.

    Returns:
        The one-sided conversations, ordered by the start of their forward leg.
    """
    eni_az = eni_az or {}
    legs: dict[ConversationKey, dict[tuple[str, int | None, str, int | None], _LegAcc]] = {}
    for r in records:
        if r.action is None or r.log_status in ("NODATA", "SKIPDATA"):
            continue
        key = conversation_key(r)
        ends = (r.src or "", r.srcport, r.dst or "", r.dstport)
        acc = legs.setdefault(key, {}).get(ends)
        if acc is None:
            acc = legs[key][ends] = _LegAcc()
        acc.actions.add(r.action.upper())
        acc.records += 1
        acc.packets += r.packets or 0
        acc.bytes += r.bytes or 0
        if r.start is not None and (acc.start is None or r.start < acc.start):
            acc.start = r.start
        if r.end is not None and (acc.end is None or r.end > acc.end):
            acc.end = r.end
        if r.interface_id:
            acc.enis.add(r.interface_id)
        az = r.az_id or (eni_az.get(r.interface_id) if r.interface_id else None)
        if az:
            acc.azs.add(az)
        if r.subnet_id:
            acc.subnets.add(r.subnet_id)
    out: list[OneSidedConversation] = []
    for key, by_dir in legs.items():
        if len(by_dir) != 2:
            continue
        (e1, a1), (e2, a2) = sorted(
            by_dir.items(),
            key=lambda kv: (kv[1].start is None, kv[1].start or 0, "REJECT" in kv[1].actions),
        )
        if "ACCEPT" in a1.actions and "REJECT" in a2.actions:
            rejected: Literal["forward", "reverse"] = "reverse"
        elif "REJECT" in a1.actions and "ACCEPT" in a2.actions:
            rejected = "forward"
        else:
            continue
        out.append(OneSidedConversation(key, key[0], _leg(a1, e1), _leg(a2, e2), rejected))
    out.sort(key=lambda c: (c.forward.first_start or 0, c.key))
    return out
