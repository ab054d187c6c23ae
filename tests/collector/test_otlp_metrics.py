"""OTLP metrics ingestion: conversion rules, then the HTTP and gRPC receivers end to end with
the stock OpenTelemetry exporters, a real SqlStore and the PromQL engine."""

from __future__ import annotations

import gzip
import json
import math
import threading
import time
import zlib

import grpc
import pytest
from flask import Flask
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as mpb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as mgrpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as tpb
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from werkzeug.serving import make_server

from collector.convert.otlp_delta import DeltaAccumulator
from collector.convert.otlp_metrics import PointRejection, convert_metrics
from collector.convert.otlp_names import label_name, metric_name
from collector.model import is_stale_nan
from collector.promql.engine import Engine
from collector.receivers.otlp_grpc import bind_grpc_server
from collector.receivers.otlp_http import create_otlp_blueprint
from collector.receivers.otlp_ingest import OtlpIngest
from collector.store.interfaces import StoreError
from collector.store.sql import SqlStore

T0 = 1_700_000_000_000_000_000  # ns
CUM = pb.AGGREGATION_TEMPORALITY_CUMULATIVE
DELTA = pb.AGGREGATION_TEMPORALITY_DELTA


def kv(key: str, value) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def request_of(*metrics: pb.Metric, resource=None) -> mpb.ExportMetricsServiceRequest:
    attrs = resource or {"service.name": "shop", "service.instance.id": "i-1"}
    rm = pb.ResourceMetrics()
    rm.resource.attributes.extend(kv(k, v) for k, v in attrs.items())
    sm = rm.scope_metrics.add()
    sm.scope.name = "lib"
    sm.metrics.extend(metrics)
    return mpb.ExportMetricsServiceRequest(resource_metrics=[rm])


def sum_metric(name, value, *, unit="", monotonic=True, temporality=CUM, t=T0, start=0, **kw):
    m = pb.Metric(name=name, unit=unit)
    m.sum.is_monotonic, m.sum.aggregation_temporality = monotonic, temporality
    p = m.sum.data_points.add(time_unix_nano=t, start_time_unix_nano=start, **kw)
    if value is not None:
        p.as_double = value
    return m


def as_map(samples):
    return {str(labels): value for labels, _, value in samples}


@pytest.fixture
def store(tmp_path):
    s = SqlStore(f"sqlite:///{tmp_path / 'otlp.db'}")
    s.open()
    yield s
    s.close()


def query(store, expr: str, t_ms: int | None = None) -> dict[str, float]:
    t_ms = t_ms if t_ms is not None else int(time.time() * 1000) + 1000
    return {str(s.labels): s.value for s in Engine(store).instant_query(expr, t_ms).value}


# --- conversion ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "unit", "kind", "expected"),
    [
        ("http.server.request.duration", "s", {}, "http_server_request_duration_seconds"),
        ("net.io", "By", {"counter": True}, "net_io_bytes_total"),
        ("cpu.utilization", "1", {"is_gauge": True}, "cpu_utilization_ratio"),
        ("calls", "1", {"counter": True}, "calls_total"),
        ("requests", "{request}", {"counter": True}, "requests_total"),
        ("rate", "{packet}/s", {"is_gauge": True}, "rate_per_second"),
        ("throughput", "By/s", {}, "throughput_bytes_per_second"),
        ("2xx.count", "", {}, "_2xx_count"),
        ("foo--bar", "", {}, "foo_bar"),
        ("total.sent", "", {"counter": True}, "sent_total"),
        ("latency_seconds", "s", {}, "latency_seconds"),
        ("mem", "MiBy", {"is_gauge": True}, "mem_mebibytes"),
    ],
)
def test_metric_names_follow_the_compatibility_spec(name, unit, kind, expected):
    assert metric_name(name, unit, **kind) == expected


def test_label_names_are_sanitised():
    assert label_name("http.route") == "http_route"
    assert label_name("0day") == "key_0day"
    assert label_name("_private") == "key_private"
    assert label_name("__reserved") == "__reserved"


def test_counter_gauge_and_resource_labels():
    counter = sum_metric("http.requests", 3.0, attributes=[kv("http.route", "/a")])
    updown = sum_metric("queue.size", 7.0, monotonic=False)
    gauge = pb.Metric(name="temp", unit="Cel")
    gauge.gauge.data_points.add(time_unix_nano=T0, as_int=21)
    resource = {
        "service.name": "shop",
        "service.namespace": "prod",
        "service.instance.id": "i-1",
        "host.name": "h1",
        "k8s.pod.uid": 7,
    }
    result = convert_metrics(request_of(counter, updown, gauge, resource=resource))
    common = 'instance="i-1", job="prod/shop", otel_scope_name="lib"'
    assert as_map(result.samples) == {
        f'http_requests_total{{http_route="/a", {common}}}': 3.0,
        f"queue_size{{{common}}}": 7.0,
        f"temp_celsius{{{common}}}": 21.0,
        'target_info{host_name="h1", instance="i-1", job="prod/shop", k8s_pod_uid="7"}': 1.0,
    }
    assert {ts for _, ts, _ in result.samples} == {T0 // 1_000_000}
    assert result.rejected_points == 0 and result.message() == ""


def test_histogram_buckets_are_cumulative_with_inf():
    m = pb.Metric(name="rpc.duration", unit="ms")
    m.histogram.aggregation_temporality = CUM
    m.histogram.data_points.add(
        time_unix_nano=T0,
        count=6,
        sum=12.5,
        explicit_bounds=[0.5, 1, 2.5],
        bucket_counts=[1, 2, 0, 3],
    )
    got = {
        (labels.metric_name, labels.get("le")): value
        for labels, _, value in convert_metrics(request_of(m)).samples
    }
    assert got == {
        ("rpc_duration_milliseconds_bucket", "0.5"): 1,
        ("rpc_duration_milliseconds_bucket", "1"): 3,
        ("rpc_duration_milliseconds_bucket", "2.5"): 3,
        ("rpc_duration_milliseconds_bucket", "+Inf"): 6,
        ("rpc_duration_milliseconds_count", ""): 6,
        ("rpc_duration_milliseconds_sum", ""): 12.5,
    }


def test_invalid_histogram_is_rejected():
    m = pb.Metric(name="h")
    m.histogram.aggregation_temporality = CUM
    m.histogram.data_points.add(time_unix_nano=T0, count=1, explicit_bounds=[1], bucket_counts=[1])
    result = convert_metrics(request_of(m))
    assert result.samples == [] and result.rejected == {PointRejection.INVALID_HISTOGRAM: 1}


def test_delta_sums_accumulate_and_reset_on_overlap():
    acc = DeltaAccumulator()
    step = 10**9

    def send(value, start, end):
        m = sum_metric("jobs", value, temporality=DELTA, t=end, start=start)
        return convert_metrics(request_of(m), acc)

    assert [v for _, _, v in send(2.0, T0, T0 + step).samples] == [2.0]
    assert [v for _, _, v in send(3.0, T0 + step, T0 + 2 * step).samples] == [5.0]
    retried = send(3.0, T0 + step, T0 + 2 * step)
    assert retried.samples == [] and retried.rejected == {PointRejection.DELTA_OUT_OF_ORDER: 1}
    # A window overlapping the last one means the producer restarted: the total restarts.
    assert [v for _, _, v in send(1.0, T0, T0 + 3 * step).samples] == [1.0]
    no_acc = convert_metrics(request_of(sum_metric("jobs", 1.0, temporality=DELTA)))
    assert no_acc.rejected == {PointRejection.DELTA_UNSUPPORTED: 1}


def test_delta_histograms_accumulate_per_bucket():
    acc = DeltaAccumulator(max_series=4)
    for i in range(2):
        m = pb.Metric(name="lat", unit="s")
        m.histogram.aggregation_temporality = DELTA
        m.histogram.data_points.add(
            time_unix_nano=T0 + (i + 1) * 10**9, start_time_unix_nano=T0 + i * 10**9,
            count=2, sum=1.0, explicit_bounds=[1], bucket_counts=[1, 1],
        )  # fmt: skip
        result = convert_metrics(request_of(m), acc)
    got = {(lb.metric_name, lb.get("le")): v for lb, _, v in result.samples}
    assert got[("lat_seconds_bucket", "1")] == 2 and got[("lat_seconds_bucket", "+Inf")] == 4
    assert got[("lat_seconds_sum", "")] == 2.0


def test_exponential_histograms_are_rejected_with_a_hint():
    m = pb.Metric(name="exp")
    m.exponential_histogram.aggregation_temporality = CUM
    m.exponential_histogram.data_points.add(time_unix_nano=T0, count=1)
    result = convert_metrics(request_of(m))
    assert result.rejected == {PointRejection.EXPONENTIAL_HISTOGRAM: 1}
    assert "explicit_bucket_histogram" in result.message()


def test_no_recorded_value_becomes_stale_and_nan_stays_nan():
    stale = sum_metric("a", None, flags=1)
    nan = sum_metric("b", math.nan)
    samples = {lb.metric_name: v for lb, _, v in convert_metrics(request_of(stale, nan)).samples}
    assert is_stale_nan(samples["a_total"])
    assert math.isnan(samples["b_total"]) and not is_stale_nan(samples["b_total"])


def test_summary_and_missing_values():
    m = pb.Metric(name="rt", unit="s")
    p = m.summary.data_points.add(time_unix_nano=T0, count=4, sum=2.0)
    p.quantile_values.add(quantile=0.99, value=0.9)
    missing = sum_metric("m", None)
    untimed = sum_metric("u", 1.0, t=0)
    result = convert_metrics(request_of(m, missing, untimed))
    assert as_map(result.samples) == {
        'rt_seconds{instance="i-1", job="shop", otel_scope_name="lib", quantile="0.99"}': 0.9,
        'rt_seconds_count{instance="i-1", job="shop", otel_scope_name="lib"}': 4.0,
        'rt_seconds_sum{instance="i-1", job="shop", otel_scope_name="lib"}': 2.0,
    }
    assert result.rejected == {
        PointRejection.MISSING_VALUE: 1,
        PointRejection.MISSING_TIMESTAMP: 1,
    }


# --- receivers -------------------------------------------------------------------------


def make_app(store, **options) -> Flask:
    app = Flask(__name__)
    app.register_blueprint(create_otlp_blueprint(store, **options))
    return app


@pytest.fixture
def live_http(store):
    server = make_server("127.0.0.1", 0, make_app(store), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def record(exporter) -> None:
    """Counter and histogram through a real MeterProvider, flushed synchronously."""
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=math.inf)
    resource = Resource.create({"service.name": "shop", "service.instance.id": "i-7"})
    provider = MeterProvider(metric_readers=[reader], resource=resource)
    meter = provider.get_meter("shop.checkout", "1.0")
    meter.create_counter("orders", unit="{order}").add(3, {"http.route": "/buy"})
    hist = meter.create_histogram("checkout.duration", unit="s")
    for value in (0.004, 0.03, 0.2, 7.0):
        hist.record(value)
    assert provider.force_flush(10_000)
    provider.shutdown()


def check_stock_export(store) -> None:
    got = query(store, 'orders_total{job="shop", instance="i-7", http_route="/buy"}')
    assert list(got.values()) == [3.0]
    buckets = query(store, "checkout_duration_seconds_bucket")
    assert buckets and max(buckets.values()) == 4.0
    assert list(query(store, "checkout_duration_seconds_count").values()) == [4.0]


def test_stock_http_exporter_with_gzip(store, live_http):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    record(OTLPMetricExporter(endpoint=live_http + "/v1/metrics", compression=Compression.Gzip))
    check_stock_export(store)


@pytest.fixture
def grpc_port(store):
    server, port = bind_grpc_server(store, "127.0.0.1:0", max_workers=4)
    server.start()
    yield port
    server.stop(None).wait()


def test_stock_grpc_exporter(store, grpc_port):
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    exporter = OTLPMetricExporter(
        endpoint=f"127.0.0.1:{grpc_port}",
        insecure=True,
        preferred_temporality={Counter: AggregationTemporality.DELTA},
    )
    record(exporter)
    check_stock_export(store)


def test_grpc_invalid_and_partial(store, grpc_port):
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        raw = channel.unary_unary(
            "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
            request_serializer=None,
            response_deserializer=mpb.ExportMetricsServiceResponse.FromString,
        )
        with pytest.raises(grpc.RpcError) as info:
            raw(b"\xff\xff\xff", timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        exp = pb.Metric(name="exp")
        exp.exponential_histogram.data_points.add(time_unix_nano=T0, count=1)
        stub = mgrpc.MetricsServiceStub(channel)
        response = stub.Export(request_of(exp, sum_metric("ok", 1.0)), timeout=10)
    assert response.partial_success.rejected_data_points == 1
    assert list(query(store, "ok_total", T0 // 10**6).values()) == [1.0]


class FailingStore:
    def append(self, samples):
        raise StoreError("disk full")


def test_grpc_store_failure_is_unavailable_with_retry_info():
    server, port = bind_grpc_server(FailingStore(), "127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.RpcError) as info:
                mgrpc.MetricsServiceStub(channel).Export(request_of(sum_metric("x", 1.0)))
    finally:
        server.stop(None).wait()
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    details = dict(info.value.trailing_metadata())["grpc-status-details-bin"]
    retry = error_details_pb2.RetryInfo()
    status_pb2.Status.FromString(details).details[0].Unpack(retry)
    assert retry.retry_delay.seconds == 5


JSON_PAYLOAD = {
    "resourceMetrics": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]},
            "scopeMetrics": [
                {
                    "scope": {"name": "hand"},
                    "metrics": [
                        {
                            "name": "hits",
                            "unit": "1",
                            "futureField": {"ignored": True},
                            "sum": {
                                "aggregationTemporality": 2,
                                "isMonotonic": True,
                                "dataPoints": [
                                    {
                                        "timeUnixNano": str(T0),
                                        "asInt": "42",
                                        "exemplars": [
                                            {
                                                "timeUnixNano": str(T0),
                                                "asDouble": 1.0,
                                                "traceId": "5b8efff798038103d269b633813fc60c",
                                                "spanId": "eee19b7ec3c1b174",
                                            }
                                        ],
                                    }
                                ],
                            },
                        },
                        {"name": "e", "exponentialHistogram": {"dataPoints": [{"count": "1"}]}},
                    ],
                }
            ],
        }
    ]
}


def test_json_payload_and_partial_success(store):
    client = make_app(store).test_client()
    reply = client.post("/v1/metrics", json=JSON_PAYLOAD)
    assert reply.status_code == 200 and reply.mimetype == "application/json"
    partial = reply.get_json()["partialSuccess"]
    assert partial["rejectedDataPoints"] == "1" and "exponential" in partial["errorMessage"]
    assert query(store, "hits_total", T0 // 10**6) == {
        'hits_total{job="web", otel_scope_name="hand"}': 42.0
    }


def test_protobuf_reply_without_rejections(store):
    body = request_of(sum_metric("ok", 1.0)).SerializeToString()
    reply = (
        make_app(store)
        .test_client()
        .post("/v1/metrics", data=body, content_type="application/x-protobuf")
    )
    assert reply.status_code == 200 and reply.mimetype == "application/x-protobuf"
    assert mpb.ExportMetricsServiceResponse.FromString(reply.data) == (
        mpb.ExportMetricsServiceResponse()
    )


def stored_series(store) -> int:
    return len(query(store, '{__name__=~".+"}', T0 // 10**6))


def test_bad_payloads_store_nothing(store):
    client = make_app(store, max_body_bytes=4096).test_client()
    good = request_of(sum_metric("ok", 1.0)).SerializeToString()
    proto = "application/x-protobuf"
    cases = [
        (b"\x0a\xff\xff\xff\x0f", proto, {}, 400),
        (good[:-3], proto, {}, 400),
        (b'{"resourceMetrics": [', "application/json", {}, 400),
        (b'{"resourceMetrics": "nope"}', "application/json", {}, 400),
        (gzip.compress(good)[:-10], proto, {"Content-Encoding": "gzip"}, 400),
        (b"not gzip", proto, {"Content-Encoding": "gzip"}, 400),
        (good + b"\0" * 5000, proto, {}, 413),
        (gzip.compress(b"\0" * 50_000_000), proto, {"Content-Encoding": "gzip"}, 413),
        (zlib.compress(b"\0" * 50_000_000), proto, {"Content-Encoding": "deflate"}, 413),
        (good, "text/plain", {}, 415),
        (good, proto, {"Content-Encoding": "br"}, 415),
    ]
    for body, content_type, headers, status in cases:
        reply = client.post("/v1/metrics", data=body, content_type=content_type, headers=headers)
        assert reply.status_code == status, (body[:20], status)
        if content_type == "application/json":
            assert reply.get_json()["code"] == 3
        elif status == 400:
            assert status_pb2.Status.FromString(reply.data).code == 3
    assert stored_series(store) == 0
    deflated = client.post(
        "/v1/metrics", data=zlib.compress(good), content_type=proto,
        headers={"Content-Encoding": "deflate"},
    )  # fmt: skip
    assert deflated.status_code == 200 and stored_series(store) == 1


def test_overload_is_429_and_store_failure_503(store):
    app = Flask(__name__)
    inner: dict[str, object] = {}

    class NestedStore:
        """Sends a second export while the first holds the only in-flight slot."""

        def append(self, samples):
            inner["reply"] = app.test_client().post("/v1/metrics", json=JSON_PAYLOAD)
            return store.append(samples)

    app.register_blueprint(create_otlp_blueprint(NestedStore(), max_in_flight=1))
    assert app.test_client().post("/v1/metrics", json=JSON_PAYLOAD).status_code == 200
    assert inner["reply"].status_code == 429 and inner["reply"].headers["Retry-After"] == "5"
    failing = make_app(FailingStore()).test_client().post("/v1/metrics", json=JSON_PAYLOAD)
    assert failing.status_code == 503 and "Retry-After" in failing.headers


def test_traces_404_without_sink_and_hex_ids_with_one(store):
    span = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "GET", "kind": 2}  # fmt: skip
    payload = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    assert make_app(store).test_client().post("/v1/traces", json=payload).status_code == 404
    seen: list[tpb.ExportTraceServiceRequest] = []

    def sink(request):
        seen.append(request)
        return 1, 0, ""

    client = make_app(store, traces_sink=sink).test_client()
    assert client.post("/v1/traces", json=payload).status_code == 200
    got = seen[0].resource_spans[0].scope_spans[0].spans[0]
    assert got.trace_id.hex() == span["traceId"] and got.span_id.hex() == span["spanId"]
    bad = dict(span, traceId="zz")
    bad_payload = {"resourceSpans": [{"scopeSpans": [{"spans": [bad]}]}]}
    assert client.post("/v1/traces", json=bad_payload).status_code == 400
    assert len(seen) == 1
    assert json_format.MessageToDict(seen[0])["resourceSpans"][0]["scopeSpans"][0]["spans"]


def test_shared_ingest_counts_drops(store):
    ingest = OtlpIngest(store)
    client = make_app(store, ingest=ingest).test_client()
    client.post("/v1/metrics", data=json.dumps(JSON_PAYLOAD), content_type="application/json")
    assert ingest.dropped == {
        "exponential_histogram_unsupported": 1,
        "exemplar_storage_disabled": 1,
    }
