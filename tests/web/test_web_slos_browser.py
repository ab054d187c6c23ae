"""The SLO pages in headless Chromium: they render with data, draw every chart, run no
injected script, and click through SLO -> burning window -> exemplar trace -> waterfall."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import sync_playwright
from slo_testdata import build_app, load_slos, seed_slo_data
from test_web_browser import CHROMIUM, CHROMIUM_ARGS, Watched
from web_testdata import PASSWORDS, ROLES, XSS_IMG, XSS_SCRIPT, seed
from werkzeug.serving import make_server

from collector.store.sql import SqlStore
from sloscope.server.collector_role import build_collector
from web.auth import hash_password
from web.settings import User


@pytest.fixture(scope="module")
def slo_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    path = tmp_path_factory.mktemp("slo-browser")
    with SqlStore(f"sqlite:///{path}/web.db") as store:
        seeded = seed(store, build_collector(store))
        seed_slo_data(seeded)
        users = tuple(User(n, ROLES[n], hash_password(p)) for n, p in PASSWORDS.items())
        app = build_app(seeded, users, load_slos(path))
        http = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{http.server_port}", seeded
        finally:
            http.shutdown()
            thread.join()


@pytest.fixture(scope="module")
def slo_browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def watched(slo_browser, slo_server) -> Iterator[Watched]:
    context = slo_browser.new_context(viewport={"width": 1400, "height": 900})
    page = Watched(context.new_page())
    base = slo_server[0]
    page.page.goto(f"{base}/slos")
    page.page.fill("input[name=username]", "vera")
    page.page.fill("input[name=password]", PASSWORDS["vera"])
    page.page.click("button[type=submit].primary")
    page.page.wait_for_url(f"{base}/slos")
    yield page
    context.close()


def test_overview_renders_payloads_as_text(watched, slo_server, tmp_path):
    watched.visit(f"{slo_server[0]}/slos", chart=False)
    page = watched.page
    page.screenshot(path=str(tmp_path / "slos.png"), full_page=True)
    text = page.inner_text("main")
    assert XSS_SCRIPT in text and XSS_IMG in text
    assert page.locator("tr.slo-row").count() == 4
    assert page.locator("tr.state-firing").count() == 1
    page.click("th a:has-text('Burn 6h')")
    page.wait_for_url("**sort=burn_6h**")
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_detail_draws_every_chart(watched, slo_server, tmp_path):
    watched.visit(f"{slo_server[0]}/slos/shop-availability", chart=True)
    page = watched.page
    page.wait_for_function(
        "document.querySelectorAll('.chart').length > 0 && "
        "[...document.querySelectorAll('.chart')].every(c => c.dataset.rendered === 'true')"
    )
    assert page.locator(".chart .plot-container").count() == 7  # burndown, SLI, 4 tiers, why
    page.screenshot(path=str(tmp_path / "slo-detail.png"), full_page=True)
    assert XSS_IMG in page.inner_text("pre.sql")
    assert watched.problems == []
    watched.visit(f"{slo_server[0]}/slos/search-availability", chart=True)
    assert XSS_IMG in watched.page.inner_text("main")
    page.screenshot(path=str(tmp_path / "slo-detail-computed.png"), full_page=True)


def test_click_through_burning_window_to_exemplar_trace(watched, slo_server, tmp_path):
    base, seeded = slo_server
    watched.visit(f"{base}/slos", chart=False)
    page = watched.page
    page.click("a:has-text('availability') >> nth=1")  # shop comes after search
    page.wait_for_url("**/slos/shop-availability**")
    page.click("ul.episodes a")
    page.wait_for_url("**range=custom**")
    page.wait_for_selector(".chart[data-rendered=true] .plot-container")
    page.screenshot(path=str(tmp_path / "slo-burning-window.png"), full_page=True)
    page.click(f"a:has-text('{seeded.trace_ids[10]}')")
    page.wait_for_url(f"**/traces/{seeded.trace_ids[10]}**")
    page.wait_for_selector(".chart[data-rendered=true] .plot-container")
    assert page.locator("details.span").count() == 3
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert watched.problems == []


def test_clicking_an_exemplar_point_opens_its_trace(watched, slo_server):
    base, seeded = slo_server
    watched.visit(f"{base}/slos/shop-availability", chart=True)
    page = watched.page
    point = page.locator(".chart[data-figure=slo-signals] path.point").first
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url("**/traces/**")
    assert page.url.split("/traces/")[1].split("?")[0] in seeded.trace_ids[10:12]
