"""Where a service's RED figures (rate, errors, duration) come from: the HTTP server
histogram its SDK exports (scraped, or converted from OTLP under the same name), or the RED
metrics the collector derives from its server spans (spanmetrics).

Both are histograms with a ``_count`` per route and status, so one set of PromQL templates
reads either; a :class:`RedSource` says which metric, which labels and which errors.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

__all__ = ["METRICS", "SOURCES", "SPANMETRICS", "RedSource", "SourceKind", "quote"]


class SourceKind(enum.Enum):
    METRICS = "metrics"
    SPANMETRICS = "spanmetrics"


@dataclass(frozen=True)
class RedSource:
    """One kind of RED data: the histogram, the label naming the service, the labels naming
    a route, the filter for entry points and the filter for failures."""

    kind: SourceKind
    histogram: str
    service_label: str
    route_labels: tuple[str, ...]
    entry_matcher: str
    error_matcher: str
    #: what the page says about the numbers
    description: str

    def selector(self, service: str | None = None, *, errors: bool = False) -> str:
        """The matchers (without braces' metric name) for this source, one service, errors."""
        parts = [m for m in (self.entry_matcher, self.error_matcher if errors else "") if m]
        if service is not None:
            parts.insert(0, f"{self.service_label}={quote(service)}")
        return "{" + ", ".join(parts) + "}"

    def route_name(self, labels: dict[str, str]) -> str:
        """How the page names a route: ``GET /orders/<id>`` (or the span name)."""
        if self.kind is SourceKind.SPANMETRICS:
            return labels.get("span_name", "")
        route = labels.get("http_route", "")
        method = labels.get("http_request_method", "")
        return f"{method} {route or '(no route matched)'}".strip()


METRICS = RedSource(
    kind=SourceKind.METRICS,
    histogram="http_server_request_duration_seconds",
    service_label="job",
    route_labels=("http_request_method", "http_route"),
    entry_matcher="",
    error_matcher='http_response_status_code=~"5.."',
    description=(
        "HTTP server metrics (http_server_request_duration_seconds): the service is the "
        "scrape job (or OTLP service.name); errors are 5xx responses."
    ),
)
SPANMETRICS = RedSource(
    kind=SourceKind.SPANMETRICS,
    histogram="traces_span_metrics_duration_seconds",
    service_label="service_name",
    route_labels=("span_name",),
    entry_matcher='span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"',
    error_matcher='status_code="STATUS_CODE_ERROR"',
    description=(
        "RED metrics derived from server and consumer spans (traces_span_metrics_*): the "
        "service is the span's service.name, a route is the span name; errors are spans "
        "with status ERROR."
    ),
)
#: In order of preference: a service with HTTP metrics is read from them.
SOURCES = (METRICS, SPANMETRICS)


def quote(value: str) -> str:
    """``value`` as a PromQL string literal (JSON's escapes are a subset of Go's)."""
    return json.dumps(value, ensure_ascii=False)
