"""SDK fixtures: a fresh client per test, spans captured in memory, internal errors raised."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

import sloscope


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def client(spans: InMemorySpanExporter) -> Iterator[sloscope._client.Client]:
    """An initialised SDK with its own registry; internal errors fail the test."""
    made = sloscope.init(
        service_name="sdk-test",
        registry=CollectorRegistry(),
        span_exporter=spans,
        raise_internal_errors=True,
    )
    yield made
    sloscope.shutdown()


def finished_spans(client, spans: InMemorySpanExporter) -> list:
    """Spans exported so far (flushes the batch processor first)."""
    client.flush()
    return list(spans.get_finished_spans())


def sample(client, name: str, labels: dict[str, str] | None = None) -> float | None:
    """A sample's value from the client's registry (None if absent); tests only."""
    return client.registry.get_sample_value(name, labels or {})
