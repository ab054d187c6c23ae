"""Loopback peers for the notification tests: an HTTP server that records what is POSTed to
it (and can answer with an error, or be stopped and started again on the same port), and
free ports. Not a test module; imported by the test_notify_* files next to it."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


class RecordingServer:
    """Records every POST; answers ``status`` with ``reply`` (settable between requests)."""

    def __init__(self, status: int = 200, reply: bytes = b"", content_type: str = "text/plain"):
        self.port = free_port()
        self.status = status
        self.reply = reply
        self.content_type = content_type
        self.reply_headers: dict[str, str] = {}
        self.received: list[Received] = []
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RecordingServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status, reply = owner.status, owner.reply
                if status // 100 == 2:
                    with owner._changed:
                        owner.received.append(Received(self.path, dict(self.headers), body))
                        owner._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", owner.content_type)
                self.send_header("Content-Length", str(len(reply)))
                for name, value in owner.reply_headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        serve = self._server.serve_forever
        self._thread = threading.Thread(target=serve, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[Received]:
        """Wait until ``count`` requests were recorded (a deadline, not a pause)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.received) >= count, timeout_s)
            return list(self.received)

    def __enter__(self) -> RecordingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
