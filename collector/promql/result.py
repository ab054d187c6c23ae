"""What a PromQL query returns: the four value types of Prometheus' API."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from collector.model import Labels

__all__ = [
    "Matrix",
    "QueryResult",
    "Sample",
    "Scalar",
    "Series",
    "String",
    "ValueType",
    "Vector",
]


class ValueType(enum.Enum):
    """``resultType`` in Prometheus' JSON."""

    VECTOR = "vector"
    MATRIX = "matrix"
    SCALAR = "scalar"
    STRING = "string"


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector."""

    labels: Labels
    timestamp_ms: int
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range result (or of a range vector from an instant query)."""

    labels: Labels
    timestamps: np.ndarray  # int64 ms, ascending
    values: np.ndarray  # float64


@dataclass(frozen=True)
class Scalar:
    timestamp_ms: int
    value: float


@dataclass(frozen=True)
class String:
    timestamp_ms: int
    value: str


class Vector(list[Sample]):
    """An instant vector: samples at one timestamp, at most one per label set."""


class Matrix(list[Series]):
    """A range vector: series with their samples, at most one per label set."""


@dataclass
class QueryResult:
    """A query's value, its type, and the warnings and infos Prometheus would attach."""

    value: Vector | Matrix | Scalar | String
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)

    @property
    def type(self) -> ValueType:
        if isinstance(self.value, Vector):
            return ValueType.VECTOR
        if isinstance(self.value, Matrix):
            return ValueType.MATRIX
        if isinstance(self.value, Scalar):
            return ValueType.SCALAR
        return ValueType.STRING
