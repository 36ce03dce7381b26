"""Catalogue operations."""
from __future__ import annotations

import decimal

import peewee

from py_server.errors import AlreadyExists, FailedPrecondition, NotFound
from py_server.store import sql
from py_server.store.access import first, rows, write_transaction
from py_server.store.models import CENT, Order, Product
from py_server.validation import DEFAULT_PAGE_SIZE, Violations, page_token


def cents_to_price(cents: int) -> decimal.Decimal:
    return (decimal.Decimal(cents) * CENT).quantize(CENT)


def price_to_cents(price: decimal.Decimal) -> int:
    return int((decimal.Decimal(price) / CENT).to_integral_value())


def _to_columns(fields: dict) -> dict:
    columns = dict(fields)
    if "price_cents" in columns:
        columns["price"] = cents_to_price(columns.pop("price_cents"))
    return columns


def get_product(product_id: int) -> Product:
    product = first(Product, sql.PRODUCT_BY_ID, product_id)
    if product is None:
        raise NotFound(f"product {product_id} does not exist")
    return product


def list_products(size: int, token: str, category: str) -> tuple[list[Product], str]:
    v = Violations()
    limit = size or DEFAULT_PAGE_SIZE
    after = page_token(v, "page_token", token)
    v.raise_if_any()
    query = Product.select().order_by(Product.id).limit(limit + 1)
    if after is not None:
        query = query.where(Product.id > after)
    if category:
        query = query.where(Product.category == category)
    products = rows(Product, query)
    if len(products) > limit:
        return products[:limit], str(products[limit - 1].id)
    return products, ""


def _name_taken(name: str, other_than: int | None = None) -> AlreadyExists | None:
    query = Product.select().where(Product.name == name)
    if other_than is not None:
        query = query.where(Product.id != other_than)
    return AlreadyExists(f"a product named {name!r} already exists") if query.exists() else None


def create_product(fields: dict) -> Product:
    with write_transaction():
        if error := _name_taken(fields["name"]):
            raise error
        try:
            return Product.create(**_to_columns(fields))
        except peewee.IntegrityError:
            raise AlreadyExists(f"a product named {fields['name']!r} already exists") from None


def update_product(product_id: int, changes: dict) -> Product:
    with write_transaction():
        get_product(product_id)
        if "name" in changes and (error := _name_taken(changes["name"], other_than=product_id)):
            raise error
        if changes:
            try:
                Product.update(**_to_columns(changes)).where(Product.id == product_id).execute()
            except peewee.IntegrityError:
                raise AlreadyExists(f"a product named {changes['name']!r} already exists") from None
        return get_product(product_id)


def delete_product(product_id: int) -> Product:
    with write_transaction():
        product = get_product(product_id)
        if Order.select().where(Order.product == product_id).exists():
            raise FailedPrecondition(
                f"product {product_id} has orders and cannot be deleted; set its stock to 0 to stop sales"
            )
        Product.delete().where(Product.id == product_id).execute()
        return product
