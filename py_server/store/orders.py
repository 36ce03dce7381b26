"""Orders and the stock they reserve.

Every stock change happens in one transaction, as conditional updates
(`stock = stock - n WHERE stock >= n`), so that any number of DB-service
processes on one PostgreSQL never oversell. Locks are always taken in the
same order — the order row first, then products by ascending id — so
concurrent updates and cancellations cannot deadlock.
"""
from __future__ import annotations

import datetime
import decimal
import time
import weakref

import peewee

from py_server import request_context
from py_server.errors import DeadlineExceeded, FailedPrecondition, NotFound
from py_server.store.models import (Order, OrderStatus, Product, database_proxy, locked, utcnow,
                                    write_transaction)
from py_server.store.users import get_user
from py_server.validation import DEFAULT_PAGE_SIZE, Violations, page_token



def _move_stock(product_id: int, delta: int) -> decimal.Decimal:
    """Adds `delta` (negative to take) to a product's stock; returns its price.

    Raises NOT_FOUND for an unknown product, FAILED_PRECONDITION when the
    stock would go below zero; nothing changes then.
    """
    rows = list(
        Product.update(stock=Product.stock + delta)
        .where(Product.id == product_id, Product.stock + delta >= 0)
        .returning(Product.price)
        .tuples()
        .execute()
    )
    if rows:
        return Product.price.python_value(rows[0][0])
    product = Product.get_or_none(Product.id == product_id)
    if product is None:
        raise NotFound(f"product {product_id} does not exist")
    raise FailedPrecondition(
        f"not enough stock of product {product_id}: {product.stock} left, {-delta} requested"
    )


def _locked_order(order_id: int, user_id: int) -> Order:
    """Reads and row-locks an order; another user's order is reported as missing."""
    order = locked(Order.select().where(Order.id == order_id)).get_or_none()
    if order is None or (user_id and order.user_id != user_id):
        raise NotFound(f"order {order_id} does not exist")
    return order


def place_order(user_id: int, product_id: int, quantity: int) -> Order:
    if isinstance(database_proxy.obj, peewee.PostgresqlDatabase):
        return _place_order_in_one_statement(user_id, product_id, quantity)
    user = get_user(user_id)
    if not user.active:
        raise FailedPrecondition(f"user {user_id} is deactivated and cannot place orders")
    with write_transaction():
        price = _move_stock(product_id, -quantity)
        return Order.create(user=user_id, product=product_id, quantity=quantity, total_price=price * quantity)


# PlaceOrder on PostgreSQL: the user check, the conditional stock update and the insert as one
# prepared statement, so one round trip and one implicit transaction. The product's row lock is
# held for this statement and its commit only, never across round trips to this process (a hot
# product serialises every order on that lock). Same checks, in the same order, with the same
# outcome as the steps below it in place_order(); stock still only moves by
# `stock = stock - n WHERE stock >= n`. The statement commits by itself (autocommit), so it checks the
# caller's deadline ($7, in UTC) itself, as write_transaction() would before a commit: before taking
# the stock, and again once the order is inserted (the row lock may have been waited for), where
# merch_deadline_exceeded() aborts the whole statement. That keeps the order at one round trip.
_PREPARE_PLACE_ORDER = """
PREPARE merch_place_order (integer, integer, integer, text, timestamp, timestamp, timestamp) AS
WITH buyer AS (
    SELECT active FROM users WHERE id = $1
), taken AS (
    UPDATE products SET stock = stock - $3
    WHERE id = $2 AND stock - $3 >= 0 AND (SELECT active FROM buyer)
      AND (clock_timestamp() AT TIME ZONE 'UTC') < $7
    RETURNING price
), placed AS (
    INSERT INTO orders (user_id, product_id, quantity, total_price, status, create_time, update_time)
    SELECT $1, $2, $3, price * $3, $4, $5, $6 FROM taken
    RETURNING id, total_price, create_time, update_time
)
SELECT (SELECT active FROM buyer), placed.id, placed.total_price, placed.create_time, placed.update_time,
       CASE WHEN placed.id IS NOT NULL AND (clock_timestamp() AT TIME ZONE 'UTC') >= $7
            THEN merch_deadline_exceeded() END
FROM (VALUES (1)) AS one LEFT JOIN placed ON true
"""
# Raised by the statement above when the deadline passed while it waited for the product's row lock:
# the whole statement, stock update and insert included, is then rolled back.
DEADLINE_FUNCTION = """
CREATE OR REPLACE FUNCTION merch_deadline_exceeded() RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'query_canceled', MESSAGE = 'merch: the caller''s deadline passed';
END
$$
"""
_EXECUTE_PLACE_ORDER = "EXECUTE merch_place_order (%s, %s, %s, %s, %s, %s, %s)"
_prepared_on: weakref.WeakSet = weakref.WeakSet()  # the connections (sessions) that have it


def _place_order_in_one_statement(user_id: int, product_id: int, quantity: int) -> Order:
    database = database_proxy.obj
    connection = database.connection()
    if connection not in _prepared_on:
        database.execute_sql(_PREPARE_PLACE_ORDER)
        _prepared_on.add(connection)
    now = utcnow()
    deadline = request_context.current_deadline.get()
    cutoff = datetime.datetime.max if deadline is None else now + datetime.timedelta(
        seconds=deadline - time.monotonic())
    try:
        active, order_id, total_price, create_time, update_time, _ = database.execute_sql(
            _EXECUTE_PLACE_ORDER, (user_id, product_id, quantity, OrderStatus.PLACED, now, now, cutoff)
        ).fetchone()
    except peewee.OperationalError as error:
        if "merch: the caller's deadline passed" not in str(error):
            raise
        raise DeadlineExceeded("the caller's deadline passed before the order could be placed; "
                               "nothing was changed") from None
    if order_id is None and cutoff <= utcnow():
        raise DeadlineExceeded("the caller's deadline passed before the order could be placed; nothing was changed")
    if active is None:
        raise NotFound(f"user {user_id} does not exist")
    if not active:
        raise FailedPrecondition(f"user {user_id} is deactivated and cannot place orders")
    if order_id is None:
        product = Product.get_or_none(Product.id == product_id)
        if product is None:
            raise NotFound(f"product {product_id} does not exist")
        raise FailedPrecondition(
            f"not enough stock of product {product_id}: {product.stock} left, {quantity} requested"
        )
    return Order(id=order_id, user=user_id, product=product_id, quantity=quantity,
                 total_price=Order.total_price.python_value(total_price), status=OrderStatus.PLACED,
                 create_time=create_time, update_time=update_time)


def get_order(order_id: int, user_id: int = 0) -> Order:
    order = Order.get_or_none(Order.id == order_id)
    if order is None or (user_id and order.user_id != user_id):
        raise NotFound(f"order {order_id} does not exist")
    return order


def list_orders(user_id: int, size: int, token: str) -> tuple[list[Order], str]:
    v = Violations()
    limit = size or DEFAULT_PAGE_SIZE
    before = page_token(v, "page_token", token)
    v.raise_if_any()
    get_user(user_id)
    query = Order.select().where(Order.user == user_id).order_by(Order.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(Order.id < before)
    orders = list(query)
    if len(orders) > limit:
        return orders[:limit], str(orders[limit - 1].id)
    return orders, ""


def update_order(order_id: int, user_id: int, quantity: int | None, product_id: int | None) -> Order:
    with write_transaction():
        order = _locked_order(order_id, user_id)
        if order.status != OrderStatus.PLACED:
            raise FailedPrecondition(f"order {order_id} is cancelled and cannot be changed")
        new_quantity = order.quantity if quantity is None else quantity
        new_product = order.product_id if product_id is None else product_id
        deltas = {order.product_id: order.quantity}
        deltas[new_product] = deltas.get(new_product, 0) - new_quantity
        price = None
        for pid in sorted(deltas):
            moved_price = _move_stock(pid, deltas[pid])
            if pid == new_product:
                price = moved_price
        Order.update(
            quantity=new_quantity, product=new_product, total_price=price * new_quantity, update_time=utcnow()
        ).where(Order.id == order_id).execute()
    return Order.get_by_id(order_id)


def cancel_order(order_id: int, user_id: int = 0) -> Order:
    with write_transaction():
        order = _locked_order(order_id, user_id)
        if order.status != OrderStatus.PLACED:
            raise FailedPrecondition(f"order {order_id} is already cancelled")
        Order.update(status=OrderStatus.CANCELLED, update_time=utcnow()).where(Order.id == order_id).execute()
        _move_stock(order.product_id, order.quantity)
    return Order.get_by_id(order_id)
