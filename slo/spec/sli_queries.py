"""Every SLI kind as PromQL templates over ``{{.window}}`` (the range Sloth substitutes).

>>> q = sli_queries(EventsSLI(error_query="sum(rate(errs[{{.window}}]))",
...                           total_query="sum(rate(reqs[{{.window}}]))"))
>>> q.error_ratio
'(sum(rate(errs[{{.window}}])))\\n/\\n(sum(rate(reqs[{{.window}}])))'

Kinds with events (events, latency, Web Vitals, spans) give per-second rates of bad and of all
events, so budgets and burn rates can be computed from counts; ratio and bool-gauge SLIs only
give an error ratio.
"""

from __future__ import annotations

from collector.convert.spans_to_red import CALLS, DURATION
from collector.convert.web_vitals import VITALS
from slo.spec.le_format import le_matcher
from slo.spec.model import (
    SLI,
    BoolGaugeSLI,
    EventsSLI,
    LatencySLI,
    RatioSLI,
    SLIQueries,
    SpanSLI,
    WebVitalSLI,
)

__all__ = ["WINDOW", "latency_histogram", "sli_queries", "web_vital_threshold"]

#: The placeholder every template uses for the range of ``rate()`` and friends.
WINDOW = "{{.window}}"


def sli_queries(sli: SLI) -> SLIQueries:
    """The error ratio (and event rates, where the kind has events) of *sli*."""
    if isinstance(sli, EventsSLI):
        return _events(sli)
    if isinstance(sli, RatioSLI):
        return SLIQueries(error_ratio=sli.error_ratio_query)
    histogram = latency_histogram(sli)
    if histogram is not None:
        return _slow_requests(*histogram)
    if isinstance(sli, SpanSLI):
        return _span_errors(sli)
    if isinstance(sli, BoolGaugeSLI):
        # A subquery at the default resolution averages the probe over the window; a failed
        # probe (0) is bad time, so the error ratio is the share of zeros.
        return SLIQueries(error_ratio=f"1 - avg_over_time(({sli.query})[{WINDOW}:])")
    raise TypeError(f"not an SLI: {sli!r}")


def _events(sli: EventsSLI) -> SLIQueries:
    total = sli.total_query
    if sli.error_query is not None:
        errors = sli.error_query
    elif sli.good_query is not None:
        errors = f"({total})\n-\n({sli.good_query})"
    else:
        raise ValueError("EventsSLI needs error_query or good_query")
    return SLIQueries(
        error_ratio=f"({errors})\n/\n({total})",
        error_events=errors,
        total_events=total,
    )


def _slow_requests(metric: str, selector: str, threshold: float) -> SLIQueries:
    """Requests above *threshold*: all of ``_count`` minus the ``le`` bucket of the threshold."""
    inner = selector.strip().rstrip(",")
    le = le_matcher(threshold)
    bucket_selector = f"{inner},{le}" if inner else le
    total = f"sum(rate({metric}_count{{{inner}}}[{WINDOW}]))"
    fast = f"sum(rate({metric}_bucket{{{bucket_selector}}}[{WINDOW}]))"
    errors = f"({total}\n-\n{fast})"
    return SLIQueries(
        error_ratio=f"{errors}\n/\n{total}",
        error_events=errors,
        total_events=total,
    )


def web_vital_threshold(sli: WebVitalSLI) -> float:
    """The "good" threshold in the histogram's unit (seconds; CLS unitless)."""
    if sli.threshold is not None:
        return sli.threshold
    return VITALS[sli.metric.upper()].good


def latency_histogram(sli: SLI) -> tuple[str, str, float] | None:
    """(histogram base name, label matchers, threshold) of a latency-like SLI, else None."""
    if isinstance(sli, LatencySLI):
        return sli.metric, sli.selector, sli.threshold_seconds
    if isinstance(sli, WebVitalSLI):
        matchers = [f"app={_quote(sli.app)}"]
        if sli.page is not None:
            matchers.append(f"page={_quote(sli.page)}")
        if sli.device_class is not None:
            matchers.append(f"device_class={_quote(sli.device_class)}")
        metric = VITALS[sli.metric.upper()].metric
        return metric, ",".join(matchers), web_vital_threshold(sli)
    if isinstance(sli, SpanSLI) and sli.latency_threshold_seconds is not None:
        return DURATION, _span_selector(sli), sli.latency_threshold_seconds
    return None


def _span_selector(sli: SpanSLI) -> str:
    matchers = [f"service_name={_quote(sli.service)}", f"span_kind={_quote(sli.span_kind)}"]
    if sli.span_name is not None:
        matchers.append(f"span_name={_quote(sli.span_name)}")
    return ",".join(matchers)


def _span_errors(sli: SpanSLI) -> SLIQueries:
    selector = _span_selector(sli)
    total = f"sum(rate({CALLS}{{{selector}}}[{WINDOW}]))"
    # A service without a single failed call has no error series at all: count it as zero
    # errors rather than as "no data".
    failed = f'{selector},status_code="STATUS_CODE_ERROR"'
    errors = f"(sum(rate({CALLS}{{{failed}}}[{WINDOW}])) or vector(0))"
    return SLIQueries(
        error_ratio=f"({errors})\n/\n({total})",
        error_events=errors,
        total_events=total,
    )


def _quote(value: str) -> str:
    """A PromQL double-quoted string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
