"""Running the demo: start every part, wait until each is ready, watch them, stop them all.

Order of start: the server (it receives what the others send), a private Redis when
``redis-server`` is installed, the shop's database seed (first run only), the shop, then the
load. Each start is followed by a bounded readiness poll; the last one waits for the shop's
request metrics to be scraped, so the dashboard has live data when its URL is printed.
Stopping goes the other way round. Ctrl-C (SIGINT) and SIGTERM both stop the demo cleanly.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sloscope.server import demo_parts as parts
from sloscope.server.demo_children import Child, start_child, stop_children, tail
from sloscope.server.demo_layout import DemoLayout, DemoPorts
from sloscope.server.demo_ready import NotReady, answers_ok, query_value, wait_until
from sloscope.server.demo_state import DemoState, remove_state, write_state

__all__ = ["DemoFailed", "DemoRun", "DemoSettings"]

#: Readiness bounds, in seconds: generous, since a busy laptop starts Python slowly.
SERVER_READY_S = 120.0
SHOP_READY_S = 90.0
SEED_S = 300.0
DATA_READY_S = 120.0
REDIS_READY_S = 20.0
#: A load run that ends after this share of its length ended normally: start the next one.
LOAD_RUN_S = 3600.0
LOAD_DONE_SHARE = 0.9
WATCH_S = 0.5
#: PromQL that is non-empty once the shop's request metrics have been scraped.
LIVE_DATA_QUERY = 'sum(http_server_request_duration_seconds_count{job="shop"}) > 0'


class DemoFailed(Exception):
    """A part failed to start or died; the message names it and quotes its log."""


@dataclass(frozen=True)
class DemoSettings:
    layout: DemoLayout
    ports: DemoPorts
    users: int
    #: A Redis to use instead of a private one ("" with ports.redis 0: no Redis at all).
    redis_url: str = ""
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass
class DemoRun:
    """One run of the demo; ``start()`` then ``watch()``, and ``stop()`` always."""

    settings: DemoSettings
    say: Callable[[str], None] = print
    children: dict[str, Child] = field(default_factory=dict)

    @property
    def server_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.ports.server}"

    @property
    def shop_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.ports.shop}"

    @property
    def redis_url(self) -> str:
        port = self.settings.ports.redis
        return self.settings.redis_url or (f"redis://127.0.0.1:{port}/0" if port else "")

    def _start(self, name: str, argv: list[str], env: Mapping[str, str]) -> Child:
        layout = self.settings.layout
        child = start_child(name, argv, env, layout.log_file(name), layout.data_dir)
        self.children[name] = child
        return child

    def _failure(self, child: Child, what: str) -> DemoFailed:
        log = tail(child.log_path)
        quoted = "\n".join(f"  | {line}" for line in log.splitlines())
        return DemoFailed(f"{what} (log: {child.log_path})" + (f"\n{quoted}" if quoted else ""))

    def _wait(self, what: str, ready, timeout_s: float, child: Child) -> None:
        """Poll ``ready``; fail naming ``child`` on timeout, or whichever part died first."""
        watched = tuple(c for n, c in self.children.items() if n != "seed")
        try:
            wait_until(what, ready, timeout_s, watched)
        except NotReady as exc:
            dead = next((c for c in self.children.values() if c.exit_code() is not None), child)
            raise self._failure(dead, str(exc)) from None

    def start(self) -> None:
        """Start every part and wait for each; DemoFailed naming the part that did not come up."""
        settings, layout = self.settings, self.settings.layout
        self.say(f"starting the sloscope server on {self.server_url}")
        server = self._start(
            "server", parts.server_argv(layout), parts.server_env(settings.environ, layout)
        )
        self._start_redis()
        if not parts.shop_is_seeded(layout):
            self._seed()
        self._wait("waiting for the server", answers_ok(f"{self.server_url}/-/ready"),
                   SERVER_READY_S, server)  # fmt: skip
        self.say(f"starting the shop on {self.shop_url}")
        shop_env = parts.shop_env(settings.environ, layout, settings.ports, self.redis_url)
        shop = self._start("shop", parts.shop_argv(settings.ports.shop), shop_env)
        self._wait("waiting for the shop", answers_ok(f"{self.shop_url}/readyz"),
                   SHOP_READY_S, shop)  # fmt: skip
        self.say(f"starting steady load: {settings.users} users")
        load = self._start_load()
        self._wait(
            "waiting for the shop's metrics to reach the server",
            lambda: query_value(self.server_url, LIVE_DATA_QUERY) is not None,
            DATA_READY_S,
            load,
        )
        write_state(layout.state_file, self.state())

    def _start_redis(self) -> None:
        port = self.settings.ports.redis
        if not port:
            return
        argv = parts.redis_argv(self.settings.layout, port)
        if argv is None:
            return
        self.say(f"starting a private Redis on 127.0.0.1:{port}")
        redis = self._start("redis", argv, dict(self.settings.environ))

        def answers() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")

        self._wait("waiting for Redis", answers, REDIS_READY_S, redis)

    def _seed(self) -> None:
        self.say("seeding the shop's database (first run only)")
        env = parts.shop_env(self.settings.environ, self.settings.layout, self.settings.ports, "")
        seed = self._start("seed", parts.seed_argv(), env)
        self._wait("seeding the shop", lambda: seed.exit_code() is not None, SEED_S, seed)
        del self.children["seed"]
        if seed.exit_code() != 0:
            raise self._failure(seed, f"seeding the shop failed with status {seed.exit_code()}")

    def _start_load(self) -> Child:
        argv = parts.load_argv(self.shop_url, self.settings.users)
        return self._start("load", argv, dict(self.settings.environ))

    def state(self) -> DemoState:
        return DemoState(
            pid=os.getpid(),
            dashboard_url=f"{self.server_url}/",
            shop_url=f"{self.shop_url}/",
            admin_token=self.settings.layout.admin_token,
            redis=bool(self.redis_url),
            children={name: child.pid for name, child in self.children.items()},
        )

    def watch(self) -> None:
        """Return only by an exception: DemoFailed when a part dies, KeyboardInterrupt on a
        signal. A load run that ends after its hour is followed by the next one."""
        while True:
            for name, child in list(self.children.items()):
                code = child.exit_code()
                if code is None:
                    continue
                ran_s = time.monotonic() - child.started_at
                if name == "load" and code >= 0 and ran_s >= LOAD_DONE_SHARE * LOAD_RUN_S:
                    self.children["load"] = self._start_load()
                    write_state(self.settings.layout.state_file, self.state())
                    continue
                raise self._failure(child, f"the {name} exited with status {code}")
            time.sleep(WATCH_S)

    def stop(self) -> None:
        """Stop every part, load first and the server last; remove the state file."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C waits too
        try:
            order = ("load", "seed", "shop", "redis", "server")
            stop_children([self.children[n] for n in order if n in self.children], self.say)
        finally:
            remove_state(self.settings.layout.state_file, os.getpid())
            signal.signal(signal.SIGINT, previous)


def data_dir_path(raw: str | os.PathLike[str]) -> Path:
    """The data directory as an absolute path: the parts run with it as working directory."""
    return Path(raw).expanduser().resolve()
