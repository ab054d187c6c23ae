"""The command line and environment of each part the demo runs.

Every part is this Python running one of the project's own entry points, so the demo needs
nothing but the installed package (and, optionally, ``redis-server`` on PATH):

- server: ``python -m sloscope server --config <data dir>/sloscope.yml``
- redis:  a private ``redis-server`` on a free port, nothing saved to disk
- seed:   ``python -m reference_backend seed`` (once, while shop.db has no products)
- shop:   ``python -m reference_backend serve`` on SQLite, traces and RUM to the server
- load:   ``python -m reference_backend.loadgen`` (what ``sloscope load`` runs), steady users
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from collections.abc import Mapping

from sloscope.server.demo_layout import RUM_APP_KEY, DemoLayout, DemoPorts

__all__ = [
    "LOAD_RUN",
    "load_argv",
    "redis_argv",
    "seed_argv",
    "server_argv",
    "server_env",
    "shop_argv",
    "shop_env",
    "shop_is_seeded",
]

#: One load run's length; the demo starts the next when one ends (the generator caps runs at
#: an hour).
LOAD_RUN = "1h"
# Variables of the user's shell that would point a part somewhere else than the demo wants.
_SERVER_PREFIXES = ("SLOSCOPE_",)
_SHOP_VARIABLES = (
    "DATABASE_URL", "READ_DATABASE_URL", "REDIS_URL", "ADMIN_TOKEN", "SHOP_CACHE_NAMESPACE",
    "SLOSCOPE_COLLECTOR_URL", "SHOP_RUM_APP_KEY",
)  # fmt: skip


def _without(environ: Mapping[str, str], names=(), prefixes=()) -> dict[str, str]:
    return {
        k: v
        for k, v in environ.items()
        if k not in names and not k.startswith(prefixes) and not k.startswith("OTEL_")
    }


def server_argv(layout: DemoLayout) -> list[str]:
    return [sys.executable, "-m", "sloscope", "server", "--config", str(layout.config_file)]


def server_env(environ: Mapping[str, str], layout: DemoLayout) -> dict[str, str]:
    """The user's environment minus every SLOSCOPE_* override: the demo's file rules."""
    env = _without(environ, prefixes=_SERVER_PREFIXES)
    env["SLOSCOPE_CONFIG"] = str(layout.config_file)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def redis_argv(layout: DemoLayout, port: int) -> list[str] | None:
    """A throwaway redis-server (no persistence), or None when none is installed."""
    found = shutil.which("redis-server")
    if found is None:
        return None
    layout.redis_dir.mkdir(parents=True, exist_ok=True)
    return [
        found, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
        "--dir", str(layout.redis_dir), "--maxmemory", "64mb",
        "--maxmemory-policy", "allkeys-lru",
    ]  # fmt: skip


def shop_is_seeded(layout: DemoLayout) -> bool:
    """Whether shop.db already holds products (seeding replaces every row: do it once)."""
    if not layout.shop_db.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{layout.shop_db}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT 1 FROM products LIMIT 1").fetchone() is not None
    except sqlite3.Error:
        return False


def seed_argv() -> list[str]:
    return [sys.executable, "-m", "reference_backend", "seed"]


def shop_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "reference_backend", "serve", "--port", str(port)]


def shop_env(
    environ: Mapping[str, str], layout: DemoLayout, ports: DemoPorts, redis_url: str
) -> dict[str, str]:
    """SQLite in the data dir, the demo's Redis (if any), traces and RUM to the server."""
    env = _without(environ, names=_SHOP_VARIABLES)
    server = f"http://127.0.0.1:{ports.server}"
    env.update(
        DATABASE_URL=f"sqlite:///{layout.shop_db}",
        ADMIN_TOKEN=layout.admin_token,
        SLOSCOPE_COLLECTOR_URL=server,
        SHOP_RUM_APP_KEY=RUM_APP_KEY,
        # The server's main port serves OTLP/HTTP too; the SDK appends /v1/traces.
        OTEL_EXPORTER_OTLP_ENDPOINT=server,
        OTEL_SERVICE_NAME="shop",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
        # A Redis the user passed may be shared: keep the demo's keys apart.
        env["SHOP_CACHE_NAMESPACE"] = f"sloscope-demo-{os.getpid()}"
    return env


def load_argv(shop_url: str, users: int) -> list[str]:
    """Steady load: the smoke profile's constant users, stretched over a whole run."""
    return [
        sys.executable, "-m", "reference_backend.loadgen", "--host", shop_url,
        "--profile", "smoke", "--duration", LOAD_RUN, "--users", str(users),
    ]  # fmt: skip
