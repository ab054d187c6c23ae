"""RUM beacons: validation, URL scrubbing and the histograms they feed (no I/O).

The HTTP side (CORS, keys, limits, storage) is :mod:`collector.receivers.rum`; this module only
turns an already-parsed JSON document into checked records and metric observations, so it can
be tested without Flask or a database.

Beacon schema (version 1)
-------------------------

One JSON object per beacon, sent as ``text/plain`` (``navigator.sendBeacon``) or
``application/json``. Unknown fields are ignored so older collectors accept newer scripts;
every listed field is checked, and the first bad one is reported by its JSON path
(``vitals[2].value``)::

    {
      "app_key": "pk_shop_1",                 # public per-app key (or ?key= in the URL)
      "page": {                               # required
        "url": "https://shop.example/product/42?ref=mail",   # required, <= 2048 chars
        "route": "/product/<id>",             # route template, if the page knows it
        "referrer": "https://www.google.com/",
        "device_class": "mobile",             # mobile | tablet | desktop; else derived
        "navigation_type": "navigate",        # as web-vitals' navigationType
        "timestamp_ms": 1700000000000         # client clock, epoch ms (kept in the event)
      },
      "vitals": [                             # <= 20, as onLCP/onINP/onCLS/onFCP/onTTFB report
        {"name": "LCP", "value": 2130.5, "rating": "good", "delta": 2130.5,
         "id": "v4-1700000000000-123", "navigationType": "navigate",
         "attribution": {"element": "#hero", "url": "https://cdn.example/a.jpg"}}
      ],
      "api_calls": [                          # <= 100
        {"method": "GET", "url": "/api/cart/9", "route": "/api/cart/<id>",
         "status": 200, "duration_ms": 84.2}  # status 0: network error / aborted
      ],
      "errors": [                             # <= 20
        {"message": "TypeError: x is undefined", "source": "https://shop.example/app.js",
         "line": 10, "col": 4, "stack": "..."}
      ]
    }

Vital values are web-vitals' units: milliseconds for LCP, INP, FCP and TTFB, unitless for
CLS; ``rating`` is ``good``, ``needs-improvement`` or ``poor``; ``navigationType`` is one of
``navigate``, ``reload``, ``back-forward``, ``back-forward-cache``, ``prerender``, ``restore``.
``attribution`` must be an object; it is bounded by keeping at most 16 top-level keys with
scalar values (strings cut to 256 characters, URL-valued keys scrubbed) and dropping nested
objects such as ``lcpEntry`` or ``navigationEntry``.

Privacy
-------

A page is reported as its route template when the beacon gives one. Otherwise the URL is cut
to its path (no scheme, host, query string or fragment) and every numeric, UUID-like or long
hexadecimal path segment (16+ hex digits) becomes ``:id``: ``/order/8f14e45f-...-e2/item/7``
is reported as ``/order/:id/item/:id``. API call URLs get the same treatment; referrers keep
their origin plus the scrubbed path; JS error sources and the URLs inside stacks lose query
strings and fragments; stacks are cut to 4096 characters and messages to 1024.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from collector.convert.rum_privacy import MAX_ROUTE, scrub_path, scrub_url, strip_queries

__all__ = [
    "API_BUCKETS",
    "VITALS",
    "ApiCall",
    "Beacon",
    "BeaconError",
    "JsError",
    "PageView",
    "Vital",
    "VitalSpec",
    "observations",
    "parse_beacon",
    "status_class",
]

DEVICE_CLASSES = ("mobile", "tablet", "desktop")
RATINGS = ("good", "needs-improvement", "poor")
NAVIGATION_TYPES = (
    "navigate",
    "reload",
    "back-forward",
    "back-forward-cache",
    "prerender",
    "restore",
)
MAX_VITALS, MAX_API_CALLS, MAX_ERRORS = 20, 100, 20
MAX_URL, MAX_TEXT, MAX_MESSAGE, MAX_STACK = 2048, 256, 1024, 4096
MAX_ATTRIBUTION_KEYS = 16


@dataclass(frozen=True)
class VitalSpec:
    """One Web Vital's histogram: name, scale from the beacon's unit to the metric's, buckets.

    The buckets include web-vitals' "good" and "poor" thresholds, so the good ratio is a single
    bucket divided by the count, and the p75 interpolates inside narrow buckets.
    """

    metric: str
    scale: float
    good: float
    poor: float
    buckets: tuple[float, ...]


VITALS: dict[str, VitalSpec] = {
    "LCP": VitalSpec(
        "rum_web_vitals_lcp_seconds",
        1e-3,
        2.5,
        4.0,
        (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0),
    ),
    "FCP": VitalSpec(
        "rum_web_vitals_fcp_seconds",
        1e-3,
        1.8,
        3.0,
        (0.5, 1.0, 1.5, 1.8, 2.5, 3.0, 4.0, 6.0, 10.0, 20.0),
    ),
    "TTFB": VitalSpec(
        "rum_web_vitals_ttfb_seconds",
        1e-3,
        0.8,
        1.8,
        (0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.4, 1.8, 2.5, 4.0, 8.0),
    ),
    "INP": VitalSpec(
        "rum_web_vitals_inp_seconds",
        1e-3,
        0.2,
        0.5,
        (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.0, 5.0),
    ),
    "CLS": VitalSpec(
        "rum_web_vitals_cls",
        1.0,
        0.1,
        0.25,
        (0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.0),
    ),
}
#: OpenTelemetry's default buckets for HTTP client durations, in seconds.
API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
API_METRIC = "rum_api_request_duration_seconds"
HTTP_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
)


class BeaconError(ValueError):
    """A beacon field is missing or wrong; ``path`` is its JSON path, e.g. ``vitals[2].value``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class PageView:
    url: str  # scrubbed path (or the route template)
    page: str  # the label value: route template, else the scrubbed path
    referrer: str | None
    device_class: str | None
    navigation_type: str | None
    timestamp_ms: int | None


@dataclass(frozen=True)
class Vital:
    name: str
    value: float
    rating: str | None
    delta: float | None
    id: str | None
    navigation_type: str | None
    attribution: dict[str, Any]


@dataclass(frozen=True)
class ApiCall:
    method: str
    route: str
    status: int
    duration_ms: float


@dataclass(frozen=True)
class JsError:
    message: str
    source: str | None
    line: int | None
    col: int | None
    stack: str | None


@dataclass(frozen=True)
class Beacon:
    app_key: str | None
    page: PageView
    vitals: list[Vital] = field(default_factory=list)
    api_calls: list[ApiCall] = field(default_factory=list)
    errors: list[JsError] = field(default_factory=list)


# -- validation -------------------------------------------------------------------------------


_KIND_NAMES = {str: "a string", dict: "an object", list: "an array", float: "a number"}


def _get(obj: dict, key: str, path: str, kinds: tuple[type, ...], required: bool) -> Any:
    value = obj.get(key)
    what = _KIND_NAMES.get(kinds[-1], "an integer")
    where = f"{path}.{key}" if path else key
    if value is None:
        if required:
            raise BeaconError(where, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise BeaconError(where, f"must be {what}")
    if isinstance(value, float) and not math.isfinite(value):
        raise BeaconError(where, "must be a finite number")
    return value


def _text(obj, key, path, *, required=False, max_len=MAX_TEXT, choices=None) -> str | None:
    value = _get(obj, key, path, (str,), required)
    where = f"{path}.{key}" if path else key
    if value is not None and choices is not None and value not in choices:
        raise BeaconError(where, f"must be one of {', '.join(choices)}")
    if value is not None and len(value) > max_len:
        raise BeaconError(where, f"must be at most {max_len} characters")
    return value


def _number(obj, key, path, *, required=False, minimum=None, integer=False) -> Any:
    value = _get(obj, key, path, (int,) if integer else (int, float), required)
    if value is not None and minimum is not None and value < minimum:
        raise BeaconError(f"{path}.{key}", f"must be >= {minimum}")
    return value


def _items(body: dict, key: str, limit: int) -> list[tuple[str, dict]]:
    values = _get(body, key, "", (list,), False) or []
    if len(values) > limit:
        raise BeaconError(key, f"must have at most {limit} items")
    for i, item in enumerate(values):
        if not isinstance(item, dict):
            raise BeaconError(f"{key}[{i}]", "must be an object")
    return [(f"{key}[{i}]", item) for i, item in enumerate(values)]


def parse_beacon(body: Any) -> Beacon:
    """Check a decoded beacon and return it scrubbed.

    :raise BeaconError: naming the JSON path of the first bad field.
    """
    if not isinstance(body, dict):
        raise BeaconError("$", "the beacon must be a JSON object")
    app_key = _text(body, "app_key", "")
    page = _page(_get(body, "page", "", (dict,), True))
    return Beacon(
        app_key=app_key,
        page=page,
        vitals=[_vital(item, p) for p, item in _items(body, "vitals", MAX_VITALS)],
        api_calls=[_api_call(item, p) for p, item in _items(body, "api_calls", MAX_API_CALLS)],
        errors=[_js_error(item, p) for p, item in _items(body, "errors", MAX_ERRORS)],
    )


def _route(obj: dict, path: str) -> str | None:
    route = _text(obj, "route", path, max_len=MAX_ROUTE)
    if route is not None and not route.startswith("/"):
        raise BeaconError(f"{path}.route", "must start with /")
    return route.split("?", 1)[0].split("#", 1)[0] if route is not None else None


def _page(obj: dict) -> PageView:
    url = _text(obj, "url", "page", required=True, max_len=MAX_URL)
    route = _route(obj, "page")
    referrer = _text(obj, "referrer", "page", max_len=MAX_URL)
    page = route or scrub_path(url)
    return PageView(
        url=page,
        page=page,
        referrer=scrub_url(referrer) if referrer else None,
        device_class=_text(obj, "device_class", "page", choices=DEVICE_CLASSES),
        navigation_type=_text(obj, "navigation_type", "page", choices=NAVIGATION_TYPES),
        timestamp_ms=_number(obj, "timestamp_ms", "page", minimum=0, integer=True),
    )


def _vital(obj: dict, path: str) -> Vital:
    name = _text(obj, "name", path, required=True, choices=tuple(VITALS))
    attribution = _get(obj, "attribution", path, (dict,), False) or {}
    return Vital(
        name=name,
        value=float(_number(obj, "value", path, required=True, minimum=0)),
        rating=_text(obj, "rating", path, choices=RATINGS),
        delta=_number(obj, "delta", path),
        id=_text(obj, "id", path),
        navigation_type=_text(obj, "navigationType", path, choices=NAVIGATION_TYPES),
        attribution=_bounded_attribution(attribution),
    )


def _bounded_attribution(attribution: dict) -> dict[str, Any]:
    """Scalars only, few keys, short strings: attribution objects can hold whole DOM entries."""
    kept: dict[str, Any] = {}
    for key, value in attribution.items():
        if len(kept) >= MAX_ATTRIBUTION_KEYS:
            break
        if isinstance(value, str):
            value = scrub_url(value) if "url" in key.lower() else value[:MAX_TEXT]
        elif isinstance(value, float) and not math.isfinite(value):
            continue
        elif not isinstance(value, int | float | bool):
            continue
        kept[str(key)[:64]] = value
    return kept


def _api_call(obj: dict, path: str) -> ApiCall:
    method = _text(obj, "method", path, required=True, max_len=16).upper()
    url = _text(obj, "url", path, required=True, max_len=MAX_URL)
    status = _number(obj, "status", path, required=True, minimum=0, integer=True)
    if status > 599:
        raise BeaconError(f"{path}.status", "must be <= 599")
    return ApiCall(
        method=method if method in HTTP_METHODS else "_OTHER",
        route=_route(obj, path) or scrub_path(url),
        status=status,
        duration_ms=float(_number(obj, "duration_ms", path, required=True, minimum=0)),
    )


def _js_error(obj: dict, path: str) -> JsError:
    message = _text(obj, "message", path, required=True, max_len=1 << 20)
    source = _text(obj, "source", path, max_len=MAX_URL)
    stack = _text(obj, "stack", path, max_len=1 << 20)
    return JsError(
        message=strip_queries(message[:MAX_MESSAGE]),
        source=strip_queries(source) if source else None,
        line=_number(obj, "line", path, minimum=0, integer=True),
        col=_number(obj, "col", path, minimum=0, integer=True),
        stack=strip_queries(stack)[:MAX_STACK] if stack else None,
    )


def status_class(status: int) -> str:
    """``2xx`` .. ``5xx``; ``error`` for status 0 (network failure, CORS, abort)."""
    return f"{status // 100}xx" if status >= 100 else "error"


def observations(
    beacon: Beacon, app: str, device_class: str
) -> list[tuple[str, dict[str, str], tuple[float, ...], float]]:
    """A beacon's histogram observations: (metric, labels, buckets, value in base units)."""
    base = {"app": app, "page": beacon.page.page}
    out = []
    for vital in beacon.vitals:
        spec = VITALS[vital.name]
        labels = {**base, "device_class": device_class}
        out.append((spec.metric, labels, spec.buckets, vital.value * spec.scale))
    for call in beacon.api_calls:
        labels = {
            **base,
            "http_request_method": call.method,
            "http_route": call.route,
            "status_class": status_class(call.status),
        }
        out.append((API_METRIC, labels, API_BUCKETS, call.duration_ms / 1000))
    return out
