"""One DB-service call per REST request: every route, counted in the DB service's own access log.

The gateway no longer asks the DB service who the caller is before the
operation; the caller travels with the operation and is checked there, in
the same transaction. This counts, for one request of every route, the DB
service's `Accessing DB service: <RPC>` records under the request's id.
"""
from __future__ import annotations

import uuid

import pytest
import requests

from merch.store.v1 import greeting_service_pb2, greeting_service_pb2_grpc
from tests import support
from tests.rest_fixtures import PASSWORD, rest_gateway

ACCESS = "Accessing DB service: "


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A logging service, one DB-service process and a gateway, both shipping their logs to the first.

    One DB-service process: its records then reach the logging service in the
    order it wrote them, so a later call's record proves the earlier ones arrived.
    """
    state_dir = tmp_path_factory.mktemp("one-call")
    with support.logging_service(state_dir) as (log_address, _):
        with support.db_service(state_dir, MERCH_LOG_ADDR=log_address, MERCH_DB_PROCESSES="1") as (db_address, _):
            with rest_gateway(state_dir, db_address, log_address) as gateway:
                yield gateway, db_address, log_address


def test_every_route_makes_exactly_one_db_call(store):
    gateway, db_address, log_address = store
    url = gateway.url
    name = f"one{uuid.uuid4().hex[:10]}"
    registered = requests.post(url + "/register", json={"sid": name[:20], "username": name,
                                                        "email": f"{name}@sustech.edu.cn", "password": PASSWORD},
                               timeout=10)
    assert registered.status_code == 201, registered.text
    token, user_id = registered.json()["token"], registered.json()["user"]["id"]
    auth = {"Authorization": f"Bearer {token}"}

    def place() -> int:
        placed = requests.post(url + "/orders", json={"product_id": 1, "quantity": 1}, headers=auth, timeout=10)
        assert placed.status_code == 201, placed.text
        return placed.json()["id"]

    orders = [place() for _ in range(4)]
    # (method, path, body, the one RPC expected); deactivation last: it ends the token.
    routes = [
        ("GET", "/products", None, "ListProducts"),
        ("GET", "/products/1", None, "GetProduct"),
        ("POST", "/orders", {"product_id": 1, "quantity": 1}, "PlaceOrder"),
        ("POST", "/place-order", {"user_id": user_id, "product_id": 1, "quantity": 1}, "PlaceOrder"),
        ("GET", "/orders", None, "ListOrders"),
        ("GET", f"/orders/{orders[0]}", None, "GetOrder"),
        ("GET", f"/get-order/{orders[0]}", None, "GetOrder"),
        ("PATCH", f"/orders/{orders[1]}", {"quantity": 2}, "UpdateOrder"),
        ("PUT", "/update-order", {"order_id": orders[1], "quantity": 3}, "UpdateOrder"),
        ("DELETE", f"/orders/{orders[2]}", None, "CancelOrder"),
        ("DELETE", f"/cancel-order/{orders[3]}", None, "CancelOrder"),
        ("GET", f"/users/{user_id}", None, "GetUser"),
        ("GET", "/get-user", None, "GetUser"),
        ("PATCH", f"/users/{user_id}", {"email": f"{name}.2@sustech.edu.cn"}, "UpdateUser"),
        ("PUT", "/update-user", {"user_id": user_id, "email": f"{name}.3@sustech.edu.cn"}, "UpdateUser"),
        ("POST", "/login", {"username": name, "password": PASSWORD}, "AuthenticateUser"),
        ("POST", "/register", {"sid": f"r{name}"[:20], "username": f"r{name}", "password": PASSWORD,
                               "email": f"r{name}@sustech.edu.cn"}, "CreateUser"),
        ("DELETE", f"/users/{user_id}", None, "DeactivateUser"),
    ]
    sent = []
    for method, path, body, rpc in routes:
        request_id = f"one-{uuid.uuid4().hex}"
        answer = requests.request(method, url + path, json=body, timeout=10,
                                  headers={**auth, "X-Request-ID": request_id})
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
        sent.append((method, path, rpc, request_id))

    # A last call straight to the (one) DB-service process: once its record is in, every record that
    # process wrote before it is in too.
    marker = f"one-marker-{uuid.uuid4().hex}"
    with support.channel(db_address) as channel:
        greeting_service_pb2_grpc.GreetingServiceStub(channel).GetGreeting(
            greeting_service_pb2.GetGreetingRequest(), metadata=(("x-request-id", marker),), timeout=10)
    assert support.tail_records(log_address, marker, lambda found: bool(found), timeout=20), "the marker never arrived"

    for method, path, rpc, request_id in sent:
        calls = [r.message[len(ACCESS):] for r in support.tail_records(log_address, request_id, timeout=1.0)
                 if r.service == "db_service" and r.message.startswith(ACCESS)]
        assert calls == [rpc], f"{method} {path} made these DB-service calls: {calls}"


def test_a_deactivated_users_token_is_refused_by_the_operations_own_call(store):
    gateway, _db_address, _log_address = store
    name = f"off{uuid.uuid4().hex[:10]}"
    token = requests.post(gateway.url + "/register", json={
        "sid": name[:20], "username": name, "email": f"{name}@sustech.edu.cn", "password": PASSWORD,
    }, timeout=10).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.delete(gateway.url + "/deactivate-user", headers=auth, timeout=10).status_code == 200
    for method, path, body in (("GET", "/products/1", None), ("GET", "/get-user", None),
                               ("POST", "/orders", {"product_id": 1, "quantity": 1})):
        refused = requests.request(method, gateway.url + path, json=body, headers=auth, timeout=10)
        assert refused.status_code == 401, (path, refused.text)
        assert refused.json()["error"]["message"] == "this account is deactivated; its tokens no longer work"
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
