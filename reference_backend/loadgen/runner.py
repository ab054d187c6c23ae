"""Run a profile against the shop with Locust in library mode, and judge the thresholds.

    from reference_backend.loadgen.profile import get_profile
    from reference_backend.loadgen.runner import run
    result = run("http://127.0.0.1:8000", get_profile("smoke").scaled(duration_s=10))
    result.exit_code      # 0: every threshold passed, 1: one failed

Locust is imported inside ``run`` only: it monkey-patches the whole process with gevent, which
must never happen to a process that merely imported this module (``sloscope load``, tests).
Call ``run`` from a process that does nothing else, e.g. ``python -m reference_backend.loadgen``.
"""

from __future__ import annotations

import ipaddress
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit

from reference_backend.loadgen.profile import MAX_DURATION_S, LoadMode, Profile, Threshold

__all__ = [
    "HostNotAllowed",
    "Pacer",
    "RunResult",
    "Verdict",
    "format_summary",
    "require_loopback",
    "run",
]

STOP_TIMEOUT_S = 5.0  # in-flight tasks may finish this long after the shape ends
MAX_ERROR_KINDS = 8  # per request name; the rest are counted as "other"
PROGRESS_INTERVAL_S = 1.0


class HostNotAllowed(ValueError):
    """The target is not a loopback HTTP URL; this workplace forbids load anywhere else."""


def require_loopback(host: str) -> str:
    """Return ``host`` without a trailing slash if it is http(s) on loopback, else raise.

    Accepts ``localhost``, 127.0.0.0/8 and ``::1``. Names are not resolved: a DNS answer
    could change between this check and the first request.
    """
    try:
        parts = urlsplit(host)
        if parts.port == 0:
            raise ValueError("port 0")
    except ValueError as e:
        raise HostNotAllowed(f"refusing {host!r}: not a valid URL ({e})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HostNotAllowed(f"refusing {host!r}: expected http://127.0.0.1:PORT")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise HostNotAllowed(f"refusing {host!r}: credentials, query or fragment not allowed")
    name = parts.hostname.rstrip(".").lower()
    if name != "localhost":
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            address = None
        mapped = getattr(address, "ipv4_mapped", None)
        if address is None or not (address.is_loopback or (mapped and mapped.is_loopback)):
            raise HostNotAllowed(
                f"refusing {host!r}: load may only target loopback (localhost, 127.0.0.0/8, ::1)"
            )
    return host.rstrip("/")


class Pacer:
    """Hands out request start times at the profile's current rate, shared by all users.

    One schedule for the whole run, not a pacing per user, so the offered rate stays exact
    while some users are stuck on slow responses. ``reserve(now)`` returns how long to wait
    before the next request, or None when the next free slot is beyond ``horizon_s`` (ask again
    soon: committing to far-off slots would ignore a rate change at the next stage). When every
    user is busy and the schedule falls more than ``max_lag_s`` behind, the missed starts are
    skipped and counted in ``dropped`` (k6's ``dropped_iterations``), so the backlog stays
    bounded. Greenlets never yield inside ``reserve``, so it needs no lock.
    """

    def __init__(
        self, rate_at: Callable[[float], float], horizon_s: float = 0.5, max_lag_s: float = 1.0
    ) -> None:
        self._rate_at = rate_at
        self._horizon_s = horizon_s
        self._max_lag_s = max_lag_s
        self._next = 0.0
        self.dropped = 0

    def reserve(self, now: float) -> float | None:
        """Claim the next start slot at ``now`` (seconds into the run); the delay until it."""
        rate = self._rate_at(now)
        if rate <= 0:
            return None
        if self._next < now - self._max_lag_s:
            self.dropped += math.floor((now - self._next) * rate)
            self._next = now
        slot = max(self._next, now)
        if slot - now > self._horizon_s:
            return None
        self._next = slot + 1.0 / rate
        return slot - now


@dataclass(frozen=True)
class Row:
    """One line of the summary: a request name and what happened to its requests."""

    name: str
    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: Counter[str]


@dataclass(frozen=True)
class Verdict:
    """A threshold and the value observed for it; ``observed`` is None when nothing ran."""

    threshold: Threshold
    observed: float | None

    @property
    def passed(self) -> bool:
        return self.observed is not None and self.threshold.passes(self.observed)


@dataclass
class RunResult:
    """What a run produced: summary rows (last is the total), verdicts and the exit code."""

    rows: list[Row]
    verdicts: list[Verdict]
    elapsed_s: float
    dropped: int = 0
    task_errors: int = 0
    stopped_early: str = ""  # why the run ended before its profile did, if it did

    @property
    def exit_code(self) -> int:
        return 0 if not self.stopped_early and all(v.passed for v in self.verdicts) else 1


@dataclass
class _ErrorKinds:
    """Counts failures by kind (``HTTP 503``, ``ConnectionError``) per request name, bounded."""

    by_name: dict[str, Counter[str]] = field(default_factory=dict)

    def on_request(self, request_type: str, name: str, response: Any, exception: Any, **_: Any):
        if exception is None:
            return
        status = getattr(response, "status_code", 0) or 0
        kind = f"HTTP {status}" if status else type(exception).__name__
        for key in (_label(request_type, name), "Total"):
            counts = self.by_name.setdefault(key, Counter())
            counts[kind if kind in counts or len(counts) < MAX_ERROR_KINDS else "other"] += 1


def _label(method: str, name: str) -> str:
    return name if name.startswith(f"{method} ") else f"{method} {name}"


def run(
    host: str,
    profile: Profile,
    time_limit_s: float | None = None,
    err: TextIO | None = None,
) -> RunResult:
    """Drive ``profile`` against ``host`` and return the result; progress goes to ``err``.

    The run ends when the profile's last stage does, at ``time_limit_s`` (default: the profile
    plus a stop grace, never above the one-hour cap), or on Ctrl-C; the last two count as a
    failed run because the profile did not complete.
    """
    host = require_loopback(host)
    err = err or sys.stderr
    cap = MAX_DURATION_S + STOP_TIMEOUT_S
    limit = min(time_limit_s or profile.total_duration_s + STOP_TIMEOUT_S, cap)

    import gevent.event
    from locust import LoadTestShape
    from locust.env import Environment

    from reference_backend.loadgen.scenarios import paced_wait, user_classes

    class ProfileShape(LoadTestShape):
        def tick(self) -> tuple[int, float] | None:
            return profile.tick(self.get_run_time())

    shape = ProfileShape()
    pacer = Pacer(profile.rate_at) if profile.mode is LoadMode.ARRIVAL_RATE else None
    wait = paced_wait(pacer, shape.get_run_time) if pacer else None
    classes = user_classes(host, profile.weights, profile.think_time_s, wait)
    env = Environment(
        user_classes=classes, shape_class=shape, host=host, stop_timeout=STOP_TIMEOUT_S
    )
    errors = _ErrorKinds()
    env.events.request.add_listener(errors.on_request)
    done = gevent.event.Event()
    env.events.test_stop.add_listener(lambda **_: done.set())
    runner = env.create_local_runner()
    started = time.monotonic()
    stopped_early = _drive(runner, done, started, limit, err)
    elapsed = time.monotonic() - started
    total = env.stats.total
    verdicts = [Verdict(t, _observe(t, total, elapsed)) for t in profile.thresholds]
    return RunResult(
        rows=_rows(env.stats, errors, elapsed),
        verdicts=verdicts,
        elapsed_s=elapsed,
        dropped=pacer.dropped if pacer else 0,
        task_errors=sum(row["count"] for row in runner.exceptions.values()),
        stopped_early=stopped_early,
    )


def _drive(runner: Any, done: Any, started: float, limit: float, err: TextIO) -> str:
    """Start the shape and print progress until it ends; returns why it ended early, if so."""
    progress = _Progress(err)
    reason = ""
    runner.start_shape()
    try:
        while not done.wait(timeout=PROGRESS_INTERVAL_S):
            now = time.monotonic()
            progress.update(now - started, runner.user_count, runner.stats.total)
            if now - started >= limit:
                reason = f"time limit of {limit:.0f}s reached"
                break
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        runner.quit()
        progress.close()
    return reason


class _Progress:
    """The live line: rps over the last second, rolling p95 and errors, at most once a second.

    On a terminal it rewrites one line; into a pipe or file it appends lines.
    """

    def __init__(self, err: TextIO) -> None:
        self._err = err
        self._tty = err.isatty()
        self._last = (0.0, 0)

    def update(self, elapsed: float, users: int, total: Any) -> None:
        last_t, last_n = self._last
        rps = (total.num_requests - last_n) / max(elapsed - last_t, 1e-9)
        self._last = (elapsed, total.num_requests)
        p95 = total.get_current_response_time_percentile(0.95)
        if p95 is None:
            p95 = total.get_response_time_percentile(0.95) if total.num_requests else 0
        line = (
            f"{elapsed:6.1f}s  users {users:4d}  rps {rps:7.1f}  p95 {p95:6.0f}ms  "
            f"errors {total.num_failures} ({total.fail_ratio:.1%})"
        )
        self._err.write(f"\r{line}\x1b[K" if self._tty else line + "\n")
        self._err.flush()

    def close(self) -> None:
        if self._tty:
            self._err.write("\n")
            self._err.flush()


def _observe(threshold: Threshold, total: Any, elapsed: float) -> float | None:
    """The run's value for a threshold's metric, in its units; None when no request ran."""
    if not total.num_requests:
        return None
    if threshold.quantile is not None:
        return float(total.get_response_time_percentile(threshold.quantile))
    return {
        "avg": lambda: total.avg_response_time,
        "max": lambda: float(total.max_response_time),
        "error_rate": lambda: total.fail_ratio,
        "rps": lambda: total.num_requests / max(elapsed, 1e-9),
    }[threshold.metric]()


def _rows(stats: Any, errors: _ErrorKinds, elapsed: float) -> list[Row]:
    """Summary rows sorted by name, then the total."""
    labelled = sorted((_label(e.method, e.name), e) for e in stats.entries.values())
    return [_row(label, e, errors, elapsed) for label, e in [*labelled, ("Total", stats.total)]]


def _row(label: str, entry: Any, errors: _ErrorKinds, elapsed: float) -> Row:
    n = entry.num_requests

    def pct(q: float) -> float:
        return float(entry.get_response_time_percentile(q)) if n else 0.0

    return Row(
        name=label,
        requests=n,
        rps=n / max(elapsed, 1e-9),
        p50_ms=pct(0.5),
        p95_ms=pct(0.95),
        p99_ms=pct(0.99),
        errors=errors.by_name.get(label, Counter()),
    )


def format_summary(result: RunResult) -> str:
    """The final report: a table per request name, then each threshold with its value."""
    width = max([len(r.name) for r in result.rows] + [len("request")])
    head = (
        f"{'request':<{width}}  {'reqs':>7}  {'rps':>7}  {'p50':>7}  {'p95':>7}  {'p99':>7}  errors"
    )
    lines = [f"Summary ({result.elapsed_s:.1f}s)", head, "-" * len(head)]
    for i, r in enumerate(result.rows):
        if i == len(result.rows) - 1:
            lines.append("-" * len(head))
        errs = ", ".join(f"{kind} x{n}" for kind, n in r.errors.most_common()) or "-"
        lines.append(
            f"{r.name:<{width}}  {r.requests:>7}  {r.rps:>7.1f}  {r.p50_ms:>5.0f}ms  "
            f"{r.p95_ms:>5.0f}ms  {r.p99_ms:>5.0f}ms  {errs}"
        )
    if result.dropped:
        lines.append(f"dropped starts (every user busy): {result.dropped}")
    if result.task_errors:
        lines.append(f"task exceptions (scenario code, not the server): {result.task_errors}")
    lines.append("")
    lines.append("Thresholds")
    for v in result.verdicts:
        seen = "no requests" if v.observed is None else v.threshold.format(v.observed)
        lines.append(f"  {'PASS' if v.passed else 'FAIL'}  {v.threshold.text:<20} observed {seen}")
    if not result.verdicts:
        lines.append("  (none)")
    if result.stopped_early:
        lines.append(f"Run incomplete: {result.stopped_early}")
    lines.append("Result: " + ("PASS" if result.exit_code == 0 else "FAIL"))
    return "\n".join(lines)
