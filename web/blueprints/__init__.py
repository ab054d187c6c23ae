"""The dashboard's areas, one module each, found by :func:`discover_areas`.

A module here provides ``create_blueprint() -> flask.Blueprint`` (made with
:func:`web.area.area_blueprint`) and ``AREA`` (a :class:`web.area.Area`, or None for a
blueprint without a nav entry). Adding a module is all it takes to add an area: see
docs/dashboard.md, "How to add a page".
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = ["discover_areas"]


def discover_areas() -> list[ModuleType]:
    """Every module of this package that has ``create_blueprint``, by module name."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if callable(getattr(module, "create_blueprint", None)):
            found.append(module)
    return found
