"""Core value types shared by receivers, the store and the query engine."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = [
    "METRIC_NAME",
    "STALE_NAN",
    "STALE_NAN_BITS",
    "Labels",
    "is_stale_nan",
]

METRIC_NAME = "__name__"

#: Prometheus' staleness marker: a NaN with a payload no arithmetic produces. It must be
#: stored bit-exactly; an ordinary NaN (0x7ff8000000000001 in Prometheus) is a real value.
STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]


def is_stale_nan(value: float) -> bool:
    """True only for Prometheus' stale marker, not for other NaNs."""
    return math.isnan(value) and struct.pack("<d", value) == struct.pack("<Q", STALE_NAN_BITS)


def stale_mask(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the stale markers in a float64 array (bit comparison, not isnan)."""
    return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64) == np.uint64(
        STALE_NAN_BITS
    )


class Labels(tuple[tuple[str, str], ...]):
    """An immutable label set, sorted by name, without empty values (Prometheus' rule:
    a label with an empty value is the same as no label).

    >>> Labels.of({"job": "api", "__name__": "up", "zone": ""})
    Labels({'__name__': 'up', 'job': 'api'})
    """

    __slots__ = ()

    @classmethod
    def of(cls, pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> Labels:
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        ordered = sorted((str(k), str(v)) for k, v in items if v != "")
        for (a, _), (b, _) in zip(ordered, ordered[1:], strict=False):
            if a == b:
                raise ValueError(f"duplicate label name {a!r}")
        return cls(ordered)

    def get(self, name: str, default: str = "") -> str:
        for key, value in self:
            if key == name:
                return value
        return default

    @property
    def metric_name(self) -> str:
        return self.get(METRIC_NAME)

    def as_dict(self) -> dict[str, str]:
        return dict(self)

    def __repr__(self) -> str:
        return f"Labels({dict(self)!r})"

    def __str__(self) -> str:
        name = self.metric_name
        rest = ", ".join(f'{k}="{_escape(v)}"' for k, v in self if k != METRIC_NAME)
        return f"{name}{{{rest}}}" if rest or not name else name


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
