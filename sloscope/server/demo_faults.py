"""``sloscope demo fault NAME``: the demo's fault presets, sent to the running shop's admin API.

Each preset is one of the shop's faults (reference_backend/faults.py) with parameters chosen to
make one demo SLO burn fast at the demo's load (docs/demo.md has the arithmetic):

============ ===================== ====================================================
preset       shop fault            what burns
============ ===================== ====================================================
latency      latency, 800 ms       shop-latency: every API request is over 500 ms
errors       error_rate 30% 500    shop-availability: 30 % of API requests fail
redis        redis_outage          shop-redis: the caches lose their L2 level
pool         pool_exhaustion       shop-db-pool: checkouts wait 2 s and time out; 5xx
clear        every fault off       the burn stops; the budget recovers over the window
============ ===================== ====================================================
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from sloscope.server.demo_state import DemoState

__all__ = ["CHOICES", "FAULT_PRESETS", "FaultPreset", "FaultRefused", "apply_fault", "list_faults"]

TIMEOUT_S = 10.0
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class FaultPreset:
    fault: str
    params: dict[str, Any]
    burns: str
    effect: str


FAULT_PRESETS: dict[str, FaultPreset] = {
    "latency": FaultPreset(
        "latency",
        {"routes": ["/api/*"], "distribution": "fixed", "ms": 800},
        "shop-latency",
        "every shop API request waits 800 ms first",
    ),
    "errors": FaultPreset(
        "error_rate",
        {"rate": 0.3, "status": 500, "routes": ["/api/*"]},
        "shop-availability",
        "30% of shop API requests fail with a 500",
    ),
    "redis": FaultPreset(
        "redis_outage",
        {},
        "shop-redis",
        "every Redis command fails: the caches fall back to L1 and the database",
    ),
    "pool": FaultPreset(
        "pool_exhaustion",
        {},
        "shop-db-pool and shop-availability",
        "every database connection is held: checkouts wait 2 s, time out and fail",
    ),
}
CHOICES = (*FAULT_PRESETS, "clear", "list")


class FaultRefused(Exception):
    """The shop could not be asked, or refused; the message says why."""


def _call(state: DemoState, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        state.shop_url.rstrip("/") + path,
        data=data,
        method=method,
        headers={
            "Authorization": f"Bearer {state.admin_token}",
            "Accept": "application/json",
            **({"Content-Type": "application/json"} if data is not None else {}),
        },
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT_S) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        with exc:
            detail = exc.read().decode("utf-8", "replace").strip()
        message = f"the shop answered HTTP {exc.code} to {method} {path}: {detail}"
        raise FaultRefused(message) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FaultRefused(f"cannot reach the shop at {state.shop_url}: {reason}") from None


def list_faults(state: DemoState) -> dict[str, Any]:
    """Every fault of the shop and its state."""
    return _call(state, "GET", "/admin/faults")


def apply_fault(state: DemoState, name: str) -> str:
    """Turn preset ``name`` on (``clear``: every fault off); returns what happened, in words."""
    if name == "clear":
        switched = [k for k, v in list_faults(state).items() if v.get("on")]
        for fault in switched:
            _call(state, "DELETE", f"/admin/faults/{fault}")
        return "cleared " + (", ".join(switched) if switched else "nothing: no fault was on")
    preset = FAULT_PRESETS[name]
    if preset.fault == "redis_outage" and not state.redis:
        raise FaultRefused(
            "this demo runs without Redis (no redis-server on PATH and no --redis-url), "
            "so there is no Redis to break"
        )
    _call(state, "PUT", f"/admin/faults/{preset.fault}", preset.params)
    return f"{name}: {preset.effect}; watch {preset.burns} burn on {state.dashboard_url}"
