"""Recording rules at run time: the query result renamed and relabelled, ready to store."""

from __future__ import annotations

from collections.abc import Mapping

from collector.model import METRIC_NAME, Labels
from slo.rules.model import QueryFunc, RecordingRule
from slo.rules.rule_health import RuleEvalError

__all__ = ["DUPLICATE_RECORDING_LABELSET", "RecordingEvaluator"]

DUPLICATE_RECORDING_LABELSET = (
    "vector contains metrics with the same labelset after applying rule labels"
)


class RecordingEvaluator:
    """Evaluates one :class:`RecordingRule`; ``labels`` are its labels merged over the group's.

    A label set to the empty string removes that label from the result, as in Prometheus.
    """

    def __init__(self, rule: RecordingRule, *, labels: Mapping[str, str]) -> None:
        self.rule = rule
        self.name = rule.record
        self.labels = dict(labels)

    def eval(
        self, ts_ms: int, query_offset_ms: int, query: QueryFunc, limit: int
    ) -> list[tuple[Labels, int, float]]:
        """The samples to record at ``ts_ms - query_offset_ms``.

        :raise RuleEvalError: the result has duplicate label sets after relabelling, or more
            series than ``limit`` (when ``limit`` > 0).
        """
        at = ts_ms - query_offset_ms
        samples = []
        seen: set[Labels] = set()
        for sample in query(self.rule.expr, at):
            labels = Labels.of({**dict(sample.labels), METRIC_NAME: self.name, **self.labels})
            if labels in seen:
                raise RuleEvalError(DUPLICATE_RECORDING_LABELSET)
            seen.add(labels)
            samples.append((labels, at, sample.value))
        if limit > 0 and len(samples) > limit:
            raise RuleEvalError(f"exceeded limit of {limit} with {len(samples)} series")
        return samples
