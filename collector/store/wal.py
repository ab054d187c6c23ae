"""Encoding of one WAL row: a batch of (series id, timestamp, value) triples.

Raw little-endian arrays, uncompressed: the row lives only until the next flush, and append
latency matters more than its size.
"""

from __future__ import annotations

import struct

import numpy as np
from sqlalchemy import Connection

from collector.store import schema

__all__ = ["MAX_WAL_ROW_SAMPLES", "WalDecodeError", "decode_batch", "encode_batch", "write_wal"]

MAX_WAL_ROW_SAMPLES = 1 << 18
_COUNT = struct.Struct("<I")


class WalDecodeError(ValueError):
    """A WAL row is corrupt."""


def encode_batch(sids: np.ndarray, ts: np.ndarray, vals: np.ndarray) -> bytes:
    n = len(sids)
    return b"".join(
        (
            _COUNT.pack(n),
            np.ascontiguousarray(sids, dtype="<i8").tobytes(),
            np.ascontiguousarray(ts, dtype="<i8").tobytes(),
            np.ascontiguousarray(vals, dtype="<f8").tobytes(),
        )
    )


def write_wal(conn: Connection, sids: np.ndarray, ts: np.ndarray, vals: np.ndarray) -> None:
    """Insert the samples as WAL rows of at most :data:`MAX_WAL_ROW_SAMPLES` each."""
    step = MAX_WAL_ROW_SAMPLES
    rows = [
        {
            "num_samples": len(sids[i : i + step]),
            "data": encode_batch(sids[i : i + step], ts[i : i + step], vals[i : i + step]),
        }
        for i in range(0, len(sids), step)
    ]
    if rows:
        conn.execute(schema.wal.insert(), rows)


def decode_batch(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(data) < _COUNT.size:
        raise WalDecodeError("WAL row shorter than its header")
    (n,) = _COUNT.unpack_from(data)
    if len(data) != _COUNT.size + 24 * n:
        raise WalDecodeError(f"WAL row of {len(data)} bytes cannot hold {n} samples")
    body = memoryview(data)[_COUNT.size :]
    sids = np.frombuffer(body[: 8 * n], dtype="<i8").astype(np.int64)
    ts = np.frombuffer(body[8 * n : 16 * n], dtype="<i8").astype(np.int64)
    vals = np.frombuffer(body[16 * n :], dtype="<f8").astype(np.float64)
    return sids, ts, vals
