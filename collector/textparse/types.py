"""The parser's vocabulary: formats, metric types, the items it yields, and its errors."""

from __future__ import annotations

import enum
from dataclasses import dataclass

LabelPairs = tuple[tuple[str, str], ...]


class TextFormat(enum.Enum):
    """Which text format :func:`parse` reads."""

    PROMETHEUS = "prometheus"  # text/plain; version=0.0.4
    OPENMETRICS = "openmetrics"  # application/openmetrics-text; version=1.0.0


class MetricType(enum.Enum):
    """A family's ``# TYPE``; the Prometheus format's ``untyped`` is :attr:`UNKNOWN`."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    GAUGEHISTOGRAM = "gaugehistogram"
    SUMMARY = "summary"
    INFO = "info"
    STATESET = "stateset"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Exemplar:
    """An OpenMetrics exemplar: ``# {trace_id="..."} 1.0 1700000000.123``."""

    labels: LabelPairs
    value: float
    timestamp_ms: int | None


@dataclass(frozen=True, slots=True)
class TextSample:
    """One sample line. ``labels`` are as written (order kept), without ``__name__``."""

    name: str
    labels: LabelPairs
    value: float
    timestamp_ms: int | None
    line: int
    exemplar: Exemplar | None = None


@dataclass(frozen=True, slots=True)
class MetricFamily:
    """A family's metadata; ``help``/``unit`` are None when absent (or empty in OpenMetrics)."""

    name: str
    type: MetricType
    help: str | None = None
    unit: str | None = None


class TextParseError(ValueError):
    """The input is not valid; ``str()`` is ``line N: message`` (callers add the file)."""

    def __init__(self, line: int, message: str, column: int | None = None) -> None:
        super().__init__(line, message, column)
        self.line = line
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class _Bad(Exception):
    """An error inside one line; the loop adds the line number. ``pos`` is 0-based."""

    def __init__(self, message: str, pos: int | None = None) -> None:
        super().__init__(message)
        self.message, self.pos = message, pos

    def at(self, line: int) -> TextParseError:
        return TextParseError(line, self.message, None if self.pos is None else self.pos + 1)
