"""Traces: OTLP conversion, span storage and search, RED metrics, the sink and the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind as OtelKind
from opentelemetry.trace import StatusCode as OtelStatus
from sqlalchemy import select

from collector.convert.otlp_spans import convert_request
from collector.convert.spans_to_red import CALLS, DEFAULT_BUCKETS_SECONDS, RedAccumulator
from collector.promql.engine import Engine
from collector.receivers.traces import make_traces_sink
from collector.store.spans import SpanKind, SpanRecord, SpanStore, StatusCode
from collector.store.sql import SqlStore
from collector.trace_api import create_trace_blueprint, parse_go_duration_ns

T0 = 1_700_000_000_000_000_000  # ns
MS = 1_000_000
TRACE_A = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
TRACE_B = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def _span(trace_id, span_id, name, start_ms, dur_ms, kind=2, parent=b"", status=0, **attrs):
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        kind=kind,
        start_time_unix_nano=T0 + start_ms * MS,
        end_time_unix_nano=T0 + (start_ms + dur_ms) * MS,
        attributes=[_kv(k.replace("_", "."), v) for k, v in attrs.items()],
        status=Status(code=status),
    )


def _request(service: str, *spans: Span) -> ExportTraceServiceRequest:
    resource_spans = ResourceSpans(scope_spans=[ScopeSpans(spans=list(spans))])
    resource_spans.resource.attributes.append(_kv("service.name", service))
    return ExportTraceServiceRequest(resource_spans=[resource_spans])


def _shop_request() -> ExportTraceServiceRequest:
    """Trace A: GET /cart (server, 200 ms, error) with a child query; trace B: checkout."""
    a_root = _span(TRACE_A, b"\x01" * 8, "GET /cart", 0, 200, status=2)
    a_root.attributes.extend([_kv("http.route", "/cart"), _kv("http.response.status_code", 500)])
    a_child = _span(TRACE_A, b"\x02" * 8, "SELECT", 10, 50, kind=3, parent=b"\x01" * 8)
    b_root = _span(TRACE_B, b"\x03" * 8, "POST /checkout", 1000, 30, status=1)
    b_root.attributes.extend([_kv("http.route", "/checkout"), _kv("http.status_code", 201)])
    return _request("shop", a_root, a_child, b_root)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_database")()
    with SqlStore(url) as opened:
        yield opened


@pytest.fixture
def span_store(store: SqlStore) -> SpanStore:
    spans = SpanStore(store.engine)
    spans.create()
    return spans


# -- conversion ---------------------------------------------------------------------------


def test_convert_understands_both_http_semconv_generations():
    new = _span(TRACE_A, b"\x01" * 8, "GET /a", 0, 5)
    new.attributes.extend(
        [
            _kv("http.route", "/a"),
            _kv("http.response.status_code", 404),
            _kv("http.request.method", "GET"),
        ]
    )
    old = _span(TRACE_A, b"\x02" * 8, "POST /b", 0, 5)
    old.attributes.extend(
        [_kv("http.route", "/b"), _kv("http.status_code", "503"), _kv("http.method", "POST")]
    )
    result = convert_request(_request("api", new, old))
    got = {(s.http_route, s.http_method, s.http_status_code) for s in result.spans}
    assert got == {("/a", "GET", 404), ("/b", "POST", 503)}
    assert result.rejected_total == 0 and result.message == ""
    assert {s.service for s in result.spans} == {"api"}
    assert result.spans[0].duration_ns == 5 * MS
    assert result.spans[0].kind is SpanKind.SERVER


def test_convert_rejects_invalid_spans_with_counts():
    spans = [
        _span(b"\x00" * 16, b"\x01" * 8, "zero trace", 0, 1),
        _span(b"\x01" * 15, b"\x01" * 8, "short trace", 0, 1),
        _span(TRACE_A, b"\x00" * 8, "zero span", 0, 1),
        _span(TRACE_A, b"\x01" * 4, "short span", 0, 1),
        _span(TRACE_A, b"\x05" * 8, "bad parent", 0, 1, parent=b"\x01" * 3),
        _span(TRACE_A, b"\x06" * 8, "ends early", 10, -5),
        _span(TRACE_A, b"\x07" * 8, "fine", 0, 0),
    ]
    result = convert_request(_request("api", *spans))
    assert [s.name for s in result.spans] == ["fine"]
    assert result.rejected_total == 6
    assert result.rejected == {
        "invalid trace_id": 2,
        "invalid span_id": 2,
        "invalid parent_span_id": 1,
        "end before start": 1,
    }
    assert result.message.startswith("rejected 6 spans: ")


def test_convert_keeps_attribute_types_and_defaults_service():
    span = _span(TRACE_A, b"\x01" * 8, "x", 0, 1, kind=1)
    span.attributes.extend([_kv("n", 3), _kv("f", 0.5), _kv("b", True)])
    resource_spans = ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])
    result = convert_request(ExportTraceServiceRequest(resource_spans=[resource_spans]))
    assert result.spans[0].attributes == {"n": 3, "f": 0.5, "b": True}
    assert result.spans[0].service == "unknown_service"


# -- storage and search -------------------------------------------------------------------


def test_write_is_idempotent_and_get_trace_returns_all_spans(span_store):
    records = convert_request(_shop_request()).spans
    assert span_store.write(records) == 3
    assert span_store.write(records) == 0  # a retried batch is not stored twice
    trace = span_store.get_trace(TRACE_A.hex())
    assert [s.name for s in trace] == ["GET /cart", "SELECT"]
    root = trace[0]
    assert root.parent_span_id is None and trace[1].parent_span_id == b"\x01" * 8
    assert root.status_code is StatusCode.ERROR and root.http_status_code == 500
    assert root.attributes["http.route"] == "/cart"
    assert root.resource_attributes == {"service.name": "shop"}
    assert span_store.get_trace("ff" * 16) is None
    with pytest.raises(ValueError):
        span_store.get_trace("not-a-trace")


def _found(span_store, **criteria) -> list[str]:
    return [t.trace_id.hex() for t in span_store.search(**criteria)]


def test_search_by_each_criterion(span_store):
    span_store.write(convert_request(_shop_request()).spans)
    a, b = TRACE_A.hex(), TRACE_B.hex()
    assert _found(span_store) == [b, a]  # newest first
    assert _found(span_store, service="shop") == [b, a]
    assert _found(span_store, service="other") == []
    assert _found(span_store, operation="SELECT") == [a]
    assert _found(span_store, min_duration_ns=100 * MS) == [a]
    assert _found(span_store, max_duration_ns=40 * MS) == [b]
    assert _found(span_store, status=StatusCode.ERROR) == [a]
    assert _found(span_store, status=StatusCode.OK) == [b]
    assert _found(span_store, attribute=("http.route", "/checkout")) == [b]
    assert _found(span_store, attribute=("http.status_code", "201")) == [b]
    assert _found(span_store, attribute=("service.name", "shop")) == [b, a]
    assert _found(span_store, attribute=("http.route", "/car")) == []  # exact, not "contains"
    assert _found(span_store, start_ns=T0 + 500 * MS) == [b]
    assert _found(span_store, end_ns=T0 + 500 * MS) == [a]
    assert _found(span_store, limit=1) == [b]
    assert _found(span_store, service="shop", operation="SELECT", min_duration_ns=MS) == [a]


def test_search_summarises_whole_traces(span_store):
    span_store.write(convert_request(_shop_request()).spans)
    (summary,) = span_store.search(operation="SELECT")
    assert (summary.root_service, summary.root_name) == ("shop", "GET /cart")
    assert summary.span_count == 2 and summary.error is True
    assert summary.start_time_unix_nano == T0 and summary.duration_ns == 200 * MS
    with pytest.raises(ValueError):
        span_store.search(limit=0)


# -- RED metrics --------------------------------------------------------------------------


def _record(name, kind=SpanKind.SERVER, status=StatusCode.UNSET, dur_ms=1, end_ms=0, sid=1):
    return SpanRecord(
        TRACE_A,
        sid.to_bytes(8, "big"),
        None,
        "shop",
        name,
        kind,
        T0 + (end_ms - dur_ms) * MS,
        dur_ms * MS,
        status,
    )


def test_red_accumulator_counts_server_and_consumer_spans_cumulatively():
    red = RedAccumulator()
    first = red.observe(
        [
            _record("GET /a", dur_ms=2),
            _record("GET /a", dur_ms=3, end_ms=5),
            _record("SELECT", kind=SpanKind.CLIENT),
            _record("job", kind=SpanKind.CONSUMER),
        ]
    )
    values = {(str(labels), t): v for labels, t, v in first}
    t_ms = T0 // MS + 5
    key = 'service_name="shop", span_kind="SPAN_KIND_SERVER", span_name="GET /a", '
    key += 'status_code="STATUS_CODE_UNSET"'
    assert values[(f"{CALLS}{{{key}}}", t_ms)] == 2
    assert values[(f'traces_span_metrics_duration_seconds_bucket{{le="0.002", {key}}}', t_ms)] == 1
    assert values[(f'traces_span_metrics_duration_seconds_bucket{{le="0.004", {key}}}', t_ms)] == 2
    assert values[(f'traces_span_metrics_duration_seconds_bucket{{le="+Inf", {key}}}', t_ms)] == 2
    assert values[(f"traces_span_metrics_duration_seconds_sum{{{key}}}", t_ms)] == 0.005
    assert not any("SELECT" in name for name, _ in values)
    assert red.series_count == 2
    # A late batch is stamped after the previous one and carries the running total.
    (later,) = [s for s in red.observe([_record("GET /a")]) if s[0].metric_name == CALLS]
    assert later[1:] == (t_ms + 1, 3.0)
    assert DEFAULT_BUCKETS_SECONDS[0] == 0.002 and DEFAULT_BUCKETS_SECONDS[-1] == 15.0


def test_red_accumulator_bounds_series_and_counts_overflow():
    red = RedAccumulator(max_series=3)
    samples = red.observe([_record(f"op{i}") for i in range(5)])
    assert red.series_count == 3 and red.overflow_spans == 3
    calls = {
        s[0].get("span_name") or s[0].get("otel_metric_overflow"): s[2]
        for s in samples
        if s[0].metric_name == CALLS
    }
    assert calls == {"op0": 1.0, "op1": 1.0, "true": 3.0}


def test_sink_stores_spans_and_red_series_reach_promql(store, span_store):
    sink = make_traces_sink(span_store, store, RedAccumulator())
    request = _shop_request()
    request.resource_spans[0].scope_spans[0].spans.append(_span(b"\0" * 16, b"\x09" * 8, "x", 0, 1))
    assert sink(request) == (3, 1, "rejected 1 spans: 1 invalid trace_id")
    assert sink(_shop_request()) == (3, 0, "")  # a retry: accepted, counted once
    t_ms = (T0 + 1030 * MS) // MS
    result = Engine(store).instant_query(
        "sum by (span_name) (traces_span_metrics_calls_total)", t_ms
    )
    got = {s.labels.get("span_name"): s.value for s in result.value}
    assert got == {"GET /cart": 1.0, "POST /checkout": 1.0}
    errors = Engine(store).instant_query(
        'traces_span_metrics_calls_total{status_code="STATUS_CODE_ERROR"}', t_ms
    )
    assert [s.labels.get("span_name") for s in errors.value] == ["GET /cart"]
    assert span_store.search(service="shop", limit=5)[0].trace_id == TRACE_B


def test_sdk_spans_through_the_sink(store, span_store):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("GET /pay", kind=OtelKind.SERVER) as server:
        server.set_attribute("http.route", "/pay")
        server.set_attribute("http.response.status_code", 502)
        server.set_status(OtelStatus.ERROR, "upstream failed")
        with tracer.start_as_current_span("charge", kind=OtelKind.CLIENT):
            pass
    provider.shutdown()
    finished = exporter.get_finished_spans()
    sink = make_traces_sink(span_store, store, RedAccumulator())
    assert sink(encode_spans(finished)) == (2, 0, "")
    trace_hex = f"{finished[0].context.trace_id:032x}"
    (summary,) = span_store.search(service="checkout", status=StatusCode.ERROR)
    assert summary.trace_id.hex() == trace_hex and summary.root_name == "GET /pay"
    assert summary.span_count == 2
    spans = {s.name: s for s in span_store.get_trace(trace_hex)}
    assert spans["charge"].parent_span_id == spans["GET /pay"].span_id
    assert spans["GET /pay"].http_status_code == 502
    assert spans["GET /pay"].status_message == "upstream failed"
    end_ms = max(s.end_time for s in finished) // MS
    result = Engine(store).instant_query(
        "sum by (span_name) (traces_span_metrics_calls_total)", end_ms
    )
    assert {s.labels.get("span_name"): s.value for s in result.value} == {"GET /pay": 1.0}


# -- HTTP API -----------------------------------------------------------------------------


@pytest.fixture
def client(span_store):
    span_store.write(convert_request(_shop_request()).spans)
    app = Flask(__name__)
    app.register_blueprint(create_trace_blueprint(span_store))
    return app.test_client()


def test_api_search(client):
    reply = client.get("/api/traces/search?service=shop&minDuration=100ms&tag=http.route=/cart")
    assert reply.status_code == 200
    (hit,) = reply.get_json()["traces"]
    assert hit == {
        "traceID": TRACE_A.hex(),
        "rootServiceName": "shop",
        "rootTraceName": "GET /cart",
        "startTimeUnixNano": str(T0),
        "durationMs": 200.0,
        "spanCount": 2,
        "error": True,
    }
    start = (T0 + 500 * MS) / 1e9
    reply = client.get(f"/api/traces/search?start={start}&end={start + 10}&status=ok&limit=5")
    assert [t["traceID"] for t in reply.get_json()["traces"]] == [TRACE_B.hex()]
    reply = client.get("/api/traces/search?operation=SELECT&maxDuration=0.1s")
    assert [t["traceID"] for t in reply.get_json()["traces"]] == [TRACE_A.hex()]


@pytest.mark.parametrize(
    "query, name",
    [
        ("minDuration=10", "minDuration"),
        ("maxDuration=abc", "maxDuration"),
        ("status=bad", "status"),
        ("tag=novalue", "tag"),
        ("start=x", "start"),
        ("start=20&end=10", "end"),
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
    ],
)
def test_api_search_rejects_bad_parameters(client, query, name):
    reply = client.get(f"/api/traces/search?{query}")
    assert reply.status_code == 400
    assert f"'{name}'" in reply.get_json()["error"]


def test_api_trace(client):
    reply = client.get(f"/api/traces/{TRACE_A.hex()}")
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["traceID"] == TRACE_A.hex()
    root, child = body["spans"]
    assert root["parentSpanId"] == "" and child["parentSpanId"] == root["spanId"]
    assert root["kind"] == "SPAN_KIND_SERVER" and root["status"]["code"] == "STATUS_CODE_ERROR"
    assert root["durationNanos"] == str(200 * MS) and root["httpRoute"] == "/cart"
    assert client.get(f"/api/traces/{'ab' * 16}").status_code == 404
    assert client.get("/api/traces/xyz").status_code == 400
    assert client.get(f"/api/traces/{'zz' * 16}").status_code == 400


def test_go_durations():
    assert parse_go_duration_ns("1h2m3s") == 3_723_000_000_000
    assert parse_go_duration_ns("250us") == 250_000
    with pytest.raises(ValueError):
        parse_go_duration_ns("10")


def test_retention_deletes_spans_that_ended_before_the_cut(span_store, store):
    from collector.store.span_schema import span_attributes

    old = _span(b"\x0a" * 16, b"\x0b" * 8, "GET /old", 0, 10, http_route="/old")
    long = _span(b"\x0c" * 16, b"\x0d" * 8, "GET /long", 0, 5_000, http_route="/long")
    assert span_store.write(convert_request(_request("shop", old, long)).spans) == 2
    assert span_store.delete_before(T0 + 1_000 * MS) == 1
    assert span_store.get_trace("0a" * 16) is None
    assert [s.name for s in span_store.get_trace("0c" * 16)] == ["GET /long"]
    with store.engine.connect() as conn:
        left = set(conn.execute(select(span_attributes.c.trace_id)).scalars())
    assert left == {b"\x0c" * 16}
