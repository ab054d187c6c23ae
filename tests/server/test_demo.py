"""`sloscope demo` end to end, as a user runs it: one command starts the server, a Redis, the
shop and steady load; every dashboard page and its JSON twin show live data (RUM after a real
Chromium visits the shop); `sloscope demo fault errors` makes the availability SLO burn and
its alert fire; Ctrl-C stops every part; a part that dies stops the demo, named.

Every wait is a bounded poll on something observable (the state file, an HTTP answer, the
process exiting); the bounds are generous because the machine is shared.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sloscope.server.demo_ready import http_get
from sloscope.server.demo_state import DemoState, StateError, read_state

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
START_S = 240.0  # the demo's own readiness bounds add up to less
DATA_S = 90.0
BURN_S = 150.0
STOP_S = 90.0
POLL_S = 0.5


@dataclass
class Demo:
    process: subprocess.Popen
    data_dir: Path
    output: Path
    state: DemoState | None = None

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def poll(self, what: str, check: Callable[[], Any], timeout_s: float) -> Any:
        """``check()`` until it returns something truthy; fails on timeout or demo exit."""
        deadline = time.monotonic() + timeout_s
        while True:
            code = self.process.poll()
            assert code is None, f"the demo exited ({code}) {what}:\n{self.text()}"
            found = check()
            if found:
                return found
            assert time.monotonic() < deadline, f"timed out after {timeout_s}s {what}"
            time.sleep(POLL_S)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "sloscope", "demo", *args, "--data-dir", str(self.data_dir)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # what Ctrl-C in its terminal sends
        return self.process.wait(timeout=STOP_S)


def _start(tmp_path: Path) -> Demo:
    data_dir, output = tmp_path / "demo", tmp_path / "demo.out"
    with open(output, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "sloscope", "demo", "--data-dir", str(data_dir), "--port", "0",
             "--users", "4"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp_path,
        )  # fmt: skip
    demo = Demo(process, data_dir, output)

    def ready() -> DemoState | None:
        try:
            return read_state(data_dir / "demo-state.json")
        except StateError:
            return None

    demo.state = demo.poll("starting", ready, START_S)
    return demo


@pytest.fixture
def demo(tmp_path) -> Iterator[Demo]:
    demo = _start(tmp_path)
    try:
        yield demo
    finally:
        if demo.process.poll() is None:
            demo.process.send_signal(signal.SIGINT)
            try:
                demo.process.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                demo.process.kill()  # its children get SIGTERM from the kernel (PDEATHSIG)
                demo.process.wait()


def _json(url: str) -> Any:
    status, body = http_get(url, timeout_s=30)
    assert status == 200, f"{url}: HTTP {status}: {body[:300]!r}"
    return json.loads(body)


def _cmdline(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def _twin_url(dashboard: str, page_url: str) -> str:
    """``/caches?range=1h`` -> ``<dashboard>/api/ui/caches?range=1h``."""
    path = urllib.parse.urlsplit(page_url)
    return f"{dashboard.rstrip('/')}/api/ui{path.path}?{path.query}"


def _has_data(value: Any) -> bool:
    """Something other than the time range: a non-empty list, or a number above zero."""
    if isinstance(value, dict):
        return any(_has_data(v) for k, v in value.items() if k != "time_range")
    if isinstance(value, list):
        return bool(value)
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


#: What "live data" means on each page's JSON twin; any other area needs _has_data.
LIVE = {
    "slos": lambda d: d["totals"]["slos"] == 4 and d["totals"]["no_data"] == 0,
    "services": lambda d: any(s["name"] == "shop" for s in d["services"]),
    "caches": lambda d: any(c["has_l2"] for c in d["caches"]),  # the demo's own Redis
    "dbpools": lambda d: any(p["engine"] == "primary" for p in d["pools"]),
    "rum": lambda d: any("/product/" in json.dumps(p) for p in d["pages"]),
    "traces": lambda d: any(t["root_service"] == "shop" for t in d["traces"]),
    "alerts": lambda d: d["rules_loaded"] and d["notifier"],
    "rules": lambda d: d["group_count"] >= 4 and d["failing"] == 0,
    "explore": lambda d: len(d["rows"]) == 2,  # up of the shop and of sloscope itself
}


def _visit_the_shop(shop_url: str) -> None:
    """A person in Chromium: the home page, a product, then the tab closes (beacons)."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(shop_url)
            page.click("ul.products a")  # leaving the home page sends its beacon
            page.wait_for_url("**/product/*")
            page.wait_for_load_state("load")
            page.evaluate("new Promise(done => requestIdleCallback(done, {timeout: 5000}))")
            page.close(run_before_unload=True)  # hidden, pagehide: sendBeacon
        finally:
            browser.close()


def _check_every_page(demo: Demo, dashboard: str) -> list[str]:
    def spans_counted() -> dict | None:
        # increase() needs two samples of the RED series: the second span batch, not the first.
        found = _json(f"{dashboard}api/ui/home")
        return found if found["status"]["entry_spans"] > 0 else None

    home = demo.poll("for entry spans on the home page", spans_counted, DATA_S)
    assert home["status"]["series"] > 0
    checked = []
    for area in home["areas"]:
        url = area["url"] + ("&query=up" if area["key"] == "explore" else "")
        status, html = http_get(dashboard.rstrip("/") + url, timeout_s=30)
        assert status == 200, (area["key"], html[:300])
        assert b"Authentication is disabled" in html  # the demo's warning banner
        live, twin = LIVE.get(area["key"], _has_data), _twin_url(dashboard, url)
        demo.poll(f"for live data on {area['key']}", lambda: live(_json(twin)), DATA_S)  # noqa: B023
        checked.append(area["key"])
    return checked


def _alert_states(dashboard: str, name: str) -> set[str]:
    alerts = _json(f"{dashboard}api/v1/alerts")["data"]["alerts"]
    return {a["state"] for a in alerts if a["labels"]["alertname"] == name}


def _burn_rate(dashboard: str, slo: str) -> float:
    query = urllib.parse.quote(f'slo:current_burn_rate:ratio{{sloth_slo="{slo}"}}')
    result = _json(f"{dashboard}api/v1/query?query={query}")["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def test_the_demo_shows_live_data_burns_on_a_fault_and_stops_cleanly(demo):
    state = demo.state
    assert set(state.children) == {"server", "redis", "shop", "load"} and state.redis
    commands = {name: _cmdline(pid) for name, pid in state.children.items()}
    assert all(commands.values()), commands
    assert f"Dashboard: {state.dashboard_url}" in demo.text()

    _visit_the_shop(state.shop_url)
    checked = _check_every_page(demo, state.dashboard_url)
    assert {"slos", "services", "caches", "dbpools", "rum", "traces"} <= set(checked)

    assert _burn_rate(state.dashboard_url, "availability") < 1
    fault = demo.cli("fault", "errors")
    assert fault.returncode == 0, fault.stderr
    assert "shop-availability" in fault.stdout
    burn = demo.poll(
        "for the availability SLO to burn",
        lambda: (rate := _burn_rate(state.dashboard_url, "availability")) > 1 and rate,
        BURN_S,
    )
    assert burn > 1
    demo.poll(
        "for ShopDemoAvailability to go pending or fire",
        lambda: _alert_states(state.dashboard_url, "ShopDemoAvailability") & {"pending", "firing"},
        BURN_S,
    )
    cleared = demo.cli("fault", "clear")
    assert cleared.returncode == 0 and "error_rate" in cleared.stdout, cleared.stderr

    assert demo.stop() == 0, demo.text()
    assert "sloscope demo: stopping server" in demo.text()
    assert not (demo.data_dir / "demo-state.json").exists()
    for name, pid in state.children.items():
        assert _cmdline(pid) != commands[name], f"the {name} (pid {pid}) outlived the demo"


def test_a_part_that_dies_stops_the_demo_naming_it(demo):
    state = demo.state
    commands = {name: _cmdline(pid) for name, pid in state.children.items()}
    os.kill(state.children["shop"], signal.SIGKILL)
    assert demo.process.wait(timeout=STOP_S) == 1
    out = demo.text()
    assert "sloscope demo: the shop exited with status -9" in out
    assert str(demo.data_dir / "logs" / "shop.log") in out
    assert not (demo.data_dir / "demo-state.json").exists()
    for name, pid in state.children.items():
        assert _cmdline(pid) != commands[name], f"the {name} (pid {pid}) outlived the demo"
