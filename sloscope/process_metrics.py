"""Process and runtime metrics: CPU, memory, file descriptors, GC and threads.

prometheus_client's stock collectors give ``process_cpu_seconds_total``,
``process_resident_memory_bytes``, ``process_virtual_memory_bytes``, ``process_open_fds``,
``process_max_fds``, ``process_start_time_seconds`` (read from ``/proc``, so Linux only),
``python_info`` and ``python_gc_*``. prometheus_client has no thread count, so a small collector
adds ``python_threads``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["register_process_metrics"]

log = logging.getLogger("sloscope")


class _ThreadsCollector:
    """``python_threads``: Python threads alive now, read at scrape time."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        yield GaugeMetricFamily(
            "python_threads",
            "Python threads alive (threading.active_count()).",
            value=threading.active_count(),
        )


class _Described:
    """A collector with ``describe()``, so any registry can refuse it as a duplicate.

    Without ``describe()`` a registry made with ``auto_describe=False`` (the default) cannot see
    a collector's names and would accept it twice, doubling every series on scrape.
    """

    def __init__(self, name: str, collector: Any) -> None:
        self.name = name
        self._collector = collector

    def collect(self) -> Iterable[Any]:
        return self._collector.collect()

    def describe(self) -> list[Any]:
        return list(self._collector.collect())


def _collectors() -> list[_Described]:
    from prometheus_client import (
        CollectorRegistry,
        GCCollector,
        PlatformCollector,
        ProcessCollector,
    )

    found = [
        _Described("process", ProcessCollector(registry=None)),
        _Described("platform", PlatformCollector(registry=None)),
        _Described("threads", _ThreadsCollector()),
    ]
    # GCCollector registers itself in its constructor, and only where gc.get_stats exists
    # (CPython): build it on a scratch registry and keep it if it went there.
    scratch = CollectorRegistry()
    collector = GCCollector(registry=scratch)
    if list(scratch.collect()):
        found.append(_Described("gc", collector))
    return found


def register_process_metrics(registry: Any) -> None:
    """Register the process, platform, GC and thread collectors on ``registry``.

    Idempotent per registry: a collector whose metrics are already there is skipped (logged at
    debug), so a second call, or a registry that has some of them already, is fine.

    >>> from prometheus_client import CollectorRegistry
    >>> from sloscope.process_metrics import register_process_metrics
    >>> registry = CollectorRegistry()
    >>> register_process_metrics(registry)
    >>> registry.get_sample_value("python_threads") >= 1
    True
    >>> register_process_metrics(registry)  # again: nothing added, nothing raised
    """
    for collector in _collectors():
        try:
            registry.register(collector)
        except ValueError as exc:  # prometheus_client's "Duplicated timeseries"
            log.debug("sloscope: %s metrics already registered: %s", collector.name, exc)
