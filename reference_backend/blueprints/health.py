"""``/healthz`` (the process answers) and ``/readyz`` (its database answers too)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from reference_backend.state import shop

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    state = shop()
    try:
        with state.primary.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready", with the reason
        return jsonify(status="unavailable", reason=type(exc).__name__), 503
    redis_ok = None
    if state.redis is not None:
        try:
            redis_ok = bool(state.redis.ping())
        except Exception:  # Redis is optional: report it, stay ready
            redis_ok = False
    return jsonify(status="ok", redis=redis_ok)
