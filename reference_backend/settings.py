"""The shop's settings, read once from the environment at the composition root."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """``DATABASE_URL`` (default: SQLite file ``./shop.db``), ``READ_DATABASE_URL`` (optional
    replica: reads go there), ``REDIS_URL`` (optional: without it the cache has no L2),
    ``ADMIN_TOKEN`` (protects /admin), ``SLOSCOPE_COLLECTOR_URL`` (where RUM beacons go)."""

    database_url: str = "sqlite:///shop.db"
    read_database_url: str = ""
    redis_url: str = ""
    admin_token: str = "change-me"
    collector_url: str = "http://127.0.0.1:9900"
    #: The public key of the shop's app in the collector's ``rum.apps`` (browser beacons).
    rum_app_key: str = ""
    pool_size: int = 10
    max_overflow: int = 5
    pool_timeout_s: float = 2.0
    cache_ttl_s: float = 60.0
    cache_stale_ttl_s: float = 30.0
    #: Scheduled refreshes (categories, top-customers report); tests turn them off.
    scheduler: bool = True
    #: Prefix of every Redis key the shop writes (several shops can share one Redis).
    cache_namespace: str = "shop"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        url = env.get("DATABASE_URL", cls.database_url)
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        read_url = env.get("READ_DATABASE_URL", "")
        if read_url.startswith("postgresql://"):
            read_url = "postgresql+psycopg://" + read_url[len("postgresql://") :]
        return cls(
            database_url=url,
            read_database_url=read_url,
            redis_url=env.get("REDIS_URL", ""),
            admin_token=env.get("ADMIN_TOKEN", cls.admin_token),
            collector_url=env.get("SLOSCOPE_COLLECTOR_URL", cls.collector_url),
            rum_app_key=env.get("SHOP_RUM_APP_KEY", cls.rum_app_key),
            cache_namespace=env.get("SHOP_CACHE_NAMESPACE", cls.cache_namespace),
        )
