"""The notifier's alerts and silences over HTTP in Alertmanager's API v2 shapes.

Mount at ``/api/v2``: ``GET /alerts``, ``GET /silences``, ``POST /silences`` (create, or
update when the body has an ``id``), ``GET /silence/<id>``, ``DELETE /silence/<id>``
(expire). ``amtool --alertmanager.url=http://sloscope:9900`` can list alerts and manage
silences. Writes go through ``can_write`` (the dashboard's editor role when auth is on).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from slo.notify.matchers import Matcher, MatchType
from slo.notify.notifier import AlertStatus, Notifier
from slo.notify.silences import Silence, SilenceError

__all__ = ["create_alertmanager_api_blueprint"]

_OPERATORS = {
    (True, False): MatchType.EQUAL,
    (False, False): MatchType.NOT_EQUAL,
    (True, True): MatchType.REGEX,
    (False, True): MatchType.NOT_REGEX,
}


def create_alertmanager_api_blueprint(
    notifier: Notifier,
    clock_ms: Callable[[], int],
    can_write: Callable[[], bool] = lambda: True,
) -> Blueprint:
    blueprint = Blueprint("alertmanager_api", __name__)

    @blueprint.get("/alerts")
    def alerts() -> Response:
        return _json([_alert_json(s) for s in notifier.alerts(clock_ms())])

    @blueprint.get("/silences")
    def silences() -> Response:
        now = clock_ms()
        notifier.silences.refresh()
        return _json([_silence_json(s, now) for s in notifier.silences.list(now)])

    @blueprint.get("/silence/<silence_id>")
    def silence(silence_id: str) -> Response:
        notifier.silences.refresh()
        try:
            return _json(_silence_json(notifier.silences.get(silence_id), clock_ms()))
        except SilenceError as exc:
            return _text(str(exc), 404)

    @blueprint.post("/silences")
    def post_silence() -> Response:
        if not can_write():
            return _text("creating silences needs the editor role", 403)
        try:
            body = _silence_body(request.get_json(silent=True))
            now = clock_ms()
            args = (body["matchers"], body["starts"], body["ends"], body["by"], body["comment"])
            if body["id"]:
                new_id = notifier.silences.update(body["id"], *args, now_ms=now)
            else:
                new_id = notifier.silences.create(*args, now_ms=now)
        except (SilenceError, ValueError) as exc:
            return _text(str(exc), 400)
        return _json({"silenceID": new_id})

    @blueprint.delete("/silence/<silence_id>")
    def delete_silence(silence_id: str) -> Response:
        if not can_write():
            return _text("expiring silences needs the editor role", 403)
        try:
            notifier.silences.refresh()
            notifier.silences.expire(silence_id, now_ms=clock_ms())
        except SilenceError as exc:
            status = 404 if "not found" in str(exc) else 400
            return _text(str(exc), status)
        return Response(status=200)

    return blueprint


def _silence_body(body: Any) -> dict[str, Any]:
    """The fields of a ``postableSilence``; ValueError naming the first bad one."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object (a postableSilence)")
    matchers = body.get("matchers")
    if not isinstance(matchers, list) or not matchers:
        raise ValueError("matchers: at least one matcher is required")
    parsed = []
    for i, item in enumerate(matchers):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError(f"matchers[{i}]: needs name, value and isRegex")
        equal = item.get("isEqual", True)
        kind = _OPERATORS[(bool(equal), bool(item.get("isRegex", False)))]
        parsed.append(Matcher(kind, item["name"], str(item.get("value", ""))))
    for key in ("createdBy", "comment"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            raise ValueError(f"{key}: required")
    return {
        "id": body.get("id") or "",
        "matchers": parsed,
        "starts": _parse_time(body.get("startsAt"), "startsAt"),
        "ends": _parse_time(body.get("endsAt"), "endsAt"),
        "by": body["createdBy"],
        "comment": body["comment"],
    }


def _parse_time(text: Any, key: str) -> int:
    if not isinstance(text, str):
        raise ValueError(f"{key}: an RFC 3339 time is required")
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{key}: not an RFC 3339 time: {text!r}") from None
    if stamp.tzinfo is None:
        raise ValueError(f"{key}: the time needs a zone (Z or +hh:mm): {text!r}")
    return round(stamp.timestamp() * 1000)


def _time(ms: int) -> str:
    stamp = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _alert_json(status: AlertStatus) -> dict[str, Any]:
    alert = status.alert
    return {
        "annotations": dict(alert.annotations),
        "endsAt": _time(alert.ends_at_ms) if alert.ends_at_ms else "0001-01-01T00:00:00.000Z",
        "fingerprint": alert.fingerprint,
        "receivers": [{"name": name} for name in status.receivers],
        "startsAt": _time(alert.starts_at_ms),
        "status": {
            "inhibitedBy": list(status.inhibited_by),
            "silencedBy": list(status.silenced_by),
            "state": status.state.value,
        },
        "generatorURL": alert.generator_url,
        "labels": dict(alert.labels),
    }


def _silence_json(silence: Silence, now_ms: int) -> dict[str, Any]:
    return {
        "id": silence.id,
        "status": {"state": silence.state(now_ms).value},
        "updatedAt": _time(silence.updated_at_ms),
        "comment": silence.comment,
        "createdBy": silence.created_by,
        "endsAt": _time(silence.ends_at_ms),
        "startsAt": _time(silence.starts_at_ms),
        "matchers": [
            {
                "name": m.name,
                "value": m.value,
                "isRegex": m.type in (MatchType.REGEX, MatchType.NOT_REGEX),
                "isEqual": m.type in (MatchType.EQUAL, MatchType.REGEX),
            }
            for m in silence.matchers
        ],
    }


def _json(data: Any) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), 200, mimetype="application/json")


def _text(message: str, status: int) -> Response:
    return Response(json.dumps(message), status, mimetype="application/json")
