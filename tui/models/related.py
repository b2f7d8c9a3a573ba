"""Related CloudTrail events: what else happened around the event the user is looking at.

Incident 1 is the reason this module exists: ``StartInstances`` returns no error, yet the instance
stops again, because the KMS calls that EC2 makes *on the caller's behalf* (``CreateGrant``,
``Decrypt``, with ``userIdentity.invokedBy = ec2.amazonaws.com``) are denied seconds later. Those
calls are separate events with their own IDs; nothing in the StartInstances event points to them.
What ties them together is the same caller, a shared resource (instance, volume, key) and a few
seconds of time. :func:`find_related` gathers exactly those links, with the reasons, so that the
detail view can put the denial next to the call that caused it.

This module is pure: no UI, no AWS SDK.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Final, Protocol

from tui.models.cloudtrail import TrailEvent
from tui.models.text import display_safe
from tui.models.timewindow import format_instant

__all__ = [
    "DEFAULT_WINDOW",
    "Reason",
    "RelatedEvent",
    "RelatedEvents",
    "find_related",
    "format_offset",
    "summarize",
]

DEFAULT_WINDOW: Final = timedelta(minutes=5)
"""Default half-width of the time window around the focal event."""

_DEFAULT_LIMIT: Final = 500


class Reason(StrEnum):
    """Why an event is related to the focal one (strongest first)."""

    REQUEST = "same request"
    RESOURCE = "same resource"
    PRINCIPAL = "same principal"


_REASON_ORDER: Final = tuple(Reason)


@dataclass(frozen=True, slots=True)
class RelatedEvent:
    """An event related to the focal event.

    Attributes:
        event: the related event.
        reasons: why, strongest first.
        offset: ``event.event_time - focal.event_time`` (negative = before).
        shared_resources: the resources both events mention (for ``Reason.RESOURCE``).
    """

    event: TrailEvent
    reasons: tuple[Reason, ...]
    offset: timedelta
    shared_resources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RelatedEvents:
    """The related events of one focal event.

    Attributes:
        focal: the event they relate to.
        items: every related event once, ordered by time.
        by_reason: the same events grouped by reason (an event with two reasons is in both groups),
            each group ordered by time; every reason has a (possibly empty) group.
        truncated: True when more events matched than the limit allowed.
    """

    focal: TrailEvent
    items: tuple[RelatedEvent, ...]
    by_reason: dict[Reason, tuple[RelatedEvent, ...]] = field(default_factory=dict)
    truncated: bool = False

    @property
    def errors(self) -> tuple[RelatedEvent, ...]:
        """The related events that failed (the usual reason to look here)."""
        return tuple(item for item in self.items if item.event.is_error)


def _principal_key(event: TrailEvent) -> str:
    # AWS services acting for themselves share one "principal" per service; linking every event
    # of ec2.amazonaws.com would be noise, so service identities only link by request or resource.
    if event.identity_type == "AWSService" or not (event.principal_arn or event.principal):
        return ""
    if not event.identity_type and not event.principal_arn:
        return ""  # only invokedBy known (service-originated events without a type)
    return event.principal_arn or f"{event.identity_type}:{event.principal}"


def _request_keys(event: TrailEvent) -> set[str]:
    keys: set[str] = set()
    if event.request_id:
        keys.add("r:" + event.request_id)
    if event.shared_event_id:
        keys.add("s:" + event.shared_event_id)
    return keys


def _resource_keys(event: TrailEvent) -> dict[str, str]:
    """Lower-cased comparison key -> the resource as written; key IDs also match their ARNs."""
    keys: dict[str, str] = {}
    for resource in event.resources:
        low = resource.lower()
        keys.setdefault(low, resource)
        if low.startswith("arn:") and "/" in low:
            tail = low.rpartition("/")[2]
            # ARNs of keys, instances, volumes...: compare by the trailing ID too, so that a KMS
            # key ID in requestParameters matches the key ARN in resources[] of another event.
            if len(tail) >= 8:
                keys.setdefault(tail, resource)
    return keys


class Candidates(Protocol):
    """Loaded events too many to scan (:class:`tui.models.trailstore.TrailStore`): it hands
    over the events within the window of the focal event and those sharing its request IDs."""

    def around(self, focal: TrailEvent, window: timedelta) -> list[TrailEvent]: ...


def find_related(
    focal: TrailEvent,
    events: Iterable[TrailEvent] | Candidates,
    *,
    window: timedelta = DEFAULT_WINDOW,
    limit: int = _DEFAULT_LIMIT,
) -> RelatedEvents:
    """Find the events related to ``focal``.

    An event is related when it shares the requestID or sharedEventID (at any time), or, within
    ``± window`` of the focal event, when it mentions a resource the focal event mentions, or was
    made by the same principal (including calls a service made on that principal's behalf).

    Args:
        focal: the event under inspection.
        events: the events to search, or a store that picks them (the focal event itself and copies of an event are skipped,
            matched by :attr:`~tui.models.cloudtrail.TrailEvent.key`: another call that reuses
            the focal event's eventID is still related).
        window: half-width of the time window for resource and principal links.
        limit: the most related events returned (the nearest in time are kept).

    Returns:
        The related events with reasons and time offsets.
    """
    if not isinstance(events, Iterable):
        events = events.around(focal, window)
    focal_time = focal.event_time
    focal_requests = _request_keys(focal)
    focal_resources = _resource_keys(focal)
    focal_principal = _principal_key(focal)
    found: list[RelatedEvent] = []
    seen: set[str] = {focal.key}

    for event in events:
        if event.key in seen:
            continue
        offset = event.event_time - focal_time
        in_window = -window <= offset <= window
        if not in_window and not focal_requests:
            continue
        reasons: list[Reason] = []
        shared: tuple[str, ...] = ()
        if focal_requests and not focal_requests.isdisjoint(_request_keys(event)):
            reasons.append(Reason.REQUEST)
        if in_window:
            if focal_resources and event.resources:
                other = _resource_keys(event)
                shared = tuple(
                    dict.fromkeys(focal_resources[k] for k in focal_resources.keys() & other.keys())
                )
                if shared:
                    reasons.append(Reason.RESOURCE)
            if focal_principal and _principal_key(event) == focal_principal:
                reasons.append(Reason.PRINCIPAL)
        if reasons:
            seen.add(event.key)
            found.append(RelatedEvent(event, tuple(reasons), offset, tuple(sorted(shared))))

    truncated = len(found) > limit
    if truncated:
        found.sort(key=lambda item: (Reason.REQUEST not in item.reasons, abs(item.offset)))
        found = found[:limit]
    found.sort(key=lambda item: (item.event.event_time, item.event.key))
    by_reason = {
        reason: tuple(item for item in found if reason in item.reasons) for reason in _REASON_ORDER
    }
    return RelatedEvents(focal, tuple(found), by_reason, truncated)


def format_offset(offset: timedelta) -> str:
    """Render a time offset compactly: ``+12s``, ``-3m05s``, ``+1h02m``, ``±0s``."""
    total = round(offset.total_seconds())
    if total == 0:
        return "±0s"
    sign = "+" if total > 0 else "-"
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h{minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m{seconds:02d}s"
    return f"{sign}{seconds}s"


def summarize(event: TrailEvent, *, utc: bool = True) -> list[tuple[str, str]]:
    """Who / what / where from / result lines for the detail view.

    Every value is display-safe (control, bidi and zero-width characters escaped); wrap it in
    plain text, never markup.

    Args:
        event: the event to describe.
        utc: the time in UTC, else in the local zone (with UTC beside it).

    Returns:
        ``(label, value)`` pairs in display order.
    """
    who = event.principal or "unknown principal"
    if event.identity_type and event.identity_type not in who:
        who = f"{who} ({event.identity_type})"
    if event.invoked_by and event.invoked_by != event.principal:
        who = f"{who} via {event.invoked_by}"
    what = event.event_name or "unknown call"
    if event.event_source:
        what = f"{what} on {event.event_source}"
    if event.aws_region:
        what = f"{what} in {event.aws_region}"
    where = event.source_ip or "unknown address"
    if event.user_agent and event.user_agent != event.source_ip:
        where = f"{where} using {event.user_agent}"
    if event.is_error:
        result = event.error_code or "error"
        if event.error_message:
            result = f"{result}: {event.error_message}"
        result = f"FAILED {result}"
    else:
        result = "OK"
    lines = [
        ("When", format_instant(event.event_time, utc=utc)),
        ("Who", who),
        ("What", what),
        ("From", where),
        ("Result", result),
    ]
    if event.resources:
        shown = ", ".join(event.resources[:8])
        if len(event.resources) > 8:
            shown += f" (+{len(event.resources) - 8} more)"
        lines.append(("Resources", shown))
    if event.partial:
        lines.append(("Note", f"partial event (LookupEvents fields only): {event.partial_reason}"))
    return [(label, display_safe(value)) for label, value in lines]
