"""Reading the configuration for a CLI command: file choice, errors, and the store it names."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from sloscope.server.config import CONFIG_PATH_ENV, Config, ConfigError, load_config

__all__ = ["CommandError", "config_for", "open_store"]

DEFAULT_CONFIG_FILE = Path("sloscope.yml")


class CommandError(Exception):
    """A command cannot go on; the message is printed and the exit code is 1."""


def config_path(flag: str | None, environ: Mapping[str, str]) -> Path | None:
    """--config, else $SLOSCOPE_CONFIG, else ./sloscope.yml when it exists, else defaults."""
    chosen = flag or environ.get(CONFIG_PATH_ENV)
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise CommandError(f"config file {path} does not exist")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def config_for(flag: str | None, environ: Mapping[str, str] | None = None) -> Config:
    environ = os.environ if environ is None else environ
    try:
        return load_config(config_path(flag, environ), environ)
    except ConfigError as exc:
        raise CommandError(f"invalid configuration:\n{exc}") from None


def open_store(config: Config):
    """Open the store the configuration names (the caller closes it)."""
    from collector.store.interfaces import StoreError
    from collector.store.sql import SqlStore, StoreOptions

    storage = config.storage
    store = SqlStore(
        config.sqlalchemy_url,
        StoreOptions(
            chunk_samples=storage.chunk_samples,
            head_max_span_ms=storage.head_max_span_ms,
            wal_flush_samples=storage.wal_flush_samples,
        ),
    )
    try:
        store.open()
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    return store


def fail(message: str) -> int:
    print(f"sloscope: {message}", file=sys.stderr)
    return 1
