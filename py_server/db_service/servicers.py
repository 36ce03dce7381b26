"""gRPC servicers of merch.store.v1: parse the request, call the store, convert the answer.

Errors are raised as py_server.errors.StoreError and mapped to status codes
by py_server.interceptors.ServiceInterceptor.
"""
from __future__ import annotations

from merch.store.v1 import (
    greeting_service_pb2,
    greeting_service_pb2_grpc,
    order_pb2,
    order_pb2_grpc,
    product_pb2,
    product_pb2_grpc,
    user_pb2,
    user_pb2_grpc,
)
from py_server.db_service import convert
from py_server.store import idempotency, orders, products, users
from py_server.store.access import check_caller, write_transaction

GREETING = "Welcome to the gRPC Service!"
IDEMPOTENCY_KEY_HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"


def _idempotent(context, request, *, caller: int, response_type, work, prepare=None):
    """Runs `work(prepare())` at most once per `idempotency-key` metadata value and caller.

    Without the metadata it simply runs. With it, the answer is stored in the
    same transaction as the work, and a retry gets that answer back with
    `idempotent-replayed: true` (see py_server.store.idempotency).
    `prepare` is slow work that needs no transaction (hashing a password).
    """
    key = next((value for name, value in context.invocation_metadata() or () if name == IDEMPOTENCY_KEY_HEADER),
               None)
    if key is None:
        return work(prepare() if prepare else None)
    idempotency.check_key(key)
    method = type(request).DESCRIPTOR.full_name
    stored = idempotency.claim(key, caller, idempotency.request_hash(method, request))
    if stored is not None:
        context.send_initial_metadata(((REPLAYED_HEADER, "true"),))
        return response_type.FromString(stored)
    try:
        prepared = prepare() if prepare else None
        with write_transaction():
            response = work(prepared)
            idempotency.complete(key, caller, response.SerializeToString())
    except BaseException:
        idempotency.release(key, caller)
        raise
    return response


class GreetingServicer(greeting_service_pb2_grpc.GreetingServiceServicer):
    def GetGreeting(self, request, context):
        check_caller()  # reads nothing, but a caller it names is held to the same rule as everywhere
        return greeting_service_pb2.GetGreetingResponse(message=GREETING)


class ProductServicer(product_pb2_grpc.ProductServiceServicer):
    _FIELDS = ("name", "description", "category", "price_cents", "slogan", "stock")

    def GetProduct(self, request, context):
        return product_pb2.GetProductResponse(product=convert.product(products.get_product(request.product_id)))

    def ListProducts(self, request, context):
        page, token = products.list_products(request.page_size, request.page_token, request.category)
        return product_pb2.ListProductsResponse(products=[convert.product(p) for p in page], next_page_token=token)

    def CreateProduct(self, request, context):
        fields = {name: getattr(request, name) for name in self._FIELDS}
        return product_pb2.CreateProductResponse(product=convert.product(products.create_product(fields)))

    def UpdateProduct(self, request, context):
        changes = convert.set_fields(request, self._FIELDS)
        return product_pb2.UpdateProductResponse(
            product=convert.product(products.update_product(request.product_id, changes))
        )

    def DeleteProduct(self, request, context):
        return product_pb2.DeleteProductResponse(product=convert.product(products.delete_product(request.product_id)))


class UserServicer(user_pb2_grpc.UserServiceServicer):
    _FIELDS = ("sid", "username", "email", "password")

    def __init__(self, hasher: users.PasswordHasher):
        self._hasher = hasher

    def CreateUser(self, request, context):
        fields = {name: getattr(request, name) for name in self._FIELDS}
        return _idempotent(
            context, request, caller=0, response_type=user_pb2.CreateUserResponse,
            prepare=lambda: users.new_user_columns(fields, self._hasher),
            work=lambda columns: user_pb2.CreateUserResponse(user=convert.user(users.insert_user(columns))),
        )

    def GetUser(self, request, context):
        return user_pb2.GetUserResponse(user=convert.user(users.get_user(request.user_id)))

    def UpdateUser(self, request, context):
        changes = convert.set_fields(request, self._FIELDS)
        current = request.current_password if request.HasField("current_password") else None
        return user_pb2.UpdateUserResponse(
            user=convert.user(users.update_user(request.user_id, changes, self._hasher, current))
        )

    def DeactivateUser(self, request, context):
        return user_pb2.DeactivateUserResponse(user=convert.user(users.deactivate_user(request.user_id)))

    def AuthenticateUser(self, request, context):
        user = users.authenticate_user(request.username, request.password, self._hasher)
        return user_pb2.AuthenticateUserResponse(user=convert.user(user))


class OrderServicer(order_pb2_grpc.OrderServiceServicer):
    def PlaceOrder(self, request, context):
        return _idempotent(
            context, request, caller=request.user_id, response_type=order_pb2.PlaceOrderResponse,
            work=lambda _: order_pb2.PlaceOrderResponse(order=convert.order(
                orders.place_order(request.user_id, request.product_id, request.quantity))),
        )

    def GetOrder(self, request, context):
        return order_pb2.GetOrderResponse(order=convert.order(orders.get_order(request.order_id, request.user_id)))

    def ListOrders(self, request, context):
        page, token = orders.list_orders(request.user_id, request.page_size, request.page_token)
        return order_pb2.ListOrdersResponse(orders=[convert.order(o) for o in page], next_page_token=token)

    def UpdateOrder(self, request, context):
        changes = convert.set_fields(request, ("quantity", "product_id"))
        order = orders.update_order(
            request.order_id, request.user_id, changes.get("quantity"), changes.get("product_id")
        )
        return order_pb2.UpdateOrderResponse(order=convert.order(order))

    def CancelOrder(self, request, context):
        return order_pb2.CancelOrderResponse(order=convert.order(orders.cancel_order(request.order_id, request.user_id)))
