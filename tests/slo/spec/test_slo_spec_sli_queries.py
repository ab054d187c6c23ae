"""Every SLI kind's PromQL, evaluated by the real engine over a real (in-memory) store."""

from __future__ import annotations

import pytest

from collector.model import Labels
from collector.promql.engine import Engine
from collector.promql.parser import parse
from collector.store.sql import SqlStore
from slo.spec.le_format import go_float, le_matcher, le_spellings
from slo.spec.model import (
    BoolGaugeSLI,
    EventsSLI,
    LatencySLI,
    RatioSLI,
    SpanSLI,
    WebVitalSLI,
)
from slo.spec.sli_queries import sli_queries

MINUTE = 60_000
END = 10 * MINUTE


@pytest.fixture
def store():
    with SqlStore("sqlite:///:memory:") as s:
        yield s


def write_counter(store, labels: dict[str, str], per_minute: float) -> None:
    """A counter growing by *per_minute* each minute for ten minutes."""
    samples = [(Labels.of(labels), t * MINUTE, per_minute * t) for t in range(11)]
    store.append(samples)


def ratio_at_end(store, template: str) -> float:
    result = Engine(store).instant_query(template.replace("{{.window}}", "5m"), END)
    (sample,) = result.value
    return sample.value


def rendered(template: str | None) -> None:
    assert template is not None
    parse(template.replace("{{.window}}", "5m"))


def test_events_with_error_query(store):
    write_counter(store, {"__name__": "req_total", "code": "500"}, 3)
    write_counter(store, {"__name__": "req_total", "code": "200"}, 97)
    sli = EventsSLI(
        error_query='sum(rate(req_total{code=~"5.."}[{{.window}}]))',
        total_query="sum(rate(req_total[{{.window}}]))",
    )
    queries = sli_queries(sli)
    assert queries.error_events == sli.error_query
    assert queries.total_events == sli.total_query
    assert ratio_at_end(store, queries.error_ratio) == pytest.approx(0.03)


def test_events_with_good_query(store):
    write_counter(store, {"__name__": "req_total", "code": "500"}, 1)
    write_counter(store, {"__name__": "req_total", "code": "200"}, 3)
    sli = EventsSLI(
        error_query=None,
        total_query="sum(rate(req_total[{{.window}}]))",
        good_query='sum(rate(req_total{code="200"}[{{.window}}]))',
    )
    queries = sli_queries(sli)
    assert ratio_at_end(store, queries.error_ratio) == pytest.approx(0.25)
    assert ratio_at_end(store, queries.error_events) == pytest.approx(1 / 60)


def test_ratio_sli_passes_through():
    queries = sli_queries(RatioSLI("avg_over_time(x[{{.window}}])"))
    assert queries.error_ratio == "avg_over_time(x[{{.window}}])"
    assert queries.error_events is None and queries.total_events is None


def write_histogram(store, name: str, labels: dict[str, str], per_minute: dict[str, float]):
    """A classic histogram: cumulative bucket counts per minute, keyed by ``le``."""
    for le, count in per_minute.items():
        write_counter(store, {"__name__": f"{name}_bucket", "le": le, **labels}, count)
    write_counter(store, {"__name__": f"{name}_count", **labels}, per_minute["+Inf"])


def test_latency_sli_on_python_client_spelling(store):
    # prometheus_client writes le="1.0"; 20 of 100 requests per minute take longer than 1 s
    buckets = {"0.5": 50, "1.0": 80, "+Inf": 100}
    write_histogram(store, "http_server_request_duration_seconds", {"job": "shop"}, buckets)
    write_histogram(store, "http_server_request_duration_seconds", {"job": "other"}, buckets)
    sli = LatencySLI("http_server_request_duration_seconds", 1.0, 'job="shop"')
    queries = sli_queries(sli)
    assert ratio_at_end(store, queries.error_ratio) == pytest.approx(0.2)
    assert ratio_at_end(store, queries.total_events) == pytest.approx(100 / 60)
    # 0.5 is not a whole number: one spelling only
    assert (
        ratio_at_end(store, sli_queries(LatencySLI(sli.metric, 0.5, sli.selector)).error_ratio)
        == 0.5
    )


def test_latency_sli_on_go_spelling_and_without_selector(store):
    write_histogram(store, "rpc_seconds", {}, {"1": 9, "+Inf": 10})
    queries = sli_queries(LatencySLI("rpc_seconds", 1.0))
    assert ratio_at_end(store, queries.error_ratio) == pytest.approx(0.1)


def test_web_vital_good_ratio_uses_the_collector_metric_and_default_threshold(store):
    labels = {"app": "shop", "page": "/", "device_class": "mobile"}
    write_histogram(
        store, "rum_web_vitals_lcp_seconds", labels, {"2.5": 75, "4.0": 90, "+Inf": 100}
    )
    write_histogram(
        store, "rum_web_vitals_lcp_seconds", {**labels, "app": "blog"}, {"2.5": 0, "+Inf": 100}
    )
    queries = sli_queries(WebVitalSLI("shop", "lcp", page="/", device_class="mobile"))
    assert ratio_at_end(store, queries.error_ratio) == pytest.approx(0.25)
    poor = sli_queries(WebVitalSLI("shop", "lcp", threshold=4.0))
    assert ratio_at_end(store, poor.error_ratio) == pytest.approx(0.10)


def test_span_error_ratio_and_no_errors_reads_as_zero(store):
    base = {
        "__name__": "traces_span_metrics_calls_total",
        "service_name": "shop",
        "span_name": "GET /",
        "span_kind": "SPAN_KIND_SERVER",
    }
    write_counter(store, {**base, "status_code": "STATUS_CODE_UNSET"}, 95)
    write_counter(store, {**base, "status_code": "STATUS_CODE_ERROR"}, 5)
    write_counter(store, {**base, "service_name": "calm", "status_code": "STATUS_CODE_OK"}, 10)
    queries = sli_queries(SpanSLI("shop", "GET /"))
    assert ratio_at_end(store, queries.error_ratio) == pytest.approx(0.05)
    assert ratio_at_end(store, sli_queries(SpanSLI("calm")).error_ratio) == 0


def test_span_latency_uses_the_duration_histogram(store):
    labels = {
        "service_name": "shop",
        "span_name": "GET /",
        "span_kind": "SPAN_KIND_SERVER",
        "status_code": "STATUS_CODE_UNSET",
    }
    write_histogram(store, "traces_span_metrics_duration_seconds", labels, {"0.4": 30, "+Inf": 40})
    queries = sli_queries(SpanSLI("shop", latency_threshold_seconds=0.4))
    assert ratio_at_end(store, queries.error_ratio) == pytest.approx(0.25)


def test_bool_gauge_is_the_share_of_failed_probes(store):
    values = [1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1]
    store.append(
        [(Labels.of({"__name__": "probe_success"}), t * MINUTE, v) for t, v in enumerate(values)]
    )
    queries = sli_queries(BoolGaugeSLI("probe_success"))
    assert queries.error_events is None
    # the subquery samples every minute of (5m, 10m]: 6m..10m holds one failure in five
    assert ratio_at_end(store, queries.error_ratio) == pytest.approx(0.2)


@pytest.mark.parametrize(
    "sli",
    [
        EventsSLI("sum(rate(e[{{.window}}]))", "sum(rate(t[{{.window}}]))"),
        LatencySLI("h", 0.25, 'job="a",path=~"/x.*"'),
        WebVitalSLI('my "app"', "cls", device_class="desktop"),
        SpanSLI("shop", 'say "hi"', "SPAN_KIND_CONSUMER"),
        SpanSLI("shop", latency_threshold_seconds=1.0),
        BoolGaugeSLI("up == 1"),
    ],
)
def test_every_template_parses(sli):
    queries = sli_queries(sli)
    for template in (queries.error_ratio, queries.error_events, queries.total_events):
        if template is not None:
            rendered(template)


@pytest.mark.parametrize(
    ("bound", "go", "spellings", "matcher"),
    [
        (0.3, "0.3", ("0.3",), 'le="0.3"'),
        (1.0, "1", ("1", "1.0"), 'le=~"1|1\\\\.0"'),
        (2.5, "2.5", ("2.5",), 'le="2.5"'),
        (1e6, "1e+06", ("1e+06",), 'le="1e+06"'),
        (1e-05, "1e-05", ("1e-05",), 'le="1e-05"'),
        (100000.0, "100000", ("100000", "100000.0"), 'le=~"100000|100000\\\\.0"'),
        (float("inf"), "+Inf", ("+Inf",), 'le="+Inf"'),
    ],
)
def test_le_spellings_match_go_and_prometheus_client(bound, go, spellings, matcher):
    from prometheus_client.utils import floatToGoString

    assert go_float(bound) == go
    assert le_spellings(bound) == spellings
    assert floatToGoString(bound) in spellings
    assert le_matcher(bound) == matcher
