"""Shared fixtures for the real services the tests talk to: PostgreSQL and Redis.

Service-backed tests never skip. ``bash scripts/test.sh`` installs and starts both servers; if
one is unreachable anyway, the first test that asks for it fails with a message saying which
server, which URL and what to do, and so does every later test that needs it.

The fixtures are lazy: nothing here imports a driver or opens a connection until a test asks
for ``postgres_url``, ``pg_database``, ``redis_url`` or ``redis_prefix``. Tests using them are
marked ``postgres`` / ``redis`` automatically (``-m "not postgres"`` deselects them).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import pytest

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
CONNECT_TIMEOUT_SECONDS = 5

_POSTGRES_FIXTURES = {"postgres_url", "pg_database"}
_REDIS_FIXTURES = {"redis_url", "redis_prefix"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & _POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)
        if fixtures & _REDIS_FIXTURES:
            item.add_marker(pytest.mark.redis)


def _unique_suffix() -> str:
    return f"{os.getpid()}_{secrets.token_hex(4)}"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip()}"


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """SQLAlchemy URL of the test PostgreSQL server; checked once per session."""
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.pool import NullPool

    url = os.environ.get("SLOSCOPE_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    shown = make_url(url).render_as_string(hide_password=True)
    engine = create_engine(
        url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    error = None
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # any driver or network error means the same thing here
        error = _describe(getattr(exc, "orig", None) or exc)
    finally:
        engine.dispose()
    if error:
        pytest.fail(
            f"PostgreSQL is unreachable at {shown}: {error}\n"
            "Tests that need PostgreSQL never skip. Run the suite with `bash scripts/test.sh`, "
            "which installs and starts PostgreSQL, or start it yourself, or point "
            "SLOSCOPE_TEST_POSTGRES_URL at a server that accepts user postgres without password.",
            pytrace=False,
        )
    return url


@pytest.fixture(scope="session")
def _pg_admin_engine(postgres_url: str) -> Iterator[Engine]:
    """AUTOCOMMIT engine on the server's `postgres` maintenance database."""
    from sqlalchemy import create_engine, make_url
    from sqlalchemy.pool import NullPool

    admin_url = make_url(postgres_url).set(database="postgres")
    engine = create_engine(
        admin_url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )
    yield engine
    engine.dispose()


@pytest.fixture
def pg_database(postgres_url: str, _pg_admin_engine: Engine) -> Iterator[Callable[[], str]]:
    """Factory: each call creates a fresh, uniquely named database and returns its URL.

    Every database it made is dropped when the test ends, even if connections to it are
    still open (``DROP DATABASE ... WITH (FORCE)``).
    """
    from sqlalchemy import make_url, text

    created: list[str] = []

    def make() -> str:
        name = f"sloscope_test_{_unique_suffix()}"
        with _pg_admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(postgres_url).set(database=name).render_as_string(hide_password=False)

    yield make

    with _pg_admin_engine.connect() as conn:
        for name in reversed(created):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- Redis --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the test Redis server; checked once per session."""
    import redis

    url = os.environ.get("SLOSCOPE_TEST_REDIS_URL") or DEFAULT_REDIS_URL
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=CONNECT_TIMEOUT_SECONDS,
    )
    error = None
    try:
        client.ping()
    except Exception as exc:  # any client or network error means the same thing here
        error = _describe(exc)
    finally:
        client.close()
    if error:
        pytest.fail(
            f"Redis is unreachable at {_hide_password(url)}: {error}\n"
            "Tests that need Redis never skip. Run the suite with `bash scripts/test.sh`, "
            "which installs and starts Redis, or start it yourself, or point "
            "SLOSCOPE_TEST_REDIS_URL at a reachable server.",
            pytrace=False,
        )
    return url


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix unique to this test; keys under it are deleted (SCAN, not KEYS) afterwards."""
    import redis

    prefix = f"sloscope-test:{_unique_suffix()}:"
    yield prefix

    client = redis.Redis.from_url(redis_url, socket_timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=_glob_escape(prefix) + "*", count=500):
            batch.append(key)
            if len(batch) >= 500:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
    finally:
        client.close()
