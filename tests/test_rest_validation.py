"""Bad input gets a clear 4xx with the offending fields named, and changes nothing."""
from __future__ import annotations

import socket

import pytest

from tests.rest_fixtures import PASSWORD, error_of, new_product, parse_json, violations_of

JSON = {"Content-Type": "application/json"}

# (case, raw body, field expected among the violations or None, expected status)
ORDER_BODIES = [
    ("malformed JSON", b'{"product_id": 1, "quantity": ', "body", 400),
    ("a JSON array", b"[1, 2, 3]", "body", 400),
    ("a JSON string", b'"place an order"', "body", 400),
    ("JSON null", b"null", "body", 400),
    ("an empty body", b"", "body", 400),
    ("NaN", b'{"product_id": NaN, "quantity": 1}', "body", 400),
    ("quantity as a string", b'{"product_id": {pid}, "quantity": "2"}', "quantity", 400),
    ("quantity a boolean", b'{"product_id": {pid}, "quantity": true}', "quantity", 400),
    ("quantity with a fraction", b'{"product_id": {pid}, "quantity": 2.5}', "quantity", 400),
    ("quantity nearly 1", b'{"product_id": {pid}, "quantity": 1.0000000000000001}', "quantity", 400),
    ("product_id null", b'{"product_id": null, "quantity": 1}', "product_id", 400),
    ("missing quantity", b'{"product_id": {pid}}', "quantity", 400),
    ("missing everything", b"{}", "product_id", 400),
    ("quantity 0", b'{"product_id": {pid}, "quantity": 0}', "quantity", 400),
    ("quantity 4", b'{"product_id": {pid}, "quantity": 4}', "quantity", 400),
    ("quantity negative", b'{"product_id": {pid}, "quantity": -1}', "quantity", 400),
    ("product_id beyond int32", b'{"product_id": 2147483648, "quantity": 1}', "product_id", 400),
    ("product_id 0", b'{"product_id": 0, "quantity": 1}', "product_id", 400),
    ("a huge integer literal", b'{"product_id": ' + b"9" * 5000 + b', "quantity": 1}', "product_id", 400),
    ("deep nesting", b"[" * 20000 + b"]" * 20000, "body", 400),
    ("an unknown field", b'{"product_id": {pid}, "quantity": 1, "discount": 50}', "discount", 400),
    ("user_id a string", b'{"user_id": "1", "product_id": {pid}, "quantity": 1}', "user_id", 400),
    ("invalid UTF-8", b'{"product_id": {pid}, "quantity": 1, "x": "\xff"}', "body", 400),
]


@pytest.mark.parametrize("case, raw, field, status", ORDER_BODIES, ids=[c[0] for c in ORDER_BODIES])
def test_bad_order_bodies_are_refused_and_place_nothing(api, db_address, case, raw, field, status):
    _, token = api.register()
    product = new_product(db_address, stock=5)
    response = api.post("/place-order", token=token, data=raw.replace(b"{pid}", str(product.id).encode()),
                        headers=JSON)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["code"] == "INVALID_ARGUMENT"
    assert field in violations_of(response), error
    assert "Traceback" not in response.text and "SELECT" not in response.text
    assert parse_json(api.get(f"/products/{product.id}", token=token))["stock"] == 5
    assert parse_json(api.get("/orders", token=token))["orders"] == []


def _user(**overrides) -> dict:
    body = {"sid": "s1", "username": "someone", "email": "someone@sustech.edu.cn", "password": PASSWORD}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


# (case, body, field): each is refused with 400 naming the field, and registers nobody.
REGISTER_BODIES = [
    ("username too long", _user(username="u" * 51), "username"),
    ("sid too long", _user(sid="1" * 21), "sid"),
    ("email too long", _user(email="a" * 250 + "@x.cn"), "email"),
    ("email without @", _user(email="not-an-email"), "email"),
    ("password of 73 bytes", _user(password="p" * 73), "password"),
    ("password of 74 UTF-8 bytes in 37 characters", _user(password="é" * 37), "password"),
    ("password of 7 bytes", _user(password="p" * 7), "password"),
    ("blank username", _user(username="   "), "username"),
    ("control character in username", _user(username="bad\u0007name"), "username"),
    ("lone surrogate in username", _user(username="bad\ud800"), "username"),
    ("username a number", _user(username=12345), "username"),
    ("missing password", _user(password=None), "password"),
    ("empty sid", _user(sid=""), "sid"),
]


@pytest.mark.parametrize("case, body, field", REGISTER_BODIES, ids=[c[0] for c in REGISTER_BODIES])
def test_bad_registrations_are_400_naming_the_field(api, case, body, field):
    unique = f"v{abs(hash(case)) % 10**10}"
    if body.get("username") == "someone":
        body["username"] = unique
    if body.get("email") == "someone@sustech.edu.cn":
        body["email"] = f"{unique}@sustech.edu.cn"
    response = api.post("/register", json=body)
    assert response.status_code == 400, response.text
    assert field in violations_of(response), response.text
    if isinstance(body.get("username"), str):
        login = api.post("/login", json={"username": body["username"][:50] or "x", "password": PASSWORD})
        assert login.status_code in (400, 401)


def test_a_73_byte_password_is_refused_at_login_too(api):
    user, _ = api.register()
    response = api.post("/login", json={"username": user["username"], "password": "p" * 73})
    assert response.status_code == 400 and "password" in violations_of(response)


def test_an_update_with_nothing_to_change_is_400(api):
    user, token = api.register()
    for method, path, body in (("PATCH", f"/users/{user['id']}", {}), ("PUT", "/update-user", {"user_id": user["id"]}),
                               ("PUT", "/update-order", {"order_id": 1})):
        response = api.request(method, path, token=token, json=body)
        assert response.status_code == 400 and "body" in violations_of(response), (path, response.text)


def test_a_body_over_64_kib_is_413_and_changes_nothing(api):
    user, token = api.register()
    body = b'{"username": "' + b"a" * (65 * 1024) + b'"}'
    response = api.patch(f"/users/{user['id']}", token=token, data=body, headers=JSON)
    assert response.status_code == 413
    assert error_of(response)["code"] == "RESOURCE_EXHAUSTED"
    assert parse_json(api.get("/get-user", token=token)) == user


def test_a_chunked_body_over_64_kib_is_413(api):
    user, token = api.register()
    chunks = (b'{"username": "' if i == 0 else b"a" * 8192 for i in range(10))
    response = api.patch(f"/users/{user['id']}", token=token, data=chunks, headers=JSON)
    assert response.status_code == 413


def test_a_body_that_is_not_json_is_415(api):
    _, token = api.register()
    response = api.post("/orders", token=token, data="product_id=1&quantity=1",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert "application/json" in error_of(response)["message"]


@pytest.mark.parametrize("query, field", [
    ({"page_size": "abc"}, "page_size"), ({"page_size": "1001"}, "page_size"), ({"page_size": "-1"}, "page_size"),
    ({"page_token": "not-a-token"}, "page_token"), ({"category": "c" * 51}, "category"),
])
def test_bad_list_parameters_are_400(api, query, field):
    _, token = api.register()
    for path in ("/products", "/orders"):
        if field == "category" and path == "/orders":
            continue
        response = api.get(path, token=token, params=query)
        assert response.status_code == 400, response.text
        assert field in violations_of(response)


@pytest.mark.parametrize("path", ["/orders/0", "/orders/-5", "/orders/99999999999", "/get-order/2147483648",
                                  "/orders/1e3", "/orders/" + "9" * 5000, "/products/0x10", "/users/abc"])
def test_ids_in_the_path_that_cannot_exist_are_400_naming_the_field(api, path):
    _, token = api.register()
    response = api.get(path, token=token)
    assert response.status_code == 400, response.text
    fields = set(violations_of(response))
    assert fields and fields <= {"order_id", "product_id", "user_id"}


def test_a_huge_declared_body_is_refused_at_once_without_being_read(gateway):
    """10 MB announced, 1 KiB sent: the 413 comes at once, without waiting for the rest."""
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 10000000\r\n\r\n" + b"{" + b" " * 1023)
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := sock.recv(65536)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413")
