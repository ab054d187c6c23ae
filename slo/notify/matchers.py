"""Alertmanager's label matchers and its classic matcher syntax.

``matchers: ['severity="page"', 'team=~"db|web"']`` in routes, inhibition rules and silences
use the rules of Alertmanager's ``pkg/labels`` parser:

- a line may hold several matchers, comma separated, optionally in braces:
  ``{alertname="Down", job!~"test.*"}``;
- the value may be quoted (``"..."`` with ``\\"``, ``\\\\`` and ``\\n`` escapes) or bare
  (``severity=page``); spaces around name, operator and value are ignored;
- regexes are RE2 (Go's syntax) and anchored at both ends; ``.`` does not match a newline;
- an absent label matches as the empty string, so ``team!="db"`` matches alerts without team.

>>> m = parse_matcher('team=~"db|web"')
>>> m.matches({"team": "db"}), m.matches({"team": "dba"})
(True, False)
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import re2

__all__ = [
    "MatchType",
    "Matcher",
    "MatcherError",
    "go_quote",
    "is_label_name",
    "matchers_match",
    "matchers_string",
    "parse_matcher",
    "parse_matchers",
]

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False

# Alertmanager's pattern: name, operator, then the rest of the line as the raw value.
_MATCHER = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.DOTALL)
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class MatcherError(ValueError):
    """A matcher string cannot be parsed, or its regex does not compile."""


class MatchType(enum.Enum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


# Alertmanager orders matchers by name, value, then operator (its MatchType enum order).
_TYPE_ORDER = {
    MatchType.EQUAL: 0,
    MatchType.NOT_EQUAL: 1,
    MatchType.REGEX: 2,
    MatchType.NOT_REGEX: 3,
}


@dataclass(frozen=True)
class Matcher:
    """One label matcher: ``name``, operator ``type`` and ``value`` (a regex for =~ and !~)."""

    type: MatchType
    name: str
    value: str
    _regex: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.type in (MatchType.REGEX, MatchType.NOT_REGEX):
            try:
                compiled = re2.compile(f"^(?:{self.value})$", _RE2_OPTIONS)
            except re2.error as exc:
                reason = exc.args[0] if exc.args else exc
                if isinstance(reason, bytes):
                    reason = reason.decode(errors="replace")
                raise MatcherError(f"invalid regular expression {self.value!r}: {reason}") from None
            object.__setattr__(self, "_regex", compiled)

    def matches_value(self, value: str) -> bool:
        if self.type is MatchType.EQUAL:
            return value == self.value
        if self.type is MatchType.NOT_EQUAL:
            return value != self.value
        found = self._regex.search(value) is not None
        return found if self.type is MatchType.REGEX else not found

    def matches(self, labels: Mapping[str, str] | Iterable[tuple[str, str]]) -> bool:
        """Whether the label set satisfies this matcher (absent label = empty value)."""
        mapping = labels if isinstance(labels, Mapping) else dict(labels)
        return self.matches_value(mapping.get(self.name, ""))

    @property
    def sort_key(self) -> tuple[str, str, int]:
        return (self.name, self.value, _TYPE_ORDER[self.type])

    def __str__(self) -> str:
        return f"{self.name}{self.type.value}{go_quote(self.value)}"


def matchers_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """All matchers match (an empty list matches everything)."""
    return all(m.matches_value(labels.get(m.name, "")) for m in matchers)


def matchers_string(matchers: Iterable[Matcher]) -> str:
    """``{a="b",c=~"d"}``: Alertmanager's text for a matcher list (used in group keys)."""
    return "{" + ",".join(str(m) for m in matchers) + "}"


def is_label_name(name: str) -> bool:
    """Prometheus' classic label name rule."""
    return _LABEL_NAME.fullmatch(name) is not None


def parse_matchers(text: str) -> list[Matcher]:
    """Parse one line of comma-separated matchers, optionally wrapped in ``{...}``."""
    body = text.strip()
    body = body.removeprefix("{").removesuffix("}")
    tokens: list[str] = []
    token: list[str] = []
    inside_quotes = escaped = False
    for char in body:
        if char == "," and not inside_quotes:
            tokens.append("".join(token))
            token = []
            continue
        if char == '"':
            if escaped:
                escaped = False
            else:
                inside_quotes = not inside_quotes
        elif char == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(char)
    last = "".join(token).strip()
    if last:
        tokens.append(last)
    return [parse_matcher(t) for t in tokens]


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher, ``name op value`` with the value quoted or bare."""
    found = _MATCHER.match(text)
    if found is None:
        raise MatcherError(f"bad matcher format: {text}")
    name, operator, raw = found.groups()
    value = _unescape(raw)
    return Matcher(MatchType(operator), name, value)


def _unescape(raw: str) -> str:
    quoted = raw.startswith('"')
    body = raw[1:] if quoted else raw
    expect_closing = quoted
    out: list[str] = []
    escaped = False
    for index, char in enumerate(body):
        if escaped:
            escaped = False
            # Only \n, \" and \\ are escapes; a stray backslash stays literal.
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(char, "\\" + char))
            continue
        if char == "\\":
            if index < len(body) - 1:
                escaped = True
            else:
                out.append("\\")
        elif char == '"':
            if not expect_closing or index < len(body) - 1:
                raise MatcherError(f"matcher value contains unescaped double quote: {raw}")
            expect_closing = False
        else:
            out.append(char)
    if expect_closing:
        raise MatcherError(f"matcher value contains unescaped double quote: {raw}")
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote``: how Alertmanager writes label values in group keys."""
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable() or char == " ":
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)
