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
from py_server.store import orders, products, users

GREETING = "Welcome to the gRPC Service!"


class GreetingServicer(greeting_service_pb2_grpc.GreetingServiceServicer):
    def GetGreeting(self, request, context):
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
        return user_pb2.CreateUserResponse(user=convert.user(users.create_user(fields, self._hasher)))

    def GetUser(self, request, context):
        return user_pb2.GetUserResponse(user=convert.user(users.get_user(request.user_id)))

    def UpdateUser(self, request, context):
        changes = convert.set_fields(request, self._FIELDS)
        return user_pb2.UpdateUserResponse(
            user=convert.user(users.update_user(request.user_id, changes, self._hasher))
        )

    def DeactivateUser(self, request, context):
        return user_pb2.DeactivateUserResponse(user=convert.user(users.deactivate_user(request.user_id)))

    def AuthenticateUser(self, request, context):
        user = users.authenticate_user(request.username, request.password, self._hasher)
        return user_pb2.AuthenticateUserResponse(user=convert.user(user))


class OrderServicer(order_pb2_grpc.OrderServiceServicer):
    def PlaceOrder(self, request, context):
        order = orders.place_order(request.user_id, request.product_id, request.quantity)
        return order_pb2.PlaceOrderResponse(order=convert.order(order))

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
