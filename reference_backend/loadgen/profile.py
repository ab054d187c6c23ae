"""Load profiles: stages of users or of request rate, thresholds, and their arithmetic.

A profile is the Python twin of a k6 ``options`` block or an Artillery ``phases`` list:

    from reference_backend.loadgen.profile import Profile, parse_threshold, ramping_users
    profile = Profile(
        name="checkout",
        stages=ramping_users(("30s", 20), ("1m", 20), ("10s", 0)),
        thresholds=(parse_threshold("p95<500ms"), parse_threshold("error_rate<1%")),
    )
    profile.tick(12.0)   # -> (20, 0.666...): users wanted 12 s in, and how fast to get there

Nothing here imports Locust or reads a clock, so all of it is testable in-process: the runner
passes the elapsed time in and turns the answers into Locust calls.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from types import MappingProxyType

__all__ = [
    "BUILTIN_PROFILES",
    "DEFAULT_WEIGHTS",
    "LoadMode",
    "MAX_DURATION_S",
    "MAX_RPS",
    "MAX_USERS",
    "Profile",
    "ProfileError",
    "RateStage",
    "SCENARIOS",
    "Threshold",
    "UserStage",
    "get_profile",
    "parse_duration",
    "parse_threshold",
    "ramping_users",
]

# Hard safety caps: a typo must not become an hour-long flood of a shared laptop.
MAX_DURATION_S = 3600.0
MAX_USERS = 1000
MAX_SPAWN_RATE = 100.0  # Locust itself warns above this
MIN_STAGE_S = 1.0  # Locust's shape worker ticks once a second
MAX_RPS = 2000.0
SCENARIOS = ("browse", "order", "account", "pages")
DEFAULT_WEIGHTS: Mapping[str, int] = MappingProxyType(
    {"browse": 60, "order": 10, "account": 20, "pages": 10}
)

_UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


class ProfileError(ValueError):
    """A profile, stage, duration or threshold that cannot be run; the message says which."""


class LoadMode(Enum):
    """How a profile drives load: closed (users with think time) or open (requests/s)."""

    USERS = "users"
    ARRIVAL_RATE = "arrival-rate"


def parse_duration(text: str) -> float:
    """Seconds in ``"500ms"``, ``"30s"``, ``"2m"``, ``"1h"``, ``"1m30s"`` or a bare ``"45"``.

    k6 and Artillery write durations this way, so profiles and ``--duration`` do too.
    """
    s = text.strip().lower()
    if _NUMBER.fullmatch(s):
        return float(s)
    if not _DURATION.fullmatch(s):
        raise ProfileError(f"bad duration {text!r}: expected e.g. '30s', '2m', '1m30s', '500ms'")
    return sum(float(n) * _UNITS_S[unit] for n, unit in _DURATION_PART.findall(s))


@dataclass(frozen=True)
class UserStage:
    """Run ``users`` virtual users for ``duration_s``, adding/removing ``spawn_rate`` per second.

    Locust semantics: at the stage start the runner heads for ``users`` at ``spawn_rate``, then
    holds. ``ramping_users`` picks the rate that makes it a k6-style linear ramp.
    """

    duration_s: float
    users: int
    spawn_rate: float

    def __post_init__(self) -> None:
        if not 0 < self.duration_s <= MAX_DURATION_S:
            raise ProfileError(f"stage duration {self.duration_s}s not in (0, {MAX_DURATION_S}]")
        if not 0 <= self.users <= MAX_USERS:
            raise ProfileError(f"stage users {self.users} not in [0, {MAX_USERS}]")
        if not 0 < self.spawn_rate <= MAX_SPAWN_RATE:
            raise ProfileError(f"spawn rate {self.spawn_rate}/s not in (0, {MAX_SPAWN_RATE}]")


@dataclass(frozen=True)
class RateStage:
    """Start ``rps`` requests per second for ``duration_s``, however slow the server gets.

    An open model (k6 ``constant-arrival-rate``): unlike users with think time, a slow server
    does not slow the offered load down, which is what exposes queueing.
    """

    duration_s: float
    rps: float

    def __post_init__(self) -> None:
        if not 0 < self.duration_s <= MAX_DURATION_S:
            raise ProfileError(f"stage duration {self.duration_s}s not in (0, {MAX_DURATION_S}]")
        if not 0 <= self.rps <= MAX_RPS:
            raise ProfileError(f"stage rate {self.rps} rps not in [0, {MAX_RPS}]")


def ramping_users(*stages: tuple[str | float, int], start: int = 0) -> tuple[UserStage, ...]:
    """k6 ``stages``: each ``(duration, target)`` ramps linearly from the previous target.

    ``ramping_users(("30s", 20), ("1m", 20))`` ramps 0 -> 20 in 30 s (0.67 users/s), then holds.
    """
    out, previous, rate = [], start, 1.0
    for duration, target in stages:
        seconds = parse_duration(duration) if isinstance(duration, str) else float(duration)
        if seconds <= 0:
            raise ProfileError(f"stage duration {duration!r} must be positive")
        # A hold keeps the previous ramp's rate: if that ramp ended short of its target, the
        # hold finishes it at the same speed instead of crawling.
        rate = min(abs(target - previous) / seconds or rate, MAX_SPAWN_RATE)
        out.append(UserStage(seconds, target, rate))
        previous = target
    return tuple(out)


@dataclass(frozen=True)
class Threshold:
    """One pass/fail criterion over the whole run, e.g. ``p95<500ms``; see ``parse_threshold``.

    ``limit`` is in milliseconds for latency metrics, a fraction for ``error_rate`` and requests
    per second for ``rps``.
    """

    text: str
    metric: str  # "p95", "p99.9", "avg", "max", "error_rate" or "rps"
    op: str
    limit: float

    @property
    def quantile(self) -> float | None:
        """0.95 for ``p95``; None for metrics that are not percentiles."""
        return float(self.metric[1:]) / 100 if self.metric.startswith("p") else None

    def passes(self, observed: float) -> bool:
        """Compare an observed value (in this threshold's units) with the limit."""
        return {
            "<": observed < self.limit,
            "<=": observed <= self.limit,
            ">": observed > self.limit,
            ">=": observed >= self.limit,
        }[self.op]

    def format(self, value: float) -> str:
        """Show a value in the unit the threshold was written in, for the verdict table."""
        if self.metric == "error_rate":
            return f"{value * 100:.2f}%"
        if self.metric == "rps":
            return f"{value:.1f}/s"
        return f"{value:.0f}ms"


_THRESHOLD = re.compile(r"\s*(?P<metric>[^<>=\s]+)\s*(?P<op><=|>=|<|>)\s*(?P<value>\S+)\s*")
_METRIC_HELP = "pNN (p50, p95, p99.9; k6's p(95) too), avg, max, error_rate or rps"


def parse_threshold(text: str) -> Threshold:
    """Parse ``p95<500ms``, ``p99<1s``, ``p(95)<500``, ``avg<200ms``, ``error_rate<1%``,
    ``error_rate<0.01`` or ``rps>=50``; a bare latency number is milliseconds, as in k6.

    Raises ``ProfileError`` naming the threshold and what was expected, so a typo on the command
    line fails before any traffic is sent.
    """
    m = _THRESHOLD.fullmatch(text)
    if m is None:
        raise ProfileError(f"bad threshold {text!r}: expected METRIC<VALUE, e.g. 'p95<500ms'")
    metric = m["metric"].lower().replace("(", "").replace(")", "")
    if re.fullmatch(r"p\d+(?:\.\d+)?", metric):
        if not 0 < float(metric[1:]) <= 100:
            raise ProfileError(f"bad threshold {text!r}: percentile must be in (0, 100]")
        metric = "p" + format(float(metric[1:]), "g")
    elif metric not in ("avg", "max", "error_rate", "rps"):
        raise ProfileError(f"bad threshold {text!r}: unknown metric; expected {_METRIC_HELP}")
    number = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|%|/s)?", m["value"])
    if number is None:
        raise ProfileError(f"bad threshold {text!r}: {m['value']!r} is not a number with a unit")
    value, unit = float(number[1]), number[2]
    return Threshold(text.strip(), metric, m["op"], _threshold_limit(text, metric, value, unit))


def _threshold_limit(text: str, metric: str, value: float, unit: str | None) -> float:
    """Convert a threshold's value to the metric's base unit, rejecting units that don't fit."""
    if metric == "error_rate":
        if unit not in (None, "%"):
            raise ProfileError(f"bad threshold {text!r}: error_rate takes '1%' or '0.01'")
        limit = value / 100 if unit == "%" else value
        if limit > 1:
            raise ProfileError(f"bad threshold {text!r}: error rate above 100%")
        return limit
    if metric == "rps":
        if unit not in (None, "/s"):
            raise ProfileError(f"bad threshold {text!r}: rps takes a number, e.g. 'rps>50'")
        return value
    if unit not in (None, "ms", "s"):
        raise ProfileError(f"bad threshold {text!r}: latency takes 'ms' or 's', not {unit!r}")
    return value * 1000 if unit == "s" else value


@dataclass(frozen=True)
class Profile:
    """A named load shape: stages, thresholds, scenario weights and think time.

    All stages are ``UserStage`` (closed model) or all ``RateStage`` (open model). In an
    arrival-rate profile, ``max_users`` users (k6 ``preAllocatedVUs``) share one ``Pacer`` and
    think time is ignored: the rate alone decides when requests start.
    """

    name: str
    stages: tuple[UserStage, ...] | tuple[RateStage, ...]
    thresholds: tuple[Threshold, ...] = ()
    weights: Mapping[str, int] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    think_time_s: tuple[float, float] = (1.0, 3.0)
    max_users: int = 50
    description: str = ""

    def __post_init__(self) -> None:
        kinds = {type(stage) for stage in self.stages}
        if len(kinds) != 1:
            raise ProfileError(f"profile {self.name!r}: needs stages, all of one kind")
        if self.total_duration_s > MAX_DURATION_S:
            raise ProfileError(
                f"profile {self.name!r}: {self.total_duration_s:.0f}s exceeds the "
                f"{MAX_DURATION_S:.0f}s cap"
            )
        unknown = sorted(set(self.weights) - set(SCENARIOS))
        if unknown or any(w < 0 for w in self.weights.values()) or not any(self.weights.values()):
            raise ProfileError(
                f"profile {self.name!r}: weights {dict(self.weights)} must be >= 0 over "
                f"{', '.join(SCENARIOS)} with at least one above 0"
            )
        low, high = self.think_time_s
        if not 0 <= low <= high <= 60:
            raise ProfileError(f"profile {self.name!r}: think time {self.think_time_s} invalid")
        if not 1 <= self.max_users <= MAX_USERS:
            raise ProfileError(f"profile {self.name!r}: max_users not in [1, {MAX_USERS}]")
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))  # frozen too

    @property
    def mode(self) -> LoadMode:
        """Closed (users) or open (arrival rate), from the kind of the stages."""
        return LoadMode.USERS if isinstance(self.stages[0], UserStage) else LoadMode.ARRIVAL_RATE

    @property
    def total_duration_s(self) -> float:
        """Sum of the stage durations: when the shape ends the run."""
        return sum(stage.duration_s for stage in self.stages)

    @property
    def peak_users(self) -> int:
        """Most users the run will have at once: the safety figure shown before starting."""
        if self.mode is LoadMode.ARRIVAL_RATE:
            return self.max_users
        return max(stage.users for stage in self.stages)  # type: ignore[union-attr]

    def stage_at(self, elapsed_s: float) -> UserStage | RateStage | None:
        """The stage running ``elapsed_s`` into the run; None once the last one has ended."""
        end = 0.0
        for stage in self.stages:
            end += stage.duration_s
            if elapsed_s < end:
                return stage
        return None

    def tick(self, elapsed_s: float) -> tuple[int, float] | None:
        """Locust ``LoadTestShape.tick``: (users, spawn rate) wanted now, None to stop."""
        stage = self.stage_at(elapsed_s)
        if stage is None:
            return None
        if isinstance(stage, UserStage):
            return stage.users, stage.spawn_rate
        users = self.max_users if stage.rps > 0 else 0  # a zero-rate stage is a pause
        return users, min(float(self.max_users), MAX_SPAWN_RATE)

    def rate_at(self, elapsed_s: float) -> float:
        """Requests per second wanted now (arrival-rate profiles); 0 otherwise or after the end."""
        stage = self.stage_at(elapsed_s)
        return stage.rps if isinstance(stage, RateStage) else 0.0

    def scaled(self, duration_s: float | None = None, users: int | None = None) -> Profile:
        """The same shape squeezed into ``duration_s`` and/or peaking at ``users``.

        Scaling (rather than cutting) keeps a spike a spike in a 30 s run. Spawn rates scale
        with both factors so each ramp still reaches its target by the end of its stage. For
        arrival-rate profiles ``users`` sets ``max_users``.
        """
        time_factor = 1.0 if duration_s is None else duration_s / self.total_duration_s
        if duration_s is not None and not 0 < duration_s <= MAX_DURATION_S:
            raise ProfileError(f"duration {duration_s}s not in (0, {MAX_DURATION_S:.0f}]")
        shortest = min(s.duration_s for s in self.stages)
        if shortest * time_factor < MIN_STAGE_S:
            raise ProfileError(
                f"profile {self.name!r} needs at least "
                f"{math.ceil(MIN_STAGE_S * self.total_duration_s / shortest)}s: Locust adjusts "
                f"the load once a second, so a stage shorter than {MIN_STAGE_S:.0f}s is skipped"
            )
        if users is not None and not 1 <= users <= MAX_USERS:
            raise ProfileError(f"users {users} not in [1, {MAX_USERS}]")
        if self.mode is LoadMode.ARRIVAL_RATE:
            stages: tuple = tuple(
                RateStage(s.duration_s * time_factor, s.rps)
                for s in self.stages  # type: ignore[union-attr]
            )
            return replace(self, stages=stages, max_users=users or self.max_users)
        user_factor = 1.0 if users is None else users / max(self.peak_users, 1)
        stages = tuple(
            UserStage(
                s.duration_s * time_factor,
                max(1, round(s.users * user_factor)) if s.users else 0,
                min(max(s.spawn_rate * user_factor / time_factor, 0.01), MAX_SPAWN_RATE),
            )
            for s in self.stages  # type: ignore[union-attr]
        )
        return replace(self, stages=stages)


_SLO_THRESHOLDS = ("p95<500ms", "p99<1s", "error_rate<1%")
_DEGRADED_THRESHOLDS = ("p95<1s", "error_rate<5%")


def _thresholds(*texts: str) -> tuple[Threshold, ...]:
    return tuple(parse_threshold(text) for text in texts)


# Mirrors the seed load tests: k6 ramping VUs (load), k6 "peak_load" (stress, sized for one
# machine), a classic spike, and Artillery arrival-rate phases (throughput).
BUILTIN_PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "smoke": Profile(
            "smoke",
            (UserStage(20.0, 5, 5.0),),
            _thresholds("p95<500ms", "error_rate<1%"),
            think_time_s=(0.5, 1.5),
            description="5 users for 20 s: does every endpoint answer?",
        ),
        "load": Profile(
            "load",
            ramping_users(("30s", 20), ("1m", 50), ("2m", 100), ("2m", 100), ("30s", 0)),
            _thresholds(*_SLO_THRESHOLDS),
            description="ramp to 100 users, hold 2 min, ramp down (6 min)",
        ),
        "stress": Profile(
            "stress",
            ramping_users(("2m", 100), ("5m", 250), ("2m", 500), ("5m", 500), ("2m", 0)),
            _thresholds(*_DEGRADED_THRESHOLDS),
            description="climb to 500 users and hold: where does it bend? (16 min)",
        ),
        "spike": Profile(
            "spike",
            ramping_users(
                ("30s", 10), ("1m", 10), ("10s", 300), ("1m", 300), ("10s", 10), ("1m", 10)
            ),
            _thresholds(*_DEGRADED_THRESHOLDS),
            description="10 users, a sudden 300 for a minute, back to 10: does it recover?",
        ),
        "throughput": Profile(
            "throughput",
            (RateStage(60.0, 10.0), RateStage(300.0, 50.0), RateStage(120.0, 100.0)),
            _thresholds(*_SLO_THRESHOLDS),
            max_users=100,
            description="open model: 10, 50, then 100 requests/s whatever the latency (8 min)",
        ),
    }
)


def get_profile(name: str) -> Profile:
    """A built-in profile by name, or a ``ProfileError`` listing the ones that exist."""
    try:
        return BUILTIN_PROFILES[name]
    except KeyError:
        raise ProfileError(
            f"unknown profile {name!r}: choose from {', '.join(BUILTIN_PROFILES)}"
        ) from None
