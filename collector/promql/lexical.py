"""Bridges three lexical gaps between ``promql-parser`` and Prometheus 3 before parsing.

The parser package (which we use rather than writing our own) rejects backslashes in raw
`` `strings` `` and underscores in numbers (``1_000``), and accepts numbers beyond float64's
range (``1e400``). This pass rewrites raw strings as the equivalent double-quoted ones, drops
digit-separating underscores, and rejects out-of-range numbers as Prometheus does. It only
looks at tokens: strings, comments and identifiers pass through untouched.
"""

from __future__ import annotations

import math
import re

from collector.promql.errors import PromQLParseError

__all__ = ["normalise"]

_IDENT = re.compile(r"[A-Za-z0-9_:]")
_NUMBER_RUN = re.compile(r"(?:0[xX][0-9a-fA-F_]+|[0-9_]*\.?[0-9_]+(?:[eE][+-]?[0-9_]+)?)")
_DECIMAL = re.compile(r"^[0-9]+(?:_[0-9]+)*(?:\.[0-9]+(?:_[0-9]+)*)?(?:[eE][+-]?[0-9]+)?$")
_HEX = re.compile(r"^0[xX](?:_?[0-9a-fA-F])+$")


def _raw_to_quoted(body: str) -> str:
    escaped = body.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _number(text: str, pos: int) -> tuple[str, int]:
    found = _NUMBER_RUN.match(text, pos)
    if not found or not found.group(0):
        return text[pos], pos + 1
    token = found.group(0)
    end = found.end()
    if end < len(text) and _IDENT.match(text[end]):
        return token, end  # a duration (5m) or something else: the parser decides
    if _HEX.match(token):
        return token.replace("_", ""), end
    if _DECIMAL.match(token):
        plain = token.replace("_", "")
        if math.isinf(float(plain)):
            raise PromQLParseError(
                f"1:{pos + 1}: parse error: error parsing number: strconv.ParseFloat: "
                f'parsing "{token}": value out of range'
            )
        return plain, end
    return token, end


def _string(text: str, pos: int) -> tuple[str, int]:
    quote = text[pos]
    end = pos + 1
    while end < len(text) and text[end] != quote:
        end += 2 if (text[end] == "\\" and quote != "`") else 1
    end = min(end + 1, len(text))
    piece = text[pos:end]
    if quote == "`" and piece.endswith("`") and len(piece) >= 2:
        return _raw_to_quoted(piece[1:-1]), end
    return piece, end


def normalise(expr: str) -> str:
    """``expr`` with raw strings quoted, number underscores removed; may raise on 1e400."""
    out: list[str] = []
    pos, n = 0, len(expr)
    while pos < n:
        ch = expr[pos]
        if ch in "\"'`":
            piece, pos = _string(expr, pos)
        elif ch == "#":
            end = expr.find("\n", pos)
            end = n if end < 0 else end
            piece, pos = expr[pos:end], end
        elif (ch.isdigit() or (ch == "." and expr[pos + 1 : pos + 2].isdigit())) and (
            pos == 0 or not _IDENT.match(expr[pos - 1])
        ):
            piece, pos = _number(expr, pos)
        elif _IDENT.match(ch):
            end = pos
            while end < n and _IDENT.match(expr[end]):
                end += 1
            piece, pos = expr[pos:end], end
        else:
            piece, pos = ch, pos + 1
        out.append(piece)
    return "".join(out)
