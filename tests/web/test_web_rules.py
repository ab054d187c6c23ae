"""The Rules page and its twin: groups and rules of a real rule manager with their last
evaluation, health and errors, filters, and the page without a rule manager."""

from __future__ import annotations

import pytest
from web_alerting_data import alerting_app, build_alerting
from web_testdata import NOW_MS, log_in


@pytest.fixture
def client(seeded, users):
    client = alerting_app(seeded, users, build_alerting(seeded.store)).test_client()
    log_in(client, "vera")
    return client


def rules_of(twin) -> dict[str, dict]:
    return {r["name"]: r for g in twin["groups"] for r in g["rules"]}


def test_rules_twin_shows_groups_rules_health_and_errors(client):
    twin = client.get("/api/ui/rules").get_json()
    assert (twin["group_count"], twin["rule_count"], twin["failing"], twin["firing"]) == (
        2,
        5,
        1,
        3,
    )
    groups = {g["name"]: g for g in twin["groups"]}
    assert groups["queues"]["interval"] == "1m" and groups["queues"]["file"] == "queues.yml"
    assert groups["recordings"]["failing"] == 1 and groups["queues"]["failing"] == 0
    for group in groups.values():
        assert NOW_MS - 60_000 < group["last_eval_ms"] <= NOW_MS
        assert group["eval_duration_s"] > 0
    rules = rules_of(twin)
    assert rules["bad:dup"]["health"] == "err" and rules["bad:dup"]["kind"] == "record"
    assert rules["bad:dup"]["last_error"] == "vector cannot contain metrics with the same labelset"
    assert rules["job:queue:sum"]["health"] == "ok" and rules["job:queue:sum"]["state"] is None
    high = rules["HighQueue"]
    assert (high["kind"], high["state"], high["firing"], high["pending"]) == (
        "alert",
        "firing",
        2,
        0,
    )
    assert high["labels"] == {"severity": "page"} and high["position"] == "queues.yml:6:9"
    # fired at both evaluations within the last hour, for two queues
    assert high["fired_in_range"] == 2
    waiting = rules["QueueNotEmpty"]
    assert (waiting["state"], waiting["pending"], waiting["for_"]) == ("pending", 3, "1h")
    assert waiting["fired_in_range"] == 0


def test_rules_filters_by_health_and_name(client):
    twin = client.get("/api/ui/rules?health=err").get_json()
    assert list(rules_of(twin)) == ["bad:dup"] and twin["rule_count"] == 5
    twin = client.get("/api/ui/rules?name=queue").get_json()
    assert sorted(rules_of(twin)) == ["HighQueue", "QueueBacklog", "QueueNotEmpty", "job:queue:sum"]
    twin = client.get("/api/ui/rules?name=nothing-like-this").get_json()
    assert twin["groups"] == []
    page = client.get("/rules?name=nothing-like-this").get_data(as_text=True)
    assert "No rule matches the filter." in page
    bad = client.get("/api/ui/rules?health=sick")
    assert bad.status_code == 400 and "health: must be one of" in bad.get_json()["error"]["error"]


def test_rules_page_links_expressions_and_shows_errors(client):
    page = client.get("/rules?range=6h").get_data(as_text=True)
    assert "vector cannot contain metrics with the same labelset" in page
    assert 'href="/explore?query=queue_depth+%3E+5&amp;range=6h"' in page
    assert "queues.yml:6:9" in page and "fired in range: 2" in page
    assert "<script>" not in page.split("</head>")[1].replace("<script src=", "")


def test_rules_page_without_a_rule_manager(seeded, users):
    client = alerting_app(seeded, users, None).test_client()
    log_in(client, "vera")
    twin = client.get("/api/ui/rules").get_json()
    assert twin["manager"] is False and twin["groups"] == []
    page = client.get("/rules").get_data(as_text=True)
    assert "No rules are loaded" in page and "rules.files" in page
