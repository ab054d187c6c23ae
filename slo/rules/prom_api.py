"""``/api/v1/rules`` and ``/api/v1/alerts`` in Prometheus' JSON shapes, from a rule manager.

Grafana's alerting views and ``promtool``-minded users read these. Shapes follow Prometheus
3: times as RFC 3339 (Go's zero time for "never"), durations and evaluation times in float
seconds, alert values as Go's ``strconv.FormatFloat(v, 'e', -1, 64)`` (``1e+00``). Filters
of ``/rules``: ``type=alert|record``, ``rule_name[]``, ``rule_group[]``, ``file[]``,
``exclude_alerts=true``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from slo.rules.alerting import Alert
from slo.rules.model import AlertingRule
from slo.rules.rule_health import RuleHealthState
from slo.rules.status import GroupStatus, RuleStatus

__all__ = ["create_rules_api_blueprint", "go_exponent", "rfc3339"]

GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def go_exponent(value: float) -> str:
    """``strconv.FormatFloat(value, 'e', -1, 64)``: shortest digits, 2-digit exponent.

    >>> [go_exponent(v) for v in (1.0, 0.5, 123.456, 1e-7, 0.0, -2.5e300)]
    ['1e+00', '5e-01', '1.23456e+02', '1e-07', '0e+00', '-2.5e+300']
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return f"{sign}0e+00"
    # Python's repr gives the shortest round-trip digits, as Go's -1 precision does.
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    power = point - 1
    body = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
    return f"{sign}{body}e{'-' if power < 0 else '+'}{abs(power):02d}"


def rfc3339(ms: int | None) -> str:
    """Go's ``time.Time`` JSON for ms since the epoch (UTC, trailing zeros trimmed)."""
    if ms is None:
        return GO_ZERO_TIME
    stamp = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{ms % 1000:03d}".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def create_rules_api_blueprint(groups: Callable[[], list[GroupStatus]]) -> Blueprint:
    """Mount at ``/api/v1``; ``groups`` returns the manager's current snapshots."""
    blueprint = Blueprint("prometheus_rules_api", __name__)

    @blueprint.get("/rules")
    def rules() -> Response:
        kind = request.args.get("type", "")
        if kind not in ("", "alert", "record"):
            return _error(f'unsupported type "{kind}"', 400)
        wanted = {
            "rule_name[]": set(request.args.getlist("rule_name[]")),
            "rule_group[]": set(request.args.getlist("rule_group[]")),
            "file[]": set(request.args.getlist("file[]")),
        }
        exclude_alerts = request.args.get("exclude_alerts", "false").lower() == "true"
        out = []
        for status in groups():
            if wanted["rule_group[]"] and status.name not in wanted["rule_group[]"]:
                continue
            if wanted["file[]"] and status.file not in wanted["file[]"]:
                continue
            chosen = [
                _rule_json(rule, exclude_alerts)
                for rule in status.rules
                if _wanted(rule, kind, wanted["rule_name[]"])
            ]
            if chosen or not (kind or wanted["rule_name[]"]):
                out.append(_group_json(status, chosen))
        return _success({"groups": out})

    @blueprint.get("/alerts")
    def alerts() -> Response:
        found = [
            _alert_json(alert)
            for status in groups()
            for rule in status.rules
            for alert in rule.alerts
        ]
        return _success({"alerts": found})

    return blueprint


def _wanted(rule: RuleStatus, kind: str, names: set[str]) -> bool:
    alerting = isinstance(rule.rule, AlertingRule)
    if kind == "alert" and not alerting or kind == "record" and alerting:
        return False
    name = rule.rule.alert if alerting else rule.rule.record
    return not names or name in names


def _group_json(status: GroupStatus, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": status.name,
        "file": status.file,
        "rules": rules,
        "interval": status.interval_ms / 1000,
        "limit": status.group.limit,
        "evaluationTime": status.health.eval_duration_s,
        "lastEvaluation": rfc3339(status.health.last_eval_ms),
    }


def _health(health: RuleHealthState) -> dict[str, Any]:
    return {
        "health": health.health.value,
        "lastError": health.last_error,
        "evaluationTime": health.eval_duration_s,
        "lastEvaluation": rfc3339(health.last_eval_ms),
    }


def _rule_json(status: RuleStatus, exclude_alerts: bool) -> dict[str, Any]:
    rule = status.rule
    if not isinstance(rule, AlertingRule):
        return {
            "name": rule.record,
            "query": rule.expr,
            "labels": status.labels,
            **_health(status.health),
            "type": "recording",
        }
    body: dict[str, Any] = {
        "state": str(status.state) if status.state is not None else "inactive",
        "name": rule.alert,
        "query": rule.expr,
        "duration": rule.for_ms / 1000,
        "keepFiringFor": rule.keep_firing_for_ms / 1000,
        "labels": status.labels,
        "annotations": dict(rule.annotations),
    }
    if not exclude_alerts:
        body["alerts"] = [_alert_json(alert) for alert in status.alerts]
    return {**body, **_health(status.health), "type": "alerting"}


def _alert_json(alert: Alert) -> dict[str, Any]:
    body: dict[str, Any] = {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "state": str(alert.state),
        "activeAt": rfc3339(alert.active_at_ms),
    }
    if alert.keep_firing_since_ms is not None:
        body["keepFiringSince"] = rfc3339(alert.keep_firing_since_ms)
    body["value"] = go_exponent(alert.value)
    return body


def _success(data: Any) -> Response:
    body = json.dumps({"status": "success", "data": data}, separators=(",", ":"))
    return Response(body, 200, mimetype="application/json")


def _error(message: str, status: int) -> Response:
    body = {"status": "error", "errorType": "bad_data", "error": message}
    return Response(json.dumps(body, separators=(",", ":")), status, mimetype="application/json")
