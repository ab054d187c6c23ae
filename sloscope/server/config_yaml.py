"""Reading ``sloscope.yml`` into raw values that remember where they came from.

The loader in :mod:`sloscope.server.config` validates values; this module only walks the YAML
node tree (PyYAML's ``SafeLoader``), so that every value and every problem carries the file,
line and column it was written at. Structural problems (bad YAML, unknown or duplicate keys,
a section that is not a mapping) are all collected rather than raised one at a time.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import yaml

__all__ = [
    "Origin",
    "Problem",
    "RawValues",
    "closest",
    "did_you_mean",
    "read_yaml",
    "read_yaml_file",
]


@dataclass(frozen=True)
class Origin:
    """Where a setting came from: a file position, an environment variable, or a default."""

    source: str
    line: int | None = None
    column: int | None = None

    @classmethod
    def from_mark(cls, filename: str, mark: yaml.Mark | None) -> Origin:
        """Build an origin from a PyYAML mark (0-based) as 1-based line and column."""
        if mark is None:
            return cls(filename)
        return cls(filename, mark.line + 1, mark.column + 1)

    def __str__(self) -> str:
        if self.line is None:
            return self.source
        return f"{self.source}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One configuration problem: where, which dotted key (if any), and what is wrong."""

    origin: Origin
    key: str
    message: str

    def __str__(self) -> str:
        if self.key:
            return f"{self.origin}: {self.key}: {self.message}"
        return f"{self.origin}: {self.message}"


# (section, key) -> (value as YAML typed it, where it was written)
RawValues = dict[tuple[str, str], tuple[object, Origin]]


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The one of *choices* most like *name* (difflib), or None if none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest of *choices*, or ``""``."""
    match = closest(name, choices)
    return f"; did you mean {match!r}?" if match else ""


def read_yaml_file(
    filename: str, schema: Mapping[str, Collection[str]]
) -> tuple[RawValues, list[Problem]]:
    """Read *filename* as UTF-8 and :func:`read_yaml` it; an unreadable file is a problem."""
    try:
        with open(filename, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        return {}, [Problem(Origin(filename), "", f"cannot read config file: {exc.strerror}")]
    except UnicodeDecodeError as exc:
        message = f"cannot read config file: not UTF-8 ({exc.reason} at byte {exc.start})"
        return {}, [Problem(Origin(filename), "", message)]
    return read_yaml(text, filename, schema)


def read_yaml(
    text: str, filename: str, schema: Mapping[str, Collection[str]]
) -> tuple[RawValues, list[Problem]]:
    """Parse *text* and return the values of known keys plus every problem found.

    *schema* maps each section name to its key names. An empty document yields no values.
    """
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # raised for control characters, before parsing
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        message = f"invalid YAML: unacceptable character #x{exc.character:04x}: {exc.reason}"
        return {}, [Problem(Origin(filename, line, column), "", message)]
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            return {}, [_syntax_problem(filename, exc)]
        except yaml.YAMLError as exc:
            return {}, [Problem(Origin(filename), "", f"invalid YAML: {_explain(exc)}")]
        if root is None:
            return {}, []
        return _Walker(loader, filename, schema).walk(root)
    finally:
        loader.dispose()


def _syntax_problem(filename: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    return Problem(Origin.from_mark(filename, mark), "", f"invalid YAML: {_explain(exc)}")


def _explain(exc: yaml.YAMLError) -> str:
    """PyYAML's message without its multi-line excerpt: "while X, found Y"."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return str(exc)
    parts = [part for part in (exc.context, exc.problem) if part]
    return ", ".join(parts) or "invalid syntax"


class _Walker:
    """Walks a composed document; collects values and problems as it goes."""

    def __init__(
        self, loader: yaml.SafeLoader, filename: str, schema: Mapping[str, Collection[str]]
    ) -> None:
        self._loader = loader
        self._filename = filename
        self._schema = schema
        self.values: RawValues = {}
        self.problems: list[Problem] = []

    def walk(self, root: yaml.Node) -> tuple[RawValues, list[Problem]]:
        sections = ", ".join(self._schema)
        for name, key_node, value_node in self._entries(root, "", f"sections ({sections})"):
            if name not in self._schema:
                hint = did_you_mean(name, self._schema)
                self._problem(key_node, name, f"unknown section{hint}")
                continue
            keys = ", ".join(self._schema[name])
            for key, knode, vnode in self._entries(value_node, name, f"keys ({keys})"):
                self._key(name, key, knode, vnode)
        return self.values, self.problems

    def _key(self, section: str, key: str, key_node: yaml.Node, value_node: yaml.Node) -> None:
        dotted = f"{section}.{key}"
        if key not in self._schema[section]:
            self._problem(key_node, dotted, f"unknown key{self._suggest(section, key)}")
            return
        try:
            value = self._loader.construct_object(value_node, deep=True)
        except yaml.YAMLError as exc:
            self._problem(value_node, dotted, f"invalid value: {_explain(exc)}")
            return
        self.values[(section, key)] = (value, self._origin(value_node))

    def _entries(
        self, node: yaml.Node, where: str, expected: str
    ) -> Iterable[tuple[str, yaml.Node, yaml.Node]]:
        """Yield (name, key node, value node) of a mapping node, reporting misfits."""
        if is_null(node):
            return  # "storage:" with everything below commented out
        if not isinstance(node, yaml.MappingNode):
            got = describe_node(node)
            self._problem(node, where, f"expected a mapping of {expected}, got {got}")
            return
        seen: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                got = describe_node(key_node)
                self._problem(key_node, where, f"expected a key name, got {got}")
                continue
            name = key_node.value
            dotted = f"{where}.{name}" if where else name
            if name in seen:
                first = self._origin(seen[name])
                self._problem(key_node, dotted, f"duplicate key (first set at {first})")
                continue
            seen[name] = key_node
            yield name, key_node, value_node

    def _suggest(self, section: str, key: str) -> str:
        hint = did_you_mean(key, self._schema[section])
        if hint:
            return hint
        # The right key in the wrong section, e.g. "server.retention".
        for other, keys in self._schema.items():
            if key in keys:
                return f"; did you mean '{other}.{key}'?"
        return ""

    def _origin(self, node: yaml.Node) -> Origin:
        return Origin.from_mark(self._filename, node.start_mark)

    def _problem(self, node: yaml.Node, key: str, message: str) -> None:
        self.problems.append(Problem(self._origin(node), key, message))


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def describe_node(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return repr(node.value)
