"""``demo-state.json``: how ``sloscope demo fault`` (and tests) find a running demo.

The running demo writes it once every part is ready and removes it when it stops. It holds the
URLs, the shop's admin token (so the file is readable by its owner only) and every part's pid.
A file left behind by a demo that was killed is recognised by its pid no longer running.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["DemoState", "StateError", "pid_alive", "read_state", "remove_state", "write_state"]


class StateError(Exception):
    """No running demo in that directory (or an unreadable state file); says what to do."""


@dataclass(frozen=True)
class DemoState:
    pid: int
    dashboard_url: str
    shop_url: str
    admin_token: str
    #: Whether the shop has a Redis (L2) level, so the redis fault can break something.
    redis: bool
    #: Every part's pid, by name (server, shop, load, redis).
    children: dict[str, int] = field(default_factory=dict)


def write_state(path: Path, state: DemoState) -> None:
    """Write the file atomically, readable by its owner only (it holds the admin token)."""
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(state), out, indent=2, sort_keys=True)
        out.write("\n")
    os.replace(temporary, path)


def remove_state(path: Path, pid: int) -> None:
    """Remove the file if it is this demo's (a newer demo may have replaced it)."""
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, though not ours to signal
    return True


def read_state(path: Path) -> DemoState:
    """The running demo's state; StateError when none runs with that data directory."""
    where = path.parent
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        state = DemoState(**raw)
    except FileNotFoundError:
        raise StateError(
            f"no demo is running with data directory {where} (no {path.name}); "
            "start one with `sloscope demo`, or pass the --data-dir it uses"
        ) from None
    except (OSError, ValueError, TypeError) as exc:
        raise StateError(f"{path}: unreadable demo state ({exc})") from None
    if not pid_alive(state.pid):
        raise StateError(
            f"the demo that wrote {path} (pid {state.pid}) is no longer running; "
            "start it again with `sloscope demo`"
        )
    return state
