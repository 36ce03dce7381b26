"""Every RPC of the DB service, through a real gRPC channel, on SQLite and on PostgreSQL."""
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

PASSWORD = "correct horse"


class Stubs:
    def __init__(self, channel):
        self.greeting = greeting_grpc.GreetingServiceStub(channel)
        self.products = product_grpc.ProductServiceStub(channel)
        self.users = user_grpc.UserServiceStub(channel)
        self.orders = order_grpc.OrderServiceStub(channel)


@pytest.fixture
def stub(db_channel):
    return Stubs(db_channel)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def new_user(stub, **overrides) -> user_pb.User:
    name = unique("u")
    fields = dict(sid=name[:20], username=name, email=f"{name}@sustech.edu.cn", password=PASSWORD)
    fields.update(overrides)
    return stub.users.CreateUser(user_pb.CreateUserRequest(**fields), timeout=10).user


def new_product(stub, stock=10, price_cents=1999) -> product_pb.Product:
    request = product_pb.CreateProductRequest(
        name=unique("Test Mug "), description="a mug", category="Drinkware", price_cents=price_cents,
        slogan="Sip with pride", stock=stock,
    )
    return stub.products.CreateProduct(request, timeout=10).product


def rpc_error(call, *args) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(*args, timeout=10)
    return info.value


def violations(error: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)
    assert status is not None, "INVALID_ARGUMENT must carry a google.rpc.Status"
    result = {}
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        assert detail.Unpack(bad_request)
        result.update({v.field: v.description for v in bad_request.field_violations})
    return result


# --- greeting and the seeded catalogue ---------------------------------------------------------

def test_greeting_is_the_seeds_welcome(stub):
    assert stub.greeting.GetGreeting(greeting_pb.GetGreetingRequest()).message == "Welcome to the gRPC Service!"


def test_catalogue_starts_with_exactly_the_seed_products(stub):
    seeded = [p for p in stub.products.ListProducts(product_pb.ListProductsRequest(page_size=3)).products]
    assert [(p.id, p.name, p.category, p.price_cents, p.slogan) for p in seeded] == [
        (1, "SUSTech Hoodie", "Apparel", 4999, "Stay warm, stay proud!"),
        (2, "SUSTech Water Bottle", "Drinkware", 1999, "Hydrate with pride!"),
        (3, "SUSTech Notebook", "Stationery", 999, "Write your future with SUSTech."),
    ]
    assert all(p.description for p in seeded)


# --- products ------------------------------------------------------------------------------------

def test_product_create_get_update_delete(stub):
    created = new_product(stub, stock=7, price_cents=1234)
    assert stub.products.GetProduct(product_pb.GetProductRequest(product_id=created.id)).product == created
    updated = stub.products.UpdateProduct(
        product_pb.UpdateProductRequest(product_id=created.id, price_cents=99999999, stock=0)
    ).product
    assert (updated.price_cents, updated.stock, updated.name) == (99999999, 0, created.name)
    deleted = stub.products.DeleteProduct(product_pb.DeleteProductRequest(product_id=created.id)).product
    assert deleted.id == created.id
    error = rpc_error(stub.products.GetProduct, product_pb.GetProductRequest(product_id=created.id))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_update_product_sets_only_the_fields_given_even_to_zero(stub):
    created = new_product(stub, stock=5)
    updated = stub.products.UpdateProduct(product_pb.UpdateProductRequest(product_id=created.id, stock=0)).product
    assert updated.stock == 0 and updated.price_cents == created.price_cents and updated.slogan == created.slogan


def test_list_products_pages_through_everything_once(stub):
    for _ in range(3):
        new_product(stub)
    seen, token = [], ""
    while True:
        page = stub.products.ListProducts(product_pb.ListProductsRequest(page_size=2, page_token=token))
        seen += [p.id for p in page.products]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(set(seen)) and len(seen) >= 6


def test_duplicate_product_name_is_already_exists(stub):
    created = new_product(stub)
    request = product_pb.CreateProductRequest(name=created.name, category="X", price_cents=1, stock=1)
    assert rpc_error(stub.products.CreateProduct, request).code() == grpc.StatusCode.ALREADY_EXISTS


def test_product_with_orders_cannot_be_deleted(stub):
    product, user = new_product(stub), new_user(stub)
    stub.orders.PlaceOrder(order_pb.PlaceOrderRequest(user_id=user.id, product_id=product.id, quantity=1))
    error = rpc_error(stub.products.DeleteProduct, product_pb.DeleteProductRequest(product_id=product.id))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize(
    "request_fields, field",
    [
        (dict(name="", category="A", price_cents=1, stock=1), "name"),
        (dict(name="x" * 101, category="A", price_cents=1, stock=1), "name"),
        (dict(name="ok", category="A", price_cents=-1, stock=1), "price_cents"),
        (dict(name="ok", category="A", price_cents=100_000_000, stock=1), "price_cents"),
        (dict(name="ok", category="A", price_cents=1, stock=-5), "stock"),
        (dict(name="ok", category="", price_cents=1, stock=1), "category"),
        (dict(name="bad\x00name", category="A", price_cents=1, stock=1), "name"),
    ],
)
def test_bad_product_is_invalid_argument_naming_the_field(stub, request_fields, field):
    error = rpc_error(stub.products.CreateProduct, product_pb.CreateProductRequest(**request_fields))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(error)


# --- users ---------------------------------------------------------------------------------------

def test_register_get_update_authenticate_deactivate(stub):
    user = new_user(stub, username="学生 ✓ " + uuid.uuid4().hex[:6])
    assert user.active and user.id > 0 and user.create_time.seconds > 0
    assert stub.users.GetUser(user_pb.GetUserRequest(user_id=user.id)).user == user
    changed = stub.users.UpdateUser(
        user_pb.UpdateUserRequest(user_id=user.id, email=f"new{user.id}@example.org", password="new password",
                                 current_password=PASSWORD)
    ).user
    assert changed.email == f"new{user.id}@example.org" and changed.username == user.username
    authed = stub.users.AuthenticateUser(
        user_pb.AuthenticateUserRequest(username=user.username, password="new password")
    ).user
    assert authed.id == user.id
    old = rpc_error(stub.users.AuthenticateUser,
                    user_pb.AuthenticateUserRequest(username=user.username, password=PASSWORD))
    assert old.code() == grpc.StatusCode.UNAUTHENTICATED
    gone = stub.users.DeactivateUser(user_pb.DeactivateUserRequest(user_id=user.id)).user
    assert not gone.active
    after = rpc_error(stub.users.AuthenticateUser,
                      user_pb.AuthenticateUserRequest(username=user.username, password="new password"))
    assert after.code() == grpc.StatusCode.UNAUTHENTICATED
    assert rpc_error(stub.users.UpdateUser, user_pb.UpdateUserRequest(user_id=user.id, email="z@z.z")).code() == \
        grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize("field", ["sid", "username", "email"])
def test_duplicate_identity_is_already_exists(stub, field):
    first = new_user(stub)
    overrides = {field: getattr(first, field)}
    error = rpc_error(stub.users.CreateUser, user_pb.CreateUserRequest(
        **{**dict(sid=unique("s")[:20], username=unique("n"), email=unique("e") + "@x.org", password=PASSWORD),
           **overrides}))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert field in error.details()


def test_wrong_password_and_unknown_user_look_the_same(stub):
    user = new_user(stub)
    wrong = rpc_error(stub.users.AuthenticateUser, user_pb.AuthenticateUserRequest(username=user.username, password="nope nope"))
    unknown = rpc_error(stub.users.AuthenticateUser, user_pb.AuthenticateUserRequest(username=unique("ghost"), password="nope nope"))
    assert wrong.code() == unknown.code() == grpc.StatusCode.UNAUTHENTICATED
    assert wrong.details() == unknown.details()


@pytest.mark.parametrize(
    "overrides, field",
    [
        (dict(password="x" * 73), "password"),
        (dict(password="é" * 37), "password"),  # 74 bytes, 37 characters
        (dict(password="short"), "password"),
        (dict(email="not-an-email"), "email"),
        (dict(username=""), "username"),
        (dict(username="   "), "username"),
        (dict(sid="x" * 21), "sid"),
        (dict(username="a" * 51), "username"),
    ],
)
def test_bad_registration_is_invalid_argument_and_stores_nothing(stub, overrides, field):
    name = unique("v")
    fields = dict(sid=name[:20], username=name, email=f"{name}@x.org", password=PASSWORD)
    fields.update(overrides)
    error = rpc_error(stub.users.CreateUser, user_pb.CreateUserRequest(**fields))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(error)
    if field != "username":
        login = rpc_error(stub.users.AuthenticateUser, user_pb.AuthenticateUserRequest(username=name, password=PASSWORD))
        assert login.code() == grpc.StatusCode.UNAUTHENTICATED


def test_72_byte_password_is_accepted(stub):
    password = "p" * 72
    user = new_user(stub, password=password)
    assert stub.users.AuthenticateUser(user_pb.AuthenticateUserRequest(username=user.username, password=password)).user.id == user.id


@pytest.mark.parametrize("user_id", [0, -1])
def test_non_positive_user_id_is_invalid_argument(stub, user_id):
    assert rpc_error(stub.users.GetUser, user_pb.GetUserRequest(user_id=user_id)).code() == grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_user_is_not_found(stub):
    assert rpc_error(stub.users.GetUser, user_pb.GetUserRequest(user_id=2_000_000_000)).code() == grpc.StatusCode.NOT_FOUND


# --- orders --------------------------------------------------------------------------------------

def stock_of(stub, product_id: int) -> int:
    return stub.products.GetProduct(product_pb.GetProductRequest(product_id=product_id)).product.stock


def test_place_order_takes_stock_and_prices_from_the_database(stub):
    product, user = new_product(stub, stock=5, price_cents=1999), new_user(stub)
    order = stub.orders.PlaceOrder(order_pb.PlaceOrderRequest(user_id=user.id, product_id=product.id, quantity=3)).order
    assert (order.quantity, order.total_price_cents, order.status) == (3, 5997, order_pb.ORDER_STATUS_PLACED)
    assert stock_of(stub, product.id) == 2
    assert stub.orders.GetOrder(order_pb.GetOrderRequest(order_id=order.id)).order == order


def test_place_order_beyond_stock_is_failed_precondition_and_changes_nothing(stub):
    product, user = new_product(stub, stock=2), new_user(stub)
    error = rpc_error(stub.orders.PlaceOrder, order_pb.PlaceOrderRequest(user_id=user.id, product_id=product.id, quantity=3))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert stock_of(stub, product.id) == 2
    assert not stub.orders.ListOrders(order_pb.ListOrdersRequest(user_id=user.id)).orders


@pytest.mark.parametrize(
    "fields, code",
    [
        (dict(product_id=1, quantity=0), grpc.StatusCode.INVALID_ARGUMENT),
        (dict(product_id=1, quantity=4), grpc.StatusCode.INVALID_ARGUMENT),
        (dict(product_id=-1, quantity=1), grpc.StatusCode.INVALID_ARGUMENT),
        (dict(product_id=999_999, quantity=1), grpc.StatusCode.NOT_FOUND),
    ],
)
def test_bad_orders_are_refused_with_precise_codes(stub, fields, code):
    user = new_user(stub)
    before = stock_of(stub, 1)
    assert rpc_error(stub.orders.PlaceOrder, order_pb.PlaceOrderRequest(user_id=user.id, **fields)).code() == code
    assert stock_of(stub, 1) == before


def test_deactivated_user_cannot_order(stub):
    user = new_user(stub)
    stub.users.DeactivateUser(user_pb.DeactivateUserRequest(user_id=user.id))
    error = rpc_error(stub.orders.PlaceOrder, order_pb.PlaceOrderRequest(user_id=user.id, product_id=1, quantity=1))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_update_order_moves_stock_between_products_and_reprices(stub):
    first, second, user = new_product(stub, stock=5, price_cents=1000), new_product(stub, stock=5, price_cents=250), new_user(stub)
    order = stub.orders.PlaceOrder(order_pb.PlaceOrderRequest(user_id=user.id, product_id=first.id, quantity=2)).order
    same = stub.orders.UpdateOrder(order_pb.UpdateOrderRequest(order_id=order.id, quantity=3)).order
    assert (same.quantity, same.total_price_cents, stock_of(stub, first.id)) == (3, 3000, 2)
    moved = stub.orders.UpdateOrder(order_pb.UpdateOrderRequest(order_id=order.id, product_id=second.id, quantity=1)).order
    assert (moved.product_id, moved.total_price_cents) == (second.id, 250)
    assert (stock_of(stub, first.id), stock_of(stub, second.id)) == (5, 4)


def test_update_order_beyond_stock_changes_nothing(stub):
    product, user = new_product(stub, stock=2), new_user(stub)
    order = stub.orders.PlaceOrder(order_pb.PlaceOrderRequest(user_id=user.id, product_id=product.id, quantity=1)).order
    error = rpc_error(stub.orders.UpdateOrder, order_pb.UpdateOrderRequest(order_id=order.id, quantity=3))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert stock_of(stub, product.id) == 1
    assert stub.orders.GetOrder(order_pb.GetOrderRequest(order_id=order.id)).order.quantity == 1


def test_cancel_restores_stock_exactly_once(stub):
    product, user = new_product(stub, stock=3), new_user(stub)
    order = stub.orders.PlaceOrder(order_pb.PlaceOrderRequest(user_id=user.id, product_id=product.id, quantity=3)).order
    cancelled = stub.orders.CancelOrder(order_pb.CancelOrderRequest(order_id=order.id)).order
    assert cancelled.status == order_pb.ORDER_STATUS_CANCELLED and stock_of(stub, product.id) == 3
    again = rpc_error(stub.orders.CancelOrder, order_pb.CancelOrderRequest(order_id=order.id))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert stock_of(stub, product.id) == 3
    update = rpc_error(stub.orders.UpdateOrder, order_pb.UpdateOrderRequest(order_id=order.id, quantity=1))
    assert update.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_another_users_order_is_not_found_when_scoped(stub):
    owner, other = new_user(stub), new_user(stub)
    order = stub.orders.PlaceOrder(order_pb.PlaceOrderRequest(user_id=owner.id, product_id=1, quantity=1)).order
    for call, request in [
        (stub.orders.GetOrder, order_pb.GetOrderRequest(order_id=order.id, user_id=other.id)),
        (stub.orders.UpdateOrder, order_pb.UpdateOrderRequest(order_id=order.id, user_id=other.id, quantity=2)),
        (stub.orders.CancelOrder, order_pb.CancelOrderRequest(order_id=order.id, user_id=other.id)),
    ]:
        assert rpc_error(call, request).code() == grpc.StatusCode.NOT_FOUND
    assert stub.orders.GetOrder(order_pb.GetOrderRequest(order_id=order.id, user_id=owner.id)).order.quantity == 1


def test_list_orders_newest_first_in_pages(stub):
    user = new_user(stub)
    placed = [stub.orders.PlaceOrder(order_pb.PlaceOrderRequest(user_id=user.id, product_id=3, quantity=1)).order.id
              for _ in range(3)]
    first = stub.orders.ListOrders(order_pb.ListOrdersRequest(user_id=user.id, page_size=2))
    second = stub.orders.ListOrders(order_pb.ListOrdersRequest(user_id=user.id, page_size=2, page_token=first.next_page_token))
    assert [o.id for o in first.orders] + [o.id for o in second.orders] == placed[::-1]
    assert second.next_page_token == ""
    bad = rpc_error(stub.orders.ListOrders, order_pb.ListOrdersRequest(user_id=user.id, page_token="abc"))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_ten_megabyte_message_is_refused_and_stores_nothing(stub):
    def count():
        return len(stub.products.ListProducts(product_pb.ListProductsRequest(page_size=1000)).products)

    before, name = count(), unique("huge")
    huge = rpc_error(stub.products.CreateProduct, product_pb.CreateProductRequest(
        name=name, description="x" * (10 * 1024 * 1024), category="A", price_cents=1, stock=1))
    assert huge.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert count() == before
