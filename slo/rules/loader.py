"""Loading Prometheus-format rule files into :mod:`slo.rules.model` groups.

>>> groups, errors = parse_rule_text('''
... groups:
...   - name: example
...     interval: 30s
...     rules:
...       - record: job:up:sum
...         expr: sum by (job) (up)
...       - alert: Down
...         expr: up == 0
...         for: 5m
... ''', "example.yml")
>>> errors, [r.for_ms if hasattr(r, "for_ms") else r.record for r in groups[0].rules]
([], ['job:up:sum', 300000])

Every problem is reported, not only the first, each as a :class:`RuleFileError` naming the
file, line and column, the group and the rule (see :mod:`slo.rules.validation` for the
checks, which are those of Prometheus' ``rulefmt``). Unlike promtool, which stops at the first
YAML type error, this loader keeps going and also reports repeated keys.
"""

from __future__ import annotations

from collections.abc import Iterable

import yaml

from slo.rules.model import AlertingRule, RecordingRule, Rule, RuleGroup, RulePosition
from slo.rules.rule_file_error import RuleFileError
from slo.rules.rule_yaml import Context, RuleYamlReader
from slo.rules.validation import (
    NameScheme,
    RawRule,
    TemplateCheck,
    check_label_set,
    check_rule,
    default_template_check,
)
from slo.rules.yaml_positions import YamlTree, position

__all__ = ["NameScheme", "RuleFileError", "load_rule_files", "parse_rule_text"]

_ROOT_KEYS = ("groups",)
_GROUP_KEYS = ("name", "interval", "query_offset", "limit", "rules", "labels")
_UNSET = object()


def load_rule_files(
    paths: Iterable[str], names: NameScheme = NameScheme.UTF8
) -> tuple[list[RuleGroup], list[RuleFileError]]:
    """Read and validate rule files; groups come only from files without errors."""
    groups: list[RuleGroup] = []
    errors: list[RuleFileError] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            errors.append(_file_error(path, f"cannot read rule file: {exc.strerror}"))
            continue
        except UnicodeDecodeError as exc:
            message = f"cannot read rule file: not UTF-8 ({exc.reason} at byte {exc.start})"
            errors.append(_file_error(path, message))
            continue
        file_groups, file_errors = parse_rule_text(text, path, names)
        groups += file_groups
        errors += file_errors
    return groups, errors


def parse_rule_text(
    text: str,
    filename: str,
    names: NameScheme = NameScheme.UTF8,
    check_template: TemplateCheck | None | object = _UNSET,
) -> tuple[list[RuleGroup], list[RuleFileError]]:
    """Parse and validate one rule file's text; no groups are returned if it has errors.

    ``check_template`` defaults to :func:`slo.rules.templates.check_template`; pass None to
    skip template syntax checks.
    """
    tree, problems = YamlTree.parse(text)
    if tree is None:
        return [], [RuleFileError(filename, p.line, p.column, None, None, None, p.message)
                    for p in problems]  # fmt: skip
    checker = default_template_check() if check_template is _UNSET else check_template
    reader = _RuleFileReader(RuleYamlReader(tree, filename), names, checker)  # type: ignore[arg-type]
    groups = reader.read()
    errors = reader.yaml.errors
    return ([] if errors else groups), errors


class _RuleFileReader:
    def __init__(
        self, yaml: RuleYamlReader, names: NameScheme, check_template: TemplateCheck | None
    ) -> None:
        self.yaml = yaml
        self.names = names
        self.check_template = check_template

    def read(self) -> list[RuleGroup]:
        root, outside = self.yaml.tree.root, (None, None, None)
        if root is None:
            return []
        fields, problems = self.yaml.fields(root, _ROOT_KEYS, "the rule file", outside)
        self.yaml.report(problems, outside)
        if fields is None or "groups" not in fields:
            return []
        groups: list[RuleGroup] = []
        seen: set[str] = set()
        for node in self.yaml.sequence(fields["groups"].value, outside, "groups"):
            group = self._group(node, seen)
            if group is not None:
                groups.append(group)
        return groups

    def _group(self, node: yaml.Node, seen: set[str]) -> RuleGroup | None:
        y = self.yaml
        fields, problems = y.fields(node, _GROUP_KEYS, "a rule group", (None, None, None))
        if fields is None:
            return None
        name_written = y.string(fields.get("name"), (None, None, None))
        name = name_written.value if name_written else ""
        context: Context = (name, None, None)
        y.report(problems, context)
        line, column = position(node)
        if not name:
            y.error(line, column, context, "Groupname must not be empty")
        elif name in seen:
            y.error(line, column, context, f'groupname: "{name}" is repeated in the same file')
        seen.add(name)
        interval = y.duration(fields.get("interval"), context)
        offset = y.duration(fields.get("query_offset"), context)
        limit = y.integer(fields.get("limit"), context) or 0
        labels = y.string_map(fields.get("labels"), context)
        for p in check_label_set(labels, self.names):
            y.error(p.line, p.column, context, p.message)
        rules: list[Rule] = []
        rule_nodes = (
            y.sequence(fields["rules"].value, context, "rules") if "rules" in fields else []
        )
        for index, rule_node in enumerate(rule_nodes, start=1):
            rule = self._rule(rule_node, name, index)
            if rule is not None:
                rules.append(rule)
        return RuleGroup(
            name=name,
            file=y.filename,
            rules=tuple(rules),
            interval_ms=interval or None,
            limit=limit,
            query_offset_ms=offset,
            labels={k.value: v.value for k, v in labels.values()},
            position=RulePosition(y.filename, line, column),
        )

    def _rule(self, node: yaml.Node, group: str, index: int) -> Rule | None:
        raw = self.yaml.raw_rule(node, group, index)
        if raw is None:
            return None
        problems = check_rule(raw, self.names, self.check_template)
        for p in problems:
            self.yaml.error(p.line, p.column, (group, index, raw.name), p.message)
        if problems or raw.expr is None:
            return None
        return _model_rule(raw, RulePosition(self.yaml.filename, raw.line, raw.column))


def _model_rule(raw: RawRule, position: RulePosition) -> Rule:
    assert raw.expr is not None
    labels = {k.value: v.value for k, v in raw.labels.values()}
    if raw.alert is not None and raw.alert.value:
        return AlertingRule(
            alert=raw.alert.value,
            expr=raw.expr.value,
            for_ms=raw.for_ms,
            keep_firing_for_ms=raw.keep_firing_for_ms,
            labels=labels,
            annotations={k.value: v.value for k, v in raw.annotations.values()},
            position=position,
        )
    assert raw.record is not None
    return RecordingRule(record=raw.record.value, expr=raw.expr.value, labels=labels,
                         position=position)  # fmt: skip


def _file_error(path: str, message: str) -> RuleFileError:
    return RuleFileError(path, 0, 0, None, None, None, message)
