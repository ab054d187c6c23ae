"""Debian's Prometheus on a backfilled TSDB with a rule file loaded, for the differential test.

The data goes in as OpenMetrics through ``promtool tsdb create-blocks-from openmetrics``;
the server runs on a free loopback port with 100 years of retention (the data is from 2023)
and is asked instant queries over HTTP (POST, as the expressions are long).
"""

from __future__ import annotations

import collections
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from collector.model import Labels

__all__ = ["Series", "api_get", "openmetrics", "query", "running_prometheus"]

READY_TIMEOUT_S = 60.0
Series = tuple[Labels, np.ndarray, np.ndarray]
Result = list[tuple[tuple[tuple[str, str], ...], float]]


def openmetrics(series: list[Series], counter_families: set[str]) -> str:
    """One OpenMetrics text: each family's series together, timestamps in seconds."""
    families: dict[str, list[Series]] = {}
    for item in series:
        name = item[0].metric_name
        family = name.removesuffix("_total") if name in counter_families else name
        families.setdefault(family, []).append(item)
    out = []
    for family, members in families.items():
        kind = "counter" if family + "_total" in counter_families else "gauge"
        out.append(f"# TYPE {family} {kind}\n")
        for labels, ts, values in members:
            pairs = ",".join(f'{k}="{v}"' for k, v in labels if k != "__name__")
            prefix = f"{labels.metric_name}{{{pairs}}}"
            for t, v in zip(ts.tolist(), values.tolist(), strict=True):
                out.append(f"{prefix} {v!r} {t // 1000}.{t % 1000:03d}\n")
    out.append("# EOF\n")
    return "".join(out)


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(
            f"`{tool}` is not on PATH; this test uses Debian's Prometheus as the oracle and "
            "never skips: `apt-get install prometheus`",
            pytrace=False,
        )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_prometheus(work: Path, data: str, rule_file: Path) -> Iterator[str]:
    """Backfill ``data`` (OpenMetrics), start Prometheus with ``rule_file``; yields its URL."""
    prometheus_bin, promtool_bin = _require("prometheus"), _require("promtool")
    om_file, tsdb = work / "data.om", work / "tsdb"
    om_file.write_text(data, encoding="utf-8")
    backfill = subprocess.run(
        [promtool_bin, "tsdb", "create-blocks-from", "openmetrics", str(om_file), str(tsdb)],
        capture_output=True,
        text=True,
    )
    if backfill.returncode != 0:
        pytest.fail(f"promtool could not backfill {om_file}:\n{backfill.stderr}", pytrace=False)
    config = work / "prometheus.yml"
    config.write_text(
        f"global:\n  evaluation_interval: 1m\nrule_files:\n  - {json.dumps(str(rule_file))}\n"
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            prometheus_bin,
            f"--config.file={config}",
            f"--storage.tsdb.path={tsdb}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log: collections.deque[str] = collections.deque(maxlen=40)
    exited = threading.Event()
    drain = threading.Thread(target=_drain, args=(server, log, exited), daemon=True)
    drain.start()
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{base}/-/ready", exited, log)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        drain.join(timeout=10)
        if server.stderr is not None:
            server.stderr.close()


def _drain(server: subprocess.Popen, log: collections.deque[str], exited: threading.Event) -> None:
    assert server.stderr is not None
    for line in server.stderr:
        log.append(line.rstrip())
    exited.set()


def _wait_ready(url: str, exited: threading.Event, log: collections.deque[str]) -> None:
    """Poll ``/-/ready`` until the TSDB is open: a bounded wait for a process to start."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as exc:  # 503 while the TSDB opens
            exc.close()
        except OSError:  # refused while the server binds its port
            pass
        if exited.wait(0.1):
            pytest.fail("prometheus exited early:\n" + "\n".join(log), pytrace=False)
    pytest.fail(f"prometheus was not ready within {READY_TIMEOUT_S:.0f} s", pytrace=False)


def api_get(base: str, path: str) -> dict:
    with urllib.request.urlopen(f"{base}/api/v1/{path}", timeout=60) as response:
        return json.load(response)


def query(base: str, expr: str, time_s: int) -> Result | str:
    """An instant query's vector as (sorted labels, value) pairs, or the error message."""
    body = urllib.parse.urlencode({"query": expr, "time": str(time_s)}).encode()
    request = urllib.request.Request(f"{base}/api/v1/query", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            answer = json.loads(exc.read() or b"{}")
        return f"{answer.get('errorType')}: {answer.get('error')}"
    data = answer["data"]
    if data["resultType"] == "scalar":
        return [((), float(data["result"][1]))]
    return [
        (tuple(sorted(item["metric"].items())), float(item["value"][1])) for item in data["result"]
    ]
