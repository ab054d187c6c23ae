"""Store fixtures: every store test runs against SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from collector.store.sql import SqlStore, StoreOptions


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    return request.getfixturevalue("pg_database")()


@pytest.fixture
def open_store(store_url: str) -> Iterator[Callable[..., SqlStore]]:
    """Factory opening a store on this test's database; every store is closed at the end."""
    opened: list[SqlStore] = []

    def make(**options: int) -> SqlStore:
        store = SqlStore(store_url, StoreOptions(**options))
        store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
