"""The store under hurried and hostile use, against real services:

concurrent writers on the embedded SQLite, deadlines honoured before commit,
bounded password hashing, Idempotency-Key across two gateway replicas,
login throttling, normalised identities, private state and service auth by default.
"""
from __future__ import annotations

import concurrent.futures
import os
import sqlite3
import stat
import subprocess
import threading
import time
import uuid

import grpc
import pytest
import requests

from merch.store.v1 import order_pb2, order_pb2_grpc, product_pb2, product_pb2_grpc, user_pb2, user_pb2_grpc
from tests import support
from tests.rest_fixtures import PASSWORD, new_product, parse_json, rest_gateway


def _stubs(channel):
    return (user_pb2_grpc.UserServiceStub(channel), order_pb2_grpc.OrderServiceStub(channel),
            product_pb2_grpc.ProductServiceStub(channel))


def _new_user(users, name: str | None = None, **fields):
    name = name or f"u{uuid.uuid4().hex[:10]}"
    request = dict(sid=name[:20], username=name, email=f"{name}@x.org", password=PASSWORD)
    request.update(fields)
    return users.CreateUser(user_pb2.CreateUserRequest(**request), timeout=10).user


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory):
    state = tmp_path_factory.mktemp("hardening")
    with support.db_service(state) as (address, proc):
        yield address, state, proc


# --- concurrent writers on SQLite -----------------------------------------------------------------

def test_sixteen_concurrent_writers_on_sqlite_lose_nothing_and_get_no_error(sqlite_db):
    address, _, _ = sqlite_db
    with support.channel(address) as channel:
        users, orders, products = _stubs(channel)
        product = products.CreateProduct(product_pb2.CreateProductRequest(
            name=f"p{uuid.uuid4().hex[:8]}", category="Test", price_cents=100, stock=1000), timeout=10).product
        people = [_new_user(users) for _ in range(2)]
        errors, placed = [], []

        def writer(n: int) -> None:
            user = people[n % 2]
            for i in range(6):
                try:
                    users.UpdateUser(user_pb2.UpdateUserRequest(user_id=user.id, sid=f"w{n}-{i}"), timeout=10)
                    placed.append(orders.PlaceOrder(order_pb2.PlaceOrderRequest(
                        user_id=user.id, product_id=product.id, quantity=1), timeout=10).order.id)
                except grpc.RpcError as error:
                    errors.append(f"{error.code().name}: {error.details()}")

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(writer, range(16)))
        assert errors == []
        assert len(placed) == 16 * 6 == len(set(placed))
        stock = products.GetProduct(product_pb2.GetProductRequest(product_id=product.id), timeout=5).product.stock
        assert stock == 1000 - 16 * 6, "every placed order took its item"


# --- deadlines --------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def lockable_db(request, tmp_path):
    """A DB service and a way to hold the write lock on a product from outside it."""
    url = request.getfixturevalue("postgres").new_database() if request.param == "postgres" else None
    with support.db_service(tmp_path, url) as (address, _):
        if url:
            import psycopg2

            def hold(product_id: int, seconds: float, taken: threading.Event):
                with psycopg2.connect(url) as conn, conn.cursor() as cur:
                    cur.execute("SELECT stock FROM products WHERE id = %s FOR UPDATE", (product_id,))
                    taken.set()
                    time.sleep(seconds)
        else:
            def hold(product_id: int, seconds: float, taken: threading.Event):
                conn = sqlite3.connect(tmp_path / "merch.sqlite3", timeout=10, isolation_level=None)
                conn.execute("BEGIN IMMEDIATE")
                taken.set()
                time.sleep(seconds)
                conn.execute("ROLLBACK")
                conn.close()
        yield address, hold


def test_a_call_whose_deadline_passes_while_it_waits_commits_nothing(lockable_db):
    """The order waits behind a lock held from outside until its deadline is long gone; when the lock
    is released it could commit, and must not: the client was told DEADLINE_EXCEEDED."""
    address, hold = lockable_db
    with support.channel(address) as channel:
        users, orders, products = _stubs(channel)
        user = _new_user(users)
        product = products.CreateProduct(product_pb2.CreateProductRequest(
            name=f"p{uuid.uuid4().hex[:8]}", category="Test", price_cents=100, stock=10), timeout=10).product
        taken = threading.Event()
        holder = threading.Thread(target=hold, args=(product.id, 1.5, taken))
        holder.start()
        assert taken.wait(10), "the lock was never taken"
        with pytest.raises(grpc.RpcError) as late:
            orders.PlaceOrder(order_pb2.PlaceOrderRequest(user_id=user.id, product_id=product.id, quantity=1),
                              timeout=0.3)
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        holder.join()
        # The order went on waiting server-side; give it time to reach its commit, then look.
        time.sleep(1.0)
        listed = orders.ListOrders(order_pb2.ListOrdersRequest(user_id=user.id), timeout=10).orders
        assert list(listed) == [], "an order was committed after its caller's deadline"
        stock = products.GetProduct(product_pb2.GetProductRequest(product_id=product.id), timeout=5).product.stock
        assert stock == 10
        # And without a deadline problem, the same order goes through.
        orders.PlaceOrder(order_pb2.PlaceOrderRequest(user_id=user.id, product_id=product.id, quantity=1), timeout=10)


def test_password_hashing_beyond_the_cores_is_refused_at_once_with_retry_after(tmp_path):
    """Ten registrations at once with an expensive bcrypt cost: no 504s, the excess is 503 + Retry-After."""
    with support.logging_service(tmp_path) as (log, _), \
            support.db_service(tmp_path, MERCH_BCRYPT_ROUNDS="13", MERCH_LOG_ADDR=log) as (db, _), \
            rest_gateway(tmp_path, db, log, workers=1, threads=12, MERCH_GRPC_TIMEOUT_SECONDS="20") as gateway:
        name = f"b{uuid.uuid4().hex[:8]}"

        def register(n: int):
            body = {"sid": f"{name}{n}", "username": f"{name}{n}", "email": f"{name}{n}@x.org", "password": PASSWORD}
            started = time.monotonic()
            response = requests.post(gateway.url + "/register", json=body, timeout=30)
            return n, response, time.monotonic() - started

        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            results = list(pool.map(register, range(10)))
        statuses = sorted(r.status_code for _, r, _ in results)
        assert set(statuses) <= {201, 503}, statuses
        assert statuses.count(201) >= 1 and statuses.count(503) >= 1, statuses
        for n, response, took in results:
            if response.status_code == 503:
                assert response.headers["Retry-After"].isdigit() and took < 2.0, (took, response.headers)
        with support.channel(db) as channel:
            users = user_pb2_grpc.UserServiceStub(channel)
            for n, response, _ in results:
                login = requests.post(gateway.url + "/login", json={"username": f"{name}{n}", "password": PASSWORD},
                                      timeout=30)
                if response.status_code == 201:
                    assert login.status_code == 200
                else:
                    assert login.status_code in (401, 503), "a refused registration created no account"
            del users


# --- Idempotency-Key across two gateways ------------------------------------------------------------

@pytest.fixture(scope="module")
def two_gateways(sqlite_db, tmp_path_factory):
    address, _, _ = sqlite_db
    state = tmp_path_factory.mktemp("idem")
    with support.logging_service(state) as (log, _), \
            rest_gateway(state, address, log) as first, rest_gateway(state, address, log) as second:
        yield first, second


def _register(url: str, **extra) -> tuple[dict, str]:
    name = f"i{uuid.uuid4().hex[:10]}"
    response = requests.post(url + "/register", json={"sid": name, "username": name, "email": f"{name}@x.org",
                                                      "password": PASSWORD}, timeout=15, **extra)
    assert response.status_code == 201, response.text
    return parse_json(response)["user"], parse_json(response)["token"]


def test_a_retried_order_with_the_same_key_is_placed_once_across_gateway_replicas(two_gateways, sqlite_db):
    first, second = two_gateways
    _, token = _register(first.url)
    product = new_product(sqlite_db[0], stock=10)
    auth = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
    body = {"product_id": product.id, "quantity": 2}
    placed = requests.post(first.url + "/orders", json=body, headers=auth, timeout=15)
    assert placed.status_code == 201 and "Idempotent-Replayed" not in placed.headers
    again = requests.post(second.url + "/place-order", json=body, headers=auth, timeout=15)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.content == placed.content
    stock = parse_json(requests.get(first.url + f"/products/{product.id}", headers=auth, timeout=15))["stock"]
    assert stock == 8, "the replay placed nothing"
    other = requests.post(second.url + "/orders", json={**body, "quantity": 1}, headers=auth, timeout=15)
    assert other.status_code == 422 and "different request" in parse_json(other)["error"]["message"]
    listed = parse_json(requests.get(first.url + "/orders", headers=auth, timeout=15))["orders"]
    assert len(listed) == 1


def test_a_retried_registration_returns_the_same_answer_and_registers_once(two_gateways):
    first, second = two_gateways
    name = f"r{uuid.uuid4().hex[:10]}"
    body = {"sid": name, "username": name, "email": f"{name}@x.org", "password": PASSWORD}
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    created = requests.post(first.url + "/register", json=body, headers=key, timeout=15)
    replay = requests.post(second.url + "/users", json=body, headers=key, timeout=15)
    assert created.status_code == replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.content == created.content
    fresh = requests.post(second.url + "/register", json=body, timeout=15)
    assert fresh.status_code == 409, "without the key it is a new registration of a taken name"


def test_a_duplicate_while_the_first_is_in_flight_is_409(tmp_path):
    with support.logging_service(tmp_path) as (log, _), \
            support.db_service(tmp_path, MERCH_BCRYPT_ROUNDS="14", MERCH_LOG_ADDR=log) as (db, _), \
            rest_gateway(tmp_path, db, log, MERCH_GRPC_TIMEOUT_SECONDS="30") as gateway:
        name = f"f{uuid.uuid4().hex[:10]}"
        body = {"sid": name, "username": name, "email": f"{name}@x.org", "password": PASSWORD}
        key = {"Idempotency-Key": str(uuid.uuid4())}
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            first = pool.submit(requests.post, gateway.url + "/register", json=body, headers=key, timeout=60)
            # The first is hashing its password (≈ 1 s at cost 14) once its claim is visible.
            support.wait_for(lambda: _claims(tmp_path) == 1, timeout=20, interval=0.02)
            duplicate = requests.post(gateway.url + "/register", json=body, headers=key, timeout=60)
            assert duplicate.status_code == 409, duplicate.text
            assert duplicate.headers.get("Retry-After") == "1"
            assert first.result().status_code == 201
        replay = requests.post(gateway.url + "/register", json=body, headers=key, timeout=60)
        assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"


def _claims(state_dir) -> int:
    with sqlite3.connect(f"file:{state_dir / 'merch.sqlite3'}?mode=ro", uri=True, timeout=1) as db:
        return db.execute("SELECT count(*) FROM idempotency_keys WHERE response IS NULL").fetchone()[0]


# --- login throttling -------------------------------------------------------------------------------

def test_five_failed_logins_lock_the_username_with_429_and_retry_after(api):
    user, _ = api.register()
    bystander, _ = api.register()
    for _ in range(5):
        assert api.post("/login", json={"username": user["username"], "password": "wrong password"}).status_code == 401
    locked = api.post("/login", json={"username": user["username"], "password": PASSWORD})
    assert locked.status_code == 429, "the right password is refused too while locked"
    assert 800 <= int(locked.headers["Retry-After"]) <= 900
    assert api.post("/login", json={"username": user["username"].upper(), "password": PASSWORD}).status_code == 429
    assert api.post("/login", json={"username": bystander["username"], "password": PASSWORD}).status_code == 200


def test_a_success_resets_the_failure_count(api):
    user, _ = api.register()
    for _ in range(4):
        assert api.post("/login", json={"username": user["username"], "password": "wrong password"}).status_code == 401
    assert api.post("/login", json={"username": user["username"], "password": PASSWORD}).status_code == 200
    for _ in range(4):
        assert api.post("/login", json={"username": user["username"], "password": "wrong password"}).status_code == 401
    assert api.post("/login", json={"username": user["username"], "password": PASSWORD}).status_code == 200


def test_unknown_usernames_are_throttled_like_known_ones(api):
    ghost = f"ghost{uuid.uuid4().hex[:8]}"
    answers = [api.post("/login", json={"username": ghost, "password": "x" * 8}).status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]


# --- normalised identities --------------------------------------------------------------------------

@pytest.mark.parametrize("first,second", [
    ({"email": "C@EXAMPLE.com"}, {"email": "c@example.com"}),
    ({"username": "USERB"}, {"username": "userB"}),
    ({"username": "ｕｓｅｒｃ"}, {"username": "userc"}),  # full-width letters are the same name (NFKC)
])
def test_identities_that_differ_only_in_case_or_form_are_one_and_taken(api, first, second):
    tag = uuid.uuid4().hex[:6]
    first = {k: (v.replace("@", f"{tag}@") if k == "email" else v + tag) for k, v in first.items()}
    second = {k: (v.replace("@", f"{tag}@") if k == "email" else v + tag) for k, v in second.items()}
    api.register(**first)
    response = api.post("/register", json={**_fresh_user(), **second})
    assert response.status_code == 409, response.text


def _fresh_user() -> dict:
    name = f"n{uuid.uuid4().hex[:10]}"
    return {"sid": name, "username": name, "email": f"{name}@x.org", "password": PASSWORD}


@pytest.mark.parametrize("username", ["user\u200bB", "\u202eevil", " padded", "padded ", "tab\there"])
def test_invisible_or_surrounding_characters_in_a_username_are_refused(api, username):
    response = api.post("/register", json={**_fresh_user(), "username": username})
    assert response.status_code == 400
    assert "username" in {v["field"] for v in parse_json(response)["error"]["field_violations"]}


def test_login_finds_a_user_whatever_the_case_of_the_name(api):
    user, _ = api.register()
    assert api.post("/login", json={"username": user["username"].upper(), "password": PASSWORD}).status_code == 200


def test_rows_of_an_older_schema_are_migrated_to_normalised_keys(tmp_path):
    database = tmp_path / "merch.sqlite3"
    with sqlite3.connect(database) as db:
        db.executescript("""
            CREATE TABLE users (id INTEGER PRIMARY KEY, sid VARCHAR(20) UNIQUE, username VARCHAR(50) UNIQUE,
                email VARCHAR(254) UNIQUE, password_hash VARCHAR(60), active INTEGER, create_time DATETIME,
                update_time DATETIME);
            INSERT INTO users VALUES (1, 's1', 'Alice', 'Alice@Example.org', 'x', 1, '2025-01-01', '2025-01-01');
            INSERT INTO users VALUES (2, 's2', 'ALICE', 'other@example.org', 'x', 1, '2025-01-01', '2025-01-01');
        """)
    with support.db_service(tmp_path) as (address, proc):
        with support.channel(address) as channel:
            users = user_pb2_grpc.UserServiceStub(channel)
            assert users.GetUser(user_pb2.GetUserRequest(user_id=1), timeout=5).user.token_version == 1
            with pytest.raises(grpc.RpcError) as taken:
                _new_user(users, username="alice" + "", email="new@x.org", sid="s3")
            assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
            with pytest.raises(grpc.RpcError) as email_taken:
                _new_user(users, username="bob", email="alice@example.ORG", sid="s4")
            assert email_taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert "collides" in proc.log_text(), "the colliding old row is named in a warning"


# --- private state, service auth by default ----------------------------------------------------------

def test_state_folder_and_its_files_are_private(sqlite_db):
    _, state, _ = sqlite_db
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for name in ("merch.sqlite3", "merch.sqlite3-wal", "merch.sqlite3-shm"):
        path = state / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name


def test_dev_services_generate_one_private_token_and_demand_it(tmp_path):
    env = {k: v for k, v in support.service_env(tmp_path).items() if k != "MERCH_SERVICE_TOKEN"}
    env.pop("MERCH_SERVICE_TOKEN", None)
    address = f"127.0.0.1:{support.free_port()}"
    proc = support.ServiceProcess("py_server.db_service", ["--bind", address], env, tmp_path)
    try:
        support.wait_serving(address, process=proc.process)  # health needs no token
        token_file = tmp_path / "service_token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        with grpc.insecure_channel(address) as channel:
            products = product_pb2_grpc.ProductServiceStub(channel)
            with pytest.raises(grpc.RpcError) as refused:
                products.GetProduct(product_pb2.GetProductRequest(product_id=1), timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            ok = products.GetProduct(product_pb2.GetProductRequest(product_id=1), timeout=5,
                                     metadata=[("authorization", f"Bearer {token}")])
            assert ok.product.id == 1
    finally:
        proc.stop()


@pytest.mark.parametrize("module", ["py_server.db_service", "py_server.logging_service", "api_rest"])
def test_production_refuses_to_start_without_a_service_token(tmp_path, module):
    env = support.service_env(tmp_path, MERCH_ENV="production", MERCH_JWT_SECRET="j" * 40,
                              MERCH_DATABASE_URL="postgresql://merch@127.0.0.1:1/merch")
    env.pop("MERCH_SERVICE_TOKEN")
    result = subprocess.run([support.PYTHON, "-m", module], env=env, cwd=support.REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "MERCH_SERVICE_TOKEN is required" in result.stderr
    assert not (tmp_path / "service_token").exists()
