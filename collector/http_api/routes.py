"""The Prometheus HTTP API endpoints as a Flask blueprint, so Grafana and other Prometheus
clients can query sloscope as if it were Prometheus.

Parameters come from the URL or a form-encoded POST body (the body wins, as in Go's
``FormValue``). Every answer is ``{"status": "success", "data": ...}`` or
``{"status": "error", "errorType": ..., "error": ...}`` with Prometheus' HTTP status.

Where sloscope differs from Prometheus 3, on purpose:

* ``timeout`` is validated but not enforced here; the engine applies its own limits.
* Steps below one millisecond are refused like zero steps (the engine works in ms), and
  times that are not finite are refused (Prometheus computes a garbage time from them).
* ``lookback_delta`` other than the engine's is not supported: the query runs with the
  engine's lookback and the answer carries a warning saying so.
* ``/labels`` and ``/label/<name>/values`` without ``match[]`` list every name or value in
  the store's index, whatever ``start`` and ``end`` say; with ``match[]`` the range applies.
* ``/metadata`` has no metric metadata yet and answers ``{}``.
* Unknown paths answer a JSON 404 (Prometheus sends plain text), wrong methods a JSON 405.
"""

from __future__ import annotations

import importlib.metadata
import platform
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from flask import Blueprint, request

from collector.http_api.encode import encode_query_data, to_json
from collector.http_api.exemplars import exemplars_json, query_matcher_sets
from collector.http_api.params import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    ApiError,
    bad_data,
    invalid_param,
    parse_duration_ns,
    parse_limit,
    parse_time,
)
from collector.http_api.respond import TRUNCATED, Reply, truncate, unknown_route, wrap_handler
from collector.http_api.selectors import (
    SelectorError,
    bad_selector,
    parse_selectors,
    unescape_label_name,
)
from collector.model import Labels
from collector.promql.errors import PromQLError
from collector.promql.result import Matrix, QueryResult, Vector
from collector.store.exemplars import ExemplarStore
from collector.store.interfaces import Querier
from collector.store.matchers import Matcher

__all__ = ["MAX_POINTS_PER_SERIES", "QueryEngine", "create_api_blueprint", "default_build_info"]

MAX_POINTS_PER_SERIES = 11_000
_ALL = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class EngineOptions(Protocol):
    lookback_ms: int


class QueryEngine(Protocol):
    """What the API needs of the PromQL engine; both calls raise PromQLError subclasses."""

    options: EngineOptions

    def instant_query(self, expr: str, time_ms: int) -> QueryResult: ...  # pragma: no cover

    def range_query(
        self, expr: str, start_ms: int, end_ms: int, step_ms: int
    ) -> QueryResult: ...  # pragma: no cover


def default_build_info() -> dict[str, str]:
    """``/status/buildinfo`` fields, with sloscope's version and the Python runtime."""
    try:
        version = importlib.metadata.version("sloscope")
    except importlib.metadata.PackageNotFoundError:
        version = "0.0.0+unknown"
    return {
        "version": version,
        "revision": "unknown",
        "branch": "unknown",
        "buildUser": "sloscope",
        "buildDate": "unknown",
        "goVersion": f"python{platform.python_version()}",
    }


def create_api_blueprint(
    engine: QueryEngine,
    querier: Querier,
    build_info: dict | None = None,
    *,
    clock: Callable[[], float] = time.time,
    exemplars: ExemplarStore | None = None,
) -> Blueprint:
    """The Prometheus HTTP API; mount it at ``/api/v1``.

    >>> from flask import Flask
    >>> app = Flask("demo")
    >>> app.register_blueprint(create_api_blueprint(None, None), url_prefix="/api/v1")
    >>> app.test_client().get("/api/v1/status/buildinfo").json["status"]
    'success'

    :param build_info: fields that replace or extend :func:`default_build_info`.
    :param clock: Unix seconds now; the default ``time`` of ``/query``.
    :param exemplars: where ``/query_exemplars`` looks; None answers ``[]``.
    """
    info = {**default_build_info(), **(build_info or {})}
    api = _PrometheusApi(engine, querier, info, clock, exemplars)
    blueprint = Blueprint("prometheus_api", __name__)
    for rule, endpoint, methods in _ROUTES:
        view = wrap_handler(getattr(api, endpoint))
        blueprint.add_url_rule(rule, endpoint=endpoint, view_func=view, methods=methods)
    unknown = unknown_route(_ROUTES)
    blueprint.add_url_rule("/", "unknown_root", unknown, defaults={"path": ""}, methods=_ALL)
    blueprint.add_url_rule("/<path:path>", "unknown", unknown, methods=_ALL)
    return blueprint


_ROUTES = [
    ("/query", "query", ["GET", "POST"]),
    ("/query_range", "query_range", ["GET", "POST"]),
    ("/series", "series", ["GET", "POST"]),
    ("/labels", "labels", ["GET", "POST"]),
    ("/label/<name>/values", "label_values", ["GET"]),
    ("/query_exemplars", "query_exemplars", ["GET", "POST"]),
    ("/metadata", "metadata", ["GET"]),
    ("/status/buildinfo", "buildinfo", ["GET"]),
]


def _values(name: str) -> list[str]:
    return request.form.getlist(name) + request.args.getlist(name)


def _value(name: str) -> str:
    found = _values(name)
    return found[0] if found else ""


class _PrometheusApi:
    def __init__(
        self,
        engine: QueryEngine,
        querier: Querier,
        build_info: dict[str, Any],
        clock: Callable[[], float],
        exemplars: ExemplarStore | None = None,
    ) -> None:
        self._exemplars = exemplars
        self._engine = engine
        self._querier = querier
        self._build_info = build_info
        self._clock = clock

    # -- queries ------------------------------------------------------------------------

    def query(self) -> Reply:
        limit = parse_limit(_value("limit"))
        time_ms = self._time_param("time", round(self._clock() * 1000))
        warnings = self._query_options()
        expr = self._expression()
        result = self._execute(lambda: self._engine.instant_query(expr, time_ms))
        return _query_reply(result, limit, warnings)

    def query_range(self) -> Reply:
        limit = parse_limit(_value("limit"))
        start = self._required_time("start")
        end = self._required_time("end")
        if end < start:
            raise invalid_param("end", "end timestamp must not be before start time")
        step_ns = self._duration_param("step")
        if step_ns < 1_000_000:  # Prometheus checks <= 0; steps below 1 ms cannot be run
            raise invalid_param(
                "step",
                "zero or negative query resolution step widths are not accepted. "
                "Try a positive integer",
            )
        if (end - start) * 1_000_000 // step_ns > MAX_POINTS_PER_SERIES:
            raise bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        warnings = self._query_options()
        expr = self._expression()
        step_ms = step_ns // 1_000_000
        result = self._execute(lambda: self._engine.range_query(expr, start, end, step_ms))
        return _query_reply(result, limit, warnings)

    def _query_options(self) -> list[str]:
        """Check ``timeout`` and ``lookback_delta``; return warnings about them."""
        if _value("timeout"):
            self._duration_param("timeout")
        text = _value("lookback_delta")
        if not text:
            return []
        try:
            lookback_ns = parse_duration_ns(text)
        except ValueError as exc:
            raise bad_data(f"error parsing lookback delta duration: {exc}") from None
        engine_ms = self._engine.options.lookback_ms
        if lookback_ns in (0, engine_ms * 1_000_000):
            return []
        return [f"lookback_delta is not supported; the engine's {engine_ms / 1000:g}s was used"]

    def _expression(self) -> str:
        expr = _value("query")
        if not expr.strip():
            raise invalid_param("query", "parse error: no expression found in input")
        return expr

    @staticmethod
    def _execute(run: Callable[[], QueryResult]) -> QueryResult:
        try:
            return run()
        except PromQLError as exc:
            if exc.error_type == "bad_data":  # the query did not parse or type-check
                raise invalid_param("query", str(exc)) from None
            raise ApiError(exc.error_type, str(exc), exc.http_status) from None

    def query_exemplars(self) -> Reply:
        expr = self._expression()
        start, end = self._time_range()
        start = MIN_TIME_MS if start is None else start
        end = MAX_TIME_MS if end is None else end
        if end < start:
            raise bad_data("end timestamp must not be before start timestamp")
        try:
            sets = query_matcher_sets(expr)
        except ValueError as exc:
            raise bad_data(str(exc)) from None
        return Reply(exemplars_json(self._exemplars, sets, start, end))

    # -- series and labels --------------------------------------------------------------

    def series(self) -> Reply:
        texts = _values("match[]")
        if not texts:
            raise bad_data("no match[] parameter provided")
        limit = parse_limit(_value("limit"))
        time_range = self._time_range()
        sets = self._selectors(texts, as_param=True)
        if len(sets) == 1:
            found = self._series(sets[0], time_range)
        else:
            found = sorted({labels for ms in sets for labels in self._series(ms, time_range)})
        warnings: list[str] = []
        found = truncate(list(found), limit, warnings)
        return Reply(to_json(found), warnings)

    def labels(self) -> Reply:
        limit = parse_limit(_value("limit"))
        time_range = self._time_range()
        sets = self._selectors(_values("match[]"), as_param=False)
        if not sets:
            names = self._querier.label_names()
        elif time_range == (None, None):
            names = sorted({name for ms in sets for name in self._querier.label_names(ms)})
        else:
            found = (labels for ms in sets for labels in self._series(ms, time_range))
            names = sorted({name for labels in found for name, _ in labels})
        warnings: list[str] = []
        return Reply(to_json(truncate(list(names), limit, warnings)), warnings)

    def label_values(self, name: str) -> Reply:
        name = unescape_label_name(name)
        limit = parse_limit(_value("limit"))
        time_range = self._time_range()
        sets = self._selectors(_values("match[]"), as_param=False)
        if not sets:
            values = self._querier.label_values(name)
        elif time_range == (None, None):
            values = sorted({v for ms in sets for v in self._querier.label_values(name, ms)})
        else:
            found = (labels for ms in sets for labels in self._series(ms, time_range))
            values = sorted({labels.get(name) for labels in found} - {""})
        warnings: list[str] = []
        return Reply(to_json(truncate(list(values), limit, warnings)), warnings)

    def _series(
        self, matchers: Sequence[Matcher], time_range: tuple[int | None, int | None]
    ) -> list[Labels]:
        start, end = time_range
        if start is None and end is None:
            return self._querier.series(matchers)
        lo = MIN_TIME_MS if start is None else start
        hi = MAX_TIME_MS if end is None else end
        return self._querier.series(matchers, lo, hi)

    @staticmethod
    def _selectors(texts: Sequence[str], as_param: bool) -> list[list[Matcher]]:
        try:
            return parse_selectors(texts)
        except SelectorError as exc:
            raise bad_selector(exc, as_param) from None

    # -- metadata and status ------------------------------------------------------------

    def metadata(self) -> Reply:
        for name in ("limit", "limit_per_metric"):
            text = _value(name)
            if text and re.fullmatch(r"[+-]?\d+", text) is None:
                raise bad_data(f"{name} must be a number")
        return Reply("{}")  # no metric metadata is kept yet: Prometheus' empty answer

    def buildinfo(self) -> Reply:
        return Reply(to_json(self._build_info))

    # -- parameters ---------------------------------------------------------------------

    def _time_param(self, name: str, default: int) -> int:
        text = _value(name)
        if not text:
            return default
        try:
            return parse_time(text)
        except ValueError as exc:
            raise invalid_param(name, f"invalid time value for '{name}': {exc}") from None

    def _time_range(self) -> tuple[int | None, int | None]:
        """``start`` and ``end`` in ms, None where absent (Prometheus' MinTime/MaxTime)."""
        start = self._time_param("start", MIN_TIME_MS) if _value("start") else None
        end = self._time_param("end", MAX_TIME_MS) if _value("end") else None
        return start, end

    @staticmethod
    def _required_time(name: str) -> int:
        try:
            return parse_time(_value(name))
        except ValueError as exc:
            raise invalid_param(name, str(exc)) from None

    @staticmethod
    def _duration_param(name: str) -> int:
        try:
            return parse_duration_ns(_value(name))
        except ValueError as exc:
            raise invalid_param(name, str(exc)) from None


def _query_reply(result: QueryResult, limit: int, warnings: list[str]) -> Reply:
    notes = list(result.warnings) + warnings
    if isinstance(result.value, Vector | Matrix) and 0 < limit < len(result.value):
        kind = type(result.value)
        result = QueryResult(kind(result.value[:limit]), result.warnings, result.infos)
        notes.append(TRUNCATED)
    return Reply(encode_query_data(result), notes, list(result.infos))
