"""The CloudTrail filter language: what a user types in the filter bar, compiled once per keystroke.

A filter is a list of terms, all of which must match (implicit AND); ``or`` between groups of terms
gives alternatives (it binds loosest; there are no parentheses). A term is either ``key:value``
(``error:AccessDenied*``, ``user:alice``, ``ip:10.0.0.0/8``), free text (substring over the event's
search text), or either of those quoted (``"access denied"``, ``user:"Jane Doe"``), and any term may
be negated with a leading ``-`` (``-source:sts``). Values are case-insensitive globs (``*``, ``?``,
``[...]``); see :data:`FIELD_HELP` for the keys.

Design constraints:

* **All or nothing.** A malformed filter raises :class:`FilterError` with the 0-based column of the
  offending token, so the UI can point at it; nothing is applied halfway.
* **Fast on every keystroke.** 100k events must re-filter in well under 100 ms. Each term compiles
  to a closure; terms on low-cardinality fields (event name, error code, source, region...)
  memoise their answer per distinct field value, so the glob or CIDR is evaluated once per value,
  not once per event; and cheap terms run before expensive ones.
* **Push-down never loses an event.** :meth:`TrailFilter.lookup_attribute` picks the single most
  selective term that LookupEvents evaluates exactly as the local filter does (the API accepts one
  attribute, matched exactly and case-sensitively); the whole filter is still applied locally to
  what comes back. ``user:`` (case-insensitive, session *or* role name) and ``resource:`` (prefixes,
  IDs found anywhere in the request) match more than the API's Username and ResourceName would,
  so they are never pushed: pushing them made lookup mode miss events S3 and files showed.

This module is pure: no UI, no AWS SDK.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Final

from tui.models.cloudtrail import TrailEvent

__all__ = [
    "FIELD_HELP",
    "FIELD_NAMES",
    "FOLDER_KEYS",
    "FilterError",
    "FolderScope",
    "Term",
    "TrailFilter",
    "compile_filter",
    "complete",
]

Predicate = Callable[[TrailEvent], bool]


class FilterError(ValueError):
    """A filter that cannot be compiled.

    Attributes:
        message: what is wrong, for the user.
        column: 0-based column of the offending token in the filter text.
    """

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} (column {column + 1})")
        self.message = message
        self.column = column


FIELD_HELP: Final[dict[str, str]] = {
    "error": "error code glob; error:any (or *) any error, error:none no error",
    "user": "principal, user or session name, or ARN (glob)",
    "name": "event name (glob)",
    "source": "event source, short (kms) or full (kms.amazonaws.com)",
    "ip": "source IP: CIDR, exact address, or glob (ec2.amazonaws.com)",
    "resource": "resource ID or ARN (prefix or glob; key IDs match key ARNs)",
    "readonly": "true or false",
    "region": "AWS region (glob)",
    "id": "event ID",
    "invokedby": "userIdentity.invokedBy, e.g. ec2.amazonaws.com (glob)",
    "type": "identity type: IAMUser, AssumedRole, AWSService, Root, ... (glob)",
    "account": "recipient or caller account ID (glob)",
    "accesskey": "access key ID (glob)",
    "agent": "user agent (glob; use *text* for a substring)",
}
"""Filter keys with a one-line description (for help and completion)."""

FIELD_NAMES: Final[tuple[str, ...]] = tuple(FIELD_HELP)
"""Canonical filter keys, in help order."""

_ALIASES: Final[dict[str, str]] = {
    "err": "error",
    "errorcode": "error",
    "principal": "user",
    "username": "user",
    "event": "name",
    "eventname": "name",
    "src": "source",
    "eventsource": "source",
    "sourceip": "ip",
    "res": "resource",
    "resourcename": "resource",
    "ro": "readonly",
    "eventid": "id",
    "identitytype": "type",
    "useragent": "agent",
    "accesskeyid": "accesskey",
}

# Lookup attribute preference, most selective first.
_PUSH_ORDER: Final[tuple[str, ...]] = (
    "EventId",
    "AccessKeyId",
    "EventName",
    "EventSource",
    "ReadOnly",
)

_GLOB_CHARS: Final = frozenset("*?[")
_MEMO_LIMIT: Final = 1 << 16
_TRUE: Final = frozenset({"true", "yes", "1", "y", "t"})
_FALSE: Final = frozenset({"false", "no", "0", "n", "f"})
_EVENT_NAME_RE: Final = re.compile(r"[A-Z][A-Za-z0-9]+")
_ACCESS_KEY_RE: Final = re.compile(r"[A-Z0-9]+")


@dataclass(frozen=True, slots=True)
class Term:
    """One compiled term.

    Attributes:
        key: canonical key, or ``"text"`` for free text.
        value: the value as typed (unquoted).
        negated: True for ``-key:value``.
        column: 0-based column where the term starts.
        cost: relative cost used to order evaluation (cheap first).
    """

    key: str
    value: str
    negated: bool
    column: int
    cost: int
    predicate: Predicate = field(repr=False, compare=False)


class _Memo(dict[Any, bool]):
    """Per-term cache of the answer for one field value (bounded)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Any], bool]) -> None:
        super().__init__()
        self.fn = fn

    def __missing__(self, key: Any) -> bool:
        result = self.fn(key)
        if len(self) >= _MEMO_LIMIT:
            self.clear()
        self[key] = result
        return result


def _string_matcher(pattern: str) -> Callable[[str], bool]:
    """Case-insensitive matcher for a glob (or an exact value when there is no glob character)."""
    low = pattern.lower()
    if not _GLOB_CHARS.intersection(low):
        return lambda s: s.lower() == low
    body = low.strip("*")
    if body and not _GLOB_CHARS.intersection(body):
        starts, ends = low.startswith("*"), low.endswith("*")
        if starts and ends:
            return lambda s: body in s.lower()
        if ends:
            return lambda s: s.lower().startswith(body)
        if starts:
            return lambda s: s.lower().endswith(body)
    regex = re.compile(fnmatch.translate(low), re.IGNORECASE | re.DOTALL)
    return lambda s: regex.match(s) is not None


def _memo_on(attr: str, fn: Callable[[Any], bool], negated: bool) -> Predicate:
    memo = _Memo((lambda v: not fn(v)) if negated else fn)
    get = attrgetter(attr)
    return lambda ev: memo[get(ev)]


def _negate(pred: Predicate, negated: bool) -> Predicate:
    return (lambda ev: not pred(ev)) if negated else pred


class _Compiler:
    """Turns one ``key:value`` into a :class:`Term`; raises FilterError with the value's column."""

    def __init__(self, key: str, value: str, negated: bool, column: int, value_column: int):
        self.key = key
        self.value = value
        self.negated = negated
        self.column = column
        self.value_column = value_column

    def term(self, pred: Predicate, cost: int) -> Term:
        return Term(self.key, self.value, self.negated, self.column, cost, pred)

    def field(self, attr: str, cost: int = 1) -> Term:
        match = _string_matcher(self.value)
        return self.term(_memo_on(attr, match, self.negated), cost)

    def compile(self) -> Term:
        key, _value, _negated = self.key, self.value, self.negated
        handler = getattr(self, f"_k_{key}", None)
        if handler is not None:
            result: Term = handler()
            return result
        simple = {
            "name": "event_name",
            "region": "aws_region",
            "id": "event_id",
            "invokedby": "invoked_by",
            "type": "identity_type",
            "account": "account_id",
            "accesskey": "access_key_id",
            "agent": "user_agent",
        }
        if key in simple:
            return self.field(simple[key], cost=2 if key in ("agent", "id") else 1)
        raise FilterError(f"unknown field {key!r}", self.column)  # pragma: no cover - guarded

    def _k_error(self) -> Term:
        low = self.value.lower()
        # A failed call may carry only an errorMessage (a failed ConsoleLogin has no errorCode):
        # "any" and "none" ask whether the call failed, not whether it has a code.
        if low in ("any", "*", "yes", "true"):
            return self.term(_negate(attrgetter("is_error"), self.negated), 0)
        if low in ("none", "no", "false"):
            return self.term(_negate(attrgetter("is_error"), not self.negated), 0)
        return self.term(_memo_on("error_code", _string_matcher(self.value), self.negated), 0)

    def _k_user(self) -> Term:
        match = _string_matcher(self.value)
        return self.term(
            _memo_on("user_names", lambda ns: any(match(n) for n in ns), self.negated), 2
        )

    def _k_source(self) -> Term:
        match = _string_matcher(self.value)
        return self.term(
            _memo_on("event_source", lambda s: match(s) or match(_short(s)), self.negated), 1
        )

    def _k_readonly(self) -> Term:
        low = self.value.lower()
        if low in _TRUE:
            want = True
        elif low in _FALSE:
            want = False
        else:
            raise FilterError("readonly: expects true or false", self.value_column)
        if self.negated:
            return self.term(lambda ev: ev.read_only is not want, 0)
        return self.term(lambda ev: ev.read_only is want, 0)

    def _k_ip(self) -> Term:
        value = self.value
        network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
        if value and (value[0].isdigit() or ":" in value) and not _GLOB_CHARS.intersection(value):
            try:
                network = ipaddress.ip_network(value, strict=False)
            except ValueError:
                if "/" in value or value.replace(".", "").isdigit():
                    # Short: it sits in the filter bar's one-line border, 70 columns at 80x24
                    # (Python's own text cut off there: "…does not appear to be an IPv…").
                    raise FilterError(
                        f"not an IP address or CIDR: {value!r}", self.value_column
                    ) from None
        if network is None:
            match = _string_matcher(value)
            # A forwarded chain ("81.2.69.142, 192.168.10.10") matches when any address does.
            return self.term(
                _memo_on(
                    "source_ip",
                    lambda s: (
                        match(s) or ("," in s and any(match(p.strip()) for p in s.split(",")))
                    ),
                    self.negated,
                ),
                1,
            )
        base = int(network.network_address)
        mask = int(network.netmask)
        version = network.version

        def in_net(ev: TrailEvent) -> bool:
            if ev.ip_chain:
                return any(v == version and (ip & mask) == base for ip, v in ev.ip_chain)
            return ev.ip_version == version and (ev.ip_value & mask) == base

        return self.term(_negate(in_net, self.negated), 1)

    def _k_resource(self) -> Term:
        low = self.value.lower()
        if _GLOB_CHARS.intersection(low):
            match = _string_matcher(low)
            fn: Callable[[Any], bool] = lambda rs: any(  # noqa: E731
                match(r) or match(_tail(r)) for r in rs
            )
        else:

            def fn(rs: Any) -> bool:
                for r in rs:
                    r = r.lower()
                    if r.startswith(low) or _tail(r).startswith(low):
                        return True
                return False

        return self.term(_memo_on("resources", fn, self.negated), 3)


def _short(source: str) -> str:
    return source[: -len(".amazonaws.com")] if source.endswith(".amazonaws.com") else source


def _tail(resource: str) -> str:
    """Last segment of an ARN (``...:key/abcd`` -> ``abcd``), or the value itself."""
    cut = max(resource.rfind("/"), resource.rfind(":"))
    return resource[cut + 1 :] if cut >= 0 else resource


def _text_term(value: str, negated: bool, column: int) -> Term:
    needle = value.lower()
    if negated:
        return Term("text", value, True, column, 5, lambda ev: needle not in ev.search_text)
    return Term("text", value, False, column, 5, lambda ev: needle in ev.search_text)


# --------------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True, slots=True)
class _Token:
    column: int
    negated: bool
    key: str | None  # None for free text / the "or" keyword
    key_text: str  # the key exactly as typed
    value: str
    value_column: int
    quoted: bool


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read a quoted string starting at ``text[start]`` (a quote); return (value, end index)."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
            continue
        if char == quote:
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise FilterError("unterminated quote", start)


def _read_bare(text: str, start: int) -> int:
    i = start
    while i < len(text) and not text[i].isspace():
        if text[i] in "\"'":
            raise FilterError("quote inside a word; quote the whole value", i)
        i += 1
    return i


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        negated = False
        if text[i] == "-":
            negated = True
            i += 1
            if i >= n or text[i].isspace():
                raise FilterError("'-' must be followed by a term", start)
        if text[i] in "\"'":
            value, i = _read_quoted(text, i)
            if not value.strip():
                raise FilterError("empty quoted text", start)
            tokens.append(_Token(start, negated, None, "", value, start, True))
            continue
        # key:value or bare word
        word_end = i
        while word_end < n and not text[word_end].isspace() and text[word_end] not in ":\"'":
            word_end += 1
        if word_end < n and text[word_end] == ":":
            key_text = text[i:word_end]
            if not key_text:
                raise FilterError("missing field name before ':'", start)
            value_start = word_end + 1
            if value_start >= n or text[value_start].isspace():
                raise FilterError(f"missing value after '{key_text}:'", start)
            if text[value_start] in "\"'":
                value, i = _read_quoted(text, value_start)
                quoted = True
                if i < n and not text[i].isspace():
                    raise FilterError("text right after a closing quote", i)
            else:
                i = _read_bare(text, value_start)
                value = text[value_start:i]
                quoted = False
            if not value:
                raise FilterError(f"empty value for '{key_text}:'", value_start)
            tokens.append(
                _Token(start, negated, key_text.lower(), key_text, value, value_start, quoted)
            )
            continue
        i = _read_bare(text, i)
        word = text[start + (1 if negated else 0) : i]
        tokens.append(_Token(start, negated, None, "", word, start, False))
    return tokens


# ------------------------------------------------------------------------------------ filter


_PUSH_KEYS: Final[dict[str, str]] = {
    "id": "EventId",
    "accesskey": "AccessKeyId",
    "name": "EventName",
    "source": "EventSource",
    "readonly": "ReadOnly",
}


def _push_value(term: Term) -> tuple[str, str] | None:
    """The LookupEvents attribute for ``term``, when the API selects exactly what it matches.

    The API compares case-sensitively; a value is pushed only in the one spelling CloudTrail
    writes (event IDs lower-case, access keys upper-case, event names PascalCase), where an exact
    match and the local case-insensitive match select the same events.
    """
    attribute = _PUSH_KEYS.get(term.key)
    if attribute is None or term.negated or _GLOB_CHARS.intersection(term.value):
        return None
    value = term.value
    if attribute == "ReadOnly":
        return attribute, "true" if value.lower() in _TRUE else "false"
    if attribute == "EventSource":
        # Sources are lower-case host names; a short name is expanded.
        low = value.lower()
        return attribute, low if "." in low else f"{low}.amazonaws.com"
    if attribute == "EventName" and _EVENT_NAME_RE.fullmatch(value) is None:
        return None  # the API is case-sensitive; lower-case input would miss PascalCase names
    if attribute == "EventId" and value != value.lower():
        return None
    if attribute == "AccessKeyId" and _ACCESS_KEY_RE.fullmatch(value) is None:
        return None
    return attribute, value


FOLDER_KEYS: Final = frozenset({"account", "region"})
"""Filter keys that name a folder of the S3 trail layout (see :meth:`TrailFilter.folder_scope`)."""


@dataclass(frozen=True, slots=True)
class FolderScope:
    """The account or region folders a filter can match.

    Attributes:
        exact: every name that can match (lower case), when all are spelled out; None for globs.
        match: True for a folder name that can hold a match.
    """

    exact: frozenset[str] | None
    match: Callable[[str], bool] = field(compare=False)


@dataclass(frozen=True, slots=True)
class TrailFilter:
    """A compiled filter.

    Attributes:
        text: the filter as typed.
        branches: alternatives (``or``); each is a tuple of terms that must all match, ordered
            cheapest first. An empty filter has one empty branch and matches everything.
    """

    text: str
    branches: tuple[tuple[Term, ...], ...]
    _preds: tuple[tuple[Predicate, ...], ...] = field(repr=False, compare=False, default=())

    @property
    def is_empty(self) -> bool:
        """True when the filter has no terms (matches everything)."""
        return all(not branch for branch in self.branches)

    @property
    def terms(self) -> tuple[Term, ...]:
        """All terms of all branches, in column order."""
        return tuple(sorted((t for b in self.branches for t in b), key=lambda t: t.column))

    def matches(self, event: TrailEvent) -> bool:
        """True when ``event`` satisfies the filter."""
        for preds in self._preds:
            for pred in preds:
                if not pred(event):
                    break
            else:
                return True
        return False

    def apply(self, events: Iterable[TrailEvent]) -> list[TrailEvent]:
        """Return the matching events, in their original order (faster than calling matches)."""
        if len(self._preds) == 1:
            preds = self._preds[0]
            if not preds:
                return list(events)
            # Term at a time: each list comprehension runs at C speed over a shrinking list.
            selected = [ev for ev in events if preds[0](ev)]
            for pred in preds[1:]:
                if not selected:
                    break
                selected = [ev for ev in selected if pred(ev)]
            return selected
        return [ev for ev in events if self.matches(ev)]

    def folder_terms(self) -> TrailFilter:
        """The filter's ``account:`` and ``region:`` terms alone: a weaker filter (it keeps
        every event the whole filter keeps) that says which S3 folders can hold a match.

        A branch without such a term matches everything, and so does the result then.
        """
        kept = tuple(tuple(t for t in b if t.key in FOLDER_KEYS) for b in self.branches)
        if any(not b for b in kept):
            kept = ((),)
        preds = tuple(tuple(t.predicate for t in b) for b in kept)
        text = " or ".join(" ".join(_term_text(t) for t in b) for b in kept)
        return TrailFilter(text=text, branches=kept, _preds=preds)

    def folder_scope(self, key: str) -> FolderScope | None:
        """Which folder names (``key`` is ``account`` or ``region``) can hold a match, or None
        when any can (a branch with no ``key:`` term).

        CloudTrail files sit in ``AWSLogs/[o-…/]ACCOUNT/CloudTrail/REGION/``, and every event
        in them has that recipient account and that region: a folder no branch can match is
        not listed. ``exact`` spells out every name when no matching term is a glob, so the
        folders can be built without listing their parent.
        """
        matchers: list[Callable[[str], bool]] = []
        exact: set[str] | None = set()
        for branch in self.branches:
            terms = [t for t in branch if t.key == key]
            if not terms:
                return None
            pos = [_string_matcher(t.value) for t in terms if not t.negated]
            neg = [_string_matcher(t.value) for t in terms if t.negated]

            def match(v: str, pos: list[Any] = pos, neg: list[Any] = neg) -> bool:
                return all(m(v) for m in pos) and not any(m(v) for m in neg)

            matchers.append(match)
            spelled = [t.value.lower() for t in terms if not t.negated]
            spelled = [v for v in spelled if not _GLOB_CHARS.intersection(v)]
            if exact is not None and spelled:
                exact.update(v for v in spelled[:1] if match(v))
            else:
                exact = None
        return FolderScope(
            frozenset(exact) if exact is not None else None,
            lambda v: any(m(v) for m in matchers),
        )

    def lookup_attribute(self) -> tuple[str, str] | None:
        """The single best LookupEvents attribute to push down, or None.

        Only a non-negated term that the API matches exactly as the local filter does, present in
        every ``or`` branch, can be pushed; among those the most selective wins (EventId >
        AccessKeyId > EventName > EventSource > ReadOnly). ``user:`` and ``resource:`` are never
        pushed (see the module docstring). The full filter must still be applied to the results.

        Returns:
            ``(AttributeKey, AttributeValue)`` for ``LookupAttributes``, or None.
        """
        if not self.branches or self.is_empty:
            return None
        common: set[tuple[str, str]] | None = None
        for branch in self.branches:
            pushable = {pv for t in branch if (pv := _push_value(t)) is not None}
            common = pushable if common is None else common & pushable
        if not common:
            return None
        return min(common, key=lambda kv: (_PUSH_ORDER.index(kv[0]), kv[1]))


def _term_text(term: Term) -> str:
    value = term.value
    if not value or any(c.isspace() or c in "\"'" for c in value):
        value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{'-' if term.negated else ''}{term.key}:{value}"


def _canonical_key(token: _Token) -> str:
    assert token.key is not None
    key = _ALIASES.get(token.key, token.key)
    if key not in FIELD_HELP:
        hint = ", ".join(FIELD_NAMES)
        raise FilterError(
            f"unknown field {token.key_text!r} (known: {hint}); quote text to search for it",
            token.column,
        )
    return key


def compile_filter(text: str) -> TrailFilter:
    """Compile filter text into a :class:`TrailFilter`.

    Args:
        text: e.g. ``error:AccessDenied* -source:sts user:"Jane Doe" ip:10.0.0.0/8``.

    Returns:
        The compiled filter (an empty text gives a filter that matches everything).

    Raises:
        FilterError: unknown key, missing value, unterminated quote, bad CIDR, misplaced ``or``...;
            ``column`` is the 0-based position of the offending token.
    """
    tokens = _tokenize(text)
    branches: list[list[Term]] = [[]]
    last_or: _Token | None = None
    for token in tokens:
        if token.key is None and not token.quoted and token.value.lower() == "or":
            if token.negated:
                raise FilterError("'or' cannot be negated", token.column)
            if not branches[-1]:
                raise FilterError("'or' needs a term on each side", token.column)
            branches.append([])
            last_or = token
            continue
        if token.key is None:
            branches[-1].append(_text_term(token.value, token.negated, token.column))
            continue
        key = _canonical_key(token)
        compiler = _Compiler(key, token.value, token.negated, token.column, token.value_column)
        branches[-1].append(compiler.compile())
    if len(branches) > 1 and not branches[-1]:
        assert last_or is not None
        raise FilterError("'or' needs a term on each side", last_or.column)
    ordered = tuple(tuple(sorted(b, key=lambda t: (t.cost, t.column))) for b in branches)
    preds = tuple(tuple(t.predicate for t in b) for b in ordered)
    return TrailFilter(text=text, branches=ordered, _preds=preds)


def complete(prefix: str) -> list[str]:
    """Completions for the word being typed.

    Args:
        prefix: the current word, e.g. ``"er"``, ``"-so"`` or ``"readonly:t"``.

    Returns:
        Matching ``key:`` names (or values for keys with a fixed set), keeping a leading ``-``.
    """
    sign = "-" if prefix.startswith("-") else ""
    word = prefix[len(sign) :].lower()
    if ":" in word:
        key, _, partial = word.partition(":")
        key = _ALIASES.get(key, key)
        choices: Sequence[str] = ()
        if key == "readonly":
            choices = ("true", "false")
        elif key == "error":
            choices = (
                "any",
                "none",
                "AccessDenied*",
                "ThrottlingException",
                "*UnauthorizedOperation",
            )
        return [
            f"{sign}{word.partition(':')[0]}:{c}" for c in choices if c.lower().startswith(partial)
        ]
    return [f"{sign}{name}:" for name in FIELD_NAMES if name.startswith(word)]
