"""The Alerts page and its twin on the full server app with a rule manager, a notifier and
its outbox (:mod:`web_alerting_data`): alert states and notifier statuses, runbook links,
silences created and expired by editors only, and the notification history."""

from __future__ import annotations

import pytest
from web_alerting_data import RUNBOOK, alerting_app, build_alerting
from web_testdata import NOW_MS, XSS_IMG, XSS_LINK, XSS_SCRIPT, csrf_from, log_in

from slo.notify.notifier import AlertState

PAYLOADS = (XSS_SCRIPT, XSS_IMG, XSS_LINK)


@pytest.fixture
def alerting(seeded):
    return build_alerting(seeded.store)


@pytest.fixture
def app(seeded, users, alerting):
    return alerting_app(seeded, users, alerting)


def client_for(app, name: str):
    client = app.test_client()
    log_in(client, name)
    return client


def by_name(twin) -> dict[tuple[str, str], dict]:
    return {(a["alertname"], a["labels"]["queue"]): a for a in twin["alerts"]}


def test_alerts_twin_lists_states_and_what_the_notifier_does(app):
    twin = client_for(app, "vera").get("/api/ui/alerts").get_json()
    assert twin["counts"] == {"firing": 3, "pending": 3, "suppressed": 1}
    assert [a["state"] for a in twin["alerts"]] == ["firing"] * 3 + ["pending"] * 3
    alerts = by_name(twin)
    deep = alerts[("HighQueue", XSS_LINK)]
    assert deep["value"] == 21.0 and deep["labels"]["severity"] == "page"
    assert deep["notify"] == "active" and deep["receivers"] == ["team"]
    assert deep["annotations"]["summary"] == f"Queue {XSS_LINK} is deep"
    assert deep["runbook_url"] == RUNBOOK
    assert deep["silence_matchers"] == [
        'alertname="HighQueue"',
        'job="shop"',
        'queue="<a href=\\"javascript:window.__xss=3\\">click</a>"',
        'severity="page"',
    ]
    backlog = alerts[("QueueBacklog", XSS_LINK)]
    assert backlog["notify"] == "suppressed" and backlog["inhibited_by"] == [deep["fingerprint"]]
    pending = alerts[("QueueNotEmpty", XSS_SCRIPT)]
    assert pending["notify"] == "not sent" and pending["fired_at_ms"] is None
    # a javascript: runbook is shown as text, never as a link
    assert pending["annotations"]["runbook_url"].startswith("javascript:")
    assert pending["runbook_url"] == ""


def test_alerts_filter_by_state_and_matchers(app):
    client = client_for(app, "vera")
    twin = client.get("/api/ui/alerts?state=pending").get_json()
    assert {a["alertname"] for a in twin["alerts"]} == {"QueueNotEmpty"}
    twin = client.get('/api/ui/alerts?filter={severity="page"}').get_json()
    assert [a["alertname"] for a in twin["alerts"]] == ["HighQueue", "HighQueue"]
    bad = client.get('/api/ui/alerts?filter=severity=~"("')
    assert bad.status_code == 400
    assert bad.get_json()["error"]["error"].startswith("filter: ")
    assert client.get("/api/ui/alerts?state=resolved").status_code == 400


def test_alerts_over_time_chart_and_notification_history(app):
    twin = client_for(app, "vera").get("/api/ui/alerts").get_json()
    names = sorted(t["name"] for t in twin["figure"]["data"])
    assert names == ["HighQueue (firing)", "QueueBacklog (firing)", "QueueNotEmpty (pending)"]
    firing = next(t for t in twin["figure"]["data"] if t["name"] == "HighQueue (firing)")
    assert max(v for v in firing["y"] if v is not None) == 2
    history = twin["history"]
    assert len(history) == 2  # one notification per HighQueue group; QueueBacklog inhibited
    assert {h["status"] for h in history} == {"retrying"}
    assert all("Connection refused" in h["error"] and h["time_ms"] == NOW_MS for h in history)
    assert {h["group_key"].split("queue=")[0] for h in history} == {'{}:{alertname="HighQueue", '}
    assert len(twin["pending_deliveries"]) == 2
    # the history respects the time range: nothing was delivered a day ago
    old = client_for(app, "vera").get(
        f"/api/ui/alerts?range=custom&from={NOW_MS // 1000 - 86400}&to={NOW_MS // 1000 - 7200}"
    )
    assert old.get_json()["history"] == []


def test_alerts_page_escapes_every_label_and_annotation(app):
    page = client_for(app, "ed").get("/alerts").get_data(as_text=True)
    for payload in PAYLOADS:
        assert payload not in page
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page
    assert f'href="{RUNBOOK}"' in page
    assert 'href="javascript:' not in page
    assert page.count(">Silence</a>") == 6  # editors get a Silence button per alert


def test_editor_creates_a_silence_that_mutes_the_alert_in_the_notifier(app, alerting):
    client = client_for(app, "ed")
    twin = client.get("/api/ui/alerts").get_json()
    target = by_name(twin)[("HighQueue", XSS_IMG)]
    form_page = client.get(
        "/alerts/silences/new", query_string={"matcher": target["silence_matchers"]}
    ).get_data(as_text=True)
    assert "&#34;&gt;&lt;img src=x" in form_page or "&quot;&gt;&lt;img" in form_page
    form = {
        "matchers": "\n".join(target["silence_matchers"]),
        "duration": "2h",
        "comment": "draining the queue",
        "csrf_token": csrf_from(form_page),
    }
    answer = client.post("/alerts/silences/new?range=6h", data=form)
    assert answer.status_code == 303
    silence_id = answer.headers["Location"].split("created=")[1].split("&")[0].split("#")[0]
    assert "range=6h" in answer.headers["Location"]
    status = {s.fingerprint: s for s in alerting.notifier.alerts(NOW_MS)}[target["fingerprint"]]
    assert status.state is AlertState.SUPPRESSED and status.silenced_by == (silence_id,)
    silence = alerting.notifier.silences.get(silence_id)
    assert (silence.created_by, silence.comment) == ("ed", "draining the queue")
    assert silence.ends_at_ms == NOW_MS + 2 * 3_600_000
    # the notifier no longer sends it: the repeat due a minute later goes out for the other
    # HighQueue group only
    sent = alerting.notifier.tick(NOW_MS + 120_000)
    queues = {dict(a.labels)["queue"] for n in sent for a in n.alerts}
    assert XSS_LINK in queues and XSS_IMG not in queues
    twin = client.get("/api/ui/alerts").get_json()
    assert by_name(twin)[("HighQueue", XSS_IMG)]["silenced_by"] == [silence_id]
    assert twin["silences"][0]["id"] == silence_id and twin["silences"][0]["muting"] == 1

    expired = client.post(
        f"/alerts/silences/{silence_id}/expire", data={"csrf_token": form["csrf_token"]}
    )
    assert expired.status_code == 303 and f"expired={silence_id}" in expired.headers["Location"]
    status = {s.fingerprint: s for s in alerting.notifier.alerts(NOW_MS)}[target["fingerprint"]]
    assert status.state is AlertState.ACTIVE and status.silenced_by == ()
    twin = client.get("/api/ui/alerts").get_json()
    assert twin["silences"][0]["state"] == "expired"
    again = client.post(
        f"/api/ui/alerts/silences/{silence_id}/expire", data={"csrf_token": form["csrf_token"]}
    )
    assert again.status_code == 400 and "already expired" in again.get_json()["error"]


def test_viewer_may_not_create_or_expire_silences(app, alerting):
    silence_id = alerting.notifier.silences.create(
        ['alertname="HighQueue"'], NOW_MS, NOW_MS + 60_000, "ada", "test", now_ms=NOW_MS
    )
    client = client_for(app, "vera")
    page = client.get("/alerts").get_data(as_text=True)
    assert ">Silence</a>" not in page and ">Expire</button>" not in page
    token = csrf_from(page)
    assert client.get("/alerts/silences/new").status_code == 403
    form = {"matchers": 'alertname="X"', "comment": "no", "csrf_token": token}
    denied = client.post("/api/ui/alerts/silences/new", data=form)
    assert denied.status_code == 403 and denied.get_json()["errorType"] == "forbidden"
    expire = client.post(f"/alerts/silences/{silence_id}/expire", data={"csrf_token": token})
    assert expire.status_code == 403
    assert alerting.notifier.silences.get(silence_id).state(NOW_MS).value == "active"
    assert len(alerting.notifier.silences.list(NOW_MS)) == 1


def test_silence_form_errors_name_the_field_and_need_csrf(app, alerting):
    client = client_for(app, "ed")
    token = csrf_from(client.get("/alerts/silences/new").get_data(as_text=True))
    cases = [
        ({"matchers": 'alertname=~"("', "comment": "x"}, "matchers: invalid matcher"),
        ({"matchers": 'alertname=""', "comment": "x"}, "must not match the empty string"),
        ({"matchers": 'a="b"', "comment": "x", "duration": "soon"}, "duration: "),
        ({"matchers": 'a="b"', "comment": ""}, "comment: missing comment"),
        ({"matchers": "", "comment": "x"}, "matchers: at least one matcher required"),
    ]
    for form, message in cases:
        answer = client.post("/api/ui/alerts/silences/new", data={**form, "csrf_token": token})
        assert answer.status_code == 400, form
        assert message in answer.get_json()["error"]["error"], form
    page = client.post("/alerts/silences/new", data={"matchers": 'a="b"', "csrf_token": token})
    assert page.status_code == 400 and "comment: missing comment" in page.get_data(as_text=True)
    no_csrf = client.post("/alerts/silences/new", data={"matchers": 'a="b"', "comment": "x"})
    assert no_csrf.status_code == 400 and "CSRF" in no_csrf.get_data(as_text=True)
    unknown = client.post("/api/ui/alerts/silences/nope/expire", data={"csrf_token": token})
    assert unknown.status_code == 404
    assert alerting.notifier.silences.list(NOW_MS) == []


def test_json_twin_creates_a_silence(app, alerting):
    client = client_for(app, "ada")
    token = csrf_from(client.get("/alerts").get_data(as_text=True))
    form = {"matchers": 'alertname="QueueBacklog"', "comment": "ticket", "duration": "30m"}
    answer = client.post("/api/ui/alerts/silences/new", data={**form, "csrf_token": token})
    assert answer.status_code == 200
    silence = alerting.notifier.silences.get(answer.get_json()["silence_id"])
    assert silence.ends_at_ms - silence.starts_at_ms == 30 * 60_000


def test_alerts_page_without_rules_or_notifier_says_what_is_missing(seeded, users):
    client = client_for(alerting_app(seeded, users, None), "ed")
    twin = client.get("/api/ui/alerts").get_json()
    assert twin["alerts"] == [] and twin["silences"] is None and twin["history"] is None
    page = client.get("/alerts").get_data(as_text=True)
    assert "No rules are loaded" in page and "No notifier: set <code>notify.config_file" in page
    assert "New silence" not in page
    form = client.get("/alerts/silences/new").get_data(as_text=True)
    token = csrf_from(form)
    answer = client.post(
        "/api/ui/alerts/silences/new",
        data={"matchers": 'a="b"', "comment": "x", "csrf_token": token},
    )
    assert answer.status_code == 400 and "no notifier" in answer.get_json()["error"]["error"]
