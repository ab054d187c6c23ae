"""Log-in and log-out (``/login``, ``/logout``): the only dashboard views open to anonymous
visitors. Both are POST forms with a CSRF token; log-out is never a GET, so no link on
another site can end a session."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from web.area import area_blueprint
from web.auth import authenticate, current_user, log_in, log_out
from web.context import web_context

__all__ = ["create_login_blueprint", "safe_next"]


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the home page (no open redirect).

    >>> safe_next("/traces?range=1h"), safe_next("//evil.example/"), safe_next("https://x/")
    ('/traces?range=1h', '/', '/')
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def create_login_blueprint() -> Blueprint:
    blueprint = area_blueprint("web_auth", __name__, public=True)

    @blueprint.route("/login", methods=["GET", "POST"])
    def login():
        settings = web_context().settings
        target = safe_next(request.values.get("next"))
        if not settings.auth_enabled:
            return redirect(target)
        if request.method == "GET":
            if current_user() is not None:
                return redirect(target)
            return render_template("auth/login.html", next=target, error="", name="")
        name = request.form.get("username", "").strip()
        user = authenticate(settings.user, name, request.form.get("password", ""))
        if user is None:
            error = "Unknown user or wrong password."
            page = render_template("auth/login.html", next=target, error=error, name=name)
            return page, 401
        log_in(user)
        return redirect(target)

    @blueprint.post("/logout")
    def logout():
        log_out()
        return redirect(url_for("web_auth.login"))

    return blueprint
