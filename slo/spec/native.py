"""The native spec format: one service, a list of SLOs, every SLI kind sloscope knows.

::

    service: shop
    labels: {team: shop}
    slos:
      - name: availability
        objective: 99.9%          # or 0.999
        window: 30d               # or {calendar: month, time_zone: Europe/Berlin}
        sli:
          events:
            error_query: sum(rate(...{code=~"5.."}[{{.window}}]))
            total_query: sum(rate(...[{{.window}}]))
        alerting:
          page: {labels: {severity: critical}}
          ticket: false

The full schema is in ``docs/slo-specs.md``.
"""

from __future__ import annotations

import re

import yaml

from slo.spec.checks import read_duration, read_fraction_or_percent, read_labels, read_safe_name
from slo.spec.model import SLO, Alerting, AlertTier
from slo.spec.native_sli import read_native_sli
from slo.spec.windows import DEFAULT_WINDOW, read_native_window
from slo.spec.yaml_reader import SpecReader, child, item

__all__ = ["alert_name_for", "read_native"]

_TOP_KEYS = ("service", "labels", "slos")
_SLO_KEYS = (
    "name",
    "description",
    "objective",
    "window",
    "sli",
    "alerting",
    "labels",
    "min_traffic",
)
_ALERTING_KEYS = ("name", "labels", "annotations", "page", "ticket")
_TIER_KEYS = ("enabled", "labels", "annotations", "for")


def alert_name_for(*parts: str) -> str:
    """A CamelCase alert name from service and SLO names: ``shop``, ``p99-latency`` ->
    ``ShopP99Latency``."""
    words = [w for part in parts for w in re.split(r"[^A-Za-z0-9]+", part) if w]
    return "".join(w[:1].upper() + w[1:] for w in words)


def read_native(reader: SpecReader, doc: yaml.Node) -> list[SLO]:
    """The SLOs of one native document."""
    entries = reader.mapping(doc, "", _TOP_KEYS, ("service", "slos"))
    if entries is None:
        return []
    service = None
    if "service" in entries:
        service = read_safe_name(reader, entries["service"], "service")
    labels = read_labels(reader, entries.get("labels", _empty()), "labels") or {}
    items = reader.sequence(entries["slos"], "slos") if "slos" in entries else None
    if not items:
        if items is not None:
            reader.error(entries["slos"], "slos", "expected at least one SLO")
        return []
    slos = []
    for index, node in enumerate(items):
        slo = _read_slo(reader, node, item("slos", index), service, labels)
        if slo is not None:
            slos.append(slo)
    return slos


def _empty() -> yaml.Node:
    return yaml.MappingNode("tag:yaml.org,2002:map", [])


def _read_slo(
    reader: SpecReader, node: yaml.Node, path: str, service: str | None, labels: dict[str, str]
) -> SLO | None:
    entries = reader.mapping(node, path, _SLO_KEYS, ("name", "objective", "sli"))
    if entries is None:
        return None
    before = len(reader.errors)
    name = _optional(entries, "name", lambda n: read_safe_name(reader, n, child(path, "name")))
    objective = _optional(
        entries,
        "objective",
        lambda n: read_fraction_or_percent(reader, n, child(path, "objective")),
    )
    window = DEFAULT_WINDOW
    if "window" in entries:
        window = read_native_window(reader, entries["window"], child(path, "window")) or window
    sli = _optional(entries, "sli", lambda n: read_native_sli(reader, n, child(path, "sli")))
    slo_labels = read_labels(reader, entries.get("labels", _empty()), child(path, "labels"))
    description = ""
    if "description" in entries:
        description = reader.text(entries["description"], child(path, "description")) or ""
    min_traffic = None
    if "min_traffic" in entries:
        min_traffic = reader.number(entries["min_traffic"], child(path, "min_traffic"))
        if min_traffic is not None and min_traffic < 0:
            reader.error(entries["min_traffic"], child(path, "min_traffic"), "must be >= 0")
    default_alert = alert_name_for(service or "", name or "")
    alerting = _read_alerting(reader, entries.get("alerting"), path, default_alert)
    if len(reader.errors) > before or service is None or None in (name, objective, sli):
        return None
    return SLO(
        service=service,
        name=name,  # type: ignore[arg-type]
        objective=objective,  # type: ignore[arg-type]
        window=window,
        sli=sli,  # type: ignore[arg-type]
        alerting=alerting,
        source=reader.position(node),
        description=description,
        labels={**labels, **(slo_labels or {})},
        min_traffic=min_traffic,
        spec_format="native",
    )


def _optional(entries: dict[str, yaml.Node], key: str, read):
    return read(entries[key]) if key in entries else None


def _read_alerting(
    reader: SpecReader, node: yaml.Node | None, slo_path: str, default_name: str
) -> Alerting:
    path = child(slo_path, "alerting")
    entries = {} if node is None else reader.mapping(node, path, _ALERTING_KEYS) or {}
    name = default_name
    if "name" in entries:
        name = reader.text(entries["name"], child(path, "name")) or default_name
    labels = read_labels(reader, entries.get("labels", _empty()), child(path, "labels"))
    annotations = read_labels(
        reader, entries.get("annotations", _empty()), child(path, "annotations"), annotations=True
    )
    return Alerting(
        name=name,
        labels=labels or {},
        annotations=annotations or {},
        page=_read_tier(reader, entries.get("page"), child(path, "page")),
        ticket=_read_tier(reader, entries.get("ticket"), child(path, "ticket")),
    )


def _read_tier(reader: SpecReader, node: yaml.Node | None, path: str) -> AlertTier:
    """``page: false`` turns a tier off; a mapping sets its labels and annotations."""
    if node is None:
        return AlertTier()
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:bool":
        return AlertTier(enabled=bool(reader.boolean(node, path)))
    entries = reader.mapping(node, path, _TIER_KEYS) or {}
    enabled = True
    if "enabled" in entries:
        enabled = reader.boolean(entries["enabled"], child(path, "enabled")) is not False
    labels = read_labels(reader, entries.get("labels", _empty()), child(path, "labels"))
    annotations = read_labels(
        reader, entries.get("annotations", _empty()), child(path, "annotations"), annotations=True
    )
    for_ms = 0
    if "for" in entries:
        for_ms = read_duration(reader, entries["for"], child(path, "for"), allow_zero=True) or 0
    return AlertTier(
        enabled=enabled, labels=labels or {}, annotations=annotations or {}, for_ms=for_ms
    )
