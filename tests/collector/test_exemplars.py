"""Exemplars end to end: OTLP metrics, spanmetrics, OpenMetrics scrapes -> the exemplar store ->
``/api/v1/query_exemplars`` in Prometheus' shape."""

from __future__ import annotations

import math
import threading

import pytest
from flask import Flask
from opentelemetry import trace
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as mpb
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from werkzeug.serving import make_server

from collector.convert.otlp_metrics import convert_metrics
from collector.convert.spans_to_red import RedAccumulator
from collector.http_api import create_api_blueprint
from collector.model import Labels
from collector.promql.engine import Engine
from collector.receivers.otlp_http import create_otlp_blueprint
from collector.receivers.otlp_ingest import OtlpIngest
from collector.receivers.scrape import FetchResponse, ScrapeConfig, Scraper
from collector.store.exemplars import Exemplar, ExemplarStore
from collector.store.spans import SpanKind, SpanRecord
from collector.store.sql import SqlStore

T0_NS = 1_700_000_000_000_000_000
T0_MS = T0_NS // 1_000_000
TRACE = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")
SPAN = bytes.fromhex("00f067aa0ba902b7")


@pytest.fixture
def store(tmp_path):
    opened = SqlStore(f"sqlite:///{tmp_path}/s.db")
    opened.open()
    yield opened
    opened.close()


@pytest.fixture
def exemplars(store) -> ExemplarStore:
    found = ExemplarStore(store.engine)
    found.create()
    return found


def exemplar(value: float, **attributes: str) -> pb.Exemplar:
    out = pb.Exemplar(time_unix_nano=T0_NS, as_double=value, trace_id=TRACE, span_id=SPAN)
    for key, text in attributes.items():
        out.filtered_attributes.add(key=key).value.string_value = text
    return out


def request_of(*metrics: pb.Metric) -> mpb.ExportMetricsServiceRequest:
    request = mpb.ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    resource.resource.attributes.add(key="service.name").value.string_value = "shop"
    resource.scope_metrics.add().metrics.extend(metrics)
    return request


def test_otlp_exemplars_go_to_the_sum_and_to_the_bucket_holding_their_value() -> None:
    counter = pb.Metric(name="orders", sum=pb.Sum(aggregation_temporality=2, is_monotonic=True))
    counter.sum.data_points.add(time_unix_nano=T0_NS, as_int=3).exemplars.append(
        exemplar(1.0, user="u7", note="x" * 200)
    )
    hist = pb.Metric(name="latency", unit="s", histogram=pb.Histogram(aggregation_temporality=2))
    point = hist.histogram.data_points.add(
        time_unix_nano=T0_NS, count=3, explicit_bounds=[0.1, 0.5], bucket_counts=[1, 1, 1]
    )
    point.exemplars.extend([exemplar(0.3), exemplar(0.5), exemplar(9.0)])
    point.exemplars.add(as_double=1.0)  # no timestamp: not kept, counted

    result = convert_metrics(request_of(counter, hist))

    ids = {"trace_id": TRACE.hex(), "span_id": SPAN.hex()}
    got = [(dict(e.series), dict(e.labels), e.timestamp_ms, e.value) for e in result.exemplars]
    base = {"job": "shop"}
    assert got == [
        # the long attribute would push the label set past 128 characters: left out
        ({**base, "__name__": "orders_total"}, {**ids, "user": "u7"}, T0_MS, 1.0),
        ({**base, "__name__": "latency_seconds_bucket", "le": "0.5"}, ids, T0_MS, 0.3),
        ({**base, "__name__": "latency_seconds_bucket", "le": "0.5"}, ids, T0_MS, 0.5),
        ({**base, "__name__": "latency_seconds_bucket", "le": "+Inf"}, ids, T0_MS, 9.0),
    ]
    assert result.exemplars_invalid == 1


def test_span_red_buckets_point_at_the_last_span_of_each_bucket() -> None:
    def span(span_id: int, seconds: float) -> SpanRecord:
        return SpanRecord(
            TRACE, span_id.to_bytes(8, "big"), None, "shop", "GET /cart", SpanKind.SERVER,
            T0_NS, int(seconds * 1e9),
        )  # fmt: skip

    samples, found = RedAccumulator().observe_batch([span(1, 0.003), span(2, 0.0035), span(3, 3)])
    assert samples
    by_le = {e.series.get("le"): (e.labels.get("span_id"), e.value) for e in found}
    assert by_le == {"0.004": ("0000000000000002", 0.0035), "5": ("0000000000000003", 3.0)}
    assert {e.series.get("__name__") for e in found} == {
        "traces_span_metrics_duration_seconds_bucket"
    }


def test_openmetrics_scrape_keeps_exemplars(store, exemplars) -> None:
    body = b'# TYPE c counter\nc_total 4 # {trace_id="abc"} 1.0 1700000000.5\nd_total 1\n# EOF\n'

    def fetch(url, headers, timeout_s):
        return FetchResponse(200, "application/openmetrics-text; version=1.0.0", body)

    scraper = Scraper(store, [ScrapeConfig("om", ("om:1",))], fetch=fetch, exemplar_store=exemplars)
    assert scraper.scrape_once("om", "om:1", T0_MS).exemplars_dropped == 0
    ((series, (one,)),) = exemplars.query([[]], 0, 2 * T0_MS)
    assert dict(series) == {"__name__": "c_total", "instance": "om:1", "job": "om"}
    assert (dict(one.labels), one.timestamp_ms, one.value) == ({"trace_id": "abc"}, T0_MS + 500, 1)


def api_client(store, exemplars):
    app = Flask(__name__)
    bp = create_api_blueprint(Engine(store), store, exemplars=exemplars)
    app.register_blueprint(bp, url_prefix="/api/v1")
    return app.test_client()


def test_query_exemplars_shape_and_errors(store, exemplars) -> None:
    bucket = Labels.of({"__name__": "req_bucket", "le": "0.5", "job": "shop"})
    exemplars.append([Exemplar(bucket, Labels.of({"trace_id": "ab"}), 1_600_000_000_479, 6.0)])
    client = api_client(store, exemplars)
    query = "histogram_quantile(0.9, sum by (le) (rate(req_bucket[5m])))"
    reply = client.get("/api/v1/query_exemplars", query_string={"query": query, "start": "0"})
    assert reply.status_code == 200
    assert reply.get_data(as_text=True) == (
        '{"status":"success","data":[{"seriesLabels":{"__name__":"req_bucket","job":"shop",'
        '"le":"0.5"},"exemplars":[{"labels":{"trace_id":"ab"},"value":"6",'
        '"timestamp":1600000000.479}]}]}'
    )
    other = client.post("/api/v1/query_exemplars", data={"query": "up", "end": "1"})
    assert other.get_json() == {"status": "success", "data": []}
    bad = client.get("/api/v1/query_exemplars", query_string={"query": "sum("})
    assert bad.status_code == 400 and bad.get_json()["errorType"] == "bad_data"
    backwards = {"query": "up", "start": "10", "end": "5"}
    reply = client.get("/api/v1/query_exemplars", query_string=backwards)
    assert reply.status_code == 400 and "before start" in reply.get_json()["error"]
    off = api_client(store, None).get("/api/v1/query_exemplars", query_string={"query": "up"})
    assert off.get_json()["data"] == []


def test_stock_sdk_histogram_in_a_sampled_span_leaves_an_exemplar(store, exemplars) -> None:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    ingest = OtlpIngest(store, exemplar_store=exemplars)
    app = Flask(__name__)
    app.register_blueprint(create_otlp_blueprint(store, ingest=ingest))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        exporter = OTLPMetricExporter(endpoint=f"http://127.0.0.1:{server.server_port}/v1/metrics")
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=math.inf)
        resource = Resource.create({"service.name": "shop"})
        provider = MeterProvider(metric_readers=[reader], resource=resource)
        histogram = provider.get_meter("t").create_histogram("checkout.duration", unit="s")
        tracer = TracerProvider(resource=resource).get_tracer("t")
        with tracer.start_as_current_span("checkout") as span:
            histogram.record(0.2)  # the default trace_based filter keeps it: the span is sampled
            trace_id = format(span.get_span_context().trace_id, "032x")
        assert provider.force_flush(10_000)
        provider.shutdown()
    finally:
        server.shutdown()
        thread.join()
    client = api_client(store, exemplars)
    reply = client.get(
        "/api/v1/query_exemplars", query_string={"query": "checkout_duration_seconds_bucket"}
    )
    ((group,),) = [reply.get_json()["data"]]
    assert group["seriesLabels"]["le"] == "5"  # the SDK's default bounds: 0, 5, 10, 25...
    assert [e["labels"]["trace_id"] for e in group["exemplars"]] == [trace_id]
    assert trace.get_current_span() is trace.INVALID_SPAN
