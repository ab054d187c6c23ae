"""Instrument a Flask app with sloscope: request metrics, server spans and ``/metrics``.

    import flask
    import sloscope
    import sloscope.flask

    def create_app() -> flask.Flask:
        app = flask.Flask(__name__)
        sloscope.flask.init_app(app)  # before or after sloscope.init(), once per app
        return app

Importing this module imports Flask; it raises
:class:`sloscope.integrations.DidNotEnable` when Flask is missing or older than 2.2.
"""

from sloscope.integrations.flask import init_app

__all__ = ["init_app"]
