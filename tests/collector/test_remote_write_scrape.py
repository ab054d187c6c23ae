"""remote_write receiver and scraper: hand-built payloads, a real Prometheus as remote_write
client, and a real prometheus_client endpoint as scrape target (clocks injected)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator

import cramjam
import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from werkzeug.serving import make_server

from collector.model import Labels, is_stale_nan
from collector.promql.engine import Engine
from collector.receivers.remote_write import (
    RemoteWriteStats,
    create_remote_write_blueprint,
    encode_write_request,
    write_request_class,
)
from collector.receivers.scrape import FetchResponse, ScrapeConfig, Scraper, Target
from collector.store.interfaces import StoreError
from collector.store.matchers import Matcher
from collector.store.sql import SqlStore

T0 = 1_700_000_000_000
HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


@pytest.fixture
def store(tmp_path) -> Iterator[SqlStore]:
    s = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    s.open()
    yield s
    s.close()


def query(store: SqlStore, expr: str, t_ms: int) -> dict[Labels, float]:
    return {s.labels: s.value for s in Engine(store).instant_query(expr, t_ms).value}


def raw(store: SqlStore, name: str, **labels: str) -> list[tuple[int, float]]:
    matchers = [Matcher.equal("__name__", name)] + [Matcher.equal(k, v) for k, v in labels.items()]
    (series,) = store.select(matchers, 0, 2**62)
    return list(zip(series.timestamps.tolist(), series.values.tolist(), strict=True))


# -- remote_write with hand-built payloads ------------------------------------------------------


def rw_client(appender, **kwargs):
    stats = RemoteWriteStats()
    app = Flask(__name__)
    app.register_blueprint(
        create_remote_write_blueprint(appender, stats=stats, clock=lambda: T0 / 1000, **kwargs)
    )
    return app.test_client(), stats


def test_good_payload_is_stored_and_queryable(store):
    client, stats = rw_client(store)
    up_labels = {"__name__": "up", "job": "a", "instance": "h:1"}
    series = [
        (up_labels, [(T0, 1.0), (T0 + 1000, 0.0)]),
        ({"__name__": "r", "job": "a"}, [(T0, 5.0)]),
    ]
    resp = client.post("/api/v1/write", data=encode_write_request(series), headers=HEADERS)
    assert resp.status_code == 204 and resp.data == b""
    assert one(store, "up", T0 + 1000) == (up_labels, 0.0)
    assert stats.samples_appended == 3 and stats.requests[204] == 1


def test_headers_may_be_absent_but_not_wrong(store):
    client, _ = rw_client(store)
    body = encode_write_request([({"__name__": "x"}, [(T0, 1.0)])])
    assert client.post("/api/v1/write", data=body).status_code == 204
    bad = {**HEADERS, "Content-Encoding": "gzip"}
    resp = client.post("/api/v1/write", data=body, headers=bad)
    assert resp.status_code == 415 and b"gzip" in resp.data
    bad = {**HEADERS, "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"}
    assert client.post("/api/v1/write", data=body, headers=bad).status_code == 415


def test_bad_snappy_is_400(store):
    client, stats = rw_client(store)
    resp = client.post("/api/v1/write", data=b"\x05garbage-not-snappy", headers=HEADERS)
    assert resp.status_code == 400 and b"snappy" in resp.data
    assert client.post("/api/v1/write", data=b"", headers=HEADERS).status_code == 400
    assert stats.requests[400] == 2


def test_bad_protobuf_is_400(store):
    body = bytes(cramjam.snappy.compress_raw(b"\x0a\xff\xff\xff\x0fnot a protobuf"))
    client, _ = rw_client(store)
    resp = client.post("/api/v1/write", data=body, headers=HEADERS)
    assert resp.status_code == 400 and b"WriteRequest" in resp.data


def test_oversized_bodies_are_413_before_decompressing(store):
    client, _ = rw_client(store, max_body_bytes=100, max_decompressed_bytes=1000)
    resp = client.post("/api/v1/write", data=b"\x00" * 101, headers=HEADERS)
    assert resp.status_code == 413
    # A 6-byte body whose snappy header claims 2 GiB: refused from the header alone.
    bomb = bytes([0x80, 0x80, 0x80, 0x80, 0x08]) + b"\x00"
    resp = client.post("/api/v1/write", data=bomb, headers=HEADERS)
    assert resp.status_code == 413 and b"2147483648" in resp.data


def test_out_of_order_future_and_invalid_labels(store):
    client, stats = rw_client(store)
    good = encode_write_request([({"__name__": "g"}, [(T0, 1.0)])])
    assert client.post("/api/v1/write", data=good, headers=HEADERS).status_code == 204
    older = encode_write_request(
        [({"__name__": "g"}, [(T0 - 1, 2.0)]), ({"__name__": "h"}, [(T0, 3.0)])]
    )
    resp = client.post("/api/v1/write", data=older, headers=HEADERS)
    assert resp.status_code == 400 and resp.data.startswith(b"out of order sample")
    assert query(store, "h", T0) != {}  # the good sample was kept (no rollback; documented)
    future = encode_write_request([({"__name__": "g"}, [(T0 + 11 * 60_000, 1.0)])])
    resp = client.post("/api/v1/write", data=future, headers=HEADERS)
    assert resp.status_code == 400 and resp.data.startswith(b"out of bounds")
    invalid = encode_write_request([({"job": "no-name"}, [(T0, 1.0)])])
    assert client.post("/api/v1/write", data=invalid, headers=HEADERS).status_code == 204
    assert stats.samples_invalid_labels == 1
    assert stats.samples_rejected == {"out of order sample": 1, "out of bounds": 1}


def test_exemplars_histograms_and_metadata_are_counted(store):
    ts = write_request_class()().timeseries.add()
    ts.labels.add(name="__name__", value="m")
    ts.samples.add(timestamp=T0, value=1.0)
    # exemplars (field 3) and histograms (field 4) as empty messages, metadata (field 3) once
    ts_bytes = ts.SerializeToString() + b"\x1a\x00\x1a\x00\x22\x00"
    req = b"\x0a" + bytes([len(ts_bytes)]) + ts_bytes + b"\x1a\x00"
    client, stats = rw_client(store)
    body = bytes(cramjam.snappy.compress_raw(req))
    assert client.post("/api/v1/write", data=body, headers=HEADERS).status_code == 204
    assert (stats.exemplars_dropped, stats.histograms_dropped, stats.metadata_dropped) == (2, 1, 1)


class FailingStore:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def append(self, samples):
        raise self.error


def test_store_failures_are_5xx_so_senders_retry():
    body = encode_write_request([({"__name__": "x"}, [(T0, 1.0)])])
    client, _ = rw_client(FailingStore(StoreError("closed")))
    assert client.post("/api/v1/write", data=body, headers=HEADERS).status_code == 503
    client, _ = rw_client(FailingStore(RuntimeError("disk full")))
    assert client.post("/api/v1/write", data=body, headers=HEADERS).status_code == 500


# -- remote_write from a real Prometheus --------------------------------------------------------


@pytest.fixture
def rw_server(store):
    stats = RemoteWriteStats()
    app = Flask(__name__)
    app.register_blueprint(create_remote_write_blueprint(store, stats=stats))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, stats
    server.shutdown()
    server.server_close()
    thread.join()


def test_real_prometheus_remote_writes_into_the_store(store, rw_server, endpoint, tmp_path):
    (rw_port, stats), (address, requests, _, _) = rw_server, endpoint
    requests.labels("200").inc(5)
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "app", "static_configs": [{"targets": [address]}]}],
        "remote_write": [
            {
                "url": f"http://127.0.0.1:{rw_port}/api/v1/write",
                "queue_config": {"batch_send_deadline": "1s", "min_backoff": "100ms"},
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            "/usr/bin/prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            "--web.listen-address=127.0.0.1:0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 90
        expr = 'up{job="app"} or app_requests_total'
        while len(found := query(store, expr, int(time.time() * 1000))) < 2:
            if time.monotonic() > deadline or proc.poll() is not None:
                break
            time.sleep(0.2)  # bounded polling for Prometheus' queue to flush
        assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
        own = {"job": "app", "instance": address}
        assert found == {
            Labels.of({"__name__": "up", **own}): 1.0,
            Labels.of({"__name__": "app_requests_total", "code": "200", **own}): 5.0,
        }
        assert set(stats.requests) == {204} and stats.samples_appended > 0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# -- the scraper against a real prometheus_client endpoint --------------------------------------


class FakeClock:
    """Seconds since the epoch; each call advances by ``step`` (so durations are known)."""

    def __init__(self, t: float, step: float = 0.25) -> None:
        self.t, self.step = t, step

    def __call__(self) -> float:
        self.t += self.step
        return self.t


@pytest.fixture
def endpoint():
    registry = CollectorRegistry()
    requests = Counter("app_requests", "Requests.", ["code"], registry=registry)
    thing = Gauge("thing", "A gauge with a job label.", ["job", "kind"], registry=registry)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    address = f"127.0.0.1:{server.server_port}"
    yield address, requests, thing, server
    server.shutdown()
    server.server_close()
    thread.join()


def one(store: SqlStore, expr: str, t_ms: int) -> tuple[dict[str, str], float]:
    ((labels, value),) = query(store, expr, t_ms).items()
    return labels.as_dict(), value


def up(store, job, instance, t_ms) -> float:
    return one(store, f'up{{job="{job}",instance="{instance}"}}', t_ms)[1]


def test_scrape_counter_up_and_report_series(store, endpoint):
    address, requests, _, _ = endpoint
    requests.labels("200").inc()
    scraper = Scraper(store, [ScrapeConfig("app", (address,))], clock=FakeClock(T0 / 1000))
    first = scraper.scrape_once("app", address, T0)
    assert first.up and first.error is None and first.series_added == first.samples_scraped
    requests.labels("200").inc(2)
    second = scraper.scrape_once("app", address, T0 + 15_000)
    assert second.series_added == 0 and second.duration_s == 0.25
    at = T0 + 15_000
    own = {"job": "app", "instance": address}
    assert one(store, "app_requests_total", at) == (
        {"__name__": "app_requests_total", "code": "200", **own},
        3.0,
    )
    assert up(store, "app", address, at) == 1.0
    assert one(store, "scrape_duration_seconds", at)[1] == 0.25
    scraped = one(store, "scrape_samples_scraped", at)[1]
    assert scraped == second.samples_scraped > 0
    assert one(store, "scrape_samples_post_metric_relabeling", at)[1] == scraped
    assert one(store, "scrape_series_added", at)[1] == 0


@pytest.mark.parametrize("honor", [False, True])
def test_honor_labels(store, endpoint, honor):
    address, _, thing, _ = endpoint
    thing.labels("inner", "x").set(7)
    scraper = Scraper(store, [ScrapeConfig("app", (address,), honor_labels=honor)])
    assert scraper.scrape_once("app", address, T0).up
    clash = {"job": "inner"} if honor else {"job": "app", "exported_job": "inner"}
    expected = {"__name__": "thing", "kind": "x", "instance": address, **clash}
    assert one(store, "thing", T0) == (expected, 7.0)


def test_stale_markers_when_series_disappears_and_target_goes_down(store, endpoint):
    address, requests, thing, server = endpoint
    requests.labels("200").inc()
    thing.labels("j", "gone-soon").set(1)
    scraper = Scraper(store, [ScrapeConfig("app", (address,))], clock=FakeClock(T0 / 1000))
    scraper.scrape_once("app", address, T0)
    thing.remove("j", "gone-soon")
    result = scraper.scrape_once("app", address, T0 + 15_000)
    assert result.stale_markers == 1
    (_, (t, v)) = raw(store, "thing", kind="gone-soon")
    assert t == T0 + 15_000 and is_stale_nan(v)
    assert query(store, "thing", T0 + 15_000) == {}
    server.shutdown()
    server.server_close()
    down = scraper.scrape_once("app", address, T0 + 30_000)
    assert not down.up and down.error and down.samples_scraped == 0
    assert down.stale_markers == result.samples_scraped  # every series of the last scrape
    assert up(store, "app", address, T0 + 30_000) == 0.0
    assert is_stale_nan(raw(store, "app_requests_total")[-1][1])
    assert query(store, "app_requests_total", T0 + 30_000) == {}


def test_formats_timestamps_exemplars_and_parse_errors(store):
    bodies = {
        "text": ("text/plain; version=0.0.4", b"a 1\nb 2 1600000000000\n"),
        "om": (
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            b'# TYPE c counter\nc_total 4 # {trace_id="abc"} 1.0\n# EOF\n',
        ),
        "bad": ("text/plain", b"a{ 1\n"),
    }

    def fetch(url, headers, timeout_s):
        assert headers["Accept"].startswith("application/openmetrics-text;version=1.0.0")
        content_type, body = bodies[url.split("//")[1].split(":")[0]]
        return FetchResponse(200, content_type, body)

    configs = [ScrapeConfig(job, (f"{job}:1",)) for job in bodies]
    scraper = Scraper(store, configs, fetch=fetch)
    assert scraper.scrape_once("text", "text:1", T0).samples_scraped == 2
    assert raw(store, "b") == [(1_600_000_000_000, 2.0)]  # the exposed timestamp is kept
    om = scraper.scrape_once("om", "om:1", T0)
    assert om.exemplars_dropped == 1 and scraper.exemplars_dropped == 1
    assert raw(store, "c_total") == [(T0, 4.0)]
    bad = scraper.scrape_once("bad", "bad:1", T0)
    assert not bad.up and "parse error" in bad.error and up(store, "bad", "bad:1", T0) == 0.0
    # A series with its own timestamp is never marked stale when it disappears.
    bodies["text"] = ("text/plain", b"a 1\n")
    assert scraper.scrape_once("text", "text:1", T0 + 1000).stale_markers == 0


def test_file_sd_reload_and_departed_targets_go_stale(store, tmp_path, endpoint):
    address, requests, _, _ = endpoint
    requests.labels("200").inc()
    sd = tmp_path / "targets.json"
    sd.write_text(json.dumps([{"targets": [address], "labels": {"env": "prod"}}]))
    os.utime(sd, ns=(1, 1_000_000_000))
    scraper = Scraper(store, [ScrapeConfig("sd", file_sd_path=str(sd))])
    (target,) = scraper.targets("sd")
    assert target.labels.as_dict() == {"job": "sd", "instance": address, "env": "prod"}
    assert scraper.scrape_once("sd", address, T0).up
    assert query(store, 'app_requests_total{env="prod"}', T0)
    sd.write_text("[{broken")  # a half-written file keeps the previous targets
    os.utime(sd, ns=(1, 2_000_000_000))
    assert scraper.refresh_targets(T0 + 1000) == [] and scraper.targets("sd") == [target]
    sd.write_text(json.dumps([{"targets": ["127.0.0.1:1"]}]))
    os.utime(sd, ns=(1, 3_000_000_000))
    assert scraper.refresh_targets(T0 + 2000) == [target]
    assert [t.address for t in scraper.targets("sd")] == ["127.0.0.1:1"]
    assert is_stale_nan(raw(store, "up", env="prod")[-1][1])
    assert is_stale_nan(raw(store, "app_requests_total", env="prod")[-1][1])
    assert query(store, 'up{env="prod"}', T0 + 2000) == {}


def test_start_adds_one_job_per_target_and_nothing_runs_before(store, tmp_path):
    calls = []
    config = ScrapeConfig("j", ("a:1", "b:2"), interval_s=5, timeout_s=1)

    def refuse(*args):
        calls.append(args)
        raise ConnectionRefusedError("refused")

    scraper = Scraper(store, [config], fetch=refuse, clock=FakeClock(T0 / 1000))
    scheduler = BackgroundScheduler()
    scraper.start(scheduler)
    jobs = scheduler.get_jobs()
    assert len(jobs) == 2 and calls == []
    assert {j.trigger.interval.total_seconds() for j in jobs} == {5.0}
    jobs[0].func(*jobs[0].args)  # what the scheduler runs, at the clock's time
    assert len(calls) == 1 and up(store, "j", jobs[0].args[0].address, T0 + 1000) == 0.0
    scraper.stop()
    assert scheduler.get_jobs() == []
    assert Target.of("j", "a:1") in scraper.targets("j")
