"""OpenSLO v1 ``SLO`` objects into model SLOs: one per objective.

An SLO with several objectives (``target: 0.99`` and ``target: 0.999``, or a composite SLO
with an indicator per objective) gives one model SLO per objective, named
``<name>-<displayName as a slug>`` (or ``<name>-<index>`` without a display name).
``Occurrences`` and ``Timeslices`` budgeting are supported; ``RatioTimeslices`` is not yet.
A missing ``timeWindow`` means 30 days rolling.
"""

from __future__ import annotations

import re

import yaml

from slo.spec.checks import objective_from_percent, read_safe_name
from slo.spec.model import SLO, Alerting, Window
from slo.spec.openslo_alerts import (
    Policy,
    alerting_from_policies,
    parse_policy_doc,
    read_policy_refs,
)
from slo.spec.openslo_docs import OpenSLODoc, OpenSLOIndex, read_metadata
from slo.spec.openslo_sli import OPS, Indicator, read_indicator_spec, to_model_sli
from slo.spec.windows import DEFAULT_WINDOW, read_openslo_time_window, read_shorthand_ms
from slo.spec.yaml_reader import SpecReader, child, item

__all__ = ["resolve_openslo"]

_SLO_KEYS = (
    "description",
    "service",
    "indicator",
    "indicatorRef",
    "timeWindow",
    "budgetingMethod",
    "objectives",
    "alertPolicies",
)
_OBJECTIVE_KEYS = (
    "displayName",
    "op",
    "value",
    "target",
    "targetPercent",
    "timeSliceTarget",
    "timeSliceWindow",
    "indicator",
    "indicatorRef",
    "compositeWeight",
)
_BUDGETING = {"Occurrences": "occurrences", "Timeslices": "timeslices"}


def resolve_openslo(index: OpenSLOIndex) -> list[SLO]:
    """Read every object of *index*; return the SLOs (problems go to each file's reader)."""
    slos: list[SLO] = []
    for doc in index.of_kind("SLO"):
        slos.extend(_read_slo(doc, index))
    for doc in index.of_kind("SLI"):
        index.parsed(doc, _sli_doc(index))
    for kind in ("AlertPolicy", "AlertCondition"):
        for doc in index.of_kind(kind):
            parse_policy_doc(doc, index)
    return slos


def _sli_doc(index: OpenSLOIndex):
    def parse(doc: OpenSLODoc) -> Indicator | None:
        if doc.spec is None:
            return None
        return read_indicator_spec(doc.reader, doc.spec, doc.path, index)

    return parse


def _indicator(
    reader: SpecReader, entries: dict[str, yaml.Node], path: str, index: OpenSLOIndex
) -> Indicator | None:
    """``indicator`` (inline ``metadata`` + ``spec``) or ``indicatorRef``."""
    if "indicatorRef" in entries:
        doc = index.lookup("SLI", reader, entries["indicatorRef"], child(path, "indicatorRef"))
        return None if doc is None else index.parsed(doc, _sli_doc(index))  # type: ignore[return-value]
    i_path = child(path, "indicator")
    inline = reader.mapping(
        entries["indicator"], i_path, ("metadata", "spec"), ("metadata", "spec")
    )
    if inline is None or len(inline) < 2:
        return None
    read_metadata(reader, inline["metadata"], child(i_path, "metadata"))
    return read_indicator_spec(reader, inline["spec"], child(i_path, "spec"), index)


def _read_slo(doc: OpenSLODoc, index: OpenSLOIndex) -> list[SLO]:
    reader, path = doc.reader, doc.path
    required = ("service", "budgetingMethod", "objectives")
    entries = reader.mapping(doc.spec, path, _SLO_KEYS, required) if doc.spec is not None else None
    if entries is None:
        return []
    before = len(reader.errors)
    service = (
        read_safe_name(reader, entries["service"], child(path, "service"))
        if "service" in entries
        else None
    )
    window: Window | None = DEFAULT_WINDOW
    if "timeWindow" in entries:
        window = read_openslo_time_window(reader, entries["timeWindow"], child(path, "timeWindow"))
    budgeting = _budgeting(reader, entries, path)
    description = ""
    if "description" in entries:
        description = (
            reader.text(entries["description"], child(path, "description"), allow_empty=True) or ""
        )
    shared = None
    has_shared = "indicator" in entries or "indicatorRef" in entries
    if "indicator" in entries and "indicatorRef" in entries:
        reader.error(
            entries["indicatorRef"],
            child(path, "indicatorRef"),
            "give indicator or indicatorRef, not both",
        )
    elif has_shared:
        shared = _indicator(reader, entries, path, index)
    policies: list[Policy] | None = []
    if "alertPolicies" in entries:
        policies = read_policy_refs(
            reader, entries["alertPolicies"], child(path, "alertPolicies"), index
        )
    o_path = child(path, "objectives")
    nodes = reader.sequence(entries["objectives"], o_path) if "objectives" in entries else None
    if nodes is not None and not nodes:
        reader.error(entries["objectives"], o_path, "expected at least one objective")
    context = _Context(doc, index, budgeting, has_shared, shared, len(nodes or ()))
    built = [_objective(context, node, item(o_path, i), i) for i, node in enumerate(nodes or ())]
    if len(reader.errors) > before or service is None or window is None or policies is None:
        return []
    alerting = alerting_from_policies(policies, service, doc.name)
    return [
        _slo(doc, service, window, budgeting or "occurrences", description, alerting, *parts)
        for parts in built
        if parts is not None
    ]


def _budgeting(reader: SpecReader, entries: dict[str, yaml.Node], path: str) -> str | None:
    if "budgetingMethod" not in entries:
        return None
    method = reader.text(entries["budgetingMethod"], child(path, "budgetingMethod"))
    if method is not None and method not in _BUDGETING:
        hint = " (RatioTimeslices is not supported yet)" if method == "RatioTimeslices" else ""
        reader.error(
            entries["budgetingMethod"],
            child(path, "budgetingMethod"),
            f"expected Occurrences or Timeslices, got {method!r}{hint}",
        )
        return None
    return None if method is None else _BUDGETING[method]


class _Context:
    """What every objective of one SLO object shares."""

    def __init__(
        self,
        doc: OpenSLODoc,
        index: OpenSLOIndex,
        budgeting: str | None,
        has_shared: bool,
        shared: Indicator | None,
        count: int,
    ) -> None:
        self.doc, self.index, self.budgeting = doc, index, budgeting
        self.has_shared, self.shared, self.count = has_shared, shared, count


_Built = tuple[str, float, object, float | None, int | None, yaml.Node]


def _objective(ctx: _Context, node: yaml.Node, path: str, index: int) -> _Built | None:
    reader = ctx.doc.reader
    entries = reader.mapping(node, path, _OBJECTIVE_KEYS)
    if entries is None:
        return None
    target = _target(reader, node, entries, path)
    indicator = ctx.shared
    own = "indicator" in entries or "indicatorRef" in entries
    if own and ctx.has_shared:
        reader.error(
            node, path, "the SLO already has an indicator; give it on the SLO or on each objective"
        )
        return None
    if own:
        indicator = _indicator(reader, entries, path, ctx.index)
    elif not ctx.has_shared:
        reader.error(
            node,
            child(path, "indicatorRef"),
            "no indicator: give indicator or indicatorRef on the SLO or here",
        )
        return None
    op, value = _threshold(reader, node, entries, path, indicator)
    slice_target, slice_ms = _timeslices(reader, node, entries, path, ctx.budgeting)
    if "compositeWeight" in entries:
        weight = reader.number(entries["compositeWeight"], child(path, "compositeWeight"))
        if weight is not None and weight <= 0:
            reader.error(
                entries["compositeWeight"], child(path, "compositeWeight"), "must be greater than 0"
            )
    if target is None or indicator is None or (indicator.kind == "threshold" and op is None):
        return None
    name = _objective_name(ctx, entries, index)
    return name, target, to_model_sli(indicator, op, value), slice_target, slice_ms, node


def _target(
    reader: SpecReader, node: yaml.Node, entries: dict[str, yaml.Node], path: str
) -> float | None:
    if ("target" in entries) == ("targetPercent" in entries):
        reader.error(
            node,
            child(path, "target"),
            "expected exactly one of target (0-1) or targetPercent (0-100)",
        )
        return None
    if "targetPercent" in entries:
        t_node, t_path = entries["targetPercent"], child(path, "targetPercent")
        percent = reader.number(t_node, t_path)
        return None if percent is None else objective_from_percent(reader, t_node, t_path, percent)
    t_node, t_path = entries["target"], child(path, "target")
    target = reader.number(t_node, t_path)
    if target is not None and not 0 < target < 1:
        hint = f"; for a percent write targetPercent: {target:g}" if 1 <= target < 100 else ""
        reader.error(t_node, t_path, f"expected a fraction between 0 and 1, got {target:g}{hint}")
        return None
    return target


def _threshold(
    reader: SpecReader,
    node: yaml.Node,
    entries: dict[str, yaml.Node],
    path: str,
    indicator: Indicator | None,
) -> tuple[str | None, float | None]:
    is_threshold = indicator is not None and indicator.kind == "threshold"
    op = value = None
    for key in ("op", "value"):
        if key in entries and indicator is not None and not is_threshold:
            reader.error(entries[key], child(path, key), "only for thresholdMetric indicators")
        elif key not in entries and is_threshold:
            reader.error(node, child(path, key), "required for a thresholdMetric indicator")
    if "op" in entries and is_threshold:
        op = reader.text(entries["op"], child(path, "op"))
        if op is not None and op not in OPS:
            reader.error(
                entries["op"], child(path, "op"), f"expected one of {', '.join(OPS)}, got {op!r}"
            )
            op = None
    if "value" in entries and is_threshold:
        value = reader.number(entries["value"], child(path, "value"))
    return (op, value) if value is not None else (None, None)


def _timeslices(
    reader: SpecReader,
    node: yaml.Node,
    entries: dict[str, yaml.Node],
    path: str,
    budgeting: str | None,
) -> tuple[float | None, int | None]:
    keys = ("timeSliceTarget", "timeSliceWindow")
    if budgeting != "timeslices":
        for key in keys:
            if key in entries and budgeting is not None:
                reader.error(
                    entries[key], child(path, key), "only with budgetingMethod: Timeslices"
                )
        return None, None
    target = window = None
    if "timeSliceTarget" not in entries or "timeSliceWindow" not in entries:
        missing = "timeSliceTarget" if "timeSliceTarget" not in entries else "timeSliceWindow"
        reader.error(node, child(path, missing), "required with budgetingMethod: Timeslices")
        return None, None
    t_node, t_path = entries["timeSliceTarget"], child(path, "timeSliceTarget")
    target = reader.number(t_node, t_path)
    if target is not None and not 0 < target <= 1:
        reader.error(t_node, t_path, f"expected a fraction in (0, 1], got {target:g}")
    w_node, w_path = entries["timeSliceWindow"], child(path, "timeSliceWindow")
    if isinstance(w_node, yaml.ScalarNode) and w_node.tag == "tag:yaml.org,2002:int":
        minutes = reader.number(w_node, w_path)  # a bare number is minutes (OpenSLO)
        window = int(minutes * 60_000) if minutes and minutes > 0 else None
        if window is None:
            reader.error(w_node, w_path, "must be greater than 0")
    else:
        window = read_shorthand_ms(reader, w_node, w_path)
    return target, window


def _objective_name(ctx: _Context, entries: dict[str, yaml.Node], index: int) -> str:
    if ctx.count == 1:
        return ctx.doc.name
    display = entries.get("displayName")
    slug = ""
    if isinstance(display, yaml.ScalarNode):
        slug = re.sub(r"[^a-z0-9]+", "-", display.value.lower()).strip("-")
    return f"{ctx.doc.name}-{slug or index}"


def _slo(
    doc: OpenSLODoc,
    service: str,
    window: Window,
    budgeting: str,
    description: str,
    alerting: Alerting,
    name: str,
    target: float,
    sli: object,
    slice_target: float | None,
    slice_ms: int | None,
    node: yaml.Node,
) -> SLO:
    return SLO(
        service=service,
        name=name,
        objective=target,
        window=window,
        sli=sli,  # type: ignore[arg-type]
        alerting=alerting,
        source=doc.reader.position(node if name != doc.name else doc.node),
        description=description,
        labels=dict(doc.labels),
        budgeting=budgeting,  # type: ignore[arg-type]
        timeslice_target=slice_target,
        timeslice_window_ms=slice_ms,
        spec_format="openslo",
    )
