"""How ``sloscope rules test`` prints failures: promtool's text, so users recognise it.

>>> format_labels({"__name__": "up", "job": "a\\"b"})
'{__name__="up", job="a\\\\"b"}'
>>> format_float_e(0.25), format_float_e(1.0), format_float_e(float("inf"))
('2.5E-01', '1E+00', '+Inf')
>>> format_model_duration(90_000), format_go_duration(60_000), format_go_duration(1_500)
('1m30s', '1m0s', '1.5s')
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "AlertView",
    "alert_failure",
    "format_alert_list",
    "format_float_e",
    "format_go_duration",
    "format_labels",
    "format_model_duration",
    "format_samples",
    "go_quote",
]

#: (labels, annotations) of one alert, each as sorted (name, value) pairs.
AlertView = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]

_LEGACY_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SIMPLE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}
_MODEL_UNITS = (
    ("y", 31_536_000_000),
    ("w", 604_800_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
)


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote``: double quotes, Go escapes, non-printable runes as \\x/\\u."""
    out = ['"']
    for ch in text:
        if ch in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def format_labels(labels: Iterable[tuple[str, str]] | dict[str, str]) -> str:
    """Prometheus' ``labels.String()``: ``{a="1", b="2"}`` (names quoted if not legacy)."""
    pairs = sorted(labels.items() if isinstance(labels, dict) else labels)
    parts = [
        f"{name if _LEGACY_NAME.fullmatch(name) else go_quote(name)}={go_quote(value)}"
        for name, value in pairs
    ]
    return "{" + ", ".join(parts) + "}"


def format_float_e(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'E', -1, 64)``: shortest digits, exponent form."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = np.format_float_scientific(value, unique=True, trim="-", exp_digits=2)
    return text.upper()


def format_model_duration(ms: int) -> str:
    """Prometheus' ``model.Duration.String()``: ``1h30m``, ``0s``."""
    if ms == 0:
        return "0s"
    out = []
    for unit, size in _MODEL_UNITS:
        count, ms = divmod(ms, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


def format_go_duration(ms: int) -> str:
    """Go's ``time.Duration.String()`` for whole milliseconds: ``1h0m0s``, ``1.5s``, ``0s``."""
    if ms == 0:
        return "0s"
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    if ms < 1000:
        return f"{sign}{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest // 1000}.{rest % 1000:03d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return f"{sign}{seconds}"


def _indent(text: str, prefix: str) -> str:
    return ("\n" + prefix).join(text.split("\n"))


def format_alert_list(alerts: Sequence[AlertView]) -> str:
    """promtool's listing of alerts: ``[\\n0:\\n  Labels:{...}\\n  Annotations:{...}\\n]``."""
    if not alerts:
        return "[]"
    items = []
    for i, (labels, notes) in enumerate(alerts):
        body = f"Labels:{format_labels(labels)}\nAnnotations:{format_labels(notes)}"
        items.append(f"{i}:" + _indent("\n" + body, "  "))
    return "[\n" + ",\n".join(items) + "\n]"


def alert_failure(
    test_name: str,
    alertname: str,
    eval_time_ms: int,
    exp: Sequence[AlertView],
    got: Sequence[AlertView],
) -> str:
    """The failure text of one ``alert_rule_test`` case, as promtool prints it."""
    name = f"    name: {test_name},\n" if test_name else ""
    indent = " " * 12
    return (
        f"{name}    alertname: {alertname}, time: {format_model_duration(eval_time_ms)}, \n"
        f"        exp:{_indent(format_alert_list(exp), indent)}, \n"
        f"        got:{_indent(format_alert_list(got), indent)}"
    )


def format_samples(samples: Sequence[tuple[tuple[tuple[str, str], ...], float]]) -> str:
    """promtool's ``parsedSamplesString``: ``{labels} 1E+00, ...`` or ``nil``."""
    if not samples:
        return "nil"
    return ", ".join(f"{format_labels(labels)} {format_float_e(v)}" for labels, v in samples)
