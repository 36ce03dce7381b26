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
from typing import NamedTuple

import peewee

from py_server import request_context
from py_server.errors import DeadlineExceeded, FailedPrecondition, NotFound
from py_server.store import sql
from py_server.store.access import caller_refusal, first, is_postgres, locked, rows, write_transaction
from py_server.store.models import Order, OrderStatus, Product, User, database_proxy, utcnow
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


def place_order(user_id: int, product_id: int, quantity: int) -> Order | PlacedOrder:
    if is_postgres():
        return _place_order_in_one_statement(user_id, product_id, quantity)
    with write_transaction():
        user = User.get_or_none(User.id == user_id)
        _refuse_buyer(user_id, None if user is None else user.active)
        price = _move_stock(product_id, -quantity)
        return Order.create(user=user_id, product=product_id, quantity=quantity, total_price=price * quantity)


def _refuse_buyer(user_id: int, active: bool | None) -> None:
    if active is None:
        raise NotFound(f"user {user_id} does not exist")
    if not active:
        raise FailedPrecondition(f"user {user_id} is deactivated and cannot place orders")


_prepared_on: weakref.WeakSet = weakref.WeakSet()  # the connections (sessions) that have sql.PLACE_ORDER


def _place_order_in_one_statement(user_id: int, product_id: int, quantity: int) -> PlacedOrder:
    """place_order() on PostgreSQL: sql.PLACE_ORDER, one round trip (the same checks and outcomes)."""
    database = database_proxy.obj
    connection = database.connection()
    if connection not in _prepared_on:
        database.execute_sql(sql.PREPARE_PLACE_ORDER)
        _prepared_on.add(connection)
    now = utcnow()
    deadline = request_context.current_deadline.get()
    cutoff = datetime.datetime.max if deadline is None else now + datetime.timedelta(
        seconds=deadline - time.monotonic())
    caller = request_context.current_caller.get()
    try:
        (buyer_active, caller_active, caller_version, order_id, total_price, create_time, update_time,
         _) = database.execute_sql(sql.EXECUTE_PLACE_ORDER, (
             user_id, product_id, quantity, OrderStatus.PLACED, now, now, cutoff,
             None if caller is None else caller.user_id, None if caller is None else caller.token_version,
         )).fetchone()
    except peewee.OperationalError as error:
        if sql.DEADLINE_MESSAGE not in str(error):
            raise
        raise DeadlineExceeded("the caller's deadline passed before the order could be placed; "
                               "nothing was changed") from None
    if caller is not None and (refusal := caller_refusal(caller, (caller_active, caller_version))):
        raise refusal
    if order_id is None and cutoff <= utcnow():
        raise DeadlineExceeded("the caller's deadline passed before the order could be placed; nothing was changed")
    _refuse_buyer(user_id, buyer_active)
    if order_id is None:
        product = Product.get_or_none(Product.id == product_id)
        if product is None:
            raise NotFound(f"product {product_id} does not exist")
        raise FailedPrecondition(
            f"not enough stock of product {product_id}: {product.stock} left, {quantity} requested"
        )
    return PlacedOrder(order_id, user_id, product_id, quantity, total_price, OrderStatus.PLACED, create_time,
                       update_time)


class PlacedOrder(NamedTuple):
    """An order's row as the one-statement PlaceOrder returns it: the fields of an Order, without
    building a peewee model instance on the hot path."""

    id: int
    user_id: int
    product_id: int
    quantity: int
    total_price: decimal.Decimal  # psycopg2 returns NUMERIC as Decimal
    status: str
    create_time: datetime.datetime
    update_time: datetime.datetime


def get_order(order_id: int, user_id: int = 0) -> Order:
    order = first(Order, sql.ORDER_BY_ID, order_id)
    if order is None or (user_id and order.user_id != user_id):
        raise NotFound(f"order {order_id} does not exist")
    return order


def list_orders(user_id: int, size: int, token: str) -> tuple[list[Order], str]:
    v = Violations()
    limit = size or DEFAULT_PAGE_SIZE
    before = page_token(v, "page_token", token)
    v.raise_if_any()
    query = Order.select().where(Order.user == user_id).order_by(Order.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(Order.id < before)
    orders = rows(Order, query)
    if not orders:
        get_user(user_id)  # NOT_FOUND for an unknown user (one with orders exists: they reference it)
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
        return first(Order, sql.ORDER_BY_ID, order_id)


def cancel_order(order_id: int, user_id: int = 0) -> Order:
    with write_transaction():
        order = _locked_order(order_id, user_id)
        if order.status != OrderStatus.PLACED:
            raise FailedPrecondition(f"order {order_id} is already cancelled")
        Order.update(status=OrderStatus.CANCELLED, update_time=utcnow()).where(Order.id == order_id).execute()
        _move_stock(order.product_id, order.quantity)
        return first(Order, sql.ORDER_BY_ID, order_id)
