"""PromQL for the dashboard: queries with errors as Prometheus reports them, results as
plain rows and series ready for tables and charts."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from collector.promql.errors import PromQLError, PromQLParseError
from collector.promql.formatting import format_float
from collector.promql.result import Matrix, QueryResult, Scalar, String, Vector
from collector.store.interfaces import StoreError
from collector.store.matchers import MatcherError
from web.queries import Sources

__all__ = [
    "QueryError",
    "ResultRow",
    "SeriesPoints",
    "instant_query",
    "range_query",
    "result_rows",
    "series_of",
]

log = logging.getLogger("web.queries")


class QueryError(Exception):
    """A failed query with Prometheus' ``errorType`` and HTTP status."""

    def __init__(self, error_type: str, message: str, status: int) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status

    def as_json(self) -> dict[str, str]:
        """Prometheus' error body."""
        return {"status": "error", "errorType": self.error_type, "error": self.message}


@dataclass(frozen=True)
class SeriesPoints:
    """One series over time; ``values`` holds None where the series has no sample."""

    name: str
    labels: dict[str, str]
    times_ms: list[int]
    values: list[float | None]


@dataclass(frozen=True)
class ResultRow:
    """One row of a table of an instant result: the series (or "scalar"/"string") and its
    value as Prometheus prints it."""

    series: str
    labels: dict[str, str]
    value: str


# Prometheus' API names the parameter of an expression that does not parse; its UI shows
# that message as is.
_QUERY_PARAM = 'invalid parameter "query": '


def _run(call, *args) -> QueryResult:
    try:
        return call(*args)
    except PromQLParseError as exc:
        raise QueryError(exc.error_type, _QUERY_PARAM + str(exc), exc.http_status) from None
    except PromQLError as exc:
        raise QueryError(exc.error_type, str(exc), exc.http_status) from None
    except MatcherError as exc:
        raise QueryError("bad_data", _QUERY_PARAM + str(exc), 400) from None
    except StoreError as exc:
        raise QueryError("internal", str(exc), 500) from None


def instant_query(sources: Sources, expr: str, time_ms: int) -> QueryResult:
    """``expr`` at ``time_ms``. :raise QueryError: as Prometheus would answer."""
    if not expr.strip():
        raise QueryError("bad_data", _QUERY_PARAM + "query must not be empty", 400)
    return _run(sources.engine.instant_query, expr, time_ms)


def range_query(sources: Sources, expr: str, start_ms: int, end_ms: int, step_ms: int):
    """``expr`` from ``start_ms`` to ``end_ms`` every ``step_ms``.

    :raise QueryError: as Prometheus would answer.
    """
    if not expr.strip():
        raise QueryError("bad_data", _QUERY_PARAM + "query must not be empty", 400)
    return _run(sources.engine.range_query, expr, start_ms, end_ms, step_ms)


def _value(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def series_of(result: QueryResult, max_series: int | None = None) -> list[SeriesPoints]:
    """The series of a range result (a scalar range result is one series ``scalar``)."""
    value = result.value
    if not isinstance(value, Matrix):
        return []
    chosen = value if max_series is None else value[:max_series]
    return [
        SeriesPoints(
            str(s.labels),
            dict(s.labels),
            [int(t) for t in s.timestamps],
            [_value(v) for v in s.values],
        )
        for s in chosen
    ]


def result_rows(result: QueryResult, max_rows: int | None = None) -> list[ResultRow]:
    """An instant result as table rows, values formatted as Prometheus formats them."""
    value = result.value
    if isinstance(value, Scalar):
        return [ResultRow("scalar", {}, format_float(value.value))]
    if isinstance(value, String):
        return [ResultRow("string", {}, value.value)]
    if isinstance(value, Vector):
        samples = value if max_rows is None else value[:max_rows]
        return [ResultRow(str(s.labels), dict(s.labels), format_float(s.value)) for s in samples]
    series = value if max_rows is None else value[:max_rows]
    return [
        ResultRow(
            str(s.labels),
            dict(s.labels),
            "\n".join(
                f"{format_float(v)} @{t / 1000:g}"
                for t, v in zip(s.timestamps, s.values, strict=True)
            ),
        )
        for s in series
    ]
