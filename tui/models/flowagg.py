"""Flow-record aggregations one key away: top talkers and REJECTs by AZ, ENI, port and direction.

Thousands of records hide a pattern that a five-row table shows at once: in incident 3 every
REJECT sits in the *other* AZ, on one Transit Gateway attachment ENI, in one direction. These
aggregations are pure functions over records (and, optionally, the topology that names the
interfaces), cheap enough to recompute on every filter change of a loaded set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from tui.models.flowlog import FlowRecord, protocol_name

if TYPE_CHECKING:  # annotations only: `hamari flows FILE` never builds a topology
    from tui.models.network import Topology

#: The aggregation kinds, in the order the UI offers them.
AGGREGATIONS: Final[tuple[str, ...]] = (
    "top-talkers",
    "rejects-by-az",
    "rejects-by-eni",
    "rejects-by-port",
    "rejects-by-direction",
    "by-action",
)


@dataclass(frozen=True)
class AggRow:
    """One group of records.

    Attributes:
        key: The group's key values (raw strings), e.g. ``("use1-az6",)``.
        label: The key for humans, e.g. ``use1-az6 (us-east-1c)``; raw AWS text inside.
        flows: Records in the group.
        packets: Sum of packets.
        bytes: Sum of bytes.
        rejects: Records with action REJECT.
        accepts: Records with action ACCEPT.
    """

    key: tuple[str, ...]
    label: str
    flows: int
    packets: int
    bytes: int
    rejects: int
    accepts: int


KeyFn = Callable[[FlowRecord], tuple[str, ...] | None]


def _direction(record: FlowRecord, topology: Topology | None) -> str:
    if record.flow_direction:
        return record.flow_direction
    if topology is not None and record.interface_id:
        eni = topology.enis.get(record.interface_id)
        if eni is not None:
            if record.dstaddr in eni.private_ips:
                return "ingress"
            if record.srcaddr in eni.private_ips:
                return "egress"
            return "transit"
    return "?"


def service_port(record: FlowRecord) -> int | None:
    """The port that names the service of a leg: the lower of source and destination port.

    A REJECTed *return* leg has the client's ephemeral port as its destination, so grouping by
    destination port would scatter incident 3's REJECTs over thousands of ports; the lower port
    is the server's (5432, 22, 443) for both legs.
    """
    s, d = record.srcport, record.dstport
    if s is None or d is None:
        return d if d is not None else s
    return s if 0 < s < d else d


def talker_key(record: FlowRecord) -> tuple[str, str] | None:
    """(source, destination) of a record that describes traffic; None for a status row.

    Not keyed on ``action``: Transit Gateway flow logs have no such field, and their records are
    traffic all the same. A NODATA/SKIPDATA row, or a row with no address at all (a format
    without ``log-status``), describes no traffic.
    """
    if record.is_status:
        return None
    src, dst = record.src, record.dst
    if src is None and dst is None:
        return None
    return (src or "-", dst or "-")


def key_function(kind: str, topology: Topology | None) -> KeyFn:
    """The group key of a record for ``kind`` (None: the record is not counted)."""
    eni_az = topology.eni_az() if topology is not None else {}
    if kind == "top-talkers":
        return talker_key
    if kind == "rejects-by-az":

        def az(r: FlowRecord) -> tuple[str, ...]:
            return (r.az_id or eni_az.get(r.interface_id or "", "?"),)

        return az
    if kind == "rejects-by-eni":
        return lambda r: (r.interface_id or "?",)
    if kind == "rejects-by-port":

        def port(r: FlowRecord) -> tuple[str, ...]:
            p = service_port(r)
            return (protocol_name(r.protocol), "-" if p is None else str(p))

        return port
    if kind == "rejects-by-direction":
        return lambda r: (_direction(r, topology),)
    if kind == "by-action":
        return lambda r: (r.action or r.log_status or "?",)
    raise ValueError(f"unknown aggregation {kind!r}; choose one of {', '.join(AGGREGATIONS)}")


def _label(kind: str, key: tuple[str, ...], topology: Topology | None) -> str:
    if kind == "top-talkers":
        return f"{key[0]} → {key[1]}"
    if kind == "rejects-by-az" and topology is not None:
        return topology.az_label(key[0])
    if kind == "rejects-by-eni" and topology is not None and key[0] in topology.enis:
        return f"{key[0]} {topology.annotate(key[0])}"
    if kind == "rejects-by-port":
        return f"{key[0]}/{key[1]}"
    return key[0]


def aggregate(
    records: Iterable[FlowRecord],
    kind: str,
    topology: Topology | None = None,
    *,
    limit: int = 50,
) -> list[AggRow]:
    """Group records by one key and sum them.

    ``top-talkers`` groups by (source, destination) and sorts by bytes; ``by-action`` groups
    every record (status rows under ``NODATA``/``SKIPDATA``) and sorts by flows. The
    ``rejects-by-*`` kinds keep only groups with at least one REJECT (accepts in those groups
    are still counted, for contrast) and sort by REJECTs. AZ and direction come from the record
    (``az-id``, ``flow-direction``) or, for formats without those fields, from the topology.

    Args:
        records: Flow records (any iterable; consumed once).
        kind: One of :data:`AGGREGATIONS`.
        topology: Names ENIs and AZs, fills AZ/direction for v2 records; optional.
        limit: Maximum rows returned.

    Returns:
        The rows, biggest first.

    Raises:
        ValueError: For an unknown kind.
    """
    key_fn = key_function(kind, topology)
    acc: dict[tuple[str, ...], list[int]] = {}
    for r in records:
        key = key_fn(r)
        if key is None:
            continue
        a = acc.get(key)
        if a is None:
            a = acc[key] = [0, 0, 0, 0, 0]
        a[0] += 1
        a[1] += r.packets or 0
        a[2] += r.bytes or 0
        action = r.action
        if action == "REJECT":
            a[3] += 1
        elif action == "ACCEPT":
            a[4] += 1
    return finish(acc, kind, topology, limit=limit)


def finish(
    acc: dict[tuple[str, ...], list[int]],
    kind: str,
    topology: Topology | None = None,
    *,
    limit: int = 50,
) -> list[AggRow]:
    """Order, cut and label summed groups (``key -> [flows, packets, bytes, rejects, accepts]``).

    Shared with the SQL engine, which sums in DuckDB and hands the groups over, so that both
    order, keep and label rows the same way.
    """
    items = list(acc.items())
    if kind.startswith("rejects-"):
        items = [kv for kv in items if kv[1][3]]
        items.sort(key=lambda kv: (-kv[1][3], -kv[1][0], kv[0]))
    elif kind == "top-talkers":
        items.sort(key=lambda kv: (-kv[1][2], -kv[1][1], kv[0]))
    else:
        items.sort(key=lambda kv: (-kv[1][0], kv[0]))
    return [
        AggRow(key, _label(kind, key, topology), a[0], a[1], a[2], a[3], a[4])
        for key, a in items[:limit]
    ]
