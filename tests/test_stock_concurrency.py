"""Two DB-service processes on one PostgreSQL never oversell."""
from __future__ import annotations

import concurrent.futures
import uuid

import grpc
import psycopg2
import pytest

from merch.store.v1 import order_pb2, order_pb2_grpc, product_pb2, product_pb2_grpc, user_pb2, user_pb2_grpc
from tests import support

STOCK = 50
CALLS = 96  # 96 one-item orders for 50 items: exactly 50 must win


@pytest.fixture(scope="module")
def two_db_services(postgres, tmp_path_factory):
    url = postgres.new_database()
    state = tmp_path_factory.mktemp("two-db")
    # Both start at once on an empty database: schema creation and seeding must not race.
    with support.db_service(state, url) as (first, _), support.db_service(state, url) as (second, _):
        yield url, first, second


def test_schema_uses_exact_numeric_money(two_db_services):
    url, _, _ = two_db_services
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT table_name, column_name, data_type, numeric_precision, numeric_scale "
                    "FROM information_schema.columns WHERE column_name IN ('price', 'total_price') ORDER BY 1")
        assert cur.fetchall() == [("orders", "total_price", "numeric", 10, 2), ("products", "price", "numeric", 10, 2)]
        cur.execute("SELECT count(*) FROM products")
        assert cur.fetchone()[0] >= 3


def test_concurrent_orders_on_two_processes_sell_exactly_the_stock(two_db_services):
    url, first, second = two_db_services
    channels = [support.channel(first), support.channel(second)]
    try:
        products = product_pb2_grpc.ProductServiceStub(channels[0])
        product = products.CreateProduct(product_pb2.CreateProductRequest(
            name=f"Limited Pin {uuid.uuid4().hex[:6]}", category="Accessories", price_cents=500, stock=STOCK)).product
        users = user_pb2_grpc.UserServiceStub(channels[1])
        user_ids = [users.CreateUser(user_pb2.CreateUserRequest(
            sid=f"c{uuid.uuid4().hex[:12]}", username=f"c{uuid.uuid4().hex}", email=f"c{uuid.uuid4().hex}@x.org",
            password="password123")).user.id for _ in range(8)]
        order_stubs = [order_pb2_grpc.OrderServiceStub(channel) for channel in channels]

        def place(i: int):
            request = order_pb2.PlaceOrderRequest(user_id=user_ids[i % 8], product_id=product.id, quantity=1)
            try:
                return "ok", order_stubs[i % 2].PlaceOrder(request, timeout=30).order.quantity
            except grpc.RpcError as error:
                return error.code(), request.quantity

        with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
            results = list(pool.map(place, range(CALLS)))
    finally:
        for channel in channels:
            channel.close()

    sold = sum(quantity for outcome, quantity in results if outcome == "ok")
    losers = {outcome for outcome, _ in results if outcome != "ok"}
    assert losers == {grpc.StatusCode.FAILED_PRECONDITION}
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT stock FROM products WHERE id = %s", (product.id,))
        final_stock = cur.fetchone()[0]
        cur.execute("SELECT coalesce(sum(quantity), 0) FROM orders WHERE product_id = %s AND status = 'placed'",
                    (product.id,))
        ordered = cur.fetchone()[0]
    assert final_stock == 0
    assert sold == ordered == STOCK
    assert len(results) - STOCK == sum(1 for outcome, _ in results if outcome != "ok")
