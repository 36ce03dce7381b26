"""The OpenAPI document: valid 3.1, and in step with the app's routes and the request checks."""
from __future__ import annotations

import json
import re

from openapi_spec_validator import validate

from api_rest import bodies, openapi
from api_rest.app import Deps, create_app
from api_rest.auth import TokenAuthority
from api_rest.clients import Backend


def test_the_document_is_valid_openapi_3_1():
    spec = json.loads(openapi.spec_bytes())
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_every_route_of_the_app_is_documented_and_every_documented_operation_is_routed():
    app = create_app(Deps(backend=Backend("127.0.0.1:1", timeout_seconds=1), tokens=TokenAuthority("k" * 32, 60),
                          shipper=None))
    routed = {(route.method, re.sub(r"<(\w+)(:\w+)?>", r"{\1}", route.rule)) for route in app.routes}
    routed.discard(("GET", "/docs/{name}"))  # Swagger UI's own files
    documented = {(method.upper(), path) for path, item in openapi.build()["paths"].items() for method in item}
    assert routed == documented


def test_request_bodies_in_the_document_are_the_ones_the_gateway_checks():
    schemas = openapi.build()["components"]["schemas"]
    for body in bodies.ALL_BODIES:
        assert schemas[body.name] == body.json_schema()
        assert schemas[body.name]["additionalProperties"] is False


def test_ids_are_int32_and_money_is_exact():
    schemas = openapi.build()["components"]["schemas"]
    for name, field in (("Product", "id"), ("Order", "id"), ("Order", "user_id"), ("User", "id")):
        assert schemas[name]["properties"][field]["format"] == "int32"
        assert schemas[name]["properties"][field]["maximum"] == 2**31 - 1
    for name, field in (("Product", "price"), ("Order", "total_price")):
        money = schemas[name]["properties"][field]
        assert money["type"] == "number" and money["multipleOf"] == 0.01
