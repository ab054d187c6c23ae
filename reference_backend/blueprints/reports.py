"""``GET /api/reports/top-customers``: who spent most recently, from one aggregate query, cached.

    curl 'http://127.0.0.1:8000/api/reports/top-customers?days=30&limit=10'

A CTE sums each customer's fulfilled orders in the window (``orders_by_created`` finds the
window), the outer query joins the few winners to ``customers``. The result goes through the
``reports`` cache: an aggregate over the order history is exactly what must not run per
request. A scheduled job recomputes the default report every ten minutes, so it is always
fresh; other windows are recomputed in the background once stale.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from functools import partial
from typing import Any

from flask import Blueprint, Flask, jsonify, request
from sqlalchemy import func, select

from reference_backend.errors import BadParameter
from reference_backend.models import Customer, Order
from reference_backend.state import ShopState, shop

__all__ = ["BadParameter", "bp", "refresh_top_customers", "setup", "top_customers"]

log = logging.getLogger("reference_backend")

bp = Blueprint("reports", __name__)

DAYS_DEFAULT, DAYS_MAX = 30, 365
LIMIT_DEFAULT, LIMIT_MAX = 10, 100
REFRESH_MINUTES = 10
_INTEGER = re.compile(r"[0-9]{1,4}")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _int_arg(name: str, default: int, high: int) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    if not _INTEGER.fullmatch(raw) or not 1 <= int(raw) <= high:
        raise BadParameter(name, f"must be an integer from 1 to {high}, got {raw!r}")
    return int(raw)


def top_customers(state: ShopState, days: int, limit: int, now: dt.datetime) -> dict[str, Any]:
    """The report, straight from the database: ``limit`` customers by fulfilled spend in the
    ``days`` before ``now``; ties go to the lower customer id, so pages are stable."""
    since = now - dt.timedelta(days=days)
    spend = (
        select(
            Order.customer_id,
            func.sum(Order.total_cents).label("spent_cents"),
            func.count().label("orders"),
        )
        .where(Order.status == "fulfilled", Order.created_at >= since)
        .group_by(Order.customer_id)
        .cte("spend")
    )
    stmt = (
        select(Customer.id, Customer.name, Customer.email, spend.c.spent_cents, spend.c.orders)
        .join(spend, spend.c.customer_id == Customer.id)
        .order_by(spend.c.spent_cents.desc(), Customer.id)
        .limit(limit)
    )
    with state.read_session() as session:
        state.faults.query_hint(session)
        rows = session.execute(stmt).all()
    customers = [
        {"id": r.id, "name": r.name, "email": r.email, "spent_cents": int(r.spent_cents),
         "orders": r.orders}
        for r in rows
    ]  # fmt: skip
    return {
        "days": days,
        "limit": limit,
        "since": since.isoformat(),
        "generated_at": now.isoformat(),
        "customers": customers,
    }


def _key(days: int, limit: int) -> str:
    return f"top-customers:{days}:{limit}"


def _load(state: ShopState, key: str) -> dict[str, Any]:
    """The cache's loader (it may run on a refresh thread: state, not the app context)."""
    _, days, limit = key.split(":")
    return top_customers(state, int(days), int(limit), _utc_now())


def _cache(state: ShopState):
    # Fresh for one refresh period, stale for another: the job rewrites the default report
    # before it ages, and a failed run still leaves a value to serve.
    period = 60.0 * REFRESH_MINUTES
    return state.cache("reports", ttl=period, stale_ttl=period, loader=partial(_load, state))


def refresh_top_customers(state: ShopState, now: dt.datetime | None = None) -> dict[str, Any]:
    """Recompute the default report into the cache (the scheduled job); returns it."""
    report = top_customers(state, DAYS_DEFAULT, LIMIT_DEFAULT, now or _utc_now())
    _cache(state).set(_key(DAYS_DEFAULT, LIMIT_DEFAULT), report)
    return report


def setup(app: Flask, state: ShopState) -> None:
    """Schedule the refresh every ten minutes, first as soon as ``serve`` starts the scheduler
    (it is never started here, and tests have none)."""
    if state.scheduler is None:
        return
    state.scheduler.add_job(
        refresh_top_customers,
        "interval",
        minutes=REFRESH_MINUTES,
        args=[state],
        id="reports.refresh_top_customers",
        replace_existing=True,
        next_run_time=_utc_now(),
    )


@bp.get("/api/reports/top-customers")
def top_customers_view():
    """The top customers by fulfilled spend: ``days`` (1 to 365, default 30) and ``limit``
    (1 to 100, default 10).

    :raise 400: naming ``days`` or ``limit`` when not an integer in range.
    """
    days = _int_arg("days", DAYS_DEFAULT, DAYS_MAX)
    limit = _int_arg("limit", LIMIT_DEFAULT, LIMIT_MAX)
    state = shop()
    return jsonify(_cache(state).get_or_load(_key(days, limit)))
