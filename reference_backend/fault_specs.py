"""What each fault's parameters mean: parsing and validating the JSON an operator sends.

Every spec is immutable, so ``Faults`` swaps a whole spec in one assignment and the request
path reads it without a lock. Parsing reports every problem at once, as ``FaultError.errors``.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "MAX_DELAY_MS", "Distribution", "ErrorRate", "FaultError", "Latency", "ParamReader",
    "SlowQueries",
]  # fmt: skip

#: Upper bound of any injected wait, so that a typo cannot park the worker threads for hours.
MAX_DELAY_MS = 30_000.0
# Words that may follow a table name in FROM/JOIN without being its alias.
_SQL_WORDS = frozenset(
    "WHERE JOIN LEFT RIGHT FULL INNER OUTER CROSS NATURAL ON USING ORDER GROUP LIMIT HAVING "
    "UNION EXCEPT INTERSECT WINDOW RETURNING".split()
)


class FaultError(ValueError):
    """An unknown fault or bad parameters; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class Distribution(StrEnum):
    FIXED = "fixed"
    UNIFORM = "uniform"
    EXPONENTIAL = "exponential"
    LOGNORMAL = "lognormal"


#: The parameters each latency distribution needs.
_LATENCY_KEYS = {
    Distribution.FIXED: ("ms",),
    Distribution.UNIFORM: ("min_ms", "max_ms"),
    Distribution.EXPONENTIAL: ("mean_ms",),
    Distribution.LOGNORMAL: ("median_ms", "sigma"),
}


class ParamReader:
    """Reads one fault's JSON parameters, collecting every problem before raising them all."""

    def __init__(self, params: Any, allowed: Iterable[str]) -> None:
        self.errors: list[str] = []
        if params is None:
            params = {}
        if not isinstance(params, dict):
            self.errors.append("parameters must be a JSON object")
            params = {}
        self.params = params
        if unknown := sorted(set(params) - set(allowed)):
            self.errors.append(f"unknown parameter(s): {', '.join(map(str, unknown))}")

    def number(self, key: str, default: float | None = None, high: float = MAX_DELAY_MS,
               low: float = 0.0) -> float:  # fmt: skip
        value = self.params.get(key, default)
        if value is None:
            self.errors.append(f"{key}: required")
            return low
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and low <= value <= high
        ):  # fmt: skip
            self.errors.append(f"{key}: a number from {low:g} to {high:g}, got {value!r}")
            return low
        return float(value)

    def names(self, key: str, default: list[str], pattern: str, what: str) -> tuple[str, ...]:
        value = self.params.get(key, default)
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not value or not all(
            isinstance(v, str) and re.fullmatch(pattern, v) for v in value
        ):  # fmt: skip
            self.errors.append(f"{key}: a non-empty list of {what}")
            return tuple(default)
        return tuple(value)

    def routes(self) -> tuple[str, ...]:
        return self.names("routes", ["*"], r"[/*][^\s]*", "route template globs like '/products*'")

    def done(self) -> None:
        if self.errors:
            raise FaultError(self.errors)


@dataclass(frozen=True)
class Latency:
    """Wait before matching requests: ``{"ms": 200}``, or a ``distribution`` and its keys
    (uniform ``min_ms``/``max_ms``, exponential ``mean_ms``, lognormal ``median_ms``/``sigma``)."""

    routes: tuple[str, ...]
    distribution: Distribution
    values: dict[str, float]

    @classmethod
    def parse(cls, raw: Any) -> Latency:
        keys = {k for ks in _LATENCY_KEYS.values() for k in ks}
        params = ParamReader(raw, {"routes", "distribution", *keys})
        routes = params.routes()
        try:
            kind = Distribution(params.params.get("distribution", "fixed"))
        except ValueError:
            params.errors.append(f"distribution: one of {', '.join(Distribution)}")
            kind = Distribution.FIXED
        values = {
            k: params.number(k, high=10.0 if k == "sigma" else MAX_DELAY_MS)
            for k in _LATENCY_KEYS[kind]
        }
        if kind is Distribution.UNIFORM and values["min_ms"] > values["max_ms"]:
            params.errors.append("min_ms: must not exceed max_ms")
        params.done()
        return cls(routes, kind, values)

    def draw_ms(self, rng: random.Random) -> float:
        """One delay in milliseconds, capped at ``MAX_DELAY_MS``."""
        v = self.values
        if self.distribution is Distribution.UNIFORM:
            drawn = rng.uniform(v["min_ms"], v["max_ms"])
        elif self.distribution is Distribution.EXPONENTIAL:
            drawn = rng.expovariate(1.0 / v["mean_ms"]) if v["mean_ms"] > 0 else 0.0
        elif self.distribution is Distribution.LOGNORMAL:
            drawn = rng.lognormvariate(math.log(max(v["median_ms"], 1e-6)), v["sigma"])
        else:
            drawn = v["ms"]
        return min(drawn, MAX_DELAY_MS)

    def describe(self) -> dict[str, Any]:
        return {"routes": list(self.routes), "distribution": str(self.distribution), **self.values}


@dataclass(frozen=True)
class ErrorRate:
    """Answer a share ``rate`` (0 to 1) of matching requests with ``status`` (500 or 503)."""

    rate: float
    status: int
    routes: tuple[str, ...]

    @classmethod
    def parse(cls, raw: Any) -> ErrorRate:
        params = ParamReader(raw, ("rate", "status", "routes"))
        routes, rate = params.routes(), params.number("rate", high=1.0)
        status = params.params.get("status", 500)
        if status not in (500, 503) or isinstance(status, bool):
            params.errors.append(f"status: 500 or 503, got {status!r}")
        params.done()
        return cls(rate, int(status), routes)

    def describe(self) -> dict[str, Any]:
        return {"rate": self.rate, "status": self.status, "routes": list(self.routes)}


@dataclass(frozen=True)
class SlowQueries:
    """SELECTs naming one of ``tables`` run without their indexes, then wait ``delay_ms``."""

    tables: tuple[str, ...]
    delay_ms: float

    @classmethod
    def parse(cls, raw: Any) -> SlowQueries:
        params = ParamReader(raw, ("tables", "delay_ms"))
        tables = params.names("tables", ["products"], r"[a-z_][a-z0-9_]*", "table names")
        delay = params.number("delay_ms", 200.0, high=10_000.0)
        params.done()
        return cls(tables, delay)

    def matches(self, statement: str) -> bool:
        head = statement.lstrip()[:8].upper()
        return head.startswith(("SELECT", "WITH", "EXPLAIN")) and any(
            re.search(rf"\b{t}\b", statement, re.IGNORECASE) for t in self.tables
        )

    def without_indexes(self, statement: str) -> str:
        """SQLite: each ``FROM t [[AS] a]`` and ``JOIN t [[AS] a]`` gains ``NOT INDEXED``."""

        def hint(found: re.Match) -> str:
            alias = found.group(3)
            if alias is None or alias.upper() in _SQL_WORDS:
                return f"{found.group(1)} NOT INDEXED{found.group(2) or ''}"
            if alias.upper() in ("NOT", "INDEXED"):  # already hinted
                return found.group(0)
            return f"{found.group(0)} NOT INDEXED"

        names = "|".join(self.tables)
        pattern = rf"\b((?:FROM|JOIN)\s+(?:{names}))\b(\s+(?:AS\s+)?(\w+))?"
        return re.sub(pattern, hint, statement, flags=re.IGNORECASE)

    def describe(self) -> dict[str, Any]:
        return {"tables": list(self.tables), "delay_ms": self.delay_ms}
