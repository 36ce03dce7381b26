"""Protobuf messages as the REST API's JSON objects (the seed's keys; money as exact two-decimal numbers)."""
from __future__ import annotations

from merch.store.v1 import order_pb2

from api_rest.money import Money

ORDER_STATUS = {
    order_pb2.ORDER_STATUS_PLACED: "placed",
    order_pb2.ORDER_STATUS_CANCELLED: "cancelled",
}


def _time(stamp) -> str:
    return stamp.ToJsonString()  # RFC 3339 in UTC, e.g. 2025-01-31T08:15:00.123456Z


def product(message) -> dict:
    return {
        "id": message.id,
        "name": message.name,
        "description": message.description,
        "category": message.category,
        "price": Money(message.price_cents),
        "slogan": message.slogan,
        "stock": message.stock,
    }


def user(message) -> dict:
    """A user as its owner sees it; the password hash never reaches the gateway at all."""
    return {
        "id": message.id,
        "sid": message.sid,
        "username": message.username,
        "email": message.email,
        "active": message.active,
        "created_at": _time(message.create_time),
        "updated_at": _time(message.update_time),
    }


def order(message) -> dict:
    return {
        "id": message.id,
        "user_id": message.user_id,
        "product_id": message.product_id,
        "quantity": message.quantity,
        "total_price": Money(message.total_price_cents),
        "status": ORDER_STATUS[message.status],
        "created_at": _time(message.create_time),
        "updated_at": _time(message.update_time),
    }
