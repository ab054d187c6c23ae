"""Typed fields of a rule unit-test file, read from positioned YAML; problems are collected.

Each reader method returns a usable default after recording a problem, so one pass finds
every problem in the file.
"""

from __future__ import annotations

from collections.abc import Collection

import yaml

from collector.model import Labels
from collector.promql.series_notation import (
    NotationError,
    go_number,
    parse_duration_ms,
    parse_series,
)
from slo.rules.yaml_positions import Entry, YamlTree, describe, position, scalar_text

__all__ = ["FieldReader"]

_BOOL_TAG = "tag:yaml.org,2002:bool"
# YAML's spellings of infinity and NaN, as Go numbers
_YAML_SPECIAL = {".inf": "Inf", "+.inf": "+Inf", "-.inf": "-Inf", ".nan": "NaN"}


class FieldReader:
    """Reads one test file's YAML; ``problems`` holds ``file:line:col: message`` lines."""

    def __init__(self, tree: YamlTree | None, path: str, problems: list[str]) -> None:
        self.tree = tree
        self.path = path
        self.problems = problems

    @classmethod
    def parse(cls, text: str, path: str) -> FieldReader:
        tree, found = YamlTree.parse(text)
        problems = [f"{path}:{p.line}:{p.column}: {p.message}" for p in found]
        return cls(tree, path, problems)

    @property
    def root(self) -> yaml.Node | None:
        return self.tree.root if self.tree is not None else None

    def problem(self, node: yaml.Node, message: str) -> None:
        line, column = position(node)
        self.problems.append(f"{self.path}:{line}:{column}: {message}")

    def mapping_fields(
        self, node: yaml.Node | None, what: str, allowed: Collection[str]
    ) -> dict[str, Entry]:
        if node is None or self.tree is None or scalar_text(node) == "":
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping, got {describe(node)}")
            return {}
        entries, found = self.tree.entries(node)
        for p in found:
            self.problems.append(f"{self.path}:{p.line}:{p.column}: {p.message}")
        known = {}
        for entry in entries:
            if entry.key in allowed:
                known[entry.key] = entry
            else:
                self.problem(entry.key_node, f'unknown field "{entry.key}" in {what}')
        return known

    def items(self, entry: Entry | None, what: str) -> list[yaml.Node]:
        if entry is None or scalar_text(entry.value) == "":
            return []
        if not isinstance(entry.value, yaml.SequenceNode):
            self.problem(entry.value, f"{what} must be a list, got {describe(entry.value)}")
            return []
        return list(entry.value.value)

    def string(self, entry: Entry | None) -> str:
        if entry is None:
            return ""
        text = scalar_text(entry.value)
        if text is None:
            self.problem(entry.value, f"{entry.key} must be a string, got {describe(entry.value)}")
            return ""
        return text

    def strings(self, entry: Entry | None, what: str) -> list[str]:
        out = []
        for node in self.items(entry, what):
            text = scalar_text(node)
            if text is None:
                self.problem(node, f"{what} must be a list of strings")
            else:
                out.append(text)
        return out

    def string_map(self, entry: Entry | None) -> dict[str, str]:
        if entry is None or scalar_text(entry.value) == "" or self.tree is None:
            return {}
        if not isinstance(entry.value, yaml.MappingNode):
            self.problem(entry.value, f"{entry.key} must be a mapping, got {describe(entry.value)}")
            return {}
        pairs, found = self.tree.entries(entry.value)
        for p in found:
            self.problems.append(f"{self.path}:{p.line}:{p.column}: {p.message}")
        return {pair.key: self.string(pair) for pair in pairs}

    def duration(self, entry: Entry | None) -> int | None:
        text = self.string(entry)
        if not text:
            return None
        try:
            return parse_duration_ms(text)
        except NotationError as exc:
            assert entry is not None
            self.problem(entry.value, f"{entry.key}: {exc}")
            return None

    def boolean(self, entry: Entry | None) -> bool:
        if entry is None:
            return False
        if entry.value.tag != _BOOL_TAG:
            self.problem(entry.value, f"{entry.key} must be true or false")
            return False
        return str(entry.value.value).lower() in ("true", "yes", "on", "y")

    def number(self, entry: Entry | None) -> float:
        text = self.string(entry)
        if not text:
            return 0.0
        try:
            return go_number(_YAML_SPECIAL.get(text.lower(), text))
        except NotationError:
            assert entry is not None
            self.problem(entry.value, f'value: "{text}" is not a number')
            return 0.0

    def metric(self, entry: Entry | None) -> Labels:
        """A label set as written in ``exp_samples``: ``name{a="b"}``, ``{a="b"}`` or empty."""
        text = self.string(entry).strip()
        if not text:
            return Labels()
        try:
            labels, values = parse_series(text)
        except NotationError as exc:
            assert entry is not None
            self.problem(entry.value, f'labels "{text}": {exc}')
            return Labels()
        if values:
            assert entry is not None
            self.problem(entry.value, f'labels "{text}": expected only a metric and labels')
        return labels

    def input_series(self, node: yaml.Node) -> tuple[Labels, list[float | None]] | None:
        """``series`` and ``values`` of one input series, read as series notation."""
        f = self.mapping_fields(node, "an input series", ("series", "values"))
        series, values = self.string(f.get("series")), self.string(f.get("values"))
        if not series.strip():
            self.problem(node, "input series: series must be set")
            return None
        try:
            labels, points = parse_series(f"{series} {values}")
        except NotationError as exc:
            where = f.get("values") or f["series"]
            self.problem(where.value, f'input series "{series}": {exc}')
            return None
        return labels, points
