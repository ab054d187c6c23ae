"""Go's ``fmt.Sprintf`` for templates' ``printf``: the verbs, flags, width and precision rule
files use (``%s %d %f %.2f %v %q %g %e %x %t %c %%``), with Go's ``%!d(float64=1.5)``
complaints instead of exceptions when a verb does not fit its argument.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from slo.rules.template_gofmt import bad_verb, format_float, go_quote, value_text
from slo.rules.template_time import GoDuration, GoTime
from slo.rules.template_values import AlertData, TemplateSample, go_type

__all__ = ["sprintf"]

_DIRECTIVE = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?(.?)", re.S)


@dataclass
class _Spec:
    flags: str
    width: int | None
    precision: int | None
    verb: str

    def has(self, flag: str) -> bool:
        return flag in self.flags


def _pad(text: str, spec: _Spec, numeric: bool = False) -> str:
    """Pad to the width: left-justified with '-', zeros after the sign with '0'."""
    if spec.width is None or len(text) >= spec.width:
        return text
    fill = spec.width - len(text)
    if spec.has("-"):
        return text + " " * fill
    if numeric and spec.has("0"):
        sign = text[0] if text[:1] in ("+", "-", " ") else ""
        return sign + "0" * fill + text[len(sign) :]
    return " " * fill + text


def _signed(body: str, negative: bool, spec: _Spec) -> str:
    if negative:
        return "-" + body
    if spec.has("+"):
        return "+" + body
    return (" " + body) if spec.has(" ") else body


def _format_int(value: int, spec: _Spec) -> str:
    verb = spec.verb
    if verb == "c":
        return _pad(chr(value) if 0 <= value <= 0x10FFFF else "\ufffd", spec)
    if verb == "q":
        return _pad("'" + go_quote(chr(value))[1:-1].replace("'", "\\'") + "'", spec)
    if verb == "U":
        return _pad(f"U+{value:04X}", spec)
    bases = {"d": "d", "v": "d", "b": "b", "o": "o", "O": "o", "x": "x", "X": "X"}
    if verb not in bases:
        return bad_verb(verb, value)
    body = format(abs(value), bases[verb])
    if spec.precision is not None:
        body = body.rjust(spec.precision, "0") if spec.precision or value else ""
    prefix = {"O": "0o"}.get(verb, "")
    if spec.has("#"):
        prefix = {"b": "0b", "o": "0", "O": "0o", "x": "0x", "X": "0X"}.get(verb, "")
    zero_ok = spec.precision is None
    return _pad(_signed(prefix + body, value < 0, spec), spec, numeric=zero_ok)


def _hex_float(value: float, upper: bool) -> str:
    """``%x`` of a float: ``0x1.cp+01`` (shortest hex mantissa, exponent of two digits)."""
    if value == 0 or math.isinf(value) or math.isnan(value):
        text = "0x0p+00" if value == 0 else format_float(value)
    else:
        mantissa, exponent = math.frexp(abs(value))
        fraction = int((mantissa * 2 - 1) * (1 << 52))
        digits = f"{fraction:013x}".rstrip("0")
        sign = "+" if exponent - 1 >= 0 else "-"
        body = "0x1" + ("." + digits if digits else "")
        text = f"{'-' if value < 0 else ''}{body}p{sign}{abs(exponent - 1):02d}"
    return text.upper().replace("INF", "Inf").replace("NAN", "NaN") if upper else text


def _format_float(value: float, spec: _Spec) -> str:
    verb = spec.verb
    if verb in "xX":
        return _pad(_hex_float(value, verb == "X"), spec)
    if verb not in "vgGeEfF":
        return bad_verb(verb, value)
    text = format_float(value, verb, spec.precision)
    if math.isnan(value):
        text = ("+" if spec.has("+") else " " if spec.has(" ") else "") + text
        return _pad(text, spec)
    if math.isinf(value):
        text = text if value < 0 or spec.has("+") else text[1:]
        text = text if text[0] in "+-" or not spec.has(" ") else " " + text
        return _pad(text, spec)
    negative = text.startswith("-")
    return _pad(_signed(text.lstrip("-"), negative, spec), spec, numeric=True)


def _format_string(value: str, spec: _Spec) -> str:
    verb = spec.verb
    if spec.precision is not None and verb in "svq":
        value = value[: spec.precision]
    if verb in "sv":
        return _pad(value, spec)
    if verb == "q":
        if spec.has("#") and "`" not in value and value.isprintable():
            return _pad("`" + value + "`", spec)
        return _pad(go_quote(value, ascii_only=spec.has("+")), spec)
    if verb in "xX":
        data = value.encode()
        if spec.precision is not None:
            data = data[: spec.precision]
        sep = " " if spec.has(" ") else ""
        text = sep.join(format(b, "02x" if verb == "x" else "02X") for b in data)
        return _pad(text, spec)
    return bad_verb(verb, value)


def _format_value(value: Any, spec: _Spec, nested: bool = False) -> str:
    verb = spec.verb
    if value is None:
        return _pad("<nil>", spec) if verb == "v" else f"%!{verb}(<nil>)"
    if isinstance(value, bool):
        return _pad("true" if value else "false", spec) if verb in "tv" else bad_verb(verb, value)
    if isinstance(value, int):
        return _format_int(value, spec)
    if isinstance(value, float):
        return _format_float(value, spec)
    if isinstance(value, str):
        return _format_string(value, spec)
    if isinstance(value, (GoTime, GoDuration)):
        if verb in "sqv":
            return _format_string(str(value), spec)
        return bad_verb(verb, value)
    if isinstance(value, dict):
        items = (
            f"{_format_value(k, spec, True)}:{_format_value(value[k], spec, True)}"
            for k in sorted(value)
        )
        return "map[" + " ".join(items) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_format_value(item, spec, True) for item in value) + "]"
    if isinstance(value, TemplateSample) and nested and verb != "v":
        return f"%!{verb}({go_type(value)}={value_text(value, False)})"
    if isinstance(value, (TemplateSample, AlertData)):
        inner = " ".join(_format_value(v, spec, True) for v in value.fields().values())
        return ("&{" if isinstance(value, TemplateSample) else "{") + inner + "}"
    return bad_verb(verb, value)


def _star(args: list[Any], index: int) -> tuple[int | None, int, str]:
    """A ``*`` width or precision taken from the arguments: (value, next index, error)."""
    if index >= len(args):
        return None, index, "%!(BADWIDTH)"
    arg = args[index]
    if isinstance(arg, int) and not isinstance(arg, bool):
        return arg, index + 1, ""
    return None, index + 1, "%!(BADWIDTH)"


def sprintf(fmt: str, args: list[Any]) -> str:
    """``fmt.Sprintf(fmt, args...)``."""
    out: list[str] = []
    used = 0
    pos = 0
    while True:
        start = fmt.find("%", pos)
        if start < 0:
            out.append(fmt[pos:])
            break
        out.append(fmt[pos:start])
        match = _DIRECTIVE.match(fmt, start)
        assert match is not None  # the pattern matches any text after a '%'
        flags, width_text, prec_text, verb = match.groups()
        pos = match.end()
        width: int | None = int(width_text) if width_text and width_text != "*" else None
        if width_text == "*":
            width, used, problem = _star(args, used)
            out.append(problem)
            if width is not None and width < 0:
                flags, width = flags + "-", -width
        precision: int | None = None
        if prec_text is not None:
            precision = int(prec_text) if prec_text and prec_text != "*" else 0
            if prec_text == "*":
                precision, used, problem = _star(args, used)
                out.append(problem)
        if not verb:
            out.append("%!(NOVERB)")
            break
        if verb == "%":
            out.append("%")
            continue
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_format_value(args[used], _Spec(flags, width, precision, verb)))
        used += 1
    if used < len(args):
        extra = ", ".join(
            "<nil>" if a is None else f"{go_type(a)}={value_text(a, False)}" for a in args[used:]
        )
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
