"""Scraping Prometheus ``/metrics`` endpoints into the store, with Prometheus' staleness.

:meth:`Scraper.scrape_once` is one scrape, pure of scheduling: fetch, parse (Prometheus text or
OpenMetrics, as the response's content type says), attach target labels, write the samples,
the stale markers and the report series (``up``, ``scrape_duration_seconds``, ...) in one
durable append. :meth:`Scraper.start` adds one APScheduler interval job per target; nothing
runs at import or construction.

Staleness follows Prometheus: a series in the previous scrape of a target but not in this
one gets a stale NaN at this scrape's time; a failed scrape writes ``up 0`` and stale markers
for every series of the last good scrape; a target that leaves the configuration or its
file_sd file gets stale markers for all its series, report series included. Series exposed
with their own timestamp are never marked stale (Prometheus does not either).

Where we differ on purpose: a departed target's markers carry the time it was seen gone,
not the end of its last interval; exemplars go to the exemplar store when one is given
(else they are counted as dropped); there is no relabeling, so
``scrape_samples_post_metric_relabeling`` equals ``scrape_samples_scraped``.
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import logging
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from collector.model import STALE_NAN, Labels
from collector.receivers.scrape_targets import (
    FileSD,
    ScrapeConfig,
    Target,
    current_targets,
    merge_target_labels,
)
from collector.store.exemplars import Exemplar, ExemplarStore
from collector.store.interfaces import AppendResult
from collector.textparse import TextFormat, TextParseError, TextSample, parse

__all__ = [
    "ACCEPT",
    "FetchResponse",
    "ScrapeConfig",
    "ScrapeResult",
    "Scraper",
    "Target",
    "http_fetch",
]

log = logging.getLogger("collector.receivers.scrape")

ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
REPORT_NAMES = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
)


class SampleAppender(Protocol):
    def append(
        self, samples: Sequence[tuple[Labels, int, float]]
    ) -> AppendResult: ...  # pragma: no cover - protocol


@dataclass(frozen=True)
class FetchResponse:
    """What a fetch returns; ``status`` is the HTTP status code."""

    status: int
    content_type: str
    body: bytes
    reason: str = ""


Fetch = Callable[[str, dict[str, str], float], FetchResponse]


def http_fetch(url: str, headers: dict[str, str], timeout_s: float) -> FetchResponse:
    """GET *url* with urllib (no extra dependency); HTTP errors come back as responses."""
    req = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - http(s) only
            return FetchResponse(resp.status, resp.headers.get("Content-Type", ""), resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return FetchResponse(exc.code, exc.headers.get("Content-Type", ""), b"", exc.reason)


@dataclass(frozen=True)
class ScrapeResult:
    """What one scrape did; ``error`` is None exactly when ``up``."""

    target: Target
    timestamp_ms: int
    up: bool
    duration_s: float
    samples_scraped: int
    series_added: int
    stale_markers: int
    exemplars_dropped: int
    appended: int
    rejected: int
    error: str | None = None


def text_format(content_type: str) -> TextFormat:
    """OpenMetrics when the server says so; anything else is read as Prometheus text."""
    media = content_type.partition(";")[0].strip().lower()
    if media == "application/openmetrics-text":
        return TextFormat.OPENMETRICS
    return TextFormat.PROMETHEUS


@dataclass
class _Parsed:
    samples: list[tuple[Labels, int, float]]
    tracked: set[Labels]  # series without their own timestamp: the ones that can go stale
    scraped: int
    exemplars: list[Exemplar]


def _convert(items: Iterable[Any], target: Target, config: ScrapeConfig, now_ms: int) -> _Parsed:
    """Parsed items to store samples with target labels; a repeated series keeps its first."""
    out = _Parsed([], set(), 0, [])
    seen: set[Labels] = set()
    for item in items:
        if not isinstance(item, TextSample):
            continue
        out.scraped += 1
        labels = merge_target_labels(item.name, item.labels, target.labels, config.honor_labels)
        if (found := item.exemplar) is not None:
            stamp = now_ms if found.timestamp_ms is None else found.timestamp_ms
            out.exemplars.append(Exemplar(labels, Labels.of(found.labels), stamp, found.value))
        if labels in seen:
            continue  # Prometheus: "duplicate sample for timestamp"
        seen.add(labels)
        if item.timestamp_ms is None:
            out.tracked.add(labels)
        out.samples.append(
            (labels, now_ms if item.timestamp_ms is None else item.timestamp_ms, item.value)
        )
    return out


def _report(target: Target, now_ms: int, values: Sequence[float]):
    """The report series (``up`` and friends) with the target's labels."""
    return [
        (Labels.of({**target.labels.as_dict(), "__name__": name}), now_ms, value)
        for name, value in zip(REPORT_NAMES, values, strict=True)
    ]


class Scraper:
    """Scrapes the targets of *configs* into *appender*.

    :param fetch: ``fetch(url, headers, timeout_s) -> FetchResponse``; defaults to urllib.
    :param clock: seconds since the epoch; used for scrape durations and scheduled runs.
    Construction does no I/O; ``start(scheduler)`` begins the scraping.
    """

    def __init__(
        self,
        appender: SampleAppender,
        configs: Iterable[ScrapeConfig],
        *,
        fetch: Fetch | None = None,
        clock: Callable[[], float] | None = None,
        exemplar_store: ExemplarStore | None = None,
    ) -> None:
        self._appender = appender
        self._exemplar_store = exemplar_store
        self._fetch = fetch or http_fetch
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._configs: dict[str, ScrapeConfig] = {}
        self._file_sd: dict[str, FileSD] = {}
        self._targets: dict[str, list[Target]] = {}
        # Per target: series of its last scrape (all, and those that can go stale).
        self._series: dict[Target, tuple[frozenset[Labels], frozenset[Labels]]] = {}
        self._scheduler: Any = None
        self._jobs: dict[Target, str] = {}
        self.exemplars_dropped = 0
        self._set_configs(configs)

    def _set_configs(self, configs: Iterable[ScrapeConfig]) -> None:
        configs = list(configs)
        names = [c.job_name for c in configs]
        if len(set(names)) != len(names):
            raise ValueError("job_name values must be unique")
        old = {sd.path: sd for sd in self._file_sd.values()}  # keep their last good targets
        self._configs = {c.job_name: c for c in configs}
        self._file_sd = {
            c.job_name: old.get(c.file_sd_path) or FileSD(c.file_sd_path)
            for c in configs
            if c.file_sd_path
        }

    # -- targets ------------------------------------------------------------------------------

    def targets(self, job: str | None = None) -> list[Target]:
        """The targets of *job* (all jobs when None) as of the last refresh."""
        with self._lock:
            if not self._targets:
                self._targets = {
                    j: current_targets(c, self._file_sd.get(j)) for j, c in self._configs.items()
                }
            jobs = [job] if job is not None else list(self._targets)
            return [t for j in jobs for t in self._targets.get(j, [])]

    def refresh_targets(self, now_ms: int | None = None) -> list[Target]:
        """Re-read file_sd files; mark departed targets stale. Returns the departed targets."""
        now_ms = int(self._clock() * 1000) if now_ms is None else now_ms
        with self._lock:
            before = {t for ts in self._targets.values() for t in ts} | set(self._series)
            self._targets = {
                j: current_targets(c, self._file_sd.get(j)) for j, c in self._configs.items()
            }
            after = {t for ts in self._targets.values() for t in ts}
        gone = sorted(before - after, key=lambda t: (t.job, t.address, t.labels))
        for target in gone:
            self._end_target(target, now_ms)
        self._sync_jobs()
        return gone

    def _end_target(self, target: Target, now_ms: int) -> None:
        """Stale markers for all of a departed target's series, report series included."""
        with self._lock:
            state = self._series.pop(target, None)
        if state is None:
            return
        stale = [(labels, now_ms, STALE_NAN) for labels in sorted(state[1])]
        stale += _report(target, now_ms, [STALE_NAN] * len(REPORT_NAMES))
        self._appender.append(stale)

    def _resolve(self, job: str, target: Target | str) -> tuple[ScrapeConfig, Target]:
        config = self._configs.get(job)
        if config is None:
            raise KeyError(f"no scrape config for job {job!r}")
        if isinstance(target, Target):
            return config, target
        for known in self.targets(job):
            if known.address == target:
                return config, known
        return config, Target.of(job, target)

    # -- scraping -----------------------------------------------------------------------------

    def _get(
        self, config: ScrapeConfig, target: Target, now_ms: int
    ) -> tuple[_Parsed | None, str | None]:
        headers = {
            "Accept": ACCEPT,
            "Accept-Encoding": "identity",
            "User-Agent": "sloscope-scraper",
            "X-Prometheus-Scrape-Timeout-Seconds": f"{config.timeout_s:g}",
        }
        try:
            resp = self._fetch(target.url(config), headers, config.timeout_s)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        if resp.status != 200:
            return None, f"server returned HTTP status {resp.status} {resp.reason}".rstrip()
        try:
            text = resp.body.decode("utf-8")
            items = parse(io.StringIO(text, newline="\n"), text_format(resp.content_type))
            return _convert(items, target, config, now_ms), None
        except UnicodeDecodeError as exc:
            return None, f"body is not UTF-8: {exc}"
        except TextParseError as exc:
            return None, f"parse error: {exc}"

    def scrape_once(self, job: str, target: Target | str, now_ms: int) -> ScrapeResult:
        """Scrape one target at *now_ms* and write what it yields (durably, one append).

        :param target: a :class:`Target` or its ``host:port``.
        :raise KeyError: no config for *job*. Store errors propagate.
        """
        config, target = self._resolve(job, target)
        start = self._clock()
        parsed, error = self._get(config, target, now_ms)
        duration = max(self._clock() - start, 0.0)
        with self._lock:
            prev_all, prev_tracked = self._series.get(target, (frozenset(), frozenset()))
        if parsed is None:
            samples, all_now, tracked = [], frozenset(), frozenset()
        else:
            samples = parsed.samples
            all_now = frozenset(lb for lb, _, _ in samples)
            tracked = frozenset(parsed.tracked)
        stale = [(lb, now_ms, STALE_NAN) for lb in sorted(prev_tracked - tracked)]
        scraped = parsed.scraped if parsed else 0
        added = len(all_now - prev_all)
        report = _report(
            target, now_ms, [float(parsed is not None), duration, scraped, scraped, added]
        )
        result = self._appender.append(samples + stale + report)
        exemplars = len(parsed.exemplars) if parsed else 0
        if exemplars and self._exemplar_store is not None:
            self._exemplar_store.append(parsed.exemplars)
            exemplars = 0
        with self._lock:
            self._series[target] = (all_now, tracked)
            self.exemplars_dropped += exemplars
        if error:
            log.info("scrape %s %s failed: %s", job, target.address, error)
        return ScrapeResult(
            target,
            now_ms,
            parsed is not None,
            duration,
            scraped,
            added,
            len(stale),
            exemplars,
            result.appended,
            result.rejected_total,
            error,
        )

    # -- scheduling ---------------------------------------------------------------------------

    def start(self, scheduler: Any, *, refresh_interval_s: float = 5.0) -> None:
        """Add one interval job per target to an APScheduler 3 scheduler, plus a job that
        re-reads file_sd files. Each target gets a fixed offset within its interval (derived
        from its labels, as Prometheus does) so scrapes spread out but keep their phase."""
        self._scheduler = scheduler
        self.targets()
        if self._file_sd:
            scheduler.add_job(
                self.refresh_targets,
                "interval",
                seconds=refresh_interval_s,
                id="scrape:file_sd",
                replace_existing=True,
                max_instances=1,
                coalesce=True,
            )
        self._sync_jobs()

    def stop(self) -> None:
        """Remove this scraper's jobs from the scheduler."""
        if self._scheduler is None:
            return
        for job_id in [*self._jobs.values(), "scrape:file_sd"]:
            if self._scheduler.get_job(job_id) is not None:
                self._scheduler.remove_job(job_id)
        self._jobs.clear()
        self._scheduler = None

    def _sync_jobs(self) -> None:
        if self._scheduler is None:
            return
        wanted = set(self.targets())
        for target in [t for t in self._jobs if t not in wanted]:
            job_id = self._jobs.pop(target)
            if self._scheduler.get_job(job_id) is not None:
                self._scheduler.remove_job(job_id)
        for target in sorted(wanted - set(self._jobs), key=lambda t: t.labels):
            self._add_job(target)

    def _add_job(self, target: Target) -> None:
        config = self._configs[target.job]
        key = zlib.crc32(repr(target.labels).encode())
        offset = (key % 1_000_000) / 1_000_000 * config.interval_s
        first = dt.datetime.fromtimestamp(self._clock() + offset, tz=dt.UTC)
        job_id = f"scrape:{target.job}:{target.address}:{key:08x}"
        self._scheduler.add_job(
            self._run,
            "interval",
            args=(target,),
            seconds=config.interval_s,
            start_date=first,
            id=job_id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )
        self._jobs[target] = job_id

    def _run(self, target: Target) -> None:
        """A scheduled scrape; errors are logged, never raised into the scheduler."""
        try:
            self.scrape_once(target.job, target, int(self._clock() * 1000))
        except Exception:  # noqa: BLE001 - one target's failure must not stop the others
            log.exception("scrape %s %s: could not store the scrape", target.job, target.address)
