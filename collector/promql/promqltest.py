"""Runs promqltest scripts (Prometheus' engine-test format) against the engine.

Each script gets a fresh in-memory store; ``load`` appends, ``clear`` starts over, every
``eval`` is one case. Values compare as Prometheus' runner does: relative tolerance 1e-6,
NaN equal to NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from collector.model import Labels
from collector.promql.engine import Engine, EngineOptions
from collector.promql.errors import PromQLError
from collector.promql.formatting import format_float
from collector.promql.promqltest_format import (
    Clear,
    EvalInstant,
    EvalRange,
    Load,
    ScriptError,
    parse_script,
)
from collector.promql.result import Matrix, Scalar, String, Vector
from collector.store.sql import SqlStore

__all__ = ["CaseResult", "ScriptResult", "run_script"]

EPSILON = 1e-6


@dataclass(frozen=True)
class CaseResult:
    line: int
    expr: str
    failure: str | None  # None when the case passed

    @property
    def passed(self) -> bool:
        return self.failure is None


@dataclass
class ScriptResult:
    filename: str
    cases: list[CaseResult] = field(default_factory=list)
    error: str | None = None  # the script could not be parsed

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.cases)

    @property
    def failed(self) -> int:
        return len(self.cases) - self.passed + (1 if self.error else 0)


def almost_equal(a: float, b: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    diff = abs(a - b)
    total = abs(a) + abs(b)
    if a == 0 or b == 0 or total < 2.2250738585072014e-308:
        return diff < EPSILON * 2.2250738585072014e-308
    return diff / min(total, 1.7976931348623157e308) < EPSILON


def run_script(text: str, filename: str = "<script>") -> ScriptResult:
    result = ScriptResult(filename)
    try:
        commands = parse_script(text, filename)
    except ScriptError as exc:
        result.error = str(exc)
        return result
    store = _fresh_store()
    try:
        for command in commands:
            if isinstance(command, Clear):
                store.close()
                store = _fresh_store()
            elif isinstance(command, Load):
                for series in command.series:
                    store.append_series(series.labels, series.timestamps_ms, series.values)
            else:
                failure = _run_eval(Engine(store, EngineOptions()), command)
                result.cases.append(CaseResult(command.line, command.expr, failure))
    finally:
        store.close()
    return result


def _fresh_store() -> SqlStore:
    store = SqlStore("sqlite:///:memory:")
    store.open()
    return store


def _run_eval(engine: Engine, case: EvalInstant | EvalRange) -> str | None:
    if case.warn or case.info:
        return "annotations (warn/info) are not produced by this engine"
    try:
        if isinstance(case, EvalRange):
            result = engine.range_query(case.expr, case.start_ms, case.end_ms, case.step_ms)
        else:
            at = case.range_vector.end_ms if case.range_vector else case.at_ms
            result = engine.instant_query(case.expr, at)
    except PromQLError as exc:
        if not case.fail:
            return f"unexpected error: {exc}"
        return _check_error(case, str(exc))
    if case.fail:
        return "expected an error, the query succeeded"
    if isinstance(case, EvalRange):
        return _compare_matrix(case.expected, result.value)
    return _compare_instant(case, result.value)


def _check_error(case, message: str) -> str | None:
    import re

    if case.expect_fail_msg is not None and message != case.expect_fail_msg:
        return f"error {message!r} is not {case.expect_fail_msg!r}"
    if case.expect_fail_regex is not None and not re.search(case.expect_fail_regex, message):
        return f"error {message!r} does not match /{case.expect_fail_regex}/"
    return None


def _compare_instant(case: EvalInstant, value) -> str | None:
    if case.expected_scalar is not None:
        if not isinstance(value, Scalar):
            return f"expected a scalar, got {type(value).__name__}"
        if not almost_equal(case.expected_scalar, value.value):
            return (
                f"scalar {format_float(value.value)}, expected {format_float(case.expected_scalar)}"
            )
        return None
    if case.expected_string is not None:
        if not isinstance(value, String) or value.value != case.expected_string:
            return f"expected string {case.expected_string!r}, got {value!r}"
        return None
    if case.range_vector is not None:
        return _compare_matrix(case.expected_range, value)
    if isinstance(value, Matrix) and not case.expected:
        return None if not value else f"expected an empty result, got {len(value)} series"
    if not isinstance(value, Vector):
        return f"expected an instant vector, got {type(value).__name__}"
    got = [(s.labels, s.value) for s in value]
    want = [(e.labels, e.value) for e in case.expected]
    return _compare_samples(want, got, case.ordered)


def _compare_samples(want, got, ordered: bool) -> str | None:
    if ordered:
        if [w[0] for w in want] != [g[0] for g in got]:
            return f"order {[str(g[0]) for g in got]}, expected {[str(w[0]) for w in want]}"
    got_by = dict(got)
    want_by = dict(want)
    missing = [str(lbl) for lbl in want_by if lbl not in got_by]
    extra = [str(lbl) for lbl in got_by if lbl not in want_by]
    if missing or extra:
        return f"missing {missing}, unexpected {extra}"
    for labels, expected in want_by.items():
        if not almost_equal(expected, got_by[labels]):
            return (
                f"{labels}: got {format_float(got_by[labels])}, expected {format_float(expected)}"
            )
    return None


def _compare_matrix(expected, value) -> str | None:
    if not isinstance(value, Matrix):
        return f"expected a range result, got {type(value).__name__}"
    got = {s.labels: s for s in value}
    want: dict[Labels, object] = {e.labels: e for e in expected}
    if set(got) != set(want):
        missing = [str(x) for x in want if x not in got]
        extra = [str(x) for x in got if x not in want]
        return f"missing {missing}, unexpected {extra}"
    for labels, exp in want.items():
        series = got[labels]
        if not np.array_equal(series.timestamps, exp.timestamps_ms):
            got_ts, want_ts = series.timestamps.tolist(), exp.timestamps_ms.tolist()
            return f"{labels}: timestamps {got_ts}, expected {want_ts}"
        for g, w in zip(series.values.tolist(), exp.values.tolist(), strict=True):
            if not almost_equal(w, g):
                return f"{labels}: values {series.values.tolist()}, expected {exp.values.tolist()}"
    return None
