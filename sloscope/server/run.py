"""``sloscope server``: the composition root that opens the store and serves HTTP."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from sloscope.server.config import Config, ListenAddress, RumAppConfig
from sloscope.server.settings import CommandError, config_for, fail, open_store

__all__ = ["create_http_app", "run_server"]

log = logging.getLogger("sloscope.server")


def create_http_app(store, collector=None, *, rum_apps: Sequence[RumAppConfig] = ()):
    """The Flask app served on ``server.listen``: health, Prometheus' HTTP API over the store
    (so Grafana can use sloscope as a Prometheus data source), given the collector's parts the
    OTLP/HTTP paths and the trace API, and given ``rum.apps`` the RUM beacon paths."""
    from flask import Flask

    from collector.http_api import create_api_blueprint
    from collector.promql.engine import Engine

    app = Flask("sloscope")
    app.extensions["sloscope.store"] = store
    exemplars = None if collector is None else collector.exemplar_store
    api = create_api_blueprint(Engine(store), store, exemplars=exemplars)
    app.register_blueprint(api, url_prefix="/api/v1")
    parts: dict = {"store": store}
    appender = store if collector is None else collector.ingest.appender
    if collector is not None:
        from collector.receivers.remote_write import create_remote_write_blueprint

        app.register_blueprint(collector.otlp_blueprint("otlp"))
        app.register_blueprint(collector.trace_blueprint())
        remote_write = create_remote_write_blueprint(appender)
        app.register_blueprint(remote_write)
        parts.update(ingest=collector.ingest, remote_write=remote_write.stats, appender=appender)
    if rum_apps:
        from collector.receivers.rum import RumStats
        from sloscope.server.collector_role import rum_blueprint

        parts["rum"] = RumStats()
        app.register_blueprint(rum_blueprint(appender, rum_apps, stats=parts["rum"]))
    from sloscope.server.self_metrics import (
        build_self_metrics_registry,
        create_self_metrics_blueprint,
    )

    app.register_blueprint(create_self_metrics_blueprint(build_self_metrics_registry(**parts)))

    @app.get("/-/healthy")
    def healthy():
        return "sloscope is Healthy.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}

    @app.get("/-/ready")
    def ready():
        store.ping()  # answers only while the database does
        return "sloscope is Ready.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}

    return app


def _apply_flags(config: Config, args: argparse.Namespace) -> Config:
    server = config.server
    if args.listen:
        host, _, port = args.listen.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise CommandError(f"--listen: expected HOST:PORT, got {args.listen!r}")
        server = dataclasses.replace(server, listen=ListenAddress(host.strip("[]"), int(port)))
    if args.data_dir:
        server = dataclasses.replace(server, data_dir=Path(args.data_dir))
    return dataclasses.replace(config, server=server)


def _configure(args: argparse.Namespace):
    config = _apply_flags(config_for(args.config), args)
    logging.basicConfig(
        level=config.log.level.logging_level, format="%(asctime)s %(levelname)s %(message)s"
    )
    return config, open_store(config)


def run_server(args: argparse.Namespace) -> int:
    from waitress import create_server

    from sloscope.server.collector_role import build_collector, build_scraping
    from sloscope.server.maintenance import MaintenanceLoop
    from sloscope.server.otlp_listeners import OtlpListeners
    from sloscope.server.rules_role import build_rules, external_url_of, register_rules_api
    from sloscope.server.self_metrics import TimedAppender
    from sloscope.server.web_role import mount_dashboard

    try:
        config, store = _configure(args)
    except CommandError as exc:
        return fail(str(exc))
    appender = TimedAppender(store)
    collector = build_collector(appender)
    loop = MaintenanceLoop(
        store,
        config.storage.retention_ms,
        span_store=collector.span_store,
        exemplar_store=collector.exemplar_store,
    )
    listen = config.server.listen
    app = create_http_app(store, collector, rum_apps=config.rum.apps)
    http = create_server(app, host=listen.host, port=listen.port)
    try:
        external_url = external_url_of(config, http.effective_port)
        rules = build_rules(config, store, appender, external_url)
    except CommandError as exc:
        http.close()
        store.close()
        return fail(str(exc))
    register_rules_api(app, rules)
    mount_dashboard(app, config, store, collector, rules)
    scraping = build_scraping(store, config.scrape_configs, collector.exemplar_store)
    otlp = OtlpListeners(collector, config.otlp)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # Stopped in reverse: receivers first, then rules, scrapes and the maintenance loop.
    background = [part for part in (loop, scraping, rules, otlp) if part is not None]
    for part in background:
        part.start()
    log.info(
        "sloscope server on http://%s:%s (pid %d), store %s",
        listen.host,
        http.effective_port,
        os.getpid(),
        config.sqlalchemy_url,
    )
    try:
        http.run()  # returns on SIGINT/SIGTERM: waitress turns KeyboardInterrupt into a return
    except KeyboardInterrupt:
        pass
    finally:
        log.info("shutting down: flushing the store")
        http.close()
        for part in reversed(background):
            part.stop()
        store.close()
    return 0
