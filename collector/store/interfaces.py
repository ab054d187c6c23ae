"""The store's seams: what receivers write through and what the query engine reads through."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from collector.model import Labels
from collector.store.matchers import Matcher

__all__ = [
    "AppendResult",
    "Appender",
    "Querier",
    "RejectReason",
    "SeriesData",
    "StoreError",
]


class StoreError(RuntimeError):
    """The store cannot do what was asked (closed, unreachable, corrupt)."""


class RejectReason(enum.Enum):
    """Why a sample was not stored; the ``reason`` label of the rejection counter."""

    OUT_OF_ORDER = "out_of_order"
    DUPLICATE_TIMESTAMP = "duplicate_sample_for_timestamp"
    TOO_OLD = "too_old"


@dataclass(frozen=True)
class AppendResult:
    """What one append did: samples stored, exact duplicates ignored, rejections by reason."""

    appended: int
    duplicates: int
    rejected: dict[RejectReason, int]

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


@dataclass(frozen=True)
class SeriesData:
    """One series' samples over a time range, as numpy arrays (int64 ms, float64)."""

    labels: Labels
    timestamps: np.ndarray
    values: np.ndarray


class Appender(Protocol):
    """Writes samples. ``append`` returns only once the batch is durable."""

    def append(
        self, samples: Sequence[tuple[Labels, int, float]]
    ) -> AppendResult: ...  # pragma: no cover - protocol

    def append_series(
        self, labels: Labels, timestamps: np.ndarray, values: np.ndarray
    ) -> AppendResult: ...  # pragma: no cover - protocol


class Querier(Protocol):
    """Reads series selected by label matchers over a closed time range [start, end] in ms."""

    def select(
        self, matchers: Sequence[Matcher], start: int, end: int
    ) -> list[SeriesData]: ...  # pragma: no cover - protocol

    def series(
        self, matchers: Sequence[Matcher], start: int | None = None, end: int | None = None
    ) -> list[Labels]: ...  # pragma: no cover - protocol

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]: ...  # pragma: no cover

    def label_values(
        self, name: str, matchers: Sequence[Matcher] = ()
    ) -> list[str]: ...  # pragma: no cover - protocol
