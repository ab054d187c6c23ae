"""Pages with JSON twins: a view returns its data once, as a dict, and is served twice, as
HTML through its template and as JSON under ``/api/ui/...`` (the warehouse "views return
data" pattern, which also lets tests assert on the data).

>>> # in an area module:
>>> # @page(blueprint, "/explore", "explore/index.html")
>>> # def explore():
>>> #     return {"expr": request.args.get("query", "")}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, render_template, request

from web.area import TWIN_PREFIX, is_twin_request
from web.context import web_context
from web.timerange import TimeRange, TimeRangeError, parse_time_range

__all__ = ["current_time_range", "page"]

ViewResult = dict[str, Any] | tuple[dict[str, Any], int] | Response


def current_time_range() -> TimeRange:
    """The range in the URL (the default preset ending now if none).

    A malformed parameter makes a twin answer 400; a page falls back to the default range
    and shows the error above its content.
    """
    if "time_range" not in g:
        now_ms = web_context().clock()
        try:
            g.time_range = parse_time_range(request.args, now_ms)
        except TimeRangeError as exc:
            if is_twin_request():
                abort(400, description=str(exc))
            g.time_range_error = str(exc)
            g.time_range = parse_time_range({}, now_ms)
    return g.time_range


def _split(result: dict[str, Any] | tuple[dict[str, Any], int]) -> tuple[dict[str, Any], int]:
    return result if isinstance(result, tuple) else (result, 200)


def _range_json(time_range: TimeRange) -> dict[str, Any]:
    return {
        "start_ms": time_range.start_ms,
        "end_ms": time_range.end_ms,
        "step_ms": time_range.step_ms,
        "preset": time_range.preset,
        "refresh": time_range.refresh,
    }


def page(
    blueprint: Blueprint,
    rule: str,
    template: str,
    *,
    twin_rule: str | None = None,
    methods: Iterable[str] = ("GET",),
) -> Callable[[Callable[..., ViewResult]], Callable[..., ViewResult]]:
    """Register ``view`` as the page at ``rule`` rendered with ``template``, and as its JSON
    twin at ``/api/ui`` + ``rule`` (or ``twin_rule``). The view returns a JSON-able dict,
    optionally with a status, or a ready response (a redirect after a form post)."""
    methods = list(methods)

    def decorate(view: Callable[..., ViewResult]) -> Callable[..., ViewResult]:
        name = view.__name__

        def html(**kwargs: Any) -> Any:
            result = view(**kwargs)
            if isinstance(result, Response):
                return result
            model, status = _split(result)
            return render_template(template, **model), status

        def twin(**kwargs: Any) -> Any:
            result = view(**kwargs)
            if isinstance(result, Response):
                return result
            model, status = _split(result)
            if "time_range" in g:
                model = {**model, "time_range": _range_json(g.time_range)}
            return jsonify(model), status

        twin_path = twin_rule or TWIN_PREFIX.rstrip("/") + rule
        blueprint.add_url_rule(rule, name, html, methods=methods)
        blueprint.add_url_rule(twin_path, f"{name}_json", twin, methods=methods)
        return view

    return decorate
