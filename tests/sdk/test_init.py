"""init(), options, shutdown, and the no-op client before init."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

import sloscope
from sloscope._client import NonRecordingClient
from sloscope._internal_errors import InternalErrors, capture_internal_exceptions
from sloscope._options import DEFAULT_OTLP_ENDPOINT, build_options


def test_keywords_beat_environment_beat_defaults():
    env = {"OTEL_SERVICE_NAME": "from-env", "SLOSCOPE_TRACES_SAMPLE_RATE": "0.25"}
    assert build_options({}, {}).otlp_endpoint == DEFAULT_OTLP_ENDPOINT
    assert build_options({}, env).service_name == "from-env"
    assert build_options({"service_name": "kw"}, env).service_name == "kw"
    assert build_options({}, env).traces_sample_rate == 0.25


def test_unknown_option_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="servce_name"):
        build_options({"servce_name": "x"}, {})


def test_bad_environment_values_fall_back_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="sloscope"):
        options = build_options({}, {"SLOSCOPE_TRACES_SAMPLE_RATE": "lots", "SLOSCOPE_TRACES": "?"})
    assert options.traces_sample_rate == 1.0 and options.traces is True
    assert "SLOSCOPE_TRACES_SAMPLE_RATE" in caplog.text and "SLOSCOPE_TRACES" in caplog.text


def test_impossible_values_are_rejected():
    with pytest.raises(ValueError, match="traces_sample_rate"):
        build_options({"traces_sample_rate": 2.0}, {})


def test_before_init_the_client_does_not_record():
    sloscope.shutdown()
    client = sloscope.get_client()
    assert isinstance(client, NonRecordingClient) and not client.recording
    with client.tracer.start_as_current_span("nothing") as span:
        assert not span.is_recording()


def test_init_is_idempotent_and_shutdown_flushes():
    spans = InMemorySpanExporter()
    client = sloscope.init(service_name="a", registry=CollectorRegistry(), span_exporter=spans)
    try:
        assert sloscope.init(service_name="a") is client
        with client.tracer.start_as_current_span("work"):
            pass
    finally:
        sloscope.shutdown(timeout_s=2.0)
    assert [s.name for s in spans.get_finished_spans()] == ["work"]
    assert spans.get_finished_spans()[0].resource.attributes["service.name"] == "a"
    assert not sloscope.get_client().recording


def test_process_metrics_are_on_the_client_registry(client):
    assert client.registry.get_sample_value("python_threads") >= 1


def test_internal_errors_are_swallowed_counted_and_logged_once(caplog):
    errors = InternalErrors(raise_errors=False)
    with caplog.at_level(logging.WARNING, logger="sloscope"):
        for _ in range(3):
            with capture_internal_exceptions(errors, "flask.after"):
                raise RuntimeError("bug")
    assert errors.counts == {"flask.after": 3}
    assert caplog.text.count("flask.after") == 1


def test_internal_errors_are_raised_in_tests():
    with pytest.raises(RuntimeError):
        with capture_internal_exceptions(InternalErrors(raise_errors=True), "x"):
            raise RuntimeError("bug")


def test_internal_error_counter_is_exposed(client):
    client.errors.record("redis.command", RuntimeError("x"))
    assert (
        client.registry.get_sample_value(
            "sloscope_sdk_internal_errors_total", {"where": "redis.command"}
        )
        == 1.0
    )
