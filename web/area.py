"""An area of the dashboard (SLOs, Traces, Explore...): one blueprint, its nav entry and
its line on the home page.

Every area blueprint comes from :func:`area_blueprint`, which guards all its views: nobody
unauthenticated gets in (pages redirect to the log-in form, JSON twins answer 401), every
unsafe request must carry the session's CSRF token (400 otherwise), and every response gets
the dashboard's security headers. A view needing more than the viewer role adds
``@requires(Role.EDITOR)`` (or ``ADMIN``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from web.auth import current_user
from web.csrf import CsrfError, check_csrf

if TYPE_CHECKING:
    from web.queries import Sources
    from web.timerange import TimeRange

__all__ = ["TEMPLATES", "Area", "area_blueprint", "is_twin_request", "ui_error"]

TEMPLATES = Path(__file__).parent / "templates"
TWIN_PREFIX = "/api/ui/"
# Scripts only from our own origin (plotly.js and sloscope.js): an injected inline script
# would not run even if escaping ever failed. plotly.js sets inline styles.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True)
class Area:
    """An area's entry in the nav bar and on the home page.

    ``order`` places it (SLOs 10, Services 20, Caches 30, DB pools 40, RUM 50, Traces 60,
    Alerts 70, Rules 80, Explore 90); ``summary`` gives the home page a few short live
    lines for the current time range.
    """

    key: str
    title: str
    endpoint: str
    order: int
    description: str = ""
    summary: Callable[[Sources, TimeRange], list[str]] | None = None


def is_twin_request() -> bool:
    """Whether this request is for a JSON twin (``/api/ui/...``) rather than a page."""
    return request.path.startswith(TWIN_PREFIX)


def ui_error(status: int, error_type: str, message: str):
    """An error answer: Prometheus-shaped JSON for twins, the error page otherwise."""
    if is_twin_request():
        return jsonify(status="error", errorType=error_type, error=message), status
    return render_template("error.html", status=status, message=message), status


def _guard():
    if request.endpoint and request.endpoint.endswith(".static"):
        return None
    if current_user() is None:
        if is_twin_request():
            return ui_error(401, "unauthorized", "log in first: no valid session")
        return redirect(url_for("web_auth.login", next=request.full_path.rstrip("?")))
    return _check_csrf()


def _check_csrf():
    try:
        check_csrf()
    except CsrfError as exc:
        return ui_error(400, "bad_data", f"CSRF check failed: {exc}")
    return None


def _secure(response):
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype in ("text/html", "application/json"):
        # Pages show private data: never keep them in shared or back/forward caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _http_error(exc: HTTPException):
    error_type = {400: "bad_data", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
    message = exc.description or exc.name
    return ui_error(exc.code or 500, error_type.get(exc.code or 500, "internal"), message)


def area_blueprint(name: str, import_name: str, *, public: bool = False, **kwargs: Any):
    """A guarded blueprint whose templates are found under ``web/templates``.

    ``public=True`` (the log-in form only) skips the log-in check but keeps the CSRF check.
    """
    blueprint = Blueprint(name, import_name, template_folder=str(TEMPLATES), **kwargs)
    blueprint.before_request(_check_csrf if public else _guard)
    blueprint.after_request(_secure)
    blueprint.register_error_handler(HTTPException, _http_error)
    return blueprint
