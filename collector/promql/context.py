"""What one evaluation needs besides the expression: the steps, the data, the limits."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from collector.promql.errors import QueryTimeoutError, TooManySamplesError
from collector.store.interfaces import Querier

__all__ = ["EvalContext"]


@dataclass
class _Budget:
    """Shared by a query and its subqueries: samples loaded so far, and the deadline."""

    max_samples: int
    deadline: float  # time.monotonic() value
    loaded: int = 0

    def charge(self, samples: int) -> None:
        self.loaded += samples
        if self.loaded > self.max_samples:
            raise TooManySamplesError(self.max_samples)
        if time.monotonic() > self.deadline:
            raise QueryTimeoutError()


@dataclass
class EvalContext:
    querier: Querier
    times: np.ndarray  # (steps,) int64 ms: the evaluation timestamps
    lookback_ms: int
    query_start: int  # for @ start(): the outermost query's start and end
    query_end: int
    budget: _Budget = field(repr=False, default_factory=lambda: _Budget(50_000_000, 1e18))

    @classmethod
    def create(
        cls,
        querier: Querier,
        start: int,
        end: int,
        step: int,
        lookback_ms: int,
        max_samples: int,
        timeout_s: float,
    ) -> EvalContext:
        times = np.arange(start, end + 1, step, dtype=np.int64) if step else np.array([start])
        budget = _Budget(max_samples, time.monotonic() + timeout_s)
        return cls(querier, times, lookback_ms, start, end, budget)

    @property
    def steps(self) -> int:
        return len(self.times)

    def with_times(self, times: np.ndarray) -> EvalContext:
        return dataclasses.replace(self, times=times)

    def charge(self, samples: int) -> None:
        self.budget.charge(samples)
