"""Browser RUM beacons: ``POST /rum/v1/beacons`` (and ``/rum/v1/beacon``, the SDK tag's first
path), and the RUM script itself at ``GET /rum/v1/sloscope-rum.js`` (:mod:`.rum_script_route`).

``navigator.sendBeacon`` posts ``text/plain`` (a CORS "simple" request) with credentials, so
CORS answers name the origin and allow credentials; ``application/json`` is preflighted. The
beacon schema and URL scrubbing are documented in :mod:`collector.convert.web_vitals`.

Checks, in order, each refusal counted in :func:`rum_stats` under its reason:

* media type ``text/plain``, ``application/json`` or none (415 ``unsupported_media_type``);
* body at most ``max_body_bytes`` (413 ``too_large``), valid JSON (400 ``bad_json``);
* the public app key, ``?key=`` or body ``app_key`` (401 ``missing_key``, 403
  ``unknown_key``); it only names the app: the real gate is the origin list;
* ``Origin``, if sent, in ``allowed_origins`` (``"*"``: any; 403 ``origin_not_allowed``);
* a token bucket per app and ``request.remote_addr`` (behind a proxy, add a proxy-aware WSGI
  middleware), LRU-bounded (429 ``rate_limited`` with ``Retry-After`` in whole seconds);
* the schema (400 ``invalid``, ``{"error": ..., "path": "vitals[2].value"}``).

A 204 means durable: events in ``rum_events``, histogram samples at the receive time (else
503 ``store_error``). Concurrent beacons are stored together (:class:`GroupCommit`): one
transaction for all their events, then one durable append of all their samples, after which
each of their requests is answered. If the events of a batch cannot be stored, each beacon
is tried alone and only the failing ones get 503; a failed append answers 503 to them all.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, request

from collector.convert import web_vitals as wv
from collector.convert.rum_privacy import derive_device_class
from collector.model import Labels
from collector.receivers.group_commit import Outcomes
from collector.receivers.rum_events import (
    GroupCommit,
    RumEventStore,
    StoredBeacon,
    event_rows,
    rum_events,
)
from collector.receivers.rum_limits import TokenBuckets
from collector.receivers.rum_script_route import add_script_route
from collector.store.interfaces import Appender

__all__ = [
    "RumAccumulator",
    "RumApp",
    "RumEventStore",
    "RumStats",
    "TokenBuckets",
    "create_rum_blueprint",
    "rum_events",
    "rum_stats",
]

log = logging.getLogger(__name__)

BEACON_PATHS = ("/rum/v1/beacons", "/rum/v1/beacon")
MEDIA_TYPES = ("text/plain", "application/json", "")


@dataclass(frozen=True)
class RumApp:
    """One site allowed to send beacons: its public key, origins and rate limit."""

    name: str
    public_key: str
    allowed_origins: list[str]
    rate_per_s: float
    burst: float

    def allows(self, origin: str) -> bool:
        return "*" in self.allowed_origins or origin in self.allowed_origins


class RumStats:
    """Accepted and refused beacons by reason; registry-free so the collector can expose it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.accepted = 0
        self.refused: Counter[str] = Counter()
        self.accumulators: list[RumAccumulator] = []  # their series counts are reported too

    def count(self, reason: str | None) -> None:
        with self._lock:
            self.accepted += reason is None
            self.refused.update([reason] if reason else [])

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            accs = list(self.accumulators)
            out = {"accepted": self.accepted, "refused": dict(self.refused)}
        series, overflow = sum(a.series for a in accs), sum(a.overflow for a in accs)
        return {**out, "series": series, "series_overflow": overflow}


_DEFAULT_STATS = RumStats()


def rum_stats(stats: RumStats | None = None) -> dict[str, Any]:
    """``{"accepted", "refused": {reason: n}, "series", "series_overflow"}`` (default: of all
    blueprints created without their own ``stats``)."""
    return (stats or _DEFAULT_STATS).snapshot()


Sample = tuple[Labels, int, float]


class _Histogram:
    """One label set's cumulative histogram, with its sample label sets built once."""

    def __init__(self, metric: str, labels: dict[str, str], bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.count = 0
        self.sum, self.fresh = 0.0, True
        name = "__name__"
        les = [repr(float(b)) for b in bounds] + ["+Inf"]
        self.labels = [Labels.of({**labels, name: f"{metric}_bucket", "le": le}) for le in les]
        self.labels += [Labels.of({**labels, name: f"{metric}_{s}"}) for s in ("sum", "count")]

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1
        self.count += 1
        self.sum += value

    def samples(self, t_ms: int) -> list[Sample]:
        """The series' values at ``t_ms``; a new series starts with zeros 1 ms earlier, so
        ``increase()`` and ``rate()`` count its first observation too."""
        values = [*self.counts, self.count, self.sum, self.count]
        zeros = [(lab, t_ms - 1, 0.0) for lab in self.labels] if self.fresh else []
        self.fresh = False
        return zeros + [(lab, t_ms, float(v)) for lab, v in zip(self.labels, values, strict=True)]


class RumAccumulator:
    """Cumulative RUM histograms and counters in memory, bounded and thread-safe.

    Beacons are single observations, so the collector keeps the cumulative series itself and
    writes the touched ones as samples; a restart is an ordinary counter reset to ``rate()``.
    Beyond ``max_series`` label sets, new ones are dropped and counted in ``overflow``.
    Timestamps from :meth:`record` strictly increase (two beacons in one millisecond must not
    collide); callers append the results in the order of the ``record`` calls (one append
    may hold the results of several), never two appends at once.
    """

    def __init__(self, max_series: int = 10_000) -> None:
        self.max_series = max_series
        self.overflow = 0
        self._lock = threading.Lock()
        self._histograms: dict[tuple[str, tuple], _Histogram] = {}
        self._counters: dict[Labels, float] = {}
        self._last_ms = -1

    @property
    def series(self) -> int:
        return len(self._histograms) + len(self._counters)

    def record(self, beacon: wv.Beacon, app: str, device_class: str, t_ms: int) -> list[Sample]:
        """Add one beacon's observations; return the samples of every series it touched."""
        return self.record_batch([(app, beacon, device_class, t_ms)])

    def record_batch(self, beacons: Sequence[StoredBeacon]) -> list[Sample]:
        """Add the observations of several beacons; return every touched series' samples
        once, at the batch's latest receive time: the cumulative values after all of them,
        as a scrape after those beacons would read them."""
        with self._lock:
            t_ms = max(max(t for _, _, _, t in beacons), self._last_ms + 1)
            self._last_ms = t_ms
            touched: dict[int, _Histogram] = {}
            errors: Counter[tuple[str, str]] = Counter()
            for app, beacon, device_class, _ in beacons:
                for metric, labels, bounds, value in wv.observations(beacon, app, device_class):
                    self._observe(metric, labels, bounds, value, touched)
                if beacon.errors:
                    errors[app, beacon.page.page] += len(beacon.errors)
            out = [s for hist in touched.values() for s in hist.samples(t_ms)]
            for (app, page), n in errors.items():
                out.extend(self._count_errors({"app": app, "page": page}, n, t_ms))
            return out

    def _observe(self, metric, labels, bounds, value, touched) -> None:
        key = (metric, tuple(sorted(labels.items())))
        hist = self._histograms.get(key)
        if hist is None:
            if self.series >= self.max_series:
                self.overflow += 1
                return
            hist = self._histograms[key] = _Histogram(metric, labels, bounds)
        hist.observe(value)
        touched[id(hist)] = hist

    def _count_errors(self, base: dict[str, str], n: int, t_ms: int) -> list[Sample]:
        labels = Labels.of({**base, "__name__": "rum_js_errors_total"})
        if labels not in self._counters and self.series >= self.max_series:
            self.overflow += n
            return []
        zero = [] if labels in self._counters else [(labels, t_ms - 1, 0.0)]
        self._counters[labels] = self._counters.get(labels, 0.0) + n
        return [*zero, (labels, t_ms, self._counters[labels])]


class _Refused(Exception):
    """A beacon or preflight is refused: status, stats reason, message, extra headers."""

    def __init__(self, status: int, reason: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.extra = status, reason, message, extra


def create_rum_blueprint(
    appender: Appender,
    event_store: RumEventStore,
    apps: dict[str, RumApp],
    *,
    clock: Callable[[], float] = time.monotonic,
    max_body_bytes: int = 64 * 1024,
    wall_clock: Callable[[], float] = time.time,
    stats: RumStats | None = None,
    accumulator: RumAccumulator | None = None,
    max_buckets: int = 10_000,
) -> Blueprint:
    """The RUM receiver (and the RUM script) as a blueprint; register it without a prefix.

    ``apps`` are found by public key; call ``event_store.create()`` once at start; ``clock``
    (monotonic seconds) drives the rate limiter, ``wall_clock`` (epoch seconds) stamps data."""
    by_key = {a.public_key: a for a in apps.values()}
    stats = stats or _DEFAULT_STATS
    acc = accumulator or RumAccumulator()
    stats.accumulators.append(acc)
    buckets = TokenBuckets(clock, max_buckets)
    committer = _group_commit(appender, event_store, acc)
    bp = Blueprint("rum", __name__)

    def accept(origin: str | None) -> Response:
        body = _read_json(max_body_bytes)
        app = _app_for(by_key, request.args.get("key"), body)
        _admit(app, origin, buckets)
        beacon = _parse(body)
        device = derive_device_class(
            beacon.page.device_class,
            request.headers.get("User-Agent", ""),
            request.headers.get("Sec-CH-UA-Mobile"),
        )
        t_ms = int(wall_clock() * 1000)
        try:
            stored = (app.name, beacon, device, t_ms)
            committer.submit((stored, event_rows(*stored)))  # rows built outside the writer
        except Exception:
            log.exception("storing a RUM beacon of %s failed", app.name)
            raise _Refused(503, "store_error", "storage unavailable", retry_after="1") from None
        return _cors(Response(status=204), origin)

    def receive() -> Response:
        origin = request.headers.get("Origin")
        try:
            if request.method == "OPTIONS":
                return _preflight(origin, apps, by_key)
            resp = accept(origin)
        except _Refused as exc:
            stats.count(exc.reason)
            return _refusal(exc, origin, apps)
        stats.count(None)
        return resp

    for i, path in enumerate(BEACON_PATHS):
        bp.add_url_rule(path, f"beacon{i}", receive, methods=["POST", "OPTIONS"])
    add_script_route(bp)
    return bp


def _group_commit(appender: Appender, event_store: RumEventStore, acc: RumAccumulator):
    """Stores queued beacons (each with its event rows) together: one transaction for their
    events, then one durable append of their samples (each touched series once)."""

    def write(batch: list[tuple[StoredBeacon, list[dict]]]) -> Outcomes:
        # One writer at a time, beacons in queue order: sample timestamps increase per series.
        outcomes: Outcomes = [None] * len(batch)
        try:
            event_store.insert_rows([row for _, rows in batch for row in rows])
        except Exception:
            if len(batch) == 1:
                raise
            for i, (_, rows) in enumerate(batch):  # rolled back: only a bad beacon fails
                try:
                    event_store.insert_rows(rows)
                except Exception as exc:
                    outcomes[i] = exc
        kept = zip(batch, outcomes, strict=True)
        stored = [beacon for (beacon, _), failed in kept if failed is None]
        if stored:
            appender.append(acc.record_batch(stored))
        return outcomes

    return GroupCommit(write)


def _preflight(origin: str | None, apps: dict[str, RumApp], by_key: dict[str, RumApp]):
    """Answer a CORS preflight for the key's app (``?key=``), else for any app's origins."""
    key = request.args.get("key")
    if key is not None:
        allowed = key in by_key and bool(origin) and by_key[key].allows(origin)
    else:
        allowed = bool(origin) and any(a.allows(origin) for a in apps.values())
    if not allowed:
        raise _Refused(403, "preflight_refused", "origin not allowed")
    resp = _cors(Response(status=204), origin)
    resp.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
    resp.headers["Access-Control-Max-Age"] = "86400"
    return resp


def _admit(app: RumApp, origin: str | None, buckets: TokenBuckets) -> None:
    if origin and not app.allows(origin):
        raise _Refused(403, "origin_not_allowed", f"origin {origin} is not allowed")
    wait = buckets.take((app.name, request.remote_addr or ""), app.rate_per_s, app.burst)
    if wait > 0:
        retry = str(max(1, math.ceil(wait))) if math.isfinite(wait) else "3600"
        raise _Refused(429, "rate_limited", "too many beacons", retry_after=retry)


def _parse(body: Any) -> wv.Beacon:
    try:
        return wv.parse_beacon(body)
    except wv.BeaconError as exc:
        raise _Refused(400, "invalid", exc.message, path=exc.path) from None


def _read_json(limit: int) -> Any:
    if request.mimetype not in MEDIA_TYPES:
        raise _Refused(415, "unsupported_media_type", "send text/plain or application/json")
    length = request.content_length
    data = request.stream.read(limit + 1) if length is None or length <= limit else b""
    if len(data) > limit or (length or 0) > limit:
        raise _Refused(413, "too_large", f"the beacon is larger than {limit} bytes")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise _Refused(400, "bad_json", "the body is not valid JSON", path="$") from None


def _app_for(by_key: dict[str, RumApp], query_key: str | None, body: Any) -> RumApp:
    key = query_key
    if key is None and isinstance(body, dict):
        key = body.get("app_key")
    if not key:
        raise _Refused(401, "missing_key", "an app key is required (app_key or ?key=)")
    app = by_key.get(key) if isinstance(key, str) else None
    if app is None:
        raise _Refused(403, "unknown_key", "unknown app key")
    return app


def _cors(resp: Response, origin: str | None) -> Response:
    """Name the origin and allow credentials: sendBeacon uses credentials mode ``include``."""
    resp.headers["Vary"] = "Origin"
    if origin:
        resp.headers["Access-Control-Allow-Origin"] = origin
        resp.headers["Access-Control-Allow-Credentials"] = "true"
        # The script's fetch fallback reads it on a 429 to pause for that long.
        resp.headers["Access-Control-Expose-Headers"] = "Retry-After"
    return resp


def _refusal(exc: _Refused, origin: str | None, apps: dict[str, RumApp]) -> Response:
    body: dict[str, Any] = {"status": "error", "reason": exc.reason, "error": exc.message}
    if "path" in exc.extra:
        body["path"] = exc.extra["path"]
    resp = Response(json.dumps(body), status=exc.status, mimetype="application/json")
    if "retry_after" in exc.extra:
        resp.headers["Retry-After"] = exc.extra["retry_after"]
    known = origin and exc.status != 403 and any(a.allows(origin) for a in apps.values())
    return _cors(resp, origin if known else None)  # the page may read why, if an app allows it
