"""RUM data for the RUM page: real beacons through the collector's parsing, histogram
accumulator and event store, with numbers small enough to check by hand.

App ``shop``, within the last hour before ``NOW_MS``:

- ``/product/<id>``, mobile: LCP 1.0, 2.0, 3.0, 5.0 s (2 good, 1 needs improvement, 1 poor;
  p75 3.0 s), CLS 0.05 and 0.3 (p75 0.375), two "TypeError: x is undefined" errors;
- ``/product/<id>``, desktop: LCP 0.8 and 1.2 s (all good, p75 1.25 s);
- all devices: LCP p75 2.75 s, shares 4/6, 1/6, 1/6;
- ``/cart/`` + ``XSS_IMG`` (desktop): LCP 0.9 s and one error whose message is ``XSS_SCRIPT``;
- API calls: ``GET /api/cart/<id>`` 0.1, 0.2, 0.3 (status 500) and 2.0 s (status 0: network
  error): p75 0.5 s, p95 2.2 s, half failed; ``POST /api/orders`` 50 and 60 ms: p95 72.5 ms.

Every series also gets its last value again at ``NOW_MS`` (a sample per series, as a later
beacon or scrape would leave), so ``increase()`` over the page's range needs no
extrapolation: counts are exact.
"""

from __future__ import annotations

from web_testdata import NOW_MS, XSS_IMG, XSS_SCRIPT

from collector.convert.web_vitals import parse_beacon
from collector.receivers.rum import RumAccumulator
from collector.receivers.rum_events import RumEventStore

APP = "shop"
PRODUCT = "/product/<id>"
CART = "/cart/" + XSS_IMG
TYPE_ERROR = "TypeError: x is undefined"


def _beacon(route: str, device: str, vitals=(), api_calls=(), errors=()) -> dict:
    return {
        "page": {"url": "https://shop.example" + route, "route": route, "device_class": device},
        "vitals": [{"name": n, "value": v} for n, v in vitals],
        "api_calls": [
            {"method": m, "url": r, "route": r, "status": s, "duration_ms": d}
            for m, r, s, d in api_calls
        ],
        "errors": [
            {"message": e, "source": "https://shop.example/app.js", "line": 10, "col": 4}
            for e in errors
        ],
    }


def beacons() -> list[tuple[dict, str]]:
    """The beacons, each with its device class, oldest first."""
    cart_api = "/api/cart/<id>"
    mobile = [
        _beacon(PRODUCT, "mobile", [("LCP", 1000), ("CLS", 0.05)], [("GET", cart_api, 200, 100)]),
        _beacon(PRODUCT, "mobile", [("LCP", 2000), ("CLS", 0.3)], [("GET", cart_api, 200, 200)]),
        _beacon(PRODUCT, "mobile", [("LCP", 3000)], [("GET", cart_api, 500, 300)], [TYPE_ERROR]),
        _beacon(PRODUCT, "mobile", [("LCP", 5000)], [("GET", cart_api, 0, 2000)], [TYPE_ERROR]),
    ]
    desktop = [
        _beacon(PRODUCT, "desktop", [("LCP", 800)], [("POST", "/api/orders", 201, 50)]),
        _beacon(PRODUCT, "desktop", [("LCP", 1200)], [("POST", "/api/orders", 201, 60)]),
        _beacon(CART, "desktop", [("LCP", 900)], errors=[XSS_SCRIPT]),
    ]
    return [(b, "mobile") for b in mobile] + [(b, "desktop") for b in desktop]


def seed_rum(store) -> None:
    """Store the beacons' samples and events (two minutes apart, from 50 minutes ago)."""
    events = RumEventStore(store.engine)
    events.create()
    accumulator = RumAccumulator()
    last: dict = {}
    for i, (body, device) in enumerate(beacons()):
        beacon = parse_beacon(body)
        t_ms = NOW_MS - 50 * 60_000 + i * 2 * 60_000
        samples = accumulator.record(beacon, APP, device, t_ms)
        store.append(samples)
        events.insert(APP, beacon, device, t_ms)
        last.update({labels: value for labels, _, value in samples})
    store.append([(labels, NOW_MS, value) for labels, value in last.items()])
