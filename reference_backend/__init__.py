"""The reference shop: a Flask service showing every pattern sloscope watches.

    from reference_backend import create_app
    app = create_app()              # settings from the environment

It uses only sloscope's public SDK and talks to the platform over the wire.
"""

from __future__ import annotations

import logging
from importlib import import_module

from flask import Flask

from reference_backend.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger("reference_backend")

# One module per area, each exposing ``bp`` (a Blueprint).
BLUEPRINTS = (
    "reference_backend.blueprints.health",
    "reference_backend.blueprints.products",
    "reference_backend.blueprints.orders",
    "reference_backend.blueprints.customers",
    "reference_backend.blueprints.reports",
    "reference_backend.blueprints.pages",
    "reference_backend.blueprints.admin",
)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the shop: engines, schema, caches, job worker, faults, blueprints, SDK hooks."""
    import sloscope.flask
    from reference_backend.errors import register_error_handlers
    from reference_backend.wiring import build_state

    settings = settings or Settings.from_environ()
    app = Flask("reference_backend")
    app.extensions["shop"] = build_state(settings)
    register_error_handlers(app)
    for name in BLUEPRINTS:
        module = import_module(name)
        app.register_blueprint(module.bp)
        # An area may also need start-up work: warm a cache, schedule a refresh.
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup(app, app.extensions["shop"])
    sloscope.flask.init_app(app)
    from flask_compress import Compress

    app.config["COMPRESS_MIN_SIZE"] = 1024  # gzip only what is worth it
    Compress(app)
    return app
