"""Trace queries: waterfall order and depth with missing parents and cycles, search filter
parsing, and a server without a span store."""

from __future__ import annotations

import pytest
from web_testdata import span

from collector.store.spans import SpanStore
from collector.store.sql import SqlStore
from web.queries import Sources
from web.queries.traces import (
    TraceFilter,
    TraceFilterError,
    get_trace,
    parse_trace_filter,
    search_traces,
)


@pytest.fixture
def store():
    with SqlStore("sqlite:///:memory:") as store:
        yield store


def test_orphans_and_cycles_still_show_every_span(store):
    spans = SpanStore(store.engine)
    spans.create()
    ms = 1_000_000
    spans.write(
        [
            span(7, 1, None, name="root", start_time_unix_nano=100 * ms),
            span(7, 3, 1, name="late child", start_time_unix_nano=150 * ms),
            span(7, 2, 1, name="early child", start_time_unix_nano=110 * ms),
            span(7, 4, 99, name="orphan", start_time_unix_nano=90 * ms),
            span(7, 5, 6, name="cycle a", start_time_unix_nano=120 * ms),
            span(7, 6, 5, name="cycle b", start_time_unix_nano=130 * ms),
        ]
    )
    view = get_trace(Sources(store, span_store=spans), (7).to_bytes(16, "big").hex())
    assert [(s.name, s.depth) for s in view.spans] == [
        ("orphan", 0),
        ("root", 0),
        ("early child", 1),
        ("late child", 1),
        ("cycle a", 1),
        ("cycle b", 1),
    ]
    assert view.spans[0].offset_ms == 0.0 and view.start_ms == 90.0


def test_without_a_span_store_searches_find_nothing(store):
    sources = Sources(store)
    assert search_traces(sources, TraceFilter(), 0, 1) == []
    assert get_trace(sources, "ab" * 16) is None
    with pytest.raises(ValueError, match="32 hex digits"):
        get_trace(sources, "abc")


def test_filter_parsing():
    parsed = parse_trace_filter(
        {"service": " shop ", "min_duration": "1.5s", "status": "ERROR", "attribute": "k = v"}
    )
    assert parsed.search_kwargs() == {
        "limit": 20,
        "service": "shop",
        "min_duration_ns": 1_500_000_000,
        "status": 2,
        "attribute": ("k", "v"),
    }
    with pytest.raises(TraceFilterError, match="^max_duration: "):
        parse_trace_filter({"max_duration": "5"})
    with pytest.raises(TraceFilterError, match="^attribute: "):
        parse_trace_filter({"attribute": "=v"})
