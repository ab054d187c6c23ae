"""Deleting what is older than the retention period (SQL only; the store drives it).

A chunk goes only when its newest sample is older than the cut, so no sample inside the
retention period is ever lost. Series left with no chunks and no samples in the head are
deleted with their postings, and label values nothing refers to any more go with them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, exists, insert, select, update

from collector.store import schema
from collector.store.index import batched

__all__ = ["RetentionResult", "delete_expired"]


@dataclass(frozen=True)
class RetentionResult:
    cut: int
    chunks_deleted: int
    series_deleted: list[int]


def delete_expired(conn: Connection, cut: int, live_series: Collection[int]) -> RetentionResult:
    """Delete chunks whose samples are all older than ``cut`` (ms), then orphaned series.

    ``live_series`` are series with samples not yet in any chunk (the writer's head).
    """
    c, s, p, lv = schema.chunks, schema.series, schema.postings, schema.label_values
    chunks_deleted = conn.execute(delete(c).where(c.c.max_time < cut)).rowcount
    orphans = [
        int(i)
        for i in conn.execute(
            select(s.c.id).where(~exists().where(c.c.series_id == s.c.id))
        ).scalars()
        if int(i) not in live_series
    ]
    for batch in batched(orphans):
        conn.execute(delete(p).where(p.c.series_id.in_(batch)))
        conn.execute(delete(s).where(s.c.id.in_(batch)))
    if orphans:
        conn.execute(delete(lv).where(~exists().where(p.c.label_value_id == lv.c.id)))
    _remember_cut(conn, cut)
    return RetentionResult(cut, chunks_deleted, orphans)


def _remember_cut(conn: Connection, cut: int) -> None:
    m = schema.meta
    found = conn.execute(select(m.c.value).where(m.c.key == "min_valid_time")).scalar()
    if found is None:
        conn.execute(insert(m).values(key="min_valid_time", value=str(cut)))
    elif int(found) < cut:
        conn.execute(
            update(m).where(m.c.key == bindparam("k")).values(value=str(cut)),
            {"k": "min_valid_time"},
        )
