"""The CloudTrail filter, compiled for AWS's own engines: CloudTrail Lake SQL and Logs Insights.

A day of an organization trail does not fit on a bastion; CloudTrail Lake (an event data store,
queried in Trino SQL) and CloudWatch Logs Insights (over a trail delivered to a log group) can
scan it where it lives. The filter the user typed (:mod:`tui.models.trailfilter`) compiles here
to the WHERE clause of a Lake query and to the ``filter`` of an Insights query.

One rule: **a pushed query never loses an event.** Each term compiles either exactly (the engine
selects what :meth:`TrailFilter.matches` selects) or widened (the engine selects a superset, e.g.
``user:`` becomes a substring test over every identity field the names come from); a widened
term that is negated, and free text, are not pushed at all. The caller re-applies the whole
filter to what comes back (:attr:`PushedQuery.exact` says whether that can drop anything).

Lake's columns (the CloudTrail event schema): eventTime, eventName, eventSource, errorCode,
errorMessage, sourceIPAddress, userAgent, awsRegion, readOnly (boolean), recipientAccountId,
userIdentity.{type, arn, principalId, accountId, accessKeyId, userName, invokedBy,
sessionContext.sessionIssuer.userName}, resources (array of rows), requestParameters and
responseElements (maps, cast to JSON to read them). Insights discovers the JSON fields of each
message by the same names, with dots for nesting.

Pure: no UI, no AWS SDK.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from tui.models.trailfilter import Term, TrailFilter

__all__ = ["LAKE_COLUMNS", "PushedQuery", "to_insights", "to_lake_sql"]

_TermFn = Callable[[Term], tuple[str | None, bool]]
_GLOB: Final = frozenset("*?[")
_TRUE_WORDS: Final = frozenset({"true", "yes", "1", "y", "t"})
_SUFFIX: Final = ".amazonaws.com"

# The identity fields whose values the filter's user names are derived from (see
# tui.models.cloudtrail._principal): a name is always a substring of one of them, or of the
# literals that stand for AWS accounts and services.
_LAKE_IDENTITY: Final = (
    "userIdentity.arn",
    "userIdentity.principalId",
    "userIdentity.userName",
    "userIdentity.invokedBy",
    "userIdentity.type",
    "userIdentity.sessionContext.sessionIssuer.userName",
)

LAKE_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("eventID", "eventID"),
    ("eventTime", "eventTime"),
    ("eventName", "eventName"),
    ("eventSource", "eventSource"),
    ("awsRegion", "awsRegion"),
    ("sourceIPAddress", "sourceIPAddress"),
    ("userAgent", "userAgent"),
    ("errorCode", "errorCode"),
    ("errorMessage", "errorMessage"),
    ("readOnly", "readOnly"),
    ("recipientAccountId", "recipientAccountId"),
    ("eventType", "eventType"),
    ("requestID", "requestID"),
    ("userIdentity.type", "identityType"),
    ("userIdentity.arn", "identityArn"),
    ("userIdentity.principalId", "identityPrincipalId"),
    ("userIdentity.accountId", "identityAccountId"),
    ("userIdentity.accessKeyId", "identityAccessKeyId"),
    ("userIdentity.userName", "identityUserName"),
    ("userIdentity.invokedBy", "identityInvokedBy"),
    ("userIdentity.sessionContext.sessionIssuer.userName", "issuerUserName"),
    ("userIdentity.sessionContext.sessionIssuer.arn", "issuerArn"),
    ("json_format(CAST(requestParameters AS JSON))", "requestParameters"),
    ("json_format(CAST(responseElements AS JSON))", "responseElements"),
    ("json_format(CAST(resources AS JSON))", "resources"),
)
"""(expression, alias) selected by a Lake query: what :func:`tui.aws.lake.record_from_row`
rebuilds a CloudTrail record from (Lake has no column with the raw event)."""


@dataclass(frozen=True, slots=True)
class PushedQuery:
    """A compiled query.

    Attributes:
        text: the query (Lake SQL or Insights query language).
        exact: True when the engine selects exactly the filter's events; False when it selects
            more (the caller must re-apply the filter, and always does).
        widened: the terms (as typed) pushed widened or not at all, for the confirm dialog.
    """

    text: str
    exact: bool
    widened: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- Lake SQL


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _like(glob: str) -> tuple[str, bool]:
    """A lower-cased glob as a LIKE pattern (escape ``\\``); False when ``[...]`` was widened."""
    out: list[str] = []
    exact = True
    i = 0
    low = glob.lower()
    while i < len(low):
        char = low[i]
        if char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        elif char == "[" and "]" in low[i + 2 :]:
            out.append("_")  # one character of a class: any character (widened)
            i = low.index("]", i + 2)
            exact = False
        elif char in "%_\\":
            out.append("\\" + char)
        else:
            out.append(char)
        i += 1
    return "".join(out), exact


def _sql_text(column: str) -> str:
    return f"lower(coalesce({column}, ''))"


def _sql_match(expr: str, glob: str) -> tuple[str, bool]:
    """``expr`` (lower-cased text) matches the glob: = without glob characters, LIKE with."""
    if not _GLOB.intersection(glob):
        return f"{expr} = {_sql_str(glob.lower())}", True
    pattern, exact = _like(glob)
    return f"{expr} LIKE {_sql_str(pattern)} ESCAPE '\\'", exact


def _sql_contains(expr: str, glob: str) -> str:
    """``expr`` contains a match of the glob somewhere (a superset of matching a part of it)."""
    pattern, _ = _like(glob)
    return f"{expr} LIKE {_sql_str('%' + pattern + '%')} ESCAPE '\\'"


_SQL_SIMPLE: Final[dict[str, str]] = {
    "name": "eventName",
    "region": "awsRegion",
    "id": "eventID",
    "invokedby": "userIdentity.invokedBy",
    "type": "userIdentity.type",
    "accesskey": "userIdentity.accessKeyId",
    "agent": "userAgent",
}


def _ip_prefix(value: str) -> str | None:
    """The dotted text every IPv4 address of a CIDR starts with (None: not an IPv4 network)."""
    if not value or not value[0].isdigit() or _GLOB.intersection(value):
        return None
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    if net.version != 4:
        return ""  # IPv6: not pushed
    octets = str(net.network_address).split(".")[: net.prefixlen // 8]
    return ".".join(octets) + ("." if len(octets) < 4 else "")


def _lake_term(term: Term) -> tuple[str | None, bool]:
    """(condition, exact) for one term; None means "not pushed" (any event may match)."""
    key, value = term.key, term.value
    if key in _SQL_SIMPLE:
        return _sql_match(_sql_text(_SQL_SIMPLE[key]), value)
    if key == "account":
        column = "coalesce(nullif(recipientAccountId, ''), userIdentity.accountId)"
        return _sql_match(_sql_text(column), value)
    if key == "error":
        low = value.lower()
        failed = "(coalesce(errorCode, '') <> '' OR coalesce(errorMessage, '') <> '')"
        if low in ("any", "*", "yes", "true"):
            return failed, True
        if low in ("none", "no", "false"):
            return f"NOT {failed}", True
        return _sql_match(_sql_text("errorCode"), value)
    if key == "source":
        text = _sql_text("eventSource")
        full, exact = _sql_match(text, value)
        short, _ = _sql_match(text, value + _SUFFIX)
        return f"({full} OR {short})", exact
    if key == "readonly":
        want = "true" if value.lower() in _TRUE_WORDS else "false"
        return f"coalesce(readOnly = {want}, false)", True
    if key == "ip":
        prefix = _ip_prefix(value)
        if prefix == "":
            return None, False
        if prefix is not None:
            return _sql_contains(_sql_text("sourceIPAddress"), prefix), False
        return _sql_contains(_sql_text("sourceIPAddress"), value), False
    if key == "user":
        parts = ", ".join(f"coalesce({c}, '')" for c in _LAKE_IDENTITY)
        concat = f"lower(concat_ws(' ', {parts}, 'account ' || coalesce(userIdentity.accountId, ''), 'aws service'))"
        other = "coalesce(userIdentity.type, '') = 'IdentityCenterUser'"
        return f"({_sql_contains(concat, value)} OR {other})", False
    if key == "resource":
        blobs = ", ".join(
            f"coalesce(json_format(CAST({c} AS JSON)), '')"
            for c in ("resources", "requestParameters", "responseElements", "additionalEventData")
        )
        return _sql_contains(f"lower(concat_ws(' ', {blobs}))", value), False
    return None, False  # free text: the search text has no column


def _compile(
    flt: TrailFilter, term_fn: _TermFn, and_: str, or_: str, not_: str
) -> tuple[str | None, bool, tuple[str, ...]]:
    """The filter's condition (None: every event), whether it is exact, the widened terms."""
    branches: list[str] = []
    everything = False
    exact = True
    widened: list[str] = []
    for branch in flt.branches:
        conds: list[str] = []
        for term in sorted(branch, key=lambda t: t.column):
            cond, term_exact = term_fn(term)
            typed = f"{'-' if term.negated else ''}{term.key}:{term.value}"
            if cond is not None and term.negated and not term_exact:
                cond = None  # NOT of a superset is a subset: would lose events
            if not term_exact:
                exact = False
                widened.append(typed.removeprefix("text:"))
            if cond is None:
                continue
            conds.append(f"{not_}({cond})" if term.negated else cond)
        if not conds:
            everything = True
        elif len(conds) == 1:
            branches.append(conds[0])
        else:
            branches.append("(" + and_.join(conds) + ")")
    if everything or not branches:
        return None, exact, tuple(widened)
    if len(branches) == 1:
        return branches[0], exact, tuple(widened)
    return "(" + or_.join(branches) + ")", exact, tuple(widened)


def _sql_time(when: datetime) -> str:
    return _sql_str(when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))


def to_lake_sql(
    flt: TrailFilter, store_id: str, start: datetime, end: datetime, *, limit: int = 10_000
) -> PushedQuery:
    """The Lake query for ``flt`` over ``[start, end]`` in event data store ``store_id``.

    Args:
        store_id: the ID part of the event data store's ARN (Lake's table name).
        limit: newest rows returned (ORDER BY eventTime DESC).
    """
    if not re.fullmatch(r"[A-Za-z0-9-]+", store_id):
        raise ValueError(f"not an event data store ID: {store_id!r}")
    cond, exact, widened = _compile(flt, _lake_term, " AND ", " OR ", "NOT ")
    where = [f"eventTime >= {_sql_time(start)}", f"eventTime <= {_sql_time(end)}"]
    if cond is not None:
        where.append(cond)
    columns = ", ".join(f"{expr} AS {alias}" for expr, alias in LAKE_COLUMNS)
    text = (
        f"SELECT {columns} FROM {store_id} WHERE {' AND '.join(where)} "
        f"ORDER BY eventTime DESC LIMIT {int(limit)}"
    )
    return PushedQuery(text, exact, widened)


# ----------------------------------------------------------------------------- Logs Insights


def _regex(glob: str, *, anchored: bool) -> tuple[str, bool]:
    """A case-insensitive Insights regex literal for the glob (``[...]`` widened to ``.``)."""
    out: list[str] = []
    exact = True
    i = 0
    while i < len(glob):
        char = glob[i]
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[" and "]" in glob[i + 2 :]:
            out.append(".")
            i = glob.index("]", i + 2)
            exact = False
        else:
            out.append(re.escape(char).replace("/", "\\/"))
        i += 1
    body = "".join(out)
    return (f"/(?i)^{body}$/" if anchored else f"/(?i){body}/"), exact


def _ins_match(field: str, glob: str) -> tuple[str, bool]:
    """``field`` matches the glob; an absent field reads as "" (as the local filter has it)."""
    regex, exact = _regex(glob, anchored=True)
    test = f"{field} =~ {regex}"
    if re.fullmatch(regex[1:-1].replace("\\/", "/"), ""):
        return f"(not ispresent({field}) or {test})", exact
    return f"(ispresent({field}) and {test})", exact


_INS_SIMPLE: Final = _SQL_SIMPLE | {"account": "recipientAccountId"}


def _insights_term(term: Term) -> tuple[str | None, bool]:
    key, value = term.key, term.value
    if key == "account":
        # recipientAccountId, or the caller's account when it is absent: widened to either.
        either = [_ins_match(f, value)[0] for f in ("recipientAccountId", "userIdentity.accountId")]
        return f"({' or '.join(either)})", False
    if key in _INS_SIMPLE:
        return _ins_match(_INS_SIMPLE[key], value)
    if key == "error":
        low = value.lower()
        failed = "(ispresent(errorCode) or ispresent(errorMessage))"
        if low in ("any", "*", "yes", "true"):
            return failed, False  # an empty errorCode is present but no error: widened
        if low in ("none", "no", "false"):
            return None, False
        return _ins_match("errorCode", value)
    if key == "source":
        full, exact = _ins_match("eventSource", value)
        short, _ = _ins_match("eventSource", value + _SUFFIX)
        return f"({full} or {short})", exact
    if key == "ip":
        prefix = _ip_prefix(value)
        if prefix == "":
            return None, False
        regex, _ = _regex(f"*{prefix if prefix is not None else value}*", anchored=False)
        return f"sourceIPAddress like {regex}", False
    if key == "user":
        regex, _ = _regex(f"*{value}*", anchored=False)
        tests = [f"{f} like {regex}" for f in _LAKE_IDENTITY]
        others = ("AWSAccount", "AWSService", "IdentityCenterUser")
        tests += [f'userIdentity.type = "{t}"' for t in others]
        return "(" + " or ".join(tests) + ")", False
    if key == "resource":
        regex, _ = _regex(f"*{value}*", anchored=False)
        return f"@message like {regex}", False
    return None, False  # readonly (JSON booleans) and free text: not pushed


def to_insights(flt: TrailFilter, *, limit: int = 10_000) -> PushedQuery:
    """The Logs Insights query for CloudTrail events in a log group (one JSON event a message)."""
    cond, exact, widened = _compile(flt, _insights_term, " and ", " or ", "not ")
    lines = ["fields @timestamp, @message"]
    if cond is not None:
        lines.append(f"filter {cond}")
    lines += ["sort @timestamp desc", f"limit {int(limit)}"]
    return PushedQuery(" | ".join(lines), exact, widened)
