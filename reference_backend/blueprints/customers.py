"""``GET /api/customers/<id>/orders``: a customer's order history, newest first, N+1-free.

    curl 'http://127.0.0.1:8000/api/customers/7/orders?limit=20'
    curl 'http://127.0.0.1:8000/api/customers/7/orders?limit=20&cursor=<next_cursor>'

A page costs three queries whatever its size: the orders (a range scan of the covering index
``orders_by_customer``, keyset-paginated on ``(created_at, id)``), all their items in one
``IN``, and all those items' products in another. Relationships are ``lazy="raise"``, so a
forgotten per-row load fails loudly instead of quietly multiplying the queries.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from reference_backend.blueprints.orders import order_json
from reference_backend.errors import BadParameter
from reference_backend.models import Customer, Order, OrderItem, Product
from reference_backend.state import ShopState, shop

__all__ = ["BadParameter", "bp", "customer_orders", "decode_cursor", "encode_cursor"]

bp = Blueprint("customers", __name__)

PAGE_DEFAULT, PAGE_MAX = 20, 100
_MAX_ID = 2**63 - 1
_CURSOR_MAX_CHARS = 256
_CURSOR_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_INTEGER = re.compile(r"[0-9]{1,4}")


def _utc(value: dt.datetime) -> dt.datetime:
    """Aware UTC: SQLite returns the stored UTC time naive, and compares it as text."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def encode_cursor(created_at: dt.datetime, order_id: int) -> str:
    """base64url (unpadded) JSON of the last row's ``(created_at, id)``."""
    raw = json.dumps({"t": _utc(created_at).isoformat(), "i": order_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """The position a cursor carries; any well-formed one is a valid place to resume.

    :raise BadParameter: for anything that is not a cursor this API made.
    """
    invalid = BadParameter("cursor", "is not a valid cursor (use next_cursor as given)")
    if len(cursor) > _CURSOR_MAX_CHARS or not _CURSOR_CHARS.fullmatch(cursor):
        raise invalid
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        created_at = dt.datetime.fromisoformat(data["t"])
        order_id = data["i"]
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, KeyError):
        raise invalid from None
    if type(order_id) is not int or not 0 < order_id <= _MAX_ID:
        raise invalid
    return _utc(created_at), order_id


def _limit() -> int:
    raw = request.args.get("limit", "")
    if raw == "":
        return PAGE_DEFAULT
    if not _INTEGER.fullmatch(raw) or not 1 <= int(raw) <= PAGE_MAX:
        raise BadParameter("limit", f"must be an integer from 1 to {PAGE_MAX}, got {raw!r}")
    return int(raw)


def _orders_page(session: Session, customer_id: int, limit: int, after: Any) -> list[Any]:
    """Query 1: the page, read from ``orders_by_customer`` alone (only its columns)."""
    stmt = select(Order.id, Order.customer_id, Order.created_at, Order.status, Order.total_cents)
    stmt = stmt.where(Order.customer_id == customer_id)
    if after is not None:
        # The same (created_at, id) the ORDER BY uses: an index range, ties broken by id.
        stmt = stmt.where(tuple_(Order.created_at, Order.id) < after)
    stmt = stmt.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit + 1)
    return list(session.execute(stmt).all())


def _items_by_order(session: Session, order_ids: list[int]) -> dict[int, list[Any]]:
    """Query 2: every item of every order on the page, in one ``IN``."""
    stmt = (
        select(OrderItem.order_id, OrderItem.product_id, OrderItem.quantity,
               OrderItem.unit_price_cents)
        .where(OrderItem.order_id.in_(order_ids))
        .order_by(OrderItem.order_id, OrderItem.id)
    )  # fmt: skip
    grouped: dict[int, list[Any]] = {order_id: [] for order_id in order_ids}
    for item in session.execute(stmt):
        grouped[item.order_id].append(item)
    return grouped


def _products(session: Session, product_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Query 3: the products of all those items, in one ``IN``."""
    if not product_ids:
        return {}
    stmt = select(Product.id, Product.sku, Product.name).where(Product.id.in_(product_ids))
    return {p.id: {"id": p.id, "sku": p.sku, "name": p.name} for p in session.execute(stmt)}


def customer_orders(
    state: ShopState, customer_id: int, limit: int, after: tuple[dt.datetime, int] | None
) -> tuple[list[dict[str, Any]], str | None] | None:
    """A page of the customer's orders and the next cursor; None for an unknown customer.

    The customer is looked up only when the page is empty: an order proves its customer
    exists (foreign key), so a busy customer's page stays at three queries.
    """
    with state.read_session() as session:
        state.faults.query_hint(session)
        rows = _orders_page(session, customer_id, limit, after)
        if not rows:
            if session.get(Customer, customer_id) is None:
                return None
            return [], None
        page = rows[:limit]
        items = _items_by_order(session, [row.id for row in page])
        products = _products(session, {i.product_id for found in items.values() for i in found})
    orders = [order_json(row, items[row.id], products) for row in page]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(page[-1].created_at, page[-1].id)
    return orders, next_cursor


@bp.get("/api/customers/<int:customer_id>/orders")
def orders(customer_id: int):
    """A page of orders, newest first: ``limit`` (1 to 100, default 20) and ``cursor``.

    :raise 400: naming ``limit`` or ``cursor`` when malformed.
    :raise 404: when there is no such customer.
    """
    limit = _limit()
    cursor = request.args.get("cursor", "")
    after = decode_cursor(cursor) if cursor else None
    found = None
    if 0 < customer_id <= _MAX_ID:
        found = customer_orders(shop(), customer_id, limit, after)
    if found is None:
        return jsonify(error=f"customer {customer_id} not found"), 404
    page, next_cursor = found
    return jsonify(customer_id=customer_id, items=page, next_cursor=next_cursor)
