"""Prometheus' series notation, as promqltest scripts write it: ``metric{label="v"} 1+2x3 _``.

>>> labels, values = parse_series('up{job="a"} 1+1x2 _ 5')
>>> values
[1.0, 2.0, 3.0, None, 5.0]
>>> parse_duration_ms("1m30s"), go_number("010"), unquote('"a\\\\tb"')
(90000, 8.0, 'a\\tb')

Numbers, durations and string literals follow Go and Prometheus (``010`` is octal, Go's
escapes); native histograms and ``@st`` (start timestamp) lines are rejected as unsupported.
"""

from __future__ import annotations

import math
import re
import struct

from collector.model import METRIC_NAME, STALE_NAN, Labels

__all__ = [
    "MAX_POINTS_PER_SERIES",
    "NotationError",
    "expand_values",
    "go_number",
    "is_go_number",
    "parse_duration_ms",
    "parse_series",
    "place_values",
    "unquote",
]

#: One series line may expand to at most this many values (``_x1000000000`` is a typo).
MAX_POINTS_PER_SERIES = 1_000_000
#: Go's ``math.NaN()``: what Prometheus' number parser returns for ``NaN``.
_PROM_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]


class NotationError(ValueError):
    """Text that is not valid series notation; ``args[0]`` is the message."""


_STR = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`"
_PAIR = rf"(?:([A-Za-z_]\w*)|({_STR}))(?:[ \t]*=[ \t]*({_STR}))?"
_SERIES = re.compile(
    rf"(?a)([A-Za-z_:][\w:]*)?(\{{[ \t]*(?:{_PAIR}(?:[ \t]*,[ \t]*{_PAIR})*[ \t]*,?)?[ \t]*\}})?"
    r"(?:[ \t]+(.*))?"
)
_NUM = r"(?:\.?[0-9](?:[eE][+-]?|[0-9_.])*|(?:[iI][nN][fF]|[nN][aA][nN])(?!x))"
_ITEM = re.compile(rf"_(?:x([0-9]+))?|(stale(?!x)|[+-]?{_NUM})(?:([+-]{_NUM})?x([0-9]+))?")
_NOT_METRIC = {"bool", "on", "ignoring", "group_left", "group_right", "atan2", "inf", "nan"}
_DURATION = re.compile("".join(rf"(?:([0-9]+){u})?" for u in ("y", "w", "d", "h", "m", "s", "ms")))
_UNIT_MS = (31_536_000_000, 604_800_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
_GO_INT = re.compile(r"[+-]?(?:0(?:_?[0-7])*|[1-9](?:_?[0-9])*)")  # base 0 (no 0x in series)
_GO_FLOAT = re.compile(
    r"(?i)[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?|inf(?:inity)?|nan)"
)
_H = "[0-9a-fA-F]"
_ESCAPE = re.compile(
    rf"\\(?:([abfnrtv\\'\"])|([0-7]{{3}})|x({_H}{{2}})|u({_H}{{4}})|U({_H}{{8}})|)".encode()
)
_SIMPLE = dict(zip(b"abfnrtv\\'\"", b"\a\b\f\n\r\t\v\\'\"", strict=True))


def parse_duration_ms(text: str) -> int:
    """Prometheus' model.ParseDuration: units y w d h m s ms in this order, no sign."""
    if text == "0":
        return 0
    if not text or (match := _DURATION.fullmatch(text)) is None:
        raise NotationError(f'not a valid duration: "{text}"')
    ms = sum(int(g) * unit for g, unit in zip(match.groups(), _UNIT_MS, strict=True) if g)
    if ms * 1_000_000 >= 2**63:
        raise NotationError(f'duration out of range: "{text}"')
    return ms


def is_go_number(text: str) -> bool:
    """Whether :func:`go_number` would read ``text`` as a number (it may still be out of range)."""
    return bool(_GO_INT.fullmatch(text) or _GO_FLOAT.fullmatch(text))


def go_number(text: str) -> float:
    """Go's ParseInt(text, 0, 64), else ParseFloat(text, 64): how Prometheus reads numbers."""
    negative = text.startswith("-")
    if _GO_INT.fullmatch(text):
        digits = text.replace("_", "").lstrip("+-")
        n = int(digits, 8 if digits.startswith("0") else 10)  # 010 is octal 8
        if n < 2**63 + negative:
            return float(-n if negative else n)
    if _GO_FLOAT.fullmatch(text):
        if (value := float(text)) != value:
            return -_PROM_NAN if negative else _PROM_NAN
        if math.isinf(value) and "n" not in text.lower():
            raise NotationError(f'number out of range: "{text}"')
        return value
    raise NotationError(f'invalid number "{text}"')


def unquote(literal: str) -> str:
    """A Go string literal: "..." or '...' with Go's escapes, or raw `...`."""
    quote, body = literal[0], literal[1:-1]
    if quote == "`":
        return body.replace("\r", "")

    def unescape(m: re.Match[bytes]) -> bytes:
        simple, octal, *hexa = m.groups()
        if simple and (simple not in b"'\"" or simple == quote.encode()):
            return bytes([_SIMPLE[simple[0]]])
        if not (octal or any(hexa)):
            raise NotationError(f"invalid escape sequence in {literal}")
        code = int(octal, 8) if octal else int(next(h for h in hexa if h), 16)
        if (
            code > (255 if (byte := bool(octal or hexa[0])) else 0x10FFFF)
            or 0xD800 <= code < 0xE000
        ):
            raise NotationError(f"escape sequence out of range in {literal}")
        return bytes([code]) if byte else chr(code).encode()

    try:
        return _ESCAPE.sub(unescape, body.encode()).decode()
    except UnicodeDecodeError:
        raise NotationError(f"string {literal} is not valid UTF-8") from None


def parse_series(text: str) -> tuple[Labels, list[float | None]]:
    """``metric{label="v", "utf8.name"="v"} values...``: labels and values (None for ``_``)."""
    if text.split(maxsplit=1)[0].endswith("@st"):
        raise NotationError("start timestamp (@st) lines are not supported")
    if (match := _SERIES.fullmatch(text)) is None or not (match[1] or match[2]):
        raise NotationError(
            f'invalid series "{text}": expected metric{{label="value", ...}} values'
        )
    name, label_set, values_text = match[1], match[2] or "", match[9] or ""
    if name and name.lower() in _NOT_METRIC:
        raise NotationError(f'"{name}" is a PromQL keyword, not a metric name')
    pairs: list[tuple[str, str]] = []
    for ident, quoted, value in re.findall(_PAIR, label_set, re.ASCII):
        if ident and not value:
            raise NotationError(f'expected "=" and a quoted value after label name "{ident}"')
        key = ident or unquote(quoted)
        pairs.append((key, unquote(value)) if value else (METRIC_NAME, key))
    if name:  # the name before the braces wins, as in Prometheus
        pairs = [(k, v) for k, v in pairs if k != METRIC_NAME] + [(METRIC_NAME, name)]
    try:
        labels = Labels.of(pairs)
    except ValueError as exc:
        raise NotationError(str(exc)) from None
    values: list[float | None] = []
    for item in values_text.split():
        values.extend(expand_values(item, MAX_POINTS_PER_SERIES - len(values)))
    return labels, values


def expand_values(item: str, room: int) -> list[float | None]:
    """One item of a value sequence: ``_``, ``_xN`` (N gaps), ``v``, ``vxN``, ``v+dxN``,
    ``v-dxN`` (N+1 values, summed step by step in float64 like Prometheus); more than
    ``room`` values is an error."""
    if (match := _ITEM.fullmatch(item)) is None:
        if "{{" in item:
            raise NotationError("native histograms are not supported")
        raise NotationError(
            f'invalid series value "{item}" (expected _, _xN, v, vxN, v+dxN, v-dxN)'
        )
    gaps, first, delta, times = match.groups()
    count = int(gaps) if gaps else int(times) + 1 if times else 1
    if count > room:
        raise NotationError(f"more than {MAX_POINTS_PER_SERIES} values in one series")
    if first is None:
        return [None] * count
    value = STALE_NAN if first == "stale" else go_number(first)
    if delta is None:
        return [value] * count
    step, out = go_number(delta), []
    for _ in range(count):
        out.append(value)
        value += step
    return out


def place_values(
    labels: Labels, values: list[float | None], span: tuple[int, int, int]
) -> tuple[list[int], list[float]]:
    """The times and values present (``_`` is a gap): value i at ``start + i * step`` for a
    ``(start, end, step)`` span, all at or before ``end`` unless ``end < start`` (no end)."""
    start, end, step = span
    if start <= end < start + (len(values) - 1) * step:
        raise NotationError(f"{len(values)} values expected for {labels}, more than fit the range")
    times = [start + i * step for i, v in enumerate(values) if v is not None]
    return times, [v for v in values if v is not None]
