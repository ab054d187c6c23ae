"""Typed reads from a composed YAML node tree, each problem remembering file:line:column.

The notifier's configuration is Alertmanager's YAML. Reading it node by node (instead of
``yaml.safe_load``) keeps the position of every value, so a bad matcher or an unknown key is
reported where it was written. Problems are collected, not raised one at a time; the caller
raises :class:`ConfigError` with all of them at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import yaml

from collector.promql.series_notation import NotationError, parse_duration_ms

__all__ = ["ConfigError", "Node", "Position", "Problems", "compose", "optional"]

T = TypeVar("T")

_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"


@dataclass(frozen=True)
class Position:
    """Where a value was written: file, 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` lists every "file:line:col: message"."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass
class Problems:
    """Collects problems while a document is read."""

    filename: str
    found: list[tuple[Position, str]] = field(default_factory=list)

    def add(self, where: Position | Node, message: str) -> None:
        position = where.position if isinstance(where, Node) else where
        self.found.append((position, message))

    @property
    def messages(self) -> list[str]:
        """Every problem as "file:line:col: message", in the order of the file."""
        ordered = sorted(self.found, key=lambda item: (item[0].line, item[0].column))
        return [f"{position}: {message}" for position, message in ordered]

    def raise_if_any(self) -> None:
        if self.found:
            raise ConfigError(self.messages)


@dataclass(frozen=True)
class Node:
    """One YAML node plus the problem collector of its document."""

    raw: yaml.Node
    problems: Problems

    @property
    def position(self) -> Position:
        mark = self.raw.start_mark
        return Position(self.problems.filename, mark.line + 1, mark.column + 1)

    def fail(self, message: str) -> None:
        self.problems.add(self, message)

    @property
    def is_null(self) -> bool:
        return isinstance(self.raw, yaml.ScalarNode) and self.raw.tag == _NULL_TAG

    def mapping(self, what: str, known: tuple[str, ...]) -> dict[str, Node]:
        """The entries of a mapping node; unknown and duplicate keys are problems."""
        if self.is_null:
            return {}
        if not isinstance(self.raw, yaml.MappingNode):
            self.fail(f"{what}: expected a mapping, got {describe(self.raw)}")
            return {}
        entries: dict[str, Node] = {}
        for key_node, value_node in self.raw.value:
            key = Node(key_node, self.problems)
            if not isinstance(key_node, yaml.ScalarNode):
                key.fail(f"{what}: expected a key name, got {describe(key_node)}")
                continue
            name = key_node.value
            if name in entries:
                key.fail(f"{what}: duplicate key {name!r}")
            elif name not in known:
                key.fail(f"{what}: unknown field {name!r}")
            else:
                entries[name] = Node(value_node, self.problems)
        return entries

    def items(self, what: str) -> Iterator[tuple[str, Node]]:
        """(key, value) pairs of a free-form string mapping (labels, headers)."""
        if self.is_null:
            return
        if not isinstance(self.raw, yaml.MappingNode):
            self.fail(f"{what}: expected a mapping, got {describe(self.raw)}")
            return
        for key_node, value_node in self.raw.value:
            key = Node(key_node, self.problems)
            name = key.string(what)
            if name is not None:
                yield name, Node(value_node, self.problems)

    def sequence(self, what: str) -> list[Node]:
        if self.is_null:
            return []
        if not isinstance(self.raw, yaml.SequenceNode):
            self.fail(f"{what}: expected a list, got {describe(self.raw)}")
            return []
        return [Node(item, self.problems) for item in self.raw.value]

    def string(self, what: str) -> str | None:
        """A scalar as text (YAML numbers and booleans are written as text too)."""
        if self.is_null:
            return ""
        if not isinstance(self.raw, yaml.ScalarNode):
            self.fail(f"{what}: expected a string, got {describe(self.raw)}")
            return None
        return str(self.raw.value)

    def boolean(self, what: str) -> bool | None:
        if isinstance(self.raw, yaml.ScalarNode) and self.raw.tag == _BOOL_TAG:
            return self.raw.value.lower() in ("true", "yes", "on", "y")
        self.fail(f"{what}: expected true or false, got {describe(self.raw)}")
        return None

    def integer(self, what: str) -> int | None:
        if isinstance(self.raw, yaml.ScalarNode) and self.raw.tag == _INT_TAG:
            try:
                return int(self.raw.value, 0)
            except ValueError:
                pass
        self.fail(f"{what}: expected an integer, got {describe(self.raw)}")
        return None

    def duration_ms(self, what: str) -> int | None:
        """A Prometheus duration (``30s``, ``1h30m``, ``0``) in milliseconds."""
        text = self.string(what)
        if text is None:
            return None
        try:
            return parse_duration_ms(text)
        except NotationError as exc:
            self.fail(f"{what}: {exc}")
            return None

    def strings(self, what: str) -> list[tuple[str, Node]]:
        """A list of strings, each with its node (for positions of later problems)."""
        out = []
        for item in self.sequence(what):
            text = item.string(what)
            if text is not None:
                out.append((text, item))
        return out


def compose(text: str, filename: str) -> tuple[Node | None, Problems]:
    """Parse *text* into a node tree; a syntax error becomes a positioned problem."""
    problems = Problems(filename)
    try:
        raw = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Position(filename, mark.line + 1, mark.column + 1) if mark else Position(filename)
        reason = ", ".join(p for p in (exc.context, exc.problem) if p) or "invalid syntax"
        problems.add(where, f"invalid YAML: {reason}")
        return None, problems
    except yaml.YAMLError as exc:
        problems.add(Position(filename), f"invalid YAML: {exc}")
        return None, problems
    return (Node(raw, problems) if raw is not None else None), problems


def optional(entries: dict[str, Node], key: str, read: Callable[[Node], T | None]) -> T | None:
    """``read(entries[key])`` when the key is present and not null, else None."""
    node = entries.get(key)
    if node is None or node.is_null:
        return None
    return read(node)


def describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return repr(node.value)
