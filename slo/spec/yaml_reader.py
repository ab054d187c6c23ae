"""YAML documents as position-carrying nodes, and typed reads that collect every problem.

Spec readers never raise on bad input: each read returns the value, or None after recording a
:class:`SpecError` that names the file, line and column of the offending node and the dotted
path of the key (``slos[0].sli.events.error_query``).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection

import yaml
from yaml.constructor import SafeConstructor

from slo.spec.errors import SpecError
from slo.spec.model import SourcePosition

__all__ = ["SpecReader", "child", "compose_documents", "describe", "item"]

_NULL = "tag:yaml.org,2002:null"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_BOOL = "tag:yaml.org,2002:bool"


def child(path: str, key: str) -> str:
    """The dotted path of *key* under *path*."""
    return f"{path}.{key}" if path else key


def item(path: str, index: int) -> str:
    return f"{path}[{index}]"


def describe(node: yaml.Node) -> str:
    """How a node reads in an error message: "a mapping", "a list", or its text."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == _NULL:
        return "nothing"
    return repr(node.value)


def compose_documents(text: str, file: str) -> tuple[list[yaml.Node], list[SpecError]]:
    """The non-empty documents of a (multi-document) YAML stream, or the syntax error."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # control characters, raised before parsing
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        message = f"invalid YAML: unacceptable character #x{exc.character:04x}"
        return [], [SpecError(file, line, column, message)]
    docs: list[yaml.Node] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None and node.tag != _NULL:
                docs.append(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        parts = [part for part in (exc.context, exc.problem) if part]
        message = f"invalid YAML: {', '.join(parts) or 'invalid syntax'}"
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        return docs, [SpecError(file, line, column, message)]
    except yaml.YAMLError as exc:
        return docs, [SpecError(file, 0, 0, f"invalid YAML: {exc}")]
    finally:
        loader.dispose()
    return docs, []


class SpecReader:
    """Typed reads of one file's nodes; problems go to :attr:`errors`."""

    def __init__(self, file: str, errors: list[SpecError] | None = None) -> None:
        self.file = file
        self.errors: list[SpecError] = [] if errors is None else errors

    def position(self, node: yaml.Node) -> SourcePosition:
        mark = node.start_mark
        return SourcePosition(self.file, mark.line + 1, mark.column + 1)

    def error(self, node: yaml.Node, path: str, message: str) -> None:
        """Record *message* about the key at *path*, written at *node*."""
        pos = self.position(node)
        text = f"{path}: {message}" if path else message
        self.errors.append(SpecError(self.file, pos.line, pos.column, text))

    def mapping(
        self,
        node: yaml.Node,
        path: str,
        allowed: Collection[str],
        required: Collection[str] = (),
    ) -> dict[str, yaml.Node] | None:
        """The entries of a mapping node; unknown, duplicate and missing keys are errors."""
        if node.tag == _NULL and not required:
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, f"expected a mapping, got {describe(node)}")
            return None
        entries: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _NULL:
                self.error(key_node, path, f"expected a key name, got {describe(key_node)}")
                continue
            key = key_node.value
            if key in entries:
                first = self.position(entries[key])
                self.error(key_node, child(path, key), f"duplicate key (first at {first})")
            elif key not in allowed:
                self.error(key_node, child(path, key), f"unknown key{_suggest(key, allowed)}")
            else:
                entries[key] = value_node
        for key in required:
            if key not in entries:
                self.error(node, child(path, key), "required key is missing")
        return entries

    def sequence(self, node: yaml.Node, path: str) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, path, f"expected a list, got {describe(node)}")
            return None
        return list(node.value)

    def text(self, node: yaml.Node, path: str, *, allow_empty: bool = False) -> str | None:
        """A scalar as written (``tier: 1`` reads as ``"1"``); null and empty are errors."""
        if not isinstance(node, yaml.ScalarNode) or node.tag == _NULL:
            self.error(node, path, f"expected a string, got {describe(node)}")
            return None
        if not node.value.strip() and not allow_empty:
            self.error(node, path, "must not be empty")
            return None
        return node.value

    def number(self, node: yaml.Node, path: str) -> float | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in _NUMBER_TAGS:
            self.error(node, path, f"expected a number, got {describe(node)}")
            return None
        return float(SafeConstructor().construct_object(node))

    def boolean(self, node: yaml.Node, path: str) -> bool | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _BOOL:
            self.error(node, path, f"expected true or false, got {describe(node)}")
            return None
        return bool(SafeConstructor().construct_object(node))

    def string_map(self, node: yaml.Node, path: str) -> dict[str, str] | None:
        """A mapping of names to scalar values (labels, annotations)."""
        if node.tag == _NULL:
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, f"expected a mapping, got {describe(node)}")
            return None
        out: dict[str, str] = {}
        for key_node, value_node in node.value:
            key = self.text(key_node, path)
            if key is None:
                continue
            if key in out:
                self.error(key_node, child(path, key), "duplicate key")
                continue
            value = self.text(value_node, child(path, key), allow_empty=True)
            if value is not None:
                out[key] = value
        return out


def _suggest(key: str, allowed: Collection[str]) -> str:
    close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (expected one of: {', '.join(sorted(allowed))})"
