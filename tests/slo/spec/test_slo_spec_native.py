"""The native spec format: every SLI kind, windows, alert tiers, and every error path."""

from __future__ import annotations

import textwrap

import pytest

from slo.spec import load_slo_texts
from slo.spec.model import (
    BoolGaugeSLI,
    EventsSLI,
    LatencySLI,
    RatioSLI,
    SourcePosition,
    SpanSLI,
    WebVitalSLI,
    Window,
)

DAY = 86_400_000
EVENTS = """\
      events:
        error_query: sum(rate(errors_total[{{.window}}]))
        total_query: sum(rate(requests_total[{{.window}}]))
"""


def load(text: str):
    return load_slo_texts({"s.yml": textwrap.dedent(text)})


def one_slo(sli_block: str, extra: str = ""):
    text = f"service: shop\nslos:\n  - name: x\n    objective: 0.99\n{extra}    sli:\n{sli_block}"
    slos, errors = load_slo_texts({"s.yml": text})
    assert errors == []
    assert len(slos) == 1
    return slos[0]


def test_events_slo_with_defaults():
    slo = one_slo(EVENTS)
    assert slo.id == "shop-x"
    assert slo.objective == 0.99
    assert slo.window == Window("rolling", 30 * DAY)
    assert slo.sli == EventsSLI(
        error_query="sum(rate(errors_total[{{.window}}]))",
        total_query="sum(rate(requests_total[{{.window}}]))",
    )
    assert slo.source == SourcePosition("s.yml", 3, 5)
    assert slo.spec_format == "native"
    assert slo.alerting.name == "ShopX"
    assert slo.alerting.page.enabled and slo.alerting.ticket.enabled


def test_good_query_and_spaced_window_placeholder_is_normalised():
    block = """\
      events:
        good_query: sum(rate(ok_total[{{ .window }}]))
        total_query: sum(rate(requests_total[{{.window}}]))
"""
    sli = one_slo(block).sli
    assert sli == EventsSLI(
        None, "sum(rate(requests_total[{{.window}}]))", "sum(rate(ok_total[{{.window}}]))"
    )


def test_ratio_sli():
    block = "      ratio:\n        error_ratio_query: avg_over_time(err_ratio[{{.window}}])\n"
    assert one_slo(block).sli == RatioSLI("avg_over_time(err_ratio[{{.window}}])")


@pytest.mark.parametrize(
    ("threshold", "seconds"), [("500ms", 0.5), ("0.25", 0.25), ("1", 1.0), ("2s", 2.0)]
)
def test_latency_sli_threshold_as_duration_or_seconds(threshold, seconds):
    block = f"""\
      latency:
        metric: http_server_request_duration_seconds
        threshold: {threshold}
        selector: '{{job="shop", http_route!="/healthz"}}'
"""
    sli = one_slo(block).sli
    assert sli == LatencySLI(
        "http_server_request_duration_seconds", seconds, 'job="shop", http_route!="/healthz"'
    )


def test_web_vital_sli_with_default_and_explicit_threshold():
    sli = one_slo("      web_vital: {app: shop, metric: LCP, page: /, device_class: mobile}\n").sli
    assert sli == WebVitalSLI("shop", "lcp", "/", "mobile", None)
    sli = one_slo("      web_vital: {app: shop, metric: cls, threshold: 0.25}\n").sli
    assert sli == WebVitalSLI("shop", "cls", None, None, 0.25)
    sli = one_slo("      web_vital: {app: shop, metric: inp, threshold: 300ms}\n").sli
    assert sli == WebVitalSLI("shop", "inp", None, None, 0.3)


def test_span_sli_error_and_latency():
    sli = one_slo("      span: {service: shop, span_name: GET /api/products}\n").sli
    assert sli == SpanSLI("shop", "GET /api/products", "SPAN_KIND_SERVER", None)
    block = "      span: {service: shop, span_kind: consumer, latency_threshold: 400ms}\n"
    assert one_slo(block).sli == SpanSLI("shop", None, "SPAN_KIND_CONSUMER", 0.4)


def test_bool_gauge_sli():
    sli = one_slo("      bool_gauge: {query: 'probe_success{job=\"blackbox\"}'}\n").sli
    assert sli == BoolGaugeSLI('probe_success{job="blackbox"}')


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("28d", Window("rolling", 28 * DAY)),
        ("7d", Window("rolling", 7 * DAY)),
        ("{rolling: 1w}", Window("rolling", 7 * DAY)),
        ("{calendar: month}", Window("calendar", 30 * DAY, "month", "UTC")),
        (
            "{calendar: quarter, time_zone: America/New_York}",
            Window("calendar", 90 * DAY, "quarter", "America/New_York"),
        ),
        (
            "{calendar: week, time_zone: Asia/Tokyo}",
            Window("calendar", 7 * DAY, "week", "Asia/Tokyo"),
        ),
    ],
)
def test_windows(window, expected):
    assert one_slo(EVENTS, f"    window: {window}\n").window == expected


@pytest.mark.parametrize(
    ("objective", "value"), [("99.9%", 0.999), ("0.95", 0.95), ("'99.95%'", 0.9995)]
)
def test_objective_as_percent_or_fraction(objective, value):
    text = f"service: shop\nslos:\n  - name: x\n    objective: {objective}\n    sli:\n{EVENTS}"
    slos, errors = load_slo_texts({"s.yml": text})
    assert errors == [] and slos[0].objective == value


def test_alerting_tiers_labels_and_service_labels_merge():
    slos, errors = load(
        """\
        service: shop
        labels: {team: shop, tier: 1}
        slos:
          - name: availability
            objective: 99%
            labels: {tier: 2}
            min_traffic: 0.5
            description: Requests that do not fail.
            alerting:
              name: ShopDown
              labels: {category: availability}
              annotations: {summary: "Shop is failing"}
              page: {labels: {severity: critical}}
              ticket: false
            sli:
              events:
                error_query: sum(rate(e[{{.window}}]))
                total_query: sum(rate(t[{{.window}}]))
        """
    )
    assert errors == []
    slo = slos[0]
    assert slo.labels == {"team": "shop", "tier": "2"}
    assert slo.min_traffic == 0.5
    assert slo.description == "Requests that do not fail."
    assert slo.alerting.name == "ShopDown"
    assert slo.alerting.labels == {"category": "availability"}
    assert slo.alerting.annotations == {"summary": "Shop is failing"}
    assert slo.alerting.page.enabled and slo.alerting.page.labels == {"severity": "critical"}
    assert not slo.alerting.ticket.enabled
