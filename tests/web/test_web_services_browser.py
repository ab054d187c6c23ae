"""The Services, Caches and DB pools pages in headless Chromium (Debian's, driven by
Playwright) over real SDK output plus script-bearing names: every chart draws, no script
error, no injected script runs, and the services list leads to a service's page."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, sync_playwright
from web_sdk_shop import dashboard, delete_keys, hostile_samples, run_shop
from web_testdata import NOW_MS, PASSWORDS, XSS_IMG, XSS_LINK, XSS_SCRIPT
from werkzeug.serving import make_server

from collector.store.sql import SqlStore

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
RANGE = "range=15m"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory, redis_url) -> Iterator[str]:
    path = tmp_path_factory.mktemp("shop-browser")
    prefix = f"sloscope-test:web-browser:{uuid.uuid4().hex}:"
    with SqlStore(f"sqlite:///{path}/shop.db") as store:
        try:
            run_shop(store, str(path), redis_url, prefix, NOW_MS)
        finally:
            delete_keys(redis_url, prefix)
        store.append(hostile_samples(NOW_MS))
        http = make_server("127.0.0.1", 0, dashboard(store, NOW_MS), threaded=True)
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{http.server_port}"
        finally:
            http.shutdown()
            thread.join()


@pytest.fixture(scope="module")
def page(base_url) -> Iterator[tuple[Page, list[str]]]:
    """A logged-in viewer's page, and the script errors it has seen."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        tab = context.new_page()
        problems: list[str] = []
        tab.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
        tab.on(
            "console",
            lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        tab.goto(f"{base_url}/services?{RANGE}")
        tab.fill("input[name=username]", "vera")
        tab.fill("input[name=password]", PASSWORDS["vera"])
        tab.click("button[type=submit].primary")
        tab.wait_for_url(f"{base_url}/services?{RANGE}")
        yield tab, problems
        browser.close()


PAGES = [
    ("services", f"/services?{RANGE}", 1),
    ("service-shop", f"/services/shop?{RANGE}", 4),
    ("service-payments", f"/services/payments?{RANGE}", 4),
    ("service-hostile", f"/services/{quote(XSS_LINK, safe='')}?{RANGE}", 3),  # no errors
    ("caches", f"/caches?{RANGE}", 3),
    ("dbpools", f"/dbpools?{RANGE}", 3),
]


@pytest.mark.parametrize(("name", "path", "charts"), PAGES)
def test_page_draws_its_charts_and_runs_no_injected_script(
    page, base_url, tmp_path, name, path, charts
):
    tab, problems = page
    problems.clear()
    tab.goto(base_url + path)
    tab.wait_for_load_state("load")
    drawn = ".chart[data-rendered=true] .plot-container"
    tab.wait_for_function(f"document.querySelectorAll('{drawn}').length >= {charts}")
    assert tab.locator(drawn).count() == charts
    assert tab.evaluate("typeof window.__xss") == "undefined"
    assert problems == []
    tab.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    text = tab.inner_text("main")
    if name in ("caches", "service-hostile"):
        assert XSS_SCRIPT in text  # shown as text, not run
    if name == "dbpools":
        assert XSS_IMG in text and "Time above 80%" in text


def test_services_list_links_to_the_service_page(page, base_url):
    tab, problems = page
    tab.goto(f"{base_url}/services?{RANGE}")
    tab.click("a.service:text-is('shop')")
    tab.wait_for_url("**/services/shop?range=15m")
    assert "GET /orders/<int:order_id>" in tab.inner_text("main table")
    assert problems == []
