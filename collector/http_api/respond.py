"""Turning handler results and errors into Prometheus API responses."""

from __future__ import annotations

import functools
import gzip
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from flask import Response, request

from collector.http_api.encode import error_body, success_body
from collector.http_api.params import ApiError
from collector.store.interfaces import StoreError

__all__ = ["TRUNCATED", "Reply", "json_response", "truncate", "unknown_route", "wrap_handler"]

log = logging.getLogger("collector.http_api")

TRUNCATED = "results truncated due to limit"
_MAX_NOTES = 10  # Prometheus lists at most 10 warnings and 10 infos
_GZIP_MIN_BYTES = 1024


@dataclass
class Reply:
    """A successful answer: the ``data`` JSON text and the notes that go with it."""

    data_json: str
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)


def json_response(body: str, status: int, headers: dict[str, str] | None = None) -> Response:
    """A JSON response, gzipped when the client accepts it (as Prometheus does)."""
    data = body.encode("utf-8", "replace")
    response = Response(data, status=status, mimetype="application/json", headers=headers)
    response.vary.add("Accept-Encoding")
    if len(data) >= _GZIP_MIN_BYTES and request.accept_encodings["gzip"]:
        response.set_data(gzip.compress(data, compresslevel=1))
        response.headers["Content-Encoding"] = "gzip"
    return response


def _notes(notes: Iterable[str], kind: str) -> list[str]:
    """Distinct notes in order, at most ten and a count of the rest, as Prometheus does."""
    distinct = list(dict.fromkeys(notes))
    if len(distinct) <= _MAX_NOTES:
        return distinct
    skipped = len(distinct) - _MAX_NOTES
    return distinct[:_MAX_NOTES] + [f"{skipped} more {kind} annotations omitted"]


def truncate(items: list, limit: int, warnings: list[str]) -> list:
    """The first *limit* items (all for 0), noting a truncation in *warnings*."""
    if 0 < limit < len(items):
        warnings.append(TRUNCATED)
        return items[:limit]
    return items


def wrap_handler(handler: Callable[..., Reply]) -> Callable[..., Response]:
    """A Flask view answering the handler's :class:`Reply` or its error as Prometheus does."""

    @functools.wraps(handler)
    def view(**kwargs: str) -> Response:
        try:
            reply = handler(**kwargs)
        except ApiError as exc:
            return json_response(error_body(exc.error_type, exc.message), exc.status)
        except StoreError as exc:
            return json_response(error_body("internal", str(exc)), 500)
        except Exception as exc:  # the client gets Prometheus' JSON, the log the trace
            log.exception("unexpected error in %s %s", request.method, request.path)
            return json_response(error_body("internal", f"unexpected error: {exc}"), 500)
        warnings = _notes(reply.warnings, "warning")
        body = success_body(reply.data_json, warnings, _notes(reply.infos, "info"))
        return json_response(body, 200)

    return view


def unknown_route(
    routes: Sequence[tuple[str, str, list[str]]],
) -> Callable[[str], Response]:
    """The view for every other path: 405 for a known path with another method, else 404."""
    patterns = [
        (re.compile(re.sub(r"<[^>]+>", "[^/]+", rule.lstrip("/")) + "$"), methods)
        for rule, _, methods in routes
    ]

    def unknown(path: str) -> Response:
        for pattern, methods in patterns:
            if pattern.match(path):
                allowed = [*methods, *(["HEAD"] if "GET" in methods else []), "OPTIONS"]
                message = f"method {request.method} is not allowed for {request.path}"
                headers = {"Allow": ", ".join(allowed)}
                return json_response(error_body("bad_data", message), 405, headers)
        return json_response(error_body("not_found", f"{request.path} not found"), 404)

    return unknown
