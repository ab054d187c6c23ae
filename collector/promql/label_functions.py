"""Functions that rewrite or read labels: label_replace, label_join, sort_by_label, absent."""

from __future__ import annotations

import re

import numpy as np
import re2

from collector.model import METRIC_NAME, Labels
from collector.promql.errors import ExecutionError
from collector.promql.values import StepVector
from collector.store.matchers import Matcher, MatchType

__all__ = ["absent_labels", "label_join", "label_replace", "sort_by_label"]

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
# Go's regexp.Expand: $name or ${name}, where a bare name is the longest run of word chars.
_TEMPLATE = re.compile(r"\$(?:\$|\{(\w+)\}|(\w+))")


def _expand(template: str, match, group_index: dict[str, int]) -> str:
    def one(found: re.Match) -> str:
        if found.group(0) == "$$":
            return "$"
        name = found.group(1) or found.group(2)
        if name.isdigit():
            number = int(name)
            return (match.group(number) or "") if number <= len(match.groups()) else ""
        return (match.group(group_index[name]) or "") if name in group_index else ""

    return _TEMPLATE.sub(one, template)


def _with_label(labels: Labels, name: str, value: str) -> Labels:
    pairs = dict(labels)
    if value:
        pairs[name] = value
    else:
        pairs.pop(name, None)
    return Labels.of(pairs)


def label_replace(vec: StepVector, dst: str, replacement: str, src: str, regex: str) -> StepVector:
    try:
        pattern = re2.compile(f"^(?s:{regex})$", _RE2_OPTIONS)
    except re2.error:
        raise ExecutionError(f'invalid regular expression in label_replace(): "{regex}"') from None
    if not dst:
        raise ExecutionError(f'invalid destination label name in label_replace(): "{dst}"')
    labels = []
    for series in vec.labels:
        match = pattern.match(series.get(src))
        if match is None:
            labels.append(series)
        else:
            labels.append(_with_label(series, dst, _expand(replacement, match, pattern.groupindex)))
    return vec.relabel(labels)


def label_join(vec: StepVector, dst: str, separator: str, sources: list[str]) -> StepVector:
    if not dst:
        raise ExecutionError(f'invalid destination label name in label_join(): "{dst}"')
    labels = [
        _with_label(series, dst, separator.join(series.get(src) for src in sources))
        for series in vec.labels
    ]
    return vec.relabel(labels)


_DIGITS = re.compile(r"(\d+)")


def _natural_key(text: str) -> tuple:
    return tuple(
        (0, int(part), part) if part.isdigit() else (1, 0, part)
        for part in _DIGITS.split(text)
        if part
    )


def sort_by_label(vec: StepVector, names: list[str], descending: bool) -> StepVector:
    """Order by the given labels' values in natural order, then by the whole label set."""
    order = sorted(
        range(len(vec)),
        key=lambda i: (
            [_natural_key(vec.labels[i].get(n)) for n in names],
            [(_natural_key(k), _natural_key(v)) for k, v in vec.labels[i]],
        ),
        reverse=descending,
    )
    return vec.select(np.array(order, dtype=np.int64))


def absent_labels(matcher_groups: list[list[Matcher]] | None) -> Labels:
    """absent()'s labels: those of the selector's equality matchers, each name once."""
    if not matcher_groups or len(matcher_groups) != 1:
        return Labels(())
    seen: dict[str, int] = {}
    for m in matcher_groups[0]:
        seen[m.name] = seen.get(m.name, 0) + 1
    return Labels.of(
        (m.name, m.value)
        for m in matcher_groups[0]
        if m.type is MatchType.EQUAL and m.name != METRIC_NAME and seen[m.name] == 1
    )
