"""The RUM script in a real browser: Debian's Chromium (Playwright) loads a page that includes
the SDK's tag, the script comes from a live sloscope collector, and what the page does (load,
API calls, errors, a click, a layout shift, an SPA route change, closing) is found in the
collector's store: ``rum_events`` rows and ``rum_web_vitals_*`` series through PromQL.

Nothing sleeps: the test waits on the collector answering beacons (a condition variable fed by
the app's ``after_request``) and on page state (Playwright's ``wait_for_function``), each
bounded.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask, Response, request
from playwright import sync_api
from werkzeug.serving import make_server

from collector.promql.engine import Engine
from collector.receivers.rum_events import RumEventStore
from collector.receivers.rum_script_build import build
from collector.store.sql import SqlStore
from sloscope import rum
from sloscope.server.config import RumAppConfig
from sloscope.server.run import create_http_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
APP_KEY = "pk_shop_browser"
WAIT_S = 30.0  # an upper bound for a beacon to arrive, not a pause

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Product</title>
{tag}
<style>body {{ font: 16px sans-serif; }} #hero {{ font-size: 40px; }}</style>
</head><body>
<main id="main">
  <h1 id="hero">A product worth a large contentful paint</h1>
  <p id="text">Some text about the product, long enough to be painted.</p>
  <button id="work" onclick="work()">Add to cart</button>
  <p id="out"></p>
</main>
<script>
function work() {{
  const end = performance.now() + 150;  // a slow handler: the interaction INP measures
  while (performance.now() < end) {{}}
  document.getElementById('out').textContent = 'added';
}}
window.addEventListener('load', () => {{
  requestAnimationFrame(() => requestAnimationFrame(() => {{
    const ad = document.createElement('div');  // pushes the content down: a layout shift
    ad.style.height = '240px';
    ad.textContent = 'late banner';
    document.getElementById('main').prepend(ad);
  }}));
  const xhr = new XMLHttpRequest();
  xhr.open('GET', '/api/items/123?session=secret');
  xhr.onloadend = () => {{
    fetch('/api/cart/9?token=secret#frag', {{method: 'POST'}}).then(() => {{
      window.__apiDone = true;
    }});
  }};
  xhr.send();
  setTimeout(() => {{ throw new TypeError('boom in the shop'); }});
  Promise.reject(new Error('rejected in the shop'));
}});
</script>
</body></html>
"""


@dataclass
class Servers:
    page_url: str
    store: SqlStore
    beacons: list[int]  # status of each beacon the collector answered
    answered: threading.Condition
    bodies: list[bytes]  # each beacon as the browser sent it

    def wait_for_beacons(self, n: int) -> None:
        with self.answered:
            ok = self.answered.wait_for(lambda: len(self.beacons) >= n, timeout=WAIT_S)
        assert ok, f"expected {n} beacons, the collector answered {self.beacons}"

    def events(self, kind: str | None = None) -> list[dict]:
        return RumEventStore(self.store.engine).query("shop", kind, limit=1000)


def _serve(app: Flask):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def _page_app(collector_url: str) -> Flask:
    app = Flask("shop_pages")

    @app.get("/product/<int:product_id>")
    def product(product_id: int):
        rate = float(request.args.get("rate", "1"))
        tag = rum.snippet(
            collector_url, service="shop", app_key=APP_KEY, page="/product/<id>", sample_rate=rate
        )
        return PAGE.format(tag=tag)

    @app.route("/api/<path:rest>", methods=["GET", "POST"])
    def api(rest: str):
        return Response(json.dumps({"ok": rest}), mimetype="application/json")

    return app


def _keep_bodies(wsgi_app, bodies: list[bytes]):
    """WSGI middleware keeping each beacon's raw body: what left the browser."""

    def app(environ, start_response):
        if environ["PATH_INFO"].startswith("/rum/v1/beacon"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            bodies.append(body)
            environ["wsgi.input"] = io.BytesIO(body)
        return wsgi_app(environ, start_response)

    return app


def _collector_app(store, page_origin: str, beacons, answered, rate_per_s, burst) -> Flask:
    app_config = RumAppConfig("shop", APP_KEY, (page_origin,), rate_per_s, burst)
    app = create_http_app(store, rum_apps=[app_config])

    @app.after_request
    def count_beacons(resp):
        if request.method == "POST" and request.path.startswith("/rum/v1/beacon"):
            with answered:
                beacons.append(resp.status_code)
                answered.notify_all()
        return resp

    return app


@pytest.fixture(scope="module")
def built_script():
    return build()  # quick when up to date


@pytest.fixture
def servers(request, tmp_path, built_script) -> Iterator[Servers]:
    """A collector and a page server on loopback; ``@pytest.mark.parametrize("servers",
    [(rate_per_s, burst)], indirect=True)`` sets the app's rate limit."""
    rate_per_s, burst = getattr(request, "param", (100.0, 100.0))
    store = SqlStore(f"sqlite:///{tmp_path / 'rum.db'}")
    store.open()
    beacons: list[int] = []
    answered = threading.Condition()
    # Ports first, apps second: each app needs the other's address.
    page_server = make_server("127.0.0.1", 0, Flask("placeholder"), threaded=True)
    page_origin = f"http://127.0.0.1:{page_server.server_port}"
    collector = _collector_app(store, page_origin, beacons, answered, rate_per_s, burst)
    bodies: list[bytes] = []
    collector.wsgi_app = _keep_bodies(collector.wsgi_app, bodies)
    c_server, c_thread = _serve(collector)
    page_server.app = _page_app(f"http://127.0.0.1:{c_server.server_port}")
    p_thread = threading.Thread(target=page_server.serve_forever, daemon=True)
    p_thread.start()
    try:
        yield Servers(f"{page_origin}/product/42", store, beacons, answered, bodies)
    finally:
        for server, thread in ((page_server, p_thread), (c_server, c_thread)):
            server.shutdown()
            thread.join()
            server.server_close()
        store.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _vital_count(store: SqlStore, metric: str, page: str) -> float:
    query = f'sum({metric}_count{{app="shop", page="{page}"}})'
    result = Engine(store).instant_query(query, int(time.time() * 1000))
    return sum(sample.value for sample in result.value)


def _load_and_interact(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.__apiDone === true", timeout=WAIT_S * 1000)
    page.click("#work")
    page.wait_for_function("document.getElementById('out').textContent === 'added'")
    # web-vitals takes in event timings in an idle callback; a user leaves later than that.
    page.evaluate("new Promise(done => requestIdleCallback(done, {timeout: 5000}))")


def test_a_page_reports_vitals_api_calls_and_errors_when_closed(browser, servers):
    context = browser.new_context()
    page = context.new_page()
    _load_and_interact(page, servers.page_url + "?email=a%40b.c#reviews")
    page.close(run_before_unload=True)  # the tab goes away: hidden, pagehide, sendBeacon
    servers.wait_for_beacons(1)
    context.close()
    assert servers.beacons == [204]

    (sent,) = servers.bodies
    for secret in (b"email", b"a%40b", b"token", b"session=", b"#reviews", b"#frag"):
        assert secret not in sent  # queries and fragments never leave the page
    beacon = json.loads(sent)
    assert beacon["app_key"] == APP_KEY and beacon["page"]["route"] == "/product/<id>"
    views = servers.events("page_view")
    assert [v["page"] for v in views] == ["/product/<id>"]  # one beacon for the whole visit
    view = views[-1]["payload"]
    assert view["url"] == "/product/<id>" and view["navigation_type"] == "navigate"
    vitals = {e["payload"]["name"]: e["payload"] for e in servers.events("web_vital")}
    assert set(vitals) == {"LCP", "INP", "CLS", "FCP", "TTFB"}
    assert vitals["INP"]["value"] >= 100  # the 150 ms handler
    assert vitals["CLS"]["value"] > 0
    assert vitals["LCP"]["attribution"]["target"] == "#hero"
    assert all(v["rating"] in ("good", "needs-improvement", "poor") for v in vitals.values())
    calls = sorted(
        (e["payload"]["method"], e["payload"]["route"], e["payload"]["status"])
        for e in servers.events("api_call")
    )
    assert calls == [("GET", "/api/items/:id", 200), ("POST", "/api/cart/:id", 200)]
    messages = sorted(e["payload"]["message"] for e in servers.events("js_error"))
    assert any("boom in the shop" in m for m in messages)
    assert "Error: rejected in the shop" in messages
    for metric in ("lcp_seconds", "inp_seconds", "cls", "fcp_seconds", "ttfb_seconds"):
        assert _vital_count(servers.store, f"rum_web_vitals_{metric}", "/product/<id>") >= 1
    api = _vital_count(servers.store, "rum_api_request_duration_seconds", "/product/<id>")
    assert api == 2


HIDE = """() => {
  Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
  document.dispatchEvent(new Event('visibilitychange'));
  Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
}"""


def test_spa_route_changes_are_page_views_of_their_own(browser, servers):
    context = browser.new_context()
    page = context.new_page()
    page.goto(servers.page_url)
    page.wait_for_function("window.__apiDone === true")
    page.evaluate("history.pushState({}, '', '/product/43/reviews?sort=new')")
    servers.wait_for_beacons(1)  # the first view is sent as the route changes
    page.evaluate("history.replaceState({}, '', '/product/43/reviews?sort=old')")  # same path
    page.evaluate("fetch('/api/reviews/43')")
    page.go_back()  # popstate, back to the first path
    servers.wait_for_beacons(2)
    page.close(run_before_unload=True)
    servers.wait_for_beacons(3)
    context.close()

    views = sorted(servers.events("page_view"), key=lambda e: e["id"])
    pages = [v["page"] for v in views]
    assert pages == ["/product/<id>", "/product/:id/reviews", "/product/<id>"]
    assert views[1]["payload"]["referrer"].endswith("/product/:id")
    spa_calls = [e["payload"] for e in servers.events("api_call") if e["page"] != "/product/<id>"]
    assert [c["route"] for c in spa_calls] == ["/api/reviews/:id"]
    assert len(servers.events("web_vital")) >= 3  # FCP, TTFB, LCP at least, on the first view


@pytest.mark.parametrize(
    ("rate", "draw", "reports"), [("0.25", "0.5", False), ("0.75", "0.5", True)]
)
def test_sessions_are_sampled_once_by_their_stored_draw(browser, servers, rate, draw, reports):
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(f"sessionStorage.setItem('sloscope_rum_draw', '{draw}')")
    page.goto(f"{servers.page_url}?rate={rate}")
    page.wait_for_function("window.__apiDone === true")
    page.evaluate(HIDE)
    # The control page always reports (rate 1): its beacon comes after any the first sent.
    control = context.new_page()
    control.goto(f"{servers.page_url}?rate=1")
    control.wait_for_function("window.__apiDone === true")
    control.evaluate(HIDE)
    servers.wait_for_beacons(2 if reports else 1)
    context.close()
    assert len(servers.events("page_view")) == (2 if reports else 1)


COUNT_BEACON_FETCHES = """
Object.defineProperty(Navigator.prototype, 'sendBeacon', {value: undefined});
window.__beaconFetches = 0;
const realFetch = window.fetch;
window.fetch = function (url, init) {
  if (String(url).includes('/rum/v1/beacons')) window.__beaconFetches++;
  return realFetch.apply(this, arguments);
};
"""


@pytest.mark.parametrize("servers", [(0.001, 1.0)], indirect=True)  # one beacon, then 429
def test_a_429_on_the_fetch_fallback_pauses_sending(browser, servers):
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(COUNT_BEACON_FETCHES)  # no sendBeacon: the script falls back to fetch
    page.goto(servers.page_url)
    page.wait_for_function("window.__apiDone === true")
    page.evaluate(HIDE)
    servers.wait_for_beacons(1)
    assert page.evaluate("window.__beaconFetches") == 1
    page.evaluate("fetch('/api/more').then(() => { window.__more = true; })")
    page.wait_for_function("window.__more === true")
    page.evaluate(HIDE)
    servers.wait_for_beacons(2)
    page.wait_for_function("sessionStorage.getItem('sloscope_rum_paused_until') !== null")
    paused_until = int(page.evaluate("sessionStorage.getItem('sloscope_rum_paused_until')"))
    page.evaluate("fetch('/api/even-more').then(() => { window.__evenMore = true; })")
    page.wait_for_function("window.__evenMore === true")
    page.evaluate(HIDE)  # paused: held, not sent
    fetches = page.evaluate("window.__beaconFetches")
    context.close()
    assert servers.beacons == [204, 429]
    assert fetches == 2
    # Retry-After is about 1000 s (one token at 0.001/s): the pause is that long, not the
    # script's 60 s default for an unreadable header.
    assert paused_until - time.time() * 1000 > 900_000
