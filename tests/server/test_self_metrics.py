"""The collector's own /metrics: real receivers over a real SQLite store, read by scraping."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from collector.receivers.otlp_http import create_otlp_blueprint
from collector.receivers.otlp_ingest import OtlpIngest
from collector.receivers.remote_write import create_remote_write_blueprint, encode_write_request
from collector.store.sql import SqlStore
from sloscope.server.collector_role import build_collector
from sloscope.server.self_metrics import (
    TimedAppender,
    build_self_metrics_registry,
    create_self_metrics_blueprint,
)

T0 = 1_700_000_000_000_000_000  # ns


@pytest.fixture
def store(tmp_path):
    with SqlStore(f"sqlite:///{tmp_path}/s.db") as store:
        yield store


class Peek:
    """Calls ``peek()`` inside every append, then appends to the store."""

    def __init__(self, store, peek) -> None:
        self.store, self.peek = store, peek

    def append(self, samples):
        self.peek()
        return self.store.append(samples)

    def __getattr__(self, name):
        return getattr(self.store, name)


def gauge(name: str, *times_ns: int) -> dict:
    points = [{"timeUnixNano": str(t), "asDouble": 1.5} for t in times_ns]
    return {"name": name, "gauge": {"dataPoints": points}}


def metrics_payload(*metrics: dict) -> dict:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]}
    return {"resourceMetrics": [{"resource": resource, "scopeMetrics": [{"metrics": metrics}]}]}


def spans_payload(*trace_ids: str) -> dict:
    spans = [
        {"traceId": t, "spanId": "eee19b7ec3c1b174", "name": "GET", "kind": 2,
         "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 10**6)}
        for t in trace_ids
    ]  # fmt: skip
    return {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}


EXPONENTIAL = {"name": "e", "exponentialHistogram": {"dataPoints": [{"count": "1"}]}}
WITH_EXEMPLAR = {
    "name": "hits",
    "sum": {
        "aggregationTemporality": 2,
        "isMonotonic": True,
        "dataPoints": [{"timeUnixNano": str(T0), "asInt": "4", "exemplars": [{"asDouble": 1.0}]}],
    },
}


@pytest.fixture
def world(store):
    """The app with OTLP, remote_write and /metrics, all writing through one TimedAppender;
    ``in_flight`` records the queue depth seen from inside each append."""
    in_flight: list[float | None] = []
    timed = TimedAppender(
        Peek(store, lambda: in_flight.append(registry.get_sample_value(IN_FLIGHT)))
    )
    parts = build_collector(timed)
    remote_write = create_remote_write_blueprint(timed)
    registry = build_self_metrics_registry(
        ingest=parts.ingest, remote_write=remote_write.stats, store=store, appender=timed
    )
    app = Flask(__name__)
    app.register_blueprint(parts.otlp_blueprint("otlp"))
    app.register_blueprint(remote_write)
    app.register_blueprint(create_self_metrics_blueprint(registry))
    return app.test_client(), registry, in_flight


IN_FLIGHT = "sloscope_otlp_exports_in_flight"


def accepted(registry, signal: str, receiver: str) -> float | None:
    labels = {"signal": signal, "receiver": receiver}
    return registry.get_sample_value("sloscope_receiver_accepted_total", labels)


def refused(registry, signal: str, receiver: str, reason: str) -> float | None:
    labels = {"signal": signal, "receiver": receiver, "reason": reason}
    return registry.get_sample_value("sloscope_receiver_refused_total", labels)


def test_otlp_counts_accepted_and_refused(world):
    client, registry, in_flight = world
    assert accepted(registry, "points", "otlp") == 0.0
    good = metrics_payload(gauge("temp", T0, T0 + 10**9))
    assert client.post("/v1/metrics", json=good).status_code == 200
    partial = metrics_payload(EXPONENTIAL, WITH_EXEMPLAR, gauge("temp", T0 - 10**9))
    reply = client.post("/v1/metrics", json=partial)
    assert reply.get_json()["partialSuccess"]["rejectedDataPoints"] == "2"
    assert client.post("/v1/metrics", data=b"{", content_type="application/json").status_code == 400

    assert accepted(registry, "points", "otlp") == 4.0  # 2 + the sum point + the late gauge
    assert accepted(registry, "samples", "otlp") == 3.0  # the late gauge sample is refused
    assert refused(registry, "points", "otlp", "exponential_histogram_unsupported") == 1.0
    assert refused(registry, "samples", "otlp", "out_of_order") == 1.0
    assert refused(registry, "exemplars", "otlp", "invalid_exemplar") == 1.0  # no timestamp
    reject = {"reason": "out_of_order"}
    assert registry.get_sample_value("sloscope_store_rejected_samples_total", reject) == 1.0
    assert in_flight == [1.0, 1.0] and registry.get_sample_value(IN_FLIGHT) == 0.0
    assert registry.get_sample_value("sloscope_otlp_exports_max_in_flight") == 16.0


def test_otlp_spans_accepted_and_refused(world):
    client, registry, _ = world
    payload = spans_payload("5b8efff798038103d269b633813fc60c", "00" * 16)
    assert client.post("/v1/traces", json=payload).status_code == 200
    assert accepted(registry, "spans", "otlp") == 1.0
    assert refused(registry, "spans", "otlp", "invalid") == 1.0
    # The RED series of the SERVER span went through the timed appender too.
    assert registry.get_sample_value("sloscope_store_append_duration_seconds_count") == 1.0


def test_remote_write_counts_and_append_latency(world):
    client, registry, _ = world
    now_ms = int(time.time() * 1000)
    body = encode_write_request(
        [
            ({"__name__": "up", "job": "a"}, [(now_ms - 2000, 1.0), (now_ms - 1000, 1.0)]),
            ({"__name__": "up", "job": "b"}, [(now_ms + 3_600_000, 1.0)]),  # out of bounds
            ({"job": "nameless"}, [(now_ms, 1.0)]),
        ]
    )
    reply = client.post("/api/v1/write", data=body, content_type="application/x-protobuf")
    assert reply.status_code == 400 and b"out of bounds" in reply.data
    older = encode_write_request([({"__name__": "up", "job": "a"}, [(now_ms - 5000, 1.0)])])
    assert client.post("/api/v1/write", data=older).status_code == 400

    assert accepted(registry, "samples", "remote_write") == 2.0
    assert refused(registry, "samples", "remote_write", "out_of_bounds") == 1.0
    assert refused(registry, "samples", "remote_write", "invalid_labels") == 1.0
    assert refused(registry, "samples", "remote_write", "out_of_order") == 1.0
    code = {"receiver": "remote_write", "code": "400"}
    assert registry.get_sample_value("sloscope_receiver_requests_total", code) == 2.0
    assert registry.get_sample_value("sloscope_store_append_duration_seconds_count") == 2.0
    assert registry.get_sample_value("sloscope_store_append_duration_seconds_sum") > 0


def test_overload_is_refused_exports(store):
    """One slot: an export arriving while another is appending is refused and counted."""
    app = Flask(__name__)
    inner = []
    ingest = OtlpIngest(
        Peek(store, lambda: inner.append(app.test_client().post("/v1/metrics", json=payload))),
        max_in_flight=1,
    )
    payload = metrics_payload(gauge("temp", T0))
    app.register_blueprint(create_otlp_blueprint(store, ingest=ingest))
    registry = build_self_metrics_registry(ingest=ingest)
    assert app.test_client().post("/v1/metrics", json=payload).status_code == 200
    assert inner[0].status_code == 429
    assert refused(registry, "exports", "otlp", "overloaded") == 1.0
    assert accepted(registry, "points", "otlp") == 1.0


def test_endpoint_text_and_openmetrics(world):
    client, _, _ = world
    text = client.get("/metrics")
    assert text.status_code == 200 and text.mimetype == "text/plain"
    names = {family.name for family in text_string_to_metric_families(text.text)}
    assert {
        "sloscope_receiver_accepted",
        "sloscope_receiver_refused",
        "sloscope_store_rejected_samples",
        "sloscope_otlp_exports_in_flight",
        "sloscope_store_append_duration_seconds",
        "python_gc_objects_collected",
    } <= names
    om = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.mimetype == "application/openmetrics-text" and om.text.endswith("# EOF\n")


def test_timed_appender_forwards_other_attributes(store):
    timed = TimedAppender(store)
    assert timed.engine is store.engine and timed.store is store
    assert timed.histogram.collect()[0].name == "sloscope_store_append_duration_seconds"
