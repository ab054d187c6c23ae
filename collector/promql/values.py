"""The engine's internal values: every expression is evaluated at all steps at once.

- :class:`StepVector`: an instant vector at every step, as an (series x steps) value matrix
  with a presence mask (NaN is a value, so it cannot mark absence);
- :class:`StepScalar`: one value per step;
- :class:`RangeVector`: raw samples per series plus, per step, the (start, end] window to
  look at -- what a matrix selector or a subquery yields.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collector.model import METRIC_NAME, Labels
from collector.promql.errors import ExecutionError

__all__ = ["RangeVector", "StepScalar", "StepString", "StepVector", "drop_name"]


def drop_name(labels: Labels) -> Labels:
    if not labels or labels[0][0] != METRIC_NAME:
        return labels
    return Labels(labels[1:])


@dataclass
class StepScalar:
    values: np.ndarray  # (steps,)


@dataclass
class StepString:
    value: str


@dataclass
class StepVector:
    labels: list[Labels]
    values: np.ndarray  # (series, steps) float64
    present: np.ndarray  # (series, steps) bool
    #: Timestamps of the samples behind the values; only selectors set it (timestamp()).
    sample_ts: np.ndarray | None = None

    @classmethod
    def empty(cls, steps: int) -> StepVector:
        return cls([], np.zeros((0, steps)), np.zeros((0, steps), dtype=bool))

    @property
    def steps(self) -> int:
        return self.values.shape[1]

    def __len__(self) -> int:
        return len(self.labels)

    def select(self, rows: np.ndarray | list[int]) -> StepVector:
        rows = np.asarray(rows, dtype=np.int64)
        sample_ts = None if self.sample_ts is None else self.sample_ts[rows]
        return StepVector(
            [self.labels[i] for i in rows.tolist()],
            self.values[rows],
            self.present[rows],
            sample_ts,
        )

    def without_absent(self) -> StepVector:
        """Drop series absent at every step."""
        keep = np.flatnonzero(self.present.any(axis=1))
        return self if len(keep) == len(self.labels) else self.select(keep)

    def relabel(self, labels: list[Labels]) -> StepVector:
        """The same values under new label sets; series whose label sets now coincide are
        merged, which is an error where they are present at the same step."""
        out = StepVector(labels, self.values, self.present)
        return out.merge_same_labels()

    def merge_same_labels(self) -> StepVector:
        first: dict[Labels, int] = {}
        duplicates = False
        for i, labels in enumerate(self.labels):
            if first.setdefault(labels, i) != i:
                duplicates = True
        if not duplicates:
            return self
        groups: dict[Labels, list[int]] = {}
        for i, labels in enumerate(self.labels):
            groups.setdefault(labels, []).append(i)
        values = np.zeros((len(groups), self.steps))
        present = np.zeros((len(groups), self.steps), dtype=bool)
        for g, rows in enumerate(groups.values()):
            if (self.present[rows].sum(axis=0) > 1).any():
                raise ExecutionError("vector cannot contain metrics with the same labelset")
            for row in rows:
                mask = self.present[row]
                values[g, mask] = self.values[row, mask]
                present[g] |= mask
        return StepVector(list(groups), values, present)


@dataclass
class RangeVector:
    """Samples of each series, and per step the window ``(start, end]`` to evaluate."""

    labels: list[Labels]
    timestamps: list[np.ndarray]  # per series, int64 ms ascending, no stale markers
    values: list[np.ndarray]
    window_end: np.ndarray  # (steps,) int64: the end of each step's window (inclusive)
    range_ms: int
    eval_times: np.ndarray  # (steps,) the evaluation times, before offset and @

    @property
    def steps(self) -> int:
        return len(self.window_end)

    @property
    def window_start(self) -> np.ndarray:
        return self.window_end - self.range_ms

    def bounds(self, series: int) -> tuple[np.ndarray, np.ndarray]:
        """Per step, the slice ``[lo, hi)`` of the series' samples inside the window."""
        ts = self.timestamps[series]
        lo = np.searchsorted(ts, self.window_start, side="right")
        hi = np.searchsorted(ts, self.window_end, side="right")
        return lo, hi
