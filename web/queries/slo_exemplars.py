"""Exemplar traces of an SLO's time range: exemplars on the buckets of the histograms its SLI
reads, and on the service's spanmetrics duration buckets, bad ones first.

An exemplar is *bad* when it counts against the SLO: slower than a latency SLI's threshold,
on a series its error query selects, or on a failed span series.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.convert.spans_to_red import DURATION
from collector.model import METRIC_NAME, Labels
from collector.store.matchers import Matcher
from slo.spec.model import SLO
from slo.spec.sli_queries import latency_histogram, sli_queries
from web.queries import Sources
from web.queries.slo_selectors import query_selectors, sli_selectors

__all__ = ["ExemplarRow", "exemplar_matchers", "slo_exemplars"]

_SUFFIXES = ("_bucket", "_count", "_sum")
_SHOWN_LABELS = ("http_route", "http_request_method", "http_response_status_code", "span_name",
                 "status_code", "page", "device_class")  # fmt: skip


@dataclass(frozen=True)
class ExemplarRow:
    trace_id: str
    span_id: str
    time_ms: int
    value: float
    metric: str
    series: dict[str, str]
    bad: bool


def _bucket_matchers(matchers: list[Matcher]) -> list[Matcher] | None:
    """The ``_bucket`` series of a histogram selector (``le`` dropped), else None."""
    name = next((m.value for m in matchers if m.name == METRIC_NAME), "")
    base = next((name[: -len(s)] for s in _SUFFIXES if name.endswith(s)), None)
    if base is None:
        return None
    rest = [m for m in matchers if m.name not in (METRIC_NAME, "le")]
    return [Matcher.equal(METRIC_NAME, base + "_bucket"), *rest]


def exemplar_matchers(slo: SLO) -> list[list[Matcher]]:
    """Matcher sets of the histogram buckets whose exemplars belong to this SLO."""
    sets: list[list[Matcher]] = []
    for matchers in sli_selectors(slo):
        bucket = _bucket_matchers(matchers)
        if bucket is not None and bucket not in sets:
            sets.append(bucket)
    spans = [
        Matcher.equal(METRIC_NAME, f"{DURATION}_bucket"),
        Matcher.equal("service_name", slo.service),
        Matcher.equal("span_kind", "SPAN_KIND_SERVER"),
    ]
    if spans not in sets:
        sets.append(spans)
    return sets


def _bad_test(slo: SLO):
    histogram = latency_histogram(slo.sli)
    error_sets = [
        [m for m in ms if m.name not in (METRIC_NAME, "le")]
        for ms in query_selectors(sli_queries(slo.sli).error_events)
    ]

    def bad(series: Labels, value: float) -> bool:
        if histogram is not None:
            return value > histogram[2]
        if series.get("status_code") == "STATUS_CODE_ERROR":
            return True
        return any(
            error_set and all(m.matches(series.get(m.name)) for m in error_set)
            for error_set in error_sets
        )

    return bad


def slo_exemplars(
    sources: Sources, slo: SLO, start_ms: int, end_ms: int, limit: int = 20
) -> list[ExemplarRow] | None:
    """Up to ``limit`` exemplars with a trace id in ``[start, end]``, bad ones first, then
    slowest first; None when the server keeps no exemplars."""
    if sources.exemplars is None:
        return None
    bad = _bad_test(slo)
    rows = {}
    for series, exemplars in sources.exemplars.query(exemplar_matchers(slo), start_ms, end_ms):
        shown = {k: series.get(k) for k in _SHOWN_LABELS if series.get(k)}
        for e in exemplars:
            trace_id = e.labels.get("trace_id")
            if not trace_id:
                continue
            rows[(trace_id, e.timestamp_ms)] = ExemplarRow(
                trace_id=trace_id,
                span_id=e.labels.get("span_id"),
                time_ms=e.timestamp_ms,
                value=e.value,
                metric=series.get(METRIC_NAME),
                series=shown,
                bad=bad(series, e.value),
            )
    ordered = sorted(rows.values(), key=lambda r: (not r.bad, -r.value, -r.time_ms))
    return ordered[:limit]
