"""The load generator's thresholds fail while a fault burns the shop and pass once it is off."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from waitress import create_server


def run_load(port: int, shop) -> subprocess.CompletedProcess:
    # Through the `sloscope load` command, in a child process as always (Locust patches gevent).
    return subprocess.run(
        [
            sys.executable, "-m", "sloscope", "load",
            "--host", f"http://127.0.0.1:{port}",
            "--profile", "smoke", "--duration", "4s", "--users", "4",
            "--threshold", "error_rate<1%",
            "--products", str(shop.products), "--customers", str(shop.customers),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite"])
def test_thresholds_fail_with_a_fault_and_pass_without(make_app, small_shop, backend):
    app = make_app(small_shop)
    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    faults = app.extensions["shop"].faults
    try:
        faults.turn_on("error_rate", {"rate": 0.5, "status": 503})
        burning = run_load(server.effective_port, small_shop)
        faults.turn_off("error_rate")
        healthy = run_load(server.effective_port, small_shop)
    finally:
        server.close()
        thread.join(timeout=10)
    assert burning.returncode == 1, burning.stdout + burning.stderr
    assert "HTTP 503" in burning.stdout and "FAIL" in burning.stdout
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "PASS" in healthy.stdout
