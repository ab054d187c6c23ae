"""JSON exactly as Prometheus' HTTP API writes it, built as text for speed.

Prometheus formats numbers in three ways, and clients (Grafana, promtool, client libraries)
see all three, so each is reproduced here (checked against Prometheus 2.42 and the 3.x source,
``util/jsonutil/marshal.go`` and ``promql/value.go``):

* sample values of vectors and matrices (:func:`format_value`): Go's
  ``strconv.FormatFloat(v, 'f', -1, 64)``, except that magnitudes below 1e-6 or from 1e21 on
  use the exponent form: ``"0.1"``, ``"1e-07"``, ``"1e+21"``, ``"NaN"``, ``"+Inf"``, ``"-0"``;
* scalar values (:func:`format_float`): always ``'f'``, so ``1e-10`` is ``"0.0000000001"``;
* sample timestamps (:func:`format_timestamp`): seconds with exactly three decimals, or none
  for whole seconds (``1700000000.100``, ``1700000000``); scalar and string timestamps are
  JSON floats of ``ms / 1000`` instead (``1700000000.1``).

Strings are escaped as Go's ``encoding/json`` does it, including ``<``, ``>`` and ``&`` as
``\\u003c``, ``\\u003e``, ``\\u0026``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from collector.model import Labels
from collector.promql.formatting import format_float
from collector.promql.result import Matrix, QueryResult, Scalar, Series, String, Vector

__all__ = [
    "encode_query_data",
    "error_body",
    "format_float",
    "format_timestamp",
    "format_value",
    "json_string",
    "labels_json",
    "success_body",
    "to_json",
]

_ESCAPES = {chr(i): f"\\u{i:04x}" for i in range(0x20)}
_ESCAPES.update(
    {
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        '"': '\\"',
        "\\": "\\\\",
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)
_ESCAPE_TABLE = str.maketrans(_ESCAPES)
_NEEDS_ESCAPE = re.compile('[\\x00-\\x1f"\\\\<>&\u2028\u2029]')

_SPECIAL = {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}


def json_string(text: str) -> str:
    """A JSON string literal, escaped as Go's ``encoding/json`` escapes it."""
    if _NEEDS_ESCAPE.search(text) is None:
        return f'"{text}"'
    return f'"{text.translate(_ESCAPE_TABLE)}"'


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it in vectors and matrices (``MarshalFloat``).

    >>> format_value(0.1), format_value(1e-7), format_value(1e21), format_value(5.0)
    ('0.1', '1e-07', '1e+21', '5')
    """
    text = repr(float(value))
    if text.endswith(".0"):
        return text[:-2]
    if "e" in text:
        magnitude = abs(value)
        if magnitude < 1e-6 or magnitude >= 1e21:
            return text  # Python's exponent form is Go's: "1e-07", "1.5e+300"
        return format_float(value)
    return _SPECIAL.get(text, text)


def format_timestamp(ms: int) -> str:
    """A sample timestamp in seconds, as Prometheus' ``MarshalTimestamp`` writes it.

    >>> format_timestamp(1_700_000_000_100), format_timestamp(-1500), format_timestamp(5000)
    ('1700000000.100', '-1.500', '5')
    """
    sign = "-" if ms < 0 else ""
    seconds, fraction = divmod(abs(ms), 1000)
    return f"{sign}{seconds}.{fraction:03d}" if fraction else f"{sign}{seconds}"


def _float_timestamp(ms: int) -> str:
    """The timestamp of a scalar or string result: a JSON float of ``ms / 1000``."""
    return format_float(float(ms) / 1000)


def labels_json(labels: Labels) -> str:
    return "{" + ",".join(f"{json_string(k)}:{json_string(v)}" for k, v in labels) + "}"


def to_json(value: Any) -> str:
    """Plain data (dicts, lists, strings, ints, bools, None) with Go's string escaping."""
    if isinstance(value, str):
        return json_string(value)
    if isinstance(value, Labels):
        return labels_json(value)
    if isinstance(value, Mapping):
        items = (f"{json_string(str(k))}:{to_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(map(to_json, value)) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return format_float(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def success_body(data_json: str, warnings: Iterable[str] = (), infos: Iterable[str] = ()) -> str:
    """``{"status":"success","data":...}`` with ``warnings``/``infos`` only when non-empty."""
    parts = ['{"status":"success","data":', data_json]
    for key, notes in (("warnings", list(warnings)), ("infos", list(infos))):
        if notes:
            parts += [f',"{key}":', to_json(notes)]
    parts.append("}")
    return "".join(parts)


def error_body(error_type: str, message: str) -> str:
    return (
        f'{{"status":"error","errorType":{json_string(error_type)},"error":{json_string(message)}}}'
    )


# -- query results ------------------------------------------------------------------------


def encode_query_data(result: QueryResult) -> str:
    """The ``data`` object of /query and /query_range: ``{"resultType":..,"result":..}``."""
    value = result.value
    if isinstance(value, Matrix):
        body = _matrix_json(value)
    elif isinstance(value, Vector):
        body = "[" + ",".join(map(_sample_json, value)) + "]"
    elif isinstance(value, Scalar):
        body = f'[{_float_timestamp(value.timestamp_ms)},"{format_float(value.value)}"]'
    elif isinstance(value, String):
        body = f"[{_float_timestamp(value.timestamp_ms)},{json_string(value.value)}]"
    else:
        raise TypeError(f"unknown query result {type(value).__name__}")
    return f'{{"resultType":"{result.type.value}","result":{body}}}'


def _sample_json(sample: Any) -> str:
    return (
        f'{{"metric":{labels_json(sample.labels)},"value":'
        f'[{format_timestamp(sample.timestamp_ms)},"{format_value(sample.value)}"]}}'
    )


def _matrix_json(matrix: Matrix) -> str:
    # Series of a range result share their step grid, so each timestamp is formatted once.
    stamps: dict[int, str] = {}
    return "[" + ",".join(_series_json(series, stamps) for series in matrix) + "]"


_POINT = '[%s,"%s"]'


def _series_json(series: Series, stamps: dict[int, str]) -> str:
    head = '{"metric":' + labels_json(series.labels)
    if len(series.timestamps) == 0:
        return head + "}"  # Prometheus omits "values" when there are none
    times = np.asarray(series.timestamps, dtype=np.int64).tolist()
    missing = set(times).difference(stamps)
    stamps.update(zip(missing, map(format_timestamp, missing), strict=True))
    values = np.asarray(series.values, dtype=np.float64)
    texts = list(map(repr, values.tolist()))
    # repr() already is Go's layout for zero and for 1e-4 <= |v| < 1e16 once a trailing ".0"
    # is cut (done below on the joined text); everything else is formatted one by one.
    magnitude = np.abs(values)
    plain = (magnitude < 1e16) & ((magnitude >= 1e-4) | (magnitude == 0))
    if not plain.all():
        for i in np.flatnonzero(~plain).tolist():
            texts[i] = format_value(values[i])
    points = ",".join(map(_POINT.__mod__, zip(map(stamps.__getitem__, times), texts, strict=True)))
    return head + ',"values":[' + points.replace('.0"]', '"]') + "]}"
