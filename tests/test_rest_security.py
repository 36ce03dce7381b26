"""Who may do what: bearer tokens that must be refused, and one user reaching for another's data."""
from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from tests.rest_fixtures import JWT_SECRET, PASSWORD, error_of, new_product, parse_json


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user_id, **overrides) -> dict:
    now = int(time.time())
    claims = {"sub": str(user_id), "ver": 1, "iat": now, "exp": now + 600}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


BAD_TOKENS = {
    "forged signature": lambda uid: jwt.encode(_claims(uid), "another-secret-" + "y" * 60, algorithm="HS256"),
    "expired": lambda uid: jwt.encode(_claims(uid, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
                                      JWT_SECRET, algorithm="HS256"),
    "alg none": lambda uid: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(uid))}.",
    "alg none with a signature": lambda uid: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(uid))}.c2ln",
    "HS512 with the right secret": lambda uid: jwt.encode(_claims(uid), JWT_SECRET, algorithm="HS512"),
    "HS384 with the right secret": lambda uid: jwt.encode(_claims(uid), JWT_SECRET, algorithm="HS384"),
    "no exp": lambda uid: jwt.encode(_claims(uid, exp=None), JWT_SECRET, algorithm="HS256"),
    "no sub": lambda uid: jwt.encode(_claims(uid, sub=None), JWT_SECRET, algorithm="HS256"),
    "sub not a number": lambda uid: jwt.encode(_claims("admin"), JWT_SECRET, algorithm="HS256"),
    "sub an unknown user": lambda uid: jwt.encode(_claims(2147483647), JWT_SECRET, algorithm="HS256"),
    "sub out of int32": lambda uid: jwt.encode(_claims(2**31), JWT_SECRET, algorithm="HS256"),
    "garbage": lambda uid: "not.a.token",
    "empty signature": lambda uid: jwt.encode(_claims(uid), JWT_SECRET, algorithm="HS256").rsplit(".", 1)[0] + ".",
}


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_bad_tokens_are_refused_with_401_and_a_bearer_challenge(api, kind):
    user, _ = api.register()
    response = api.get(f"/users/{user['id']}", token=BAD_TOKENS[kind](user["id"]))
    assert response.status_code == 401, kind
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert error_of(response)["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "token abc"])
def test_missing_or_non_bearer_authorization_is_401(api, header):
    headers = {"Authorization": header} if header is not None else {}
    response = api.get("/products", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("method, path", [
    ("GET", "/products"), ("GET", "/products/1"), ("GET", "/orders"), ("POST", "/orders"),
    ("GET", "/orders/1"), ("PATCH", "/orders/1"), ("DELETE", "/orders/1"), ("GET", "/users/1"),
    ("PATCH", "/users/1"), ("DELETE", "/users/1"), ("POST", "/place-order"), ("GET", "/get-order/1"),
    ("PUT", "/update-order"), ("DELETE", "/cancel-order/1"), ("GET", "/get-user"), ("PUT", "/update-user"),
    ("DELETE", "/deactivate-user"),
])
def test_every_path_but_greeting_register_and_login_needs_a_token(api, method, path):
    response = api.request(method, path, json={})
    assert response.status_code == 401, response.text


def test_a_token_issued_by_this_gateway_keeps_working_until_it_expires(api):
    user, _ = api.register()
    token = jwt.encode(_claims(user["id"]), JWT_SECRET, algorithm="HS256")
    assert api.get("/get-user", token=token).status_code == 200


def test_a_deactivated_users_existing_tokens_stop_working_at_once(api):
    user, token = api.register()
    other_token = parse_json(api.post("/login", json={"username": user["username"], "password": PASSWORD}))["token"]
    assert api.delete(f"/users/{user['id']}", token=token).status_code == 200
    for t in (token, other_token):
        response = api.get("/get-user", token=t)
        assert response.status_code == 401
        assert "deactivated" in error_of(response)["message"]
        assert api.post("/orders", token=t, json={"product_id": 1, "quantity": 1}).status_code == 401
    login = api.post("/login", json={"username": user["username"], "password": PASSWORD})
    assert login.status_code == 401


@pytest.mark.parametrize("method, template, body", [
    ("GET", "/users/{id}", None),
    ("PATCH", "/users/{id}", {"email": "stolen@example.com"}),
    ("DELETE", "/users/{id}", None),
])
def test_another_users_record_is_403_and_untouched(api, method, template, body):
    victim, victim_token = api.register()
    _, token = api.register()
    response = api.request(method, template.format(id=victim["id"]), token=token, json=body)
    assert response.status_code == 403
    assert error_of(response)["code"] == "PERMISSION_DENIED"
    assert parse_json(api.get(f"/users/{victim['id']}", token=victim_token)) == victim


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/get-user?user_id={id}", None),
    ("PUT", "/update-user", {"user_id": "{id}", "email": "stolen@example.com"}),
    ("DELETE", "/deactivate-user", {"user_id": "{id}"}),
    ("GET", "/orders?user_id={id}", None),
])
def test_another_users_id_on_a_seed_path_is_403_and_changes_nothing(api, method, path, body):
    victim, victim_token = api.register()
    me, token = api.register()
    if body is not None:
        body = {k: (victim["id"] if v == "{id}" else v) for k, v in body.items()}
    response = api.request(method, path.format(id=victim["id"]), token=token, json=body)
    assert response.status_code == 403
    assert parse_json(api.get("/get-user", token=token)) == me
    assert parse_json(api.get("/get-user", token=victim_token)) == victim


def test_placing_an_order_for_another_user_is_403_and_places_nothing(api, db_address):
    victim, victim_token = api.register()
    _, token = api.register()
    product = new_product(db_address, stock=5)
    for path in ("/place-order", "/orders"):
        response = api.post(path, token=token, json={"user_id": victim["id"], "product_id": product.id,
                                                     "quantity": 1})
        assert response.status_code == 403
    assert parse_json(api.get("/orders", token=victim_token))["orders"] == []
    assert parse_json(api.get("/orders", token=token))["orders"] == []
    assert parse_json(api.get(f"/products/{product.id}", token=token))["stock"] == 5


@pytest.mark.parametrize("method, template, body", [
    ("GET", "/orders/{id}", None),
    ("GET", "/get-order/{id}", None),
    ("PATCH", "/orders/{id}", {"quantity": 3}),
    ("PUT", "/update-order", {"order_id": "{id}", "quantity": 3}),
    ("DELETE", "/orders/{id}", None),
    ("DELETE", "/cancel-order/{id}", None),
])
def test_another_users_order_is_404_and_untouched(api, db_address, method, template, body):
    _, victim_token = api.register()
    _, token = api.register()
    product = new_product(db_address, stock=5)
    order = parse_json(api.post("/orders", token=victim_token, json={"product_id": product.id, "quantity": 1}))
    if body is not None:
        body = {k: (order["id"] if v == "{id}" else v) for k, v in body.items()}
    response = api.request(method, template.format(id=order["id"]), token=token, json=body)
    assert response.status_code == 404
    assert error_of(response)["code"] == "NOT_FOUND"
    assert parse_json(api.get(f"/orders/{order['id']}", token=victim_token)) == order
    assert parse_json(api.get(f"/products/{product.id}", token=victim_token))["stock"] == 4


def test_changing_ones_order_with_another_users_id_in_the_body_is_403(api):
    victim, _ = api.register()
    _, token = api.register()
    order = parse_json(api.post("/orders", token=token, json={"product_id": 1, "quantity": 1}))
    response = api.put("/update-order", token=token, json={"order_id": order["id"], "quantity": 2,
                                                           "user_id": victim["id"]})
    assert response.status_code == 403
    assert parse_json(api.get(f"/orders/{order['id']}", token=token))["quantity"] == 1


def test_no_response_carries_a_password_or_its_hash(api):
    user, token = api.register()
    responses = [
        api.post("/login", json={"username": user["username"], "password": PASSWORD}),
        api.get("/get-user", token=token),
        api.patch(f"/users/{user['id']}", token=token, json={"password": "another password"}),
        api.post("/register", json={"sid": "x", "username": user["username"], "email": "x@y.z",
                                    "password": PASSWORD}),
    ]
    for response in responses:
        assert "password\":" not in response.text and "$2b$" not in response.text and PASSWORD not in response.text
