"""``POST /api/orders``: place an order without ever selling stock the shop does not have.

    curl -X POST -H "Content-Type: application/json" \\
         -d '{"customer_id": 7, "items": [{"product_id": 42, "quantity": 2}]}' \\
         http://127.0.0.1:8000/api/orders

One transaction on the primary. Stock is taken with a conditional decrement,
``UPDATE inventory SET quantity = quantity - :q WHERE product_id = :id AND quantity >= :q``,
and its rowcount: the database checks and writes in one step, so two buyers of the last unit
cannot both see it free (no read-then-write race, no ``SELECT ... FOR UPDATE``), on SQLite and
PostgreSQL alike. Rows are taken in product-id order, so two orders for the same products lock
them in the same order and cannot deadlock. After the commit the ordered products' cache
entries go (their stock changed) and a ``fulfil_order`` job is queued.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reference_backend.models import Customer, Inventory, Order, OrderItem, Product
from reference_backend.state import ShopState, shop

__all__ = [
    "InvalidOrder",
    "Line",
    "NewOrder",
    "OrderRejected",
    "bp",
    "fulfil_order",
    "order_json",
    "parse_order",
    "place_order",
    "timestamp",
]

log = logging.getLogger("reference_backend")

bp = Blueprint("orders", __name__)

MAX_ITEMS = 50
MAX_QUANTITY = 100
_MAX_ID, _MAX_CENTS = 2**63 - 1, 2**31 - 1  # BIGINT ids; totals are an INTEGER column


@dataclass(frozen=True)
class Line:
    """One validated item of an order."""

    product_id: int
    quantity: int


@dataclass(frozen=True)
class NewOrder:
    """A validated request: ``lines`` sorted by product id (the order rows are locked in)."""

    customer_id: int
    lines: tuple[Line, ...]


class InvalidOrder(ValueError):
    """The request body is malformed; ``errors`` holds every ``(field, message)`` found."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


class OrderRejected(Exception):
    """A well-formed order the shop cannot accept: 409 (stock) or 422 (what it names)."""

    def __init__(self, status: int, message: str, field: str, product_ids: Iterable[int] = ()):
        super().__init__(message)
        self.status, self.field, self.product_ids = status, field, sorted(product_ids)


@bp.errorhandler(InvalidOrder)
def _invalid(exc: InvalidOrder):
    errors = [{"field": field, "message": message} for field, message in exc.errors]
    return jsonify(error=str(exc), errors=errors), 400


@bp.errorhandler(OrderRejected)
def _rejected(exc: OrderRejected):
    body: dict[str, Any] = {"error": str(exc), "field": exc.field}
    if exc.product_ids:
        body["product_ids"] = exc.product_ids
    return jsonify(body), exc.status


# --- validation ------------------------------------------------------------------------------


def _positive_id(value: Any) -> bool:
    # type(), not isinstance(): JSON true is not customer 1.
    return type(value) is int and 0 < value <= _MAX_ID


def _line(index: int, item: Any, errors: list[tuple[str, str]]) -> Line | None:
    where = f"items[{index}]"
    if not isinstance(item, dict):
        errors.append((where, "must be an object with product_id and quantity"))
        return None
    unknown = sorted(set(item) - {"product_id", "quantity"})
    if unknown:
        errors.append((where, f"unknown field(s): {', '.join(unknown)}"))
    product_id, quantity = item.get("product_id"), item.get("quantity")
    if not _positive_id(product_id):
        errors.append((f"{where}.product_id", "must be a positive integer"))
    if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
        errors.append((f"{where}.quantity", f"must be an integer from 1 to {MAX_QUANTITY}"))
    if not _positive_id(product_id) or type(quantity) is not int:
        return None
    return Line(product_id, quantity)


def parse_order(body: Any) -> NewOrder:
    """Check the whole body and report every problem at once, each with its field.

    :raise InvalidOrder: for anything but ``{"customer_id": int, "items": [...]}`` with 1 to
        50 items, quantities 1 to 100 and no product twice.
    """
    if not isinstance(body, dict):
        raise InvalidOrder([("body", "must be a JSON object (Content-Type: application/json)")])
    errors: list[tuple[str, str]] = []
    unknown = sorted(set(body) - {"customer_id", "items"})
    if unknown:
        errors.append(("body", f"unknown field(s): {', '.join(unknown)}"))
    if not _positive_id(body.get("customer_id")):
        errors.append(("customer_id", "must be a positive integer"))
    items = body.get("items")
    lines: list[Line] = []
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        errors.append(("items", f"must be a list of 1 to {MAX_ITEMS} items"))
    else:
        seen: dict[int, int] = {}
        for index, item in enumerate(items):
            line = _line(index, item, errors)
            if line is None:
                continue
            if line.product_id in seen:
                first = seen[line.product_id]
                errors.append((f"items[{index}].product_id", f"repeats items[{first}]"))
            seen.setdefault(line.product_id, index)
            lines.append(line)
    if errors:
        raise InvalidOrder(errors)
    ordered = tuple(sorted(lines, key=lambda line: line.product_id))
    return NewOrder(customer_id=body["customer_id"], lines=ordered)


# --- placing ---------------------------------------------------------------------------------


def _prices(session: Session, order: NewOrder) -> dict[int, int]:
    """Current prices of the ordered products; rejects unknown customers and products."""
    if session.get(Customer, order.customer_id) is None:
        raise OrderRejected(422, f"no customer with id {order.customer_id}", "customer_id")
    wanted = [line.product_id for line in order.lines]
    rows = session.execute(
        select(Product.id, Product.price_cents, Product.status).where(Product.id.in_(wanted))
    ).all()
    missing = set(wanted) - {row.id for row in rows}
    if missing:
        raise OrderRejected(422, "no such product(s)", "items", missing)
    inactive = {row.id for row in rows if row.status != "active"}
    if inactive:
        raise OrderRejected(422, "product(s) not for sale", "items", inactive)
    return {row.id: row.price_cents for row in rows}


def _take_stock(session: Session, lines: tuple[Line, ...]) -> None:
    """Decrement every line's stock, in product-id order; all or nothing.

    Every line is tried, so a 409 names all the products short of stock, not just the first.
    """
    short = []
    for line in lines:  # sorted by product id: the lock order that rules out deadlocks
        taken = session.execute(
            update(Inventory.__table__)
            .where(Inventory.product_id == line.product_id)
            .where(Inventory.quantity >= line.quantity)
            .values(quantity=Inventory.quantity - line.quantity)
        )
        if taken.rowcount != 1:
            short.append(line.product_id)
    if short:
        raise OrderRejected(409, "not enough stock", "items", short)


def place_order(state: ShopState, order: NewOrder) -> dict[str, Any]:
    """Check, take the stock, and write the order and its items in one primary transaction.

    :raise OrderRejected: 422 for an unknown customer or product or a product not for sale,
        409 when any product is short of stock (then nothing was taken at all).
    """
    with state.write_session() as session, session.begin():
        prices = _prices(session, order)
        total = sum(prices[line.product_id] * line.quantity for line in order.lines)
        if total > _MAX_CENTS:
            raise OrderRejected(422, f"order total exceeds {_MAX_CENTS} cents", "items")
        _take_stock(session, order.lines)
        row = Order(customer_id=order.customer_id, status="pending", total_cents=total)
        session.add(row)
        session.flush()  # the order's id, for its items
        items = [
            OrderItem(
                order_id=row.id,
                product_id=line.product_id,
                quantity=line.quantity,
                unit_price_cents=prices[line.product_id],
            )
            for line in order.lines
        ]
        session.add_all(items)
    return order_json(row, items)


def _after_commit(state: ShopState, order: dict[str, Any]) -> None:
    """Forget the products whose stock changed, then queue the fulfilment.

    Deleting (not rewriting) the entries lets the next reader load the committed stock; a
    full job queue leaves the order pending, and the worker has counted the drop.
    """
    products = state.cache("products")
    for item in order["items"]:
        products.delete(str(item["product_id"]))
    if not state.jobs.submit(fulfil_order, state, order["id"], job_name="fulfil_order"):
        log.debug("order %s stays pending: the job queue refused it", order["id"])


def fulfil_order(state: ShopState, order_id: int) -> bool:
    """The job: mark a pending order ``fulfilled`` in its own transaction.

    Idempotent, so a retry after a failure that happened past the commit changes nothing.
    Returns whether this call fulfilled it.
    """
    with state.write_session() as session, session.begin():
        done = session.execute(
            update(Order.__table__)
            .where(Order.id == order_id, Order.status == "pending")
            .values(status="fulfilled")
        )
    return done.rowcount == 1


# --- JSON ------------------------------------------------------------------------------------


def timestamp(value: dt.datetime) -> str:
    """ISO 8601 in UTC with its offset (SQLite hands the stored UTC time back naive)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat()


def order_json(
    order: Any, items: Iterable[Any], products: dict[int, Any] | None = None
) -> dict[str, Any]:
    """An order (row or ORM object) with its items; with ``products`` each item's name too."""
    lines = []
    for item in items:
        line = {
            "product_id": item.product_id,
            "quantity": item.quantity,
            "unit_price_cents": item.unit_price_cents,
        }
        if products is not None and item.product_id in products:
            line["product"] = products[item.product_id]
        lines.append(line)
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "status": order.status,
        "total_cents": order.total_cents,
        "created_at": timestamp(order.created_at),
        "items": lines,
    }


# --- views -----------------------------------------------------------------------------------


@bp.post("/api/orders")
def create():
    """Place an order: 201 with the order, queued for fulfilment.

    :raise 400: for a malformed body, naming every bad field.
    :raise 409: when stock is short, with the ``product_ids``; nothing is taken.
    :raise 422: for an unknown customer or product, or a product not for sale.
    """
    state = shop()
    order = place_order(state, parse_order(request.get_json(silent=True)))
    _after_commit(state, order)
    return jsonify(order), 201
