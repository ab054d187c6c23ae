"""The catalogue: keyset-paginated listing, cached detail and categories, streamed export.

- ``GET /api/products`` pages with an opaque cursor (the last row's sort key and id), never
  OFFSET: page 500 costs what page 1 costs, and rows inserted while a client walks the pages
  neither repeat nor push others out of it.
- ``GET /api/products/<id>`` goes through the ``products`` cache (L1, Redis, database) with
  stale-while-revalidate, so a hot product costs no query and an expired one no wait.
- ``GET /api/categories`` is reference data: warmed at start, refreshed every few minutes.
- ``GET /api/products/export`` streams NDJSON in id batches: memory stays flat for any size.

Reads go to the read session (the replica when one is configured).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request, stream_with_context
from sqlalchemy import select, tuple_
from sqlalchemy.exc import SQLAlchemyError

from reference_backend.errors import BadParameter
from reference_backend.models import Category, Inventory, Product
from reference_backend.state import ShopState, shop

__all__ = ["BadParameter", "ListQuery", "bp", "decode_cursor", "encode_cursor", "list_products",
           "parse_list_query", "product_detail", "refresh_categories", "setup"]  # fmt: skip

log = logging.getLogger("reference_backend")

bp = Blueprint("products", __name__)

PAGE_DEFAULT, PAGE_MAX = 20, 100
#: Rows per export query: bounds memory and how long one query holds a connection.
EXPORT_BATCH = 1000
CATEGORIES_REFRESH_MINUTES = 5
STATUSES = ("active", "draft", "discontinued")
_MAX_ID, _MAX_CENTS = 2**63 - 1, 2**31 - 1  # BIGINT ids, INTEGER prices: larger ones are 500s
_CURSOR_MAX_CHARS = 512
_CURSOR_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_INTEGER = re.compile(r"-?[0-9]{1,15}")  # int() alone would take " 5", "1_000" and "٥"
_COLUMNS = (
    Product.id,
    Product.sku,
    Product.name,
    Product.price_cents,
    Product.status,
    Product.category_id,
    Product.created_at,
)


@dataclass(frozen=True)
class _Order:
    """One sort: its column, direction and how its key is written into a cursor."""

    column: Any
    descending: bool
    kind: type


SORTS = {
    "created": _Order(Product.created_at, True, dt.datetime),  # newest first
    "price_asc": _Order(Product.price_cents, False, int),
    "price_desc": _Order(Product.price_cents, True, int),
    "name": _Order(Product.name, False, str),
}


@dataclass(frozen=True)
class ListQuery:
    """A validated listing request; ``after`` is the decoded cursor ``(sort key, id)``."""

    limit: int = PAGE_DEFAULT
    sort: str = "created"
    status: str = "active"
    category_id: int | None = None
    min_price: int | None = None
    max_price: int | None = None
    after: tuple[Any, int] | None = None


# --- cursors ---------------------------------------------------------------------------------


def encode_cursor(sort: str, key: Any, row_id: int) -> str:
    """base64url (unpadded) JSON of the sort name, the key and the id of a page's last row."""
    if isinstance(key, dt.datetime):
        key = key.isoformat()
    raw = json.dumps({"s": sort, "k": key, "i": row_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    """The ``(key, id)`` a cursor carries, checked against ``sort``.

    A cursor is a position, not a secret: any well-formed one is a valid place to resume, so
    checking its shape and types is enough to keep garbage away from the database.

    :raise BadParameter: for anything that is not a cursor this API made for ``sort``.
    """
    invalid = BadParameter("cursor", "is not a valid cursor (use next_cursor as given)")
    if len(cursor) > _CURSOR_MAX_CHARS or not _CURSOR_CHARS.fullmatch(cursor):
        raise invalid
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid from None
    if not isinstance(data, dict) or set(data) != {"s", "k", "i"}:
        raise invalid
    if data["s"] != sort:
        raise BadParameter("cursor", f"was made for sort={data['s']!r}, not sort={sort!r}")
    row_id, key, kind = data["i"], data["k"], SORTS[sort].kind
    if type(row_id) is not int or not 0 < row_id <= _MAX_ID:
        raise invalid
    if kind is dt.datetime:
        try:
            key = dt.datetime.fromisoformat(key)
        except (TypeError, ValueError):
            raise invalid from None
    elif type(key) is not kind or (kind is int and not 0 <= key <= _MAX_CENTS):
        raise invalid  # type(), not isinstance(): True is not a price
    return key, row_id


# --- parameters ------------------------------------------------------------------------------


def _int_arg(name: str, low: int, high: int) -> int | None:
    raw = request.args.get(name, "")
    if raw == "":
        return None
    if not _INTEGER.fullmatch(raw):
        raise BadParameter(name, f"must be an integer, got {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise BadParameter(name, f"must be between {low} and {high}, got {value}")
    return value


def _choice_arg(name: str, choices: tuple[str, ...], default: str) -> str:
    value = request.args.get(name, default)
    if value not in choices:
        raise BadParameter(name, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


def parse_list_query(state: ShopState) -> ListQuery:
    """The listing request's parameters, validated; every error names its parameter."""
    for name in ("offset", "page"):
        if name in request.args:
            raise BadParameter(name, "is not supported: pass the previous page's next_cursor")
    sort = _choice_arg("sort", tuple(SORTS), "created")
    query = ListQuery(
        limit=_int_arg("limit", 1, PAGE_MAX) or PAGE_DEFAULT,
        sort=sort,
        status=_choice_arg("status", STATUSES, "active"),
        category_id=_category_id(state, request.args.get("category", "")),
        min_price=_int_arg("min_price", 0, _MAX_CENTS),
        max_price=_int_arg("max_price", 0, _MAX_CENTS),
        after=decode_cursor(request.args["cursor"], sort) if request.args.get("cursor") else None,
    )
    if None not in (query.min_price, query.max_price) and query.min_price > query.max_price:
        raise BadParameter("min_price", "must not be greater than max_price")
    return query


def _category_id(state: ShopState, value: str) -> int | None:
    """Resolve a category slug or id through the categories cache, then the database."""
    if value == "":
        return None
    field = "id" if _INTEGER.fullmatch(value) else "slug"
    wanted: Any = int(value) if field == "id" else value
    if field == "id" and not 0 < wanted <= _MAX_ID:
        raise BadParameter("category", f"no category with id {value!r}")
    for category in _categories(state):
        if category[field] == wanted:
            return category["id"]
    # Not in the cached list: it may be newer than the last refresh.
    column = Category.id if field == "id" else Category.slug
    with state.read_session() as session:
        found = session.scalar(select(Category.id).where(column == wanted))
    if found is None:
        raise BadParameter("category", f"no category with {field} {value!r}")
    return found


# --- queries ---------------------------------------------------------------------------------


def _summary(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "sku": row.sku,
        "name": row.name,
        "price_cents": row.price_cents,
        "status": row.status,
        "category_id": row.category_id,
        "created_at": _timestamp(row.created_at),
    }


def _timestamp(value: dt.datetime) -> str:
    """ISO 8601 in UTC with its offset (SQLite hands the stored UTC time back naive)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat()


def list_products(state: ShopState, query: ListQuery) -> tuple[list[dict[str, Any]], str | None]:
    """One page and the cursor of the next (None on the last page).

    The keyset condition ``(key, id) > (last key, last id)`` (``<`` when descending) matches
    the ORDER BY exactly, so an index on ``(key, id)`` serves it as a range scan, and the id
    breaks ties: rows with equal keys are neither skipped nor repeated across pages.
    """
    order = SORTS[query.sort]
    stmt = select(*_COLUMNS).where(Product.status == query.status)
    if query.category_id is not None:
        stmt = stmt.where(Product.category_id == query.category_id)
    if query.min_price is not None:
        stmt = stmt.where(Product.price_cents >= query.min_price)
    if query.max_price is not None:
        stmt = stmt.where(Product.price_cents <= query.max_price)
    if query.after is not None:
        position = tuple_(order.column, Product.id)
        stmt = stmt.where(position < query.after if order.descending else position > query.after)
    if order.descending:
        stmt = stmt.order_by(order.column.desc(), Product.id.desc())
    else:
        stmt = stmt.order_by(order.column.asc(), Product.id.asc())
    with state.read_session() as session:
        rows = session.execute(stmt.limit(query.limit + 1)).all()  # one extra: is there more?
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit:
        last = page[-1]
        next_cursor = encode_cursor(query.sort, getattr(last, order.column.key), last.id)
    return [_summary(row) for row in page], next_cursor


def _load_product(state: ShopState, key: str) -> dict[str, Any] | None:
    """The cache's loader: product, category and stock in one query (relations never lazy).

    It may run on a refresh thread, so it takes the state rather than the app context.
    """
    stmt = (
        select(Product, Category, Inventory.quantity)
        .join(Category, Category.id == Product.category_id)
        .outerjoin(Inventory, Inventory.product_id == Product.id)
        .where(Product.id == int(key))
    )
    with state.read_session() as session:
        found = session.execute(stmt).first()
    if found is None:
        return None  # cached too: a scan of missing ids costs one query per id per ttl
    product, category, quantity = found
    detail = _summary(product)
    detail["description"] = product.description
    detail["category"] = {"id": category.id, "name": category.name, "slug": category.slug}
    detail["stock"] = quantity or 0
    return detail


def product_detail(state: ShopState, product_id: int) -> dict[str, Any] | None:
    """The product's JSON from the ``products`` cache (stale served while it reloads)."""
    if not 0 < product_id <= _MAX_ID:
        return None
    cache = state.cache(
        "products",
        ttl=state.settings.cache_ttl_s,
        stale_ttl=state.settings.cache_stale_ttl_s,
        loader=partial(_load_product, state),
    )
    return cache.get_or_load(str(product_id), partial(_load_product, state))


def _load_categories(state: ShopState, _key: str = "all") -> list[dict[str, Any]]:
    with state.read_session() as session:
        rows = session.execute(
            select(Category.id, Category.name, Category.slug).order_by(Category.name)
        ).all()
    return [{"id": r.id, "name": r.name, "slug": r.slug} for r in rows]


def _categories_cache(state: ShopState):
    # Fresh for two refresh periods, so one failed refresh never leaves readers waiting.
    ttl = 2 * 60.0 * CATEGORIES_REFRESH_MINUTES
    return state.cache(
        "categories", ttl=ttl, stale_ttl=ttl, loader=partial(_load_categories, state)
    )


def _categories(state: ShopState) -> list[dict[str, Any]]:
    return _categories_cache(state).get_or_load("all")


def refresh_categories(state: ShopState) -> int:
    """Reload the categories into their cache (start-up and the scheduled job); how many."""
    categories = _load_categories(state)
    _categories_cache(state).set("all", categories)
    return len(categories)


def setup(app: Flask, state: ShopState) -> None:
    """Warm the categories and schedule their refresh (the scheduler is started by ``serve``)."""
    try:
        refresh_categories(state)
    except SQLAlchemyError as exc:  # the first request loads them; /readyz reports the database
        log.warning("categories not warmed at start: %s", exc)
    if state.scheduler is not None:
        state.scheduler.add_job(
            refresh_categories,
            "interval",
            minutes=CATEGORIES_REFRESH_MINUTES,
            args=[state],
            id="products.refresh_categories",
            replace_existing=True,
        )


# --- views -----------------------------------------------------------------------------------


@bp.get("/api/products")
def index():
    """A page of products: ``limit``, ``cursor``, ``sort``, ``status``, ``category``,
    ``min_price``, ``max_price`` (cents).

    :raise 400: naming the parameter that is malformed or out of range.
    """
    state = shop()
    items, next_cursor = list_products(state, parse_list_query(state))
    return jsonify(items=items, next_cursor=next_cursor)


@bp.get("/api/products/<int:product_id>")
def detail(product_id: int):
    """:raise 404: when there is no such product."""
    product = product_detail(shop(), product_id)
    if product is None:
        return jsonify(error=f"product {product_id} not found"), 404
    return jsonify(product)


@bp.get("/api/categories")
def categories():
    return jsonify(items=_categories(shop()))


@bp.get("/api/products/export")
def export():
    """Every product (all statuses) as NDJSON, in id order, streamed batch by batch.

    Each batch is its own short query and session, so a slow client never pins a connection
    or a transaction; rows inserted during the export may be included if their id is higher.
    """
    state = shop()

    def lines() -> Iterator[str]:
        last_id = 0
        while True:
            stmt = select(*_COLUMNS).where(Product.id > last_id).order_by(Product.id)
            with state.read_session() as session:
                batch = session.execute(stmt.limit(EXPORT_BATCH)).all()
            for row in batch:
                yield json.dumps(_summary(row), separators=(",", ":")) + "\n"
            if len(batch) < EXPORT_BATCH:
                return
            last_id = batch[-1].id

    return Response(
        stream_with_context(lines()),
        mimetype="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="products.ndjson"'},
    )
