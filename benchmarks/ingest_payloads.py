"""The payloads of ``ingest_bench.py``: OTLP span batches like an instrumented web service
sends, a realistic RUM beacon, and remote_write requests."""

from __future__ import annotations

SPANS_PER_BATCH = 512
RW_REQUESTS, RW_SERIES = 200, 500
RUM_KEY = "pk_bench_1"
BEACON = {
    "app_key": RUM_KEY,
    "page": {
        "url": "https://shop.example/product/42?ref=mail",
        "route": "/product/<id>",
        "referrer": "https://www.google.com/",
        "navigation_type": "navigate",
        "timestamp_ms": 1700000000000,
    },
    "vitals": [
        {
            "name": "LCP",
            "value": 2130.5,
            "rating": "good",
            "delta": 2130.5,
            "id": "v4-1700000000000-123",
            "navigationType": "navigate",
            "attribution": {"element": "#hero", "url": "https://cdn.example/a.jpg"},
        },
        {
            "name": "CLS",
            "value": 0.04,
            "rating": "good",
            "delta": 0.04,
            "id": "v4-1700000000000-124",
            "navigationType": "navigate",
        },
        {
            "name": "TTFB",
            "value": 310.0,
            "rating": "good",
            "delta": 310.0,
            "id": "v4-1700000000000-125",
            "navigationType": "navigate",
        },
    ],
    "api_calls": [
        {
            "method": "GET",
            "url": "/api/cart/9",
            "route": "/api/cart/<id>",
            "status": 200,
            "duration_ms": 84.2,
        },
        {"method": "POST", "url": "/api/checkout", "status": 502, "duration_ms": 1210.0},
    ],
}


def _attrs(**values):
    """OTLP ``KeyValue``s; ``http_route`` becomes ``http.route``."""
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    return [
        KeyValue(key=k.replace("_", "."), value=AnyValue(int_value=v))
        if isinstance(v, int)
        else KeyValue(key=k.replace("_", "."), value=AnyValue(string_value=v))
        for k, v in values.items()
    ]


def _trace(trace_id: bytes, root: bytes, start: int, error: bool) -> list:
    """A SERVER span and seven children: database calls (CLIENT) and INTERNAL work."""
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

    spans = [
        Span(
            trace_id=trace_id,
            span_id=root,
            name="POST /api/checkout",
            kind=Span.SPAN_KIND_SERVER,
            start_time_unix_nano=start,
            end_time_unix_nano=start + 48_000_000,
            attributes=_attrs(
                http_request_method="POST",
                http_route="/api/checkout",
                http_response_status_code=500 if error else 200,
                url_scheme="https",
                user_agent_original="Mozilla/5.0",
            ),
            status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_OK),
        )
    ]
    db = _attrs(
        db_system="postgresql",
        db_statement="SELECT * FROM orders WHERE id = $1",
        server_address="db-1",
        server_port=5432,
    )
    for c in range(7):
        client = c % 2 == 0
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=root[:4] + (c + 1).to_bytes(4, "big"),
                parent_span_id=root,
                name="SELECT orders" if client else "price cart",
                kind=Span.SPAN_KIND_CLIENT if client else Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=start + c * 5_000_000,
                end_time_unix_nano=start + c * 5_000_000 + 4_000_000,
                attributes=db if client else _attrs(code_function="price_cart", cart_items=3),
            )
        )
    return spans


def span_batch(batch_no: int, now_ns: int) -> bytes:
    """512 spans like an instrumented web service sends: 64 traces of eight spans, HTTP and
    database attributes, one trace in sixteen failing."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        _attrs(service_name="checkout", service_version="1.4.2", host_name="web-7")
    )
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "opentelemetry.instrumentation.flask"
    for t in range(SPANS_PER_BATCH // 8):
        trace_id = (batch_no * 1000 + t + 1).to_bytes(16, "big")
        root = (t + 1).to_bytes(4, "big") + bytes(4)
        start = now_ns + (batch_no * 64 + t) * 1_000_000
        scope.spans.extend(_trace(trace_id, root, start, error=t % 16 == 0))
    return request.SerializeToString()


def write_payloads(start_ms: int) -> list[bytes]:
    """200 requests, each one sample of the same 500 series, 15 s apart."""
    from collector.receivers.remote_write import encode_write_request

    labels = [
        {
            "__name__": "http_requests_total",
            "job": "api",
            "instance": f"web-{i // 50}:9100",
            "handler": f"/api/v{i % 50}",
            "code": "200",
        }
        for i in range(RW_SERIES)
    ]
    return [
        encode_write_request(
            [(lbl, [(start_ms + r * 15_000, float(r * 10 + i))]) for i, lbl in enumerate(labels)]
        )
        for r in range(RW_REQUESTS)
    ]
