"""Compressed chunk codec for one series' samples (pure: bytes in, numpy arrays out).

Layout of an encoded chunk (all integers little-endian)::

    u8   encoding version (1)
    u8   value mode: 0 = XOR of float bits, 1 = integer deltas
    u32  sample count n
    i64  first timestamp (ms)
    ...  zlib stream of: shuffled(zigzag(delta-of-delta timestamps)) ++ shuffled(values)

Timestamps become deltas of deltas (zero for a perfectly regular scrape, a few ms of jitter
otherwise) and values are XORed with their predecessor (Gorilla's observation: consecutive
samples share sign, exponent and high mantissa bits). Both streams are byte-shuffled -- byte k
of every word stored together -- so the long runs of zero high bytes sit next to each other
and zlib removes them. Chunks whose values are all integers (counters, bucket counts -- most
series) store zigzagged integer deltas instead, which shrinks a counter's values by half again.
Everything is vectorised numpy, so a chunk costs a few numpy calls rather than a Python loop
per sample. Values are carried as raw 64-bit patterns end to end,
which keeps NaN payloads, and so Prometheus' stale marker, bit-exact.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

ENCODING_V1 = 1
_HEADER = struct.Struct("<BBIq")
_XOR_FLOATS = 0
_INT_DELTAS = 1
_MAX_EXACT_INT = float(2**53)
_NEGATIVE_ZERO = np.uint64(0x8000000000000000)
_ZLIB_LEVEL = 6

__all__ = ["ENCODING_V1", "ChunkDecodeError", "decode", "encode"]


class ChunkDecodeError(ValueError):
    """A stored chunk cannot be decoded: the data is corrupt or of an unknown version."""


def _shuffle(words: np.ndarray) -> bytes:
    return words.view(np.uint8).reshape(-1, 8).T.tobytes()


def _unshuffle(raw: bytes, n: int) -> np.ndarray:
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(8, n)
    return np.ascontiguousarray(planes.T).view(np.uint64).reshape(n)


def encode(timestamps: np.ndarray, values: np.ndarray) -> bytes:
    """Encode strictly increasing int64 ms ``timestamps`` and float64 ``values``.

    >>> ts = np.array([0, 15_000, 30_001], dtype=np.int64)
    >>> t2, v2 = decode(encode(ts, np.array([1.0, 2.0, float("nan")])))
    >>> t2.tolist()
    [0, 15000, 30001]
    """
    ts = np.ascontiguousarray(timestamps, dtype=np.int64)
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    n = ts.shape[0]
    if n == 0 or bits.shape[0] != n:
        raise ValueError(f"need equal, non-zero numbers of timestamps and values, got {n}")
    # Wrapping int64 arithmetic is intended: decode undoes it with the same wrap-around.
    dod = np.diff(ts, n=1, prepend=ts[0])
    dod[1:] = np.diff(dod)
    mode, packed = _pack_values(bits)
    body = zlib.compress(_shuffle(_zigzag(dod)) + _shuffle(packed), _ZLIB_LEVEL)
    return _HEADER.pack(ENCODING_V1, mode, n, int(ts[0])) + body


def _zigzag(signed: np.ndarray) -> np.ndarray:
    return ((signed << np.int64(1)) ^ (signed >> np.int64(63))).view(np.uint64)


def _unzigzag(words: np.ndarray) -> np.ndarray:
    signed = words.view(np.int64)
    return ((signed >> np.int64(1)) & np.int64(0x7FFFFFFFFFFFFFFF)) ^ -(signed & np.int64(1))


def _pack_values(bits: np.ndarray) -> tuple[int, np.ndarray]:
    floats = bits.view(np.float64)
    with np.errstate(invalid="ignore"):
        integral = bool(
            np.all(np.abs(floats) <= _MAX_EXACT_INT)  # False for NaN and infinities
            and np.all(np.floor(floats) == floats)
            and not np.any(bits == _NEGATIVE_ZERO)  # -0.0 would come back as +0.0
        )
    if integral:
        ints = floats.astype(np.int64)
        return _INT_DELTAS, _zigzag(np.diff(ints, prepend=np.int64(0)))
    xored = bits.copy()
    xored[1:] ^= bits[:-1]
    return _XOR_FLOATS, xored


def decode(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Decode a chunk into ``(timestamps int64 ms, values float64)`` arrays."""
    if len(data) < _HEADER.size:
        raise ChunkDecodeError(f"chunk of {len(data)} bytes is shorter than its header")
    version, mode, n, first = _HEADER.unpack_from(data)
    if version != ENCODING_V1 or mode not in (_XOR_FLOATS, _INT_DELTAS):
        raise ChunkDecodeError(f"unknown chunk encoding {version}/{mode}")
    try:
        raw = zlib.decompress(memoryview(data)[_HEADER.size :])
    except zlib.error as exc:
        raise ChunkDecodeError(f"corrupt chunk body: {exc}") from exc
    if len(raw) != 16 * n:
        raise ChunkDecodeError(f"chunk body holds {len(raw)} bytes, expected {16 * n}")
    dod = _unzigzag(_unshuffle(raw[: 8 * n], n))
    dod[0] = first
    # ts[0] = first; ts[i] = first + sum of the first i deltas, each delta a sum of dods.
    timestamps = np.cumsum(dod, dtype=np.int64)
    timestamps[1:] = np.cumsum(timestamps[1:] - first, dtype=np.int64) + first
    packed = _unshuffle(raw[8 * n :], n)
    if mode == _INT_DELTAS:
        values = np.cumsum(_unzigzag(packed), dtype=np.int64).astype(np.float64)
    else:
        values = np.bitwise_xor.accumulate(packed).view(np.float64)
    return timestamps, values
