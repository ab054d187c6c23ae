"""The dashboard: areas (SLOs, Services, ..., Traces, Explore) mounted on the server's
Flask app, each a page plus a JSON twin under ``/api/ui/...``, behind log-in.

>>> from flask import Flask
>>> from collector.store.sql import SqlStore
>>> from web.queries import Sources
>>> from web.settings import WebSettings
>>> store = SqlStore("sqlite:///:memory:"); store.open()
>>> app = Flask("demo")
>>> register_web(app, Sources(store), WebSettings(auth_enabled=False, secret_key="k" * 32))
>>> app.test_client().get("/api/ui/home").status_code
200
>>> store.close()
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from flask import Flask

from web.context import EXTENSION_KEY, WebContext, wall_clock_ms
from web.queries import Sources
from web.settings import Role, User, WebSettings

__all__ = ["Role", "Sources", "User", "WebConfigError", "WebSettings", "register_web"]

log = logging.getLogger("web")


class WebConfigError(ValueError):
    """The ``web`` settings cannot work (e.g. log-in required but no users)."""


def register_web(
    app: Flask,
    sources: Sources,
    settings: WebSettings,
    *,
    clock: Callable[[], int] = wall_clock_ms,
) -> None:
    """Mount the dashboard on ``app`` (the server's app, next to ``/api/v1``, OTLP...).

    ``clock`` gives "now" in ms for relative time ranges (tests pass a fixed one).

    :raise WebConfigError: if log-in is required and no user is configured.
    """
    from web.blueprints import discover_areas
    from web.layout import install_layout
    from web.login import create_login_blueprint
    from web.vendor import create_assets_blueprint, create_vendor_blueprint

    if settings.auth_enabled and not settings.users:
        raise WebConfigError(
            "web.auth is true but web.users is empty: add users (hash passwords with "
            "web.auth.hash_password) or set web.auth: false for a demo"
        )
    if not settings.auth_enabled:
        log.warning("dashboard authentication is DISABLED: anyone reaching it is an admin")
    _configure_sessions(app, settings)
    context = WebContext(sources, settings, clock)
    app.extensions[EXTENSION_KEY] = context
    install_layout(app)
    for blueprint in (create_vendor_blueprint(), create_assets_blueprint()):
        app.register_blueprint(blueprint)
    app.register_blueprint(create_login_blueprint())
    for module in discover_areas():
        app.register_blueprint(module.create_blueprint())
        if getattr(module, "AREA", None) is not None:
            context.areas.append(module.AREA)


def _configure_sessions(app: Flask, settings: WebSettings) -> None:
    if settings.secret_key:
        app.secret_key = settings.secret_key
    else:
        log.warning("web.secret_key is not set: sessions end when the server restarts")
        app.secret_key = secrets.token_hex(32)
    app.config.update(
        SESSION_COOKIE_NAME="sloscope_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=settings.session_lifetime,
    )
