"""Everything one app instance owns, kept in ``app.extensions["shop"]`` (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from reference_backend.settings import Settings

__all__ = ["ShopState", "shop"]


@dataclass
class ShopState:
    settings: Settings
    primary: Engine
    replica: Engine  # the primary itself when no replica is configured
    write_sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    redis: Any = None  # redis.Redis or None (then caches have no L2)
    caches: dict[str, Any] = field(default_factory=dict)  # name -> MultiLevelCache
    jobs: Any = None  # sloscope.jobs.JobWorker
    faults: Any = None  # reference_backend.faults.Faults
    scheduler: Any = None  # APScheduler BackgroundScheduler, started by serve

    def cache(self, name: str, **options: Any):
        """The named MultiLevelCache (made on first use; Redis as L2 when configured)."""
        found = self.caches.get(name)
        if found is None:
            from sloscope.cache import MultiLevelCache

            found = self.caches[name] = MultiLevelCache(
                name,
                self.redis,
                ttl=options.pop("ttl", self.settings.cache_ttl_s),
                stale_ttl=options.pop("stale_ttl", self.settings.cache_stale_ttl_s),
                key_prefix=f"{self.settings.cache_namespace}:{name}:",
                **options,
            )
        return found

    def read_session(self) -> Session:
        return self.read_sessions()

    def write_session(self) -> Session:
        return self.write_sessions()


def shop() -> ShopState:
    """The state of the app handling the current request."""
    return current_app.extensions["shop"]
