"""The dedicated OTLP listeners: HTTP on :4318 and gRPC on :4317, what stock exporters expect."""

from __future__ import annotations

import logging
import threading

__all__ = ["OtlpListeners"]

log = logging.getLogger("sloscope.server")


class OtlpListeners:
    """Constructed idle; ``start()`` binds and serves, ``stop()`` closes both."""

    def __init__(self, collector, otlp_config) -> None:
        self._collector = collector
        self._config = otlp_config
        self._http = None
        self._thread: threading.Thread | None = None
        self._grpc = None
        self.http_port = self.grpc_port = 0

    def start(self) -> None:
        from flask import Flask
        from waitress import create_server

        from collector.receivers.otlp_grpc import bind_grpc_server

        app = Flask("sloscope-otlp")
        app.register_blueprint(self._collector.otlp_blueprint("otlp_dedicated"))
        http_listen, grpc_listen = self._config.http_listen, self._config.grpc_listen
        self._http = create_server(app, host=http_listen.host, port=http_listen.port)
        self._thread = threading.Thread(target=self._http.run, name="otlp-http", daemon=True)
        self._thread.start()
        self._grpc, port = bind_grpc_server(
            self._collector.ingest.appender,
            f"{grpc_listen}",
            ingest=self._collector.ingest,
        )
        self._grpc.start()
        self.http_port, self.grpc_port = self._http.effective_port, port
        log.info(
            "OTLP/HTTP on %s:%s, OTLP/gRPC on %s:%s",
            http_listen.host,
            self._http.effective_port,
            grpc_listen.host,
            port,
        )

    def stop(self) -> None:
        if self._grpc is not None:
            self._grpc.stop(grace=5).wait(10)
        if self._http is not None:
            self._http.close()
        if self._thread is not None:
            self._thread.join(timeout=10)
