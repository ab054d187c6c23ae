"""Integrations: one module per library, each import-guarded.

A module raises :class:`DidNotEnable` at import when its library is missing or too old; the
integration's ``setup`` functions are idempotent and use the library's own hooks (Flask
signals and request hooks, SQLAlchemy events, redis-py's command wrapper) rather than patches.
"""

from __future__ import annotations

__all__ = ["DidNotEnable"]


class DidNotEnable(Exception):  # noqa: N818 - the name says what happened, as sentry-python's
    """The integration cannot run here (its library is missing or unsupported)."""
