"""The RUM, Alerts and Rules pages in headless Chromium (Debian's, driven by Playwright):
they render with data, draw their charts, run none of the script-bearing label values,
routes and messages; an editor silences an alert from its "Silence" button and expires the
silence again, and the notifier mutes and unmutes the alert; a viewer cannot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright
from web_alerting_data import alerting_app, build_alerting, serving
from web_rum_data import seed_rum
from web_testdata import NOW_MS, PASSWORDS, ROLES, XSS_IMG, XSS_LINK, XSS_SCRIPT, seed

from collector.store.sql import SqlStore
from slo.notify.notifier import AlertState
from sloscope.server.collector_role import build_collector
from web.auth import hash_password
from web.settings import User

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("alerts-browser") / "web.db"
    with SqlStore(f"sqlite:///{path}") as store:
        seeded = seed(store, build_collector(store))
        seed_rum(store)
        alerting = build_alerting(store)
        users = tuple(User(n, ROLES[n], hash_password(p)) for n, p in PASSWORDS.items())
        with serving(alerting_app(seeded, users, alerting)) as base:
            yield base, alerting


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watched:
    """A logged-in page that records JS exceptions and console errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("pageerror", lambda exc: self.problems.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None,
        )

    def visit(self, url: str, charts: int) -> None:
        self.page.goto(url)
        self.page.wait_for_load_state("load")
        if charts:
            self.page.wait_for_function(
                f"document.querySelectorAll('.chart[data-rendered=true] .plot-container')"
                f".length === {charts}"
            )
        self.assert_clean()

    def assert_clean(self) -> None:
        assert self.page.evaluate("typeof window.__xss") == "undefined"
        assert self.problems == []


def logged_in(browser, base: str, name: str) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    watched = Watched(context.new_page())
    page = watched.page
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/")
    try:
        yield watched
    finally:
        context.close()


@pytest.fixture
def viewer(browser, server):
    yield from logged_in(browser, server[0], "vera")


@pytest.fixture
def editor(browser, server):
    yield from logged_in(browser, server[0], "ed")


PAGES = [
    ("rum", "/rum", 2),
    ("rum-cls", "/rum?vital=CLS", 2),
    ("alerts", "/alerts", 1),
    ("rules", "/rules", 0),
]


@pytest.mark.parametrize(("name", "path", "charts"), PAGES)
def test_pages_render_with_data_and_run_no_injected_script(
    viewer, server, tmp_path, name, path, charts
):
    viewer.visit(server[0] + path, charts)
    viewer.page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    text = viewer.page.inner_text("main")
    if name == "rum":
        assert XSS_SCRIPT in text and XSS_IMG in text  # a JS error message, a page route
        assert viewer.page.locator(".vitals-table .crux-bar").count() == 7
    if name == "alerts":
        assert XSS_LINK in text and "inhibited" in text and "Runbook" in text
    if name == "rules":
        assert "vector cannot contain metrics with the same labelset" in text


def test_editor_silences_an_alert_and_expires_the_silence(editor, server, tmp_path):
    base, alerting = server
    page = editor.page
    editor.visit(f"{base}/alerts?range=6h", 1)
    article = page.locator("article.alert", has_text="HighQueue").filter(has_text="__xss=3").first
    fingerprint = article.get_attribute("data-fingerprint")
    article.locator("a.silence-button").click()
    page.wait_for_url("**/alerts/silences/new?**")
    matchers = page.input_value("textarea[name=matchers]")
    assert 'alertname="HighQueue"' in matchers and "window.__xss=3" in matchers
    page.fill("input[name=comment]", "draining <b>the</b> queue")
    page.fill("input[name=duration]", "1h")
    page.screenshot(path=str(tmp_path / "silence-form.png"), full_page=True)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/alerts?**created=**")
    assert "range=6h" in page.url
    editor.assert_clean()
    statuses = {s.fingerprint: s for s in alerting.notifier.alerts(NOW_MS)}
    (silence_id,) = statuses[fingerprint].silenced_by
    assert statuses[fingerprint].state is AlertState.SUPPRESSED
    assert alerting.notifier.silences.get(silence_id).created_by == "ed"
    row = page.locator(f"#silence-{silence_id}")
    assert "draining <b>the</b> queue" in row.inner_text()
    assert "silenced" in page.locator(f"article[data-fingerprint='{fingerprint}']").inner_text()
    page.screenshot(path=str(tmp_path / "alerts-silenced.png"), full_page=True)

    row.locator("button", has_text="Expire").click()
    page.wait_for_url("**expired=**")
    editor.assert_clean()
    statuses = {s.fingerprint: s for s in alerting.notifier.alerts(NOW_MS)}
    assert statuses[fingerprint].state is AlertState.ACTIVE
    assert statuses[fingerprint].silenced_by == ()
    assert "expired" in page.locator(f"#silence-{silence_id}").inner_text()


def test_viewer_sees_no_silence_controls_and_is_refused(viewer, server):
    base, alerting = server
    viewer.visit(f"{base}/alerts", 1)
    page = viewer.page
    assert page.locator("a.silence-button").count() == 0
    assert page.locator("text=New silence").count() == 0
    before = len(alerting.notifier.silences.list(NOW_MS))
    status = page.evaluate(
        """async () => {
            const token = document.querySelector('meta[name=csrf-token]').content;
            const body = new URLSearchParams({matchers: 'alertname="HighQueue"',
                                               comment: 'x', csrf_token: token});
            const answer = await fetch('/api/ui/alerts/silences/new', {method: 'POST', body});
            return answer.status;
        }"""
    )
    assert status == 403
    assert len(alerting.notifier.silences.list(NOW_MS)) == before
    viewer.problems.clear()  # the refused fetch logs a console error, as it should
    response = page.goto(f"{base}/alerts/silences/new")
    assert response is not None and response.status == 403
