"""The REST gateway and merchctl (the real Go binary) against one running set of Python services.

One logging service, one DB service (SQLite, then PostgreSQL) that ships its
access logs there, and one gateway in front of both, all on free ports. The
two clients take turns on the same data and must agree on it: the same order,
the same money (REST's `total_price` 2-decimal number against merchctl's
`total_price_cents`), the same stock, the same log records, and the same
failure reported as matching codes (HTTP status and merchctl's exit code
64 + the gRPC status code).
"""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import os
import queue
import signal
import subprocess
import threading
import time
import uuid

import grpc
import pytest
import requests

from api_rest import errors as rest_errors
from tests import support
from tests.rest_fixtures import rest_gateway

MERCHCTL = support.REPO / "bin/merchctl"
PASSWORD = "correct horse battery"
EXIT_RPC = 64  # merchctl exits 64 + the gRPC status code when an RPC fails, as grpcurl does


@dataclasses.dataclass
class Store:
    db: str
    log: str
    rest: str
    session: requests.Session


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(request, tmp_path_factory):
    assert MERCHCTL.exists(), f"{MERCHCTL} is missing: run scripts/setup.sh (or `make test`) to build it"
    state = tmp_path_factory.mktemp(f"interop-{request.param}")
    url = request.getfixturevalue("postgres").new_database() if request.param == "postgres" else None
    with support.logging_service(state) as (log, _), \
            support.db_service(state, url, MERCH_LOG_ADDR=log) as (db, _), \
            rest_gateway(state, db, log) as gateway, \
            requests.Session() as session:
        yield Store(db, log, gateway.url, session)


# --- the two clients ----------------------------------------------------------------------------


def merchctl_command(store: Store, *args: str, request_id: str | None = None) -> list[str]:
    command = [str(MERCHCTL), "--db-addr", store.db, "--log-addr", store.log, "--timeout", "10s"]
    if request_id:
        command += ["-H", f"x-request-id: {request_id}"]
    return [*command, *args]


def clean_env() -> dict[str, str]:
    """No MERCH_* from the developer's shell: only the flags say where the services are, and the
    environment gives the services' token, as an operator's would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERCH_")}
    env["MERCH_SERVICE_TOKEN"] = support.SERVICE_TOKEN
    return env


def merchctl(store: Store, *args: str, stdin: str | None = None,
             request_id: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(merchctl_command(store, *args, request_id=request_id), input=stdin,
                          capture_output=True, text=True, timeout=30, env=clean_env())


def merchctl_json(store: Store, *args: str, **kwargs) -> dict:
    """Runs a merchctl command with `-o json` that must succeed; its one response as a dict."""
    result = merchctl(store, *args, "-o", "json", **kwargs)
    assert result.returncode == 0, f"merchctl {' '.join(args)} exited {result.returncode}: {result.stderr}"
    return json.loads(result.stdout)


def rest(store: Store, method: str, path: str, *, token: str | None = None, request_id: str | None = None,
         **kwargs) -> requests.Response:
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if request_id:
        headers["X-Request-ID"] = request_id
    return store.session.request(method, store.rest + path, headers=headers, timeout=15, **kwargs)


def body(response: requests.Response):
    """The JSON body with every non-integer number as an exact Decimal (money is never a float)."""
    return json.loads(response.content, parse_float=decimal.Decimal)


def new_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def register_over_rest(store: Store, request_id: str | None = None) -> tuple[dict, str]:
    name = new_name("i")
    response = rest(store, "POST", "/register", request_id=request_id, json={
        "sid": name, "username": name, "email": f"{name}@sustech.edu.cn", "password": PASSWORD})
    assert response.status_code == 201, response.text
    data = body(response)
    return data["user"], data["token"]


def create_product_with_merchctl(store: Store, *, price: str = "12.34", stock: int = 10) -> dict:
    return merchctl_json(store, "products", "create", "--name", new_name("Interop Mug "), "--category", "Drinkware",
                         "--price", price, "--stock", str(stock), "--description", "a mug")["product"]


def cents(amount: decimal.Decimal) -> int:
    assert amount == amount.quantize(decimal.Decimal("0.01")), f"{amount} has more than two decimals"
    return int(amount * 100)


def instant(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- merchctl logs tail, bounded ----------------------------------------------------------------


def tail_until(store: Store, request_id: str, wanted: set[tuple[str, str]], timeout: float = 15.0) -> list[dict]:
    """`merchctl logs tail --request-id R --last 100 -o json` until every (service, message) in
    `wanted` arrived (backlog or live), then SIGTERM, which must end it with exit 0."""
    process = subprocess.Popen(
        merchctl_command(store, "logs", "tail", "--request-id", request_id, "--last", "100", "-o", "json"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    records, deadline = [], time.monotonic() + timeout
    try:
        while not wanted <= {(r["service"], r["message"]) for r in records} and time.monotonic() < deadline:
            try:
                records.append(json.loads(lines.get(timeout=0.2))["record"])
            except queue.Empty:
                assert process.poll() is None, f"logs tail ended early: {process.stderr.read()}"
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=10)
    assert returncode == 0, f"logs tail must end with 0 on SIGTERM, got {returncode}"
    missing = wanted - {(r["service"], r["message"]) for r in records}
    assert not missing, f"records of {request_id} never arrived: {missing}; got {records}"
    assert {r["request_id"] for r in records} == {request_id}, "the tail's --request-id filter let others through"
    return records


# --- the scenario -------------------------------------------------------------------------------


def test_rest_and_merchctl_see_the_same_user_order_stock_and_logs(store):
    rid = {step: f"interop-{step}-{uuid.uuid4().hex[:8]}" for step in ("register", "place", "read", "cancel")}

    # Register over REST; merchctl authenticates the same user with the same password.
    rest_user, token = register_over_rest(store, request_id=rid["register"])
    authenticated = merchctl_json(store, "users", "authenticate", "--username", rest_user["username"],
                                  "--password-stdin", stdin=PASSWORD + "\n")["user"]
    assert {k: authenticated[k] for k in ("id", "sid", "username", "email", "active")} == \
        {k: rest_user[k] for k in ("id", "sid", "username", "email", "active")}
    assert instant(authenticated["create_time"]) == instant(rest_user["created_at"])

    # A product of our own (the REST API only reads the catalogue), seen over REST as merchctl made it.
    product = create_product_with_merchctl(store, price="12.34", stock=10)
    seen = body(rest(store, "GET", f"/products/{product['id']}", token=token))
    assert (seen["name"], cents(seen["price"]), seen["stock"]) == (product["name"], int(product["price_cents"]), 10)

    # merchctl places the order; REST reads the same order, the money in both forms.
    placed = merchctl_json(store, "orders", "place", "--user-id", str(rest_user["id"]), "--product-id",
                           str(product["id"]), "--quantity", "3", request_id=rid["place"])["order"]
    assert (placed["status"], placed["total_price_cents"]) == ("ORDER_STATUS_PLACED", "3702")
    response = rest(store, "GET", f"/orders/{placed['id']}", token=token, request_id=rid["read"])
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-ID"] == rid["read"]
    assert '"total_price": 37.02' in response.text, "money is a JSON number with two decimals"
    order = body(response)
    assert {k: order[k] for k in ("id", "user_id", "product_id", "quantity")} == \
        {k: placed[k] for k in ("id", "user_id", "product_id", "quantity")}
    assert (order["status"], cents(order["total_price"])) == ("placed", int(placed["total_price_cents"]))
    assert instant(order["created_at"]) == instant(placed["create_time"])
    assert body(rest(store, "GET", f"/products/{product['id']}", token=token))["stock"] == 7

    # merchctl cancels; REST sees the order cancelled and the stock restored.
    cancelled = merchctl_json(store, "orders", "cancel", str(placed["id"]), "--user-id", str(rest_user["id"]),
                              request_id=rid["cancel"])["order"]
    assert cancelled["status"] == "ORDER_STATUS_CANCELLED"
    assert body(rest(store, "GET", f"/orders/{placed['id']}", token=token))["status"] == "cancelled"
    assert body(rest(store, "GET", f"/products/{product['id']}", token=token))["stock"] == 10
    listed = body(rest(store, "GET", "/orders", token=token))["orders"]
    assert [(o["id"], o["status"]) for o in listed] == [(placed["id"], "cancelled")]

    # Each request id reaches the logs of every service it passed through: the gateway's records
    # carry the X-Request-ID header, the DB service's the x-request-id metadata (from the gateway
    # or from merchctl -H).
    register_records = tail_until(store, rid["register"], {
        ("api_rest", "Incoming request: POST /register"),
        ("api_rest", "Response status: 201 for POST /register"),
        ("db_service", "Accessing DB service: CreateUser"),
    })
    response_record = next(r for r in register_records if r["message"].startswith("Response status"))
    assert response_record["fields"]["status"] == "201" and response_record["fields"]["path"] == "/register"
    tail_until(store, rid["read"], {
        ("api_rest", f"Incoming request: GET /orders/{placed['id']}"),
        ("api_rest", f"Response status: 200 for GET /orders/{placed['id']}"),
        ("db_service", "Accessing DB service: GetOrder"),
    })
    for step, rpc in (("place", "PlaceOrder"), ("cancel", "CancelOrder")):
        records = tail_until(store, rid[step], {("db_service", f"Accessing DB service: {rpc}")})
        assert [r["service"] for r in records] == ["db_service"], "merchctl's calls bypass the gateway"
        assert records[0]["fields"]["status"] == "OK"


# --- the same failure on both sides -------------------------------------------------------------


@dataclasses.dataclass
class Case:
    id: str
    rest: object  # (fixture data) -> (method, path, token-or-None, json body)
    merchctl: object  # (fixture data) -> merchctl arguments
    http_status: int
    code: grpc.StatusCode
    fields: tuple[str, ...] = ()  # for INVALID_ARGUMENT: the offending fields, in order


@pytest.fixture(scope="module")
def failures(store):
    """What the failure cases need: a customer, a product, an empty product, a cancelled order, a stranger's order."""
    user, token = register_over_rest(store)
    product = create_product_with_merchctl(store)
    empty = create_product_with_merchctl(store, stock=0)
    order = merchctl_json(store, "orders", "place", "--user-id", str(user["id"]), "--product-id",
                          str(product["id"]))["order"]
    merchctl_json(store, "orders", "cancel", str(order["id"]))
    stranger, _ = register_over_rest(store)
    other = merchctl_json(store, "orders", "place", "--user-id", str(stranger["id"]), "--product-id",
                          str(product["id"]))["order"]
    return {"user": user, "token": token, "product": product, "empty": empty, "cancelled": order, "other": other}


def place(data: dict, product_id, quantity: int):
    return ("POST", "/orders", data["token"], {"product_id": product_id, "quantity": quantity})


def place_args(data: dict, product_id, quantity: int) -> list[str]:
    return ["orders", "place", "--user-id", str(data["user"]["id"]), "--product-id", str(product_id),
            "--quantity", str(quantity)]


CASES = [
    Case("quantity-out-of-range",
         lambda d: place(d, d["product"]["id"], 4),
         lambda d: place_args(d, d["product"]["id"], 4),
         400, grpc.StatusCode.INVALID_ARGUMENT, ("quantity",)),  # the gateway checks the proto's rule itself
    Case("registration-breaking-field-rules",
         lambda d: ("POST", "/register", None, {"sid": "1" * 21, "username": new_name("u"), "email": "not-an-email",
                                                "password": "p" * 73}),
         lambda d: ["users", "register", "--sid", "1" * 21, "--username", new_name("u"), "--email", "not-an-email",
                    "--password", "p" * 73],
         400, grpc.StatusCode.INVALID_ARGUMENT, ("sid", "email", "password")),
    Case("unknown-product",
         lambda d: place(d, 999_999, 1),
         lambda d: place_args(d, 999_999, 1),
         404, grpc.StatusCode.NOT_FOUND),
    Case("another-users-order-is-missing",
         lambda d: ("GET", f"/orders/{d['other']['id']}", d["token"], None),
         lambda d: ["orders", "get", str(d["other"]["id"]), "--user-id", str(d["user"]["id"])],
         404, grpc.StatusCode.NOT_FOUND),
    Case("duplicate-username",
         lambda d: ("POST", "/register", None, {"sid": new_name("s"), "username": d["user"]["username"],
                                                "email": f"{new_name('e')}@sustech.edu.cn", "password": PASSWORD}),
         lambda d: ["users", "register", "--sid", new_name("s"), "--username", d["user"]["username"],
                    "--email", f"{new_name('e')}@sustech.edu.cn", "--password", PASSWORD],
         409, grpc.StatusCode.ALREADY_EXISTS),
    Case("out-of-stock",
         lambda d: place(d, d["empty"]["id"], 1),
         lambda d: place_args(d, d["empty"]["id"], 1),
         400, grpc.StatusCode.FAILED_PRECONDITION),
    Case("cancel-twice",
         lambda d: ("DELETE", f"/orders/{d['cancelled']['id']}", d["token"], None),
         lambda d: ["orders", "cancel", str(d["cancelled"]["id"]), "--user-id", str(d["user"]["id"])],
         400, grpc.StatusCode.FAILED_PRECONDITION),
    Case("wrong-password",
         lambda d: ("POST", "/login", None, {"username": d["user"]["username"], "password": "wrong horse battery"}),
         lambda d: ["users", "authenticate", "--username", d["user"]["username"], "--password", "wrong horse battery"],
         401, grpc.StatusCode.UNAUTHENTICATED),
]


def test_an_idempotency_key_is_shared_by_rest_and_merchctl(store):
    """An order placed over REST with a key, retried by merchctl with the same key: one order."""
    name = f"k{uuid.uuid4().hex[:10]}"
    registered = rest(store, "POST", "/register", json={"sid": name, "username": name, "email": f"{name}@x.org",
                                                        "password": PASSWORD})
    user, token = body(registered)["user"], body(registered)["token"]
    key = str(uuid.uuid4())
    placed = store.session.post(
        store.rest + "/orders", json={"product_id": 2, "quantity": 1}, timeout=15,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})
    assert placed.status_code == 201
    retry = merchctl(store, "orders", "place", "--user-id", str(user["id"]), "--product-id", "2",
                     "--quantity", "1", "--idempotency-key", key, "-o", "json")
    assert retry.returncode == 0, retry.stderr
    assert "replayed" in retry.stderr
    assert json.loads(retry.stdout)["order"]["id"] == body(placed)["id"]
    other = merchctl(store, "orders", "place", "--user-id", str(user["id"]), "--product-id", "2",
                     "--quantity", "2", "--idempotency-key", key)
    assert other.returncode == EXIT_RPC + grpc.StatusCode.FAILED_PRECONDITION.value[0], other.stderr
    assert len(body(rest(store, "GET", "/orders", token=token))["orders"]) == 1


def test_failure_table_follows_the_gateways_documented_code_mapping():
    """The table's HTTP statuses are the gateway's standard gRPC->HTTP mapping (FAILED_PRECONDITION is 400)."""
    for case in CASES:
        assert rest_errors.HTTP_STATUS[case.code] == case.http_status, case.id


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_same_failure_gets_matching_codes_over_rest_and_merchctl(store, failures, case):
    method, path, token, json_body = case.rest(failures)
    response = rest(store, method, path, token=token, json=json_body)
    result = merchctl(store, *case.merchctl(failures))

    assert response.status_code == case.http_status, response.text
    error = body(response)["error"]
    assert (error["code"], error["status"]) == (case.code.name, case.http_status)
    assert result.returncode == EXIT_RPC + case.code.value[0], result.stderr
    first_line = result.stderr.splitlines()[0]
    assert first_line.startswith(f"merchctl: {case.code.name}: "), result.stderr
    assert first_line == f"merchctl: {case.code.name}: {error['message']}"  # the same words
    if case.code is grpc.StatusCode.INVALID_ARGUMENT:  # both name the offending fields
        assert [v["field"] for v in error["field_violations"]] == list(case.fields)
        for line, field in zip(result.stderr.splitlines()[1:], case.fields, strict=False):
            assert line.strip().startswith(f"{field}: "), result.stderr


def test_a_stopped_db_service_is_503_over_rest_and_exit_78_from_merchctl_at_once(tmp_path):
    # A set of its own (the module's DB service stays up); with a live logging service, because
    # the DB service and the gateway wait a few seconds on shutdown to flush logs to an absent one.
    with support.logging_service(tmp_path) as (log, _), \
            support.db_service(tmp_path, MERCH_LOG_ADDR=log) as (address, process), \
            rest_gateway(tmp_path, address, log) as gateway, requests.Session() as session:
        alone = Store(address, log, gateway.url, session)
        assert merchctl_json(alone, "greet") == {"message": "Welcome to the gRPC Service!"}
        assert process.stop() == 0

        started = time.monotonic()
        result = merchctl(alone, "greet", "--timeout", "60s")  # failing fast is not waiting the 60 s out
        elapsed = time.monotonic() - started
        assert result.returncode == EXIT_RPC + grpc.StatusCode.UNAVAILABLE.value[0], result.stderr
        assert result.stderr.startswith("merchctl: UNAVAILABLE: ")
        assert elapsed < 20, f"merchctl took {elapsed:.1f}s to report a stopped service"

        response = rest(alone, "GET", "/")
        assert response.status_code == 503
        assert body(response)["error"]["code"] == "UNAVAILABLE"
