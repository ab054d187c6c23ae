"""Reading the YAML of a rule file into typed values, collecting every problem with its place.

Types follow Go's yaml decoder as Prometheus uses it: strings take any scalar as written,
durations are Prometheus durations (``5m``, ``1h30m``), ``limit`` is an integer, labels and
annotations are string-to-string mappings; unknown keys are errors.
"""

from __future__ import annotations

from collections.abc import Collection

import yaml

from collector.promql.series_notation import NotationError, parse_duration_ms
from slo.rules.rule_file_error import RuleFileError
from slo.rules.validation import RawRule, Written
from slo.rules.yaml_positions import Entry, YamlProblem, YamlTree, describe, position, scalar_text

__all__ = ["Context", "RuleYamlReader"]

#: (group name, 1-based rule index, rule name) of the place being read; None when outside.
Context = tuple[str | None, int | None, str | None]

_RULE_KEYS = ("record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations")


class RuleYamlReader:
    """Typed access to a :class:`YamlTree`; problems accumulate in :attr:`errors`."""

    def __init__(self, tree: YamlTree, filename: str) -> None:
        self.tree = tree
        self.filename = filename
        self.errors: list[RuleFileError] = []

    def error(self, line: int, column: int, context: Context, message: str) -> None:
        group, rule_index, rule_name = context
        self.errors.append(
            RuleFileError(self.filename, line, column, group, rule_index, rule_name, message)
        )

    def report(self, problems: list[YamlProblem], context: Context) -> None:
        for p in problems:
            self.error(p.line, p.column, context, p.message)

    def at(self, node: yaml.Node, context: Context, message: str) -> None:
        line, column = position(node)
        self.error(line, column, context, message)

    def fields(
        self, node: yaml.Node, allowed: Collection[str], what: str, context: Context
    ) -> tuple[dict[str, Entry] | None, list[YamlProblem]]:
        """The known entries of a mapping plus its problems (unknown or repeated keys),
        which the caller reports once it knows the context; None if it is not a mapping."""
        if not isinstance(node, yaml.MappingNode):
            self.at(node, context, f"{what} must be a mapping, got {describe(node)}")
            return None, []
        entries, problems = self.tree.entries(node)
        known = {}
        for entry in entries:
            if entry.key in allowed:
                known[entry.key] = entry
                continue
            line, column = position(entry.key_node)
            message = f'unknown field "{entry.key}" in {what}{_did_you_mean(entry.key, allowed)}'
            problems.append(YamlProblem(line, column, message))
        return known, problems

    def sequence(self, node: yaml.Node, context: Context, what: str) -> list[yaml.Node]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if scalar_text(node) == "":  # `rules:` with nothing after it
            return []
        self.at(node, context, f"{what} must be a list, got {describe(node)}")
        return []

    def string(self, entry: Entry | None, context: Context) -> Written | None:
        if entry is None:
            return None
        text = scalar_text(entry.value)
        if text is None:
            self.at(
                entry.value, context, f"{entry.key} must be a string, got {describe(entry.value)}"
            )
            return None
        line, column = position(entry.value)
        return Written(text, line, column)

    def duration(self, entry: Entry | None, context: Context) -> int | None:
        written = self.string(entry, context)
        if written is None or written.value == "":
            return None
        try:
            return parse_duration_ms(written.value)
        except NotationError as exc:
            assert entry is not None
            self.error(written.line, written.column, context, f"{entry.key}: {exc}")
            return None

    def integer(self, entry: Entry | None, context: Context) -> int | None:
        if entry is None or scalar_text(entry.value) == "":
            return None
        value = self.tree.integer(entry.value)
        if value is None:
            self.at(entry.value, context, f"{entry.key} must be an integer, got {_shown(entry)}")
        return value

    def string_map(
        self, entry: Entry | None, context: Context
    ) -> dict[str, tuple[Written, Written]]:
        """``key -> (key as written, value as written)``; empty when absent or invalid."""
        if entry is None or scalar_text(entry.value) == "":
            return {}
        if not isinstance(entry.value, yaml.MappingNode):
            self.at(
                entry.value, context, f"{entry.key} must be a mapping, got {describe(entry.value)}"
            )
            return {}
        pairs, problems = self.tree.entries(entry.value)
        self.report(problems, context)
        out = {}
        for pair in pairs:
            value = self.string(pair, context)
            if value is not None:
                key_line, key_column = position(pair.key_node)
                out[pair.key] = (Written(pair.key, key_line, key_column), value)
        return out

    def raw_rule(self, node: yaml.Node, group: str, index: int) -> RawRule | None:
        """One entry of a group's ``rules``, read but not yet validated."""
        entries, problems = self.fields(node, _RULE_KEYS, "a rule", (group, index, None))
        if entries is None:
            return None
        name = ""
        for key in ("alert", "record"):
            if key in entries and (text := scalar_text(entries[key].value)):
                name = text
                break
        context: Context = (group, index, name)
        self.report(problems, context)
        line, column = position(node)
        return RawRule(
            line=line,
            column=column,
            record=self.string(entries.get("record"), context),
            alert=self.string(entries.get("alert"), context),
            expr=self.string(entries.get("expr"), context),
            for_ms=self.duration(entries.get("for"), context) or 0,
            keep_firing_for_ms=self.duration(entries.get("keep_firing_for"), context) or 0,
            labels=self.string_map(entries.get("labels"), context),
            annotations=self.string_map(entries.get("annotations"), context),
        )


def _shown(entry: Entry) -> str:
    text = scalar_text(entry.value)
    return f'"{text}"' if text is not None else describe(entry.value)


def _did_you_mean(key: str, allowed: Collection[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
