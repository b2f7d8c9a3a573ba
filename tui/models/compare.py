"""Compare a failing instance with a healthy twin, attribute by attribute.

The talk behind hamari asks "is there an environment to compare against?". For incident 1 the two
batch instances are the same in every setting that matters except one: the failing one's volume is
encrypted with a customer-managed KMS key, the twin's with the AWS-managed ``aws/ebs`` key. This
module turns two :class:`TwinSide` records into rows and orders them so that such a difference is
the first thing on screen. Identifiers that always differ between two instances (ids, ENIs,
addresses, launch times) are shown but never flagged; the state and its reason are shown as the
*symptom*, not as a cause. Pure: no network, no UI, AWS strings kept raw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from tui.models.inventory import InstanceInfo, VolumeInfo
from tui.models.network import NaclEntry

RowKind = Literal["config", "symptom", "identity", "metric"]
# Sections in display order after the differences; the KMS key lives in "volumes".
SECTIONS: tuple[str, ...] = (
    "volumes",
    "iam",
    "instance",
    "network",
    "security groups",
    "nacl",
    "state",
    "metrics",
)
_MISSING = "—"


@dataclass(frozen=True)
class KeyInfo:
    """A KMS key as DescribeKey / ListAliases describe it.

    Attributes:
        arn: The key ARN (or the id as the volume named it).
        alias: The first alias (``alias/app-ebs``), or None.
        manager: ``CUSTOMER`` or ``AWS``, or None when DescribeKey was refused.
        state: ``Enabled``, ``Disabled``, ``PendingDeletion``..., or None.
    """

    arn: str
    alias: str | None = None
    manager: str | None = None
    state: str | None = None

    @property
    def aws_managed(self) -> bool | None:
        """True for an AWS-managed key (``alias/aws/…``), None when unknown."""
        if self.alias and self.alias.startswith("alias/aws/"):
            return True
        if self.manager is None:
            return None
        return self.manager.upper() == "AWS"

    def label(self) -> str:
        """``alias/app-ebs (customer-managed)``; the key id when no alias is known."""
        name = self.alias or self.arn.rsplit("/", 1)[-1]
        managed = self.aws_managed
        kind = "AWS-managed" if managed else "customer-managed" if managed is False else "?"
        extra = f", {self.state}" if self.state and self.state != "Enabled" else ""
        return f"{name} ({kind}{extra})"


@dataclass(frozen=True)
class TwinSide:
    """Everything compared about one instance.

    Attributes:
        instance: The instance with its volumes.
        keys: KMS key ARN (as the volumes name it) -> :class:`KeyInfo`.
        security_groups: Group id -> group name.
        subnet_cidr: The subnet's CIDR, or None.
        subnet_name: The subnet's Name tag, or None.
        nacl_id: The subnet's network ACL, or None.
        nacl_entries: That ACL's rules.
        metrics: A recent metrics summary (label -> value text), or None when not loaded.
        warnings: What could not be read (AccessDenied on kms:DescribeKey...).
    """

    instance: InstanceInfo
    keys: Mapping[str, KeyInfo] = field(default_factory=dict)
    security_groups: Mapping[str, str] = field(default_factory=dict)
    subnet_cidr: str | None = None
    subnet_name: str | None = None
    nacl_id: str | None = None
    nacl_entries: tuple[NaclEntry, ...] = ()
    metrics: Mapping[str, str] | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompareRow:
    """One line of the comparison.

    Attributes:
        section: One of :data:`SECTIONS`.
        attribute: What is compared (``KMS key``, ``/dev/xvda type``).
        left: The failing (left) side's value, raw.
        right: The twin's (right) value, raw.
        differs: True when this row is a difference worth looking at (never for identity rows).
        note: Why it matters, or why it is not flagged.
        kind: ``config`` (a cause candidate), ``symptom`` (state), ``identity`` (always differs),
            ``metric`` (observed, not configured).
    """

    section: str
    attribute: str
    left: str
    right: str
    differs: bool
    note: str = ""
    kind: RowKind = "config"

    @property
    def meaningful(self) -> bool:
        """A configuration difference: a candidate for "the difference"."""
        return self.differs and self.kind == "config"


def _row(
    section: str,
    attribute: str,
    left: object,
    right: object,
    kind: RowKind = "config",
    note: str = "",
) -> CompareRow:
    lt = _MISSING if left is None or left == "" else str(left)
    rt = _MISSING if right is None or right == "" else str(right)
    if kind == "identity":
        return CompareRow(section, attribute, lt, rt, False, note or "always differs", kind)
    if kind == "metric":
        return CompareRow(
            section, attribute, lt, rt, False, note or "observed, not configured", kind
        )
    return CompareRow(section, attribute, lt, rt, lt != rt, note, kind)


def _key_label(side: TwinSide, key_id: str | None) -> str | None:
    if not key_id:
        return None
    info = side.keys.get(key_id)
    return info.label() if info is not None else key_id.rsplit("/", 1)[-1]


def _key_note(a: TwinSide, ka: str | None, b: TwinSide, kb: str | None) -> str:
    managed = [
        (s.keys[k].aws_managed if k and k in s.keys else None) for s, k in ((a, ka), (b, kb))
    ]
    if False in managed:
        return (
            "customer-managed key: EC2 uses it on the caller's behalf (kms:CreateGrant, "
            "kms:Decrypt); a key policy or IAM policy that does not allow it makes "
            "StartInstances succeed and the instance fall back to stopped"
        )
    return "different keys"


def _volume_rows(a: TwinSide, b: TwinSide) -> list[CompareRow]:
    rows: list[CompareRow] = []

    def by_device(side: TwinSide) -> dict[str, VolumeInfo]:
        out: dict[str, VolumeInfo] = {}
        for i, v in enumerate(side.instance.volumes):
            out.setdefault(v.device or f"volume {i + 1}", v)
        return out

    va, vb = by_device(a), by_device(b)
    devices = list(dict.fromkeys([*va, *vb]))
    for dev in devices:
        x, y = va.get(dev), vb.get(dev)
        if x is None or y is None:
            present = (x or y) is not None
            rows.append(
                _row(
                    "volumes",
                    f"{dev}",
                    x.volume_id if x else None,
                    y.volume_id if y else None,
                    note="attached on one side only" if present else "",
                )
            )
        kx, ky = (x.kms_key_id if x else None), (y.kms_key_id if y else None)
        lx, ly = _key_label(a, kx), _key_label(b, ky)
        if x is not None and y is not None:
            differs_key = (kx or "") != (ky or "") or lx != ly
            note = _key_note(a, kx, b, ky) if differs_key else ""
            key_row = CompareRow(
                "volumes", f"{dev} KMS key", lx or _MISSING, ly or _MISSING, differs_key, note
            )
            rows.append(key_row)
            rows.append(_row("volumes", f"{dev} encrypted", _yes(x.encrypted), _yes(y.encrypted)))
            rows.append(_row("volumes", f"{dev} type", x.volume_type, y.volume_type))
            rows.append(_row("volumes", f"{dev} size GiB", x.size_gib, y.size_gib))
            rows.append(_row("volumes", f"{dev} IOPS", x.iops, y.iops))
            rows.append(_row("volumes", f"{dev} MiB/s", x.throughput, y.throughput))
            rows.append(_row("volumes", f"{dev} volume", x.volume_id, y.volume_id, "identity"))
    return rows


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _raw(inst: InstanceInfo, *path: str) -> str | None:
    node: object = inst.raw
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return None if node is None or node == "" else str(node)


def _groups(side: TwinSide) -> str:
    names = [side.security_groups.get(g) or g for g in side.instance.security_group_ids]
    return ", ".join(sorted(names)) or _MISSING


def _nacl_rows(a: TwinSide, b: TwinSide) -> list[CompareRow]:
    def rules(side: TwinSide) -> dict[tuple[bool, int], NaclEntry]:
        return {(e.egress, e.rule_number): e for e in side.nacl_entries}

    ra, rb = rules(a), rules(b)
    rows = [_row("nacl", "network ACL", a.nacl_id, b.nacl_id, "identity", "compared by rules")]
    if a.nacl_id == b.nacl_id and a.nacl_id is not None:
        rows[0] = _row("nacl", "network ACL", a.nacl_id, b.nacl_id, note="the same ACL")
    for key in sorted(set(ra) | set(rb)):
        egress, number = key
        label = f"{'out' if egress else 'in'} {'*' if number >= 32767 else number}"
        ea, eb = ra.get(key), rb.get(key)
        rows.append(
            _row(
                "nacl",
                label,
                _rule_text(ea) if ea else None,
                _rule_text(eb) if eb else None,
            )
        )
    return rows


def _rule_text(entry: NaclEntry) -> str:
    return entry.describe().split(" ", 1)[-1]  # drop the direction: the attribute names it


def compare(a: TwinSide, b: TwinSide) -> list[CompareRow]:
    """Compare the failing side ``a`` with the twin ``b``.

    Returns:
        Rows ordered: configuration differences first (volumes and KMS keys, then IAM, instance,
        network, groups, NACL), then the symptom (state), then everything equal or always
        different in section order. A row is flagged (``differs``) only for configuration and
        state; identity rows and metrics never are.
    """
    ia, ib = a.instance, b.instance
    rows: list[CompareRow] = []
    rows += [
        _row("instance", "instance", ia.instance_id, ib.instance_id, "identity"),
        _row("instance", "name", ia.name, ib.name, "identity", "names differ by design"),
        _row("instance", "type", ia.instance_type, ib.instance_type),
        _row("instance", "AMI", _raw(ia, "ImageId"), _raw(ib, "ImageId")),
        _row("instance", "EBS-optimized", _yes(ia.ebs_optimized), _yes(ib.ebs_optimized)),
        _row("instance", "architecture", _raw(ia, "Architecture"), _raw(ib, "Architecture")),
        _row("instance", "key pair", _raw(ia, "KeyName"), _raw(ib, "KeyName")),
        _row(
            "instance",
            "tenancy",
            _raw(ia, "Placement", "Tenancy"),
            _raw(ib, "Placement", "Tenancy"),
        ),
        _row("instance", "launched", ia.launch_time, ib.launch_time, "identity"),
    ]
    rows += _volume_rows(a, b)
    rows.append(
        _row(
            "iam",
            "instance profile",
            ia.iam_instance_profile,
            ib.iam_instance_profile,
            note="the role the instance runs as",
        )
    )
    rows += [
        _row("network", "VPC", ia.vpc_id, ib.vpc_id),
        _row("network", "subnet", ia.subnet_id, ib.subnet_id),
        _row("network", "subnet CIDR", a.subnet_cidr, b.subnet_cidr),
        _row("network", "AZ", ia.az, ib.az),
        _row("network", "ENI", ", ".join(ia.eni_ids), ", ".join(ib.eni_ids), "identity"),
        _row("network", "private IP", ia.private_ip, ib.private_ip, "identity"),
        _row("security groups", "groups", _groups(a), _groups(b)),
    ]
    if set(ia.security_group_ids) != set(ib.security_group_ids) and _groups(a) == _groups(b):
        rows.append(
            _row(
                "security groups",
                "group ids",
                ", ".join(ia.security_group_ids),
                ", ".join(ib.security_group_ids),
                note="same names, different groups: compare their rules",
            )
        )
    rows += _nacl_rows(a, b)
    rows += [
        _row("state", "state", ia.state, ib.state, "symptom", "what you see, not why"),
        _row("state", "state reason", ia.state_reason_code, ib.state_reason_code, "symptom"),
        _row(
            "state",
            "reason message",
            ia.state_reason_message,
            ib.state_reason_message,
            "symptom",
        ),
    ]
    if a.metrics is not None or b.metrics is not None:
        ma, mb = a.metrics or {}, b.metrics or {}
        for label in dict.fromkeys([*ma, *mb]):
            rows.append(_row("metrics", label, ma.get(label), mb.get(label), "metric"))
    return order(rows)


def order(rows: Iterable[CompareRow]) -> list[CompareRow]:
    """Configuration differences first, then symptoms, then the rest, each in section order."""
    listed = list(rows)
    rank = {s: i for i, s in enumerate(SECTIONS)}

    def group(row: CompareRow) -> int:
        if row.meaningful:
            return 0
        if row.differs:
            return 1
        return 2

    def kms_first(row: CompareRow) -> int:
        return 0 if row.attribute.endswith("KMS key") else 1

    indexed = list(enumerate(listed))
    indexed.sort(key=lambda p: (group(p[1]), rank.get(p[1].section, 99), kms_first(p[1]), p[0]))
    return [row for _, row in indexed]


def differences(rows: Iterable[CompareRow]) -> list[CompareRow]:
    """The configuration differences: the candidates for "the difference"."""
    return [r for r in rows if r.meaningful]


def verdict(rows: Iterable[CompareRow]) -> str:
    """One sentence for the top of the screen."""
    diffs = differences(rows)
    if not diffs:
        return "No configuration difference found."
    if len(diffs) == 1:
        d = diffs[0]
        return f"The only configuration difference: {d.attribute} ({d.left} vs {d.right})."
    return f"{len(diffs)} configuration differences; the first: {diffs[0].attribute}."
