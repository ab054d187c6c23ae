"""check_latency_buckets against a real SqlStore holding histogram series."""

from __future__ import annotations

import pytest

from collector.model import Labels
from collector.store.sql import SqlStore
from slo.spec import check_latency_buckets, load_slo_texts
from slo.spec.errors import SpecError

SPEC = """\
service: shop
slos:
  - name: fast
    objective: 99%
    sli:
      latency:
        metric: http_server_request_duration_seconds
        threshold: {threshold}
        selector: job="shop"
  - name: spans
    objective: 99%
    sli:
      span: {{service: shop, latency_threshold: 400ms}}
  - name: availability
    objective: 99%
    sli:
      events:
        error_query: sum(rate(e[{{{{.window}}}}]))
        total_query: sum(rate(t[{{{{.window}}}}]))
"""


def slos_with(threshold: str):
    slos, errors = load_slo_texts({"shop.yml": SPEC.format(threshold=threshold)})
    assert errors == []
    return slos


@pytest.fixture
def store():
    with SqlStore("sqlite:///:memory:") as s:
        for route in ("/a", "/b"):
            bounds = ["0.25", "0.5", "1.0", "+Inf"] if route == "/a" else ["0.5", "+Inf"]
            base = {"__name__": "http_server_request_duration_seconds_bucket", "job": "shop"}
            s.append(
                [(Labels.of({**base, "http_route": route, "le": le}), 1000, 1.0) for le in bounds]
            )
        other = {"__name__": "http_server_request_duration_seconds_bucket", "job": "admin"}
        s.append([(Labels.of({**other, "le": "0.3"}), 1000, 1.0)])
        yield s


def test_threshold_on_a_stored_boundary_passes(store):
    assert check_latency_buckets(slos_with("500ms"), store) == []


def test_threshold_missing_from_one_histogram_names_it_and_its_bounds(store):
    errors = check_latency_buckets(slos_with("1"), store)
    assert errors == [
        SpecError(
            "shop.yml",
            3,
            5,
            "shop-fast: latency threshold 1 is not a bucket boundary of "
            "http_server_request_duration_seconds (stored le: 0.5, +Inf; series "
            '{http_route="/b", job="shop"}); pick one of them or add the bucket to the histogram',
        )
    ]
    assert str(errors[0]).startswith("shop.yml:3:5: shop-fast: latency threshold 1 is not")


def test_threshold_missing_everywhere(store):
    (error,) = check_latency_buckets(slos_with("0.3"), store)
    assert "latency threshold 0.3 is not a bucket boundary" in error.message
    assert "stored le: 0.25, 0.5, 1, +Inf" in error.message  # the job="admin" series is not ours


def test_span_histogram_is_checked_too_and_no_series_is_not_an_error(store):
    assert check_latency_buckets(slos_with("0.5"), store) == []  # no span series yet
    labels = {
        "__name__": "traces_span_metrics_duration_seconds_bucket",
        "service_name": "shop",
        "span_kind": "SPAN_KIND_SERVER",
    }
    store.append([(Labels.of({**labels, "le": le}), 1000, 1.0) for le in ("0.2", "0.8", "+Inf")])
    (error,) = check_latency_buckets(slos_with("0.5"), store)
    assert error.line == 10
    assert error.message.startswith(
        "shop-spans: latency threshold 0.4 is not a bucket boundary of "
        "traces_span_metrics_duration_seconds (stored le: 0.2, 0.8, +Inf;"
    )
