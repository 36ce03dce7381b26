"""The caller a call names (the REST gateway's bearer-token user), checked by the DB service itself.

One RPC per authenticated REST request: the gateway sends `merch-caller-id` and
`merch-caller-token-version` with the operation, and the DB service refuses it, having changed
nothing, unless that user exists, is active and still has that token version. Over a real gRPC
channel to a real DB service, on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from merch.store.v1 import (
    greeting_service_pb2 as greeting_pb,
    greeting_service_pb2_grpc as greeting_grpc,
    order_pb2 as order_pb,
    order_pb2_grpc as order_grpc,
    product_pb2 as product_pb,
    product_pb2_grpc as product_grpc,
    user_pb2 as user_pb,
    user_pb2_grpc as user_grpc,
)
from tests import support

PASSWORD = "correct horse"
MISSING = "the token's user does not exist; register or log in again"
DEACTIVATED = "this account is deactivated; its tokens no longer work"
STALE = "the token was issued before the password was changed; log in again"
AUTH = (("authorization", f"Bearer {support.SERVICE_TOKEN}"),)


def as_caller(user_id: int, version: int, auth=AUTH) -> tuple:
    return (*auth, ("merch-caller-id", str(user_id)), ("merch-caller-token-version", str(version)))


class Store:
    """Stubs over one channel that sends no metadata of its own: each call says what it sends."""

    def __init__(self, channel):
        self.greeting = greeting_grpc.GreetingServiceStub(channel)
        self.products = product_grpc.ProductServiceStub(channel)
        self.users = user_grpc.UserServiceStub(channel)
        self.orders = order_grpc.OrderServiceStub(channel)

    def new_user(self) -> user_pb.User:
        name = f"c{uuid.uuid4().hex[:12]}"
        return self.users.CreateUser(user_pb.CreateUserRequest(
            sid=name[:20], username=name, email=f"{name}@sustech.edu.cn", password=PASSWORD),
            timeout=10, metadata=AUTH).user

    def new_product(self, stock=10) -> product_pb.Product:
        return self.products.CreateProduct(product_pb.CreateProductRequest(
            name=f"Caller Mug {uuid.uuid4().hex[:10]}", description="a mug", category="Drinkware",
            price_cents=1999, slogan="Sip", stock=stock), timeout=10, metadata=AUTH).product


@pytest.fixture(scope="module")
def store(db_address):
    with grpc.insecure_channel(db_address) as channel:
        yield Store(channel)


@pytest.fixture
def world(store):
    """A buyer with a product and one placed order, and a snapshot of what the calls could change."""
    buyer = store.new_user()
    product = store.new_product(stock=10)
    order = store.orders.PlaceOrder(order_pb.PlaceOrderRequest(user_id=buyer.id, product_id=product.id, quantity=1),
                                    timeout=10, metadata=AUTH).order
    return {"buyer": buyer, "product": product, "order": order, "tag": uuid.uuid4().hex[:10]}


def every_rpc(w: dict) -> dict:
    """A valid request for every RPC of the DB service, acting on the world `w`."""
    buyer, product, order, tag = w["buyer"], w["product"], w["order"], w["tag"]
    return {
        "GreetingService.GetGreeting": greeting_pb.GetGreetingRequest(),
        "ProductService.GetProduct": product_pb.GetProductRequest(product_id=product.id),
        "ProductService.ListProducts": product_pb.ListProductsRequest(page_size=5),
        "ProductService.CreateProduct": product_pb.CreateProductRequest(
            name=f"Refused Mug {tag}", description="no", category="Drinkware", price_cents=100, slogan="no", stock=1),
        "ProductService.UpdateProduct": product_pb.UpdateProductRequest(product_id=product.id, stock=99),
        "ProductService.DeleteProduct": product_pb.DeleteProductRequest(product_id=product.id),
        "UserService.CreateUser": user_pb.CreateUserRequest(
            sid=f"r{tag}", username=f"r{tag}", email=f"r{tag}@sustech.edu.cn", password=PASSWORD),
        "UserService.GetUser": user_pb.GetUserRequest(user_id=buyer.id),
        "UserService.UpdateUser": user_pb.UpdateUserRequest(user_id=buyer.id, email=f"changed{tag}@sustech.edu.cn"),
        "UserService.DeactivateUser": user_pb.DeactivateUserRequest(user_id=buyer.id),
        "UserService.AuthenticateUser": user_pb.AuthenticateUserRequest(username=buyer.username, password=PASSWORD),
        "OrderService.PlaceOrder": order_pb.PlaceOrderRequest(user_id=buyer.id, product_id=product.id, quantity=2),
        "OrderService.GetOrder": order_pb.GetOrderRequest(order_id=order.id, user_id=buyer.id),
        "OrderService.ListOrders": order_pb.ListOrdersRequest(user_id=buyer.id),
        "OrderService.UpdateOrder": order_pb.UpdateOrderRequest(order_id=order.id, user_id=buyer.id, quantity=3),
        "OrderService.CancelOrder": order_pb.CancelOrderRequest(order_id=order.id, user_id=buyer.id),
    }


def call(store: Store, rpc: str, request, metadata):
    service, method = rpc.split(".")
    stub = {"GreetingService": store.greeting, "ProductService": store.products, "UserService": store.users,
            "OrderService": store.orders}[service]
    return getattr(stub, method)(request, timeout=10, metadata=metadata)


def snapshot(store: Store, w: dict) -> tuple:
    buyer, product, order = w["buyer"], w["product"], w["order"]
    return (
        store.products.GetProduct(product_pb.GetProductRequest(product_id=product.id), timeout=10, metadata=AUTH).product,
        store.users.GetUser(user_pb.GetUserRequest(user_id=buyer.id), timeout=10, metadata=AUTH).user,
        list(store.orders.ListOrders(order_pb.ListOrdersRequest(user_id=buyer.id), timeout=10, metadata=AUTH).orders),
        order.id,
    )


def test_the_table_covers_every_rpc_of_the_db_service(world):
    from merch.store.v1 import greeting_service_pb2, order_pb2, product_pb2, user_pb2

    served = {f"{service.name}.{method.name}"
              for module in (greeting_service_pb2, order_pb2, product_pb2, user_pb2)
              for service in module.DESCRIPTOR.services_by_name.values() for method in service.methods}
    assert set(every_rpc(world)) == served


def deactivate(store, user):
    store.users.DeactivateUser(user_pb.DeactivateUserRequest(user_id=user.id), timeout=10, metadata=AUTH)


def change_password(store, user):
    store.users.UpdateUser(user_pb.UpdateUserRequest(user_id=user.id, password="a new password 2",
                                                     current_password=PASSWORD), timeout=10, metadata=AUTH)


# (what happened to the token's user, the words of the refusal, its ErrorInfo reason)
REFUSALS = {
    "unknown user": (None, MISSING, "CALLER_UNKNOWN"),
    "deactivated user": (deactivate, DEACTIVATED, "CALLER_DEACTIVATED"),
    "password changed since": (change_password, STALE, "CALLER_TOKEN_STALE"),
}


def reason(error: grpc.RpcError) -> str:
    info = error_details_pb2.ErrorInfo()
    details = rpc_status.from_call(error).details
    return next(info.reason for detail in details if detail.Unpack(info))


@pytest.mark.parametrize("case", REFUSALS)
def test_every_rpc_refuses_a_caller_whose_token_no_longer_holds_and_changes_nothing(store, world, case):
    change, words, why = REFUSALS[case]
    buyer = world["buyer"]
    if change is None:
        caller = as_caller(2**31 - 1, 1)
    else:
        holder = store.new_user()  # the token holder; the operations act on the world's buyer
        change(store, holder)
        caller = as_caller(holder.id, holder.token_version)
    before = snapshot(store, world)
    for rpc, request in every_rpc(world).items():
        with pytest.raises(grpc.RpcError) as refused:
            call(store, rpc, request, caller)
        assert (refused.value.code(), refused.value.details()) == (grpc.StatusCode.UNAUTHENTICATED, words), rpc
        assert reason(refused.value) == why, rpc
    assert snapshot(store, world) == before, "a refused call changed something"
    names = [p.name for p in store.products.ListProducts(product_pb.ListProductsRequest(page_size=100), timeout=10,
                                                          metadata=AUTH).products]
    assert f"Refused Mug {world['tag']}" not in names
    with pytest.raises(grpc.RpcError) as login:
        store.users.AuthenticateUser(user_pb.AuthenticateUserRequest(username=f"r{world['tag']}", password=PASSWORD),
                                     timeout=10, metadata=AUTH)
    assert login.value.code() is grpc.StatusCode.UNAUTHENTICATED, "the refused CreateUser created no user"
    assert buyer.active


def test_a_password_change_ends_the_older_token_at_the_next_call(store, world):
    buyer, product = world["buyer"], world["product"]
    request = order_pb.PlaceOrderRequest(user_id=buyer.id, product_id=product.id, quantity=1)
    store.orders.PlaceOrder(request, timeout=10, metadata=as_caller(buyer.id, buyer.token_version))
    change_password(store, buyer)
    with pytest.raises(grpc.RpcError) as refused:
        store.orders.PlaceOrder(request, timeout=10, metadata=as_caller(buyer.id, buyer.token_version))
    assert (refused.value.code(), refused.value.details()) == (grpc.StatusCode.UNAUTHENTICATED, STALE)
    stock = store.products.GetProduct(product_pb.GetProductRequest(product_id=product.id), timeout=10,
                                      metadata=AUTH).product.stock
    assert stock == 10 - 2, "the refused order took no stock"
    fresh = store.users.GetUser(user_pb.GetUserRequest(user_id=buyer.id), timeout=10, metadata=AUTH).user
    assert fresh.token_version == buyer.token_version + 1
    store.orders.PlaceOrder(request, timeout=10, metadata=as_caller(buyer.id, fresh.token_version))


def test_every_rpc_answers_a_caller_whose_token_holds(store, world):
    buyer = world["buyer"]
    caller = as_caller(buyer.id, buyer.token_version)
    rpcs = every_rpc(world)
    rpcs["ProductService.DeleteProduct"].product_id = store.new_product().id  # one without orders may go
    # Destructive ones last, in an order that leaves each one something to act on.
    last = ("OrderService.CancelOrder", "UserService.DeactivateUser")
    answers = {rpc: call(store, rpc, rpcs[rpc], caller) for rpc in [name for name in rpcs if name not in last] + list(last)}
    assert answers["ProductService.GetProduct"].product.id == world["product"].id
    assert answers["OrderService.PlaceOrder"].order.quantity == 2
    assert answers["UserService.DeactivateUser"].user.active is False
    with pytest.raises(grpc.RpcError) as ended:  # and the token it was acting with ends with it
        call(store, "ProductService.GetProduct", rpcs["ProductService.GetProduct"], caller)
    assert ended.value.details() == DEACTIVATED


def test_a_read_of_something_missing_is_still_not_found_for_a_valid_caller(store, world):
    buyer = world["buyer"]
    with pytest.raises(grpc.RpcError) as missing:
        store.products.GetProduct(product_pb.GetProductRequest(product_id=2**31 - 1), timeout=10,
                                  metadata=as_caller(buyer.id, buyer.token_version))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as no_user:
        store.orders.ListOrders(order_pb.ListOrdersRequest(user_id=2**31 - 1), timeout=10,
                                metadata=as_caller(buyer.id, buyer.token_version))
    assert no_user.value.code() is grpc.StatusCode.NOT_FOUND


def test_caller_metadata_without_the_service_token_is_not_honoured(store, world):
    buyer = world["buyer"]
    for auth in ((), (("authorization", "Bearer not-the-service-token"),)):
        with pytest.raises(grpc.RpcError) as refused:
            store.products.GetProduct(product_pb.GetProductRequest(product_id=world["product"].id), timeout=10,
                                      metadata=as_caller(buyer.id, buyer.token_version, auth=auth))
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert "requires 'authorization: Bearer <token>'" in refused.value.details()


@pytest.mark.parametrize("metadata, field", [
    ((("merch-caller-id", "abc"), ("merch-caller-token-version", "1")), "merch-caller-id"),
    ((("merch-caller-id", "-3"), ("merch-caller-token-version", "1")), "merch-caller-id"),
    ((("merch-caller-id", "0"), ("merch-caller-token-version", "1")), "merch-caller-id"),
    ((("merch-caller-id", "99999999999"), ("merch-caller-token-version", "1")), "merch-caller-id"),
    ((("merch-caller-id", "5"),), "merch-caller-token-version"),
    ((("merch-caller-token-version", "1"),), "merch-caller-id"),
    ((("merch-caller-id", "5"), ("merch-caller-token-version", "1.0")), "merch-caller-token-version"),
])
def test_malformed_caller_metadata_is_invalid_argument_naming_the_header(store, world, metadata, field):
    with pytest.raises(grpc.RpcError) as refused:
        store.products.GetProduct(product_pb.GetProductRequest(product_id=world["product"].id), timeout=10,
                                  metadata=(*AUTH, *metadata))
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(refused.value)
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert [v.field for v in bad_request.field_violations] == [field]


def test_with_token_checking_off_caller_metadata_is_refused_not_trusted(tmp_path):
    from py_server.db_service.server import create_server
    from py_server.store import database as store_database
    from py_server.store.users import PasswordHasher

    database = store_database.open_database(f"sqlite:///{tmp_path / 'merch.sqlite3'}")
    store_database.bind(database)
    store_database.prepare_schema(database)
    bound, _monitor = create_server("127.0.0.1:0", database, hasher=PasswordHasher(4), service_token="")
    bound.server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{bound.port}") as channel:
            products = product_grpc.ProductServiceStub(channel)
            request = product_pb.GetProductRequest(product_id=1)
            assert products.GetProduct(request, timeout=10).product.id == 1
            with pytest.raises(grpc.RpcError) as refused:
                products.GetProduct(request, timeout=10, metadata=(("merch-caller-id", "1"),
                                                                   ("merch-caller-token-version", "1")))
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
            assert "honoured only on calls that carry the service token" in refused.value.details()
    finally:
        bound.server.stop(None)
        database.close_all()
