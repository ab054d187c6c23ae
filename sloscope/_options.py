"""The SDK's options: keyword arguments, then ``SLOSCOPE_*``/``OTEL_*`` variables, then defaults.

Every option is declared once here; an unknown keyword is a ``TypeError`` naming it. A bad
environment value falls back to the default with a warning: the SDK must never stop the host
app from starting.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Options", "build_options"]

log = logging.getLogger("sloscope")

DEFAULT_OTLP_ENDPOINT = "http://127.0.0.1:4318"


@dataclass(frozen=True)
class Options:
    """What ``sloscope.init(...)`` accepts; see the README for each option."""

    service_name: str = "unknown_service"
    service_version: str = ""
    environment: str = ""
    #: OTLP/HTTP base URL; the exporter posts to ``<endpoint>/v1/traces``.
    otlp_endpoint: str = DEFAULT_OTLP_ENDPOINT
    traces: bool = True
    metrics: bool = True
    #: Fraction of new traces recorded (parent-based: a sampled parent is always followed).
    traces_sample_rate: float = 1.0
    #: Queries slower than this are logged with their plan (seconds).
    slow_query_threshold_s: float = 0.5
    #: At most this many slow queries are explained per minute (EXPLAIN costs a round trip).
    slow_query_explains_per_minute: int = 6
    #: Tests set this: internal SDK errors are re-raised instead of logged and counted.
    raise_internal_errors: bool = False
    #: prometheus_client registry for every sloscope metric; None makes a fresh one.
    registry: Any = None
    #: OpenTelemetry span exporter to use instead of OTLP (tests pass an in-memory one).
    span_exporter: Any = None
    resource_attributes: Mapping[str, str] = field(default_factory=dict)


_ENV = {
    "service_name": ("OTEL_SERVICE_NAME", str),
    "otlp_endpoint": ("OTEL_EXPORTER_OTLP_ENDPOINT", str),
    "environment": ("SLOSCOPE_ENVIRONMENT", str),
    "service_version": ("SLOSCOPE_SERVICE_VERSION", str),
    "traces_sample_rate": ("SLOSCOPE_TRACES_SAMPLE_RATE", float),
    "slow_query_threshold_s": ("SLOSCOPE_SLOW_QUERY_THRESHOLD", float),
}
_BOOL_ENV = {"traces": "SLOSCOPE_TRACES", "metrics": "SLOSCOPE_METRICS"}


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, (var, kind) in _ENV.items():
        if environ.get(var):
            try:
                found[name] = kind(environ[var])
            except ValueError:
                log.warning("sloscope: ignoring %s=%r: not a %s", var, environ[var], kind.__name__)
    for name, var in _BOOL_ENV.items():
        value = environ.get(var, "").strip().lower()
        if value in ("true", "1", "yes", "false", "0", "no"):
            found[name] = value in ("true", "1", "yes")
        elif value:
            log.warning("sloscope: ignoring %s=%r: expected true or false", var, value)
    return found


def build_options(kwargs: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Options:
    """Merge keyword arguments over the environment over the defaults.

    :raise TypeError: for an unknown keyword (a typo must not pass silently).
    :raise ValueError: for a keyword with an impossible value.
    """
    known = {f.name for f in dataclasses.fields(Options)}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(f"sloscope.init() got unknown option(s): {', '.join(unknown)}")
    merged = {**_from_environ(os.environ if environ is None else environ), **kwargs}
    options = Options(**merged)
    if not 0.0 <= options.traces_sample_rate <= 1.0:
        raise ValueError(
            f"traces_sample_rate must be within 0..1, got {options.traces_sample_rate}"
        )
    if options.slow_query_threshold_s < 0:
        raise ValueError("slow_query_threshold_s must not be negative")
    return options
