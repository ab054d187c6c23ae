"""Orders, order history and the top-customers report, on SQLite and on PostgreSQL + Redis.

Most tests start from an empty shop (``make_app(None)``) and insert a small world whose every
number is known, so expectations are computed by hand rather than by the code under test.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from sqlalchemy import event, func, insert, select

from reference_backend.blueprints import reports
from reference_backend.models import Category, Customer, Inventory, Order, OrderItem, Product

NOW = dt.datetime.now(dt.UTC)
#: id: (price in cents, status, stock)
PRODUCTS = {1: (250, "active", 10), 2: (1000, "active", 3), 3: (500, "draft", 10),
            4: (99, "active", 5)}  # fmt: skip
CUSTOMERS = (1, 2, 3, 4)


def _state(app):
    return app.extensions["shop"]


def _empty_shop(make_app):
    """An app whose database holds exactly ``PRODUCTS`` and ``CUSTOMERS``, and no orders."""
    app = make_app(None)
    with _state(app).primary.begin() as conn:
        conn.execute(insert(Category), [{"id": 1, "name": "Misc", "slug": "misc"}])
        conn.execute(
            insert(Product),
            [
                {"id": pid, "sku": f"SKU-{pid}", "name": f"Product {pid}", "category_id": 1,
                 "price_cents": price, "status": status}
                for pid, (price, status, _) in PRODUCTS.items()
            ],
        )  # fmt: skip
        conn.execute(
            insert(Inventory),
            [{"product_id": pid, "quantity": stock} for pid, (_, _, stock) in PRODUCTS.items()],
        )
        conn.execute(
            insert(Customer),
            [{"id": c, "email": f"c{c}@example.com", "name": f"Customer {c}"} for c in CUSTOMERS],
        )
    return app


def _stock(app, product_id: int) -> int:
    with _state(app).primary.connect() as conn:
        return conn.scalar(select(Inventory.quantity).where(Inventory.product_id == product_id))


def _order_count(app) -> int:
    with _state(app).primary.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Order))


def _insert_orders(app, rows: list[tuple[int, str, int, float]], items_per_order: int = 1):
    """Orders ``(customer, status, total, days ago)``, each with items of products 1, 2, 4."""
    with _state(app).primary.begin() as conn:
        for customer, status, total, days_ago in rows:
            order_id = conn.scalar(
                insert(Order)
                .values(customer_id=customer, status=status, total_cents=total,
                        created_at=NOW - dt.timedelta(days=days_ago))
                .returning(Order.id)
            )  # fmt: skip
            conn.execute(
                insert(OrderItem),
                [
                    {"order_id": order_id, "product_id": pid, "quantity": 1,
                     "unit_price_cents": PRODUCTS[pid][0]}
                    for pid in (1, 2, 4)[:items_per_order]
                ],
            )  # fmt: skip


# --- POST /api/orders ------------------------------------------------------------------------

ITEM = {"product_id": 1, "quantity": 1}
MALFORMED = [
    ([], ["body"]),
    ({"items": [ITEM]}, ["customer_id"]),
    ({"customer_id": True, "items": [ITEM]}, ["customer_id"]),
    ({"customer_id": "1", "items": [ITEM]}, ["customer_id"]),
    ({"customer_id": 1, "items": [ITEM], "coupon": "x"}, ["body"]),
    ({"customer_id": 1, "items": []}, ["items"]),
    ({"customer_id": 1, "items": {"product_id": 1}}, ["items"]),
    ({"customer_id": 1, "items": [{"product_id": p, "quantity": 1} for p in range(1, 52)]},
     ["items"]),
    ({"customer_id": 1, "items": ["x"]}, ["items[0]"]),
    ({"customer_id": 1, "items": [{"product_id": 1, "quantity": 0}]}, ["items[0].quantity"]),
    ({"customer_id": 1, "items": [{"product_id": 1, "quantity": 101}]}, ["items[0].quantity"]),
    ({"customer_id": 1, "items": [{"product_id": 1, "quantity": 1.5}]}, ["items[0].quantity"]),
    ({"customer_id": 1, "items": [{"product_id": -1, "quantity": 1}]}, ["items[0].product_id"]),
    ({"customer_id": 1, "items": [ITEM, {"product_id": 2, "quantity": 1}, ITEM]},
     ["items[2].product_id"]),
    ({"customer_id": 0, "items": [{"product_id": 1}]}, ["customer_id", "items[0].quantity"]),
]  # fmt: skip


def test_malformed_orders_are_400s_naming_every_field(make_app):
    client = _empty_shop(make_app).test_client()
    for body, fields in MALFORMED:
        response = client.post("/api/orders", json=body)
        assert response.status_code == 400, body
        assert [e["field"] for e in response.json["errors"]] == fields, body
        assert all(field in response.json["error"] for field in fields)
    response = client.post("/api/orders", data="not json", content_type="text/plain")
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "body"
    assert _order_count(client.application) == 0


def test_unknown_or_unsellable_is_422_and_takes_nothing(make_app):
    app = _empty_shop(make_app)
    client = app.test_client()
    cases = [
        ({"customer_id": 99, "items": [ITEM]}, "customer_id", None),
        ({"customer_id": 1, "items": [ITEM, {"product_id": 77, "quantity": 1}]}, "items", [77]),
        ({"customer_id": 1, "items": [ITEM, {"product_id": 3, "quantity": 1}]}, "items", [3]),
    ]
    for body, field, product_ids in cases:
        response = client.post("/api/orders", json=body)
        assert response.status_code == 422, body
        assert response.json["field"] == field
        assert response.json.get("product_ids") == product_ids
    assert _stock(app, 1) == 10
    assert _order_count(app) == 0


def test_order_takes_stock_totals_is_fulfilled_and_refreshes_product(make_app):
    app = _empty_shop(make_app)
    client = app.test_client()
    assert client.get("/api/products/1").json["stock"] == 10  # now cached
    items = [{"product_id": 2, "quantity": 1}, {"product_id": 1, "quantity": 2}]
    response = client.post("/api/orders", json={"customer_id": 3, "items": items})
    assert response.status_code == 201
    order = response.json
    assert order["customer_id"] == 3
    assert order["status"] == "pending"
    assert order["total_cents"] == 2 * 250 + 1 * 1000
    assert order["items"] == [
        {"product_id": 1, "quantity": 2, "unit_price_cents": 250},
        {"product_id": 2, "quantity": 1, "unit_price_cents": 1000},
    ]
    assert (_stock(app, 1), _stock(app, 2)) == (8, 2)
    assert _state(app).cache("products").get("1") is None  # invalidated after the commit
    assert client.get("/api/products/1").json["stock"] == 8
    assert _state(app).jobs.flush(10.0)
    with _state(app).primary.connect() as conn:
        assert conn.scalar(select(Order.status).where(Order.id == order["id"])) == "fulfilled"
    history = client.get("/api/customers/3/orders").json["items"]
    assert [o["id"] for o in history] == [order["id"]]
    assert history[0]["status"] == "fulfilled"


def test_short_stock_is_409_naming_products_and_rolls_back_everything(make_app):
    app = _empty_shop(make_app)
    client = app.test_client()
    items = [{"product_id": 1, "quantity": 4}, {"product_id": 2, "quantity": 4},
             {"product_id": 4, "quantity": 6}]  # fmt: skip
    response = client.post("/api/orders", json={"customer_id": 1, "items": items})
    assert response.status_code == 409
    assert response.json["product_ids"] == [2, 4]
    # Product 1 was decremented before 2 and 4 fell short: the rollback restored it.
    assert [_stock(app, pid) for pid in (1, 2, 4)] == [10, 3, 5]
    assert _order_count(app) == 0


def test_concurrent_orders_never_oversell(make_app):
    """20 buyers at once for a product with 5 in stock: exactly 5 orders go through."""
    app = _empty_shop(make_app)
    buyers = 20
    start = threading.Barrier(buyers)

    def buy(index: int) -> int:
        client = app.test_client()
        items = [{"product_id": 1, "quantity": 1}, {"product_id": 4, "quantity": 1}]
        body = {"customer_id": CUSTOMERS[index % len(CUSTOMERS)], "items": items}
        start.wait(timeout=30)
        return client.post("/api/orders", json=body).status_code

    with ThreadPoolExecutor(buyers) as pool:
        statuses = Counter(pool.map(buy, range(buyers)))
    assert statuses == {201: 5, 409: 15}
    assert _stock(app, 4) == 0
    assert _stock(app, 1) == 10 - 5  # the rejected orders gave product 1 back
    with _state(app).primary.connect() as conn:
        sold = conn.scalar(select(func.sum(OrderItem.quantity)).where(OrderItem.product_id == 4))
    assert sold == 5
    assert _order_count(app) == 5
    assert _state(app).jobs.flush(10.0)


# --- GET /api/customers/<id>/orders ----------------------------------------------------------


def _count_statements(engine, call) -> int:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(seen)


def test_order_history_costs_the_same_queries_for_2_or_20_orders(make_app):
    app = _empty_shop(make_app)
    _insert_orders(app, [(1, "fulfilled", 1349, d) for d in range(2)], items_per_order=3)
    _insert_orders(app, [(2, "pending", 1349, d) for d in range(20)], items_per_order=3)
    client = app.test_client()
    counts = {}
    for customer, orders in ((1, 2), (2, 20)):

        def fetch(customer=customer, orders=orders) -> None:
            page = client.get(f"/api/customers/{customer}/orders?limit=20").json
            assert len(page["items"]) == orders
            assert all(len(o["items"]) == 3 for o in page["items"])
            assert page["items"][0]["items"][0]["product"]["name"] == "Product 1"

        counts[customer] = _count_statements(_state(app).replica, fetch)
    assert counts == {1: 3, 2: 3}  # orders, their items, their products


def test_order_history_pages_newest_first_without_gaps(make_app):
    app = _empty_shop(make_app)
    _insert_orders(app, [(2, "pending", 100 + d, d) for d in range(20)])
    _insert_orders(app, [(2, "pending", 999, 3.0)])  # same created_at as another: id breaks it
    client = app.test_client()
    seen, cursor = [], ""
    while True:
        page = client.get(f"/api/customers/2/orders?limit=7&cursor={cursor}").json
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    keys = [(o["created_at"], o["id"]) for o in seen]
    assert len(seen) == 21
    assert keys == sorted(keys, reverse=True)
    assert len(set(keys)) == 21


def test_order_history_errors(make_app):
    client = _empty_shop(make_app).test_client()
    assert client.get("/api/customers/99/orders").status_code == 404
    assert client.get("/api/customers/4/orders").json == {
        "customer_id": 4, "items": [], "next_cursor": None}  # fmt: skip
    bad = ["limit=0", "limit=101", "limit=x", "cursor=%25%25", "cursor=eyJ0IjoxfQ"]
    for query in bad:
        parameter = query.partition("=")[0]
        response = client.get(f"/api/customers/1/orders?{query}")
        assert response.status_code == 400, query
        assert response.json["parameter"] == parameter


# --- GET /api/reports/top-customers ----------------------------------------------------------


def _top(client, query: str) -> list[tuple[int, int, int]]:
    response = client.get(f"/api/reports/top-customers?{query}")
    assert response.status_code == 200
    return [(c["id"], c["spent_cents"], c["orders"]) for c in response.json["customers"]]


def test_top_customers_matches_a_hand_computed_report(make_app):
    app = _empty_shop(make_app)
    _insert_orders(app, [
        (1, "fulfilled", 1000, 5), (1, "fulfilled", 500, 10), (1, "pending", 99999, 1),
        (2, "fulfilled", 2000, 1), (2, "fulfilled", 5000, 40),
        (3, "fulfilled", 1500, 20),
        (4, "cancelled", 10000, 2),
    ])  # fmt: skip
    client = app.test_client()
    # Customers 1 and 3 tie at 1500: the lower id comes first.
    assert _top(client, "") == [(2, 2000, 1), (1, 1500, 2), (3, 1500, 1)]
    assert _top(client, "days=60") == [(2, 7000, 2), (1, 1500, 2), (3, 1500, 1)]
    assert _top(client, "days=30&limit=2") == [(2, 2000, 1), (1, 1500, 2)]
    assert _top(client, "days=3") == [(2, 2000, 1)]

    _insert_orders(app, [(3, "fulfilled", 3000, 1)])
    assert _top(client, "days=30&limit=10") == [(2, 2000, 1), (1, 1500, 2), (3, 1500, 1)]
    with app.app_context():
        reports.refresh_top_customers(_state(app))  # what the scheduled job does
    assert _top(client, "") == [(3, 4500, 2), (2, 2000, 1), (1, 1500, 2)]


def test_top_customers_rejects_bad_parameters(make_app):
    client = make_app(None).test_client()
    for query, parameter in (("days=0", "days"), ("days=366", "days"), ("days=-1", "days"),
                             ("limit=abc", "limit"), ("limit=101", "limit")):  # fmt: skip
        response = client.get(f"/api/reports/top-customers?{query}")
        assert response.status_code == 400, query
        assert response.json["parameter"] == parameter


def test_setup_schedules_the_refresh_without_starting_the_scheduler():
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler()
    reports.setup(None, SimpleNamespace(scheduler=scheduler))
    job = scheduler.get_job("reports.refresh_top_customers")
    assert job.trigger.interval == dt.timedelta(minutes=10)
    assert not scheduler.running
    reports.setup(None, SimpleNamespace(scheduler=None))  # tests have no scheduler: a no-op


def test_fulfil_order_is_idempotent(make_app):
    from reference_backend.blueprints.orders import fulfil_order

    app = _empty_shop(make_app)
    _insert_orders(app, [(1, "pending", 250, 0)])
    state = _state(app)
    assert fulfil_order(state, 1) is True
    assert fulfil_order(state, 1) is False  # a retry changes nothing
