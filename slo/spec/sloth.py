"""Sloth specs: ``version: prometheus/v1`` files and ``PrometheusServiceLevel`` objects.

Both carry the same SLOs; the Kubernetes form spells keys in camelCase (``errorQuery``,
``pageAlert``). Objectives are percents; Sloth's period is 30 days (its default), and the
checks are Sloth's own: safe names, ``{{.window}}`` in every query, an alert name unless both
alerts are disabled. SLI and SLO plugins are reported as unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from slo.spec.checks import objective_from_percent, read_labels, read_promql, read_safe_name
from slo.spec.model import SLI, SLO, Alerting, AlertTier, EventsSLI, RatioSLI
from slo.spec.windows import DEFAULT_WINDOW
from slo.spec.yaml_reader import SpecReader, child, item

__all__ = ["read_sloth", "read_sloth_k8s"]


@dataclass(frozen=True)
class _Keys:
    """Key spellings of one Sloth flavour."""

    error_query: str
    total_query: str
    error_ratio_query: str
    page_alert: str
    ticket_alert: str
    slo_plugins: str


_PLAIN = _Keys(
    "error_query", "total_query", "error_ratio_query", "page_alert", "ticket_alert", "slo_plugins"
)
_K8S = _Keys(
    "errorQuery", "totalQuery", "errorRatioQuery", "pageAlert", "ticketAlert", "sloPlugins"
)
_SLO_KEYS = ("name", "description", "objective", "plugins", "labels", "sli", "alerting")


def read_sloth(reader: SpecReader, doc: yaml.Node) -> list[SLO]:
    """A ``version: prometheus/v1`` document."""
    keys = ("version", "service", "labels", "slos", _PLAIN.slo_plugins)
    entries = reader.mapping(doc, "", keys, ("version", "service", "slos"))
    if entries is None:
        return []
    return _read_spec(reader, entries, "", _PLAIN)


def read_sloth_k8s(reader: SpecReader, doc: yaml.Node) -> list[SLO]:
    """A ``sloth.slok.dev/v1`` ``PrometheusServiceLevel`` object."""
    top = reader.mapping(doc, "", ("apiVersion", "kind", "metadata", "spec", "status"), ("spec",))
    if top is None or "spec" not in top:
        return []
    keys = ("service", "labels", "slos", _K8S.slo_plugins)
    entries = reader.mapping(top["spec"], "spec", keys, ("service", "slos"))
    if entries is None:
        return []
    return _read_spec(reader, entries, "spec", _K8S)


def _read_spec(
    reader: SpecReader, entries: dict[str, yaml.Node], path: str, keys: _Keys
) -> list[SLO]:
    if keys.slo_plugins in entries:
        reader.error(
            entries[keys.slo_plugins],
            child(path, keys.slo_plugins),
            "Sloth SLO plugins are not supported",
        )
    service = None
    if "service" in entries:
        service = read_safe_name(reader, entries["service"], child(path, "service"))
    labels: dict[str, str] | None = {}
    if "labels" in entries:
        labels = read_labels(reader, entries["labels"], child(path, "labels"))
    slos_path = child(path, "slos")
    items = reader.sequence(entries["slos"], slos_path) if "slos" in entries else None
    out = []
    for index, node in enumerate(items or ()):
        slo = _read_slo(reader, node, item(slos_path, index), keys, service, labels or {})
        if slo is not None:
            out.append(slo)
    return out


def _read_slo(
    reader: SpecReader,
    node: yaml.Node,
    path: str,
    keys: _Keys,
    service: str | None,
    labels: dict[str, str],
) -> SLO | None:
    entries = reader.mapping(node, path, _SLO_KEYS, ("name", "objective", "sli"))
    if entries is None:
        return None
    before = len(reader.errors)
    name = objective = sli = None
    if "name" in entries:
        name = read_safe_name(reader, entries["name"], child(path, "name"))
    if "objective" in entries:
        o_path = child(path, "objective")
        percent = reader.number(entries["objective"], o_path)
        if percent is not None:
            objective = objective_from_percent(reader, entries["objective"], o_path, percent)
    if "plugins" in entries:
        reader.error(
            entries["plugins"], child(path, "plugins"), "Sloth SLO plugins are not supported"
        )
    if "sli" in entries:
        sli = _read_sli(reader, entries["sli"], child(path, "sli"), keys)
    slo_labels: dict[str, str] | None = {}
    if "labels" in entries:
        slo_labels = read_labels(reader, entries["labels"], child(path, "labels"))
    description = ""
    if "description" in entries:
        description = (
            reader.text(entries["description"], child(path, "description"), allow_empty=True) or ""
        )
    alerting = _read_alerting(reader, entries.get("alerting"), node, child(path, "alerting"), keys)
    if len(reader.errors) > before or None in (service, name, objective, sli, alerting):
        return None
    return SLO(
        service=service,  # type: ignore[arg-type]
        name=name,  # type: ignore[arg-type]
        objective=objective,  # type: ignore[arg-type]
        window=DEFAULT_WINDOW,
        sli=sli,  # type: ignore[arg-type]
        alerting=alerting,  # type: ignore[arg-type]
        source=reader.position(node),
        description=description,
        labels={**labels, **(slo_labels or {})},
        spec_format="sloth",
    )


def _read_sli(reader: SpecReader, node: yaml.Node, path: str, keys: _Keys) -> SLI | None:
    entries = reader.mapping(node, path, ("raw", "events", "plugin"))
    if entries is None:
        return None
    if len(entries) != 1:
        reader.error(node, path, "expected exactly one SLI type (events, raw or plugin)")
        return None
    if "plugin" in entries:
        reader.error(
            entries["plugin"],
            child(path, "plugin"),
            "Sloth SLI plugins are not supported; write the queries as events or raw",
        )
        return None
    if "raw" in entries:
        r_path = child(path, "raw")
        raw = reader.mapping(
            entries["raw"], r_path, (keys.error_ratio_query,), (keys.error_ratio_query,)
        )
        if not raw:
            return None
        query = read_promql(
            reader, raw[keys.error_ratio_query], child(r_path, keys.error_ratio_query)
        )
        return None if query is None else RatioSLI(query)
    e_path = child(path, "events")
    wanted = (keys.error_query, keys.total_query)
    events = reader.mapping(entries["events"], e_path, wanted, wanted)
    if events is None or len(events) != 2:
        return None
    error = read_promql(reader, events[keys.error_query], child(e_path, keys.error_query))
    total = read_promql(reader, events[keys.total_query], child(e_path, keys.total_query))
    if error is None or total is None:
        return None
    if error == total:
        reader.error(entries["events"], e_path, "both error and total queries can't be the same")
        return None
    return EventsSLI(error_query=error, total_query=total)


def _read_alerting(
    reader: SpecReader, node: yaml.Node | None, slo_node: yaml.Node, path: str, keys: _Keys
) -> Alerting | None:
    allowed = ("name", "labels", "annotations", keys.page_alert, keys.ticket_alert)
    entries = {} if node is None else reader.mapping(node, path, allowed)
    if entries is None:
        return None
    name = ""
    if "name" in entries:
        name = reader.text(entries["name"], child(path, "name")) or ""
    labels = annotations = {}
    if "labels" in entries:
        labels = read_labels(reader, entries["labels"], child(path, "labels")) or {}
    if "annotations" in entries:
        annotations = (
            read_labels(
                reader, entries["annotations"], child(path, "annotations"), annotations=True
            )
            or {}
        )
    page = _read_tier(reader, entries.get(keys.page_alert), child(path, keys.page_alert))
    ticket = _read_tier(reader, entries.get(keys.ticket_alert), child(path, keys.ticket_alert))
    if not name and (page.enabled or ticket.enabled):
        reader.error(
            node or slo_node,
            child(path, "name"),
            "an alert name is required unless both alerts are disabled",
        )
        return None
    return Alerting(name=name, labels=labels, annotations=annotations, page=page, ticket=ticket)


def _read_tier(reader: SpecReader, node: yaml.Node | None, path: str) -> AlertTier:
    if node is None:
        return AlertTier()
    entries = reader.mapping(node, path, ("disable", "labels", "annotations")) or {}
    disabled = False
    if "disable" in entries:
        disabled = bool(reader.boolean(entries["disable"], child(path, "disable")))
    labels = annotations = {}
    if "labels" in entries:
        labels = read_labels(reader, entries["labels"], child(path, "labels")) or {}
    if "annotations" in entries:
        annotations = (
            read_labels(
                reader, entries["annotations"], child(path, "annotations"), annotations=True
            )
            or {}
        )
    return AlertTier(enabled=not disabled, labels=labels, annotations=annotations)
