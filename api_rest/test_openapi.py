"""The OpenAPI document: valid 3.1, and in step with the app's routes and the request checks."""
from __future__ import annotations

import json
import re

from openapi_spec_validator import validate

from api_rest import bodies, openapi
from py_server import field_rules
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


def _refused(body, name: str, value) -> bool:
    message = body.message()
    setattr(message, name, value)
    return name in dict(field_rules.violations(message))


def test_request_bodies_in_the_document_state_the_rules_the_services_check():
    """At each limit the document states, the proto's rules (what the gateway and the DB service
    check) agree: the limit is accepted, one beyond it refused."""
    schemas = openapi.build()["components"]["schemas"]
    for body in bodies.ALL_BODIES:
        schema = schemas[body.name]
        assert schema["additionalProperties"] is False
        assert list(schema["properties"]) == [m.name for m in body.members]
        for member in body.members:
            prop = schema["properties"][member.name]
            if prop["type"] == "integer":
                assert not _refused(body, member.name, prop["minimum"]), (body.name, member.name)
                assert not _refused(body, member.name, prop["maximum"]), (body.name, member.name)
                if prop["minimum"] > -(2**31):
                    assert _refused(body, member.name, prop["minimum"] - 1), (body.name, member.name)
                if prop["maximum"] < 2**31 - 1:
                    assert _refused(body, member.name, prop["maximum"] + 1), (body.name, member.name)
            else:
                assert not _refused(body, member.name, member.example), (body.name, member.name)
                if "maxLength" in prop:
                    assert _refused(body, member.name, "a" * (prop["maxLength"] + 1)), (body.name, member.name)
                if prop.get("minLength", 0) > 0:
                    assert _refused(body, member.name, "a" * (prop["minLength"] - 1)), (body.name, member.name)
                if "pattern" in prop:
                    assert _refused(body, member.name, "a\x00b@c"), (body.name, member.name)
    quantity = schemas["PlaceOrderRequest"]["properties"]["quantity"]
    assert (quantity["minimum"], quantity["maximum"]) == (1, 3)
    assert schemas["RegisterRequest"]["required"] == ["sid", "username", "email", "password"]


def test_ids_are_int32_and_money_is_exact():
    schemas = openapi.build()["components"]["schemas"]
    for name, field in (("Product", "id"), ("Order", "id"), ("Order", "user_id"), ("User", "id")):
        assert schemas[name]["properties"][field]["format"] == "int32"
        assert schemas[name]["properties"][field]["maximum"] == 2**31 - 1
    for name, field in (("Product", "price"), ("Order", "total_price")):
        money = schemas[name]["properties"][field]
        assert money["type"] == "number" and money["multipleOf"] == 0.01
