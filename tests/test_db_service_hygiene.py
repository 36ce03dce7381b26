"""What operators and security rely on: no secrets in responses, health that tells the truth,
the optional service token, reflection for grpcurl, and generated code in step with the protos."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from merch.store.v1 import order_pb2, order_pb2_grpc, product_pb2, product_pb2_grpc, user_pb2, user_pb2_grpc
from tests import support

def test_no_response_of_any_rpc_carries_a_password_or_hash(db_channel):
    users = user_pb2_grpc.UserServiceStub(db_channel)
    orders = order_pb2_grpc.OrderServiceStub(db_channel)
    products = product_pb2_grpc.ProductServiceStub(db_channel)
    password, new_password, name = "hunter2-secret", "another-secret", f"p{uuid.uuid4().hex[:10]}"
    created = users.CreateUser(user_pb2.CreateUserRequest(sid=name, username=name, email=f"{name}@x.org", password=password))
    uid = created.user.id
    order = orders.PlaceOrder(order_pb2.PlaceOrderRequest(user_id=uid, product_id=1, quantity=1)).order
    responses = [
        created,
        users.GetUser(user_pb2.GetUserRequest(user_id=uid)),
        users.AuthenticateUser(user_pb2.AuthenticateUserRequest(username=name, password=password)),
        users.UpdateUser(user_pb2.UpdateUserRequest(user_id=uid, password=new_password,
                                                    current_password=password)),
        orders.GetOrder(order_pb2.GetOrderRequest(order_id=order.id)),
        orders.ListOrders(order_pb2.ListOrdersRequest(user_id=uid)),
        orders.UpdateOrder(order_pb2.UpdateOrderRequest(order_id=order.id, quantity=2)),
        orders.CancelOrder(order_pb2.CancelOrderRequest(order_id=order.id)),
        products.ListProducts(product_pb2.ListProductsRequest()),
        users.DeactivateUser(user_pb2.DeactivateUserRequest(user_id=uid)),
    ]
    for response in responses:
        raw = response.SerializeToString()
        for secret in (password, new_password, "$2b$", "$2a$"):
            assert secret.encode() not in raw, f"{type(response).__name__} leaks {secret!r}"
    assert not [f.name for f in user_pb2.User.DESCRIPTOR.fields if "pass" in f.name or "hash" in f.name]


def test_health_reports_every_service_serving(db_channel):
    health = health_pb2_grpc.HealthStub(db_channel)
    for service in ("", "merch.store.v1.OrderService", "merch.store.v1.UserService", "merch.store.v1.ProductService"):
        assert health.Check(health_pb2.HealthCheckRequest(service=service)).status == health_pb2.HealthCheckResponse.SERVING


def test_service_token_is_demanded_when_configured(tmp_path):
    with support.db_service(tmp_path, MERCH_SERVICE_TOKEN="s3cret-token-0123456789") as (address, _):
        with grpc.insecure_channel(address) as channel:
            products = product_pb2_grpc.ProductServiceStub(channel)
            request = product_pb2.GetProductRequest(product_id=1)
            with pytest.raises(grpc.RpcError) as missing:
                products.GetProduct(request, timeout=5)
            assert missing.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.RpcError) as wrong:
                products.GetProduct(request, timeout=5, metadata=[("authorization", "Bearer nope")])
            assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
            ok = products.GetProduct(request, timeout=5,
                                     metadata=[("authorization", "Bearer s3cret-token-0123456789")])
            assert ok.product.id == 1
            # Probes need no token.
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_database_outage_is_unavailable_and_not_serving_then_recovers(tmp_path):
    pg = support.Postgres()
    try:
        url = pg.new_database()
        with support.db_service(tmp_path, url) as (address, proc):
            with support.channel(address) as channel:
                products = product_pb2_grpc.ProductServiceStub(channel)
                health = health_pb2_grpc.HealthStub(channel)
                assert products.GetProduct(product_pb2.GetProductRequest(product_id=1), timeout=5).product.id == 1
                pg.stop()
                with pytest.raises(grpc.RpcError) as down:
                    for _ in range(3):  # the first call may use a pooled connection that is already broken
                        products.GetProduct(product_pb2.GetProductRequest(product_id=1), timeout=10)
                assert down.value.code() == grpc.StatusCode.UNAVAILABLE
                support.wait_for(lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=2).status
                                 == health_pb2.HealthCheckResponse.NOT_SERVING, timeout=15)
                pg.start()
                support.wait_serving(address)
                assert products.GetProduct(product_pb2.GetProductRequest(product_id=1), timeout=10).product.id == 1
            assert proc.stop() == 0, "SIGTERM must shut the service down cleanly"
    finally:
        pg.stop()


def test_sigterm_stops_the_service_gracefully(tmp_path):
    with support.db_service(tmp_path) as (_address, proc):
        assert proc.stop() == 0
    assert "shutting down" in proc.log_text()


def test_committed_generated_code_matches_the_protos(tmp_path):
    """Regenerates every stub into a scratch folder with Buf and compares byte for byte."""
    env = {**os.environ, "PATH": f"{support.REPO}/scripts:{support.REPO}/.tools/bin:{support.REPO}/.venv/bin:{os.environ['PATH']}"}
    subprocess.run(["buf", "generate", "-o", str(tmp_path)], cwd=support.REPO, env=env, check=True, timeout=120)
    for folder in ("py_server/gen", "go_client/gen"):
        fresh = {p.relative_to(tmp_path / folder): p.read_bytes() for p in (tmp_path / folder).rglob("*") if p.is_file()}
        committed = {p.relative_to(support.REPO / folder): p.read_bytes()
                     for p in (support.REPO / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        assert fresh.keys() == committed.keys(), f"{folder}: files differ; run `make gen`"
        stale = [str(name) for name in fresh if fresh[name] != committed[name]]
        assert not stale, f"{folder} is stale ({stale}); run `make gen` and commit"
