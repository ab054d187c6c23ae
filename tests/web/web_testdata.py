"""Data and helpers for the dashboard tests: spans and series whose user-supplied strings
carry script payloads, and log-in through the real form."""

from __future__ import annotations

import re
from dataclasses import dataclass

from collector.convert.spans_to_red import RedAccumulator
from collector.model import Labels
from collector.store.spans import SpanKind, SpanRecord, StatusCode
from collector.store.sql import SqlStore
from web.settings import Role

NOW_MS = 1_700_000_000_000  # the dashboard's injected "now"
# Each payload sets window.__xss if it ever runs in a browser.
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '"><img src=x onerror="window.__xss=2">'
XSS_LINK = '<a href="javascript:window.__xss=3">click</a>'
PASSWORDS = {"vera": "viewer-pass", "ed": "editor-pass", "ada": "admin-pass"}
ROLES = {"vera": Role.VIEWER, "ed": Role.EDITOR, "ada": Role.ADMIN}


def span(trace: int, sid: int, parent: int | None, **fields) -> SpanRecord:
    base = dict(
        trace_id=trace.to_bytes(16, "big"),
        span_id=sid.to_bytes(8, "big"),
        parent_span_id=None if parent is None else parent.to_bytes(8, "big"),
        service="shop",
        name="GET /api/orders",
        kind=SpanKind.SERVER,
        start_time_unix_nano=0,
        duration_ns=120_000_000,
    )
    base.update(fields)
    return SpanRecord(**base)


def trace_spans(trace: int, start_ms: int, *, error: bool = False) -> list[SpanRecord]:
    """A shop request: server span, a DB query below it, a cache call below that."""
    t0 = start_ms * 1_000_000
    status = StatusCode.ERROR if error else StatusCode.UNSET
    root = span(
        trace,
        1,
        None,
        start_time_unix_nano=t0,
        status_code=status,
        status_message="boom " + XSS_SCRIPT if error else "",
        http_route="/api/orders",
        attributes={"http.route": "/api/orders", "user.note": XSS_SCRIPT, "evil": XSS_IMG},
        events=[{"time_unix_nano": t0 + 5_000_000, "name": XSS_LINK, "attributes": {"x": XSS_IMG}}],
        resource_attributes={"service.name": "shop", "host.name": XSS_SCRIPT},
    )
    db = span(
        trace,
        2,
        1,
        name="SELECT " + XSS_SCRIPT,
        kind=SpanKind.CLIENT,
        start_time_unix_nano=t0 + 10_000_000,
        duration_ns=60_000_000,
        attributes={"db.statement": "SELECT * FROM orders WHERE note = '" + XSS_IMG + "'"},
    )
    cache = span(
        trace,
        3,
        2,
        service="redis <b>cache</b>",
        name="GET",
        kind=SpanKind.CLIENT,
        start_time_unix_nano=t0 + 20_000_000,
        duration_ns=2_000_000,
    )
    return [root, db, cache]


@dataclass
class Seeded:
    store: SqlStore
    collector: object
    trace_ids: list[str]
    error_trace_id: str


def seed(store: SqlStore, collector) -> Seeded:
    """Twenty traces over the last 40 minutes (every fifth failed), their RED series, and a
    gauge whose label values carry the payloads."""
    red = RedAccumulator()
    ids = []
    for i in range(20):
        start = NOW_MS - (40 - 2 * i) * 60_000
        records = trace_spans(1000 + i, start, error=i % 5 == 0)
        collector.span_store.write(records)
        samples, _ = red.observe_batch(records)
        store.append(samples)
        ids.append((1000 + i).to_bytes(16, "big").hex())
    gauge = []
    for j, payload in enumerate((XSS_SCRIPT, XSS_IMG, XSS_LINK)):
        labels = Labels.of({"__name__": "queue_depth", "queue": payload, "job": "shop"})
        gauge += [(labels, NOW_MS - m * 60_000, float(j * 10 + m % 7)) for m in range(60, -1, -1)]
    store.append(gauge)
    return Seeded(store, collector, ids, ids[0])


def csrf_from(html: str) -> str:
    """The CSRF token a page carries (its forms' field, else its ``csrf-token`` meta tag)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', html
    )
    assert found, "no CSRF token on the page"
    return found.group(1)


def log_in(client, name: str, password: str | None = None):
    """Log ``name`` in through the form, as a browser does; returns the POST's response."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    form = {"username": name, "password": password or PASSWORDS[name], "csrf_token": token}
    return client.post("/login", data=form)
