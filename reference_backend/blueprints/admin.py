"""``/admin/faults``: turn the shop's injected faults on and off at runtime, without a restart.

Every route needs ``Authorization: Bearer <ADMIN_TOKEN>``: 401 without a bearer token, 403
with a wrong one. ``setup`` also installs the request hook that applies the ``latency`` and
``error_rate`` faults, and hands the engines to the faults (pool and statement hooks).

    curl -H "Authorization: Bearer $ADMIN_TOKEN" http://127.0.0.1:8000/admin/faults
    curl -X PUT -H "Authorization: Bearer $ADMIN_TOKEN" -H "Content-Type: application/json" \\
         -d '{"rate": 0.2, "status": 503, "routes": ["/products*"]}' \\
         http://127.0.0.1:8000/admin/faults/error_rate
    curl -X DELETE -H "Authorization: Bearer $ADMIN_TOKEN" \\
         http://127.0.0.1:8000/admin/faults/error_rate
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Flask, jsonify, request

from reference_backend.faults import FAULTS, FaultError
from reference_backend.state import ShopState, shop

__all__ = ["bp", "setup"]

bp = Blueprint("admin", __name__, url_prefix="/admin")


def setup(app: Flask, state: ShopState) -> None:
    """Attach the faults to the engines and apply request faults before every view."""
    state.faults.attach(state.primary, state.replica)
    app.before_request(_inject_request_faults)


def _inject_request_faults() -> Any:
    """Wait, then maybe fail, as the ``latency`` and ``error_rate`` faults say for this route.

    The route is the URL rule template (``/products/<int:product_id>``), the same label the
    request metrics carry, so a fault aims at exactly the series an SLO watches.
    """
    faults = shop().faults
    route = request.url_rule.rule if request.url_rule is not None else None
    faults.delay(faults.request_delay_s(route))
    status = faults.request_error(route)
    if status is not None:
        return jsonify(error="injected fault", fault="error_rate", status=status), status
    return None


@bp.before_request
def _require_admin_token() -> Any:
    """401 without a bearer token, 403 with a wrong one; compared in constant time."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        response = jsonify(error="missing bearer token")
        response.headers["WWW-Authenticate"] = 'Bearer realm="shop-admin"'
        return response, 401
    expected = shop().settings.admin_token.encode()
    if not hmac.compare_digest(token.strip().encode(), expected):
        return jsonify(error="wrong admin token"), 403
    return None


@bp.get("/faults")
def list_faults():
    """Every fault and its state."""
    return jsonify(shop().faults.snapshot())


@bp.put("/faults/<name>")
def turn_on(name: str):
    """Turn one fault on with the JSON body as its parameters (empty body: defaults).

    :raise 404: for an unknown fault; 400 for bad parameters, listing every problem.
    """
    if name not in FAULTS:
        return _unknown(name)
    params: Any = {}
    if request.get_data(cache=True):
        params = request.get_json(silent=True)
        if params is None:
            return jsonify(error="bad parameters", errors=["body: not valid JSON"]), 400
    try:
        found = shop().faults.turn_on(name, params)
    except FaultError as exc:
        return jsonify(error="bad parameters", errors=exc.errors), 400
    return jsonify({name: found})


@bp.delete("/faults/<name>")
def turn_off(name: str):
    """Turn one fault off; turning off a fault that is off is fine (idempotent)."""
    if name not in FAULTS:
        return _unknown(name)
    try:
        found = shop().faults.turn_off(name)
    except FaultError as exc:
        return jsonify(error="bad request", errors=exc.errors), 400
    return jsonify({name: found})


@bp.post("/faults/cache_flush")
def cache_flush():
    """Empty every cache now (L1 in this process, and the shop's keys in Redis)."""
    state = shop()
    prefix = f"{state.settings.cache_namespace}:"
    dropped = state.faults.flush_caches(state.caches.values(), state.redis, prefix)
    return jsonify(cache_flush={"flushed": dropped})


def _unknown(name: str):
    return jsonify(error=f"unknown fault {name!r}", known=list(FAULTS)), 404
