"""OpenSLO ``SLI`` specs (``ratioMetric``, ``thresholdMetric``) read into model SLIs.

Only Prometheus metric sources are supported (``type: Prometheus``, or a ``metricSourceRef``
to a ``DataSource`` of that type); the query is ``spec.query``. A counter query without
``{{.window}}`` must be a plain series selector and becomes ``sum(rate(<sel>[{{.window}}]))``.
A threshold metric compares its (instant) query with the objective's ``op`` and ``value``
and becomes a 0/1 gauge, so its error ratio is the share of bad time.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from collector.promql.parser import ast, parse
from slo.spec.checks import has_window, read_promql
from slo.spec.model import SLI, BoolGaugeSLI, EventsSLI, RatioSLI
from slo.spec.openslo_docs import OpenSLODoc, OpenSLOIndex
from slo.spec.yaml_reader import SpecReader, child

__all__ = ["Indicator", "read_indicator_spec", "to_model_sli", "OPS"]

OPS = {"lte": "<=", "gte": ">=", "lt": "<", "gt": ">"}
_SLI_KEYS = ("description", "thresholdMetric", "ratioMetric")
_RATIO_KEYS = ("counter", "good", "bad", "total", "rawType", "raw")


@dataclass(frozen=True)
class Indicator:
    """A checked OpenSLO SLI: which kind, and its PromQL."""

    kind: str  # "good", "bad", "raw-success", "raw-failure" or "threshold"
    query: str
    total_query: str | None = None


def read_indicator_spec(
    reader: SpecReader, node: yaml.Node, path: str, index: OpenSLOIndex
) -> Indicator | None:
    entries = reader.mapping(node, path, _SLI_KEYS)
    if entries is None:
        return None
    metrics = [k for k in ("thresholdMetric", "ratioMetric") if k in entries]
    if len(metrics) != 1:
        reader.error(node, path, "expected exactly one of thresholdMetric or ratioMetric")
        return None
    if "description" in entries:
        reader.text(entries["description"], child(path, "description"), allow_empty=True)
    if metrics[0] == "thresholdMetric":
        t_path = child(path, "thresholdMetric")
        query = _metric_query(reader, entries["thresholdMetric"], t_path, index, None)
        return None if query is None else Indicator("threshold", query)
    return _ratio(reader, entries["ratioMetric"], child(path, "ratioMetric"), index)


def _ratio(reader: SpecReader, node: yaml.Node, path: str, index: OpenSLOIndex) -> Indicator | None:
    entries = reader.mapping(node, path, _RATIO_KEYS)
    if entries is None:
        return None
    counter = True
    if "counter" in entries:
        counter = reader.boolean(entries["counter"], child(path, "counter")) is not False
    if "raw" in entries:
        return _raw(reader, node, path, entries, index)
    numerators = [k for k in ("good", "bad") if k in entries]
    if len(numerators) != 1 or "total" not in entries:
        reader.error(node, path, "expected good or bad (not both) with total, or raw with rawType")
        return None
    kind = numerators[0]
    query = _metric_query(reader, entries[kind], child(path, kind), index, counter)
    total = _metric_query(reader, entries["total"], child(path, "total"), index, counter)
    if query is None or total is None:
        return None
    return Indicator(kind, query, total)


def _raw(
    reader: SpecReader,
    node: yaml.Node,
    path: str,
    entries: dict[str, yaml.Node],
    index: OpenSLOIndex,
) -> Indicator | None:
    if any(k in entries for k in ("good", "bad", "total")):
        reader.error(node, path, "raw cannot be combined with good, bad or total")
        return None
    if "rawType" not in entries:
        reader.error(node, child(path, "rawType"), "required with raw (success or failure)")
        return None
    raw_type = reader.text(entries["rawType"], child(path, "rawType"))
    if raw_type is not None and raw_type not in ("success", "failure"):
        reader.error(
            entries["rawType"],
            child(path, "rawType"),
            f"expected success or failure, got {raw_type!r}",
        )
        return None
    query = _metric_query(reader, entries["raw"], child(path, "raw"), index, None)
    if query is None or raw_type is None:
        return None
    return Indicator(f"raw-{raw_type}", query)


def _metric_query(
    reader: SpecReader, node: yaml.Node, path: str, index: OpenSLOIndex, counter: bool | None
) -> str | None:
    """``{metricSource: {metricSourceRef?, type?, spec: {query}}}`` -> the PromQL."""
    outer = reader.mapping(node, path, ("metricSource",), ("metricSource",))
    if not outer:
        return None
    path = child(path, "metricSource")
    source = reader.mapping(
        outer["metricSource"], path, ("metricSourceRef", "type", "spec"), ("spec",)
    )
    if source is None or "spec" not in source or not _is_prometheus(reader, source, path, index):
        return None
    spec_path = child(path, "spec")
    spec = source["spec"]
    if not isinstance(spec, yaml.MappingNode):
        reader.error(spec, spec_path, "expected a mapping with a query")
        return None
    queries = {k.value: v for k, v in spec.value if isinstance(k, yaml.ScalarNode)}
    if "query" not in queries:
        reader.error(spec, child(spec_path, "query"), "required key is missing")
        return None
    q_path = child(spec_path, "query")
    query = read_promql(reader, queries["query"], q_path, require_window=False)
    if query is None:
        return None
    return _windowed(reader, queries["query"], q_path, query, counter)


def _windowed(
    reader: SpecReader, node: yaml.Node, path: str, query: str, counter: bool | None
) -> str | None:
    if counter is None:  # threshold and raw queries are read at an instant
        return query
    if has_window(query):
        return query
    if counter and isinstance(parse(query), ast.VectorSelector):
        return f"sum(rate({query}[{{{{.window}}}}]))"
    reader.error(
        node,
        path,
        "without {{.window}} the query must be a series selector of a counter (counter: true)",
    )
    return None


def _is_prometheus(
    reader: SpecReader, source: dict[str, yaml.Node], path: str, index: OpenSLOIndex
) -> bool:
    if "type" in source:
        kind = reader.text(source["type"], child(path, "type"))
        if kind is not None and kind.lower() != "prometheus":
            reader.error(
                source["type"],
                child(path, "type"),
                f"only Prometheus metric sources are supported, got {kind!r}",
            )
            return False
        return kind is not None
    if "metricSourceRef" not in source:
        reader.error(
            source["spec"], child(path, "type"), "required when there is no metricSourceRef"
        )
        return False
    ref_path = child(path, "metricSourceRef")
    doc = index.lookup("DataSource", reader, source["metricSourceRef"], ref_path)
    if doc is None:
        return False
    kind = index.parsed(doc, _data_source_type)
    if kind is not None and str(kind).lower() != "prometheus":
        reader.error(
            source["metricSourceRef"],
            ref_path,
            f"DataSource {doc.name!r} has type {kind!r}; only Prometheus is supported",
        )
        return False
    return kind is not None


def _data_source_type(doc: OpenSLODoc) -> str | None:
    reader = doc.reader
    entries = (
        reader.mapping(doc.spec, doc.path, ("description", "type", "connectionDetails"), ("type",))
        if doc.spec is not None
        else None
    )
    if not entries or "type" not in entries:
        return None
    return reader.text(entries["type"], child(doc.path, "type"))


def to_model_sli(indicator: Indicator, op: str | None, value: float | None) -> SLI:
    """The model SLI of *indicator* under an objective (*op*/*value* for thresholds)."""
    if indicator.kind == "good":
        return EventsSLI(
            error_query=None, total_query=indicator.total_query or "", good_query=indicator.query
        )
    if indicator.kind == "bad":
        return EventsSLI(error_query=indicator.query, total_query=indicator.total_query or "")
    if indicator.kind.startswith("raw-"):
        ratio = indicator.query
        if not has_window(ratio):  # a stored ratio: average it over the window
            ratio = f"avg_over_time(({ratio})[{{{{.window}}}}:])"
        if indicator.kind == "raw-success":
            ratio = f"1 - ({ratio})"
        return RatioSLI(ratio)
    return BoolGaugeSLI(f"({indicator.query}) {OPS[op or 'lte']} bool {value!r}")
