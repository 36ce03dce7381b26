"""The OpenAPI 3.1 description of the REST API, served at /openapi.json.

Built here rather than kept as a JSON file so that every constraint (minimum,
maximum, minLength, maxLength, pattern, required) is read from the protos'
protovalidate rules, the rules the gateway and the DB service check; request
bodies take their members from `api_rest.bodies`, and each seed alias shares
its resource path's operation text. `python -m api_rest.openapi` prints it.

Types follow the proto and the SQL schema: ids are `integer`/`int32` (1 to
2^31-1), money is a `number` with `multipleOf: 0.01`, written exactly from
integer cents (`49.99`), timestamps are RFC 3339 `date-time` strings.
"""
from __future__ import annotations

import copy
import functools
import json
import re

from buf.validate import validate_pb2
from google.protobuf.descriptor import FieldDescriptor

from merch.store.v1 import order_pb2, product_pb2, user_pb2

from api_rest import bodies
from api_rest.bodies import INT32_MAX
from api_rest.errors import HTTP_STATUS

SCHEMAS = "#/components/schemas/"
RESPONSES = "#/components/responses/"

ID = {"type": "integer", "format": "int32", "minimum": 1, "maximum": INT32_MAX}
MONEY = {"type": "number", "multipleOf": 0.01, "minimum": 0,
         "description": "an amount in yuan with exactly two decimals, e.g. 49.99 (exact: never a binary float)"}
TIME = {"type": "string", "format": "date-time", "description": "RFC 3339, UTC"}


# --- constraints from the protos' rules -----------------------------------------------------------

_INTEGERS = {FieldDescriptor.CPPTYPE_INT32: ("int32", "int32"), FieldDescriptor.CPPTYPE_INT64: ("int64", "int64")}
# A pattern rule is written as a CEL rule with a message for people, `this.matches(r'<regex>')`; the
# regex uses only what RE2 (protovalidate), Python and ECMA-262 (JSON Schema) read alike.
_MATCHES = re.compile(r"^this\.matches\(r'(?P<regex>[^']*)'\)$")


def _rules(field: FieldDescriptor) -> validate_pb2.FieldRules:
    return field.GetOptions().Extensions[validate_pb2.field]


def _constraints(field: FieldDescriptor) -> dict:
    """The JSON Schema keywords that state `field`'s protovalidate rules (and its type's range)."""
    rules, schema = _rules(field), {}
    if field.cpp_type in _INTEGERS:
        kind = _INTEGERS[field.cpp_type][0]
        bits = 31 if kind == "int32" else 63
        low, high = -(2**bits), 2**bits - 1
        if rules.HasField(kind):
            bounds = getattr(rules, kind)
            if bounds.HasField("gt"):
                low = bounds.gt + 1
            if bounds.HasField("gte"):
                low = bounds.gte
            if bounds.HasField("lt"):
                high = bounds.lt - 1
            if bounds.HasField("lte"):
                high = bounds.lte
        if rules.required and low == 0:
            low = 1  # required: the zero value counts as absent
        schema.update(minimum=low, maximum=high)
        return schema
    text = rules.string
    # JSON Schema counts characters, not UTF-8 bytes: a byte limit is stated as the same number of
    # characters, exact for ASCII (a longer text in characters is always longer in bytes).
    low = max(text.min_len, text.min_bytes, 1 if rules.required else 0)
    highs = [getattr(text, name) for name in ("max_len", "max_bytes") if text.HasField(name)]
    high = min(highs, default=None)
    if low:
        schema["minLength"] = low
    if high is not None:
        schema["maxLength"] = high
    if text.HasField("pattern"):
        schema["pattern"] = text.pattern
    for rule in rules.cel:
        match = _MATCHES.match(rule.expression)
        if match:
            schema["pattern"] = match["regex"]
    return schema


def _field_schema(field: FieldDescriptor, description: str | None = None) -> dict:
    """The JSON Schema of a request field: its JSON type and its rules."""
    if field.cpp_type in _INTEGERS:
        schema: dict = {"type": "integer", "format": _INTEGERS[field.cpp_type][1]}
    else:
        schema = {"type": "string"}
    if description:
        schema["description"] = description
    schema.update(_constraints(field))
    return schema


def _rule(message, name: str, description: str | None = None) -> dict:
    """The schema of the field `name` of the request message class `message`."""
    return _field_schema(message.DESCRIPTOR.fields_by_name[name], description)


def body_schema(body: bodies.Body) -> dict:
    """A request body's JSON Schema: its members, typed and constrained by the message's rules."""
    properties, required = {}, []
    for member in body.members:
        field = body.field(member)
        schema = _field_schema(field, member.description)
        if member.secret:
            schema["format"] = "password"
        if member.example is not None:
            schema["examples"] = [member.example]
        properties[member.name] = schema
        if _rules(field).required and not member.from_caller:
            required.append(member.name)
    schema = {"type": "object", "description": body.description, "properties": properties,
              "additionalProperties": False}
    if required:
        schema["required"] = required
    if body.at_least_one_of:
        schema["minProperties"] = 1
        schema["anyOf"] = [{"required": [name]} for name in body.at_least_one_of]
    if body.needs:
        schema["dependentRequired"] = {given: [needed] for given, needed in body.needs}
    return schema


def _output(message, name: str, **extra) -> dict:
    """A response property with the limits its value was stored under (the create request's rules)."""
    schema = _rule(message, name)
    schema.pop("pattern", None)  # stored values kept them; repeating the regex helps no reader
    return {**schema, **extra}


# --- the document --------------------------------------------------------------------------------

def _ref(name: str) -> dict:
    return {"$ref": SCHEMAS + name}


def _object(description: str, properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "description": description, "properties": properties,
            "required": list(properties) if required is None else required, "additionalProperties": False}


def _schemas() -> dict:
    schemas = {
        "Greeting": _object("The store's greeting.", {"message": {"type": "string", "examples": [
            "Welcome to the gRPC Service!"]}}),
        "Health": _object("The gateway's view of its backend.", {"status": {"type": "string", "enum": ["SERVING"]}}),
        "Product": _object("A product on sale.", {
            "id": {**ID, "description": "the product's id"},
            "name": _output(product_pb2.CreateProductRequest, "name", examples=["SUSTech Hoodie"]),
            "description": _output(product_pb2.CreateProductRequest, "description"),
            "category": _output(product_pb2.CreateProductRequest, "category", examples=["Apparel"]),
            "price": {**MONEY, "description": "the unit price, " + MONEY["description"], "examples": [49.99]},
            "slogan": _output(product_pb2.CreateProductRequest, "slogan", examples=["Stay warm, stay proud!"]),
            "stock": {"type": "integer", "format": "int32", "minimum": 0, "maximum": INT32_MAX,
                      "description": "items left to sell"},
        }),
        "ProductList": _object("A page of products, in id order.", {
            "products": {"type": "array", "items": _ref("Product")},
            "next_page_token": {"type": "string", "description": "pass as page_token for the next page; "
                                                                 "empty on the last page"},
        }),
        "User": _object("A user account as its owner sees it (never a password or hash).", {
            "id": {**ID, "description": "the user's id"},
            "sid": _output(user_pb2.CreateUserRequest, "sid"),
            "username": _output(user_pb2.CreateUserRequest, "username"),
            "email": _output(user_pb2.CreateUserRequest, "email"),
            "active": {"type": "boolean", "description": "false once deactivated"},
            "created_at": TIME,
            "updated_at": TIME,
        }),
        "AuthResult": _object("A user and a bearer token for them.", {
            "user": _ref("User"),
            "token": {"type": "string", "description": "an HS256 JWT; send it as 'Authorization: Bearer <token>'"},
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer", "minimum": 1, "description": "seconds until the token expires"},
        }),
        "Order": _object("One purchase of one product by one user.", {
            "id": {**ID, "description": "the order's id"},
            "user_id": {**ID, "description": "the buyer"},
            "product_id": {**ID, "description": "the product bought"},
            "quantity": _output(order_pb2.PlaceOrderRequest, "quantity"),
            "total_price": {**MONEY, "description": "quantity times the unit price when placed or last changed, "
                                                    + MONEY["description"]},
            "status": {"type": "string", "enum": ["placed", "cancelled"]},
            "created_at": TIME,
            "updated_at": TIME,
        }),
        "OrderList": _object("A page of the caller's orders, newest first.", {
            "orders": {"type": "array", "items": _ref("Order")},
            "next_page_token": {"type": "string", "description": "pass as page_token for the next page; "
                                                                 "empty on the last page"},
        }),
        "Error": _object("Every error, in one shape.", {"error": _object("What went wrong.", {
            "code": {"type": "string", "enum": [code.name for code in HTTP_STATUS if code.name != "OK"],
                     "description": "the gRPC status code name"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "the HTTP status"},
            "message": {"type": "string", "description": "what happened and what to do about it"},
            "field_violations": {"type": "array", "description": "for bad input: one entry per offending field",
                                 "items": _object("One bad field.", {
                                     "field": {"type": "string"}, "description": {"type": "string"}})},
            "request_id": {"type": "string", "description": "the X-Request-ID of the request"},
        }, required=["code", "status", "message", "request_id"])}),
    }
    for body in bodies.ALL_BODIES:
        schemas[body.name] = body_schema(body)
    return schemas


REQUEST_ID_HEADER = {"description": "the request's id: the X-Request-ID sent (when it was 1 to 128 of "
                                    "A-Z a-z 0-9 . _ : -) or a new one",
                     "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}}

ERRORS = {
    "400": ("BadRequest", "Bad input (INVALID_ARGUMENT, with field_violations), or a state that forbids the change "
                          "(FAILED_PRECONDITION: not enough stock, order already cancelled)."),
    "401": ("Unauthorized", "No valid bearer token, its user is deactivated, or it was issued before the last "
                            "password change; or wrong login credentials."),
    "403": ("Forbidden", "The path, query or body names another user's user_id, or current_password is wrong "
                         "(PERMISSION_DENIED)."),
    "404": ("NotFound", "No such resource, or it belongs to another user."),
    "409": ("Conflict", "The sid, username or email is already registered (ALREADY_EXISTS), or a request with "
                        "the same Idempotency-Key is still being processed (ABORTED)."),
    "413": ("PayloadTooLarge", "The body is over 64 KiB."),
    "415": ("UnsupportedMediaType", "The body is not sent as application/json."),
    "422": ("UnprocessableContent", "The Idempotency-Key was already used with a different request body."),
    "429": ("TooManyRequests", "Too many failed logins for this username: wait Retry-After seconds."),
    "500": ("InternalError", "An unexpected failure; the log has the details under the request_id."),
    "503": ("Unavailable", "The DB service is down or busy (Retry-After says when to retry)."),
    "504": ("GatewayTimeout", "The DB service did not answer within the deadline; retry shortly."),
}


def _error_responses() -> dict:
    result = {}
    for status, (name, description) in ERRORS.items():
        headers = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}
        if status in ("429", "503"):
            headers["Retry-After"] = {"description": "seconds to wait before retrying",
                                      "schema": {"type": "string", "pattern": "^[0-9]+$"}}
        if status == "401":
            headers["WWW-Authenticate"] = {"description": "the Bearer challenge (RFC 6750)", "required": True,
                                           "schema": {"type": "string", "pattern": "^Bearer "}}
        result[name] = {"description": description, "headers": headers,
                        "content": {"application/json": {"schema": _ref("Error")}}}
    return result


def _ok(schema_name: str, description: str, status: str = "200", location: bool = False,
        idempotent: bool = False) -> dict:
    headers = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}
    if location:
        headers["Location"] = {"description": "the new resource's path", "schema": {"type": "string"}}
    if idempotent:
        headers["Idempotent-Replayed"] = {
            "description": "'true' when this is the stored answer of an earlier request with the same "
                           "Idempotency-Key", "schema": {"type": "string", "enum": ["true"]}}
    return {status: {"description": description, "headers": headers,
                     "content": {"application/json": {"schema": _ref(schema_name)}}}}


def _errors(*statuses: str) -> dict:
    return {status: {"$ref": RESPONSES + ERRORS[status][0]} for status in statuses}


BACKEND = ("500", "503", "504")
# Every authenticated route applies the ownership rule: a malformed user_id in the path, query or body
# is 400, another user's is 403.
AUTHED = ("400", "401", "403", *BACKEND)
WITH_BODY = ("400", "413", "415")


def _body(body: bodies.Body, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": _ref(body.name)}}}


def _path_id(name: str, what: str, message) -> dict:
    return {"name": name, "in": "path", "required": True, "description": f"the {what}'s id",
            "schema": _rule(message, name)}


def _query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


PAGE = [
    _query("page_size", "the most items to return, 0 to 1000; 0 or absent means 100",
           _rule(order_pb2.ListOrdersRequest, "page_size")),
    _query("page_token", "the next_page_token of the previous page", _rule(order_pb2.ListOrdersRequest, "page_token")),
]
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "a unique key for this request, e.g. a UUID (1 to 255 visible ASCII characters). A retry "
                   "with the same key and body within 24 hours returns the first answer (with "
                   "Idempotent-Replayed: true) instead of acting twice; the same key with another body is 422, "
                   "and while the first request is still running, 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"}}
OWN_USER_ID = _query("user_id", "optional: the caller's own user id (as the seed sends it); another id is 403",
                     dict(ID))


def _operations() -> dict:
    """Each operation once; `paths()` places it under its resource path and its seed alias."""
    return {
        "greeting": {"tags": ["store"], "summary": "The store's greeting", "security": [],
                     "responses": {**_ok("Greeting", "the greeting from the DB service"), **_errors(*BACKEND)}},
        "health": {"tags": ["store"], "summary": "Whether the gateway can reach the DB service", "security": [],
                   "responses": {**_ok("Health", "the DB service is serving"), **_errors("503")}},
        "openapi": {"tags": ["store"], "summary": "This OpenAPI description", "security": [],
                    "responses": {"200": {"description": "the OpenAPI 3.1 document",
                                          "headers": {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}},
                                          "content": {"application/json": {"schema": {"type": "object"}}}}}},
        "docs": {"tags": ["store"], "summary": "Swagger UI for this API", "security": [],
                 "responses": {"200": {"description": "the Swagger UI page",
                                       "headers": {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}},
                                       "content": {"text/html": {"schema": {"type": "string"}}}}}},
        "listProducts": {"tags": ["products"], "summary": "List products",
                         "parameters": [*PAGE, _query("category", "only products of this category",
                                                      _rule(product_pb2.ListProductsRequest, "category"))],
                         "responses": {**_ok("ProductList", "a page of products"), **_errors("400", *AUTHED)}},
        "getProduct": {"tags": ["products"], "summary": "Get a product",
                       "parameters": [_path_id("product_id", "product", product_pb2.GetProductRequest)],
                       "responses": {**_ok("Product", "the product"), **_errors("404", *AUTHED)}},
        "register": {"tags": ["users"], "summary": "Register a user (returns the user and a token)", "security": [],
                     "parameters": [IDEMPOTENCY_KEY],
                     "requestBody": _body(bodies.REGISTER),
                     "responses": {**_ok("AuthResult", "the new user and a token", "201", location=True,
                                         idempotent=True),
                                   **_errors(*WITH_BODY, "409", "422", *BACKEND)}},
        "login": {"tags": ["users"], "summary": "Log in (returns a token)", "security": [],
                  "requestBody": _body(bodies.LOGIN),
                  "responses": {**_ok("AuthResult", "the user and a token"),
                                **_errors(*WITH_BODY, "401", "429", *BACKEND)}},
        "getUser": {"tags": ["users"], "summary": "Get your own user",
                    "parameters": [_path_id("user_id", "user (yours)", user_pb2.GetUserRequest)],
                    "responses": {**_ok("User", "your user"), **_errors("403", "404", *AUTHED)}},
        "getUserSeed": {"tags": ["users"], "summary": "Get your own user (the seed's path)",
                        "parameters": [OWN_USER_ID],
                        "responses": {**_ok("User", "your user"), **_errors("400", "403", *AUTHED)}},
        "updateUser": {"tags": ["users"], "summary": "Change your own user",
                       "parameters": [_path_id("user_id", "user (yours)", user_pb2.GetUserRequest)],
                       "requestBody": _body(bodies.UPDATE_USER),
                       "responses": {**_ok("User", "your user, changed"),
                                     **_errors(*WITH_BODY, "403", "404", "409", *AUTHED)}},
        "updateUserSeed": {"tags": ["users"], "summary": "Change your own user (the seed's path)",
                           "requestBody": _body(bodies.SEED_UPDATE_USER),
                           "responses": {**_ok("User", "your user, changed"),
                                         **_errors(*WITH_BODY, "403", "409", *AUTHED)}},
        "deactivateUser": {"tags": ["users"], "summary": "Deactivate your own user (its tokens stop working)",
                           "parameters": [_path_id("user_id", "user (yours)", user_pb2.GetUserRequest)],
                           "responses": {**_ok("User", "your user, now inactive"), **_errors("403", "404", *AUTHED)}},
        "deactivateUserSeed": {"tags": ["users"], "summary": "Deactivate your own user (the seed's path)",
                               "requestBody": _body(bodies.SEED_USER_REF, required=False),
                               "responses": {**_ok("User", "your user, now inactive"),
                                             **_errors(*WITH_BODY, "403", *AUTHED)}},
        "placeOrder": {"tags": ["orders"], "summary": "Place an order",
                       "parameters": [IDEMPOTENCY_KEY],
                       "requestBody": _body(bodies.PLACE_ORDER),
                       "responses": {**_ok("Order", "the order", "201", location=True, idempotent=True),
                                     **_errors(*WITH_BODY, "404", "409", "422", *AUTHED)}},
        "listOrders": {"tags": ["orders"], "summary": "List your orders",
                       "parameters": [*PAGE, OWN_USER_ID],
                       "responses": {**_ok("OrderList", "a page of your orders"), **_errors("400", "403", *AUTHED)}},
        "getOrder": {"tags": ["orders"], "summary": "Get one of your orders",
                     "parameters": [_path_id("order_id", "order", order_pb2.GetOrderRequest)],
                     "responses": {**_ok("Order", "the order"), **_errors("404", *AUTHED)}},
        "updateOrder": {"tags": ["orders"], "summary": "Change the quantity or product of one of your orders",
                        "parameters": [_path_id("order_id", "order", order_pb2.GetOrderRequest)],
                        "requestBody": _body(bodies.UPDATE_ORDER),
                        "responses": {**_ok("Order", "the order, changed"),
                                      **_errors(*WITH_BODY, "403", "404", *AUTHED)}},
        "updateOrderSeed": {"tags": ["orders"], "summary": "Change one of your orders (the seed's path)",
                            "requestBody": _body(bodies.SEED_UPDATE_ORDER),
                            "responses": {**_ok("Order", "the order, changed"),
                                          **_errors(*WITH_BODY, "403", "404", *AUTHED)}},
        "cancelOrder": {"tags": ["orders"], "summary": "Cancel one of your orders (its items go back to stock)",
                        "parameters": [_path_id("order_id", "order", order_pb2.GetOrderRequest)],
                        "responses": {**_ok("Order", "the order, now cancelled"), **_errors("400", "404", *AUTHED)}},
    }


# (path, method, operation, alias-of-resource-path or None)
ROUTES = [
    ("/", "get", "greeting", None),
    ("/healthz", "get", "health", None),
    ("/openapi.json", "get", "openapi", None),
    ("/docs", "get", "docs", None),
    ("/products", "get", "listProducts", None),
    ("/products/{product_id}", "get", "getProduct", None),
    ("/users", "post", "register", None),
    ("/register", "post", "register", "POST /users"),
    ("/login", "post", "login", None),
    ("/users/{user_id}", "get", "getUser", None),
    ("/users/{user_id}", "patch", "updateUser", None),
    ("/users/{user_id}", "delete", "deactivateUser", None),
    ("/get-user", "get", "getUserSeed", "GET /users/{user_id}"),
    ("/update-user", "put", "updateUserSeed", "PATCH /users/{user_id}"),
    ("/deactivate-user", "delete", "deactivateUserSeed", "DELETE /users/{user_id}"),
    ("/orders", "post", "placeOrder", None),
    ("/orders", "get", "listOrders", None),
    ("/orders/{order_id}", "get", "getOrder", None),
    ("/orders/{order_id}", "patch", "updateOrder", None),
    ("/orders/{order_id}", "delete", "cancelOrder", None),
    ("/place-order", "post", "placeOrder", "POST /orders"),
    ("/get-order/{order_id}", "get", "getOrder", "GET /orders/{order_id}"),
    ("/update-order", "put", "updateOrderSeed", "PATCH /orders/{order_id}"),
    ("/cancel-order/{order_id}", "delete", "cancelOrder", "DELETE /orders/{order_id}"),
]


def build() -> dict:
    operations = _operations()
    paths: dict = {}
    for path, method, name, alias_of in ROUTES:
        operation = copy.deepcopy(operations[name])
        operation_id = name
        if alias_of is not None:
            if not name.endswith("Seed"):
                operation_id = name + "Seed"
            operation["description"] = f"The seed's path for `{alias_of}`: the same handler."
        operation["operationId"] = operation_id
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SUSTech Merch Store API",
            "version": "1.0.0",
            "description": (
                "The store's REST API. Register or log in for a bearer token, then send it as "
                "`Authorization: Bearer <token>` on every other request (`GET /`, `/healthz`, `/openapi.json` "
                "and `/docs` are open). Every response carries `X-Request-ID` (the one sent, when sane, or a "
                "new one); errors have one JSON shape. Request bodies refuse unknown fields. The seed's paths "
                "(`/place-order`, `/get-user`, ...) are aliases of the resource paths."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": "store"}, {"name": "products"}, {"name": "users"}, {"name": "orders"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "headers": {"RequestId": REQUEST_ID_HEADER},
            "schemas": _schemas(),
            "responses": _error_responses(),
        },
    }


@functools.cache
def spec_bytes() -> bytes:
    return json.dumps(build(), indent=2).encode("utf-8")


if __name__ == "__main__":
    print(spec_bytes().decode())
