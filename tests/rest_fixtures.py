"""Fixtures for the REST gateway's tests: real gateways (`python -m api_rest`) over real HTTP.

Every response a test receives through `api` is checked against the served
OpenAPI spec: its status must be documented for the operation, and its body
and headers must match the documented schema (money parsed as Decimal, so
`multipleOf: 0.01` is checked exactly).
"""
from __future__ import annotations

import contextlib
import dataclasses
import decimal
import json
import pathlib
import re
import time
import uuid

import grpc
import jsonschema
import pytest
import requests
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from merch.store.v1 import product_pb2, product_pb2_grpc
from tests import support

__all__ = ["api", "gateway", "rest_log_address", "rest_spec", "spec_checker"]  # the fixtures conftest imports

JWT_SECRET = "test-secret-" + "x" * 60
PASSWORD = "correct horse"
SPEC_URI = "urn:merch-openapi"


@dataclasses.dataclass
class Gateway:
    url: str
    process: support.ServiceProcess
    secret: str = JWT_SECRET

    def log_text(self) -> str:
        return self.process.log_text()


def gateway_env(state_dir: pathlib.Path, db_address: str, log_address: str, **overrides: str) -> dict[str, str]:
    return support.service_env(
        state_dir, MERCH_DB_ADDR=db_address, MERCH_LOG_ADDR=log_address, MERCH_JWT_SECRET=JWT_SECRET, **overrides
    )


@contextlib.contextmanager
def rest_gateway(state_dir: pathlib.Path, db_address: str, log_address: str, *, workers: int = 1,
                 threads: int = 4, wait_healthy: bool = True, **env_overrides: str):
    """Runs `python -m api_rest` on a free port; yields a Gateway once it answers."""
    port = support.free_port()
    proc = support.ServiceProcess(
        "api_rest", ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads)],
        gateway_env(state_dir, db_address, log_address, **env_overrides), state_dir,
    )
    gateway = Gateway(f"http://127.0.0.1:{port}", proc)
    wanted = (200,) if wait_healthy else (200, 503, 504)
    try:
        try:
            # Polled for as long as a busy machine may need; a gateway that exits ends the wait at once.
            support.wait_for(lambda: proc.process.poll() is not None
                             or requests.get(gateway.url + "/healthz", timeout=2).status_code in wanted,
                             timeout=support.START_TIMEOUT)
            if proc.process.poll() is not None:
                raise TimeoutError
        except TimeoutError:
            raise RuntimeError(f"the gateway did not answer; its log:\n{proc.log_text()[-3000:]}") from None
        yield gateway
    finally:
        proc.stop()


def dead_address() -> str:
    """An address where nothing listens (for a logging service that is away)."""
    return f"127.0.0.1:{support.free_port()}"


# --- the spec and response validation ----------------------------------------------------------


class SpecChecker:
    """Checks HTTP responses against the OpenAPI document."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.registry = Registry().with_resource(SPEC_URI, Resource(contents=spec, specification=DRAFT202012))
        self._paths = []
        for template in spec["paths"]:
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            self._paths.append((template.count("{"), template, re.compile(pattern)))
        self._paths.sort()  # literal paths before templated ones

    def template(self, path: str) -> str | None:
        for _, template, pattern in self._paths:
            if pattern.match(path):
                return template
        return None

    def _resolve(self, node: dict) -> dict:
        while "$ref" in node:
            node = self.registry.resolver().lookup(SPEC_URI + node["$ref"]).contents
        return node

    def validate_schema(self, instance, schema: dict, what: str) -> None:
        if "$ref" in schema:  # a schema of components/schemas, resolved within the whole document
            schema = {"$ref": SPEC_URI + schema["$ref"]}
        validator = jsonschema.Draft202012Validator(
            schema, registry=self.registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        assert not errors, f"{what} breaks the spec: " + "; ".join(
            f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors[:5])

    def check(self, response: requests.Response) -> None:
        method = response.request.method.lower()
        path = requests.utils.urlparse(response.request.url).path
        what = f"{response.request.method} {path} -> {response.status_code}"
        template = self.template(path)
        operation = self.spec["paths"].get(template, {}).get(method) if template else None
        if operation is None:
            # Not an operation of the API: it must be a 404/405 in the error shape.
            assert response.status_code in (404, 405), f"{what}: undocumented path answered"
            self.validate_schema(parse_json(response), {"$ref": "#/components/schemas/Error"}, what)
            return
        documented = operation["responses"]
        assert str(response.status_code) in documented, f"{what}: status not documented ({sorted(documented)})"
        spec_response = self._resolve(documented[str(response.status_code)])
        for name, header in spec_response.get("headers", {}).items():
            header = self._resolve(header)
            value = response.headers.get(name)
            if header.get("required") or name == "X-Request-ID":
                assert value is not None, f"{what}: header {name} missing"
            if value is not None:
                self.validate_schema(value, header["schema"], f"{what} header {name}")
        content = spec_response.get("content", {})
        media = response.headers.get("Content-Type", "").split(";")[0].strip()
        assert media in content, f"{what}: Content-Type {media!r} not documented ({list(content)})"
        if media == "application/json":
            self.validate_schema(parse_json(response), content[media]["schema"], what)


def parse_json(response: requests.Response):
    """The body as JSON, with every non-integer number as an exact Decimal."""
    return json.loads(response.content, parse_float=decimal.Decimal)


def load_spec() -> dict:
    from api_rest import openapi

    return json.loads(openapi.spec_bytes(), parse_float=decimal.Decimal)


class Api:
    """An HTTP client for one gateway that checks every response against the spec."""

    def __init__(self, gateway: Gateway, checker: SpecChecker):
        self.gateway = gateway
        self.checker = checker
        self.session = requests.Session()

    def request(self, method: str, path: str, *, token: str | None = None, check: bool = True,
                **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", 15)
        response = self.session.request(method, self.gateway.url + path, headers=headers, **kwargs)
        if check:
            self.checker.check(response)
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def register(self, **overrides) -> tuple[dict, str]:
        """A new user: (the user JSON, a token)."""
        name = f"u{uuid.uuid4().hex[:12]}"
        body = {"sid": name[:20], "username": name, "email": f"{name}@sustech.edu.cn", "password": PASSWORD}
        body.update(overrides)
        response = self.post("/register", json=body)
        assert response.status_code == 201, response.text
        data = parse_json(response)
        return data["user"], data["token"]


def error_of(response: requests.Response) -> dict:
    body = parse_json(response)
    assert set(body) == {"error"}, body
    return body["error"]


def violations_of(response: requests.Response) -> dict[str, str]:
    return {v["field"]: v["description"] for v in error_of(response).get("field_violations", [])}


def new_product(db_address: str, *, stock: int = 10, price_cents: int = 1999) -> product_pb2.Product:
    """A product of our own (the REST API only reads the catalogue), created over gRPC."""
    with support.channel(db_address) as channel:
        request = product_pb2.CreateProductRequest(
            name=f"Test Mug {uuid.uuid4().hex[:10]}", description="a mug", category="Drinkware",
            price_cents=price_cents, slogan="Sip with pride", stock=stock)
        return product_pb2_grpc.ProductServiceStub(channel).CreateProduct(request, timeout=10).product


def wait_until(condition, timeout: float = 10.0, interval: float = 0.1):
    """The first truthy value of `condition()` within `timeout` seconds, else a TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met after {timeout}s")
        time.sleep(interval)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def rest_spec() -> dict:
    return load_spec()


@pytest.fixture(scope="session")
def spec_checker(rest_spec) -> SpecChecker:
    return SpecChecker(rest_spec)


@pytest.fixture(scope="session")
def rest_log_address(tmp_path_factory):
    """One logging service for the session's gateways (the JSONL sink in its own state folder)."""
    with support.logging_service(tmp_path_factory.mktemp("rest-logs")) as (address, _proc):
        yield address


@pytest.fixture(scope="session")
def gateway(db_address, rest_log_address, tmp_path_factory):
    """One gateway (2 workers) per backend for the whole session, in front of `db_address`."""
    with rest_gateway(tmp_path_factory.mktemp("rest-gateway"), db_address, rest_log_address, workers=2) as gw:
        yield gw


@pytest.fixture
def api(gateway, spec_checker) -> Api:
    client = Api(gateway, spec_checker)
    yield client
    client.session.close()
