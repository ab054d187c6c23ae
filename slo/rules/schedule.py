"""When a group evaluates: aligned slots, offset per group (Prometheus' ``EvalTimestamp``).

Groups with the same interval would all evaluate at the same instant; Prometheus spreads them
by offsetting each group's slots by a hash of its name and file. We compute the same hash
(xxHash64 over Prometheus 3's label encoding of ``{file, name}``), so a group evaluates at the
same instants in sloscope as in Prometheus 3:

>>> interval = 60_000
>>> offset = group_offset_ms("rules.yml", "api", interval)
>>> slot = eval_timestamp(1_700_000_000_000, interval, offset)
>>> slot <= 1_700_000_000_000 < slot + interval and (slot - offset) % interval == 0
True
"""

from __future__ import annotations

import struct

__all__ = ["eval_timestamp", "group_offset_ms", "label_set_hash", "xxh64"]

_MASK = (1 << 64) - 1
_P1 = 0x9E3779B185EBCA87
_P2 = 0xC2B2AE3D27D4EB4F
_P3 = 0x165667B19E3779F9
_P4 = 0x85EBCA77C2B2AE63
_P5 = 0x27D4EB2F165667C5
_NS_PER_MS = 1_000_000


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _MASK


def _round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * _P2) & _MASK, 31) * _P1) & _MASK


def _merge(acc: int, lane: int) -> int:
    return ((acc ^ _round(0, lane)) * _P1 + _P4) & _MASK


def xxh64(data: bytes, seed: int = 0) -> int:
    """xxHash64 of ``data`` (the hash Prometheus uses for label sets)."""
    n = len(data)
    i = 0
    if n >= 32:
        v = [(seed + _P1 + _P2) & _MASK, (seed + _P2) & _MASK, seed, (seed - _P1) & _MASK]
        while i + 32 <= n:
            lanes = struct.unpack_from("<4Q", data, i)
            v = [_round(acc, lane) for acc, lane in zip(v, lanes, strict=True)]
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _MASK
        for acc in v:
            h = _merge(h, acc)
    else:
        h = (seed + _P5) & _MASK
    h = (h + n) & _MASK
    while i + 8 <= n:
        (lane,) = struct.unpack_from("<Q", data, i)
        h = (_rotl(h ^ _round(0, lane), 27) * _P1 + _P4) & _MASK
        i += 8
    if i + 4 <= n:
        (word,) = struct.unpack_from("<I", data, i)
        h = (_rotl(h ^ (word * _P1 & _MASK), 23) * _P2 + _P3) & _MASK
        i += 4
    for byte in data[i:]:
        h = (_rotl(h ^ (byte * _P5 & _MASK), 11) * _P1) & _MASK
    h ^= h >> 33
    h = h * _P2 & _MASK
    h ^= h >> 29
    h = h * _P3 & _MASK
    return h ^ (h >> 32)


def _encode_string(text: str) -> bytes:
    raw = text.encode()
    if len(raw) < 255:
        return bytes([len(raw)]) + raw
    return b"\xff" + len(raw).to_bytes(3, "little") + raw


def label_set_hash(labels: dict[str, str]) -> int:
    """``labels.Hash()`` of Prometheus 3 (the default ``stringlabels`` encoding)."""
    data = b"".join(
        _encode_string(name) + _encode_string(value) for name, value in sorted(labels.items())
    )
    return xxh64(data)


def group_offset_ms(file: str, name: str, interval_ms: int) -> int:
    """How far this group's slots lie after the interval's multiples (whole ms)."""
    offset_ns = label_set_hash({"name": name, "file": file}) % (interval_ms * _NS_PER_MS)
    return offset_ns // _NS_PER_MS


def eval_timestamp(now_ms: int, interval_ms: int, offset_ms: int) -> int:
    """The latest slot ``k * interval + offset`` at or before ``now_ms``."""
    shifted = now_ms - offset_ms
    return shifted - shifted % interval_ms + offset_ms
