"""gRPC channels and stubs to the DB service, one channel per process, made after any fork.

`MERCH_DB_ADDR` may name several DB-service replicas (`127.0.0.1:50051,127.0.0.1:50061`,
IP addresses): the channel then balances calls round-robin across them. Every call carries
a deadline, the request id (`x-request-id`), the acting user when there is one
(`merch-caller-id`, `merch-caller-token-version`) and, when configured, the service
token; it fails at once (UNAVAILABLE, so 503) instead of waiting while the
backend is down.
"""
from __future__ import annotations

import itertools
import json
import os
import threading
from typing import Callable, Generic, TypeVar

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from merch.store.v1 import (greeting_service_pb2, greeting_service_pb2_grpc, order_pb2, order_pb2_grpc, product_pb2,
                            product_pb2_grpc, user_pb2, user_pb2_grpc)
from py_server import channels, telemetry

from api_rest.caller import CallContext

RequestT = TypeVar("RequestT", bound=Message)
ResponseT = TypeVar("ResponseT", bound=Message)

CHANNEL_OPTIONS = [
    # Round-robin over every address of the list (one address: just that one).
    ("grpc.service_config", json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})),
    # No retries: PlaceOrder is not idempotent, and a down backend must give 503 at once.
    ("grpc.enable_retries", 0),
    # Reconnect soon after a backend restart instead of backing off for minutes. (Not
    # grpc.min_reconnect_backoff_ms: gRPC core takes it as the time one connection attempt may
    # take, default 20 s; at 100 ms a busy machine failed first connections, and so requests, with 503.)
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 5_000),
]


class _Stubs:
    def __init__(self, channel: grpc.Channel):
        self.channel = channel
        self.greeting = greeting_service_pb2_grpc.GreetingServiceStub(channel)
        self.products = product_pb2_grpc.ProductServiceStub(channel)
        self.users = user_pb2_grpc.UserServiceStub(channel)
        self.orders = order_pb2_grpc.OrderServiceStub(channel)
        self.health = health_pb2_grpc.HealthStub(channel)


class Rpc(Generic[RequestT, ResponseT]):
    """One unary RPC of the DB service, typed by its request and response messages.

    `rpc(request, ctx)` returns the response; `rpc.idempotent(request, ctx, key)`
    returns (response, replayed). `pick` selects the generated stub's method, so the
    method is an attribute of the stub, not a name looked up at run time.
    """

    def __init__(self, backend: Backend, pick: Callable[[_Stubs], grpc.UnaryUnaryMultiCallable]):
        self._backend, self._pick = backend, pick

    def __call__(self, request: RequestT, ctx: CallContext) -> ResponseT:
        return self._pick(self._backend._current())(
            request, timeout=self._backend.timeout_seconds, metadata=self._backend.metadata(ctx),
            wait_for_ready=False)

    def idempotent(self, request: RequestT, ctx: CallContext, key: str | None) -> tuple[ResponseT, bool]:
        """The call with `idempotency-key` metadata when `key` is given.

        replayed is True when the DB service answered with the stored response
        of an earlier call with this key (`idempotent-replayed: true`).
        """
        if key is None:
            return self(request, ctx), False
        response, call = self._pick(self._backend._current()).with_call(
            request, timeout=self._backend.timeout_seconds,
            metadata=(*self._backend.metadata(ctx), ("idempotency-key", key)), wait_for_ready=False)
        return response, ("idempotent-replayed", "true") in tuple(call.initial_metadata() or ())


class GreetingCalls:
    def __init__(self, backend: Backend):
        self.GetGreeting = Rpc[greeting_service_pb2.GetGreetingRequest, greeting_service_pb2.GetGreetingResponse](
            backend, lambda s: s.greeting.GetGreeting)


class ProductCalls:
    def __init__(self, backend: Backend):
        self.GetProduct = Rpc[product_pb2.GetProductRequest, product_pb2.GetProductResponse](
            backend, lambda s: s.products.GetProduct)
        self.ListProducts = Rpc[product_pb2.ListProductsRequest, product_pb2.ListProductsResponse](
            backend, lambda s: s.products.ListProducts)


class UserCalls:
    def __init__(self, backend: Backend):
        self.CreateUser = Rpc[user_pb2.CreateUserRequest, user_pb2.CreateUserResponse](
            backend, lambda s: s.users.CreateUser)
        self.GetUser = Rpc[user_pb2.GetUserRequest, user_pb2.GetUserResponse](
            backend, lambda s: s.users.GetUser)
        self.UpdateUser = Rpc[user_pb2.UpdateUserRequest, user_pb2.UpdateUserResponse](
            backend, lambda s: s.users.UpdateUser)
        self.DeactivateUser = Rpc[user_pb2.DeactivateUserRequest, user_pb2.DeactivateUserResponse](
            backend, lambda s: s.users.DeactivateUser)
        self.AuthenticateUser = Rpc[user_pb2.AuthenticateUserRequest, user_pb2.AuthenticateUserResponse](
            backend, lambda s: s.users.AuthenticateUser)


class OrderCalls:
    def __init__(self, backend: Backend):
        self.PlaceOrder = Rpc[order_pb2.PlaceOrderRequest, order_pb2.PlaceOrderResponse](
            backend, lambda s: s.orders.PlaceOrder)
        self.GetOrder = Rpc[order_pb2.GetOrderRequest, order_pb2.GetOrderResponse](
            backend, lambda s: s.orders.GetOrder)
        self.ListOrders = Rpc[order_pb2.ListOrdersRequest, order_pb2.ListOrdersResponse](
            backend, lambda s: s.orders.ListOrders)
        self.UpdateOrder = Rpc[order_pb2.UpdateOrderRequest, order_pb2.UpdateOrderResponse](
            backend, lambda s: s.orders.UpdateOrder)
        self.CancelOrder = Rpc[order_pb2.CancelOrderRequest, order_pb2.CancelOrderResponse](
            backend, lambda s: s.orders.CancelOrder)


class Backend:
    """The DB service as the gateway sees it, one typed call per RPC:
    `backend.orders.PlaceOrder(request, ctx)`, `backend.users.CreateUser.idempotent(request, ctx, key)`.

    The channels are created lazily by the first call in each process (keyed
    by pid), so a pre-forking server never shares a channel across a fork.
    Each process opens `connections` channels, each with its own connection
    (a local subchannel pool), and takes them in turn: a DB service of several
    processes on one port (SO_REUSEPORT) hands each connection to one of its
    processes, so a single connection would keep every call on one of them.
    """

    def __init__(self, addresses: str, *, timeout_seconds: float, service_token: str | None = None,
                 connections: int = 4):
        self.target = channels.target(addresses)
        self.timeout_seconds = timeout_seconds
        self.connections = connections
        self._auth = (("authorization", f"Bearer {service_token}"),) if service_token else ()
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._all: list[_Stubs] = []
        self._turns = itertools.cycle(())
        self.greeting = GreetingCalls(self)
        self.products = ProductCalls(self)
        self.users = UserCalls(self)
        self.orders = OrderCalls(self)

    def _current(self) -> _Stubs:
        if self._pid != os.getpid():
            self._open()
        return next(self._turns)  # itertools.cycle: one step is atomic under the GIL

    def _open(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            # Channels inherited through fork() are unusable and are not closed here.
            # Traced: each call's span travels to the DB service as `traceparent` metadata.
            options = [*CHANNEL_OPTIONS, ("grpc.use_local_subchannel_pool", 1)]
            self._all = [_Stubs(telemetry.traced_channel(grpc.insecure_channel(self.target, options=options)))
                         for _ in range(self.connections)]
            self._turns = itertools.cycle(self._all)
            self._pid = os.getpid()

    def metadata(self, ctx: CallContext) -> tuple[tuple[str, str], ...]:
        """What every call carries: the request id, the caller (when a user is acting), the service token."""
        caller: tuple[tuple[str, str], ...] = ()
        if ctx.user_id is not None:
            caller = (("merch-caller-id", str(ctx.user_id)),)
            if ctx.token_version is not None:
                caller += (("merch-caller-token-version", str(ctx.token_version)),)
        return (("x-request-id", ctx.request_id), *caller, *self._auth, *telemetry.outgoing_metadata())

    def serving(self, timeout_seconds: float = 1.0) -> bool:
        """Whether the DB service reports SERVING on grpc.health.v1."""
        try:
            reply = self._current().health.Check(
                health_pb2.HealthCheckRequest(), timeout=timeout_seconds, wait_for_ready=False
            )
        except grpc.RpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def close(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                for stubs in self._all:
                    stubs.channel.close()
            self._all, self._turns, self._pid = [], itertools.cycle(()), None
