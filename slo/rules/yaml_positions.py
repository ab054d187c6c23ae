"""YAML as a tree of nodes that remember their line and column (PyYAML's composer).

Rule files and rule unit-test files are read through this module so that every problem can
name ``file:line:column``. Scalars are read the way Go's yaml decoder fills a ``string``
field: the text as written (``expr: 1`` is ``"1"``) and ``null`` as the empty string.
Aliases resolve to the same node and ``<<`` merge keys are flattened, as Prometheus allows.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

__all__ = [
    "NULL_TAG",
    "Entry",
    "YamlProblem",
    "YamlTree",
    "describe",
    "position",
    "scalar_text",
]

NULL_TAG = "tag:yaml.org,2002:null"
_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class YamlProblem:
    """A problem at a 1-based ``line`` and ``column`` (0, 0 when it has no place)."""

    line: int
    column: int
    message: str


@dataclass(frozen=True)
class Entry:
    """One ``key: value`` pair of a mapping."""

    key: str
    key_node: yaml.Node
    value: yaml.Node


def position(node: yaml.Node) -> tuple[int, int]:
    """The 1-based line and column where ``node`` starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def describe(node: yaml.Node) -> str:
    """What a node is, for messages: "a mapping", "a list", "null" or "a scalar"."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return "null" if node.tag == NULL_TAG else "a scalar"


def scalar_text(node: yaml.Node) -> str | None:
    """A scalar's text as written ("" for null); None for a mapping or a list."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    return "" if node.tag == NULL_TAG else str(node.value)


class YamlTree:
    """One parsed YAML document; build it with :meth:`parse`."""

    def __init__(self, loader: yaml.SafeLoader, root: yaml.Node | None) -> None:
        self._loader = loader
        self.root = root

    @classmethod
    def parse(cls, text: str) -> tuple[YamlTree | None, list[YamlProblem]]:
        """Compose the single document in ``text``; syntax errors come back as problems."""
        try:
            loader = yaml.SafeLoader(text)
        except yaml.reader.ReaderError as exc:  # control characters, raised before parsing
            line = text.count("\n", 0, exc.position) + 1
            column = exc.position - text.rfind("\n", 0, exc.position)
            message = f"invalid YAML: unacceptable character #x{exc.character:04x}"
            return None, [YamlProblem(line, column, message)]
        try:
            root = loader.get_single_node()
        except yaml.composer.ComposerError as exc:
            if exc.context and "single document" in exc.context and exc.problem_mark:
                mark = exc.problem_mark
                message = "only one YAML document is allowed in a file (found a second one)"
                return None, [YamlProblem(mark.line + 1, mark.column + 1, message)]
            return None, [_syntax_problem(exc)]
        except yaml.MarkedYAMLError as exc:
            return None, [_syntax_problem(exc)]
        except yaml.YAMLError as exc:
            return None, [YamlProblem(0, 0, f"invalid YAML: {exc}")]
        finally:
            loader.dispose()
        return cls(loader, root), []

    def entries(self, node: yaml.MappingNode) -> tuple[list[Entry], list[YamlProblem]]:
        """The pairs of a mapping, merge keys flattened; repeated and non-scalar keys are
        problems (the last of repeated keys wins, as in PyYAML)."""
        problems: list[YamlProblem] = []
        seen: dict[str, yaml.Node] = {}
        for key_node, _ in node.value:
            key = scalar_text(key_node)
            if key_node.tag == _MERGE_TAG:
                continue
            if key is None:
                line, column = position(key_node)
                problems.append(YamlProblem(line, column, "mapping keys must be scalars"))
            elif key in seen:
                line, column = position(key_node)
                first = seen[key].start_mark.line + 1
                message = f'key "{key}" is repeated (first written at line {first})'
                problems.append(YamlProblem(line, column, message))
            else:
                seen[key] = key_node
        try:
            self._loader.flatten_mapping(node)
        except yaml.constructor.ConstructorError as exc:
            problems.append(_syntax_problem(exc))
        out: dict[str, Entry] = {}
        for key_node, value in node.value:
            key = scalar_text(key_node)
            if key is not None:
                out.pop(key, None)  # a later (explicit) key overrides a merged one
                out[key] = Entry(key, key_node, value)
        return list(out.values()), problems

    def integer(self, node: yaml.Node) -> int | None:
        """The value of an integer scalar (YAML 1.1 forms: 0x1f, 1_000, ...); else None."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != _INT_TAG:
            return None
        return int(self._loader.construct_yaml_int(node))


def _syntax_problem(exc: yaml.MarkedYAMLError) -> YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    parts = [p for p in (exc.context, exc.problem) if p]
    message = "invalid YAML: " + (", ".join(parts) if parts else str(exc))
    if mark is None:
        return YamlProblem(0, 0, message)
    return YamlProblem(mark.line + 1, mark.column + 1, message)
