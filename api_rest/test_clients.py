"""The gateway's typed calls: each carries the request id, the acting user and the service token."""
from __future__ import annotations

import concurrent.futures

import grpc
import pytest

from merch.store.v1 import order_pb2, order_pb2_grpc, user_pb2, user_pb2_grpc

from api_rest.caller import CallContext
from api_rest.clients import Backend


class _Recorder(order_pb2_grpc.OrderServiceServicer, user_pb2_grpc.UserServiceServicer):
    """Answers PlaceOrder and GetUser, keeping each call's metadata; a key seen before is replayed."""

    def __init__(self):
        self.metadata: list[dict[str, str]] = []
        self.keys: set[str] = set()

    def PlaceOrder(self, request, context):
        metadata = dict(context.invocation_metadata())
        self.metadata.append(metadata)
        key = metadata.get("idempotency-key")
        if key is not None and key in self.keys:
            context.send_initial_metadata((("idempotent-replayed", "true"),))
        if key is not None:
            self.keys.add(key)
        return order_pb2.PlaceOrderResponse(order=order_pb2.Order(id=7, quantity=request.quantity))

    def GetUser(self, request, context):
        self.metadata.append(dict(context.invocation_metadata()))
        return user_pb2.GetUserResponse(user=user_pb2.User(id=request.user_id))


@pytest.fixture
def recorder():
    servicer = _Recorder()
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=2))
    order_pb2_grpc.add_OrderServiceServicer_to_server(servicer, server)
    user_pb2_grpc.add_UserServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    backend = Backend(f"127.0.0.1:{port}", timeout_seconds=5, service_token="s3cret")
    yield backend, servicer
    backend.close()
    server.stop(None)


def test_a_call_for_a_user_carries_request_id_caller_and_service_token(recorder):
    backend, servicer = recorder
    reply = backend.orders.PlaceOrder(order_pb2.PlaceOrderRequest(user_id=5, product_id=2, quantity=3),
                                      CallContext("req-1", user_id=5, token_version=2))
    assert (reply.order.id, reply.order.quantity) == (7, 3)
    sent = servicer.metadata[-1]
    assert sent["x-request-id"] == "req-1"
    assert (sent["merch-caller-id"], sent["merch-caller-token-version"]) == ("5", "2")
    assert sent["authorization"] == "Bearer s3cret"
    assert "idempotency-key" not in sent


def test_a_call_with_no_user_carries_no_caller(recorder):
    backend, servicer = recorder
    backend.users.GetUser(user_pb2.GetUserRequest(user_id=9), CallContext("req-2"))
    sent = servicer.metadata[-1]
    assert sent["x-request-id"] == "req-2"
    assert "merch-caller-id" not in sent and "merch-caller-token-version" not in sent


def test_an_idempotent_call_sends_the_key_and_reports_a_replay(recorder):
    backend, servicer = recorder
    request, ctx = order_pb2.PlaceOrderRequest(user_id=5, product_id=2, quantity=1), CallContext("r", 5, 1)
    first = backend.orders.PlaceOrder.idempotent(request, ctx, "key-1")
    again = backend.orders.PlaceOrder.idempotent(request, ctx, "key-1")
    assert (first[1], again[1]) == (False, True)
    assert servicer.metadata[-1]["idempotency-key"] == "key-1"
    assert backend.orders.PlaceOrder.idempotent(request, ctx, None)[1] is False
    assert "idempotency-key" not in servicer.metadata[-1]
