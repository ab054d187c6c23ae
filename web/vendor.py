"""Static assets: our CSS and JS (``/static/web/...``) and plotly.js from the installed
``plotly`` package (``/static/vendor/plotly.min.js``), so the dashboard works offline.

plotly.min.js is about 4.6 MB; it is gzipped once in memory and served with a year-long
cache lifetime, its URL carrying the plotly version so an upgrade is fetched anew.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from importlib.metadata import version
from pathlib import Path

import plotly
from flask import Blueprint, Response, request

__all__ = ["PLOTLY_JS", "create_assets_blueprint", "create_vendor_blueprint", "plotly_version"]

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
STATIC = Path(__file__).parent / "static"
_YEAR_S = 365 * 24 * 3600


def plotly_version() -> str:
    return version("plotly")


class _Compressed:
    """The file's bytes, gzipped bytes and ETag, read on first use and kept."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._loaded: tuple[bytes, bytes, str] | None = None

    def get(self) -> tuple[bytes, bytes, str]:
        with self._lock:
            if self._loaded is None:
                raw = self._path.read_bytes()
                etag = hashlib.sha256(raw).hexdigest()[:32]
                self._loaded = (raw, gzip.compress(raw, compresslevel=6), etag)
            return self._loaded


def create_vendor_blueprint() -> Blueprint:
    blueprint = Blueprint("web_vendor", __name__)
    plotly_js = _Compressed(PLOTLY_JS)

    @blueprint.get("/static/vendor/plotly.min.js")
    def plotly_min_js() -> Response:
        raw, packed, etag = plotly_js.get()
        headers = {
            "Cache-Control": f"public, max-age={_YEAR_S}, immutable",
            "Vary": "Accept-Encoding",
        }
        if request.if_none_match.contains(etag):
            response = Response(status=304, headers=headers)
        elif request.accept_encodings["gzip"]:
            response = Response(packed, mimetype="text/javascript", headers=headers)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = Response(raw, mimetype="text/javascript", headers=headers)
        response.set_etag(etag)
        return response

    return blueprint


def create_assets_blueprint() -> Blueprint:
    """Our own CSS and JS; short-cached since they change with sloscope itself."""
    return Blueprint(
        "web_assets", __name__, static_folder=str(STATIC), static_url_path="/static/web"
    )
