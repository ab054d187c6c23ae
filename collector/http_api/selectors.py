"""``match[]`` series selectors and label names in URLs.

Selectors are parsed with ``promql-parser`` (never by hand) and turned into the store's
:class:`~collector.store.matchers.Matcher` objects. As in Prometheus, only a bare selector
(``up``, ``{job="api"}``, ``http_requests_total{code=~"5.."}``) is allowed: no functions,
ranges, ``offset`` or ``@``, and each selector needs a matcher that rejects the empty string.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import promql_parser

from collector.http_api.params import bad_data
from collector.model import METRIC_NAME
from collector.store.matchers import Matcher, MatcherError, MatchType

__all__ = [
    "EMPTY_SELECTOR",
    "SelectorError",
    "bad_selector",
    "parse_selectors",
    "unescape_label_name",
]

EMPTY_SELECTOR = "match[] must contain at least one non-empty matcher"

# promql_parser.MatchOp is not hashable, so match on its name.
_MATCH_TYPES = {
    "Equal": MatchType.EQUAL,
    "NotEqual": MatchType.NOT_EQUAL,
    "Re": MatchType.REGEX,
    "NotRe": MatchType.NOT_REGEX,
}


class SelectorError(ValueError):
    """A ``match[]`` value is not a usable series selector (the message is Prometheus')."""


def parse_selectors(texts: Sequence[str]) -> list[list[Matcher]]:
    """One matcher list per selector.

    >>> [[str(m) for m in ms] for ms in parse_selectors(['up{job=~"api|web"}'])]
    [['job=~"api|web"', '__name__="up"']]

    :raise SelectorError: for text that does not parse, is not a bare selector, or whose
        matchers all match the empty string.
    """
    return [_parse_selector(text) for text in texts]


def _parse_selector(text: str) -> list[Matcher]:
    try:
        node = promql_parser.parse(text)
    except ValueError as exc:
        if "at least one non-empty matcher" in str(exc):
            raise SelectorError(EMPTY_SELECTOR) from None
        raise SelectorError(f"parse error: {exc}") from None
    if not isinstance(node, promql_parser.VectorSelector):
        raise SelectorError(f"parse error: {text!r} is not a series selector")
    if node.offset is not None or node.at is not None:
        raise SelectorError(f"parse error: offset and @ are not allowed in {text!r}")
    if node.matchers.or_matchers:
        raise SelectorError(f'parse error: unexpected "or" in label matching in {text!r}')
    try:
        matchers = [
            Matcher(_MATCH_TYPES[str(m.op).rsplit(".", 1)[-1]], m.name, m.value)
            for m in node.matchers.matchers
        ]
        if node.name:
            matchers.append(Matcher.equal(METRIC_NAME, node.name))
    except MatcherError as exc:
        raise SelectorError(f"parse error: {exc}") from None
    if all(m.matches_empty for m in matchers):
        raise SelectorError(EMPTY_SELECTOR)
    return matchers


_ESCAPED_PART = re.compile(r"__|_([0-9a-fA-F]{1,6})_|[^_]")


def unescape_label_name(name: str) -> str:
    """Undo Prometheus' ``U__`` value-encoding escape of UTF-8 label names in URLs
    (``U__a_2e_b`` is ``a.b``, ``__`` an underscore); other names are returned unchanged, as
    are invalid escapes.

    >>> unescape_label_name("U__http_2e_route"), unescape_label_name("job")
    ('http.route', 'job')
    """
    escaped = name.removeprefix("U__")
    if escaped == name or not escaped:
        return name
    parts = []
    position = 0
    while position < len(escaped):
        found = _ESCAPED_PART.match(escaped, position)
        if found is None:
            return name
        token, code = found.group(0), found.group(1)
        if code is None:
            parts.append("_" if token == "__" else token)
        else:
            point = int(code, 16)
            if point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
                return name
            parts.append(chr(point))
        position = found.end()
    return "".join(parts)


def bad_selector(exc: SelectorError, as_param: bool) -> Exception:
    """The API error for a bad ``match[]``: /series names the parameter, /labels does not."""
    message = str(exc)
    if as_param:
        return bad_data(f'invalid parameter "match[]": {message}')
    return bad_data(message)
