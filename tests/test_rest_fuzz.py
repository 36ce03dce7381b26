"""Property-based fuzzing of the served OpenAPI spec with schemathesis: valid and invalid requests
to every operation find no 5xx and no response that breaks the spec.

The run has a gateway and a DB service (SQLite) of its own, so that the random orders and account
changes it makes cannot disturb other tests. Operations that deactivate the caller get a fresh
user per case, so the shared user's token keeps working for the rest of the run.
"""
from __future__ import annotations

import json
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api_rest import openapi
from tests import support
from tests.rest_fixtures import PASSWORD, rest_gateway

EXAMPLES_PER_OPERATION = 12


@pytest.fixture(scope="module")
def fuzz_gateway(tmp_path_factory, rest_log_address):
    state_dir = tmp_path_factory.mktemp("fuzz")
    with support.db_service(state_dir, MERCH_LOG_ADDR=rest_log_address) as (db_address, _):
        with rest_gateway(state_dir, db_address, rest_log_address, workers=2) as gateway:
            yield gateway


def _register(gateway) -> tuple[int, str]:
    name = f"fz{uuid.uuid4().hex[:12]}"
    response = requests.post(gateway.url + "/register", json={
        "sid": name[:20], "username": name, "email": f"{name}@sustech.edu.cn", "password": PASSWORD,
    }, timeout=10)
    response.raise_for_status()
    data = response.json()
    return data["user"]["id"], data["token"]


@pytest.fixture(scope="module")
def fuzz_user(fuzz_gateway):
    """The user most cases act as, with one order of theirs so that order paths can hit a real one."""
    user_id, token = _register(fuzz_gateway)
    requests.post(fuzz_gateway.url + "/orders", headers={"Authorization": f"Bearer {token}"},
                  json={"product_id": 1, "quantity": 1}, timeout=10).raise_for_status()
    return user_id, token


# The spec is loaded at collection time from the module that serves it (schemathesis' lazy
# from_fixture loader does not work with pytest 9); the first test proves it is the served one.
schema = schemathesis.openapi.from_dict(json.loads(openapi.spec_bytes()))


def test_the_fuzzed_spec_is_the_served_spec(fuzz_gateway):
    assert requests.get(fuzz_gateway.url + "/openapi.json", timeout=10).content == openapi.spec_bytes()


@schemathesis.check
def schema_valid_requests_are_not_refused_as_invalid(ctx, response, case):
    """Schemathesis' positive_data_acceptance, adjusted to this API: a request the spec calls valid
    may still get 400 FAILED_PRECONDITION (the standard mapping: not enough stock, an order already
    cancelled — the state of the store, not the shape of the request), 400 for a page_token the
    store never issued (an opaque cursor no schema can describe), 400 for a username with format,
    private-use or unassigned characters (Unicode categories, which a pattern that ECMA-262 and
    Python's `re` read alike cannot state), and 400 for a password over 72 bytes of UTF-8 (JSON
    Schema counts characters, bcrypt bytes); any other 400 is a spec bug."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return None
    error = response.json()["error"]
    if error["code"] == "FAILED_PRECONDITION":
        return None
    fields = {v["field"] for v in error.get("field_violations", [])}
    assert fields and fields <= {"page_token", "username", "password"}, \
        f"a schema-valid request was refused: {error['message']}"
    if "username" in fields:
        assert "format" in error["message"] or "whitespace" in error["message"], error["message"]
    if "password" in fields:
        assert "bytes" in error["message"], error["message"]
    return None


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_fuzzed_requests_get_no_5xx_and_spec_conforming_responses(case, fuzz_gateway, fuzz_user):
    _, token = fuzz_user
    if case.method == "DELETE" and case.path in ("/users/{user_id}", "/deactivate-user"):
        _, token = _register(fuzz_gateway)  # this case may deactivate its caller
    case.call_and_validate(
        base_url=fuzz_gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=15,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[schema_valid_requests_are_not_refused_as_invalid],
    )


# --- hostile values ------------------------------------------------------------------------------
# A second run of the same spec in which hypothesis also draws the values a hostile client sends:
# integers far outside int32/int64, numbers with exponents and fractions, very long strings, deep
# nesting, wrong types. Each case must be answered, in well under a second, without a 5xx.

HOSTILE_VALUES = [10**4000, -(10**4000), 2**63, -(2**63) - 1, 2**31, -(2**31) - 1, 1e308, -1e-308, 1.5,
                  "9" * 5000, "1e1000000", "x" * 60_000, "\u200b" * 100, "\ud800", None, True, [], {"a": 1},
                  [[[[[[[[[[1]]]]]]]]]], {"a": {"b": {"c": {"d": {"e": 1}}}}}]

hostile_schema = schemathesis.openapi.from_dict(json.loads(openapi.spec_bytes()))


def _with_hostile(values):
    """A strategy: `values` (a dict) with one member, or a new one, replaced by a hostile value."""
    from hypothesis import strategies as st

    if not isinstance(values, dict):
        return st.just(values)
    keys = sorted(values) + ["user_id", "quantity", "product_id", "order_id", "page_size"]
    return st.tuples(st.sampled_from(keys), st.sampled_from(HOSTILE_VALUES)).map(
        lambda pair: {**values, pair[0]: pair[1]})


@hostile_schema.hook
def flatmap_body(ctx, body):
    return _with_hostile(body)


def _query_text(value) -> str:
    """A query value as text; what a URL cannot carry (a lone surrogate) goes as its JSON escape."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            pass
    return json.dumps(value)


@hostile_schema.hook
def flatmap_query(ctx, query):
    return _with_hostile(query or {}).map(lambda q: {k: _query_text(v) for k, v in q.items()})


@hostile_schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_fuzzed_hostile_values_get_a_prompt_answer_and_no_5xx(case, fuzz_gateway, fuzz_user):
    _, token = fuzz_user
    if case.method == "DELETE" and case.path in ("/users/{user_id}", "/deactivate-user"):
        _, token = _register(fuzz_gateway)
    response = case.call(base_url=fuzz_gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=15)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    assert response.elapsed < 1.0, (case.method, case.path, response.elapsed)
