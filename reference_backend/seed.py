"""``python -m reference_backend seed``: a realistic catalogue and order history, fast.

Rows go in with Core ``executemany`` batches in one transaction per table, so 10,000 products
and their history take seconds, on SQLite and PostgreSQL alike. Deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, text

from reference_backend.models import Category, Customer, Inventory, Order, OrderItem, Product

__all__ = ["SeedPlan", "seed"]

_ADJECTIVES = (
    "classic compact deluxe eco ergonomic essential lightweight modern pro rugged smart vintage"
).split()
_NOUNS = (
    "backpack blender camera chair desk drone headphones jacket kettle lamp monitor mug router "
    "shoes speaker tent watch"
).split()
_CATEGORIES = (
    "Audio", "Bags", "Cameras", "Clothing", "Computers", "Furniture", "Garden", "Home",
    "Kitchen", "Lighting", "Networking", "Outdoor", "Shoes", "Sports", "Toys", "Travel",
)  # fmt: skip
_BATCH = 2_000


@dataclass(frozen=True)
class SeedPlan:
    products: int = 10_000
    customers: int = 2_000
    orders: int = 20_000
    seed: int = 42


def _batches(rows: list[dict], size: int = _BATCH):
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _insert(conn, model, rows: list[dict]) -> None:
    for batch in _batches(rows):
        conn.execute(insert(model), batch)


def seed(engine: Engine, plan: SeedPlan) -> dict[str, int]:
    """Replace the shop's data with a generated catalogue and history; returns row counts."""
    rng = random.Random(plan.seed)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    categories = [{"id": i + 1, "name": n, "slug": n.lower()} for i, n in enumerate(_CATEGORIES)]
    products, inventory = [], []
    for pid in range(1, plan.products + 1):
        price = max(99, int(rng.lognormvariate(8.0, 0.9)))  # mostly tens of dollars
        products.append(
            {
                "id": pid,
                "sku": f"SKU-{pid:07d}",
                "name": f"{rng.choice(_ADJECTIVES).title()} {rng.choice(_NOUNS)} {pid}",
                "description": "A dependable product for everyday use.",
                "category_id": rng.randint(1, len(categories)),
                "price_cents": price,
                "status": rng.choices(("active", "draft", "discontinued"), (90, 5, 5))[0],
                "created_at": now - dt.timedelta(minutes=rng.randint(0, 525_600)),
            }
        )
        inventory.append({"product_id": pid, "quantity": rng.randint(0, 500)})
    customers = [
        {
            "id": cid,
            "email": f"customer{cid}@example.com",
            "name": f"Customer {cid}",
            "created_at": now - dt.timedelta(days=rng.randint(0, 730)),
        }
        for cid in range(1, plan.customers + 1)
    ]
    orders, items = _history(rng, plan, products, now)
    with engine.begin() as conn:
        for model in (OrderItem, Order, Inventory, Product, Customer, Category):
            conn.execute(delete(model))
        for model, rows in (
            (Category, categories),
            (Product, products),
            (Inventory, inventory),
            (Customer, customers),
            (Order, orders),
            (OrderItem, items),
        ):
            _insert(conn, model, rows)
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn)
    return {"products": len(products), "customers": len(customers), "orders": len(orders),
            "order_items": len(items)}  # fmt: skip


def _reset_sequences(conn) -> None:
    """Rows went in with explicit ids: move each id sequence past them, or the next insert
    without an id would collide (SQLite needs nothing: it continues after the largest rowid)."""
    for model in (Category, Product, Customer, Order, OrderItem):
        table = model.__tablename__
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
        )


def _history(rng: random.Random, plan: SeedPlan, products: list[dict], now: dt.datetime):
    orders, items = [], []
    item_id = 0
    for oid in range(1, plan.orders + 1):
        total = 0
        for _ in range(rng.choices((1, 2, 3, 4, 5), (40, 30, 15, 10, 5))[0]):
            product = products[rng.randrange(len(products))]
            quantity = rng.randint(1, 3)
            item_id += 1
            items.append(
                {
                    "id": item_id,
                    "order_id": oid,
                    "product_id": product["id"],
                    "quantity": quantity,
                    "unit_price_cents": product["price_cents"],
                }
            )
            total += quantity * product["price_cents"]
        orders.append(
            {
                "id": oid,
                "customer_id": rng.randint(1, plan.customers),
                "status": rng.choices(("fulfilled", "pending", "cancelled"), (85, 10, 5))[0],
                "total_cents": total,
                "created_at": now - dt.timedelta(minutes=rng.randint(0, 525_600)),
            }
        )
    return orders, items
