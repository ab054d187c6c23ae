"""What the layout template needs on every page: the nav, the user, the time range picker,
the CSRF token, and filters for times and durations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Flask, g, request, url_for

from web.auth import current_user
from web.context import web_context
from web.csrf import CSRF_FIELD, csrf_token
from web.pages import current_time_range
from web.timerange import PRESETS, REFRESH_CHOICES, TIME_PARAMS, format_utc
from web.vendor import plotly_version

__all__ = ["install_layout"]


def _nav() -> list[dict[str, Any]]:
    endpoint = request.endpoint or ""
    areas = sorted(web_context().areas, key=lambda a: (a.order, a.title))
    return [
        {
            "title": a.title,
            "url": url_for(a.endpoint, **current_time_range().query_args()),
            "active": endpoint.split(".")[0] == a.endpoint.split(".")[0],
        }
        for a in areas
    ]


def _kept_args() -> list[tuple[str, str]]:
    """The page's own URL parameters, kept as hidden fields when the time range changes."""
    return [(k, v) for k, v in request.args.items(multi=True) if k not in TIME_PARAMS]


def _url_with(**changes: str | None) -> str:
    """This page's URL with some parameters changed (None removes one)."""
    args = {k: v for k, v in request.args.items() if k not in changes}
    args.update({k: v for k, v in changes.items() if v is not None})
    return request.path + ("?" + urlencode(args) if args else "")


def _layout_context() -> dict[str, Any]:
    context = web_context()
    return {
        "web_user": current_user(),
        "auth_enabled": context.settings.auth_enabled,
        "nav_areas": _nav,
        "time_range": current_time_range,
        "time_range_error": lambda: g.get("time_range_error", ""),
        "range_presets": list(PRESETS),
        "refresh_choices": list(REFRESH_CHOICES),
        "kept_args": _kept_args,
        "url_with": _url_with,
        "range_args": lambda: current_time_range().query_args(),
        "csrf_token": csrf_token,
        "csrf_field": CSRF_FIELD,
        "plotly_src": url_for("web_vendor.plotly_min_js", v=plotly_version()),
    }


def format_time_ms(ms: float | None) -> str:
    """``2024-05-01 12:00:03`` UTC (``-`` for none)."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def format_duration_ms(ms: float | None) -> str:
    """A duration as people read it: ``850 µs``, ``12.3 ms``, ``4.2 s``, ``3m 20s``."""
    if ms is None:
        return "-"
    if ms == 0:
        return "0 ms"
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.3g} ms"
    if ms < 60_000:
        return f"{ms / 1000:.3g} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes}m {seconds}s"


def install_layout(app: Flask) -> None:
    """Register the layout's context and filters on ``app``'s Jinja environment."""
    app.context_processor(_layout_context)
    app.add_template_filter(format_time_ms, "time_ms")
    app.add_template_filter(format_duration_ms, "duration_ms")
    app.add_template_filter(format_utc, "utc_input")
