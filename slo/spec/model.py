"""The one SLO model every spec format is read into, and the compiler reads from.

Objectives are fractions (0.999), not Sloth's percent; windows are whole milliseconds.
Every object remembers where in which file it was written, so later errors can point there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "SLI",
    "SLO",
    "AlertTier",
    "Alerting",
    "BoolGaugeSLI",
    "EventsSLI",
    "LatencySLI",
    "RatioSLI",
    "SLIQueries",
    "SourcePosition",
    "SpanSLI",
    "WebVitalSLI",
    "Window",
]


@dataclass(frozen=True)
class SourcePosition:
    """Where a thing was written: file, 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Window:
    """The SLO period: rolling (``30d``) or calendar (month/quarter/week in a time zone)."""

    kind: Literal["rolling", "calendar"]
    #: rolling: the window length; calendar: the nominal length used for rule ranges
    #: (30d for a month, 90d for a quarter, 7d for a week).
    duration_ms: int
    calendar_unit: Literal["week", "month", "quarter"] | None = None
    time_zone: str = "UTC"


@dataclass(frozen=True)
class EventsSLI:
    """Bad (or good) and total events as PromQL; ``{{.window}}`` stands for the range, as in
    Sloth (``sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))``)."""

    error_query: str | None
    total_query: str
    good_query: str | None = None  # exactly one of error_query / good_query is set


@dataclass(frozen=True)
class RatioSLI:
    """A ready-made error ratio over ``{{.window}}`` (Sloth's ``raw.error_ratio_query``);
    no event counts, so the period ratio is the mean of the recorded ratios."""

    error_ratio_query: str


@dataclass(frozen=True)
class LatencySLI:
    """Fraction of requests slower than ``threshold_seconds`` on a classic histogram.
    ``metric`` is the histogram's base name (without ``_bucket``); ``selector`` the
    label matchers inside braces, e.g. ``job="shop",route!="/healthz"``."""

    metric: str
    threshold_seconds: float
    selector: str = ""


@dataclass(frozen=True)
class WebVitalSLI:
    """Good-ratio of a Web Vital from the collector's ``rum_web_vitals_*`` histograms."""

    app: str
    metric: Literal["lcp", "inp", "cls", "fcp", "ttfb"]
    page: str | None = None
    device_class: str | None = None
    threshold: float | None = None  # default: web-vitals' "good" threshold for the metric


@dataclass(frozen=True)
class SpanSLI:
    """Errors or latency from the spanmetrics series (``traces_span_metrics_*``)."""

    service: str
    span_name: str | None = None
    span_kind: str = "SPAN_KIND_SERVER"
    latency_threshold_seconds: float | None = None  # None: error ratio by status_code


@dataclass(frozen=True)
class BoolGaugeSLI:
    """A 0/1 gauge (uptime probe): the error ratio is 1 - avg_over_time over the window."""

    query: str


SLI = EventsSLI | RatioSLI | LatencySLI | WebVitalSLI | SpanSLI | BoolGaugeSLI


@dataclass(frozen=True)
class SLIQueries:
    """What every SLI kind becomes: PromQL templates with ``{{.window}}``.

    ``error_events``/``total_events`` are per-second rates of bad and all events (None for
    kinds without events); ``error_ratio`` is always set.
    """

    error_ratio: str
    error_events: str | None = None
    total_events: str | None = None


@dataclass(frozen=True)
class AlertTier:
    """One tier of the multi-window multi-burn-rate alert (page or ticket)."""

    enabled: bool = True
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    #: the alert rule's ``for``: 0 (Sloth's choice) fires on the first evaluation that burns
    for_ms: int = 0


@dataclass(frozen=True)
class Alerting:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    page: AlertTier = field(default_factory=AlertTier)
    ticket: AlertTier = field(default_factory=AlertTier)


@dataclass(frozen=True)
class SLO:
    """One objective of one service. An OpenSLO spec with several objectives gives several."""

    service: str
    name: str
    objective: float  # fraction of good events, 0 < objective < 1
    window: Window
    sli: SLI
    alerting: Alerting
    source: SourcePosition
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    #: below this many events per second over a window, alerts of that window stay quiet
    min_traffic: float | None = None
    budgeting: Literal["occurrences", "timeslices"] = "occurrences"
    timeslice_target: float | None = None
    timeslice_window_ms: int | None = None
    #: the spec format it came from: "native", "openslo" or "sloth"
    spec_format: str = "native"

    @property
    def id(self) -> str:
        """Sloth's ``sloth_id``: ``<service>-<name>``."""
        return f"{self.service}-{self.name}"
