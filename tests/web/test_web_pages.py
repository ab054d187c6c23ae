"""Every dashboard route and its JSON twin on the full server app, with seeded data."""

from __future__ import annotations

import gzip
import textwrap

import pytest
from markupsafe import escape
from web_testdata import NOW_MS, XSS_IMG, XSS_LINK, XSS_SCRIPT, log_in

from slo.rules.loader import parse_rule_text
from slo.rules.manager import RuleManager

PAYLOADS = (XSS_SCRIPT, XSS_IMG, XSS_LINK)


@pytest.fixture
def client(make_app):
    client = make_app().test_client()
    log_in(client, "vera")
    return client


def assert_escaped(page: str) -> None:
    """No payload appears raw; each appears HTML-escaped at least once, or not at all."""
    for payload in PAYLOADS:
        assert payload not in page
    assert "<script>window" not in page and "<img src=x" not in page


def test_home_summarises_series_spans_and_areas(client):
    twin = client.get("/api/ui/home").get_json()
    status = twin["status"]
    assert status["series"] >= 3 + 2  # the three gauges and the RED series
    assert status["failed_entry_spans"] == 4
    assert 19 <= status["entry_spans"] <= 22  # increase() extrapolates, as Prometheus does
    assert status["alerts"] is None and status["rules"] is None
    titles = [a["title"] for a in twin["areas"]]  # in nav order; Explore comes last
    assert titles[-1] == "Explore" and "Traces" in titles
    assert twin["time_range"]["end_ms"] == NOW_MS
    page = client.get("/?range=6h").get_data(as_text=True)
    assert 'href="/traces?range=6h"' in page and 'href="/explore?range=6h"' in page
    assert "failed entry spans" in page


def test_home_counts_alerts_and_rule_health_of_a_rule_manager(make_app, seeded):
    rules = textwrap.dedent(
        """
        groups:
          - name: demo
            rules:
              - alert: QueueDeep
                expr: queue_depth > 5
              - record: job:queue_depth:sum
                expr: queue_depth + on(job) queue_depth
        """
    )
    groups, errors = parse_rule_text(rules, "demo.yml")
    assert errors == []
    manager = RuleManager(groups, querier=seeded.store, appender=None, interval_ms=60_000)
    manager.eval_due(NOW_MS - 120_000)  # schedules the first slot
    manager.eval_due(NOW_MS)
    client = make_app(rule_manager=manager).test_client()
    log_in(client, "vera")
    status = client.get("/api/ui/home").get_json()["status"]
    assert status["alerts"] == {"firing": 2, "pending": 0}
    assert status["rules"] == {"groups": 1, "rules": 2, "unhealthy": 1}


def test_explore_graph_and_table(client):
    twin = client.get("/api/ui/explore?query=queue_depth&range=15m").get_json()
    assert twin["result_type"] == "vector"
    assert sorted(r["value"] for r in twin["rows"]) == ["0", "10", "20"]
    assert {r["labels"]["queue"] for r in twin["rows"]} == set(PAYLOADS)
    lines = twin["figure"]["data"]
    assert len(lines) == 3 and len(lines[0]["x"]) == 181  # 15m at the 5 s step, both ends
    page = client.get("/explore?query=queue_depth").get_data(as_text=True)
    assert 'data-figure="explore-graph"' in page
    assert_escaped(page)
    assert str(escape(XSS_SCRIPT)) in page


@pytest.mark.parametrize("expr", ["sum(", "rate(queue_depth)", 'queue_depth{queue=~"("}'])
def test_explore_errors_match_the_prometheus_api(client, expr):
    """The explorer reports what ``/api/v1/query`` reports for the same expression."""
    api = client.get("/api/v1/query", query_string={"query": expr, "time": NOW_MS / 1000})
    twin = client.get("/api/ui/explore", query_string={"query": expr})
    assert twin.status_code == api.status_code
    expected = api.get_json()
    assert twin.get_json()["error"] == {
        "status": "error",
        "errorType": expected["errorType"],
        "error": expected["error"],
    }
    page = client.get("/explore", query_string={"query": expr}).get_data(as_text=True)
    assert f"<strong>{expected['errorType']}</strong>: {escape(expected['error'])}" in page


def test_explore_range_vector_and_scalar(client):
    matrix = client.get("/api/ui/explore?query=queue_depth[2m]").get_json()
    assert matrix["result_type"] == "matrix" and matrix["figure"] is None
    assert "a matrix result cannot be graphed" in matrix["notes"]
    scalar = client.get("/api/ui/explore?query=1%2B1").get_json()
    assert scalar["rows"] == [{"series": "scalar", "labels": {}, "value": "2"}]
    assert scalar["figure"]["data"][0]["y"][0] == 2.0
    empty = client.get("/api/ui/explore").get_json()
    assert empty["rows"] == [] and empty["error"] is None


def test_trace_search_filters(client, seeded):
    everything = client.get("/api/ui/traces?limit=100").get_json()
    assert [t["trace_id"] for t in everything["traces"]] == seeded.trace_ids[::-1]
    assert everything["services"] == ["shop"]
    failed = client.get("/api/ui/traces?status=error").get_json()["traces"]
    assert len(failed) == 4 and all(t["error"] for t in failed)
    by_attribute = client.get(
        "/api/ui/traces", query_string={"attribute": f"user.note={XSS_SCRIPT}", "limit": "5"}
    ).get_json()
    assert len(by_attribute["traces"]) == 5
    assert client.get("/api/ui/traces?min_duration=121ms").get_json()["traces"] == []
    db = client.get("/api/ui/traces?operation=GET&service=redis <b>cache</b>").get_json()
    assert len(db["traces"]) == 20
    recent = client.get("/api/ui/traces?range=15m").get_json()["traces"]
    assert len(recent) == 7  # started at -14m, -12m, ... -2m


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("min_duration=fast", "min_duration: 'fast' is not a duration"),
        ("status=broken", "status: must be one of error, ok, unset"),
        ("attribute=novalue", "attribute: must be key=value"),
        ("limit=0", "limit: must be a whole number within 1..1000"),
    ],
)
def test_trace_search_names_the_bad_field(client, query, message):
    twin = client.get(f"/api/ui/traces?{query}")
    assert twin.status_code == 400
    assert twin.get_json()["error"]["error"].startswith(message)
    assert str(escape(message)) in client.get(f"/traces?{query}").get_data(as_text=True)


def test_trace_waterfall_and_details(client, seeded):
    trace_id = seeded.error_trace_id
    twin = client.get(f"/api/ui/traces/{trace_id}").get_json()
    spans = twin["trace"]["spans"]
    assert [(s["name"], s["depth"], s["offset_ms"]) for s in spans] == [
        ("GET /api/orders", 0, 0.0),
        ("SELECT " + XSS_SCRIPT, 1, 10.0),
        ("GET", 2, 20.0),
    ]
    assert spans[0]["error"] and spans[0]["attributes"]["user.note"] == XSS_SCRIPT
    assert spans[0]["events"][0] == {
        "name": XSS_LINK,
        "offset_ms": 5.0,
        "attributes": {"x": XSS_IMG},
    }
    assert (
        twin["figure"]["layout"]["yaxis"]["ticktext"][1]
        == "SELECT &lt;script&gt;window.__xss=1&lt;/script&gt;"
    )
    page = client.get(f"/traces/{trace_id}").get_data(as_text=True)
    assert f'id="span-{spans[1]["span_id"]}"' in page
    assert_escaped(page)
    assert str(escape(XSS_IMG)) in page


def test_trace_pages_for_unknown_and_malformed_ids(client):
    missing = client.get("/api/ui/traces/" + "ab" * 16)
    assert missing.status_code == 404
    assert missing.get_json()["errorType"] == "not_found"
    bad = client.get("/traces/<script>")
    assert bad.status_code == 400
    assert_escaped(bad.get_data(as_text=True))


def test_traces_page_lists_and_charts_hits(client, seeded):
    page = client.get("/traces?range=6h").get_data(as_text=True)
    assert f'href="/traces/{seeded.trace_ids[0]}?range=6h"' in page
    assert 'data-figure="trace-scatter" data-click="trace"' in page
    assert "20 traces" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("range=2h", "parameter &#39;range&#39;: &#39;2h&#39; is not one of"),
        ("range=custom&from=2023-11-14T20:00", "a custom range needs both"),
    ],
)
def test_bad_time_range_falls_back_on_pages_and_is_400_on_twins(client, query, message):
    assert client.get(f"/api/ui/traces?{query}").status_code == 400
    page = client.get(f"/traces?{query}")
    assert page.status_code == 200
    assert message in page.get_data(as_text=True)


def test_custom_time_range_and_auto_refresh(client):
    query = "range=custom&from=2023-11-14T21:00&to=2023-11-14T21:40&refresh=30s"
    twin = client.get(f"/api/ui/traces?{query}").get_json()
    assert twin["time_range"]["preset"] is None and twin["time_range"]["refresh"] == "30s"
    assert len(twin["traces"]) == 4  # started at -40m .. -34m
    page = client.get(f"/traces?{query}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="30">' in page
    assert 'value="2023-11-14T21:00"' in page


def test_plotly_is_served_offline_gzipped_and_cached(client):
    page = client.get("/explore?query=up").get_data(as_text=True)
    src = page.split('<script src="', 2)[1].split('"')[0] if "plotly" in page else ""
    response = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    assert gzip.decompress(response.data).startswith(b"/**")
    again = client.get(
        "/static/vendor/plotly.min.js", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    assert src == "" or src.startswith("/static/vendor/plotly.min.js?v=")
