"""The shop's tables (SQLAlchemy 2), with the indexes its queries need.

Indexes, by the query they serve:
- product listing: ``(category_id, status, id)`` and ``(status, price, id)`` for the keyset
  pagination orders; a partial index on active products only where the database supports it;
- order history: ``(customer_id, created_at, id)`` covering ``status`` and ``total_cents`` on
  PostgreSQL (INCLUDE), so the page of orders is read from the index alone;
- order items by order: ``(order_id)``; top customers: orders by ``created_at``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["Base", "Category", "Customer", "Inventory", "Order", "OrderItem", "Product"]

BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite rowids must be INTEGER


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class Category(Base):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    price_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    category: Mapped[Category] = relationship(lazy="raise")
    inventory: Mapped[Inventory] = relationship(back_populates="product", lazy="raise")

    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        Index("products_by_category", "category_id", "status", "id"),
        Index("products_by_price", "status", "price_cents", "id"),
        Index(
            "products_active_by_created",
            "created_at",
            "id",
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )


class Inventory(Base):
    __tablename__ = "inventory"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    product: Mapped[Product] = relationship(back_populates="inventory", lazy="raise")

    __table_args__ = (CheckConstraint("quantity >= 0", name="stock_not_negative"),)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    total_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    items: Mapped[list[OrderItem]] = relationship(back_populates="order", lazy="raise")

    __table_args__ = (
        Index(
            "orders_by_customer",
            "customer_id",
            "created_at",
            "id",
            postgresql_include=["status", "total_cents"],
        ),
        Index("orders_by_created", "created_at"),
    )


class OrderItem(Base):
    __tablename__ = "order_items"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    order: Mapped[Order] = relationship(back_populates="items", lazy="raise")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("order_items_by_order", "order_id"),
    )
