"""Dashboard page loads in headless Chromium with 30 days of data for 100 SLOs.

    python benchmarks/web_bench.py [--slos 100] [--days 30] [--page-days 7] [--loads 10]
                                   [--traces 3000] [--profile-top 15]

Builds a SQLite store with :mod:`benchmarks.slo_dataset` (``--slos`` SLOs, ``--days`` of
request counters and their backfilled 5m rates) and :mod:`benchmarks.web_bench_data` (HTTP,
SQL, cache, pool and RUM histograms over the last ``--page-days``, ``--traces`` traces over
the last 6 hours), evaluates the SLOs' rules for a few rounds with a rule manager and a
notifier (so the Alerts and Rules pages have content), then serves the full server app
(``create_http_app`` + ``mount_dashboard`` with ``web.auth: false``) with waitress on a
loopback port.

Each page is loaded once to warm up, then ``--loads`` times in Debian's Chromium (driven by
Playwright). Reported per page: navigation start -> ``load`` event, navigation start -> every
chart rendered (each ``[data-figure]`` has its ``.plot-container`` and is marked rendered),
the server's time for the page's HTML, and the server's time for its JSON twin under
``/api/ui/...`` (``--loads`` requests). There is no peer for page loads; the target is a p95
page load under 500 ms. Pages that miss it get their twin profiled (cProfile around one
request) and the top functions printed. Exits 0 either way: benchmarks report, tests assert.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.slo_dataset import Dataset, generate  # noqa: E402
from benchmarks.web_bench_data import page_series, store_traces, trace_records  # noqa: E402
from collector.store.sql import SqlStore  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TARGET_MS = 500.0
EXPLORE_QUERY = "sum by (job) (rate(http_server_request_duration_seconds_count[5m]))"
# Every chart drawn: returns (charts, performance.now()) once each [data-figure] whose JSON
# is on the page has plotly's .plot-container and sloscope.js marked it rendered.
CHARTS_DONE = """() => {
  const figures = [...document.querySelectorAll('[data-figure]')]
    .filter(e => document.getElementById(e.getAttribute('data-figure')));
  const done = figures.filter(
    e => e.getAttribute('data-rendered') === 'true' && e.querySelector('.plot-container'));
  return done.length === figures.length ? [figures.length, performance.now()] : false;
}"""
LOAD_END = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return nav && nav.loadEventEnd > 0 ? nav.loadEventEnd - nav.startTime : false;
}"""


class ServerTimes:
    """WSGI middleware recording the server's time per request path (with query)."""

    def __init__(self, app) -> None:
        self.app = app
        self.times: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        body = self.app(environ, start_response)  # Flask builds the whole body here
        elapsed = time.perf_counter() - started
        path = environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        with self._lock:
            self.times[path].append(elapsed * 1000)
        return body


@dataclass
class Built:
    store: SqlStore
    collector: object
    rules: object
    data: Dataset
    page_samples: int = 0
    spans: int = 0
    trace_id: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def _timed(built_timings: dict[str, float], what: str, started: float) -> None:
    built_timings[what] = time.perf_counter() - started
    print(f"  {what}: {built_timings[what]:.1f} s", flush=True)


def build_store(args: argparse.Namespace, path: Path, end_ms: int) -> Built:
    from sloscope.server.collector_role import build_collector

    timings: dict[str, float] = {}
    print("building the data set", flush=True)
    started = time.perf_counter()
    data = generate(args.slos, args.services, end_ms, days=args.days)
    _timed(timings, f"SLO dataset ({data.samples:,} samples)", started)
    store = SqlStore(f"sqlite:///{path}")
    store.open()
    collector = build_collector(store)
    built = Built(store, collector, None, data, timings=timings)
    started = time.perf_counter()
    for labels, ts, vals in data.series:
        store.append_series(labels, ts, vals)
    for labels, ts, vals in page_series(end_ms, args.page_days):
        store.append_series(labels, ts, vals)
        built.page_samples += len(ts)
    store.flush()
    _timed(timings, f"load (+{built.page_samples:,} page samples)", started)
    started = time.perf_counter()
    traces = trace_records(end_ms, 6.0, args.traces)
    built.spans = store_traces(collector, store, traces)
    built.trace_id = traces[-1][0].trace_id.hex()
    _timed(timings, f"traces ({built.spans:,} spans)", started)
    started = time.perf_counter()
    built.rules = build_alerting(store, data, end_ms)
    _timed(timings, "rule rounds", started)
    return built


def _refused_url() -> str:
    """A loopback URL nothing listens on, so deliveries fail into the history."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"


def build_alerting(store: SqlStore, data: Dataset, end_ms: int):
    """A rule manager over the dataset's groups, evaluated at the last three minutes, its
    alerts routed by a notifier into the outbox (as ``sloscope.server.rules_role`` does)."""
    from slo.notify.config_loader import parse_config
    from slo.notify.notifier import Notifier
    from slo.notify.outbox import Outbox
    from slo.rules.alert_notify import notify_alert
    from slo.rules.manager import RuleManager
    from sloscope.server.rules_role import RulesParts

    url = "http://127.0.0.1:9900"
    config = parse_config(
        "route: {receiver: team, group_by: [alertname, sloth_service], group_wait: 0s}\n"
        f'receivers: [{{name: team, webhook_configs: [{{url: "{_refused_url()}"}}]}}]\n'
    )
    outbox = Outbox(store.engine, {r.name: r for r in config.receivers}, external_url=url)
    outbox.create_tables()
    notifier = Notifier(config, store.engine, outbox.enqueue, external_url=url)

    def notify(alerts, ts_ms: int) -> None:
        notifier.receive([notify_alert(a, url) for a in alerts], ts_ms)

    manager = RuleManager(
        data.groups, querier=store, appender=store, interval_ms=60_000, notify=notify,
        external_url=url,
    )  # fmt: skip
    now = end_ms - 180_000
    manager.eval_due(now)  # schedules the first slots
    manager.restore(now)
    for now in (end_ms - 120_000, end_ms - 60_000, end_ms):
        manager.eval_due(now)
    notifier.tick(end_ms)
    outbox.deliver_due(end_ms)
    return RulesParts(manager=manager, notifier=notifier, outbox=outbox, slos=tuple(data.slos))


def make_app(built: Built):
    from sloscope.server.config import Config, WebConfig
    from sloscope.server.rules_role import register_rules_api
    from sloscope.server.run import create_http_app
    from sloscope.server.web_role import mount_dashboard

    config = Config(web=WebConfig(auth=False, secret_key="web-bench-secret-key-0123456789"))
    app = create_http_app(built.store, built.collector)
    register_rules_api(app, built.rules)
    if not mount_dashboard(app, config, built.store, built.collector, built.rules):
        raise RuntimeError("the dashboard was not mounted")
    timer = ServerTimes(app.wsgi_app)
    app.wsgi_app = timer
    return app, timer


def pages(built: Built) -> list[tuple[str, str]]:
    """(name, path) of every page measured."""
    burning = next((s for i, s in enumerate(built.data.slos) if i % 10 == 3), built.data.slos[0])
    query = urllib.parse.quote(EXPLORE_QUERY)
    return [
        ("home", "/"),
        ("SLO overview", "/slos"),
        ("SLO detail", f"/slos/{burning.id}"),
        ("services", "/services"),
        ("service shop", "/services/shop"),
        ("caches", "/caches"),
        ("DB pools", "/dbpools"),
        ("RUM", "/rum"),
        ("traces", "/traces"),
        ("trace", f"/traces/{built.trace_id}"),
        ("alerts", "/alerts"),
        ("rules", "/rules"),
        ("explore", f"/explore?query={query}"),
    ]


def twin_path(path: str) -> str:
    return "/api/ui/home" if path == "/" else "/api/ui" + path


@dataclass
class PageFigures:
    name: str
    path: str
    status: int = 0
    charts: int = 0
    html_kb: float = 0.0
    load_ms: list[float] = field(default_factory=list)
    rendered_ms: list[float] = field(default_factory=list)
    html_server_ms: list[float] = field(default_factory=list)
    twin_server_ms: list[float] = field(default_factory=list)
    profile: str = ""


def load_once(page, url: str) -> tuple[int, int, float, float, float]:
    """(status, charts, load ms, charts rendered ms, HTML KB) of one navigation to ``url``."""
    response = page.goto(url, wait_until="load", timeout=120_000)
    status = response.status if response is not None else 0
    size_kb = len(response.body()) / 1024 if response is not None else 0.0
    charts, rendered = page.wait_for_function(
        CHARTS_DONE, polling="raf", timeout=120_000
    ).json_value()
    load = page.wait_for_function(LOAD_END, timeout=120_000).json_value()
    return status, int(charts), float(load), max(float(rendered), float(load)), size_kb


def measure_page(page, base: str, timer: ServerTimes, figures: PageFigures, loads: int) -> None:
    load_once(page, base + figures.path)  # warm-up: fills caches, compiles templates
    timer.times.pop(figures.path, None)
    for _ in range(loads):
        status, charts, load, rendered, size_kb = load_once(page, base + figures.path)
        figures.status, figures.charts, figures.html_kb = status, charts, size_kb
        figures.load_ms.append(load)
        figures.rendered_ms.append(rendered)
    figures.html_server_ms = list(timer.times.get(figures.path, []))
    twin = twin_path(figures.path)
    fetch(base + twin)  # warm-up
    timer.times.pop(twin, None)
    for _ in range(loads):
        fetch(base + twin)
    figures.twin_server_ms = list(timer.times.get(twin, []))


def fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


def profile_twin(app, figures: PageFigures, top: int) -> str:
    """The top functions (cumulative time) of one request of the page's JSON twin."""
    client = app.test_client()
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(twin_path(figures.path))
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    out.write("  the dashboard's own functions, by cumulative time:\n")
    stats.print_stats(r"/web/(queries|blueprints|charts)/", top)
    out.write("\n  every function, by own time:\n")
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue().replace(str(Path(__file__).resolve().parent.parent) + "/", "")


def serve(app):
    from waitress import create_server

    http = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=http.run, name="web-bench-http", daemon=True)
    thread.start()
    return http, thread, f"http://127.0.0.1:{http.effective_port}"


def run_browser(base: str, timer: ServerTimes, measured: list[PageFigures], loads: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            for figures in measured:
                print(f"  {figures.name} ({figures.path})", flush=True)
                try:
                    measure_page(page, base, timer, figures, loads)
                except Exception as exc:  # report the page and go on with the others
                    figures.profile = f"failed: {exc}"
        finally:
            browser.close()


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95)) if values else float("nan")


def report(built: Built, measured: list[PageFigures], args: argparse.Namespace) -> None:
    data = built.data
    rules = sum(len(g.rules) for g in data.groups)
    print(
        f"\n{len(data.slos)} SLOs ({len(data.groups)} rule groups, {rules} rules), "
        f"{data.samples:,} SLO samples over {args.days} days; "
        f"{built.page_samples:,} page samples over {args.page_days} days; "
        f"{built.spans:,} spans; {len(built.rules.manager.alerts())} alerts active"
    )
    print(
        f"{args.loads} loads per page after one warm-up; target: p95 page load < {TARGET_MS:.0f} ms"
    )
    head = (
        f"{'page':<14} {'status':>6} {'KB':>5} {'charts':>6} {'load med':>9} {'load p95':>9} "
        f"{'charts med':>10} {'charts p95':>10} {'html srv':>9} {'twin srv':>9} "
        f"{'twin p95':>9}  target"
    )
    print("\n" + head + "\n" + "-" * len(head))
    for f in measured:
        if not f.load_ms:
            print(f"{f.name:<14} {f.profile}")
            continue
        worst = max(_p95(f.load_ms), _p95(f.rendered_ms))
        verdict = "ok" if worst < TARGET_MS else "MISSED"
        print(
            f"{f.name:<14} {f.status:>6} {f.html_kb:>5.0f} {f.charts:>6} {_med(f.load_ms):>9.0f} "
            f"{_p95(f.load_ms):>9.0f} {_med(f.rendered_ms):>10.0f} {_p95(f.rendered_ms):>10.0f} "
            f"{_med(f.html_server_ms):>9.0f} {_med(f.twin_server_ms):>9.0f} "
            f"{_p95(f.twin_server_ms):>9.0f}  {verdict}"
        )
    print("(KB: the page's HTML; ms; load = navigation start -> load event,")
    print(" charts = navigation start -> every chart rendered;")
    print(" html srv / twin srv = server time of the page's HTML / of its /api/ui JSON twin)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slos", type=int, default=100)
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--page-days", type=float, default=7.0)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--traces", type=int, default=3000)
    parser.add_argument("--profile-top", type=int, default=15)
    args = parser.parse_args()
    # The outbox logs each refused delivery (the history needs some); keep the table readable.
    logging.basicConfig(level=logging.ERROR)
    end_ms = time.time_ns() // 1_000_000 // 60_000 * 60_000
    with tempfile.TemporaryDirectory(prefix="sloscope-web-bench-") as tmp:
        built = build_store(args, Path(tmp) / "web.db", end_ms)
        try:
            app, timer = make_app(built)
            http, thread, base = serve(app)
            measured = [PageFigures(name, path) for name, path in pages(built)]
            print(f"serving on {base}; loading pages", flush=True)
            try:
                run_browser(base, timer, measured, args.loads)
            finally:
                http.close()
                thread.join(timeout=10)
            report(built, measured, args)
            slow = [
                f
                for f in measured
                if f.load_ms and max(_p95(f.load_ms), _p95(f.rendered_ms)) >= TARGET_MS
            ]
            for f in slow:
                print(f"\n== profile of one {twin_path(f.path)} request ({f.name}) ==")
                print(profile_twin(app, f, args.profile_top))
        finally:
            built.store.close()


if __name__ == "__main__":
    main()
