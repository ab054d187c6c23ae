"""The dashboard on the full server app (``create_http_app`` + ``register_web``) over a real
SQLite store seeded by :mod:`web_testdata`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web_testdata import NOW_MS, PASSWORDS, ROLES, Seeded, seed

from collector.store.sql import SqlStore
from sloscope.server.collector_role import build_collector
from sloscope.server.run import create_http_app
from web import Sources, register_web
from web.auth import hash_password
from web.settings import User, WebSettings


@pytest.fixture(scope="session")
def users() -> tuple[User, ...]:
    return tuple(User(n, ROLES[n], hash_password(p)) for n, p in PASSWORDS.items())


@pytest.fixture
def seeded(tmp_path) -> Iterator[Seeded]:
    with SqlStore(f"sqlite:///{tmp_path}/web.db") as store:
        yield seed(store, build_collector(store))


@pytest.fixture
def make_app(seeded: Seeded, users):
    """Factory of the full server app with the dashboard; ``auth=False`` is the demo mode."""

    def make(*, auth: bool = True, rule_manager=None, extra_blueprints=()):
        app = create_http_app(seeded.store, seeded.collector)
        app.config["TESTING"] = True
        for blueprint in extra_blueprints:
            app.register_blueprint(blueprint)
        settings = WebSettings(auth_enabled=auth, users=users, secret_key="test-secret-" * 3)
        sources = Sources(
            seeded.store, span_store=seeded.collector.span_store, rule_manager=rule_manager
        )
        register_web(app, sources, settings, clock=lambda: NOW_MS)
        return app

    return make
