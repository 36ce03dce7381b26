"""The whole REST surface end to end: a real gateway process over real HTTP, in front of a real
DB service on SQLite and on PostgreSQL. Every response is checked against the OpenAPI spec."""
from __future__ import annotations

import decimal
import re
import uuid

import pytest

from tests.rest_fixtures import PASSWORD, error_of, new_product, parse_json

SEED_PRODUCTS = [
    ("SUSTech Hoodie", "Apparel", "49.99", "Stay warm, stay proud!"),
    ("SUSTech Water Bottle", "Drinkware", "19.99", "Hydrate with pride!"),
    ("SUSTech Notebook", "Stationery", "9.99", "Write your future with SUSTech."),
]
PRODUCT_KEYS = {"id", "name", "description", "category", "price", "slogan", "stock"}
USER_KEYS = {"id", "sid", "username", "email", "active", "created_at", "updated_at"}
ORDER_KEYS = {"id", "user_id", "product_id", "quantity", "total_price", "status", "created_at", "updated_at"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def stock_of(api, token, product_id) -> int:
    return parse_json(api.get(f"/products/{product_id}", token=token))["stock"]


# --- the open paths ------------------------------------------------------------------------------

def test_greeting_is_open_and_comes_from_the_db_service(api):
    response = api.get("/")
    assert response.status_code == 200
    assert parse_json(response) == {"message": "Welcome to the gRPC Service!"}


def test_healthz_reports_the_db_service_serving(api):
    assert parse_json(api.get("/healthz")) == {"status": "SERVING"}


# --- products ----------------------------------------------------------------------------------

def test_catalogue_lists_the_seed_products_with_exact_two_decimal_prices(api):
    _, token = api.register()
    response = api.get("/products", token=token)
    assert response.status_code == 200
    products = parse_json(response)["products"]
    seed = [(p["name"], p["category"], str(p["price"]), p["slogan"]) for p in products[:3]]
    assert seed == SEED_PRODUCTS
    for _, _, price, _ in SEED_PRODUCTS:
        assert f'"price": {price}' in response.text  # the number text itself, not a float's rendering
    assert all(set(p) == PRODUCT_KEYS for p in products)


def test_product_by_id_has_the_seed_keys(api):
    _, token = api.register()
    product = parse_json(api.get("/products/1", token=token))
    assert set(product) == PRODUCT_KEYS
    assert product["id"] == 1 and product["price"] == decimal.Decimal("49.99")


@pytest.mark.parametrize("cents, text", [(5000, "50.00"), (1, "0.01"), (10, "0.10"), (0, "0.00"),
                                         (99_999_999, "999999.99"), (1999, "19.99")])
def test_prices_are_written_exactly_from_integer_cents(api, db_address, cents, text):
    _, token = api.register()
    product = new_product(db_address, price_cents=cents)
    response = api.get(f"/products/{product.id}", token=token)
    assert f'"price": {text},' in response.text


def test_products_can_be_paged_and_filtered_by_category(api):
    _, token = api.register()
    first = parse_json(api.get("/products", token=token, params={"page_size": 2}))
    assert len(first["products"]) == 2 and first["next_page_token"]
    second = parse_json(api.get("/products", token=token, params={"page_size": 2,
                                                                  "page_token": first["next_page_token"]}))
    assert second["products"][0]["id"] > first["products"][-1]["id"]
    apparel = parse_json(api.get("/products", token=token, params={"category": "Apparel"}))["products"]
    assert apparel and {p["category"] for p in apparel} == {"Apparel"}


def test_unknown_product_is_404(api):
    _, token = api.register()
    response = api.get("/products/2147483647", token=token)
    assert response.status_code == 404
    assert error_of(response)["code"] == "NOT_FOUND"


# --- users -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/users", "/register"])
def test_registering_returns_the_user_and_a_working_token(api, path):
    name = f"reg{uuid.uuid4().hex[:12]}"
    body = {"sid": name[:20], "username": name, "email": f"{name}@sustech.edu.cn", "password": PASSWORD}
    response = api.post(path, json=body)
    assert response.status_code == 201, response.text
    data = parse_json(response)
    assert set(data["user"]) == USER_KEYS and data["user"]["active"] is True
    assert data["token_type"] == "Bearer" and data["expires_in"] == 3600
    assert response.headers["Location"] == f"/users/{data['user']['id']}"
    assert "password" not in response.text and "$2b$" not in response.text
    assert RFC3339.match(data["user"]["created_at"])
    me = api.get(f"/users/{data['user']['id']}", token=data["token"])
    assert parse_json(me) == data["user"]


def test_registering_a_taken_username_is_409(api):
    user, _ = api.register()
    response = api.post("/register", json={"sid": "other", "username": user["username"],
                                           "email": "other@sustech.edu.cn", "password": PASSWORD})
    assert response.status_code == 409
    assert error_of(response)["code"] == "ALREADY_EXISTS"


def test_login_with_the_right_password_returns_a_token_for_that_user(api):
    user, _ = api.register()
    response = api.post("/login", json={"username": user["username"], "password": PASSWORD})
    assert response.status_code == 200
    data = parse_json(response)
    assert data["user"]["id"] == user["id"]
    assert api.get("/get-user", token=data["token"]).status_code == 200


def test_login_with_a_wrong_password_is_401_with_a_bearer_challenge(api):
    user, _ = api.register()
    response = api.post("/login", json={"username": user["username"], "password": "wrong password"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "incorrect" in error_of(response)["message"]


def test_user_can_read_change_and_deactivate_their_account_on_resource_paths(api):
    user, token = api.register()
    path = f"/users/{user['id']}"
    assert parse_json(api.get(path, token=token)) == user
    changed = parse_json(api.patch(path, token=token, json={"email": f"new.{user['email']}"}))
    assert changed["email"] == f"new.{user['email']}" and changed["username"] == user["username"]
    changed = api.patch(path, token=token, json={"password": "a new password", "current_password": PASSWORD})
    assert changed.status_code == 200, changed.text
    assert api.get(path, token=token).status_code == 401, "a password change ends older tokens"
    login = api.post("/login", json={"username": user["username"], "password": "a new password"})
    assert login.status_code == 200
    token = parse_json(login)["token"]
    gone = api.delete(path, token=token)
    assert gone.status_code == 200 and parse_json(gone)["active"] is False
    assert api.get(path, token=token).status_code == 401


# --- orders ------------------------------------------------------------------------------------

def test_seed_requests_work_unchanged_on_the_seed_paths(api):
    """The seed's curl/Postman bodies, with the caller's own id where the seed has 1."""
    user, token = api.register()
    me = user["id"]
    login = api.post("/login", json={"username": user["username"], "password": PASSWORD})
    token = parse_json(login)["token"]
    before = stock_of(api, token, 3)

    placed = api.post("/place-order", token=token, json={"user_id": me, "product_id": 3, "quantity": 2})
    assert placed.status_code == 201, placed.text
    order = parse_json(placed)
    assert set(order) == ORDER_KEYS
    assert (order["user_id"], order["product_id"], order["quantity"], order["status"]) == (me, 3, 2, "placed")
    assert order["total_price"] == decimal.Decimal("19.98")
    assert stock_of(api, token, 3) == before - 2

    assert parse_json(api.get(f"/get-order/{order['id']}", token=token)) == order
    updated = parse_json(api.put("/update-order", token=token, json={"order_id": order["id"], "quantity": 3}))
    assert updated["quantity"] == 3 and updated["total_price"] == decimal.Decimal("29.97")
    assert stock_of(api, token, 3) == before - 3
    cancelled = parse_json(api.delete(f"/cancel-order/{order['id']}", token=token))
    assert cancelled["status"] == "cancelled"
    assert stock_of(api, token, 3) == before

    assert parse_json(api.get("/get-user", token=token))["id"] == me
    assert parse_json(api.get("/get-user", token=token, params={"user_id": me}))["id"] == me
    renamed = api.put("/update-user", token=token, json={"user_id": me, "username": user["username"] + "2"})
    assert parse_json(renamed)["username"] == user["username"] + "2"
    deactivated = api.delete("/deactivate-user", token=token, json={"user_id": me})
    assert parse_json(deactivated)["active"] is False
    assert api.get("/get-user", token=token).status_code == 401


def test_order_lifecycle_on_resource_paths_moves_stock_exactly(api, db_address):
    _, token = api.register()
    product = new_product(db_address, stock=5, price_cents=1999)
    placed = api.post("/orders", token=token, json={"product_id": product.id, "quantity": 3})
    assert placed.status_code == 201
    order = parse_json(placed)
    assert placed.headers["Location"] == f"/orders/{order['id']}"
    assert order["total_price"] == decimal.Decimal("59.97") and '"total_price": 59.97' in placed.text
    assert stock_of(api, token, product.id) == 2

    assert parse_json(api.get(f"/orders/{order['id']}", token=token)) == order
    changed = parse_json(api.patch(f"/orders/{order['id']}", token=token, json={"quantity": 1}))
    assert changed["quantity"] == 1 and changed["total_price"] == decimal.Decimal("19.99")
    assert stock_of(api, token, product.id) == 4
    moved = parse_json(api.patch(f"/orders/{order['id']}", token=token, json={"product_id": 1}))
    assert moved["product_id"] == 1 and moved["total_price"] == decimal.Decimal("49.99")
    assert stock_of(api, token, product.id) == 5

    cancelled = api.delete(f"/orders/{order['id']}", token=token)
    assert parse_json(cancelled)["status"] == "cancelled"
    again = api.delete(f"/orders/{order['id']}", token=token)
    assert again.status_code == 400 and error_of(again)["code"] == "FAILED_PRECONDITION"
    changing_cancelled = api.patch(f"/orders/{order['id']}", token=token, json={"quantity": 2})
    assert error_of(changing_cancelled)["code"] == "FAILED_PRECONDITION"


def test_ordering_beyond_stock_is_failed_precondition_and_changes_nothing(api, db_address):
    _, token = api.register()
    product = new_product(db_address, stock=2)
    response = api.post("/orders", token=token, json={"product_id": product.id, "quantity": 3})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "FAILED_PRECONDITION" and "not enough stock" in error["message"]
    assert stock_of(api, token, product.id) == 2
    assert parse_json(api.get("/orders", token=token))["orders"] == []


def test_ordering_an_unknown_product_is_404(api):
    _, token = api.register()
    response = api.post("/orders", token=token, json={"product_id": 2147483647, "quantity": 1})
    assert response.status_code == 404


def test_own_orders_are_listed_newest_first_a_page_at_a_time(api, db_address):
    _, token = api.register()
    product = new_product(db_address, stock=10)
    ids = [parse_json(api.post("/orders", token=token, json={"product_id": product.id, "quantity": 1}))["id"]
           for _ in range(3)]
    first = parse_json(api.get("/orders", token=token, params={"page_size": 2}))
    assert [o["id"] for o in first["orders"]] == ids[::-1][:2]
    rest = parse_json(api.get("/orders", token=token, params={"page_size": 2,
                                                              "page_token": first["next_page_token"]}))
    assert [o["id"] for o in rest["orders"]] == [ids[0]] and rest["next_page_token"] == ""


# --- the HTTP frame ----------------------------------------------------------------------------

def test_a_sane_request_id_is_echoed_and_another_replaced(api):
    assert api.get("/", headers={"X-Request-ID": "trace-42.a:b_c"}).headers["X-Request-ID"] == "trace-42.a:b_c"
    replaced = api.get("/", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)
    assert re.fullmatch(r"[0-9a-f]{32}", api.get("/").headers["X-Request-ID"])


def test_error_bodies_carry_the_request_id(api):
    response = api.get("/products", headers={"X-Request-ID": "req-123"})
    assert error_of(response)["request_id"] == "req-123"


def test_unknown_paths_and_methods_answer_in_the_json_error_shape(api):
    missing = api.get("/no/such/thing")
    assert missing.status_code == 404 and error_of(missing)["code"] == "NOT_FOUND"
    wrong = api.request("PUT", "/products")
    assert wrong.status_code == 405 and "GET" in wrong.headers["Allow"]
    assert error_of(wrong)["code"] == "UNIMPLEMENTED"


def test_openapi_document_is_served_and_swagger_ui_uses_only_local_assets(api):
    spec = parse_json(api.get("/openapi.json"))
    assert spec["openapi"].startswith("3.1")
    page = api.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert "http://" not in page.text and "https://" not in page.text
    for asset in re.findall(r'(?:src|href)="(/docs/[^"]+)"', page.text):
        assert api.get(asset, check=False).status_code == 200, asset
    assert api.get("/docs/../../etc/passwd", check=False).status_code == 404
