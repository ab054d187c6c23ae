"""The real services the suite depends on answer; without them this fails loudly (never skips)."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.mark.postgres
def test_postgres_answers(postgres_url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(postgres_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select 1")).scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_pg_database_gives_a_fresh_database(
    postgres_url: str, pg_database: Callable[[], str]
) -> None:
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.pool import NullPool

    first, second = pg_database(), pg_database()
    first_name = make_url(first).database
    assert first_name is not None and first_name.startswith("sloscope_test_")
    assert first_name not in (make_url(second).database, make_url(postgres_url).database)

    engine = create_engine(first, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            assert conn.execute(text("select current_database()")).scalar_one() == first_name
            conn.execute(text("create table sample (name text primary key, value float8)"))
            conn.execute(
                text("insert into sample values (:name, :value)"),
                [{"name": "up", "value": 1.0}, {"name": "latency_µs", "value": 0.25}],
            )
        with engine.connect() as conn:
            rows = conn.execute(text("select name, value from sample order by value")).all()
        assert [tuple(row) for row in rows] == [("latency_µs", 0.25), ("up", 1.0)]
    finally:
        engine.dispose()

    # The second database is really separate: it has no such table.
    engine = create_engine(second, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select to_regclass('sample')")).scalar_one() is None
    finally:
        engine.dispose()


@pytest.mark.redis
def test_redis_set_get(redis_url: str, redis_prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        key = f"{redis_prefix}greeting"
        assert client.set(key, "hello", ex=300)
        assert client.get(key) == b"hello"
        assert list(client.scan_iter(match=f"{redis_prefix}*")) == [key.encode()]
    finally:
        client.close()
