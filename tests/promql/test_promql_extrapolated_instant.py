"""rate, increase and delta at one step (instant queries, every rule evaluation) take a
plain-float path; it must give the vectorised path's bits for the same window."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.model import Labels
from collector.promql.range_functions import RANGE_FUNCTIONS
from collector.promql.values import RangeVector

LABELS = [Labels.of({"__name__": "requests_total", "job": "api"})]


def evaluate(name: str, ts: np.ndarray, vals: np.ndarray, ends: list[int], range_ms: int):
    window_end = np.array(ends, dtype=np.int64)
    rv = RangeVector(LABELS, [ts], [vals], window_end, range_ms, window_end)
    out = RANGE_FUNCTIONS[name](rv, [])
    # The first step's value, or nothing where the series is absent at it.
    return out.values[:, 0][out.present[:, 0]] if len(out) else np.array([])


samples = st.lists(
    st.tuples(
        st.integers(1, 20_000),  # gap to the previous sample, ms
        st.one_of(
            st.floats(-1e6, 1e9, allow_nan=False),
            st.sampled_from([0.0, -0.0, 1e16, float("nan"), float("inf")]),
        ),
    ),
    min_size=2,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(samples, st.integers(1_000, 400_000), st.integers(0, 500_000), st.integers(0, 60_000))
def test_one_step_matches_the_vectorised_step(pairs, range_ms, end_offset, other):
    ts = np.cumsum([gap for gap, _ in pairs]).astype(np.int64)
    vals = np.array([v for _, v in pairs], dtype=np.float64)
    end = int(ts[0]) + end_offset
    for name in ("rate", "increase", "delta"):
        one = evaluate(name, ts, vals, [end], range_ms)
        # Two steps take the vectorised path; its first step is the oracle.
        two = evaluate(name, ts, vals, [end, end + other], range_ms)
        assert len(one) == len(two), (name, one, two)
        if len(one) == 0:
            continue
        assert one.view(np.uint64)[0] == two.view(np.uint64)[0] or (
            np.isnan(one[0]) and np.isnan(two[0])
        ), (name, one[0], two[0])


def test_a_counter_reset_is_counted_on_the_plain_float_path():
    ts = np.array([0, 15_000, 30_000, 45_000], dtype=np.int64)
    vals = np.array([10.0, 20.0, 5.0, 15.0])
    assert evaluate("increase", ts, vals, [45_000], 60_000).tolist() == [
        evaluate("increase", ts, vals, [45_000, 45_000], 60_000)[0]
    ]
    assert evaluate("increase", ts, vals, [45_000], 60_000)[0] > 20.0  # 10 + 5 + 10, extrapolated
