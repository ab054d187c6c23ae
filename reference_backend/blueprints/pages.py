"""Small server-rendered pages (``/``, ``/product/<id>``, ``/checkout``), each with the RUM tag.

They exist so the platform sees real page loads: the RUM script reports Web Vitals per route
template (``/product/<int:id>``, never one label per product). The pages read the catalogue
through the products blueprint's functions, so they share its cache.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, render_template, request
from markupsafe import Markup

from reference_backend.blueprints.products import ListQuery, list_products, product_detail
from reference_backend.state import ShopState, shop
from sloscope import rum

__all__ = ["bp", "setup"]

bp = Blueprint("pages", __name__)

#: Static files are revalidated by ETag after this long (their names carry no version).
STATIC_MAX_AGE_S = 3600
HOME_PRODUCTS = 12


def setup(app: Flask, state: ShopState) -> None:
    """Give static files a Cache-Control max-age (send_file already sets their ETag)."""
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = STATIC_MAX_AGE_S


@bp.context_processor
def _rum_tag() -> dict[str, Markup]:
    """``rum``: the tag for this page, labelled with its route template, not its URL."""
    page = request.url_rule.rule if request.url_rule is not None else None
    settings = shop().settings
    key = settings.rum_app_key or None
    tag = rum.snippet(settings.collector_url, service="shop", page=page, app_key=key)
    return {"rum": Markup(tag)}  # snippet() escapes every attribute value itself


@bp.get("/")
def home():
    products, _ = list_products(shop(), ListQuery(limit=HOME_PRODUCTS))
    return render_template("pages/home.html", products=products)


@bp.get("/product/<int:product_id>")
def product(product_id: int):
    """:raise 404: when there is no such product."""
    found = product_detail(shop(), product_id)
    if found is None:
        abort(404)
    return render_template("pages/product.html", product=found)


@bp.get("/checkout")
def checkout():
    """A checkout form; with ``?product=<id>`` it shows that product as the cart."""
    product_id = request.args.get("product", "")
    item = product_detail(shop(), int(product_id)) if product_id.isdecimal() else None
    return render_template("pages/checkout.html", item=item)
