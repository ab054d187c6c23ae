"""The server's collector role: OTLP on the main port and on the dedicated ports, end to end."""

from __future__ import annotations

import time

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetricExporter,
)
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from collector.promql.engine import Engine
from collector.store.sql import SqlStore
from sloscope.server.collector_role import build_collector
from sloscope.server.config import ListenAddress, OtlpConfig
from sloscope.server.otlp_listeners import OtlpListeners
from sloscope.server.run import create_http_app


@pytest.fixture
def store(tmp_path):
    with SqlStore(f"sqlite:///{tmp_path}/s.db") as store:
        yield store


def send_counter(exporter, service: str) -> None:
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": service})
    )
    counter = provider.get_meter("test").create_counter("orders", unit="1")
    counter.add(3, {"route": "/api/orders"})
    provider.force_flush()
    provider.shutdown()


def value_now(store, expr: str) -> list[float]:
    now_ms = time.time_ns() // 1_000_000  # data carries real export times: query at "now"
    return [s.value for s in Engine(store).instant_query(expr, now_ms).value]


def test_dedicated_otlp_ports_take_stock_exporters(store):
    collector = build_collector(store)
    listeners = OtlpListeners(
        collector,
        OtlpConfig(ListenAddress("127.0.0.1", 0), ListenAddress("127.0.0.1", 0)),
    )
    listeners.start()
    try:
        http = f"http://127.0.0.1:{listeners.http_port}/v1/metrics"
        send_counter(OTLPMetricExporter(endpoint=http), "via-http")
        grpc = f"127.0.0.1:{listeners.grpc_port}"
        send_counter(GrpcMetricExporter(endpoint=grpc, insecure=True), "via-grpc")
        provider = TracerProvider(resource=Resource.create({"service.name": "via-http"}))
        url = f"http://127.0.0.1:{listeners.http_port}/v1/traces"
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=url)))
        with provider.get_tracer("t").start_as_current_span("GET /api/orders"):
            pass
        provider.shutdown()
    finally:
        listeners.stop()
    assert value_now(store, 'orders_total{job="via-http"}') == [3.0]
    assert value_now(store, 'orders_total{job="via-grpc"}') == [3.0]
    found = collector.span_store.search(service="via-http")
    assert [t.root_name for t in found] == ["GET /api/orders"]


def test_main_port_serves_otlp_and_the_trace_api(store):
    client = create_http_app(store, build_collector(store)).test_client()
    payload = {
        "resourceMetrics": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]
                },
                "scopeMetrics": [
                    {
                        "metrics": [
                            {
                                "name": "queue_depth",
                                "gauge": {
                                    "dataPoints": [
                                        {"asDouble": 7, "timeUnixNano": str(time.time_ns())}
                                    ]
                                },
                            }
                        ]
                    }
                ],
            }
        ]
    }
    reply = client.post("/v1/metrics", json=payload)
    assert reply.status_code == 200, reply.data
    assert value_now(store, 'queue_depth{job="shop"}') == [7.0]
    assert client.get("/api/traces/search?service=shop").status_code == 200


def test_main_port_takes_remote_write(store):
    from collector.receivers.remote_write import encode_write_request

    client = create_http_app(store, build_collector(store)).test_client()
    now_ms = time.time_ns() // 1_000_000
    body = encode_write_request([({"__name__": "up", "job": "node"}, [(now_ms, 1.0)])])
    reply = client.post(
        "/api/v1/write",
        data=body,
        headers={"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"},
    )
    assert reply.status_code == 204, reply.data
    assert value_now(store, 'up{job="node"}') == [1.0]


def test_main_port_exposes_the_collectors_self_metrics(store):
    client = create_http_app(store, build_collector(store)).test_client()
    reply = client.get("/metrics")
    assert reply.status_code == 200
    text = reply.data.decode()
    assert 'sloscope_receiver_accepted_total{receiver="otlp",signal="spans"} 0.0' in text
    assert "sloscope_otlp_exports_in_flight" in text and "process_cpu_seconds_total" in text
