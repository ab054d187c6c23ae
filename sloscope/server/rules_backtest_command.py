"""``sloscope rules backtest FILE... --from TIME --to TIME``: replay stored history.

The store is opened read-only (:class:`ReadOnlySqlStore`): a backtest is most useful against
the store a running server writes, and ``SqlStore.open`` would want that server's writer lock.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

import numpy as np
from sqlalchemy import inspect, select

from collector.model import Labels
from collector.store import schema
from collector.store.engine import create_store_engine, sqlite_path
from collector.store.interfaces import AppendResult, StoreError
from collector.store.sql import SqlStore
from sloscope.server.durations import parse_duration
from sloscope.server.settings import CommandError, config_for, fail

__all__ = [
    "ReadOnlySqlStore",
    "format_duration",
    "open_store_read_only",
    "parse_time_ms",
    "run_backtest",
]

_RELATIVE = re.compile(r"^(?:now)?(?:([+-])(\S+))?$")


def parse_time_ms(text: str, now_ms: int) -> int:
    """RFC 3339, unix seconds (fractions allowed), ``now``, or relative: ``-7d``, ``now-1h``.

    >>> parse_time_ms("2024-01-01T00:00:00Z", 0), parse_time_ms("1704067200.5", 0)
    (1704067200000, 1704067200500)
    >>> parse_time_ms("now", 10_000), parse_time_ms("-7s", 10_000), parse_time_ms("now-1s", 0)
    (10000, 3000, -1000)
    """
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative and text and (text == "now" or relative.group(1)):
        sign, amount = relative.groups()
        if sign is None:
            return now_ms
        try:
            delta = parse_duration(amount)
        except ValueError as exc:
            raise CommandError(f"invalid time {text!r}: {exc}") from None
        return now_ms - delta if sign == "-" else now_ms + delta
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds):
            return round(seconds * 1000)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"invalid time {text!r}: use RFC 3339, unix seconds, 'now' or a relative time like -7d"
        ) from None
    if parsed.tzinfo is None:
        raise CommandError(f"invalid time {text!r}: RFC 3339 needs a time zone (Z or +hh:mm)")
    return round(parsed.timestamp() * 1000)


def format_duration(ms: int) -> str:
    """Prometheus' duration style: ``1d2h``, ``7m30s``, ``0s``.

    >>> format_duration(93_600_000), format_duration(450_000), format_duration(0)
    ('1d2h', '7m30s', '0s')
    """
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    if ms:
        parts.append(f"{ms}ms")
    return "".join(parts) or "0s"


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_backtest(args: argparse.Namespace) -> int:
    from slo.rules.backtest import backtest
    from slo.rules.loader import load_rule_files

    try:
        config = config_for(args.config)
        now_ms = time.time_ns() // 1_000_000
        start_ms, end_ms = parse_time_ms(args.start, now_ms), parse_time_ms(args.end, now_ms)
        if end_ms < start_ms:
            raise CommandError("--to must not be before --from")
        groups, errors = load_rule_files(args.files)
        if errors:
            for error in errors:
                print(error, file=sys.stderr)
            return 1
        store = open_store_read_only(config.sqlalchemy_url)
    except CommandError as exc:
        return fail(str(exc))
    try:
        report = backtest(
            groups,
            store,
            start_ms,
            end_ms,
            interval_ms=config.rules.evaluation_interval_ms,
            external_url=config.rules.external_url,
        )
    finally:
        store.close()
    print_report(report, sys.stdout)
    return 0


def print_report(report, out: TextIO) -> None:
    """The episodes per alert, then the summary table and any rule errors."""
    span = f"{_rfc3339(report.start_ms)} to {_rfc3339(report.end_ms)}"
    print(f"Backtest from {span}: {report.evaluations} group evaluations.", file=out)
    if not report.episodes:
        print("No alert would have been pending or firing.", file=out)
    for labels in sorted({e.labels for e in report.episodes}):
        print(f"\n{alert_text(labels)}", file=out)
        for episode in (e for e in report.episodes if e.labels == labels):
            print(f"  {_episode_line(episode, report.end_ms)}", file=out)
    if report.episodes:
        print("\nSummary (most firing time first):", file=out)
        rows = [("ALERT", "EPISODES", "FIRED", "FIRING FOR")]
        rows += [
            (alert_text(s.labels), str(s.episodes), str(s.fired), format_duration(s.firing_ms))
            for s in report.summary()
        ]
        width = max(len(row[0]) for row in rows)
        for row in rows:
            print(f"{row[0]:<{width}}  {row[1]:>8}  {row[2]:>5}  {row[3]:>10}", file=out)
    for errors in report.errors:
        print(
            f"\nrule {errors.group}/{errors.rule}: {errors.count} evaluations failed,"
            f" first at {_rfc3339(errors.first_at_ms)}: {errors.first_error}",
            file=out,
        )


def alert_text(labels: Labels) -> str:
    """``ApiDown{job="api"}``: the alert name, then its other labels."""
    name = labels.get("alertname")
    rest = Labels(pair for pair in labels if pair[0] != "alertname")
    return f"{name}{str(rest) if rest else ''}"


def _episode_line(episode, end_ms: int) -> str:
    parts = [f"pending {_rfc3339(episode.pending_at_ms)}"]
    if episode.firing_at_ms is not None:
        parts.append(f"firing {_rfc3339(episode.firing_at_ms)}")
    if episode.resolved_at_ms is not None:
        parts.append(f"resolved {_rfc3339(episode.resolved_at_ms)}")
    else:
        parts.append("still active at the end")
    if episode.firing_at_ms is None:
        parts.append(f"(pending {format_duration(episode.pending_ms(end_ms))}, never fired)")
    else:
        parts.append(f"(firing {format_duration(episode.firing_ms(end_ms))})")
    return "  ".join(parts)


class ReadOnlySqlStore(SqlStore):
    """A :class:`SqlStore` that takes no writer lock, changes no schema, flushes nothing on
    close and refuses appends. Samples the writer holds only in its WAL are read at open."""

    def open(self) -> None:
        path = sqlite_path(self.url)
        if path is not None and not path.is_file():
            raise StoreError(f"there is no store at {path}")
        engine = create_store_engine(self.url)
        try:
            with engine.connect() as conn:
                if not inspect(conn).has_table(schema.meta.name):
                    raise StoreError(f"{self.url} holds no sloscope store")
                version = conn.execute(
                    select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
                ).scalar()
                if version is not None and int(version) != schema.SCHEMA_VERSION:
                    raise StoreError(
                        f"store schema version {version} is not {schema.SCHEMA_VERSION}"
                    )
                self._load_head(conn)
        except BaseException:
            engine.dispose()
            raise
        self._engine = engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def append(
        self, samples: Sequence[tuple[Labels, int, float]], *, sync: bool = True
    ) -> AppendResult:
        raise StoreError("the store is open read-only")

    def append_series(
        self, labels: Labels, timestamps: np.ndarray, values: np.ndarray
    ) -> AppendResult:
        raise StoreError("the store is open read-only")

    def flush(self) -> int:
        return 0


def open_store_read_only(url: str) -> ReadOnlySqlStore:
    """Open the store at ``url`` for reading (the caller closes it)."""
    store = ReadOnlySqlStore(url)
    try:
        store.open()
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    return store
