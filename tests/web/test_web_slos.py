"""The SLO pages' JSON twins and HTML on the full server app, over the data of
:mod:`slo_testdata` (figures computed by hand there)."""

from __future__ import annotations

import pytest
from slo_testdata import (
    BURN_END,
    BURN_START,
    MINUTE,
    SLOW_TRACE,
    build_app,
    load_slos,
    seed_slo_data,
)
from web_testdata import NOW_MS, XSS_IMG, XSS_SCRIPT, log_in

from slo.rules.manager import RuleManager
from slo.rules.model import AlertingRule, RuleGroup

DAY = 86_400_000


@pytest.fixture
def slos(tmp_path):
    return load_slos(tmp_path)


@pytest.fixture
def client(seeded, users, slos):
    seed_slo_data(seeded)
    c = build_app(seeded, users, slos).test_client()
    log_in(c, "vera")
    return c


def _rows(body) -> dict[str, dict]:
    return {row["id"]: row for group in body["groups"] for row in group["slos"]}


def test_overview_figures_per_slo(client):
    body = client.get("/api/ui/slos").get_json()
    rows = _rows(body)
    shop = rows["shop-availability"]
    assert shop["data"] == "recorded"
    assert shop["sli"] == pytest.approx(0.995)
    assert shop["budget_remaining"] == pytest.approx(0.5)
    assert shop["burn_rates"] == pytest.approx({"5m": 2.0, "1h": 1.0, "6h": 7.0, "3d": 0.5})
    assert (shop["alert_state"], shop["alert_severity"]) == ("firing", "page")
    assert shop["burn_thresholds"] == {"5m": 14.4, "1h": 14.4, "6h": 6.0, "3d": 1.0}
    latency = rows["shop-latency"]  # 0.1 of 10 requests per second slower than 0.5 s
    assert latency["data"] == "computed"
    assert latency["sli"] == pytest.approx(0.99)
    assert latency["budget_remaining"] == pytest.approx(-9.0)
    assert latency["burn_rates"]["1h"] == pytest.approx(10.0)
    assert latency["alert_state"] == "off"
    assert latency["window"] == "calendar month (Europe/Berlin)"
    search = rows["search-availability"]
    assert search["data"] == "computed"
    assert search["budget_remaining"] == pytest.approx(0.5)
    assert search["burn_rates"] == pytest.approx({"5m": 0.5, "1h": 0.5, "6h": 0.5, "3d": 0.5})
    assert search["alert_state"] == "ok"
    uptime = rows["search-uptime"]
    assert (uptime["data"], uptime["sli"], uptime["alert_state"]) == ("none", None, "no data")
    assert body["totals"] == {
        "slos": 4, "shown": 4, "firing": 1, "pending": 0, "spent": 1, "no_data": 1
    }  # fmt: skip


def test_overview_groups_by_service_and_sorts_worst_budget_first(client):
    body = client.get("/api/ui/slos").get_json()
    assert [g["service"] for g in body["groups"]] == ["search", "shop"]
    assert [r["id"] for r in body["groups"][1]["slos"]] == ["shop-latency", "shop-availability"]
    # no data sorts last whatever the order
    assert [r["id"] for r in body["groups"][0]["slos"]][-1] == "search-uptime"
    assert body["groups"][1]["worst_budget"] == pytest.approx(-9.0)
    assert body["groups"][1]["firing"] == 1


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("service=search", ["search-availability", "search-uptime"]),
        ("label=team%3Dshop", ["shop-latency", "shop-availability"]),
        ("q=UPTIME", ["search-uptime"]),
        (
            "group=none&sort=burn_6h&order=desc",
            ["shop-latency", "shop-availability", "search-availability", "search-uptime"],
        ),
        (
            "group=none&sort=name",
            ["search-availability", "search-uptime", "shop-availability", "shop-latency"],
        ),  # fmt: skip
        (
            "group=none&sort=alert",
            ["shop-availability", "search-availability", "search-uptime", "shop-latency"],
        ),  # fmt: skip
    ],
)
def test_overview_filters_and_sorts(client, query, ids):
    body = client.get(f"/api/ui/slos?{query}").get_json()
    assert [r["id"] for g in body["groups"] for r in g["slos"]] == ids


@pytest.mark.parametrize(
    ("query", "named"),
    [("sort=bogus", "'sort'"), ("label=nokey", "'label'"), ("group=x", "'group'")],
)
def test_overview_bad_parameters_are_named(client, query, named):
    response = client.get(f"/api/ui/slos?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]["errorType"] == "bad_data"
    assert named in response.get_json()["error"]["error"]
    page = client.get(f"/slos?{query}")
    assert page.status_code == 400 and named in page.get_data(as_text=True).replace("&#39;", "'")


def test_overview_without_slos_says_what_to_configure(seeded, users):
    c = build_app(seeded, users, ()).test_client()
    log_in(c, "vera")
    body = c.get("/api/ui/slos").get_json()
    assert body["configured"] == 0 and body["groups"] == []
    assert "slo.files" in c.get("/slos").get_data(as_text=True)
    home = c.get("/api/ui/home").get_json()
    card = next(a for a in home["areas"] if a["key"] == "slos")
    assert card["summary"] == [body["no_slos_message"]]


def test_home_card_summarises_the_slos(client):
    home = client.get("/api/ui/home").get_json()
    card = next(a for a in home["areas"] if a["key"] == "slos")
    assert card["summary"] == [
        "4 SLOs, 1 with a firing burn-rate alert",
        "1 with the error budget spent",
    ]


def test_detail_budget_tiers_and_forecasts(client):
    body = client.get("/api/ui/slos/shop-availability").get_json()
    assert body["burn_rates"] == pytest.approx(
        {"5m": 2, "30m": 7, "1h": 1, "2h": 0.8, "6h": 7, "1d": 0.5, "3d": 0.5}
    )
    tiers = {(t["long_window"], t["short_window"]): t for t in body["tiers"]}
    assert [t["factor"] for t in body["tiers"]] == [14.4, 6.0, 3.0, 1.0]
    assert [t["burning"] for t in body["tiers"]] == [False, True, False, False]
    assert tiers[("1h", "5m")]["explanation"].startswith(
        "Pages when 2% of the 30d error budget is burned within 1 hour"
    )
    assert "lasts 2d 2h" in tiers[("1h", "5m")]["explanation"]  # 30d / 14.4 = 50h
    burndown = body["burndown"]
    # 12 hours of 10 events/s, 0.05 bad/s, in 3-hour steps ending now
    assert (burndown["step_ms"], burndown["unit"], burndown["data"]) == (
        3 * 3_600_000,
        "events",
        "recorded",
    )
    assert burndown["times_ms"] == [NOW_MS - k * 3 * 3_600_000 for k in (3, 2, 1, 0)]
    assert burndown["status"]["events"] == pytest.approx(432_000)
    assert burndown["status"]["consumed"] == pytest.approx(2_160)
    assert burndown["status"]["budget"] == pytest.approx(4_320)
    assert burndown["remaining_ratio"] == pytest.approx([0.5] * 4)
    hour, six = body["forecasts"][:2]
    assert hour["in_ms"] == pytest.approx(0.5 * 30 * DAY / 1)
    assert six["in_ms"] == pytest.approx(0.5 * 30 * DAY / 7, abs=1)
    assert hour["text"] == "budget exhausted in 15d"


def test_detail_burning_window_alerts_and_why(client, seeded):
    body = client.get("/api/ui/slos/shop-availability").get_json()
    # the 1h ratio is 0.03 (3x) for samples after BURN_START up to BURN_END
    assert [(e["start_ms"], e["end_ms"], e["peak"]) for e in body["episodes"]] == [
        (BURN_START + MINUTE, BURN_END + MINUTE - 15_000, pytest.approx(3.0))
    ]
    assert [(a["name"], a["state"], a["severity"]) for a in body["alerts"]] == [
        ("ShopAvailability", "firing", "page")
    ]
    assert [p["key"] for p in body["signals"]["panels"]] == ["latency", "errors", "cache", "pool"]
    assert body["signals"]["missing"] == ["DB checkout wait p95"]
    exemplars = body["exemplars"]
    assert [(e["trace_id"], e["bad"]) for e in exemplars] == [
        (seeded.trace_ids[10], True), (seeded.trace_ids[11], False)
    ]  # fmt: skip
    assert exemplars[0]["series"]["http_route"] == XSS_SCRIPT
    select, update = body["slow_statements"]
    assert (select["operation"], select["collection"]) == ("SELECT", "orders")
    assert select["p95_seconds"] == pytest.approx(0.975)  # all in (0.5, 1]
    assert (select["calls"], select["slow"]) == (pytest.approx(7200), pytest.approx(7200))
    assert select["example_trace_id"] == SLOW_TRACE.to_bytes(16, "big").hex()
    assert select["example_ms"] == pytest.approx(1200) and XSS_IMG in select["example_text"]
    assert update["p95_seconds"] == pytest.approx(0.0095) and update["slow"] is None


def test_detail_signal_charts_hold_the_computed_values(client):
    figure = client.get("/api/ui/slos/shop-availability").get_json()["figures"]["signals"]
    by_name = {(t.get("legendgrouptitle", {}).get("text"), t["name"]): t for t in figure["data"]}
    last = {key: t["y"][-1] for key, t in by_name.items() if t["y"]}
    assert last[("p95 latency", "p95")] == pytest.approx(0.25)
    assert last[("5xx ratio", "5xx")] == pytest.approx(0.005)
    assert last[("Cache hit ratio", "level l1")] == pytest.approx(0.9)
    assert last[("Cache hit ratio", "level l2")] == pytest.approx(0.5)
    assert last[("DB pool in use", "engine primary")] == pytest.approx(0.4)
    exemplar_points = next(t for t in figure["data"] if t["name"] == "exemplar traces")
    assert len(exemplar_points["customdata"]) == 2


def test_detail_sli_over_time_by_step(client):
    hour = client.get("/api/ui/slos/shop-availability").get_json()["figures"]["sli"]
    values = hour["data"][0]["y"]
    assert len(values) == 241 and values == pytest.approx([0.98] * 241)  # 1 - the 5m ratio
    day = client.get("/api/ui/slos/shop-availability?range=24h").get_json()["figures"]["sli"]
    values = [v for v in day["data"][0]["y"] if v is not None]
    # 1 - 0.05 / 10 in each 10m step, over the 12 hours of recordings
    assert len(values) == 72 and values == pytest.approx([0.995] * 72)


def test_detail_computes_without_recordings(client):
    body = client.get("/api/ui/slos/search-availability").get_json()
    assert body["summary"]["data"] == "computed"
    assert (body["burndown"]["data"], body["burn_data"], body["sli"]["data"]) == (
        "computed", "computed", "computed"
    )  # fmt: skip
    assert body["burndown"]["remaining_ratio"][-1] == pytest.approx(0.5)
    assert body["burn_rates"]["1h"] == pytest.approx(0.5)
    assert body["exemplars"] == [] and body["slow_statements"] == []


def test_detail_of_an_slo_without_data_says_so(client):
    body = client.get("/api/ui/slos/search-uptime").get_json()
    assert body["burndown"]["data"] == "none" and body["figures"]["burndown"] is None
    html = client.get("/slos/search-uptime").get_data(as_text=True)
    assert "No data for this SLO" in html


def test_unknown_slo_is_404(client):
    response = client.get("/api/ui/slos/nope")
    assert response.status_code == 404
    assert response.get_json()["errorType"] == "not_found"
    assert client.get("/slos/nope").status_code == 404


def test_pages_escape_label_values_and_texts(client):
    for path in ("/slos", "/slos/search-availability", "/slos/shop-availability"):
        html = client.get(path).get_data(as_text=True)
        assert XSS_SCRIPT not in html and XSS_IMG not in html
    overview = client.get("/slos").get_data(as_text=True)
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in overview


def test_detail_figures_are_valid_plotly(client):
    import plotly.graph_objects as go

    figures = client.get("/api/ui/slos/shop-availability").get_json()["figures"]
    for figure in [figures["burndown"], figures["sli"], figures["signals"], *figures["tiers"]]:
        assert figure is not None
        go.Figure(figure)


def test_alerts_come_from_the_rule_manager_when_it_runs(seeded, users, slos):
    seed_slo_data(seeded, alerts=False)
    labels = {"sloth_id": "search-availability", "sloth_severity": "ticket"}
    rule = AlertingRule("SearchBurn", "vector(1)", labels=labels, annotations={"summary": XSS_IMG})
    group = RuleGroup("g", "g.yml", (rule,), interval_ms=60_000)
    manager = RuleManager([group], querier=seeded.store, appender=None)
    manager.eval_due(NOW_MS - 5 * MINUTE)
    manager.eval_due(manager.next_due_ms())
    c = build_app(seeded, users, slos, rule_manager=manager).test_client()
    log_in(c, "vera")
    rows = _rows(c.get("/api/ui/slos").get_json())
    search = rows["search-availability"]
    assert (search["alert_state"], search["alert_severity"]) == ("firing", "ticket")
    assert rows["shop-availability"]["alert_state"] == "ok"
    detail = c.get("/api/ui/slos/search-availability").get_json()
    assert detail["alerts"][0]["annotations"]["summary"] == XSS_IMG
    assert detail["alerts"][0]["active_at_ms"] is not None
    assert XSS_IMG not in c.get("/slos/search-availability").get_data(as_text=True)
