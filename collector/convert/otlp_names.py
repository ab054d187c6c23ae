"""OpenTelemetry -> Prometheus names: metric names, unit suffixes, label names and values.

Follows the "Prometheus and OpenMetrics Compatibility" specification and the collector's
``prometheus`` translator (``BuildCompliantName`` with suffixes, ``NormalizeLabel``), in the
mode that escapes everything outside ``[a-zA-Z0-9_:]``, because sloscope's PromQL engine and
the Prometheus HTTP API serve classic (non UTF-8) names.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable

import numpy as np
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

__all__ = [
    "attribute_labels",
    "format_bound",
    "label_name",
    "metric_name",
    "value_string",
]

_INVALID_NAME = re.compile(r"[^a-zA-Z0-9_:]+")
_INVALID_LABEL = re.compile(r"[^a-zA-Z0-9_]")
_UNDERSCORES = re.compile(r"__+")
_ANNOTATION = re.compile(r"\{[^}]*\}")

# The translator's unit tables (pkg/translator/prometheus/normalize_name.go).
_UNITS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
    "us": "microseconds", "ns": "nanoseconds",
    "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "TiBy": "tibibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes",
    "TBy": "terabytes",
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams",
    "Cel": "celsius", "Hz": "hertz", "1": "", "%": "percent",
}  # fmt: skip
_PER_UNITS = {
    "s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month",
    "y": "year",
}  # fmt: skip


def _clean(text: str) -> str:
    """Invalid characters and runs of them become one ``_``, as the spec requires."""
    return _UNDERSCORES.sub("_", _INVALID_NAME.sub("_", text))


def unit_suffix(unit: str, *, is_gauge: bool) -> str:
    """The suffix words for a UCUM unit: ``s`` -> ``seconds``, ``{req}/s`` -> ``per_second``,
    ``1`` -> ``ratio`` for gauges only (a dimensionless counter is a plain count)."""
    unit = _ANNOTATION.sub("", unit).strip()
    if unit == "1":
        return "ratio" if is_gauge else ""
    main, _, per = unit.partition("/")
    words = [_UNITS.get(main, main)] if main else []
    if per:
        words += ["per", _PER_UNITS.get(per, per)]
    return _clean("_".join(w for w in words if w)).strip("_")


def metric_name(name: str, unit: str, *, counter: bool = False, is_gauge: bool = False) -> str:
    """The Prometheus name of an OTel metric: sanitised, unit words appended unless present,
    ``_total`` last for counters (moved there if the name carries it elsewhere).

    >>> metric_name("http.server.duration", "s")
    'http_server_duration_seconds'
    >>> metric_name("requests", "{request}", counter=True)
    'requests_total'
    >>> metric_name("cpu.utilization", "1", is_gauge=True)
    'cpu_utilization_ratio'
    """
    tokens = [t for t in _clean(name).split("_") if t]
    if counter:
        tokens = [t for t in tokens if t != "total"]
    suffix = unit_suffix(unit, is_gauge=is_gauge)
    suffix_tokens = [t for t in suffix.split("_") if t]
    if suffix_tokens and tokens[-len(suffix_tokens) :] != suffix_tokens:
        tokens += suffix_tokens
    if counter:
        tokens.append("total")
    result = "_".join(tokens)
    if not result:
        return ""
    return "_" + result if result[0].isdigit() else result


def label_name(key: str) -> str:
    """An attribute key as a label name: ``_`` for invalid characters, ``key_`` before a
    leading digit, ``key`` before a single leading ``_`` (``__`` names are reserved)."""
    if not key:
        return ""
    name = _INVALID_LABEL.sub("_", key)
    if name[0].isdigit():
        return "key_" + name
    if name.startswith("_") and not name.startswith("__"):
        return "key" + name
    return name


def value_string(value: AnyValue) -> str:
    """An attribute value as a label value; arrays and maps as JSON, as the translator."""
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    return _as_text(_plain(value)) if kind != "string_value" else value.string_value


def _plain(value: AnyValue):
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_plain(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return getattr(value, kind) if kind else None


def _as_text(plain) -> str:
    if isinstance(plain, bool):
        return "true" if plain else "false"
    if isinstance(plain, float):
        return repr(plain) if math.isfinite(plain) else str(plain)
    if isinstance(plain, int | str):
        return str(plain)
    return json.dumps(plain, separators=(",", ":"), sort_keys=False)


def attribute_labels(attributes: Iterable[KeyValue]) -> dict[str, str]:
    """Attributes as labels. Keys that collide after sanitising are joined with ``;`` in
    the order of their original keys, as the spec says."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for kv in attributes:
        name = label_name(kv.key)
        if name:
            grouped.setdefault(name, []).append((kv.key, value_string(kv.value)))
    return {name: ";".join(v for _, v in sorted(pairs) if v) for name, pairs in grouped.items()}


def format_bound(bound: float) -> str:
    """An ``le``/``quantile`` value as Go's ``FormatFloat(f, 'f', -1, 64)``: ``1``, ``0.005``."""
    if math.isinf(bound):
        return "+Inf" if bound > 0 else "-Inf"
    if math.isnan(bound):
        return "NaN"
    return np.format_float_positional(bound, trim="-")
