"""Prometheus-compatible HTTP API (``/api/v1``), so Grafana can use sloscope as a Prometheus
data source.

``routes`` holds the Flask blueprint factory, ``params`` the parsing of times, durations and
limits, ``selectors`` the ``match[]`` selectors, and ``encode`` the JSON, which follows
Prometheus byte for byte.
"""

from collector.http_api.routes import QueryEngine, create_api_blueprint, default_build_info

__all__ = ["QueryEngine", "create_api_blueprint", "default_build_info"]
