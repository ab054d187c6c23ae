"""The one-column (instant query) path of Kahan summation gives the vectorised path's bits."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from collector.promql.kahan import kahan_sum

finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=64)
awkward = st.sampled_from([1e16, -1e16, 1.0, -1.0, 1e308, -1e308, 0.1, 3e-324])


@given(st.lists(st.one_of(finite_or_not, awkward), min_size=0, max_size=12))
def test_one_column_sums_to_the_same_bits_as_many_columns(terms):
    column = np.array(terms, dtype=np.float64).reshape(-1, 1)
    # The same terms in two columns take the vectorised path; its first column is the oracle.
    wide = np.hstack([column, column])
    one = kahan_sum(column, axis=0)
    many = kahan_sum(wide, axis=0)
    assert one.shape == (1,)
    assert one.view(np.uint64)[0] == many.view(np.uint64)[0] or (
        np.isnan(one[0]) and np.isnan(many[0])
    )
    across = kahan_sum(column.T, axis=1)  # the same column summed along the other axis
    assert across.tobytes() == one.tobytes() or (np.isnan(across[0]) and np.isnan(one[0]))


def test_compensation_recovers_what_a_plain_sum_loses():
    column = np.array([[1e16], [1.0], [-1e16]])
    assert kahan_sum(column, axis=0).tolist() == [1.0]
    assert float(np.sum(column)) == 0.0
