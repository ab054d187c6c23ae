"""Alerts: firing and pending alerts with what the notifier does with them, silences
(listed by everyone; created and expired by editors) and the notification history
(``/alerts``, twin ``/api/ui/alerts``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, abort, redirect, request, url_for

from web.area import Area, area_blueprint, is_twin_request
from web.auth import current_user, requires
from web.charts.alerts import alerts_chart
from web.context import web_context
from web.pages import current_time_range, page
from web.queries.alerts import (
    STATE_FILTERS,
    AlertFilterError,
    alert_rows,
    alerts_over_time,
    notification_history,
    parse_alert_filter,
    pending_deliveries,
    silence_matchers_for,
)
from web.queries.overview import alert_counts
from web.queries.promql import QueryError
from web.queries.silences import (
    DEFAULT_DURATION,
    SilenceDraft,
    SilenceFormError,
    create_silence,
    expire_silence,
    list_silences,
    parse_silence_form,
)
from web.settings import Role

__all__ = ["AREA", "create_blueprint"]


def _summary(sources, time_range) -> list[str]:
    counts = alert_counts(sources)
    if counts is None:
        return ["no rules: this server runs without the rules role"]
    return [f"{counts.firing} firing, {counts.pending} pending"]


AREA = Area(
    key="alerts",
    title="Alerts",
    endpoint="web_alerts.overview",
    order=70,
    description="Firing and pending alerts, silences and notification history.",
    summary=_summary,
)


def _bad(message: str) -> dict[str, str]:
    return {"status": "error", "errorType": "bad_data", "error": message}


def _alerts_model(sources, now_ms: int) -> tuple[dict[str, Any], dict[str, str] | None]:
    state = request.args.get("state", "all") or "all"
    text = request.args.get("filter", "")
    error = None
    try:
        matchers = parse_alert_filter(text)
    except AlertFilterError as exc:
        matchers, error = [], _bad(str(exc))
    if state not in STATE_FILTERS:
        state, error = "all", _bad(f"state: must be one of {', '.join(STATE_FILTERS)}")
    rows = alert_rows(sources, now_ms, state=state, matchers=matchers)
    alerts = [{**asdict(row), "silence_matchers": silence_matchers_for(row.labels)} for row in rows]
    counts = {
        "firing": sum(1 for r in rows if r.state == "firing"),
        "pending": sum(1 for r in rows if r.state == "pending"),
        "suppressed": sum(1 for r in rows if r.silenced_by or r.inhibited_by),
    }
    model = {"alerts": alerts, "counts": counts, "state": state, "filter": text}
    return model, error


def _chart(sources, time_range) -> tuple[dict | None, str]:
    try:
        series = alerts_over_time(
            sources, time_range.start_ms, time_range.end_ms, time_range.step_ms
        )
    except QueryError as exc:
        return None, exc.message
    if not series:
        return None, ""
    return alerts_chart(series, time_range.start_ms, time_range.end_ms), ""


def _overview_model() -> tuple[dict[str, Any], int]:
    sources = web_context().sources
    now_ms = web_context().clock()
    time_range = current_time_range()
    model, error = _alerts_model(sources, now_ms)
    silences = list_silences(sources, now_ms)
    history = notification_history(sources, time_range.start_ms, time_range.end_ms)
    figure, chart_error = _chart(sources, time_range)
    user = current_user()
    model.update(
        rules_loaded=sources.rule_manager is not None,
        notifier=sources.notifier is not None,
        outbox=sources.outbox is not None,
        silences=None if silences is None else [asdict(s) for s in silences],
        history=None if history is None else [asdict(h) for h in history],
        pending_deliveries=[asdict(p) for p in pending_deliveries(sources)],
        figure=figure,
        chart_error=chart_error,
        state_filters=list(STATE_FILTERS),
        can_edit=user is not None and user.may(Role.EDITOR),
        created=request.args.get("created", ""),
        expired=request.args.get("expired", ""),
        error=error,
        now_ms=now_ms,
    )
    return model, 400 if error else 200


def _creator() -> str:
    """Who creates a silence: the logged-in user; without log-in, whoever the form names."""
    user = current_user()
    if user is not None and user.authenticated:
        return user.name
    typed = (request.form.get("created_by") or "").strip()
    return typed or "anonymous"


def _form_model(draft: SilenceDraft, error: dict | None) -> dict[str, Any]:
    user = current_user()
    return {
        "draft": asdict(draft),
        "error": error,
        "creator_fixed": bool(user and user.authenticated),
        "notifier": web_context().sources.notifier is not None,
    }


def _new_silence():
    sources = web_context().sources
    if request.method == "GET":
        draft = SilenceDraft(request.args.getlist("matcher"), DEFAULT_DURATION, "", _creator())
        return _form_model(draft, None)
    draft = parse_silence_form(request.form, _creator())
    try:
        silence_id = create_silence(sources, draft, web_context().clock())
    except SilenceFormError as exc:
        return _form_model(draft, _bad(str(exc))), 400
    if is_twin_request():
        return {"silence_id": silence_id}
    target = url_for("web_alerts.overview", created=silence_id, **current_time_range().query_args())
    return redirect(target + "#silences", code=303)


def _expire(silence_id: str):
    try:
        expire_silence(web_context().sources, silence_id, web_context().clock())
    except SilenceFormError as exc:
        abort(404 if "not found" in str(exc) else 400, description=str(exc))
    if is_twin_request():
        return {"expired": silence_id}
    target = url_for("web_alerts.overview", expired=silence_id, **current_time_range().query_args())
    return redirect(target + "#silences", code=303)


def create_blueprint() -> Blueprint:
    blueprint = area_blueprint("web_alerts", __name__)

    @page(blueprint, "/alerts", "alerts/index.html")
    def overview():
        return _overview_model()

    @page(blueprint, "/alerts/silences/new", "alerts/silence_form.html", methods=("GET", "POST"))
    @requires(Role.EDITOR)
    def new_silence():
        return _new_silence()

    @page(
        blueprint,
        "/alerts/silences/<silence_id>/expire",
        "alerts/index.html",
        methods=("POST",),
    )
    @requires(Role.EDITOR)
    def expire(silence_id: str):
        return _expire(silence_id)

    return blueprint
