"""Prometheus metrics: the gateway's `/metrics` (every gunicorn worker added up), and the DB and
logging services' own metrics endpoints, read over real HTTP from real processes."""
from __future__ import annotations

import os
import signal
import uuid

import grpc
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from merch.logging.v1 import logging_pb2, logging_pb2_grpc
from merch.store.v1 import greeting_service_pb2, greeting_service_pb2_grpc, product_pb2, product_pb2_grpc
from py_server import metrics as service_metrics
from tests import support
from tests.rest_fixtures import rest_gateway

TOKEN = "metrics-test-token-" + "m" * 20
AUTH = (("authorization", f"Bearer {TOKEN}"),)


def samples(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample at `url`, keyed by (name, labels)."""
    response = requests.get(url, timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def observed_store(tmp_path_factory):
    """A logging service and a DB service, each with a metrics port, and a 2-worker gateway."""
    state_dir = tmp_path_factory.mktemp("metrics-store")
    db_metrics, log_metrics = support.free_port(), support.free_port()
    with support.logging_service(state_dir, MERCH_SERVICE_TOKEN=TOKEN,
                                 MERCH_LOG_METRICS_BIND=f"127.0.0.1:{log_metrics}") as (log_address, _):
        with support.db_service(state_dir, MERCH_LOG_ADDR=log_address, MERCH_SERVICE_TOKEN=TOKEN,
                                MERCH_DB_POOL_SIZE="7", MERCH_GRPC_WORKERS="6",
                                MERCH_DB_PROCESSES="2", MERCH_DB_METRICS_BIND=f"127.0.0.1:{db_metrics}") as (db_address, _):
            with rest_gateway(state_dir, db_address, log_address, workers=2, MERCH_SERVICE_TOKEN=TOKEN) as gateway:
                yield {"gateway": gateway, "state": state_dir, "db": db_address, "log": log_address,
                       "db_metrics": f"http://127.0.0.1:{db_metrics}/metrics",
                       "log_metrics": f"http://127.0.0.1:{log_metrics}/metrics"}


def gateway_workers(state_dir, gateway) -> set[int]:
    """The pids whose metric files are in the gateway's multiprocess folder."""
    folder = state_dir / "metrics" / ("api_rest-127.0.0.1_" + gateway.url.rsplit(":", 1)[1])
    return {int(path.stem.rsplit("_", 1)[1]) for path in folder.glob("counter_*.db")}


def test_the_gateway_counts_requests_by_route_template_across_all_workers(observed_store):
    gateway, state_dir = observed_store["gateway"], observed_store["state"]
    url = gateway.url + "/metrics"
    before = samples(url)
    sent = 0
    # A new connection each, until both workers have served some (and at least 30 in all).
    while sent < 30 or (len(gateway_workers(state_dir, gateway)) < 2 and sent < 400):
        assert requests.get(gateway.url + "/", timeout=10).status_code == 200
        sent += 1
    for product in (1, 2, 3):  # no token: 401, one route template for the three paths
        assert requests.get(f"{gateway.url}/products/{product}", timeout=10).status_code == 401
    for _ in range(2):
        assert requests.get(f"{gateway.url}/no/such/{uuid.uuid4().hex}", timeout=10).status_code == 404
    after = samples(url)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("http_requests_total", method="GET", route="/", status="200") == sent
    product_routes = {dict(labels)["route"] for name, labels in after
                      if name == "http_requests_total" and dict(labels).get("status") == "401"}
    assert len(product_routes) == 1 and "<" in product_routes.pop(), "the template, not the paths"
    assert moved("http_requests_total", method="GET", route="unmatched", status="404") == 2
    assert moved("http_request_duration_seconds_count", method="GET", route="/") == sent
    assert not any(dict(labels).get("route") == "/metrics" for _, labels in after), "/metrics is not counted"
    assert len(gateway_workers(state_dir, gateway)) == 2, "both workers wrote metrics"


def test_a_dead_workers_counts_stay_in_the_total(observed_store):
    gateway, state_dir = observed_store["gateway"], observed_store["state"]
    url = gateway.url + "/metrics"
    for _ in range(10):
        requests.get(gateway.url + "/", timeout=10)
    before = value(samples(url), "http_requests_total", method="GET", route="/", status="200")
    workers = gateway_workers(state_dir, gateway)
    victim = next(pid for pid in workers if pid != gateway.process.pid)
    os.kill(victim, signal.SIGKILL)  # gunicorn starts a replacement
    answered = []

    def served_again():
        if requests.get(gateway.url + "/", timeout=2).status_code == 200:
            answered.append(1)
        return len(answered) >= 5

    support.wait_for(served_again, timeout=30)
    after = value(samples(url), "http_requests_total", method="GET", route="/", status="200")
    assert after == before + len(answered), "the killed worker's requests are still counted"


def test_a_restarted_gateway_starts_counting_from_zero(tmp_path, observed_store):
    """The multiprocess folder (here an operator's own PROMETHEUS_MULTIPROC_DIR) is emptied at start."""
    folder = tmp_path / "prom"
    env = dict(PROMETHEUS_MULTIPROC_DIR=str(folder), MERCH_SERVICE_TOKEN=TOKEN)
    for run in range(2):
        with rest_gateway(tmp_path, observed_store["db"], observed_store["log"], **env) as gateway:
            found = samples(gateway.url + "/metrics")
            assert value(found, "http_requests_total", method="GET", route="/", status="200") == 0, f"run {run}"
            for _ in range(3):
                requests.get(gateway.url + "/", timeout=10)
            found = samples(gateway.url + "/metrics")
            assert value(found, "http_requests_total", method="GET", route="/", status="200") == 3
        assert list(folder.glob("counter_*.db")), "the values live in the operator's folder"


def test_the_db_service_counts_calls_by_method_and_status_code(observed_store):
    url = observed_store["db_metrics"]
    before = samples(url)
    with grpc.insecure_channel(observed_store["db"]) as channel:
        greeting = greeting_service_pb2_grpc.GreetingServiceStub(channel)
        products = product_pb2_grpc.ProductServiceStub(channel)
        for _ in range(3):
            greeting.GetGreeting(greeting_service_pb2.GetGreetingRequest(), metadata=AUTH, timeout=5)
        with pytest.raises(grpc.RpcError) as missing:
            products.GetProduct(product_pb2.GetProductRequest(product_id=999_999), metadata=AUTH, timeout=5)
        assert missing.value.code() is grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as refused:
            greeting.GetGreeting(greeting_service_pb2.GetGreetingRequest(), timeout=5)
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    after = samples(url)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    greet = dict(grpc_type="unary", grpc_service="merch.store.v1.GreetingService", grpc_method="GetGreeting")
    assert moved("grpc_server_handled_total", grpc_code="OK", **greet) == 3
    assert moved("grpc_server_handled_total", grpc_code="UNAUTHENTICATED", **greet) == 1
    assert moved("grpc_server_handled_total", grpc_type="unary", grpc_service="merch.store.v1.ProductService",
                 grpc_method="GetProduct", grpc_code="NOT_FOUND") == 1
    assert moved("grpc_server_handling_seconds_count", **greet) == 4
    # Two processes, summed on the parent's one port; each worker thread keeps its connection.
    support.wait_for(lambda: value(samples(url), "merch_db_pool_connections_in_use") >= 1, timeout=10)
    assert value(after, "merch_db_pool_connections_max") == 2 * 7
    assert ("merch_logship_records_sent_total", frozenset()) in after


def test_the_logging_service_reports_records_accepted_published_and_buffered(observed_store):
    url = observed_store["log_metrics"]
    before = samples(url)
    records = [logging_pb2.LogRecord(service="metrics-test", message=f"line {i}") for i in range(25)]
    with grpc.insecure_channel(observed_store["log"]) as channel:
        stub = logging_pb2_grpc.LoggingServiceStub(channel)
        reply = stub.WriteLogs(iter([logging_pb2.WriteLogsRequest(records=records)]), metadata=AUTH, timeout=10)
        assert reply.accepted_count == 25

        def published(found=None):
            found = samples(url)
            return value(found, "merch_log_records_published_total") - value(before, "merch_log_records_published_total") >= 25

        support.wait_for(published, timeout=10)
        after = samples(url)
        stats = stub.GetLoggingStats(logging_pb2.GetLoggingStatsRequest(), metadata=AUTH, timeout=5)
    assert value(after, "merch_log_records_accepted_total") - value(before, "merch_log_records_accepted_total") >= 25
    assert value(after, "merch_log_records_accepted_total") <= stats.accepted_count
    assert value(after, "merch_log_records_dropped_total") == stats.dropped_count == 0
    assert ("merch_log_buffer_records", frozenset()) in after
    assert value(after, "merch_log_sink_healthy") == 1
    assert value(after, "grpc_server_handled_total", grpc_type="client_stream", grpc_code="OK",
                 grpc_service="merch.logging.v1.LoggingService", grpc_method="WriteLogs") >= 1


def test_a_full_buffer_shows_as_dropped_records(tmp_path):
    """Kafka unreachable and a 10-record buffer: what does not fit is counted as dropped."""
    metrics_port = support.free_port()
    with support.logging_service(tmp_path, "--buffer-records", "10", MERCH_LOG_METRICS_BIND=f"127.0.0.1:{metrics_port}",
                                 MERCH_KAFKA_BOOTSTRAP=f"127.0.0.1:{support.free_port()}") as (address, _):
        with support.channel(address) as channel:
            records = [logging_pb2.LogRecord(service="t", message=str(i)) for i in range(50)]
            reply = logging_pb2_grpc.LoggingServiceStub(channel).WriteLogs(
                iter([logging_pb2.WriteLogsRequest(records=records)]), timeout=10)
        found = samples(f"http://127.0.0.1:{metrics_port}/metrics")
    assert reply.dropped_count >= 30
    assert value(found, "merch_log_records_dropped_total") == reply.dropped_count
    assert value(found, "merch_log_records_accepted_total") == reply.accepted_count
    assert value(found, "merch_log_buffer_capacity_records") == 10


def test_a_taken_metrics_port_does_not_stop_the_service(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with support.db_service(tmp_path, MERCH_DB_METRICS_BIND=f"127.0.0.1:{port}") as (address, proc):
            with support.channel(address) as channel:
                greeting_service_pb2_grpc.GreetingServiceStub(channel).GetGreeting(
                    greeting_service_pb2.GetGreetingRequest(), timeout=5)
            support.wait_for(lambda: "MERCH_DB_METRICS_BIND" in proc.log_text(), timeout=10)


@pytest.mark.parametrize(("raw", "parsed"), [
    ("", ("127.0.0.1", 9451)), ("off", None), ("OFF", None), ("0.0.0.0:9999", ("0.0.0.0", 9999)),
    (":9000", ("127.0.0.1", 9000)), ("[::1]:9451", ("::1", 9451)),
])
def test_metrics_bind_values(raw, parsed):
    assert service_metrics.parse_bind(raw, service_metrics.DEFAULT_DB_BIND) == parsed


@pytest.mark.parametrize("raw", ["9451", "host:port", "127.0.0.1:70000"])
def test_a_malformed_metrics_bind_is_refused(raw):
    with pytest.raises(ValueError):
        service_metrics.parse_bind(raw, service_metrics.DEFAULT_DB_BIND)


def test_the_pool_gauges_follow_connections_checked_out_and_returned(tmp_path):
    from prometheus_client import CollectorRegistry, generate_latest

    from py_server.store import database as store_database

    database = store_database.open_database(f"sqlite:///{tmp_path / 'pool.sqlite3'}", pool_size=3)
    registry = CollectorRegistry()
    registry.register(service_metrics.DatabasePoolCollector(database))

    def gauges():
        return {s.name: s.value for family in text_string_to_metric_families(generate_latest(registry).decode())
                for s in family.samples}

    assert gauges() == {"merch_db_pool_connections_in_use": 0, "merch_db_pool_connections_idle": 0,
                        "merch_db_pool_connections_max": 3}
    database.connect()
    assert gauges()["merch_db_pool_connections_in_use"] == 1
    database.close()  # back to the pool
    assert gauges()["merch_db_pool_connections_in_use"] == 0
    assert gauges()["merch_db_pool_connections_idle"] == 1
    database.close_all()
