"""The gateway when its backend misbehaves: down (503, quickly, and back when it returns), slow (504
at the deadline), failing in other ways (the mapped status, never a leaked detail), and replicated
(round-robin over MERCH_DB_ADDR's list, with the request id and service token on every call)."""
from __future__ import annotations

import concurrent.futures
import threading
import time

import grpc
import pytest
import requests
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from merch.store.v1 import greeting_service_pb2, greeting_service_pb2_grpc
from tests import support
from tests.rest_fixtures import dead_address, error_of, parse_json, rest_gateway, wait_until


class FakeGreeting(greeting_service_pb2_grpc.GreetingServiceServicer):
    """A DB service stand-in whose GetGreeting does what the test says, and remembers its callers."""

    def __init__(self, name: str):
        self.name = name
        self.behaviour = None  # None: answer; a float: sleep that long first; a StatusCode: abort with it
        self.calls: list[dict] = []
        self.lock = threading.Lock()

    def GetGreeting(self, request, context):
        with self.lock:
            self.calls.append(dict(context.invocation_metadata()))
        if isinstance(self.behaviour, float):
            time.sleep(self.behaviour)
        elif isinstance(self.behaviour, grpc.StatusCode):
            context.abort(self.behaviour, "SELECT secret FROM internals -- a detail that must not leak")
        return greeting_service_pb2.GetGreetingResponse(message=f"hello from {self.name}")


def start_fake(name: str):
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=16))
    fake = FakeGreeting(name)
    greeting_service_pb2_grpc.add_GreetingServiceServicer_to_server(fake, server)
    health_servicer = health.HealthServicer()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return fake, server, f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def fake_backends():
    started = [start_fake("a"), start_fake("b")]
    yield started
    for _, server, _ in started:
        server.stop(0)


@pytest.fixture(scope="module")
def fake_gateway(fake_backends, tmp_path_factory):
    """A gateway over both fake backends, with a service token and a short deadline."""
    addresses = ",".join(address for _, _, address in fake_backends)
    with rest_gateway(tmp_path_factory.mktemp("fake-gw"), addresses, dead_address(),
                      MERCH_SERVICE_TOKEN="svc-token-0123456789", MERCH_GRPC_TIMEOUT_SECONDS="0.5") as gateway:
        yield gateway


@pytest.fixture
def fakes(fake_backends):
    for fake, _, _ in fake_backends:
        fake.behaviour = None
        fake.calls.clear()
    yield [fake for fake, _, _ in fake_backends]
    for fake, _, _ in fake_backends:
        fake.behaviour = None


def test_calls_go_round_robin_over_every_db_address(fake_gateway, fakes):
    answers = {requests.get(fake_gateway.url + "/", timeout=5).json()["message"] for _ in range(12)}
    assert answers == {"hello from a", "hello from b"}
    assert all(fake.calls for fake in fakes)


def test_every_grpc_call_carries_the_request_id_and_the_service_token(fake_gateway, fakes):
    requests.get(fake_gateway.url + "/", headers={"X-Request-ID": "rid-trace-1"}, timeout=5)
    (call,) = [c for fake in fakes for c in fake.calls]
    assert call["x-request-id"] == "rid-trace-1"
    assert call["authorization"] == "Bearer svc-token-0123456789"


def test_a_slow_backend_gives_504_at_the_deadline(fake_gateway, fakes):
    """The deadline is 0.5 s and the backend takes 20 s: answering well before the backend would is the
    deadline at work (the margin is wide so that a busy machine cannot blur the two)."""
    for fake in fakes:
        fake.behaviour = 20.0
    started = time.monotonic()
    response = requests.get(fake_gateway.url + "/", timeout=30)
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert error_of(response)["code"] == "DEADLINE_EXCEEDED"
    assert elapsed < 10.0


@pytest.mark.parametrize("code, status", [
    (grpc.StatusCode.INTERNAL, 500), (grpc.StatusCode.UNKNOWN, 500), (grpc.StatusCode.DATA_LOSS, 500),
    (grpc.StatusCode.UNAUTHENTICATED, 500), (grpc.StatusCode.UNIMPLEMENTED, 500),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, 429), (grpc.StatusCode.UNAVAILABLE, 503),
    (grpc.StatusCode.NOT_FOUND, 404), (grpc.StatusCode.PERMISSION_DENIED, 403),
    (grpc.StatusCode.FAILED_PRECONDITION, 400), (grpc.StatusCode.ALREADY_EXISTS, 409),
    (grpc.StatusCode.ABORTED, 409), (grpc.StatusCode.INVALID_ARGUMENT, 400),
])
def test_backend_failures_map_to_http_statuses_without_leaking_internals(fake_gateway, fakes, code, status):
    for fake in fakes:
        fake.behaviour = code
    response = requests.get(fake_gateway.url + "/", timeout=5)
    assert response.status_code == status
    error = error_of(response)
    assert error["status"] == status
    if status >= 500 or status == 429:
        assert "SELECT" not in response.text and "secret" not in response.text


# The gateway's gRPC deadline in the test below: a 503 "quickly" is one well within it.
OWN_DB_DEADLINE = 30.0


@pytest.fixture
def own_db(tmp_path, rest_log_address):
    """A DB service of this test's own (SQLite), on a port it can be restarted on."""
    port = support.free_port()
    env = support.service_env(tmp_path, MERCH_LOG_ADDR=rest_log_address)
    return tmp_path, f"127.0.0.1:{port}", env, rest_log_address


def _start_db(state_dir, address, env) -> support.ServiceProcess:
    proc = support.ServiceProcess("py_server.db_service", ["--bind", address], env, state_dir)
    support.wait_serving(address, process=proc.process)
    return proc


def test_db_service_down_gives_503_quickly_and_service_resumes_when_it_returns(own_db):
    state_dir, address, env, log_address = own_db
    db = _start_db(state_dir, address, env)
    try:
        with rest_gateway(state_dir, address, log_address,
                          MERCH_GRPC_TIMEOUT_SECONDS=str(OWN_DB_DEADLINE)) as gateway:
            session = requests.Session()
            token = session.post(gateway.url + "/register", json={
                "sid": "s", "username": "downtime", "email": "d@sustech.edu.cn", "password": "correct horse",
            }, timeout=10).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            assert session.get(gateway.url + "/products/1", headers=auth, timeout=5).status_code == 200

            db.stop()
            for path, headers in (("/products/1", auth), ("/", {}), ("/healthz", {}), ("/orders", auth)):
                started = time.monotonic()
                response = session.get(gateway.url + path, headers=headers, timeout=2 * OWN_DB_DEADLINE)
                assert response.status_code == 503, (path, response.text)
                assert time.monotonic() - started < OWN_DB_DEADLINE / 3, "a down backend is not waited out"
                assert error_of(response)["code"] == "UNAVAILABLE"
                assert "retry" in error_of(response)["message"]

            db = _start_db(state_dir, address, env)
            wait_until(lambda: session.get(gateway.url + "/products/1", headers=auth, timeout=5).status_code == 200,
                       timeout=60)
            assert parse_json(session.get(gateway.url + "/get-user", headers=auth, timeout=5))["username"] == "downtime"
    finally:
        db.stop()


def test_a_gateway_whose_logging_service_is_away_still_answers_promptly(fake_gateway, fakes):
    """fake_gateway ships its logs to an address where nothing listens."""
    latencies = []
    for _ in range(20):
        started = time.monotonic()
        assert requests.get(fake_gateway.url + "/", timeout=10).status_code == 200
        latencies.append(time.monotonic() - started)
    # Shipping that waited for the absent service would cost every request a connection attempt or a
    # timeout; the median shows it, where one slow request on a busy machine would not.
    assert sorted(latencies)[len(latencies) // 2] < 0.5, latencies
