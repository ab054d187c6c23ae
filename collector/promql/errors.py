"""Typed PromQL errors; each maps to the ``errorType`` and HTTP status Prometheus uses."""

from __future__ import annotations

__all__ = [
    "ExecutionError",
    "PromQLError",
    "PromQLParseError",
    "QueryCanceledError",
    "QueryTimeoutError",
    "TooManySamplesError",
]


class PromQLError(Exception):
    """Base of the engine's errors. ``error_type`` and ``http_status`` follow Prometheus."""

    error_type = "execution"
    http_status = 422


class PromQLParseError(PromQLError):
    """The expression does not parse, or is semantically invalid (wrong argument types...)."""

    error_type = "bad_data"
    http_status = 400


class ExecutionError(PromQLError):
    """Evaluation failed: many-to-many matching, duplicate series, invalid arguments..."""


class TooManySamplesError(ExecutionError):
    """The query would hold more samples in memory than ``max_samples`` allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            "query processing would load too many samples into memory in query execution"
        )
        self.limit = limit


class QueryTimeoutError(PromQLError):
    """The query ran longer than the configured timeout."""

    error_type = "timeout"
    http_status = 503

    def __init__(self, where: str = "query execution") -> None:
        super().__init__(f"query timed out in {where}")


class QueryCanceledError(PromQLError):
    error_type = "canceled"
    http_status = 503
