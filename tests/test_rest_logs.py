"""The seed's request logs: the gateway's records and the DB service's, for one request, arrive at
the logging service under the request's id."""
from __future__ import annotations

import threading
import uuid

import pytest
import requests

from merch.logging.v1 import logging_pb2
from tests import support
from tests.rest_fixtures import PASSWORD, rest_gateway


@pytest.fixture(scope="module")
def logged_store(tmp_path_factory):
    """A logging service, a DB service and a gateway, the latter two shipping logs to the first."""
    state_dir = tmp_path_factory.mktemp("logged-store")
    with support.logging_service(state_dir) as (log_address, _):
        with support.db_service(state_dir, MERCH_LOG_ADDR=log_address) as (db_address, _):
            with rest_gateway(state_dir, db_address, log_address) as gateway:
                yield gateway, log_address


def test_a_requests_records_from_gateway_and_db_service_share_its_request_id(logged_store):
    gateway, log_address = logged_store
    name = f"log{uuid.uuid4().hex[:10]}"
    token = requests.post(gateway.url + "/register", json={
        "sid": name[:20], "username": name, "email": f"{name}@sustech.edu.cn", "password": PASSWORD,
    }, timeout=10).json()["token"]
    user_id = requests.get(gateway.url + "/get-user", headers={"Authorization": f"Bearer {token}"},
                           timeout=10).json()["id"]
    request_id = f"it-{uuid.uuid4().hex}"

    def complete(records):
        messages = {(r.service, r.message) for r in records}
        return {("api_rest", "Incoming request: POST /place-order"),
                ("api_rest", "Response status: 201 for POST /place-order"),
                ("db_service", "Accessing DB service: PlaceOrder")} <= messages

    response = requests.post(gateway.url + "/place-order", headers={
        "Authorization": f"Bearer {token}", "X-Request-ID": request_id,
    }, json={"user_id": user_id, "product_id": 3, "quantity": 2}, timeout=10)
    assert response.status_code == 201
    assert response.headers["X-Request-ID"] == request_id

    records = support.tail_records(log_address, request_id, complete)
    assert complete(records), [(r.service, r.message) for r in records]
    assert all(r.request_id == request_id for r in records)
    by_message = {r.message: r for r in records}
    incoming = by_message["Incoming request: POST /place-order"]
    assert dict(incoming.fields) == {"method": "POST", "path": "/place-order"}
    answered = by_message["Response status: 201 for POST /place-order"]
    assert answered.level == logging_pb2.LOG_LEVEL_INFO
    assert answered.fields["method"] == "POST" and answered.fields["path"] == "/place-order"
    assert answered.fields["status"] == "201" and answered.fields["user_id"] == str(user_id)
    assert float(answered.fields["latency_ms"]) > 0


def test_unrouted_and_failed_requests_are_logged_too(logged_store):
    gateway, log_address = logged_store
    request_id = f"it-{uuid.uuid4().hex}"
    requests.get(gateway.url + "/no-such-path", headers={"X-Request-ID": request_id}, timeout=10)
    wanted = "Response status: 404 for GET /no-such-path"
    records = support.tail_records(log_address, request_id, lambda rs: any(r.message == wanted for r in rs))
    assert [r.message for r in records] == ["Incoming request: GET /no-such-path", wanted]


def test_concurrent_requests_each_get_their_own_request_id(logged_store):
    gateway, _ = logged_store
    seen: list[str] = []
    lock = threading.Lock()

    def hit():
        rid = requests.get(gateway.url + "/", timeout=10).headers["X-Request-ID"]
        with lock:
            seen.append(rid)

    threads = [threading.Thread(target=hit) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 16
