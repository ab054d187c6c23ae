"""Builds the shop's state from settings: the only place that constructs clients."""

from __future__ import annotations

import logging

from reference_backend.db import create_schema, make_engine, make_sessions
from reference_backend.settings import Settings
from reference_backend.state import ShopState

__all__ = ["build_state"]

log = logging.getLogger("reference_backend")


def build_state(settings: Settings) -> ShopState:
    from sloscope.jobs import JobWorker

    primary = make_engine(settings.database_url, settings, "primary")
    create_schema(primary)
    replica = primary
    if settings.read_database_url:
        replica = make_engine(settings.read_database_url, settings, "replica")
    from reference_backend.faults import Faults

    faults = Faults()  # first: the Redis client goes behind its redis_outage switch
    redis_client = faults.wrap_redis(_redis(settings))
    state = ShopState(
        settings=settings,
        primary=primary,
        replica=replica,
        write_sessions=make_sessions(primary),
        read_sessions=make_sessions(replica),
        redis=redis_client,
        jobs=JobWorker(workers=2, maxsize=1000, max_attempts=4, name="shop"),
    )
    state.faults = faults
    if settings.scheduler:
        from apscheduler.schedulers.background import BackgroundScheduler

        # Jobs are added by the blueprints' setup(); `serve` starts it (never at import).
        state.scheduler = BackgroundScheduler(daemon=True)
    return state


def _redis(settings: Settings):
    if not settings.redis_url:
        log.warning("REDIS_URL is not set: caches run without their Redis (L2) level")
        return None
    import redis

    from sloscope.integrations.redis import instrument_redis

    client = redis.Redis.from_url(
        settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
    )
    return instrument_redis(client)
