"""CSRF protection for the dashboard's forms, on Flask-WTF's signed session tokens.

Only dashboard blueprints are guarded (see :func:`web.area.area_blueprint`): the ingest paths
(OTLP, remote_write, RUM) and the Prometheus/Alertmanager APIs on the same app use their own
keys and never a session cookie, so a token there would mean nothing. Forms send the token as
the ``csrf_token`` field, scripts as the ``X-CSRFToken`` header.
"""

from __future__ import annotations

from flask import request
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms import ValidationError

from web.context import web_context

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "UNSAFE_METHODS", "CsrfError", "check_csrf", "csrf_token"]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRFToken"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CsrfError(ValueError):
    """The request's CSRF token is missing, expired or not this session's."""


def csrf_token() -> str:
    """The signed token for this session (the same one for the whole request)."""
    return generate_csrf()


def check_csrf() -> None:
    """:raise CsrfError: unless an unsafe request carries this session's token."""
    if request.method not in UNSAFE_METHODS:
        return
    token = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    # Tokens live as long as the session: a page left open for hours still submits.
    lifetime = int(web_context().settings.session_lifetime.total_seconds())
    try:
        validate_csrf(token, time_limit=lifetime)
    except ValidationError as exc:
        raise CsrfError(str(exc.args[0] if exc.args else exc)) from None
