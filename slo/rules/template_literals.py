"""Literals in Go templates: string, raw string and character literals (``strconv.Unquote``)
and numbers, typed as Go's parser types them (int, float, both).
"""

from __future__ import annotations

import re

from slo.rules import template_nodes as n
from slo.rules.template_lex import Item, ItemType

__all__ = ["number_node", "unquote"]

_T = ItemType
_ESCAPE = re.compile(r"\\(?:[0-7]{3}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.S)
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_SIMPLE_ESCAPES |= {"\\": "\\"}


def unquote(token: Item) -> str:
    """``strconv.Unquote`` of a string or character literal."""
    body = token.val[1:-1]
    if token.type is _T.RAW_STRING:
        return body.replace("\r", "")
    quote = token.val[0]

    def decode(match: re.Match[str]) -> str:
        esc = match.group(0)[1:]
        if esc in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[esc]
        if esc == quote:
            return quote
        if esc[0] in "xuU":
            return chr(int(esc[1:], 16))
        if esc[0] in "01234567" and len(esc) == 3:
            return chr(int(esc, 8))
        raise ValueError("invalid syntax")

    if ("\n" in body) or (quote in _ESCAPE.sub("", body)):
        raise ValueError("invalid syntax")
    text = _ESCAPE.sub(decode, body)
    if quote == "'" and len(text) != 1:
        raise ValueError("invalid syntax")
    return text


def _parse_int(text: str) -> int | None:
    body = text.lstrip("+-")
    try:
        if re.fullmatch(r"0[0-7_]+", body):
            value = int(body.replace("_", ""), 8)
        else:
            value = int(body, 0)
    except ValueError:
        return None
    return -value if text.startswith("-") else value


def number_node(token: Item) -> n.NumberNode:
    """A number or character constant, typed the way Go's parser types it."""
    node = n.NumberNode(token.pos, token.val)
    if token.type is _T.CHAR_CONSTANT:
        try:
            value = ord(unquote(token))
        except ValueError:
            raise ValueError(f"malformed character constant: {token.val}") from None
        node.is_int = node.is_float = True
        node.int_value, node.float_value = value, float(value)
        return node
    text = token.val
    value_int = _parse_int(text)
    if value_int is not None and -(2**63) <= value_int < 2**63:
        node.is_int = node.is_float = True
        node.int_value, node.float_value = value_int, float(value_int)
        return node
    if value_int is not None:
        raise ValueError(f'integer overflow: "{text}"')
    from slo.rules.template_builtins import FuncError
    from slo.rules.template_humanize import parse_float

    try:
        value = parse_float(text)
    except FuncError:
        raise ValueError(f'illegal number syntax: "{text}"') from None
    node.is_float, node.float_value = True, value
    if value == int(value) and abs(value) < 2**63:
        node.is_int, node.int_value = True, int(value)
    return node
