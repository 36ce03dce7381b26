"""Between peewee rows and protobuf messages. No password hash crosses this line."""
from __future__ import annotations

import datetime

from google.protobuf import timestamp_pb2

from merch.store.v1 import order_pb2, product_pb2, user_pb2
from py_server.store.models import OrderStatus
from py_server.store.products import price_to_cents

_ORDER_STATUS = {
    OrderStatus.PLACED: order_pb2.ORDER_STATUS_PLACED,
    OrderStatus.CANCELLED: order_pb2.ORDER_STATUS_CANCELLED,
}


def timestamp(value: datetime.datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value.replace(tzinfo=datetime.timezone.utc) if value.tzinfo is None else value)
    return stamp


def product(row) -> product_pb2.Product:
    return product_pb2.Product(
        id=row.id, name=row.name, description=row.description, category=row.category,
        price_cents=price_to_cents(row.price), slogan=row.slogan, stock=row.stock,
    )


def user(row) -> user_pb2.User:
    return user_pb2.User(
        id=row.id, sid=row.sid, username=row.username, email=row.email, active=row.active,
        create_time=timestamp(row.create_time), update_time=timestamp(row.update_time),
        token_version=row.token_version,
    )


def order(row) -> order_pb2.Order:
    return order_pb2.Order(
        id=row.id, user_id=row.user_id, product_id=row.product_id, quantity=row.quantity,
        total_price_cents=price_to_cents(row.total_price), status=_ORDER_STATUS[row.status],
        create_time=timestamp(row.create_time), update_time=timestamp(row.update_time),
    )


def set_fields(message, names: tuple[str, ...]) -> dict:
    """The proto3 `optional` fields the caller set, as a dict."""
    return {name: getattr(message, name) for name in names if message.HasField(name)}
