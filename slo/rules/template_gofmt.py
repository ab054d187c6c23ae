"""Go's ``fmt`` and ``strconv`` number and value formatting, as templates print them.

``{{ $value }}`` prints a float64 the way Go's ``%v`` does (``strconv.FormatFloat(f, 'g', -1,
64)``: the shortest digits that read back to the same float, in exponent form from an exponent
of 6 up or below -4: ``0.1``, ``123456``, ``1e+06``, ``+Inf``, ``NaN``); ``humanize`` uses ``%.4g``;
``printf`` takes Go's verbs. Python's ``repr`` gives the same shortest digits as Go; the layout
around them is Go's.
"""

from __future__ import annotations

import math
from typing import Any

from slo.rules.template_values import AlertData, AnyMap, TemplateSample, go_type

__all__ = ["format_float", "go_quote", "sprint", "sprintln", "value_text"]


def _shortest_digits(value: float) -> tuple[str, int]:
    """(digits, dp) with value == 0.digits * 10**dp, digits the shortest round-trip ones."""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    dp = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    return stripped.rstrip("0") or "0", dp


def _exponent_form(digits: str, dp: int, verb: str) -> str:
    exponent = dp - 1
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exponent < 0 else "+"
    return f"{mantissa}{verb}{sign}{abs(exponent):02d}"


def _shortest_g(value: float, upper: bool = False) -> str:
    """``strconv.FormatFloat(value, 'g', -1, 64)`` for a finite value."""
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    digits, dp = _shortest_digits(value)
    exponent = dp - 1
    if exponent < -4 or exponent >= 6:  # Go: shortest %g switches to %e from an exponent of 6
        return sign + _exponent_form(digits, dp, "E" if upper else "e")
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def format_float(value: float, verb: str = "v", precision: int | None = None) -> str:
    """A float64 as Go's fmt prints it with ``verb`` (v, g, G, e, E, f, F) and precision."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if verb in "vgG" and precision is None:
        return _shortest_g(value, upper=verb == "G")
    if verb == "v":
        verb = "g"
    if verb in "fF":
        return f"{value:.{6 if precision is None else precision}f}"
    if verb in "eE":
        return f"{value:.{6 if precision is None else precision}{verb}}"
    return f"{value:.{precision or 1}{verb}}"  # %g with a precision: same rules as Python's


def go_quote(text: str, ascii_only: bool = False) -> str:
    """``strconv.Quote``: a double-quoted Go string literal."""
    named = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t"}
    named |= {"\v": r"\v", "\\": "\\\\", '"': '\\"'}
    out = []
    for char in text:
        code = ord(char)
        if char in named:
            out.append(named[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x80 or (char.isprintable() and not ascii_only):
            out.append(char)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def value_text(value: Any, top: bool = True) -> str:
    """``fmt.Sprint`` of one value (``%v``)."""
    if value is None:
        return "<no value>" if top else "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, dict):
        inner = " ".join(f"{k}:{value_text(value[k], False)}" for k in sorted(value))
        return f"map[{inner}]"
    if isinstance(value, list):
        return "[" + " ".join(value_text(item, False) for item in value) + "]"
    if isinstance(value, (TemplateSample, AlertData)):
        inner = " ".join(value_text(v, False) for v in value.fields().values())
        return ("{" if top else "&{") + inner + "}"
    return str(value)  # GoTime, GoDuration: their String() method


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def sprint(args: list[Any]) -> str:
    """``fmt.Sprint``: a space between operands when neither is a string."""
    out = []
    for i, arg in enumerate(args):
        if i > 0 and not _is_string(arg) and not _is_string(args[i - 1]):
            out.append(" ")
        out.append(_nil_aware(arg))
    return "".join(out)


def sprintln(args: list[Any]) -> str:
    """``fmt.Sprintln``: spaces between all operands and a final newline."""
    return " ".join(_nil_aware(arg) for arg in args) + "\n"


def _nil_aware(arg: Any) -> str:
    return "<nil>" if arg is None else value_text(arg)


def bad_verb(verb: str, arg: Any) -> str:
    """Go's ``%!verb(type=value)`` for an argument the verb cannot print."""
    if arg is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(arg)}={value_text(arg, False)})"


_ = AnyMap  # re-exported type used by callers through template_values
