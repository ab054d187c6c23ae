"""Shop fixtures: a fresh app per test on SQLite or on PostgreSQL + Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine

import sloscope
from reference_backend import create_app
from reference_backend.db import create_schema
from reference_backend.seed import SeedPlan, seed
from reference_backend.settings import Settings

SMALL_SHOP = SeedPlan(products=200, customers=30, orders=300)


@pytest.fixture
def small_shop() -> SeedPlan:
    """The default seed of ``make_app`` (tests that need its sizes ask for it)."""
    return SMALL_SHOP


@pytest.fixture
def sdk() -> Iterator[sloscope._client.Client]:
    client = sloscope.init(
        service_name="shop-test",
        registry=CollectorRegistry(),
        span_exporter=InMemorySpanExporter(),
        raise_internal_errors=True,
    )
    yield client
    sloscope.shutdown()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest, tmp_path) -> Settings:
    """SQLite without Redis, or PostgreSQL with Redis (unique key namespace per test)."""
    if backend == "sqlite":
        return Settings(database_url=f"sqlite:///{tmp_path}/shop.db", scheduler=False)
    url = request.getfixturevalue("pg_database")()
    redis_url = request.getfixturevalue("redis_url")
    namespace = request.getfixturevalue("redis_prefix").rstrip(":")
    return Settings(
        database_url=url, redis_url=redis_url, cache_namespace=namespace, scheduler=False
    )


@pytest.fixture
def make_app(sdk, settings: Settings) -> Iterator[Callable[..., object]]:
    """Factory: an app on this test's database, optionally seeded; torn down at the end."""
    apps = []

    def make(plan: SeedPlan | None = SMALL_SHOP):
        if plan is not None:
            # Seed before the app starts, as in production: its start-up warms caches.
            engine = create_engine(settings.database_url)
            create_schema(engine)
            seed(engine, plan)
            engine.dispose()
        app = create_app(settings)
        apps.append(app)
        return app

    yield make
    for app in apps:
        state = app.extensions["shop"]
        state.jobs.shutdown(5.0)
        for cache in state.caches.values():
            cache.close(5.0)
        if state.redis is not None:
            state.redis.close()
        state.primary.dispose()
        if state.replica is not state.primary:
            state.replica.dispose()
