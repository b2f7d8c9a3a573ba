"""The flow-log filter language, parsed once and compiled to every place a filter can run.

Incident 3 is found by narrowing millions of flow records to a handful: ``action=REJECT and
srcaddr in 10.1.0.0/16 and dstport=443``. The same expression has to run locally on loaded records,
be pushed down to CloudWatch Logs (FilterLogEvents' filter pattern) so that less is downloaded,
and be handed to Logs Insights or Athena/DuckDB when the data is too big to pull. One parser and
one AST keep those in agreement; each compiler states what it can express exactly, and the
CloudWatch filter pattern only ever widens (the exact filter is always re-applied locally).

Grammar (keywords and enum values are case-insensitive; field names take ``-`` or ``_``)::

    expr    := or
    or      := and ("or" and)*
    and     := not (["and"] not)*          # juxtaposition is "and"
    not     := ("not" | "!") not | primary
    primary := "(" expr ")" | FIELD OP VALUE | FIELD ["not"] "in" VALUE | IP | CIDR | PROTO
    OP      := "=" | "==" | "!=" | "<" | "<=" | ">" | ">="
    VALUE   := alternative ("|" alternative)*      # any of them
    alternative := number | lo..hi | lo-hi | name | IP | CIDR | glob*

Port ranges are written ``dstport=1024..65535`` (documented form); ``1024-65535`` and
``dstport in 1024..65535`` mean the same. A bare IP or CIDR matches either address. ``addr`` and
``port`` are either-side pseudo fields. A bare ``tcp``, ``udp``, ``icmp`` or ``icmpv6`` means
``protocol=`` that protocol. ``flags=syn`` means a SYN without ACK (a connection
attempt), ``flags=syn-ack`` its answer, ``flags=fin``/``rst``/``ack`` those bits. A comparison on
a field a record lacks (``-``) is false, also for ``!=``; ``not`` inverts that.

Size (~1,030 lines): the parser and its compilers stay together on purpose: a new operator changes
the AST and every compiler at once.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final, Literal

from tui.models.flowlog import (
    DEFAULT_FORMAT,
    FIELDS,
    FIELDS_BY_ATTR,
    PROTOCOL_NUMBERS,
    FlowRecord,
    parse_log_format,
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Kind = Literal["int", "str", "ip", "flags", "protocol"]
Op = Literal["=", "!=", "<", "<=", ">", ">="]
Dialect = Literal["athena", "duckdb"]


class FilterError(ValueError):
    """A filter that cannot be parsed or compiled.

    Attributes:
        message: What is wrong, for the user.
        column: 0-based offset in the filter text of the offending token.
    """

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(f"{message} (column {column + 1})")
        self.message = message
        self.column = column


# --- fields ------------------------------------------------------------------------------------

#: Short names accepted for fields (and the either-side pseudo fields ``addr`` and ``port``).
ALIASES: Final[dict[str, str]] = {
    "addr": "addr",
    "address": "addr",
    "ip": "addr",
    "port": "port",
    "src": "srcaddr",
    "dst": "dstaddr",
    "direction": "flow-direction",
    "dir": "flow-direction",
    "az": "az-id",
    "subnet": "subnet-id",
    "eni": "interface-id",
    "interface": "interface-id",
    "instance": "instance-id",
    "vpc": "vpc-id",
    "flags": "tcp-flags",
    "proto": "protocol",
    "status": "log-status",
    "account": "account-id",
    "path": "traffic-path",
    "reason": "reject-reason",
    "tgw-attachment": "tgw-attachment-id",
    "attachment": "tgw-attachment-id",
    "cluster": "ecs-cluster-name",
}

_PSEUDO: Final[dict[str, tuple[str, ...]]] = {
    "addr": ("srcaddr", "dstaddr"),
    "port": ("srcport", "dstport"),
}

#: Canonical spelling of enum values (matched case-insensitively).
ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "action": ("ACCEPT", "REJECT"),
    "log-status": ("OK", "NODATA", "SKIPDATA"),
    "flow-direction": ("ingress", "egress"),
    "type": ("IPv4", "IPv6", "EFA"),
    "sublocation-type": ("wavelength", "outpost", "localzone"),
}

#: Protocols that may be written alone as a filter word (``tcp`` means ``protocol=tcp``).
BARE_PROTOCOLS: Final[tuple[str, ...]] = ("tcp", "udp", "icmp", "icmpv6")

#: Flag names -> (bits that must be set, bits that must be clear).
FLAG_TESTS: Final[dict[str, tuple[int, int]]] = {
    "syn": (2, 16),
    "syn-ack": (18, 0),
    "synack": (18, 0),
    "ack": (16, 0),
    "fin": (1, 0),
    "rst": (4, 0),
    "psh": (8, 0),
    "urg": (32, 0),
}


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field named in a filter.

    Attributes:
        name: Canonical name (AWS hyphenated, or ``addr``/``port``).
        fields: The record fields it reads (two for the pseudo fields).
        kind: How values are typed and compared.
    """

    name: str
    fields: tuple[str, ...]
    kind: Kind


def _kind_of(name: str) -> Kind:
    if name == "tcp-flags":
        return "flags"
    if name == "protocol":
        return "protocol"
    spec = FIELDS.get(name)
    return spec.kind if spec is not None else "str"


_COMPACT: Final[dict[str, str]] = {
    **{a.replace("-", ""): a for a in ALIASES},
    **{n.replace("-", ""): n for n in FIELDS},
}


def resolve_field(name: str, column: int = 0, extra_fields: Iterable[str] = ()) -> FieldRef:
    """Resolve a field name as typed (``dst_port``, ``DSTPORT``, ``az``) to a :class:`FieldRef`.

    Args:
        name: The name as typed.
        column: Where it was typed (for the error).
        extra_fields: Names of unknown fields in the current format that may be filtered on.

    Raises:
        FilterError: If the name is not a known field, alias or extra field.
    """
    key = name.lower().replace("_", "-")
    extras = {e.lower().replace("_", "-"): e for e in extra_fields}
    key = ALIASES.get(key, key)
    if key in _PSEUDO:
        fields = _PSEUDO[key]
        return FieldRef(key, fields, _kind_of(fields[0]))
    if key in FIELDS:
        return FieldRef(key, (key,), _kind_of(key))
    if key in extras:
        return FieldRef(extras[key], (extras[key],), "str")
    compact = _COMPACT.get(key.replace("-", ""))
    if compact is not None:  # dst_port, logstatus
        return resolve_field(compact, column)
    choices = [*FIELDS, *ALIASES, *extras]
    import difflib  # only for a misspelt name

    near = difflib.get_close_matches(key, choices, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise FilterError(f"unknown field {name!r}{hint}", column)


def field_names() -> list[str]:
    """Every name the filter bar accepts as a field (AWS names, then short aliases)."""
    return [*FIELDS, *sorted(ALIASES)]


def complete(text: str) -> list[str]:
    """Completion candidates for the last word of a filter being typed.

    After ``field=`` it offers that field's enum values (``action=`` -> ``ACCEPT``, ``REJECT``);
    otherwise field names and keywords starting with the word.

    Args:
        text: The filter bar text up to the cursor.

    Returns:
        Candidate replacements for the last word, sorted, best first.
    """
    m = re.search(r"([A-Za-z][\w-]*)\s*(?:=|!=|==)\s*([\w-]*)$", text)
    if m:
        try:
            ref = resolve_field(m.group(1))
        except FilterError:
            return []
        values: Sequence[str] = ENUMS.get(ref.name, ())
        if ref.kind == "flags":
            values = ("syn", "syn-ack", "ack", "fin", "rst", "psh", "urg")
        elif ref.kind == "protocol":
            values = BARE_PROTOCOLS
        word = m.group(2).lower()
        return [v for v in values if v.lower().startswith(word)]
    m = re.search(r"([\w-]*)$", text)
    word = (m.group(1) if m else "").lower().replace("_", "-")
    names = [*field_names(), *BARE_PROTOCOLS, "and", "or", "not", "in"]
    return sorted({n for n in names if n.startswith(word)}, key=lambda n: (len(n), n))


# --- AST ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compare:
    """``field op values``; ``=`` matches any value, ``!=`` matches none (field present).

    Attributes:
        field: The field.
        op: The operator (``in`` is ``=``, ``not in`` is ``!=``).
        values: Typed values: ``(lo, hi)`` ranges for numbers, flag names, lower-case strings
            (``*`` globs), or networks.
        column: Where the comparison starts in the text.
    """

    field: FieldRef
    op: Op
    values: tuple[Any, ...]
    column: int


@dataclass(frozen=True, slots=True)
class Not:
    """Negation."""

    item: Node


@dataclass(frozen=True, slots=True)
class And:
    """Conjunction."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Disjunction."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class MatchAll:
    """The empty filter."""


Node = Compare | Not | And | Or | MatchAll


# --- tokenizer and parser ----------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<ws>\s+)|(?P<lp>\()|(?P<rp>\))|(?P<op><=|>=|!=|==|=|<|>)|(?P<bang>!)
    |(?P<str>"(?:[^"\\]|\\.)*")|(?P<word>[^\s()=!<>"]+)|(?P<bad>.)""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    col: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "bad"
        if kind == "ws":
            continue
        if kind == "bad":
            raise FilterError(f"unexpected character {m.group()!r}", m.start())
        value = m.group()
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "word":
            low = value.lower()
            if low in ("and", "or", "not", "in", "&&", "||"):
                kind = {"&&": "and", "||": "or"}.get(low, low)
        toks.append(_Tok(kind, value, m.start()))
    return toks


_RANGE = re.compile(r"^(\d+)(?:\.\.|-)(\d+)$")


class _Parser:
    def __init__(self, text: str, extra_fields: Iterable[str]) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.extra = tuple(extra_fields)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def end_col(self) -> int:
        return len(self.text)

    def parse(self) -> Node:
        if not self.toks:
            return MatchAll()
        node = self.parse_or()
        tok = self.peek()
        if tok is not None:
            raise FilterError(f"unexpected {tok.text!r}", tok.col)
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_not()]
        while (tok := self.peek()) is not None and tok.kind not in ("or", "rp"):
            if tok.kind == "and":
                self.take()
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_not(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind in ("not", "bang"):
            self.take()
            return Not(self.parse_not())
        return self.parse_primary()

    def parse_primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise FilterError("expression expected", self.end_col())
        if tok.kind == "lp":
            self.take()
            node = self.parse_or()
            close = self.peek()
            if close is None or close.kind != "rp":
                col = close.col if close is not None else self.end_col()
                raise FilterError(f"')' expected to close '(' at column {tok.col + 1}", col)
            self.take()
            return node
        if tok.kind not in ("word", "str"):
            raise FilterError(f"unexpected {tok.text!r}", tok.col)
        self.take()
        nxt = self.peek()
        op: Op | None = None
        if nxt is not None and nxt.kind == "op":
            self.take()
            op = "=" if nxt.text == "==" else nxt.text  # type: ignore[assignment]
        elif nxt is not None and nxt.kind == "in":
            self.take()
            op = "="
        elif nxt is not None and nxt.kind == "not":
            after = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
            if after is not None and after.kind == "in":
                self.i += 2
                op = "!="
        if op is None:
            return self.free_term(tok)
        ref = resolve_field(tok.text, tok.col, self.extra)
        val = self.peek()
        if val is None or val.kind not in ("word", "str"):
            col = val.col if val is not None else self.end_col()
            raise FilterError(f"value expected after {tok.text}", col)
        self.take()
        return Compare(ref, op, _typed_values(ref, op, val), tok.col)

    def free_term(self, tok: _Tok) -> Node:
        names = tok.text.lower().split("|")
        if tok.kind == "word" and all(n in BARE_PROTOCOLS for n in names):  # tcp, udp|icmp
            numbers = tuple((PROTOCOL_NUMBERS[n], PROTOCOL_NUMBERS[n]) for n in names)
            return Compare(resolve_field("protocol"), "=", numbers, tok.col)
        name, colon, value = tok.text.partition(":")
        if colon and value and _network(tok.text) is None:
            # `action:REJECT` is how the CloudTrail pane's filter is written: say the flow way.
            try:
                resolve_field(name, tok.col, self.extra)
            except FilterError:
                pass  # not a field: the error below says what a term can be
            else:
                raise FilterError(f"flow filters compare with '=': {name}={value}", tok.col)
        nets = []
        for part in tok.text.split("|"):
            net = _network(part)
            if net is None:
                raise FilterError(
                    f"{tok.text!r} is neither a field comparison nor an IP address, CIDR or "
                    f"protocol ({', '.join(BARE_PROTOCOLS)})",
                    tok.col,
                )
            nets.append(net)
        return Compare(FieldRef("addr", _PSEUDO["addr"], "ip"), "=", tuple(nets), tok.col)


def _network(text: str) -> Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _typed_values(ref: FieldRef, op: Op, tok: _Tok) -> tuple[Any, ...]:
    parts = tok.text.split("|") if tok.kind == "word" else [tok.text]
    ordered = op in ("<", "<=", ">", ">=")
    if ordered and (len(parts) != 1 or ref.kind not in ("int", "protocol", "flags")):
        raise FilterError(f"{op} needs one number (field {ref.name} is {ref.kind})", tok.col)
    out: list[Any] = []
    col = tok.col
    for part in parts:
        if not part:
            raise FilterError("empty value", col)
        out.append(_typed_value(ref, part, col, ordered))
        col += len(part) + 1
    return tuple(out)


def _typed_value(ref: FieldRef, part: str, col: int, ordered: bool) -> Any:
    low = part.lower()
    if ref.kind in ("int", "protocol", "flags"):
        if part.isdigit():
            n = int(part)
            return n if ordered else (n, n)
        if ref.kind == "protocol" and low in PROTOCOL_NUMBERS:
            n = PROTOCOL_NUMBERS[low]
            return n if ordered else (n, n)
        if ref.kind == "flags" and low in FLAG_TESTS and not ordered:
            return low
        m = _RANGE.match(part)
        if m and not ordered:
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi:
                raise FilterError(f"empty range {part}", col)
            return (lo, hi)
        what = {
            "protocol": "a protocol number or name (tcp, udp, icmp, icmpv6)",
            "flags": "a flag (syn, syn-ack, ack, fin, rst) or number",
        }.get(ref.kind, "a number or range lo..hi")
        raise FilterError(f"{ref.name} needs {what}, not {part!r}", col)
    if ref.kind == "ip":
        net = _network(part)
        if net is None:
            raise FilterError(f"{part!r} is not an IP address or CIDR", col)
        return net
    enum = ENUMS.get(ref.name)
    if enum is not None:
        for v in enum:
            if v.lower() == low:
                return low
        raise FilterError(f"{ref.name} is one of {', '.join(enum)}; not {part!r}", col)
    return low


def parse_filter(text: str, *, extra_fields: Iterable[str] = ()) -> FlowFilter:
    """Parse a filter expression.

    Args:
        text: The filter as typed; empty matches everything.
        extra_fields: Unknown field names of the current format that may be used.

    Returns:
        The compiled-on-demand :class:`FlowFilter`.

    Raises:
        FilterError: With the column of the offending token; nothing is applied halfway.
    """
    return FlowFilter(text, _Parser(text, extra_fields).parse())


# --- the filter and its compilers -------------------------------------------------------------

_ADDR_CACHE: dict[str, tuple[int, int] | None] = {}


def _addr_key(text: str) -> tuple[int, int] | None:
    """(IP version, integer) for an address string; cached because flow logs repeat addresses."""
    hit = _ADDR_CACHE.get(text, False)
    if hit is not False:
        return hit  # type: ignore[return-value]
    try:
        ip = ipaddress.ip_address(text)
        key: tuple[int, int] | None = (ip.version, int(ip))
    except ValueError:
        key = None
    if len(_ADDR_CACHE) > 500_000:
        _ADDR_CACHE.clear()
    _ADDR_CACHE[text] = key
    return key


def _expand_flag(name: str) -> list[int]:
    need, forbid = FLAG_TESTS[name]
    return [m for m in range(64) if m & need == need and not m & forbid]


Pred = Callable[[FlowRecord], bool]


def _value_test(kind: Kind, values: tuple[Any, ...]) -> Callable[[Any], bool]:
    """A test of one present (non-None) field value against ``=`` values."""
    if kind == "ip":
        spans = [(n.version, int(n.network_address), int(n.broadcast_address)) for n in values]

        def ip_test(v: Any) -> bool:
            key = _addr_key(v)
            if key is None:
                return False
            ver, n = key
            return any(ver == sv and lo <= n <= hi for sv, lo, hi in spans)

        return ip_test
    if kind in ("int", "protocol", "flags"):
        ranges = [v for v in values if isinstance(v, tuple)]
        flags = [FLAG_TESTS[v] for v in values if isinstance(v, str)]
        singles = frozenset(lo for lo, hi in ranges if lo == hi)
        spans2 = [(lo, hi) for lo, hi in ranges if lo != hi]
        if not flags and not spans2:
            return singles.__contains__

        def num_test(v: Any) -> bool:
            if v in singles or any(lo <= v <= hi for lo, hi in spans2):
                return True
            return any(v & need == need and not v & forbid for need, forbid in flags)

        return num_test
    exact = frozenset(v for v in values if "*" not in v)
    globs = [re.compile(re.escape(v).replace(r"\*", ".*"), re.S) for v in values if "*" in v]

    def str_test(v: Any) -> bool:
        low = v.lower()
        return low in exact or any(g.fullmatch(low) for g in globs)

    return str_test


def _compile(node: Node) -> Pred:
    if isinstance(node, MatchAll):
        return lambda r: True
    if isinstance(node, Not):
        inner = _compile(node.item)
        return lambda r: not inner(r)
    if isinstance(node, And | Or):
        preds = [_compile(n) for n in node.items]
        combine = all if isinstance(node, And) else any
        if len(preds) == 2:
            a, b = preds
            if isinstance(node, And):
                return lambda r: a(r) and b(r)
            return lambda r: a(r) or b(r)
        return lambda r: combine(p(r) for p in preds)
    return _compile_compare(node)


def _compile_compare(node: Compare) -> Pred:
    getters = [
        attrgetter(FIELDS[f].attr) if f in FIELDS else _extra_getter(f) for f in node.field.fields
    ]
    if node.op in ("<", "<=", ">", ">="):
        bound = node.values[0]
        cmp: Callable[[Any], bool] = {
            "<": lambda v: v < bound,
            "<=": lambda v: v <= bound,
            ">": lambda v: v > bound,
            ">=": lambda v: v >= bound,
        }[node.op]
        test = cmp
    else:
        test = _value_test(node.field.kind, node.values)
    if len(getters) == 1:
        (g,) = getters
        if node.op == "!=":
            return lambda r: (v := g(r)) is not None and not test(v)
        return lambda r: (v := g(r)) is not None and test(v)
    if node.op == "!=":

        def none_match(r: FlowRecord) -> bool:
            vals = [v for v in (g(r) for g in getters) if v is not None]
            return bool(vals) and not any(test(v) for v in vals)

        return none_match
    return lambda r: any((v := g(r)) is not None and test(v) for g in getters)


def _extra_getter(name: str) -> Callable[[FlowRecord], Any]:
    return lambda r: r.get(name)


def _conjuncts(node: Node) -> tuple[Node, ...]:
    if isinstance(node, And):
        return tuple(c for n in node.items for c in _conjuncts(n))
    if isinstance(node, MatchAll):
        return ()
    return (node,)


def _canon(name: str, value: str) -> str:
    for v in ENUMS.get(name, ()):
        if v.lower() == value:
            return v
    return value


_SAFE_CWL = re.compile(r"^[A-Za-z0-9._:/@-]+$")
_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


def _cwl_ip(net: Network) -> str | None:
    """An exactly-or-broader CWL term for an IPv4 network (octet-aligned wildcard)."""
    if net.version != 4:
        return None  # IPv6 text forms vary (zero compression): no safe prefix
    if net.prefixlen == 32:
        return f'"{net.network_address}"'
    octets = net.prefixlen // 8
    if octets == 0:
        return None
    prefix = ".".join(str(net.network_address).split(".")[:octets])
    return f"{prefix}.*"


def _cwl_condition(node: Node, fmt: tuple[str, ...], label: str) -> tuple[str, str] | None:
    """(field, condition) for one conjunct, or None when CWL cannot say it exactly-or-broader."""
    if not isinstance(node, Compare) or len(node.field.fields) != 1:
        return None
    name = node.field.fields[0]
    if name not in fmt:
        return None
    kind = node.field.kind
    if node.op in ("<", "<=", ">", ">="):
        return name, f"{label}{node.op}{node.values[0]}"
    terms: list[str] = []
    for v in node.values:
        term: str | None
        if kind == "ip":
            term = _cwl_ip(v)
            if node.op == "!=" and (term is None or not term.startswith('"')):
                return None  # a widened CIDR negated would narrow
        elif kind in ("int", "protocol", "flags"):
            if isinstance(v, str):
                return None  # flag names need bit tests
            lo, hi = v
            if lo != hi:
                if len(node.values) != 1 or node.op == "!=":
                    return None
                return name, f"{label}>={lo}&&{label}<={hi}"
            term = str(lo)
        else:
            if "*" in v or not _SAFE_CWL.match(v):
                return None
            term = f'"{_canon(name, v)}"'
        if term is None:
            return None
        terms.append(term)
    if node.op == "!=":
        return name, "&&".join(f"{label}!={t}" for t in terms)
    return name, "||".join(f"{label}={t}" for t in terms)


def _cwl_renderings(labels: Sequence[str], conds: dict[int, str]) -> Iterator[str]:
    """The same space-delimited pattern, each rendering shorter than the one before.

    Field names are labels only, so positional ``f<i>`` says the same; one ``...`` (AWS's
    documented shorthand) stands for the longest run of fields without a condition.
    """
    named = [conds.get(i, label) for i, label in enumerate(labels)]
    yield "[" + ", ".join(named) + "]"
    short = [conds.get(i, f"f{i}") for i in range(len(labels))]
    yield "[" + ", ".join(short) + "]"
    best: tuple[int, int] = (0, 0)  # [start, stop) of the longest run without a condition
    run = 0
    for i in range(len(labels) + 1):
        if i < len(labels) and i not in conds:
            run += 1
            continue
        if run > best[1] - best[0]:
            best = (i - run, i)
        run = 0
    if best[1] - best[0] > 1:
        yield "[" + ", ".join([*short[: best[0]], "...", *short[best[1] :]]) + "]"


def _insights_value(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sql_str(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


# Reserved words among the column names, in Trino and in DuckDB.
_SQL_RESERVED: Final = frozenset({"end"})


def _sql_ident(name: str) -> str:
    col = FIELDS[name].attr if name in FIELDS else name.replace("-", "_")
    if col in _SQL_RESERVED or not _IDENT.match(col):
        return '"' + col.replace('"', '""') + '"'
    return col


def _ipv4_int_sql(col: str) -> str:
    parts = [f"TRY_CAST(split_part({col}, '.', {i}) AS BIGINT)" for i in range(1, 5)]
    return f"({parts[0]} * 16777216 + {parts[1]} * 65536 + {parts[2]} * 256 + {parts[3]})"


@dataclass(frozen=True, slots=True)
class FlowFilter:
    """A parsed filter and its compilers.

    Attributes:
        text: The filter as typed.
        ast: The parsed expression.
    """

    text: str
    ast: Node

    @property
    def is_empty(self) -> bool:
        """True when the filter matches everything."""
        return isinstance(self.ast, MatchAll)

    def fields(self) -> set[str]:
        """Record fields the filter reads (pseudo fields expanded)."""
        out: set[str] = set()

        def walk(n: Node) -> None:
            if isinstance(n, Compare):
                out.update(n.field.fields)
            elif isinstance(n, Not):
                walk(n.item)
            elif isinstance(n, And | Or):
                for c in n.items:
                    walk(c)

        walk(self.ast)
        return out

    def to_predicate(self) -> Callable[[FlowRecord], bool]:
        """A fast local test for records; the authority on what the filter means."""
        return _compile(self.ast)

    def to_cwl_filter_pattern(
        self, fmt: Sequence[str] | str, *, max_length: int | None = None
    ) -> str | None:
        """A CloudWatch Logs space-delimited filter pattern for FilterLogEvents.

        Only top-level conjuncts on one field that is in the format are pushed down, and only
        when the pattern matches the same events or more (IPv4 CIDRs widen to the enclosing octet
        boundary; flag names, globs, IPv6, ``or`` across fields and ``not`` are left out). Apply
        :meth:`to_predicate` to what comes back.

        FilterLogEvents caps the pattern's length (1,024 characters today), and a pattern names
        every field of the format: a long custom format can exceed it. Past ``max_length`` the
        same conditions are written shorter (``f7`` for the fields without a condition, then
        ``...`` for the longest run of them), and if that is still too long the longest
        conditions are dropped, which only widens the pattern.

        Args:
            fmt: The flow log's format (``LogFormat`` string or field names).
            max_length: The longest pattern the service accepts; None for no limit.

        Returns:
            ``[version, account_id, ..., dstport=443, ...]``, or None when nothing can be pushed.
        """
        names = _format_names(fmt)
        labels = _labels(names)
        conds: dict[int, str] = {}
        for node in _conjuncts(self.ast):
            for i, n in enumerate(names):
                if isinstance(node, Compare) and node.field.fields == (n,):
                    got = _cwl_condition(node, names, labels[i])
                    if got is not None and i not in conds:
                        conds[i] = got[1]
                    break
        while conds:
            for text in _cwl_renderings(labels, conds):
                if max_length is None or len(text) <= max_length:
                    return text
            del conds[max(conds, key=lambda i: (len(conds[i]), i))]
        return None

    def to_insights(
        self, fmt: Sequence[str] | str | None = None, *, limit: int | None = None
    ) -> str:
        """A CloudWatch Logs Insights query for this filter.

        The default format uses Insights' discovered flow-log fields (``srcAddr``, ``dstPort``);
        a custom format is split with ``parse @message "* * ..."``.

        Args:
            fmt: The flow log's format; None for the default format.
            limit: Optional ``| limit N``.

        Returns:
            The query text.

        Raises:
            FilterError: If the filter uses a field the format does not have.
        """
        names = DEFAULT_FORMAT if fmt is None else _format_names(fmt)
        lines = ["fields @timestamp, @message, @logStream"]
        if names == DEFAULT_FORMAT:
            col = dict(_INSIGHTS_DEFAULT)
        else:
            col = dict(zip(names, _labels(names), strict=True))
            stars = " ".join("*" for _ in names)
            lines.append(f'parse @message "{stars}" as {", ".join(col[n] for n in names)}')
        if not self.is_empty:
            lines.append("filter " + _insights(self.ast, col))
        lines.append("sort @timestamp desc")
        if limit is not None:
            lines.append(f"limit {int(limit)}")
        return "\n| ".join(lines)

    def to_sql_where(self, dialect: Dialect = "athena") -> str:
        """The WHERE condition (without ``WHERE``) for Athena's flow-log table or DuckDB.

        Columns are the Athena flow-log table's (``srcaddr``, ``dstport``, ``"end"``,
        ``az_id`` ...), with ``-`` loaded as NULL. CIDRs use ``contains(cidr, TRY_CAST(x AS
        IPADDRESS))`` on Athena and an integer range on DuckDB (IPv4 only there).

        Args:
            dialect: ``athena`` (Trino) or ``duckdb``.

        Raises:
            FilterError: For an IPv6 CIDR with the duckdb dialect.
        """
        return _sql(self.ast, dialect)

    def to_sql(self, table: str, dialect: Dialect = "athena") -> str:
        """``SELECT * FROM table WHERE ...`` for Athena (Trino) or DuckDB.

        Args:
            table: Table name, optionally ``schema.table`` or double-quoted parts.
            dialect: ``athena`` or ``duckdb``.

        Raises:
            ValueError: If the table name is not a plain or quoted identifier.
            FilterError: See :meth:`to_sql_where`.
        """
        if not _TABLE.fullmatch(table):
            raise ValueError(f"not a table name: {table!r}")
        if self.is_empty:
            return f"SELECT * FROM {table}"
        return f"SELECT * FROM {table} WHERE {_sql(self.ast, dialect)}"


_TABLE: Final = re.compile(r'(?:[A-Za-z_]\w*|"[^"]+")(?:\.(?:[A-Za-z_]\w*|"[^"]+"))*')

# Field names Logs Insights discovers itself for flow logs in the default format (AWS's
# "Supported logs and discovered fields": startTime/endTime, not start/end; a filter on a field
# Insights does not know matches nothing, silently). Custom formats are split with ``parse``,
# as that page says to do for fields it does not discover.
_INSIGHTS_DEFAULT: Final[dict[str, str]] = {
    "version": "version",
    "account-id": "accountId",
    "interface-id": "interfaceId",
    "srcaddr": "srcAddr",
    "dstaddr": "dstAddr",
    "srcport": "srcPort",
    "dstport": "dstPort",
    "protocol": "protocol",
    "packets": "packets",
    "bytes": "bytes",
    "start": "startTime",
    "end": "endTime",
    "action": "action",
    "log-status": "logStatus",
}


def _format_names(fmt: Sequence[str] | str) -> tuple[str, ...]:
    names = parse_log_format(fmt) if isinstance(fmt, str) else tuple(fmt)
    return tuple(FIELDS_BY_ATTR[n].name if n in FIELDS_BY_ATTR else n for n in names)


def _labels(names: tuple[str, ...]) -> list[str]:
    """Identifiers for a format's fields (underscored; ``f<i>`` for odd unknown names)."""
    out = []
    for i, n in enumerate(names):
        label = n.replace("-", "_")
        out.append(label if _IDENT.match(label) else f"f{i}")
    return out


def _combine(
    node: Compare,
    cols: list[str],
    match: Callable[[str, str], str],
    present: Callable[[str], str],
    absent: Callable[[str], str],
    negate: Callable[[str], str],
    and_: str,
    or_: str,
) -> str:
    """Shared shape of the text compilers: any column matches / no present column matches."""
    if node.op in ("<", "<=", ">", ">="):
        parts = [f"{c} {node.op} {node.values[0]}" for c in cols]
        return parts[0] if len(parts) == 1 else "(" + or_.join(parts) + ")"
    matches = [match(c, f) for c, f in zip(cols, node.field.fields, strict=True)]
    if node.op == "=":
        return matches[0] if len(matches) == 1 else "(" + or_.join(matches) + ")"
    if len(cols) == 1:
        return f"({present(cols[0])}{and_}{negate(matches[0])})"
    any_present = "(" + or_.join(present(c) for c in cols) + ")"
    each = and_.join(f"({absent(c)}{or_}{negate(m)})" for c, m in zip(cols, matches, strict=True))
    return f"({any_present}{and_}{each})"


def _insights(node: Node, col: dict[str, str]) -> str:
    if isinstance(node, MatchAll):
        return "1 = 1"
    if isinstance(node, Not):
        return f"not ({_insights(node.item, col)})"
    if isinstance(node, And | Or):
        sep = " and " if isinstance(node, And) else " or "
        return "(" + sep.join(_insights(n, col) for n in node.items) + ")"
    for f in node.field.fields:
        if f not in col:
            raise FilterError(f"field {f} is not in this flow log's format", node.column)
    cols = [col[f] for f in node.field.fields]

    def match(c: str, name: str) -> str:
        terms: list[str] = []
        for v in node.values:
            if node.field.kind == "ip":
                terms.append(f'isIpInSubnet({c}, "{v}")')
            elif isinstance(v, tuple):
                lo, hi = v
                terms.append(f"{c} = {lo}" if lo == hi else f"({c} >= {lo} and {c} <= {hi})")
            elif node.field.kind == "flags":
                terms.append(f"{c} in [{', '.join(map(str, _expand_flag(v)))}]")
            elif "*" in v:
                rx = re.escape(v).replace(r"\*", ".*").replace("/", r"\/")
                terms.append(f"{c} like /(?i)^{rx}$/")
            else:
                terms.append(f"{c} = {_insights_value(_canon(name, v))}")
        return terms[0] if len(terms) == 1 else "(" + " or ".join(terms) + ")"

    return _combine(
        node,
        cols,
        match,
        lambda c: f"ispresent({c})",
        lambda c: f"not ispresent({c})",
        lambda m: f"not {m}",
        " and ",
        " or ",
    )


def _sql(node: Node, dialect: Dialect) -> str:
    if isinstance(node, MatchAll):
        return "TRUE"
    if isinstance(node, Not):
        # COALESCE: a comparison on NULL is false locally, so its negation must be true.
        return f"NOT COALESCE({_sql(node.item, dialect)}, FALSE)"
    if isinstance(node, And | Or):
        sep = " AND " if isinstance(node, And) else " OR "
        return "(" + sep.join(_sql(n, dialect) for n in node.items) + ")"
    cols = [_sql_ident(f) for f in node.field.fields]

    def match(c: str, name: str) -> str:
        terms: list[str] = []
        for v in node.values:
            if node.field.kind == "ip":
                if dialect == "athena":
                    terms.append(f"contains({_sql_str(str(v))}, TRY_CAST({c} AS IPADDRESS))")
                elif v.version == 4:
                    lo, hi = int(v.network_address), int(v.broadcast_address)
                    terms.append(f"{_ipv4_int_sql(c)} BETWEEN {lo} AND {hi}")
                else:
                    raise FilterError(
                        "IPv6 CIDRs cannot be expressed in DuckDB SQL without the inet extension",
                        node.column,
                    )
            elif isinstance(v, tuple):
                lo, hi = v
                terms.append(f"{c} = {lo}" if lo == hi else f"{c} BETWEEN {lo} AND {hi}")
            elif node.field.kind == "flags":
                need, forbid = FLAG_TESTS[v]
                if dialect == "athena":
                    t = f"bitwise_and({c}, {need}) = {need}"
                    t += f" AND bitwise_and({c}, {forbid}) = 0" if forbid else ""
                else:
                    t = f"({c} & {need}) = {need}"
                    t += f" AND ({c} & {forbid}) = 0" if forbid else ""
                terms.append(f"({t})")
            elif "*" in v:
                like = v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                terms.append(f"lower({c}) LIKE {_sql_str(like.replace('*', '%'))} ESCAPE '\\'")
            elif name in ENUMS:
                terms.append(f"{c} = {_sql_str(_canon(name, v))}")  # AWS writes enums one way
            else:
                terms.append(f"lower({c}) = {_sql_str(v)}")
        return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"

    return _combine(
        node,
        cols,
        match,
        lambda c: f"{c} IS NOT NULL",
        lambda c: f"{c} IS NULL",
        lambda m: f"NOT COALESCE({m}, FALSE)",
        " AND ",
        " OR ",
    )
