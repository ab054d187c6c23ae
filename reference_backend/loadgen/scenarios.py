"""Locust user classes: the four kinds of shopper the reference shop sees.

======== ====== ========================================================================
scenario weight what one user does, one request per task
======== ====== ========================================================================
browse   60     pages through ``/api/products``, opens products it saw, categories
order    10     ``POST /api/orders`` for 1-3 products (409 / 422 rejections are normal)
account  20     its own order history, sometimes the top-customers report
pages    10     the HTML home page and product pages
======== ====== ========================================================================

One request per task on purpose: an arrival-rate profile then paces *requests*, and a stats
row is a route template (``GET /api/products/<id>``), never one URL per id.

Importing this module imports Locust, which monkey-patches the process with gevent. Only the
runner imports it, inside a run, never at import time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import gevent
from locust import HttpUser, task

if TYPE_CHECKING:
    from reference_backend.loadgen.runner import Pacer

__all__ = ["SCENARIO_CLASSES", "paced_wait", "user_classes"]

# Connect fast or fail; a read may be slow (that is what we measure) but never endless.
REQUEST_TIMEOUT_S = (3.05, 10.0)
PRODUCT_IDS = (1, 10_000)
CUSTOMER_IDS = (1, 2_000)
PAGE_SIZE = 20
# The products blueprint's sort names; None leaves the API's default ("created").
SORTS = (None, None, "created", "price_asc", "price_desc", "name")
#: Answers that are the shop being right about random input, not failing: out of stock (409),
#: an unknown or withdrawn product (422).
ORDER_OK = (201, 409, 422)
PACER_POLL_S = 0.2


class ShopUser(HttpUser):
    """Shared plumbing: think time or pacer, loopback-only HTTP, and route-template names."""

    abstract = True
    think_time_s: tuple[float, float] = (1.0, 3.0)
    #: Set (as a staticmethod) for arrival-rate profiles: returns the delay to the next slot.
    pacer_wait: Callable[[], float] | None = None

    def on_start(self) -> None:
        """Harden the session, and pace the first request too, so spawning is not a burst."""
        # HTTP(S)_PROXY from the environment would route "loopback" traffic somewhere else.
        self.client.trust_env = False
        if self.pacer_wait is not None:
            self.wait()

    def wait_time(self) -> float:
        """Think time in a closed model; the shared pacer's slot in an open one."""
        if self.pacer_wait is not None:
            return self.pacer_wait()
        return random.uniform(*self.think_time_s)

    def get(self, path: str, name: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET without following redirects: a redirect could point off loopback."""
        return self.client.get(
            path, name=name, params=params, allow_redirects=False, timeout=REQUEST_TIMEOUT_S
        )


def _json(response: Any) -> Any:
    """The body as JSON, or None: a shape we don't understand must not crash the user."""
    # Not ``response.ok``: on a connection error Locust's response re-raises the error there.
    if not 200 <= (response.status_code or 0) < 300:
        return None
    try:
        return response.json()
    except ValueError:
        return None


class BrowseUser(ShopUser):
    """Lists products (following the cursor now and then), opens ones it has seen."""

    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self.seen_ids: list[int] = []
        self.cursor: tuple[str | None, str] | None = None  # (sort, next_cursor): a pair

    @task(3)
    def list_products(self) -> None:
        params: dict[str, Any] = {"limit": PAGE_SIZE, "sort": random.choice(SORTS)}
        if self.cursor and random.random() < 0.5:
            # A cursor is only valid with the sort that made it: the API answers 400 otherwise.
            params["sort"], params["cursor"] = self.cursor
        body = _json(self.get("/api/products", "GET /api/products", params))
        items = body.get("items", body.get("products")) if isinstance(body, dict) else body
        if isinstance(items, list):
            ids = [i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), int)]
            self.seen_ids = ids[:PAGE_SIZE] or self.seen_ids
        cursor = body.get("next_cursor") if isinstance(body, dict) else None
        self.cursor = (params["sort"], cursor) if isinstance(cursor, str) else None

    @task(5)
    def product_detail(self) -> None:
        product_id = random.choice(self.seen_ids) if self.seen_ids else _product_id()
        self.get(f"/api/products/{product_id}", "GET /api/products/<id>")

    @task(1)
    def categories(self) -> None:
        self.get("/api/categories", "GET /api/categories")


class OrderUser(ShopUser):
    """Places orders for random products; 409 and 422 are the shop being right, not failing."""

    abstract = True

    @task
    def place_order(self) -> None:
        products = random.sample(range(PRODUCT_IDS[0], PRODUCT_IDS[1] + 1), random.randint(1, 3))
        payload = {
            "customer_id": random.randint(*CUSTOMER_IDS),
            "items": [{"product_id": p, "quantity": random.randint(1, 3)} for p in products],
        }
        with self.client.post(
            "/api/orders",
            json=payload,
            name="POST /api/orders",
            catch_response=True,
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT_S,
        ) as response:
            if response.status_code in ORDER_OK:
                response.success()


class AccountUser(ShopUser):
    """One signed-in customer checking their orders; managers peek at the report."""

    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self.customer_id = random.randint(*CUSTOMER_IDS)

    @task(4)
    def my_orders(self) -> None:
        self.get(f"/api/customers/{self.customer_id}/orders", "GET /api/customers/<id>/orders")

    @task(1)
    def top_customers(self) -> None:
        self.get("/api/reports/top-customers", "GET /api/reports/top-customers")


class PagesUser(ShopUser):
    """A browser on the server-rendered pages (what RUM beacons come from)."""

    abstract = True

    @task(1)
    def home(self) -> None:
        self.get("/", "GET /")

    @task(3)
    def product_page(self) -> None:
        self.get(f"/product/{_product_id()}", "GET /product/<id>")


#: Share of product views that go to the most popular products (the first _HOT_SHARE of
#: ids): shop traffic is skewed, and uniform picks over 10,000 products would make every
#: cache look broken (a hit ratio near the 1-in-N chance of a repeat).
_HOT_VIEWS = 0.9
_HOT_SHARE = 0.01


def _product_id() -> int:
    first, last = PRODUCT_IDS
    if random.random() < _HOT_VIEWS:
        last = first + max(1, int((last - first + 1) * _HOT_SHARE)) - 1
    return random.randint(first, last)


SCENARIO_CLASSES: Mapping[str, type[ShopUser]] = {
    "browse": BrowseUser,
    "order": OrderUser,
    "account": AccountUser,
    "pages": PagesUser,
}


def paced_wait(pacer: Pacer, clock: Callable[[], float]) -> Callable[[], float]:
    """A ``wait_time`` that blocks until the pacer grants a slot near enough to commit to.

    ``clock`` returns seconds since the shape started, the time base of the profile's stages.
    """

    def wait() -> float:
        while True:
            delay = pacer.reserve(clock())
            if delay is not None:
                return delay
            gevent.sleep(PACER_POLL_S * random.uniform(0.5, 1.5))  # jitter: no thundering herd

    return wait


def user_classes(
    host: str,
    weights: Mapping[str, int],
    think_time_s: tuple[float, float],
    pacer_wait: Callable[[], float] | None = None,
) -> list[type[ShopUser]]:
    """Concrete user classes for one run, so weights and pacing never leak between runs."""
    classes: list[type[ShopUser]] = []
    for name, base in SCENARIO_CLASSES.items():
        weight = weights.get(name, 0)
        if weight <= 0:
            continue
        attrs: dict[str, Any] = {
            "abstract": False,
            "host": host,
            "weight": weight,
            "think_time_s": tuple(think_time_s),
            "__module__": __name__,
        }
        if pacer_wait is not None:
            attrs["pacer_wait"] = staticmethod(pacer_wait)
        classes.append(type(base.__name__, (base,), attrs))
    return classes
