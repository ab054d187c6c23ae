"""Bounded readiness polls for the demo's parts, over loopback HTTP.

Each poll asks again every ``POLL_S`` until its deadline, and gives up early when the child it
waits for has exited, so a part that crashes at start is reported at once, by name.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from sloscope.server.demo_children import Child

__all__ = [
    "NotReady",
    "answers_ok",
    "free_port",
    "http_get",
    "port_is_free",
    "query_value",
    "wait_until",
]

POLL_S = 0.5
#: One poll's HTTP timeout: a busy part answers late rather than not at all.
REQUEST_TIMEOUT_S = 5.0
# Loopback only: proxy variables of the user's shell must not route these polls elsewhere.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class NotReady(Exception):
    """A part did not become ready in time, or exited while we waited; says which."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def http_get(url: str, timeout_s: float = REQUEST_TIMEOUT_S) -> tuple[int, bytes]:
    """(status, body); raises OSError when no HTTP answer came back."""
    try:
        with _OPENER.open(url, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def query_value(server_url: str, expr: str) -> float | None:
    """The first sample's value of an instant query on the server, or None (no data, error)."""
    url = f"{server_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        status, body = http_get(url)
        answer: Any = json.loads(body)
    except (OSError, ValueError):
        return None
    result = answer.get("data", {}).get("result") if status == 200 else None
    if not result:
        return None
    return float(result[0]["value"][1])


def wait_until(
    what: str,
    ready: Callable[[], bool],
    timeout_s: float,
    watched: tuple[Child, ...] = (),
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> None:
    """Call ``ready`` every ``POLL_S`` until it is true; NotReady after ``timeout_s`` or as
    soon as one of ``watched`` has exited."""
    deadline = clock() + timeout_s
    while True:
        for child in watched:
            if (code := child.exit_code()) is not None:
                raise NotReady(f"the {child.name} exited with status {code} while {what}")
        try:
            if ready():
                return
        except OSError:
            pass  # not listening yet
        if clock() >= deadline:
            raise NotReady(f"timed out after {timeout_s:.0f}s {what}")
        pause(POLL_S)


def answers_ok(url: str) -> Callable[[], bool]:
    """A readiness check: ``url`` answers 200."""
    return lambda: http_get(url)[0] == 200
