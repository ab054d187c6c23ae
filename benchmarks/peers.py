"""Starting the servers the benchmarks compare against (and our own), on loopback."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

__all__ = ["free_port", "start_prometheus", "start_server", "wait_ready"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, server: subprocess.Popen) -> None:
    """Poll ``url`` until it answers; fail if the server exits or 60 s pass."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{server.args[0]} exited before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)  # a benchmark may wait for a server; tests never do
    raise RuntimeError(f"{url} did not answer within 60 s")


def start_server(command: list[str], ready_url: str, env: dict | None = None) -> subprocess.Popen:
    """Start ``command`` quietly and return once ``ready_url`` answers."""
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        wait_ready(ready_url, server)
    except BaseException:
        server.kill()
        server.wait()
        raise
    return server


def start_prometheus(workdir: Path, tsdb: Path, *flags: str) -> tuple[subprocess.Popen, str]:
    """Debian's Prometheus on a free port over ``tsdb``; returns the process and base URL."""
    config = workdir / "prometheus.yml"
    config.write_text("global: {}\n")
    port = free_port()
    command = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={tsdb}",
        f"--web.listen-address=127.0.0.1:{port}",
        *flags,
    ]
    base = f"http://127.0.0.1:{port}"
    return start_server(command, f"{base}/-/ready"), base
