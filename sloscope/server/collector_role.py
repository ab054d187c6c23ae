"""The collector role's parts, built once over the store and shared by every listener.

One ``OtlpIngest`` serves the main port's ``/v1/*`` paths, the dedicated OTLP/HTTP port and
OTLP/gRPC, so delta totals and the in-flight bound are shared; one traces sink writes spans and
their RED series. ``scrape_configs`` become a :class:`Scraping` (a scraper on its own APScheduler
background scheduler) and ``rum.apps`` the RUM beacon blueprint.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sloscope.server.config_lists import RumAppConfig, ScrapeJobConfig

__all__ = ["CollectorParts", "Scraping", "build_collector", "build_scraping", "rum_blueprint"]

log = logging.getLogger("sloscope.server")


@dataclass
class CollectorParts:
    ingest: Any  # collector.receivers.otlp_ingest.OtlpIngest
    span_store: Any  # collector.store.spans.SpanStore
    traces_sink: Any
    exemplar_store: Any = None  # collector.store.exemplars.ExemplarStore

    def otlp_blueprint(self, name: str):
        from collector.receivers.otlp_http import create_otlp_blueprint

        return create_otlp_blueprint(
            self.ingest.appender, traces_sink=self.traces_sink, ingest=self.ingest, name=name
        )

    def trace_blueprint(self):
        from collector.trace_api import create_trace_blueprint

        return create_trace_blueprint(self.span_store)


def build_collector(store) -> CollectorParts:
    from collector.convert.spans_to_red import RedAccumulator
    from collector.receivers.otlp_ingest import OtlpIngest
    from collector.receivers.traces import make_traces_sink
    from collector.store.exemplars import ExemplarStore
    from collector.store.spans import SpanStore

    span_store = SpanStore(store.engine)
    span_store.create()
    exemplars = ExemplarStore(store.engine)
    exemplars.create()
    sink = make_traces_sink(span_store, store, RedAccumulator(), exemplars)
    ingest = OtlpIngest(store, traces_sink=sink, exemplar_store=exemplars)
    return CollectorParts(ingest, span_store, sink, exemplars)


@dataclass
class Scraping:
    """The configured scrape jobs: a scraper whose jobs run on a daemon background scheduler."""

    scraper: Any  # collector.receivers.scrape.Scraper
    scheduler: Any  # apscheduler.schedulers.background.BackgroundScheduler

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        """Remove the jobs, then wait for a scrape in progress (so it lands before close)."""
        self.scraper.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)


def scrape_config(job: ScrapeJobConfig):
    """One configured job as the scraper's ``ScrapeConfig``."""
    from collector.receivers.scrape import ScrapeConfig

    return ScrapeConfig(
        job.job_name,
        static_groups=tuple((s.targets, s.labels) for s in job.static_configs),
        metrics_path=job.metrics_path,
        scheme=job.scheme,
        interval_s=job.scrape_interval_ms / 1000,
        timeout_s=job.scrape_timeout_ms / 1000,
        honor_labels=job.honor_labels,
        file_sd_path=job.file_sd_path,
    )


def build_scraping(store, jobs: Sequence[ScrapeJobConfig], exemplar_store=None) -> Scraping | None:
    """A scraper over *store* (exemplars to *exemplar_store*) with its jobs added to a (not
    yet started) scheduler; None if there are no jobs."""
    if not jobs:
        return None
    from apscheduler.schedulers.background import BackgroundScheduler

    from collector.receivers.scrape import Scraper

    configs = [scrape_config(job) for job in jobs]
    scraper = Scraper(store, configs, exemplar_store=exemplar_store)
    scheduler = BackgroundScheduler(daemon=True, timezone="UTC")
    scraper.start(scheduler)
    return Scraping(scraper, scheduler)


def rum_blueprint(store, apps: Sequence[RumAppConfig], stats=None):
    """The RUM beacon receiver for *apps* (creating its event table); None if there are none.
    ``stats`` (a RumStats) collects its counts for the self-metrics."""
    if not apps:
        return None
    from collector.receivers.rum import RumApp, RumEventStore, create_rum_blueprint

    events = RumEventStore(store.engine)
    events.create()
    by_name = {
        app.name: RumApp(
            app.name, app.public_key, list(app.allowed_origins), app.rate_per_s, app.burst
        )
        for app in apps
    }
    return create_rum_blueprint(store, events, by_name, stats=stats)
