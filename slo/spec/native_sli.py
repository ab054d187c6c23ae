"""The ``sli:`` block of a native spec: one of six SLI kinds.

See ``docs/slo-specs.md`` for the schema; every key path in errors is relative to the SLO.
"""

from __future__ import annotations

import re

import yaml

from collector.convert.spans_to_red import DEFAULT_BUCKETS_SECONDS
from collector.convert.web_vitals import VITALS
from collector.promql.series_notation import NotationError, parse_duration_ms
from slo.spec.checks import check_promql, read_promql
from slo.spec.le_format import go_float
from slo.spec.model import (
    SLI,
    BoolGaugeSLI,
    EventsSLI,
    LatencySLI,
    RatioSLI,
    SpanSLI,
    WebVitalSLI,
)
from slo.spec.yaml_reader import SpecReader, child, describe

__all__ = ["SLI_KINDS", "read_native_sli"]

SLI_KINDS = ("events", "ratio", "latency", "web_vital", "span", "bool_gauge")
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_SPAN_KINDS = ("SERVER", "CONSUMER")  # the kinds the collector turns into RED metrics
_DEVICE_CLASSES = ("mobile", "tablet", "desktop")


def read_native_sli(reader: SpecReader, node: yaml.Node, path: str) -> SLI | None:
    entries = reader.mapping(node, path, SLI_KINDS)
    if entries is None:
        return None
    if len(entries) != 1:
        kinds = ", ".join(SLI_KINDS)
        reader.error(node, path, f"expected exactly one SLI kind ({kinds}), got {len(entries)}")
        return None
    kind, body = next(iter(entries.items()))
    return _READERS[kind](reader, body, child(path, kind))


def _events(reader: SpecReader, node: yaml.Node, path: str) -> SLI | None:
    keys = ("error_query", "good_query", "total_query")
    entries = reader.mapping(node, path, keys, ("total_query",))
    if entries is None:
        return None
    if ("error_query" in entries) == ("good_query" in entries):
        reader.error(node, path, "expected exactly one of error_query or good_query")
        return None
    queries = {k: read_promql(reader, v, child(path, k)) for k, v in entries.items()}
    if None in queries.values():
        return None
    numerator = queries.get("error_query") or queries.get("good_query")
    if numerator == queries["total_query"]:
        reader.error(node, path, "the numerator and total_query must differ")
        return None
    return EventsSLI(
        error_query=queries.get("error_query"),
        total_query=queries["total_query"],  # type: ignore[arg-type]
        good_query=queries.get("good_query"),
    )


def _ratio(reader: SpecReader, node: yaml.Node, path: str) -> SLI | None:
    entries = reader.mapping(node, path, ("error_ratio_query",), ("error_ratio_query",))
    if not entries:
        return None
    query = read_promql(reader, entries["error_ratio_query"], child(path, "error_ratio_query"))
    return None if query is None else RatioSLI(query)


def read_seconds(reader: SpecReader, node: yaml.Node, path: str) -> float | None:
    """A positive time: a number of seconds (``0.3``) or a duration (``300ms``)."""
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        try:
            seconds = parse_duration_ms(node.value) / 1000
        except NotationError:
            reader.error(
                node, path, f"expected seconds (0.3) or a duration (300ms), got {node.value!r}"
            )
            return None
    else:
        seconds = reader.number(node, path)
    if seconds is not None and seconds <= 0:
        reader.error(node, path, "must be greater than 0")
        return None
    return seconds


def _latency(reader: SpecReader, node: yaml.Node, path: str) -> SLI | None:
    entries = reader.mapping(
        node, path, ("metric", "threshold", "selector"), ("metric", "threshold")
    )
    if entries is None or len(entries) < 2:
        return None
    metric = reader.text(entries["metric"], child(path, "metric"))
    threshold = read_seconds(reader, entries["threshold"], child(path, "threshold"))
    selector = ""
    if "selector" in entries:
        selector = reader.text(entries["selector"], child(path, "selector"), allow_empty=True)
    if metric is not None and not _METRIC_NAME.fullmatch(metric):
        reader.error(entries["metric"], child(path, "metric"), f"not a metric name: {metric!r}")
        return None
    if metric is not None and metric.endswith(("_bucket", "_count", "_sum")):
        reader.error(
            entries["metric"],
            child(path, "metric"),
            "give the histogram's base name, without _bucket/_count/_sum",
        )
        return None
    if metric is None or threshold is None or selector is None:
        return None
    selector = selector.strip().strip("{}").strip()
    problem = check_promql(f"{metric}_count{{{selector}}}")
    if problem is not None:
        reader.error(
            entries["selector"],
            child(path, "selector"),
            f'expected label matchers like job="shop": {problem}',
        )
        return None
    return LatencySLI(metric, threshold, selector)


def _check_bucket(
    reader: SpecReader,
    node: yaml.Node,
    path: str,
    value: float,
    buckets: tuple[float, ...],
    what: str,
) -> bool:
    if value in buckets:
        return True
    bounds = ", ".join(go_float(b) for b in buckets)
    reader.error(node, path, f"{go_float(value)} is not a bucket boundary of {what} ({bounds})")
    return False


def _web_vital(reader: SpecReader, node: yaml.Node, path: str) -> SLI | None:
    keys = ("app", "metric", "page", "device_class", "threshold")
    entries = reader.mapping(node, path, keys, ("app", "metric"))
    if entries is None or "app" not in entries or "metric" not in entries:
        return None
    texts = {
        k: reader.text(entries[k], child(path, k))
        for k in ("app", "metric", "page", "device_class")
        if k in entries
    }
    metric = (texts.get("metric") or "").lower()
    if texts.get("metric") is not None and metric.upper() not in VITALS:
        reader.error(
            entries["metric"],
            child(path, "metric"),
            f"expected one of lcp, inp, cls, fcp, ttfb, got {describe(entries['metric'])}",
        )
        return None
    device = texts.get("device_class")
    if device is not None and device not in _DEVICE_CLASSES:
        reader.error(
            entries["device_class"],
            child(path, "device_class"),
            "expected mobile, tablet or desktop",
        )
        return None
    threshold = None
    if "threshold" in entries and metric:
        t_node, t_path = entries["threshold"], child(path, "threshold")
        spec = VITALS[metric.upper()]
        if metric == "cls":  # unitless
            threshold = reader.number(t_node, t_path)
        else:
            threshold = read_seconds(reader, t_node, t_path)
        if threshold is None:
            return None
        if not _check_bucket(reader, t_node, t_path, threshold, spec.buckets, spec.metric):
            return None
    if None in texts.values():
        return None
    return WebVitalSLI(texts["app"], metric, texts.get("page"), device, threshold)  # type: ignore[arg-type]


def _span(reader: SpecReader, node: yaml.Node, path: str) -> SLI | None:
    keys = ("service", "span_name", "span_kind", "latency_threshold")
    entries = reader.mapping(node, path, keys, ("service",))
    if entries is None or "service" not in entries:
        return None
    texts = {
        k: reader.text(entries[k], child(path, k))
        for k in ("service", "span_name", "span_kind")
        if k in entries
    }
    kind = (texts.get("span_kind") or "server").upper().removeprefix("SPAN_KIND_")
    if texts.get("span_kind") is not None and kind not in _SPAN_KINDS:
        reader.error(
            entries["span_kind"],
            child(path, "span_kind"),
            "expected server or consumer (the kinds with RED metrics)",
        )
        return None
    threshold = None
    if "latency_threshold" in entries:
        t_path = child(path, "latency_threshold")
        threshold = read_seconds(reader, entries["latency_threshold"], t_path)
        if threshold is None or not _check_bucket(
            reader,
            entries["latency_threshold"],
            t_path,
            threshold,
            DEFAULT_BUCKETS_SECONDS,
            "traces_span_metrics_duration_seconds",
        ):
            return None
    if None in texts.values():
        return None
    return SpanSLI(texts["service"], texts.get("span_name"), f"SPAN_KIND_{kind}", threshold)  # type: ignore[arg-type]


def _bool_gauge(reader: SpecReader, node: yaml.Node, path: str) -> SLI | None:
    entries = reader.mapping(node, path, ("query",), ("query",))
    if not entries:
        return None
    q_path = child(path, "query")
    query = read_promql(reader, entries["query"], q_path, require_window=False)
    if query is None:
        return None
    if check_promql(f"avg_over_time(({query})[5m:])") is not None:
        reader.error(entries["query"], q_path, "expected an instant vector of 0/1 values")
        return None
    return BoolGaugeSLI(query)


_READERS = {
    "events": _events,
    "ratio": _ratio,
    "latency": _latency,
    "web_vital": _web_vital,
    "span": _span,
    "bool_gauge": _bool_gauge,
}
