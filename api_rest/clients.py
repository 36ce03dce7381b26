"""gRPC channels and stubs to the DB service, one channel per process, made after any fork.

`MERCH_DB_ADDR` may name several DB-service replicas (`127.0.0.1:50051,127.0.0.1:50061`,
IP addresses): the channel then balances calls round-robin across them. Every call carries
a deadline, the request id (`x-request-id`) and, when configured, the service
token; it fails at once (UNAVAILABLE, so 503) instead of waiting while the
backend is down.
"""
from __future__ import annotations

import json
import os
import threading

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from merch.store.v1 import greeting_service_pb2_grpc, order_pb2_grpc, product_pb2_grpc, user_pb2_grpc
from py_server import channels, telemetry

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


class Backend:
    """The DB service as the gateway sees it: `call("orders", "PlaceOrder", request, request_id)`.

    The channel is created lazily by the first call in each process (keyed by
    pid), so a pre-forking server never shares a channel across a fork.
    """

    def __init__(self, addresses: str, *, timeout_seconds: float, service_token: str | None = None):
        self.target = channels.target(addresses)
        self.timeout_seconds = timeout_seconds
        self._auth = (("authorization", f"Bearer {service_token}"),) if service_token else ()
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._stubs: _Stubs | None = None

    def _current(self) -> _Stubs:
        pid = os.getpid()
        stubs = self._stubs
        if stubs is not None and self._pid == pid:
            return stubs
        with self._lock:
            if self._stubs is None or self._pid != pid:
                # A channel inherited through fork() is unusable and is not closed here.
                # Traced: each call's span travels to the DB service as `traceparent` metadata.
                self._stubs = _Stubs(telemetry.traced_channel(grpc.insecure_channel(self.target, options=CHANNEL_OPTIONS)))
                self._pid = pid
            return self._stubs

    def call(self, service: str, method: str, request, request_id: str):
        rpc = getattr(getattr(self._current(), service), method)
        metadata = (("x-request-id", request_id), *self._auth, *telemetry.outgoing_metadata())
        return rpc(request, timeout=self.timeout_seconds, metadata=metadata, wait_for_ready=False)

    def call_idempotent(self, service: str, method: str, request, request_id: str, key: str | None):
        """Like call(), with the `idempotency-key` metadata when `key` is given.

        Returns (response, replayed): replayed is True when the DB service
        answered with the stored response of an earlier call with this key.
        """
        if key is None:
            return self.call(service, method, request, request_id), False
        rpc = getattr(getattr(self._current(), service), method)
        metadata = (("x-request-id", request_id), ("idempotency-key", key), *self._auth)
        response, rpc_call = rpc.with_call(request, timeout=self.timeout_seconds, metadata=metadata,
                                           wait_for_ready=False)
        replayed = ("idempotent-replayed", "true") in tuple(rpc_call.initial_metadata() or ())
        return response, replayed

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
            if self._stubs is not None and self._pid == os.getpid():
                self._stubs.channel.close()
            self._stubs = None
