"""``sloscope tsdb import FILE`` and ``sloscope tsdb stats``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from sloscope.server.settings import CommandError, config_for, fail, open_store

__all__ = ["run_import", "run_stats"]


@contextmanager
def _input(name: str) -> Iterator[TextIO]:
    if name == "-":
        yield sys.stdin
        return
    try:
        handle = open(name, encoding="utf-8", newline="")
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror}") from None
    with handle:
        yield handle


def run_import(args: argparse.Namespace) -> int:
    from collector.store.importer import import_series, read_openmetrics
    from collector.textparse import TextParseError

    try:
        config = config_for(args.config)
        started = time.perf_counter()
        with _input(args.file) as handle:
            try:
                parsed = read_openmetrics(handle)
            except TextParseError as exc:
                where = "<stdin>" if args.file == "-" else args.file
                raise CommandError(f"{where}:{exc.line}: {exc.message}; nothing imported") from None
            except UnicodeDecodeError as exc:
                raise CommandError(f"{args.file}: not UTF-8 text ({exc.reason})") from None
        store = open_store(config)
        try:
            result = import_series(store, parsed)
        finally:
            store.close()
    except CommandError as exc:
        return fail(str(exc))
    elapsed = time.perf_counter() - started
    print(
        f"imported {result.samples} samples in {result.series} series"
        f" in {elapsed:.2f}s ({result.samples / max(elapsed, 1e-9):,.0f} samples/s)"
    )
    if result.duplicates:
        print(f"ignored {result.duplicates} samples already stored with the same value")
    for reason, count in sorted(result.rejected.items(), key=lambda kv: kv[0].value):
        print(f"rejected {count} samples: {reason.value}")
    return 1 if result.rejected else 0


def run_stats(args: argparse.Namespace) -> int:
    try:
        store = open_store(config_for(args.config))
    except CommandError as exc:
        return fail(str(exc))
    try:
        stats = store.stats()
    finally:
        store.close()
    rows = [
        ("series", f"{stats.series:,}"),
        ("samples", f"{stats.samples:,}"),
        ("chunks", f"{stats.chunks:,}"),
        ("bytes on disk", f"{stats.disk_bytes:,}"),
        ("bytes per sample", f"{stats.bytes_per_sample:.2f}"),
        ("chunk bytes per sample", f"{stats.chunk_bytes_per_sample:.2f}"),
    ]
    for name, value in rows:
        print(f"{name:<24}{value}")
    return 0
