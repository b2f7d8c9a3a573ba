"""The flow pane's tables as pure functions: a record to its cells, conversations to pair rows.

Kept apart from the pane (k9s's ``internal/render``) so that what a row says is tested table by
table without an app, and so the pane module holds only the widget's behaviour.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tui.models import units
from tui.models.flowlog import FlowRecord, OneSidedConversation, one_sided_conversations
from tui.models.text import display_safe
from widgets.record_table import Column


def _start(record: FlowRecord) -> int:
    return record.start or 0


AGG_TITLES: dict[str, str] = {
    "top-talkers": "Top talkers",
    "rejects-by-az": "REJECTs by AZ",
    "rejects-by-eni": "REJECTs by ENI",
    "rejects-by-port": "REJECTs by port",
    "rejects-by-direction": "REJECTs by direction",
    "by-action": "By action",
}
PAIR_HINT = "stateless rule on the return path?"

# --- pure row formatting -------------------------------------------------------------------------


def short_az(az: str | None) -> str:
    """``use1-az1`` -> ``az1``; ``us-east-1a`` -> ``1a``; None -> ``?``."""
    if not az:
        return "?"
    return az.rsplit("-", 1)[-1]


def short_eni(eni: str | None, az: str | None = None) -> str:
    """``eni-0a1b2c3d4e5f`` in AZ ``use1-az1`` -> ``eni-0a1b…/az1`` (13 cells)."""
    if not eni:
        return "-"
    text = display_safe(eni)
    head = text[:8] + "…" if len(text) > 9 else text
    return f"{head}/{short_az(az)}" if az else head


def endpoint(addr: str | None, port: int | None) -> str:
    """``10.0.0.1:443``; IPv6 addresses in brackets; ``-`` when absent."""
    if not addr:
        return "-"
    host = display_safe(addr)
    if ":" in host:
        host = f"[{host}]"
    return host if port is None else f"{host}:{port}"


def action_cell(record: FlowRecord) -> str:
    """The action with a symbol, so that a REJECT reads as one without colour."""
    if record.log_status in ("NODATA", "SKIPDATA"):
        return "⚠SKIPDATA" if record.log_status == "SKIPDATA" else "·NODATA"
    action = (record.action or "-").upper()
    if action == "REJECT":
        return "✗ REJECT"
    if action == "ACCEPT":
        return "✓ ACCEPT"
    return display_safe(action)


def time_cell(
    epoch: int | None, *, seconds: bool = True, utc: bool = True, with_date: bool = False
) -> str:
    """A record's start as ``HH:MM:SS`` in UTC, or in the local zone (``TZ``); with the date
    (``2015-12-01 09:30``) when the window spans more than a day."""
    if epoch is None:
        return "-"
    stamp = datetime.fromtimestamp(epoch, UTC)
    if not utc:
        stamp = stamp.astimezone()
    if with_date:
        return stamp.strftime("%Y-%m-%d %H:%M")
    return stamp.strftime("%H:%M:%S" if seconds else "%H:%M")


def nearest_record(records: Sequence[FlowRecord], when: datetime) -> int | None:
    """Index in ``records`` (oldest first, by start) of the record starting closest to ``when``."""
    if not records:
        return None
    target = when.timestamp()
    i = bisect.bisect_left(records, target, key=_start)
    candidates = [j for j in (i - 1, i) if 0 <= j < len(records)]
    return min(candidates, key=lambda j: abs(_start(records[j]) - target))


def row_style(record: FlowRecord) -> str | None:
    """RecordTable style key of a record."""
    if record.log_status == "SKIPDATA":
        return "warn"
    if record.log_status == "NODATA":
        return "dim"
    if (record.action or "").upper() == "REJECT":
        return "error"
    return None


@dataclass(frozen=True)
class ColumnSpec:
    column: Column
    min_width: int  # table width from which the column is shown


_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(Column("time", "Time", width=5), 0),
    ColumnSpec(Column("timefull", "Time", width=8), 100),
    ColumnSpec(Column("eni", "ENI/AZ", width=13), 0),
    ColumnSpec(Column("src", "Source", min_width=12, max_width=24, flex=True), 0),
    ColumnSpec(Column("dst", "→ Destination", min_width=12, max_width=26, flex=True), 0),
    ColumnSpec(Column("proto", "Prot", width=4), 0),
    ColumnSpec(Column("flags", "TCP flags", width=11), 100),
    ColumnSpec(Column("packets", "Pkts", width=5, align="right"), 100),
    ColumnSpec(Column("bytes", "Bytes", width=6, align="right"), 90),
    ColumnSpec(Column("dir", "Dir", width=3), 112),
    ColumnSpec(Column("action", "Action", width=9), 0),
)


def columns_for(width: int, *, with_date: bool = False) -> tuple[Column, ...]:
    """The columns that fit a table ``width`` cells wide (the short time below 100; the date
    and time when the window spans more than a day)."""
    chosen = [spec.column for spec in _COLUMNS if width >= spec.min_width]
    if with_date:
        chosen = [c for c in chosen if c.key != "timefull"]
        return tuple(Column("time", "Time", width=16) if c.key == "time" else c for c in chosen)
    if width >= 100:
        chosen = [c for c in chosen if c.key != "time"]
    return tuple(chosen)


def cell(
    record: FlowRecord,
    key: str,
    eni_az: dict[str, str],
    *,
    utc: bool = True,
    with_date: bool = False,
) -> str:
    """One display-safe cell of a record."""
    if key == "time":
        return time_cell(record.start, seconds=False, utc=utc, with_date=with_date)
    if key == "timefull":
        return time_cell(record.start, utc=utc)
    if key == "eni":
        eni = record.interface_id
        return short_eni(eni, record.az_id or (eni_az.get(eni) if eni else None))
    if key == "src":
        return endpoint(record.src, record.srcport)
    if key == "dst":
        return "→ " + endpoint(record.dst, record.dstport)
    if key == "proto":
        return display_safe(record.protocol_name)
    if key == "flags":
        return ",".join(record.flags) or "-"
    if key == "packets":
        return "-" if record.packets is None else str(record.packets)
    if key == "bytes":
        return units.human_bytes(record.bytes, compact=True)
    if key == "dir":
        direction = record.flow_direction
        return {"ingress": "in", "egress": "out"}.get(direction or "", display_safe(direction))
    if key == "action":
        return action_cell(record)
    return ""


class FlowRows:
    """A RecordTable store over records kept oldest first, shown newest first."""

    def __init__(
        self,
        records: Sequence[FlowRecord],
        keys: Sequence[str],
        eni_az: dict[str, str],
        *,
        utc: bool = True,
        marked: int | None = None,
        with_date: bool = False,
    ) -> None:
        self.records = records
        self.keys = tuple(keys)
        self.eni_az = eni_az
        self.utc = utc
        self.with_date = with_date
        self.marked = marked
        """``id()`` of the record marked for the shared time cursor, or None."""

    def __len__(self) -> int:
        return len(self.records)

    def record(self, index: int) -> FlowRecord:
        return self.records[len(self.records) - 1 - index]

    def __getitem__(self, index: int, /) -> Sequence[str]:
        record = self.record(index)
        return [
            cell(record, key, self.eni_az, utc=self.utc, with_date=self.with_date)
            for key in self.keys
        ]

    def key(self, index: int) -> Hashable:
        return id(self.record(index))

    def style(self, index: int) -> str | None:
        record = self.record(index)
        if self.marked is not None and id(record) == self.marked:
            return "mark"
        return row_style(record)


# --- pairs ---------------------------------------------------------------------------------------


@dataclass
class PairGroup:
    """One-sided conversations with the same endpoints and interfaces (ephemeral ports aside)."""

    sample: OneSidedConversation
    count: int = 0
    rejected_record: FlowRecord | None = None
    accepted_record: FlowRecord | None = None

    @property
    def label(self) -> str:
        fwd = self.sample.forward
        return f"{endpoint(fwd.src, None)} → {endpoint(fwd.dst, fwd.dstport)}"


def group_pairs(records: Sequence[FlowRecord], eni_az: dict[str, str]) -> list[PairGroup]:
    """Group the one-sided conversations of ``records`` (pure; may run in a thread)."""
    conversations = [c.oriented() for c in one_sided_conversations(records, eni_az)]
    groups: dict[tuple[Any, ...], PairGroup] = {}
    wanted: dict[tuple[Any, ...], tuple[PairGroup, str]] = {}
    for conv in conversations:
        fwd, rev = conv.forward, conv.reverse
        key = (conv.protocol, fwd.src, fwd.dst, fwd.dstport, fwd.interfaces, rev.interfaces)
        group = groups.get(key)
        if group is None:
            group = groups[key] = PairGroup(conv)
            bad, good = (rev, fwd) if conv.rejected == "reverse" else (fwd, rev)
            wanted[(bad.src, bad.srcport, bad.dst, bad.dstport, "REJECT")] = (group, "rejected")
            wanted[(good.src, good.srcport, good.dst, good.dstport, "ACCEPT")] = (group, "accepted")
        group.count += 1
    for record in records:
        hit = wanted.get(
            (record.src, record.srcport, record.dst, record.dstport, (record.action or "").upper())
        )
        if hit is not None:
            group, which = hit
            if which == "rejected" and group.rejected_record is None:
                group.rejected_record = record
            elif which == "accepted" and group.accepted_record is None:
                group.accepted_record = record
    return sorted(groups.values(), key=lambda g: (not g.sample.cross_az, -g.count))


def pair_cells(group: PairGroup) -> list[str]:
    conv = group.sample
    fwd_az = ",".join(short_az(a) for a in conv.forward.azs) or "?"
    rev_az = ",".join(short_az(a) for a in conv.reverse.azs) or "?"
    which = "return ✗" if conv.rejected == "reverse" else "request ✗"
    return [
        str(group.count),
        display_safe(conv.forward.src and conv.protocol and _proto(conv.protocol)),
        group.label,
        f"{fwd_az}→{rev_az}" + (" cross" if conv.cross_az else ""),
        which,
    ]


def _proto(number: int | None) -> str:
    from tui.models.flowlog import protocol_name

    return protocol_name(number)


PAIR_COLUMNS = (
    Column("count", "Conv", width=5, align="right"),
    Column("proto", "Prot", width=4),
    Column("label", "Client → server:port", min_width=20, max_width=44, flex=True),
    Column("azs", "AZ fwd→ret", width=15),
    Column("leg", "Rejected", width=9),
)

AGG_COLUMNS = (
    Column("label", "Key", min_width=16, max_width=48, flex=True),
    Column("flows", "Flows", width=7, align="right"),
    Column("packets", "Pkts", width=7, align="right"),
    Column("bytes", "Bytes", width=7, align="right"),
    Column("rejects", "✗ REJ", width=7, align="right"),
    Column("accepts", "✓ ACC", width=7, align="right"),
)
