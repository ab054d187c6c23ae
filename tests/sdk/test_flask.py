"""The Flask integration against real Flask apps: the test client, and one real WSGI server."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator

import flask
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from werkzeug.serving import make_server

import sloscope
import sloscope.flask
from sloscope.integrations.flask import REQUEST_DURATION_BUCKETS
from tests.sdk.conftest import finished_spans, sample

DURATION = "http_server_request_duration_seconds"
ACTIVE = "http_server_active_requests"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def create_app(name: str = "shop", **init_kwargs) -> flask.Flask:
    """A small shop app, instrumented the way users do it."""
    app = flask.Flask(name)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500 page, as in production

    @app.get("/api/products/<int:id>")
    def product(id: int):
        if id == 0:
            flask.abort(404)  # a 404 of a matched rule keeps its route
        return {"id": id}

    @app.get("/items/<int:id>")
    def item(id: int):
        return "ok"

    @app.get("/fail")
    def fail():
        return "unavailable", 503

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    @app.get("/in-flight")
    def in_flight():
        count = sample(sloscope.get_client(), ACTIVE, {"http_request_method": "GET"})
        return {"in_flight": count}

    @app.get("/nested")
    def nested():
        with sloscope.get_client().tracer.start_as_current_span("child"):
            return "ok"

    @app.get("/stream")
    def stream():
        def chunks() -> Iterator[str]:
            yield "a"
            with sloscope.get_client().tracer.start_as_current_span("chunk"):
                yield "b"

        return flask.Response(chunks())

    sloscope.flask.init_app(app, **init_kwargs)
    return app


def get(app: flask.Flask, path: str, **kwargs) -> flask.testing.TestResponse:
    """GET through the test client; buffered so the body is read and closed, as servers do."""
    return app.test_client().get(path, buffered=True, **kwargs)


def count(client, method: str, route: str, status: int) -> float | None:
    labels = {
        "http_request_method": method,
        "http_route": route,
        "http_response_status_code": str(status),
    }
    return sample(client, f"{DURATION}_count", labels)


def series(client) -> set[tuple[str, ...]]:
    """The (method, route, status) label sets of the duration histogram."""
    keys = ("http_request_method", "http_route", "http_response_status_code")
    return {
        tuple(s.labels[k] for k in keys)
        for family in client.registry.collect()
        for s in family.samples
        if s.name == f"{DURATION}_count"
    }


def by_name(spans_list) -> dict:
    return {s.name: s for s in spans_list}


def test_counts_per_route_template_and_status(client):
    app = create_app()
    for _ in range(3):
        assert get(app, "/api/products/7").status_code == 200
    assert get(app, "/api/products/8").status_code == 200
    for _ in range(2):
        assert get(app, "/api/products/0").status_code == 404
    assert get(app, "/fail").status_code == 503
    assert get(app, "/nope").status_code == 404
    assert get(app, "/boom").status_code == 500
    assert app.test_client().post("/api/products/7", buffered=True).status_code == 405

    assert count(client, "GET", "/api/products/<int:id>", 200) == 4
    assert count(client, "GET", "/api/products/<int:id>", 404) == 2
    assert count(client, "GET", "/fail", 503) == 1
    assert count(client, "GET", "/boom", 500) == 1
    assert count(client, "GET", "", 404) == 1
    assert count(client, "POST", "", 405) == 1
    assert {route for _, route, _ in series(client)} == {
        "/api/products/<int:id>",
        "/fail",
        "/boom",
        "",
    }
    assert sample(client, f"{ACTIVE}", {"http_request_method": "GET"}) == 0
    assert sample(client, f"{ACTIVE}", {"http_request_method": "POST"}) == 0


def test_histogram_buckets_merge_semconv_and_slo_thresholds(client):
    assert REQUEST_DURATION_BUCKETS == (
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    )  # fmt: skip
    get(create_app(), "/fail")
    bounds = {
        s.labels["le"]
        for family in client.registry.collect()
        for s in family.samples
        if s.name == f"{DURATION}_bucket"
    }
    assert {"0.2", "0.5", "1.0", "+Inf"} <= bounds and len(bounds) == 16


def test_ten_thousand_raw_paths_make_one_series_per_route_template(client):
    app = create_app()
    test_client = app.test_client()
    for i in range(10_000):
        assert test_client.get(f"/items/{i}", buffered=True).status_code == 200
    for i in range(300):
        assert test_client.get(f"/unknown/{i}", buffered=True).status_code == 404
        assert test_client.get(f"/items/x{i}", buffered=True).status_code == 404

    assert series(client) == {("GET", "/items/<int:id>", "200"), ("GET", "", "404")}
    assert count(client, "GET", "/items/<int:id>", 200) == 10_000
    assert count(client, "GET", "", 404) == 600
    assert sample(client, ACTIVE, {"http_request_method": "GET"}) == 0


def test_in_flight_gauge_counts_the_current_request_and_returns_to_zero(client):
    app = create_app()
    assert get(app, "/in-flight").get_json() == {"in_flight": 1.0}
    get(app, "/boom")
    get(app, "/stream")
    assert sample(client, ACTIVE, {"http_request_method": "GET"}) == 0


def test_exemplars_carry_the_request_spans_trace_and_span_ids(client, spans):
    app = create_app()
    for path in ("/api/products/1", "/fail", "/nope"):
        get(app, path)
    response = get(app, "/metrics", headers={"Accept": OPENMETRICS})
    assert response.headers["Content-Type"].startswith(OPENMETRICS)

    exemplars = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            if s.name == f"{DURATION}_bucket" and s.exemplar is not None:
                key = (s.labels["http_route"], s.labels["http_response_status_code"])
                assert key not in exemplars  # one observation per series: one exemplar
                exemplars[key] = s.exemplar.labels
    server = by_name(finished_spans(client, spans))
    expected = {
        ("/api/products/<int:id>", "200"): server["GET /api/products/<int:id>"],
        ("/fail", "503"): server["GET /fail"],
        ("", "404"): server["GET"],
    }
    assert exemplars == {
        key: {
            "trace_id": f"{span.context.trace_id:032x}",
            "span_id": f"{span.context.span_id:016x}",
        }
        for key, span in expected.items()
    }


def test_no_exemplar_for_an_unsampled_request(client, spans):
    app = create_app()
    get(app, "/fail", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-00"})
    assert count(client, "GET", "/fail", 503) == 1
    text = get(app, "/metrics", headers={"Accept": OPENMETRICS}).get_data(as_text=True)
    assert "trace_id" not in text
    assert finished_spans(client, spans) == []


def test_server_span_name_kind_and_semconv_attributes(client, spans):
    get(create_app(), "/api/products/42?q=1", headers={"User-Agent": "probe/1.0"})
    (span,) = finished_spans(client, spans)
    assert span.name == "GET /api/products/<int:id>"
    assert span.kind is SpanKind.SERVER
    assert span.parent is None
    assert dict(span.attributes) == {
        "http.request.method": "GET",
        "http.route": "/api/products/<int:id>",
        "url.path": "/api/products/42",
        "url.scheme": "http",
        "server.address": "localhost",
        "server.port": 80,
        "http.response.status_code": 200,
        "user_agent.original": "probe/1.0",
        "network.protocol.version": "1.1",
        "client.address": "127.0.0.1",
    }


def test_incoming_traceparent_continues_the_trace(client, spans):
    get(create_app(), "/fail", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    (span,) = finished_spans(client, spans)
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert f"{span.parent.span_id:016x}" == PARENT_ID
    assert span.parent.is_remote


def test_span_status_for_5xx_4xx_and_unhandled_exceptions(client, spans):
    app = create_app()
    for path in ("/fail", "/api/products/0", "/nope", "/boom"):
        get(app, path)
    found = by_name(finished_spans(client, spans))

    assert found["GET /fail"].status.status_code is StatusCode.ERROR
    assert found["GET /fail"].attributes["error.type"] == "503"
    assert found["GET /api/products/<int:id>"].status.status_code is StatusCode.UNSET
    assert found["GET"].status.status_code is StatusCode.UNSET
    assert "http.route" not in found["GET"].attributes
    boom = found["GET /boom"]
    assert boom.status.status_code is StatusCode.ERROR
    assert boom.status.description == "RuntimeError: kaboom"
    assert boom.attributes["http.response.status_code"] == 500
    assert boom.attributes["error.type"] == "RuntimeError"
    (event,) = boom.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "RuntimeError"
    assert event.attributes["exception.message"] == "kaboom"


def test_an_exception_escaping_flask_is_recorded_and_reraised(client, spans):
    app = create_app()
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(RuntimeError, match="kaboom"):
        get(app, "/boom")
    (span,) = finished_spans(client, spans)
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]
    assert count(client, "GET", "/boom", 500) == 1
    assert sample(client, ACTIVE, {"http_request_method": "GET"}) == 0


def test_the_server_span_is_current_in_views_and_streamed_bodies(client, spans):
    app = create_app()
    assert get(app, "/nested").status_code == 200
    assert get(app, "/stream").get_data(as_text=True) == "ab"
    found = by_name(finished_spans(client, spans))
    assert found["child"].parent.span_id == found["GET /nested"].context.span_id
    assert found["chunk"].parent.span_id == found["GET /stream"].context.span_id
    assert count(client, "GET", "/stream", 200) == 1
    assert trace.get_current_span() is trace.INVALID_SPAN  # nothing leaks out of the request


def test_unknown_methods_are_bounded_to_other(client, spans):
    app = create_app()
    assert app.test_client().open("/fail", method="BREW", buffered=True).status_code == 405
    assert count(client, "_OTHER", "", 405) == 1
    (span,) = finished_spans(client, spans)
    assert span.name == "HTTP"
    assert span.attributes["http.request.method_original"] == "BREW"


def test_requests_before_init_pass_through_and_record_nothing(spans):
    sloscope.shutdown()  # make sure no client from elsewhere is set
    assert not sloscope.get_client().recording
    app = create_app()
    assert get(app, "/api/products/3").get_json() == {"id": 3}
    assert get(app, "/boom").status_code == 500
    scrape = get(app, "/metrics")
    assert (scrape.status_code, scrape.data) == (200, b"")

    registry = CollectorRegistry()
    client = sloscope.init(
        service_name="late", registry=registry, span_exporter=spans, raise_internal_errors=True
    )
    try:
        assert count(client, "GET", "/api/products/<int:id>", 200) is None  # nothing earlier
        get(app, "/api/products/3")
        assert count(client, "GET", "/api/products/<int:id>", 200) == 1
        assert [s.name for s in finished_spans(client, spans)] == ["GET /api/products/<int:id>"]
    finally:
        sloscope.shutdown()


def test_two_apps_in_one_process_each_instrumented_once(client, spans):
    first, second = create_app("first"), create_app("second", metrics_path="/internal/metrics")
    sloscope.flask.init_app(first)  # idempotent: no second wrapper, no second route
    assert first.extensions["sloscope"].metrics_path == "/metrics"
    assert second.extensions["sloscope"].metrics_path == "/internal/metrics"
    with pytest.raises(ValueError, match="already set up"):
        sloscope.flask.init_app(first, metrics_path="/other")

    get(first, "/fail")
    get(second, "/fail")
    get(second, "/api/products/1")
    assert count(client, "GET", "/fail", 503) == 2
    assert count(client, "GET", "/api/products/<int:id>", 200) == 1
    assert len(finished_spans(client, spans)) == 3
    assert get(second, "/metrics").status_code == 404  # its route lives elsewhere
    assert b"/fail" in get(second, "/internal/metrics").data


def test_metrics_route_in_text_and_openmetrics_and_not_measured(client):
    app = create_app()
    get(app, "/fail")
    text = get(app, "/metrics")
    assert text.status_code == 200
    assert text.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    body = text.get_data(as_text=True)
    assert f"{DURATION}_count{{" in body and "trace_id" not in body
    openmetrics = get(app, "/metrics", headers={"Accept": OPENMETRICS})
    assert openmetrics.get_data(as_text=True).endswith("# EOF\n")
    assert 'trace_id="' in openmetrics.get_data(as_text=True)
    assert {route for _, route, _ in series(client)} == {"/fail"}


def test_a_bad_metrics_path_fails_at_setup():
    with pytest.raises(ValueError, match="must start with '/'"):
        sloscope.flask.init_app(flask.Flask("bad"), metrics_path="metrics")


def test_over_a_real_wsgi_server(client, spans):
    app = create_app()
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        request = urllib.request.Request(
            f"{base}/api/products/5",
            headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "User-Agent": "wire/2"},
        )
        with urllib.request.urlopen(request) as response:
            assert response.status == 200
            assert response.read() == b'{"id":5}\n'
        scrape = urllib.request.Request(f"{base}/metrics", headers={"Accept": OPENMETRICS})
        with urllib.request.urlopen(scrape) as response:
            assert response.headers["Content-Type"].startswith(OPENMETRICS)
            body = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

    (span,) = finished_spans(client, spans)
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert f"{span.parent.span_id:016x}" == PARENT_ID
    assert span.attributes["server.address"] == "127.0.0.1"
    assert span.attributes["server.port"] == server.server_port
    assert span.attributes["user_agent.original"] == "wire/2"
    assert span.attributes["network.protocol.version"] == "1.1"
    assert f'trace_id="{TRACE_ID}"' in body
    assert count(client, "GET", "/api/products/<int:id>", 200) == 1


def test_an_sdk_failure_never_reaches_the_app(spans):
    registry = CollectorRegistry()
    # A clashing metric makes creating the integration's instruments fail on every request.
    Gauge("http_server_active_requests", "taken", registry=registry)
    client = sloscope.init(service_name="clash", registry=registry, span_exporter=spans)
    try:
        app = create_app()
        assert get(app, "/api/products/3").get_json() == {"id": 3}
        assert client.errors.counts == {"flask.request_start": 1}
        errors = sample(
            client, "sloscope_sdk_internal_errors_total", {"where": "flask.request_start"}
        )
        assert errors == 1
        assert finished_spans(client, spans) == []  # no span was left half-made
    finally:
        sloscope.shutdown()
