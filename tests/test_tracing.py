"""Traces: W3C trace context from HTTP through the gateway and gRPC into the DB service and
into every log record, with spans exported over OTLP to a collector that this test runs
in-process (opentelemetry-proto's TraceService on a free loopback port)."""
from __future__ import annotations

import concurrent.futures
import json
import pathlib
import threading
import uuid

import grpc
import pytest
import requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from merch.logging.v1 import logging_pb2, logging_pb2_grpc
from tests import support
from tests.rest_fixtures import rest_gateway

SERVER, CLIENT = 2, 3  # opentelemetry.proto.trace.v1.Span.SpanKind


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """Keeps every span it is sent, with its resource's service.name."""

    def __init__(self):
        self.lock = threading.Lock()
        self.spans: list[dict] = []

    def Export(self, request, context):
        with self.lock:
            for resource_spans in request.resource_spans:
                service = next((a.value.string_value for a in resource_spans.resource.attributes
                                if a.key == "service.name"), "")
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append({
                            "service": service, "name": span.name, "kind": span.kind,
                            "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "attributes": {a.key: a.value for a in span.attributes},
                        })
        return trace_service_pb2.ExportTraceServiceResponse()

    def of_trace(self, trace_id: str) -> list[dict]:
        with self.lock:
            return [s for s in self.spans if s["trace_id"] == trace_id]


@pytest.fixture(scope="module")
def collector():
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4))
    servicer = Collector()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"http://127.0.0.1:{port}"
    server.stop(0)


def otlp_env(endpoint: str) -> dict[str, str]:
    # A short batch delay so the test need not wait the default 5 s for the export.
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}


@pytest.fixture(scope="module")
def traced_store(collector, tmp_path_factory):
    """A logging service, a DB service and a 2-worker gateway, all exporting spans to the collector."""
    servicer, endpoint = collector
    state_dir = tmp_path_factory.mktemp("traced-store")
    env = otlp_env(endpoint)
    with support.logging_service(state_dir, **env) as (log_address, _):
        with support.db_service(state_dir, MERCH_LOG_ADDR=log_address, **env) as (db_address, _):
            with rest_gateway(state_dir, db_address, log_address, workers=2, **env) as gateway:
                yield gateway, servicer, state_dir / "logs.jsonl"


def log_records(log_file: pathlib.Path, request_id: str) -> list[dict]:
    if not log_file.exists():
        return []
    return [r for r in map(json.loads, log_file.read_text().splitlines()) if r.get("requestId") == request_id]


def wait_for_records(log_file: pathlib.Path, request_id: str, services: set[str]) -> list[dict]:
    found: list[dict] = []

    def arrived():
        found[:] = log_records(log_file, request_id)
        return {r["service"] for r in found} >= services and len(found) >= 3

    support.wait_for(arrived, timeout=20)
    return found


def greeting_spans(servicer: Collector, trace_id: str) -> tuple[dict, dict, dict]:
    """The gateway's server span, its client span to the DB service, and the DB service's server span."""
    found: dict[str, dict] = {}

    def complete():
        for span in servicer.of_trace(trace_id):
            if span["service"] == "api_rest" and span["kind"] == SERVER:
                found["gateway"] = span
            elif span["service"] == "api_rest" and span["kind"] == CLIENT and "Greeting" in span["name"]:
                found["client"] = span
            elif span["service"] == "db_service" and span["kind"] == SERVER:
                found["db"] = span
        return len(found) == 3

    try:
        support.wait_for(complete, timeout=20)
    except TimeoutError:
        raise AssertionError(f"spans of trace {trace_id}: {servicer.of_trace(trace_id)}") from None
    return found["gateway"], found["client"], found["db"]


def test_a_callers_traceparent_is_continued_through_the_gateway_into_the_db_service(traced_store):
    gateway, servicer, log_file = traced_store
    trace_id, caller_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    request_id = f"trace-{uuid.uuid4().hex}"
    response = requests.get(gateway.url + "/", timeout=10, headers={
        "traceparent": f"00-{trace_id}-{caller_span}-01", "X-Request-ID": request_id})
    assert response.status_code == 200

    served, client, db = greeting_spans(servicer, trace_id)
    assert served["parent_span_id"] == caller_span, "the gateway's span is a child of the caller's"
    assert served["name"] == "GET /" and served["attributes"]["http.route"].string_value == "/"
    assert client["parent_span_id"] == served["span_id"], "the RPC is a child of the HTTP request"
    assert db["parent_span_id"] == client["span_id"], "the DB service continues the gateway's RPC span"
    assert db["name"] == "/merch.store.v1.GreetingService/GetGreeting"

    # Every log record of the request carries the trace, and the span that logged it.
    records = wait_for_records(log_file, request_id, {"api_rest", "db_service"})
    for record in records:
        assert record["traceId"] == trace_id, record
        assert record.get("traceSampled") is True, record
    assert {r["spanId"] for r in records if r["service"] == "api_rest"} == {served["span_id"]}
    assert {r["spanId"] for r in records if r["service"] == "db_service"} == {db["span_id"]}


def test_a_request_without_traceparent_starts_a_trace_that_spans_both_services(traced_store):
    gateway, servicer, log_file = traced_store
    request_id = f"trace-{uuid.uuid4().hex}"
    assert requests.get(gateway.url + "/", headers={"X-Request-ID": request_id}, timeout=10).status_code == 200
    records = wait_for_records(log_file, request_id, {"api_rest", "db_service"})
    trace_ids = {r.get("traceId") for r in records}
    assert len(trace_ids) == 1 and None not in trace_ids, records
    served, client, db = greeting_spans(servicer, trace_ids.pop())
    assert served["parent_span_id"] == "", "a new trace: the gateway's span is its root"
    assert client["parent_span_id"] == served["span_id"] and db["parent_span_id"] == client["span_id"]


def test_health_checks_and_log_streams_make_no_spans(traced_store):
    gateway, servicer, _ = traced_store
    assert requests.get(gateway.url + "/", timeout=10).status_code == 200
    support.wait_for(lambda: any(s["service"] == "db_service" for s in servicer.spans), timeout=20)
    with servicer.lock:
        names = {s["name"] for s in servicer.spans if s["kind"] == SERVER}
    assert not any("Health" in name or "WriteLogs" in name for name in names), names


@pytest.fixture(scope="module")
def untraced_store(tmp_path_factory):
    """The same store with no OTLP endpoint: nothing is recorded, ids still travel."""
    state_dir = tmp_path_factory.mktemp("untraced-store")
    with support.logging_service(state_dir) as (log_address, _):
        with support.db_service(state_dir, MERCH_LOG_ADDR=log_address) as (db_address, _):
            with rest_gateway(state_dir, db_address, log_address) as gateway:
                yield gateway, state_dir / "logs.jsonl"


def test_without_an_exporter_the_trace_id_still_reaches_every_log_record(untraced_store):
    gateway, log_file = untraced_store
    trace_id = uuid.uuid4().hex
    request_id = f"untraced-{uuid.uuid4().hex}"
    requests.get(gateway.url + "/", timeout=10, headers={
        "traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01", "X-Request-ID": request_id})
    records = wait_for_records(log_file, request_id, {"api_rest", "db_service"})
    assert {r["traceId"] for r in records} == {trace_id}
    gateway_spans = {r["spanId"] for r in records if r["service"] == "api_rest"}
    db_spans = {r["spanId"] for r in records if r["service"] == "db_service"}
    assert len(gateway_spans) == 1 and len(db_spans) == 1 and gateway_spans != db_spans
    assert not any(r.get("traceSampled") for r in records), "nothing recorded, so nothing claims to be"


@pytest.mark.kafka
def test_kafka_records_carry_the_trace_as_a_traceparent_header(kafka, tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("trace-kafka")
    with support.logging_service(state_dir, MERCH_KAFKA_BOOTSTRAP=kafka.bootstrap,
                                 MERCH_KAFKA_TOPIC=kafka.topic) as (address, _):
        request_id = f"kafka-trace-{uuid.uuid4().hex}"
        trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
        records = [logging_pb2.LogRecord(service="api_rest", message="traced", request_id=request_id,
                                         trace_id=trace_id, span_id=span_id, trace_sampled=True),
                   logging_pb2.LogRecord(service="api_rest", message="untraced", request_id=request_id)]
        with support.channel(address) as channel:
            stub = logging_pb2_grpc.LoggingServiceStub(channel)
            assert stub.WriteLogs(iter([logging_pb2.WriteLogsRequest(records=records)]), timeout=30).accepted_count == 2
        mine: list = []

        def both_arrived():
            mine[:] = [m for m in kafka.read_all(expected=10**9, timeout=3) if m.key == request_id.encode()]
            return len(mine) == 2

        support.wait_for(both_arrived, timeout=60, interval=1)
    by_message = {json.loads(m.value)["message"]: m for m in mine}
    assert dict(by_message["traced"].headers) == {"traceparent": f"00-{trace_id}-{span_id}-01".encode()}
    assert json.loads(by_message["traced"].value)["traceId"] == trace_id
    assert not by_message["untraced"].headers


TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


@pytest.mark.parametrize(("header", "valid"), [
    (f"00-{TRACE}-{SPAN}-01", True),
    (f"00-{TRACE}-{SPAN}-00", True),
    (f" 00-{TRACE}-{SPAN}-01 ", True),
    (f"01-{TRACE}-{SPAN}-01-later-version-fields", True),
    (f"00-{TRACE}-{SPAN}-01-extra", False),  # version 00 is exactly 55 characters
    (f"ff-{TRACE}-{SPAN}-01", False),
    (f"00-{TRACE.upper()}-{SPAN}-01", False),
    (f"00-{'0' * 32}-{SPAN}-01", False),
    (f"00-{TRACE}-{'0' * 16}-01", False),
    (f"00-{TRACE[:-1]}-{SPAN}-01", False),
    (f"00_{TRACE}_{SPAN}_01", False),
    ("", False), (None, False),
])
def test_traceparent_headers_are_read_as_w3c_trace_context_says(header, valid):
    from py_server.telemetry import parse_traceparent

    expected = (int(TRACE, 16), int(SPAN, 16)) if valid else None
    assert parse_traceparent(header) == expected
