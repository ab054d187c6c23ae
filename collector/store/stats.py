"""Size figures of a store: what ``sloscope tsdb stats`` prints."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Connection, func, select, text

from collector.store import schema
from collector.store.engine import sqlite_path
from collector.store.interfaces import RejectReason

__all__ = ["StoreStats", "gather_stats"]


@dataclass(frozen=True)
class StoreStats:
    series: int
    chunks: int
    samples: int  # in chunks plus in the WAL
    chunk_bytes: int  # compressed sample payload alone
    disk_bytes: int  # everything the database occupies: index, WAL, free pages
    rejected: dict[RejectReason, int]

    @property
    def bytes_per_sample(self) -> float:
        return self.disk_bytes / self.samples if self.samples else 0.0

    @property
    def chunk_bytes_per_sample(self) -> float:
        return self.chunk_bytes / self.samples if self.samples else 0.0


def gather_stats(
    conn: Connection, url: str, unflushed: int, rejected: dict[RejectReason, int]
) -> StoreStats:
    c = schema.chunks.c
    chunks, samples, payload = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(c.num_samples), 0),
            func.coalesce(func.sum(func.length(c.data)), 0),
        )
    ).one()
    series = conn.execute(select(func.count()).select_from(schema.series)).scalar_one()
    return StoreStats(
        series=int(series),
        chunks=int(chunks),
        samples=int(samples) + unflushed,
        chunk_bytes=int(payload),
        disk_bytes=_disk_bytes(conn, url),
        rejected=rejected,
    )


def _disk_bytes(conn: Connection, url: str) -> int:
    if conn.dialect.name == "postgresql":
        names = [t.name for t in schema.metadata.sorted_tables]
        query = text(
            "SELECT sum(pg_total_relation_size(quote_ident(t)))"
            " FROM unnest(CAST(:names AS text[])) t"
        )
        return int(conn.execute(query, {"names": names}).scalar() or 0)
    path = sqlite_path(url)
    if path is None:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar() or 0
        return int(pages) * int(conn.exec_driver_sql("PRAGMA page_size").scalar() or 0)
    return sum(
        os.path.getsize(f"{path}{suffix}")
        for suffix in ("", "-wal")
        if os.path.exists(f"{path}{suffix}")
    )
