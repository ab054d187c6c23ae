"""The catalogue API and the pages, on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import gzip
import json

import pytest
from sqlalchemy import event, func, select, update

from reference_backend import create_app
from reference_backend.blueprints import products
from reference_backend.models import Category, Inventory, Product
from reference_backend.seed import SeedPlan, seed

SORT_KEYS = {  # sort -> (field, descending)
    "created": ("created_at", True),
    "price_asc": ("price_cents", False),
    "price_desc": ("price_cents", True),
}


@pytest.fixture
def app(make_app):
    app = make_app()
    # The fixture seeds after create_app warmed an empty catalogue: refresh as the job would.
    products.refresh_categories(app.extensions["shop"])
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def _state(app):
    return app.extensions["shop"]


def _walk(client, between=None, **params) -> list[dict]:
    """Every item of every page, following next_cursor; ``between(page)`` runs between pages."""
    items, cursor, pages = [], None, 0
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = client.get("/api/products", query_string=query)
        assert response.status_code == 200, response.json
        items += response.json["items"]
        cursor, pages = response.json["next_cursor"], pages + 1
        if cursor is None:
            return items
        if between is not None:
            between(pages)


def _ids(session, *where) -> set[int]:
    return set(session.scalars(select(Product.id).where(*where)))


_added = iter(range(10**6))


def _insert(app, count: int, **columns) -> list[int]:
    """Insert products past the highest id (explicit ids: the seed sets them explicitly too)."""
    with _state(app).write_session() as session, session.begin():
        top = session.scalar(select(func.max(Product.id))) or 0
        rows = [
            Product(
                id=top + i + 1,
                sku=f"NEW-{next(_added):07d}",
                name=columns.get("name", f"Added {top + i}"),
                category_id=columns.get("category_id", 1),
                price_cents=columns.get("price_cents", 100 + 37 * (top + i) % 90_000),
                status="active",
                created_at=columns.get("created_at", dt.datetime.now(dt.UTC)),
            )
            for i in range(count)
        ]
        session.add_all(rows)
    return [row.id for row in rows]


# --- listing ------------------------------------------------------------------------------


def test_first_page_has_default_limit_and_a_cursor(client):
    body = client.get("/api/products").json
    assert len(body["items"]) == products.PAGE_DEFAULT
    assert isinstance(body["next_cursor"], str)
    assert {item["status"] for item in body["items"]} == {"active"}
    assert set(body["items"][0]) >= {"id", "sku", "name", "price_cents", "created_at"}


@pytest.mark.parametrize("sort", [*SORT_KEYS, "name"])
def test_walking_all_pages_returns_every_product_once_in_order(app, client, sort):
    items = _walk(client, sort=sort, limit=17)
    ids = [item["id"] for item in items]
    order = products.SORTS[sort]
    direction = (order.column.desc(), Product.id.desc()) if order.descending else (
        order.column.asc(), Product.id.asc())  # fmt: skip
    with _state(app).read_session() as session:
        assert set(ids) == _ids(session, Product.status == "active")
        # The database's own order is the oracle for names (its collation, not Python's).
        expected = session.scalars(
            select(Product.id).where(Product.status == "active").order_by(*direction)
        ).all()
    assert len(ids) == len(set(ids))
    assert ids == expected
    if sort in SORT_KEYS:
        field, descending = SORT_KEYS[sort]
        key = (
            (lambda i: dt.datetime.fromisoformat(i[field]))
            if field == "created_at"
            else (lambda i: i[field])
        )
        assert items == sorted(items, key=lambda i: (key(i), i["id"]), reverse=descending)


@pytest.mark.parametrize("sort", [*SORT_KEYS, "name"])
def test_pagination_is_stable_under_concurrent_inserts(app, client, sort):
    with _state(app).read_session() as session:
        before = _ids(session, Product.status == "active")
    old = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)

    def insert(page: int) -> None:
        # New rows land before, inside and after the walked range of every sort order.
        _insert(app, 2, name=f"Aaa {page}", price_cents=1, created_at=old)
        _insert(app, 2, name=f"Zzz {page}", price_cents=2_000_000)
        _insert(app, 1, name=f"Mmm {page}", price_cents=3000 + page)

    ids = [item["id"] for item in _walk(client, between=insert, sort=sort, limit=11)]
    assert len(ids) == len(set(ids)), "a product was returned twice"
    assert before <= set(ids), "a product that existed at the start was skipped"


@pytest.mark.parametrize("sort", [*SORT_KEYS, "name"])
def test_equal_sort_keys_are_broken_by_id(app, client, sort):
    same = dt.datetime(2026, 2, 2, tzinfo=dt.UTC)
    tied = _insert(app, 13, name="Tie", price_cents=424_242, created_at=same)
    items = _walk(client, sort=sort, limit=4, min_price=424_242, max_price=424_242)
    expected = sorted(tied, reverse=products.SORTS[sort].descending)
    assert [item["id"] for item in items] == expected


def test_filters(app, client):
    with _state(app).read_session() as session:
        garden = session.scalar(select(Category).where(Category.slug == "garden"))
        in_garden = _ids(session, Product.category_id == garden.id, Product.status == "active")
        drafts = _ids(session, Product.status == "draft")
        priced = _ids(session, Product.status == "active", Product.price_cents.between(2000, 5000))
    by_slug = {i["id"] for i in _walk(client, category="garden", limit=100)}
    by_id = {i["id"] for i in _walk(client, category=str(garden.id), limit=100)}
    assert by_slug == by_id == in_garden and in_garden
    assert {i["id"] for i in _walk(client, status="draft")} == drafts and drafts
    in_range = _walk(client, min_price=2000, max_price=5000, sort="price_asc")
    assert {i["id"] for i in in_range} == priced and priced
    assert all(2000 <= i["price_cents"] <= 5000 for i in in_range)
    both = _walk(client, category="garden", min_price=2000, max_price=5000)
    assert {i["id"] for i in both} == in_garden & priced


def _cursor(payload) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=%205", "limit"),
        ("sort=random", "sort"),
        ("status=deleted", "status"),
        ("min_price=-1", "min_price"),
        ("max_price=1.5", "max_price"),
        ("max_price=99999999999", "max_price"),
        ("min_price=500&max_price=100", "min_price"),
        ("category=no-such-thing", "category"),
        ("category=99999", "category"),
        ("offset=40", "offset"),
        ("cursor=not%20base64!", "cursor"),
        ("cursor=" + _cursor(b"\xff\xfe not json"), "cursor"),
        ("cursor=" + _cursor([1, 2]), "cursor"),
        ("cursor=" + _cursor({"s": "created", "k": "yesterday", "i": 3}), "cursor"),
        ("cursor=" + _cursor({"s": "price_asc", "k": True, "i": 3}), "cursor"),
        ("cursor=" + _cursor({"s": "price_asc", "k": 10, "i": 2**64}), "cursor"),
        ("cursor=" + _cursor({"s": "name", "k": "A", "i": 3, "x": 1}), "cursor"),
        ("sort=name&cursor=" + _cursor({"s": "price_asc", "k": 10, "i": 3}), "cursor"),
        ("cursor=" + "A" * 600, "cursor"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client, query, parameter):
    response = client.get(f"/api/products?{query}")
    assert response.status_code == 400
    assert response.json["parameter"] == parameter
    assert response.json["error"].startswith(f"{parameter}: ")


def test_a_tampered_cursor_is_rejected(client):
    cursor = client.get("/api/products?sort=price_asc").json["next_cursor"]
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert client.get(f"/api/products?sort=price_asc&cursor={_cursor(data)}").status_code == 200
    for bad in (cursor[:-3], cursor[:10] + "~" + cursor[11:], _cursor({**data, "i": "7"})):
        response = client.get("/api/products", query_string={"sort": "price_asc", "cursor": bad})
        assert response.status_code == 400
        assert "cursor" in response.json["error"]


# --- detail and caches --------------------------------------------------------------------


def test_product_detail_includes_category_and_stock(app, client):
    body = client.get("/api/products/7").json
    with _state(app).read_session() as session:
        product = session.get(Product, 7)
        stock = session.get(Inventory, 7).quantity
        category = session.get(Category, product.category_id)
    assert body["id"] == 7 and body["name"] == product.name
    assert body["category"] == {"id": category.id, "name": category.name, "slug": category.slug}
    assert body["stock"] == stock


@pytest.mark.parametrize("path", ["/api/products/999999", f"/api/products/{2**70}"])
def test_missing_product_is_404_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "not found" in response.json["error"]


def _requests(sdk, cache: str, level: str, result: str) -> float:
    labels = {"cache": cache, "level": level, "result": result}
    return sdk.registry.get_sample_value("cache_requests_total", labels) or 0.0


def test_product_detail_cache_levels(make_app, backend, sdk):
    first = make_app().test_client()
    assert first.get("/api/products/5").status_code == 200  # L1 miss, L2 miss, load
    assert first.get("/api/products/5").json["id"] == 5  # L1 hit
    # A second process: its own L1, the same Redis.
    assert make_app(None).test_client().get("/api/products/5").json["id"] == 5
    has_l2 = backend == "postgresql"
    assert _requests(sdk, "products", "l1", "miss") == 2
    assert _requests(sdk, "products", "l1", "hit") == 1
    assert _requests(sdk, "products", "l2", "miss") == (1 if has_l2 else 0)
    assert _requests(sdk, "products", "l2", "hit") == (1 if has_l2 else 0)
    assert _requests(sdk, "products", "loader", "hit") == (1 if has_l2 else 2)


def test_stale_product_is_served_while_it_reloads(app, client, sdk):
    now = [1_000_000.0]
    state = _state(app)
    cache = state.cache("products", ttl=60, stale_ttl=30, clock=lambda: now[0])
    before = client.get("/api/products/9").json["price_cents"]
    with state.write_session() as session, session.begin():
        session.execute(update(Product).where(Product.id == 9).values(price_cents=before + 1))
    now[0] += 75  # past ttl, within stale_ttl
    assert client.get("/api/products/9").json["price_cents"] == before  # stale, no wait
    assert cache.flush(5.0)
    assert client.get("/api/products/9").json["price_cents"] == before + 1
    assert (
        sdk.registry.get_sample_value(
            "cache_refreshes_total", {"cache": "products", "result": "ok"}
        )
        == 1
    )


def test_categories_are_served_from_their_cache(app, client):
    body = client.get("/api/categories").json
    names = [c["name"] for c in body["items"]]
    assert len(names) == 16 and names == sorted(names)
    with _state(app).write_session() as session, session.begin():
        session.add(Category(id=100, name="Zines", slug="zines"))
    assert len(client.get("/api/categories").json["items"]) == 16  # cached
    assert products.refresh_categories(_state(app)) == 17
    assert client.get("/api/categories").json["items"][-1]["slug"] == "zines"
    # The filter resolves a category newer than the cached list through the database.
    assert client.get("/api/products?category=zines").json == {"items": [], "next_cursor": None}


def test_categories_are_warm_at_start(make_app, sdk):
    make_app()  # seeded
    client = make_app(None).test_client()  # starts on the seeded database
    assert len(client.get("/api/categories").json["items"]) == 16
    assert _requests(sdk, "categories", "l1", "hit") == 1
    assert _requests(sdk, "categories", "loader", "hit") == 0


def test_setup_schedules_the_categories_refresh(app):
    from apscheduler.schedulers.background import BackgroundScheduler

    state = _state(app)
    state.scheduler = BackgroundScheduler()  # never started: setup only adds the job
    products.setup(app, state)
    (job,) = state.scheduler.get_jobs()
    assert job.trigger.interval == dt.timedelta(minutes=5)
    assert not state.scheduler.running
    assert job.func(*job.args) == 16


def test_reads_go_to_the_replica(sdk, settings):
    replicated = dataclasses.replace(settings, read_database_url=settings.database_url)
    app = create_app(replicated)
    state = _state(app)
    try:
        seed(state.primary, SeedPlan(products=50, customers=5, orders=10))
        seen: dict[str, list] = {"primary": [], "replica": []}
        for name, engine in (("primary", state.primary), ("replica", state.replica)):
            event.listen(engine, "before_cursor_execute", lambda *a, n=name: seen[n].append(a))
        client = app.test_client()
        for path in ("/api/products?category=audio", "/api/products/3", "/api/categories"):
            assert client.get(path).status_code == 200
        with client.get("/api/products/export") as response:
            assert response.get_data()
        assert len(seen["replica"]) >= 4 and seen["primary"] == []
    finally:
        for cache in state.caches.values():
            cache.close(5.0)
        state.jobs.shutdown(5.0)
        if state.redis is not None:
            state.redis.close()
        state.primary.dispose()
        state.replica.dispose()


# --- export, compression, pages -----------------------------------------------------------


def test_export_streams_every_product_in_batches(app, client, monkeypatch):
    monkeypatch.setattr(products, "EXPORT_BATCH", 7)
    queries = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "FROM products" in statement:
            queries.append(statement)

    event.listen(_state(app).replica, "before_cursor_execute", count)
    with client.get("/api/products/export") as response:
        assert response.status_code == 200 and response.is_streamed
        assert response.mimetype == "application/x-ndjson"
        chunks = iter(response.response)
        first = next(chunks)
        assert len(queries) == 1, "the first line came before the second batch was read"
        lines = [first, *chunks]
    batches = len(queries)
    rows = [json.loads(line) for line in lines]
    with _state(app).read_session() as session:
        every = sorted(_ids(session))
    assert len(every) == 200  # all statuses
    assert [r["id"] for r in rows] == every
    assert batches == len(every) // 7 + 1


def test_large_responses_are_gzipped(client):
    response = client.get("/api/products?limit=100", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert len(json.loads(gzip.decompress(response.data))["items"]) == 100
    small = client.get("/api/products?limit=1", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers  # under 1 KB: not worth it
    assert "Content-Encoding" not in client.get("/api/products?limit=100").headers


@pytest.mark.parametrize(
    ("path", "template", "text"),
    [
        ("/", "/", "New arrivals"),
        ("/product/5", "/product/&lt;int:product_id&gt;", "Buy now"),
        ("/checkout", "/checkout", "Your cart is empty"),
        ("/checkout?product=5", "/checkout", "Place order"),
    ],
)
def test_pages_include_the_rum_tag(client, path, template, text):
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<script src="http://127.0.0.1:9900/rum/v1/sloscope-rum.js" defer' in page
    assert f'data-service="shop" data-page="{template}"' in page
    assert text in page


def test_missing_product_page_is_404(client):
    assert client.get("/product/999999").status_code == 404


def test_static_files_have_etag_and_max_age(client):
    with client.get("/static/shop.css") as response:
        assert response.status_code == 200
        etag = response.headers["ETag"]
        assert response.cache_control.max_age == 3600
    with client.get("/static/shop.css", headers={"If-None-Match": etag}) as response:
        assert response.status_code == 304


def test_pages_carry_the_rum_app_key_from_the_environment(make_app):
    from reference_backend.settings import Settings

    assert Settings.from_environ({"SHOP_RUM_APP_KEY": "pk_shop_1"}).rum_app_key == "pk_shop_1"
    app = make_app()
    state = app.extensions["shop"]
    state.settings = dataclasses.replace(state.settings, rum_app_key="pk_shop_1")
    page = app.test_client().get("/").get_data(as_text=True)
    assert 'data-app-key="pk_shop_1"' in page
    assert 'data-beacon-url="http://127.0.0.1:9900/rum/v1/beacons"' in page
