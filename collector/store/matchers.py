"""Prometheus label matchers: ``=``, ``!=``, ``=~``, ``!~``.

Regexes use RE2 syntax (as Go's regexp, which Prometheus uses) through ``google-re2``, are fully
anchored, and let ``.`` match newlines, as in Prometheus 3.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import re2

__all__ = ["MatchType", "Matcher", "MatcherError"]

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # the error is raised to the caller; no stderr noise


class MatcherError(ValueError):
    """A matcher cannot be built, e.g. its regex does not compile."""


class MatchType(enum.Enum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True)
class Matcher:
    """One label matcher. An absent label matches as the empty string.

    >>> Matcher.regex("job", "api|web").matches("web")
    True
    >>> Matcher.regex("job", "api").matches("api-2")
    False
    """

    type: MatchType
    name: str
    value: str
    _compiled: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.type in (MatchType.REGEX, MatchType.NOT_REGEX):
            try:
                compiled = re2.compile(f"^(?s:{self.value})$", _RE2_OPTIONS)
            except re2.error as exc:
                reason = exc.args[0] if exc.args else exc
                if isinstance(reason, bytes):
                    reason = reason.decode(errors="replace")
                raise MatcherError(
                    f"invalid regex {self.value!r} for label {self.name!r}: {reason}"
                ) from None
            object.__setattr__(self, "_compiled", compiled)

    @classmethod
    def equal(cls, name: str, value: str) -> Matcher:
        return cls(MatchType.EQUAL, name, value)

    @classmethod
    def not_equal(cls, name: str, value: str) -> Matcher:
        return cls(MatchType.NOT_EQUAL, name, value)

    @classmethod
    def regex(cls, name: str, value: str) -> Matcher:
        return cls(MatchType.REGEX, name, value)

    @classmethod
    def not_regex(cls, name: str, value: str) -> Matcher:
        return cls(MatchType.NOT_REGEX, name, value)

    def matches(self, value: str) -> bool:
        if self.type is MatchType.EQUAL:
            return value == self.value
        if self.type is MatchType.NOT_EQUAL:
            return value != self.value
        hit = self._compiled.match(value) is not None
        return hit if self.type is MatchType.REGEX else not hit

    @property
    def matches_empty(self) -> bool:
        """Whether a series *without* this label is selected by the matcher."""
        return self.matches("")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.type.value}"{escaped}"'
