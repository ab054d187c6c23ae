"""What Prometheus' ``rulefmt`` checks in a rule once its YAML has been read.

The loader (:mod:`slo.rules.loader`) turns YAML into :class:`RawRule` values that remember
where each part was written; the checks here are pure and return every problem found, each at
the place a reader would look to fix it.

Names follow Prometheus 3, which accepts any UTF-8 metric and label name
(:attr:`NameScheme.UTF8`); :attr:`NameScheme.LEGACY` applies the ``[a-zA-Z_:][a-zA-Z0-9_:]*``
rules of Prometheus 2 (and of Debian's promtool 2.42).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from collector.model import METRIC_NAME
from collector.promql.errors import PromQLError
from collector.promql.parser import parse
from slo.rules.templates import check_template

__all__ = [
    "NameScheme",
    "Problem",
    "RawRule",
    "TemplateCheck",
    "Written",
    "check_label_set",
    "check_rule",
    "default_template_check",
]

_LEGACY_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LEGACY_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

#: A template syntax check ``(text, template name)``: None when ``text`` parses, else Go's
#: error (``template: __alert_X:1: unclosed action``).
TemplateCheck = Callable[[str, str], "str | None"]


class NameScheme(enum.Enum):
    """Which metric and label names are valid."""

    UTF8 = "utf8"
    LEGACY = "legacy"

    def metric_name_ok(self, name: str) -> bool:
        if self is NameScheme.LEGACY:
            return bool(_LEGACY_METRIC.fullmatch(name))
        return bool(name) and _is_utf8(name)

    def label_name_ok(self, name: str) -> bool:
        if self is NameScheme.LEGACY:
            return bool(_LEGACY_LABEL.fullmatch(name))
        return bool(name) and _is_utf8(name)


@dataclass(frozen=True)
class Written:
    """A string value and the 1-based line and column it was written at."""

    value: str
    line: int
    column: int


@dataclass(frozen=True)
class Problem:
    line: int
    column: int
    message: str


@dataclass
class RawRule:
    """One rule as written; absent fields are None (maps are empty)."""

    line: int
    column: int
    record: Written | None = None
    alert: Written | None = None
    expr: Written | None = None
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    # key (with the key's position) -> value (with the value's position)
    labels: dict[str, tuple[Written, Written]] = field(default_factory=dict)
    annotations: dict[str, tuple[Written, Written]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The alert name if set, else the record name (as promtool names rules)."""
        if self.alert is not None and self.alert.value:
            return self.alert.value
        return self.record.value if self.record is not None else ""


def default_template_check() -> TemplateCheck:
    """Go template syntax, as Prometheus parses alert templates (:mod:`slo.rules.templates`)."""
    return check_template


def check_rule(
    rule: RawRule, names: NameScheme, check_template: TemplateCheck | None
) -> list[Problem]:
    """Every problem of one rule, in the order promtool reports them."""
    problems = _check_kind(rule)
    problems += _check_expr(rule)
    if rule.record is not None and rule.record.value:
        problems += _check_recording(rule, names)
    problems += check_label_set(rule.labels, names, "label")
    for key, _value in rule.annotations.values():
        if not names.label_name_ok(key.value):
            problems.append(Problem(key.line, key.column, f"invalid annotation name: {key.value}"))
    if rule.alert is not None and rule.alert.value and check_template is not None:
        problems += _check_templates(rule, check_template)
    return problems


def check_label_set(
    labels: Mapping[str, tuple[Written, Written]], names: NameScheme, what: str = "label"
) -> list[Problem]:
    """Label names must be valid and not ``__name__``; values must be valid UTF-8."""
    problems = []
    for key, value in labels.values():
        if not names.label_name_ok(key.value) or key.value == METRIC_NAME:
            problems.append(Problem(key.line, key.column, f"invalid {what} name: {key.value}"))
        if not _is_utf8(value.value):
            problems.append(Problem(value.line, value.column, f"invalid {what} value"))
    return problems


def _check_kind(rule: RawRule) -> list[Problem]:
    record = rule.record.value if rule.record else ""
    alert = rule.alert.value if rule.alert else ""
    if record and alert:
        assert rule.record is not None
        where = rule.record
        return [Problem(where.line, where.column, "only one of 'record' and 'alert' must be set")]
    if not record and not alert:
        return [Problem(rule.line, rule.column, "one of 'record' or 'alert' must be set")]
    return []


def _check_expr(rule: RawRule) -> list[Problem]:
    if rule.expr is None or not rule.expr.value.strip():
        where = rule.expr or Written("", rule.line, rule.column)
        return [Problem(where.line, where.column, "field 'expr' must be set in rule")]
    try:
        parse(rule.expr.value)
    except PromQLError as exc:
        message = f"could not parse expression: {exc}"
        return [Problem(rule.expr.line, rule.expr.column, message)]
    return []


def _check_recording(rule: RawRule, names: NameScheme) -> list[Problem]:
    assert rule.record is not None
    record, line, column = rule.record.value, rule.record.line, rule.record.column
    problems = []
    if rule.annotations:
        problems.append(Problem(line, column, "invalid field 'annotations' in recording rule"))
    if rule.for_ms:
        problems.append(Problem(line, column, "invalid field 'for' in recording rule"))
    if rule.keep_firing_for_ms:
        message = "invalid field 'keep_firing_for' in recording rule"
        problems.append(Problem(line, column, message))
    if not names.metric_name_ok(record):
        problems.append(Problem(line, column, f"invalid recording rule name: {record}"))
    # A valid UTF-8 name, but almost always a selector pasted into `record` by mistake.
    if "{" in record or "}" in record:
        message = f"braces present in the recording rule name; should it be in expr?: {record}"
        problems.append(Problem(line, column, message))
    return problems


def _check_templates(rule: RawRule, check_template: TemplateCheck) -> list[Problem]:
    problems, name = [], rule.name
    for what, mapping in (("label", rule.labels), ("annotation", rule.annotations)):
        for key, value in mapping.values():
            reason = check_template(value.value, f"__alert_{name}")
            if reason is not None:
                message = f'{what} "{key.value}": {reason}'
                problems.append(Problem(value.line, value.column, message))
    return problems


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from a "\udc80" escape
        return False
    return True
