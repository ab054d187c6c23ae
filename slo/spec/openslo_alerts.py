"""OpenSLO ``AlertPolicy`` / ``AlertCondition`` read into the model's two alert tiers.

sloscope alerts with Sloth's multi-window multi-burn-rate pairs. A burn-rate condition is
checked (``op``, ``threshold``, ``lookbackWindow``, ``alertAfter``) and its severity picks the
tier: ``page`` or ``critical`` turn on the page alert, any other severity the ticket alert; the
tier is labelled ``severity: <severity>``. Policies with ``alertWhenBreaching: false`` add no
alert. Notification target names become the ``notification_targets`` label (comma-separated)
for routing. An SLO without alert policies has both tiers off.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from slo.spec.model import Alerting, AlertTier
from slo.spec.native import alert_name_for
from slo.spec.openslo_docs import OpenSLODoc, OpenSLOIndex, read_metadata
from slo.spec.openslo_sli import OPS
from slo.spec.windows import read_shorthand_ms
from slo.spec.yaml_reader import SpecReader, child, item

__all__ = ["Policy", "alerting_from_policies", "read_policy_refs"]

PAGE_SEVERITIES = frozenset({"page", "critical"})
_POLICY_KEYS = (
    "description",
    "alertWhenNoData",
    "alertWhenResolved",
    "alertWhenBreaching",
    "conditions",
    "notificationTargets",
)
_INLINE_KEYS = ("kind", "metadata", "spec")


@dataclass(frozen=True)
class Condition:
    severity: str
    description: str = ""


@dataclass(frozen=True)
class Policy:
    name: str
    breaching: bool
    conditions: tuple[Condition, ...]
    targets: tuple[str, ...]


def _read_condition_spec(reader: SpecReader, node: yaml.Node, path: str) -> Condition | None:
    keys = ("description", "severity", "condition")
    entries = reader.mapping(node, path, keys, ("severity", "condition"))
    if entries is None:
        return None
    severity = None
    if "severity" in entries:
        severity = reader.text(entries["severity"], child(path, "severity"))
    description = ""
    if "description" in entries:
        d_path = child(path, "description")
        description = reader.text(entries["description"], d_path, allow_empty=True) or ""
    ok = "condition" in entries and _check_burn_rate(
        reader, entries["condition"], child(path, "condition")
    )
    return Condition(severity, description) if ok and severity is not None else None


def _check_burn_rate(reader: SpecReader, node: yaml.Node, path: str) -> bool:
    """A ``burnrate`` condition is checked but not used: see the module docstring."""
    before = len(reader.errors)
    keys = ("kind", "op", "threshold", "lookbackWindow", "alertAfter")
    cond = reader.mapping(node, path, keys, ("op", "threshold", "lookbackWindow"))
    if cond is None:
        return False
    if "kind" in cond:
        kind = reader.text(cond["kind"], child(path, "kind"))
        if kind is not None and kind != "burnrate":
            message = f"only burnrate conditions are supported, got {kind!r}"
            reader.error(cond["kind"], child(path, "kind"), message)
    if "op" in cond:
        op = reader.text(cond["op"], child(path, "op"))
        if op is not None and op not in OPS:
            message = f"expected one of {', '.join(OPS)}, got {op!r}"
            reader.error(cond["op"], child(path, "op"), message)
    if "threshold" in cond:
        threshold = reader.number(cond["threshold"], child(path, "threshold"))
        if threshold is not None and threshold <= 0:
            message = "a burn rate must be greater than 0"
            reader.error(cond["threshold"], child(path, "threshold"), message)
    for key in ("lookbackWindow", "alertAfter"):
        if key in cond:
            read_shorthand_ms(reader, cond[key], child(path, key))
    return len(reader.errors) == before


def _condition_doc(doc: OpenSLODoc) -> Condition | None:
    if doc.spec is None:
        return None
    return _read_condition_spec(doc.reader, doc.spec, doc.path)


def _read_condition(
    reader: SpecReader, node: yaml.Node, path: str, index: OpenSLOIndex
) -> Condition | None:
    if isinstance(node, yaml.MappingNode) and any(k.value == "conditionRef" for k, _ in node.value):
        entries = reader.mapping(node, path, ("conditionRef",)) or {}
        doc = index.lookup(
            "AlertCondition", reader, entries["conditionRef"], child(path, "conditionRef")
        )
        return None if doc is None else index.parsed(doc, _condition_doc)  # type: ignore[return-value]
    entries = reader.mapping(node, path, _INLINE_KEYS, ("kind", "metadata", "spec"))
    if entries is None or len(entries) < 3:
        return None
    kind = reader.text(entries["kind"], child(path, "kind"))
    if kind is not None and kind != "AlertCondition":
        reader.error(entries["kind"], child(path, "kind"), f"expected AlertCondition, got {kind!r}")
        return None
    read_metadata(reader, entries["metadata"], child(path, "metadata"))
    return _read_condition_spec(reader, entries["spec"], child(path, "spec"))


def _read_policy_spec(
    reader: SpecReader, node: yaml.Node, path: str, name: str, index: OpenSLOIndex
) -> Policy | None:
    entries = reader.mapping(node, path, _POLICY_KEYS, ("conditions",))
    if entries is None or "conditions" not in entries:
        return None
    breaching = True
    for key in ("alertWhenNoData", "alertWhenResolved", "alertWhenBreaching"):
        if key in entries:
            value = reader.boolean(entries[key], child(path, key))
            if key == "alertWhenBreaching" and value is not None:
                breaching = value
    c_path = child(path, "conditions")
    nodes = reader.sequence(entries["conditions"], c_path) or []
    if len(nodes) != 1 and isinstance(entries["conditions"], yaml.SequenceNode):
        reader.error(
            entries["conditions"], c_path, f"expected exactly one condition, got {len(nodes)}"
        )
    conditions = [_read_condition(reader, n, item(c_path, i), index) for i, n in enumerate(nodes)]
    targets = _read_targets(
        reader, entries.get("notificationTargets"), child(path, "notificationTargets"), index
    )
    if None in conditions or targets is None:
        return None
    return Policy(name, breaching, tuple(conditions), targets)  # type: ignore[arg-type]


def _read_targets(
    reader: SpecReader, node: yaml.Node | None, path: str, index: OpenSLOIndex
) -> tuple[str, ...] | None:
    if node is None:
        return ()
    names = []
    for i, target in enumerate(reader.sequence(node, path) or []):
        t_path = item(path, i)
        if isinstance(target, yaml.MappingNode) and any(
            k.value == "targetRef" for k, _ in target.value
        ):
            entries = reader.mapping(target, t_path, ("targetRef",)) or {}
            doc = index.lookup(
                "AlertNotificationTarget", reader, entries["targetRef"], child(t_path, "targetRef")
            )
            if doc is None:
                return None
            names.append(doc.name)
            continue
        entries = reader.mapping(target, t_path, _INLINE_KEYS, ("kind", "metadata", "spec"))
        if entries is None or "metadata" not in entries:
            return None
        meta = read_metadata(reader, entries["metadata"], child(t_path, "metadata"))
        if meta.name is None:
            return None
        names.append(meta.name)
    return tuple(names)


def _policy_doc(index: OpenSLOIndex):
    def parse(doc: OpenSLODoc) -> Policy | None:
        if doc.spec is None:
            return None
        return _read_policy_spec(doc.reader, doc.spec, doc.path, doc.name, index)

    return parse


def read_policy_refs(
    reader: SpecReader, node: yaml.Node, path: str, index: OpenSLOIndex
) -> list[Policy] | None:
    """An SLO's ``alertPolicies``: ``alertPolicyRef`` items or inline ``AlertPolicy``."""
    policies: list[Policy | None] = []
    for i, entry in enumerate(reader.sequence(node, path) or []):
        p_path = item(path, i)
        if isinstance(entry, yaml.MappingNode) and any(
            k.value == "alertPolicyRef" for k, _ in entry.value
        ):
            entries = reader.mapping(entry, p_path, ("alertPolicyRef",)) or {}
            doc = index.lookup(
                "AlertPolicy", reader, entries["alertPolicyRef"], child(p_path, "alertPolicyRef")
            )
            policies.append(None if doc is None else index.parsed(doc, _policy_doc(index)))  # type: ignore[arg-type]
            continue
        entries = reader.mapping(entry, p_path, _INLINE_KEYS, ("kind", "metadata", "spec"))
        if entries is None or len(entries) < 3:
            policies.append(None)
            continue
        meta = read_metadata(reader, entries["metadata"], child(p_path, "metadata"))
        spec = _read_policy_spec(
            reader, entries["spec"], child(p_path, "spec"), meta.name or "", index
        )
        policies.append(spec if meta.name else None)
    if None in policies:
        return None
    return policies  # type: ignore[return-value]


def parse_policy_doc(doc: OpenSLODoc, index: OpenSLOIndex) -> None:
    """Check a standalone ``AlertPolicy`` (or ``AlertCondition``) even if nothing uses it."""
    if doc.kind == "AlertPolicy":
        index.parsed(doc, _policy_doc(index))
    else:
        index.parsed(doc, _condition_doc)


def alerting_from_policies(policies: list[Policy], service: str, slo_name: str) -> Alerting:
    breaching = [p for p in policies if p.breaching]
    name = alert_name_for(breaching[0].name if breaching else f"{service}-{slo_name}")
    tiers: dict[str, AlertTier] = {
        "page": AlertTier(enabled=False),
        "ticket": AlertTier(enabled=False),
    }
    for policy in breaching:
        for condition in policy.conditions:
            tier = "page" if condition.severity.lower() in PAGE_SEVERITIES else "ticket"
            if not tiers[tier].enabled:
                annotations = (
                    {"description": condition.description} if condition.description else {}
                )
                tiers[tier] = AlertTier(True, {"severity": condition.severity}, annotations)
    targets = sorted({t for p in breaching for t in p.targets})
    labels = {"notification_targets": ",".join(targets)} if targets else {}
    return Alerting(name=name, labels=labels, page=tiers["page"], ticket=tiers["ticket"])
