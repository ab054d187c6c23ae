"""sloscope's SDK: metrics and traces for Flask, SQLAlchemy, Redis, caches and job workers.

    import sloscope
    sloscope.init(service_name="shop")
    sloscope.flask.init_app(app)   # from sloscope import flask as sloscope_flask

Importing this package loads nothing heavy: the OpenTelemetry SDK and the integrations' target
libraries are imported by ``init()`` and the integrations themselves.
"""

from sloscope._client import get_client, init, shutdown

__all__ = ["get_client", "init", "shutdown"]
