"""Binary operators: arithmetic, comparisons, set operators, and vector matching."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collector.model import METRIC_NAME, Labels
from collector.promql.errors import ExecutionError
from collector.promql.values import StepScalar, StepVector, drop_name

__all__ = ["Matching", "apply_arithmetic", "binary"]

COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}
SET_OPERATORS = {"and", "or", "unless"}


@dataclass(frozen=True)
class Matching:
    """How two vectors' series pair up (``on``/``ignoring``, ``group_left``/``group_right``)."""

    on: bool = False
    labels: tuple[str, ...] = ()
    card: str = "one-to-one"  # one-to-one, many-to-one, one-to-many, many-to-many
    include: tuple[str, ...] = ()
    return_bool: bool = False

    def signature(self, labels: Labels) -> Labels:
        if self.on:
            keep = set(self.labels)
            return Labels(tuple(p for p in labels if p[0] in keep))
        dropped = set(self.labels) | {METRIC_NAME}
        return Labels(tuple(p for p in labels if p[0] not in dropped))


def apply_arithmetic(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a op b`` elementwise, with Go's float semantics (x % 0 is NaN, 0 ^ 0 is 1...)."""
    with np.errstate(all="ignore"):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return np.true_divide(a, b)
        if op == "%":
            return np.fmod(a, b)
        if op == "^":
            return np.power(a, b)
        if op == "atan2":
            return np.arctan2(a, b)
        if op in COMPARISONS:
            return _compare(op, a, b).astype(np.float64)
    raise ExecutionError(f"unsupported operator {op!r}")


def _compare(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return {
            "==": np.equal,
            "!=": np.not_equal,
            ">": np.greater,
            "<": np.less,
            ">=": np.greater_equal,
            "<=": np.less_equal,
        }[op](a, b)


def binary(op: str, lhs, rhs, matching: Matching):
    """Evaluate ``lhs op rhs`` for any mix of scalars and vectors."""
    if isinstance(lhs, StepScalar) and isinstance(rhs, StepScalar):
        return StepScalar(apply_arithmetic(op, lhs.values, rhs.values))
    if isinstance(lhs, StepVector) and isinstance(rhs, StepVector):
        if op in SET_OPERATORS:
            return _set_operation(op, lhs, rhs, matching)
        return _vector_vector(op, lhs, rhs, matching)
    if isinstance(lhs, StepVector):
        return _vector_scalar(op, lhs, rhs.values[None, :], matching.return_bool, swap=False)
    return _vector_scalar(op, rhs, lhs.values[None, :], matching.return_bool, swap=True)


def _vector_scalar(
    op: str, vec: StepVector, scalar: np.ndarray, return_bool: bool, swap: bool
) -> StepVector:
    a, b = (scalar, vec.values) if swap else (vec.values, scalar)
    if op in COMPARISONS:
        keep = _compare(op, a, b)
        if return_bool:
            labels = [drop_name(lbl) for lbl in vec.labels]
            return StepVector(labels, keep.astype(np.float64), vec.present).merge_same_labels()
        # A filter keeps the vector's own value, whichever side it is on.
        return StepVector(vec.labels, vec.values, vec.present & keep).without_absent()
    values = apply_arithmetic(op, a, b)
    labels = [drop_name(lbl) for lbl in vec.labels]
    return StepVector(labels, values, vec.present).merge_same_labels()


def _signature_rows(vec: StepVector, matching: Matching) -> dict[Labels, list[int]]:
    rows: dict[Labels, list[int]] = {}
    for i, labels in enumerate(vec.labels):
        rows.setdefault(matching.signature(labels), []).append(i)
    return rows


def _set_operation(op: str, lhs: StepVector, rhs: StepVector, matching: Matching) -> StepVector:
    right: dict[Labels, np.ndarray] = {}
    for sig, rows in _signature_rows(rhs, matching).items():
        right[sig] = rhs.present[rows].any(axis=0)
    none = np.zeros(lhs.steps, dtype=bool)
    if op in ("and", "unless"):
        present = lhs.present.copy()
        for i, labels in enumerate(lhs.labels):
            matched = right.get(matching.signature(labels), none)
            present[i] &= matched if op == "and" else ~matched
        return StepVector(lhs.labels, lhs.values, present).without_absent()
    # or: all of lhs, plus rhs series whose signature lhs lacks at that step.
    left: dict[Labels, np.ndarray] = {}
    for sig, rows in _signature_rows(lhs, matching).items():
        left[sig] = lhs.present[rows].any(axis=0)
    extra = rhs.present.copy()
    for i, labels in enumerate(rhs.labels):
        extra[i] &= ~left.get(matching.signature(labels), none)
    out = StepVector(
        lhs.labels + rhs.labels,
        np.concatenate((lhs.values, rhs.values)),
        np.concatenate((lhs.present, extra)),
    )
    # A label set on both sides is one series: lhs at some steps, rhs at the others.
    return out.without_absent().merge_same_labels()


def _one_side(vec: StepVector, matching: Matching, side: str) -> dict[Labels, list[int]]:
    """Rows of the 'one' side per signature; two of them present at one step are an error."""
    groups = _signature_rows(vec, matching)
    for sig, rows in groups.items():
        if len(rows) > 1 and (vec.present[rows].sum(axis=0) > 1).any():
            names = ", ".join(_braces(vec.labels[r]) for r in rows[:2])
            raise ExecutionError(
                f"found duplicate series for the match group {_braces(sig)} on the {side} "
                f"hand-side of the operation: [{names}];many-to-many matching not allowed: "
                "matching labels must be unique on one side"
            )
    return groups


def _braces(labels: Labels) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels) + "}"


def _vector_vector(op: str, lhs: StepVector, rhs: StepVector, matching: Matching) -> StepVector:
    if matching.card == "many-to-many":
        raise ExecutionError("many-to-many only allowed for set operators")
    swapped = matching.card == "one-to-many"
    many, one = (rhs, lhs) if swapped else (lhs, rhs)
    one_side = _one_side(one, matching, "left" if swapped else "right")
    if matching.card == "one-to-one":
        _check_unique(many, one, one_side, matching)
    out_labels, out_values, out_present = [], [], []
    for i, labels in enumerate(many.labels):
        # Each 'one' row separately: which one matches may change from step to step, and
        # with group_left(...) the labels it lends change with it.
        for one_row in one_side.get(matching.signature(labels), ()):
            present = many.present[i] & one.present[one_row]
            if not present.any():
                continue
            one_values = one.values[one_row]
            a, b = (one_values, many.values[i]) if swapped else (many.values[i], one_values)
            if op in COMPARISONS:
                keep = _compare(op, a, b)
                values = keep.astype(np.float64) if matching.return_bool else a
                if not matching.return_bool:
                    present = present & keep
            else:
                values = apply_arithmetic(op, a, b)
            out_labels.append(_result_labels(op, labels, one.labels[one_row], matching))
            out_values.append(values)
            out_present.append(present)
    if not out_labels:
        return StepVector.empty(lhs.steps)
    out = StepVector(out_labels, np.array(out_values), np.array(out_present))
    return out.without_absent().merge_same_labels()


def _check_unique(
    vec: StepVector, one: StepVector, one_side: dict[Labels, list[int]], matching: Matching
) -> None:
    """One-to-one matching: two series of the 'many' side may not match at the same step."""
    for sig, rows in _signature_rows(vec, matching).items():
        match = one_side.get(sig)
        if match is None or len(rows) < 2:
            continue
        one_present = one.present[match].any(axis=0)
        if ((vec.present[rows] & one_present[None, :]).sum(axis=0) > 1).any():
            raise ExecutionError(
                "multiple matches for labels: many-to-one matching must be explicit "
                "(group_left/group_right)"
            )


def _result_labels(op: str, many: Labels, one: Labels, matching: Matching) -> Labels:
    pairs = dict(many)
    if op not in COMPARISONS or matching.return_bool:
        pairs.pop(METRIC_NAME, None)
    if matching.card == "one-to-one":
        if matching.on:
            pairs = {k: v for k, v in pairs.items() if k in set(matching.labels)}
        else:
            for name in matching.labels:
                pairs.pop(name, None)
    one_pairs = dict(one)
    for name in matching.include:
        if one_pairs.get(name):
            pairs[name] = one_pairs[name]
        else:
            pairs.pop(name, None)
    return Labels.of(pairs)
