"""What every dashboard view reaches through ``current_app``: the data sources, the
settings, the clock and the registered areas (kept in ``app.extensions["sloscope.web"]``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import current_app

from web.settings import WebSettings

if TYPE_CHECKING:
    from web.area import Area
    from web.queries import Sources

__all__ = ["EXTENSION_KEY", "WebContext", "wall_clock_ms", "web_context"]

EXTENSION_KEY = "sloscope.web"


def wall_clock_ms() -> int:
    """Milliseconds since the epoch; the default clock (tests pass their own)."""
    return time.time_ns() // 1_000_000


@dataclass
class WebContext:
    sources: Sources
    settings: WebSettings
    clock: Callable[[], int] = wall_clock_ms
    areas: list[Area] = field(default_factory=list)


def web_context() -> WebContext:
    """The dashboard's context on the current app; raises if :func:`web.register_web` was
    never called on it."""
    return current_app.extensions[EXTENSION_KEY]
