"""The chunk codec round-trips every float bit pattern and every timestamp sequence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.model import STALE_NAN_BITS
from collector.store.chunks import ChunkDecodeError, decode, encode

SPECIAL_BITS = [
    STALE_NAN_BITS,
    0x7FF8000000000001,  # Prometheus' ordinary NaN
    0x7FF8000000000000,
    0xFFF8000000000000,  # negative quiet NaN
    0x7FF0000000000000,  # +Inf
    0xFFF0000000000000,  # -Inf
    0x8000000000000000,  # -0.0
    0x0000000000000001,  # smallest subnormal
    0x7FEFFFFFFFFFFFFF,  # largest finite
]

value_bits = st.one_of(
    st.sampled_from(SPECIAL_BITS),
    st.integers(min_value=0, max_value=2**64 - 1),
    st.floats(allow_nan=False).map(lambda f: int(np.float64(f).view(np.uint64))),
    st.integers(min_value=-(2**53), max_value=2**53).map(
        lambda i: int(np.float64(i).view(np.uint64))
    ),
)


@st.composite
def series_samples(draw):
    n = draw(st.integers(min_value=1, max_value=300))
    start = draw(st.integers(min_value=-(2**62), max_value=2**62))
    gaps = draw(
        st.lists(
            st.one_of(
                st.integers(min_value=1, max_value=60_000),
                st.integers(min_value=1, max_value=2**40),
                st.sampled_from([15_000, 15_001, 14_999, 30_000]),
            ),
            min_size=n - 1,
            max_size=n - 1,
        )
    )
    ts = np.cumsum(np.array([start, *gaps], dtype=np.int64))
    if draw(st.booleans()):
        bits = np.array(draw(st.lists(value_bits, min_size=n, max_size=n)), dtype=np.uint64)
    else:  # integer-valued series take the integer-delta path
        ints = draw(st.lists(st.integers(-(2**53), 2**53), min_size=n, max_size=n))
        bits = np.array(ints, dtype=np.float64).view(np.uint64)
    return ts, bits


@settings(max_examples=300, deadline=None)
@given(series_samples())
def test_round_trip_is_bit_exact(sample):
    ts, bits = sample
    got_ts, got_vals = decode(encode(ts, bits.view(np.float64)))
    assert got_ts.dtype == np.int64 and got_vals.dtype == np.float64
    np.testing.assert_array_equal(got_ts, ts)
    np.testing.assert_array_equal(got_vals.view(np.uint64), bits)


def test_stale_marker_differs_from_ordinary_nan_after_round_trip():
    bits = np.array([STALE_NAN_BITS, 0x7FF8000000000001], dtype=np.uint64)
    _, vals = decode(encode(np.array([1, 2]), bits.view(np.float64)))
    assert vals.view(np.uint64).tolist() == [STALE_NAN_BITS, 0x7FF8000000000001]


def test_extreme_timestamps_round_trip():
    ts = np.array([-(2**63), -1, 0, 2**63 - 1], dtype=np.int64)
    got, _ = decode(encode(ts, np.zeros(4)))
    assert got.tolist() == ts.tolist()


def test_regular_counter_compresses_below_two_bytes_a_sample():
    rng = np.random.default_rng(7)
    ts = 1_700_000_000_000 + np.arange(480) * 15_000 + rng.integers(-5, 5, 480)
    values = np.cumsum(rng.poisson(20, 480)).astype(np.float64)
    assert len(encode(ts, values)) / 480 < 2.0


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "shorter than its header"),
        (b"\x09" + bytes(13), "unknown chunk encoding"),
        (encode(np.array([1, 2]), np.array([1.0, 2.0]))[:-3], "corrupt chunk body"),
    ],
)
def test_corrupt_chunks_raise_a_decode_error(data, message):
    with pytest.raises(ChunkDecodeError, match=message):
        decode(data)


def test_encode_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="equal, non-zero"):
        encode(np.array([1, 2]), np.array([1.0]))
