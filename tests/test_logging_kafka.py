"""The logging service against the real Kafka 4.x broker (KRaft, from Apache's Maven jars)."""
from __future__ import annotations

import json
import threading
import time
import uuid

import grpc
import pytest

from merch.logging.v1 import logging_pb2, logging_pb2_grpc
from tests import support

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def kafka_log_services(kafka, tmp_path_factory):
    """Two logging-service replicas publishing to one topic."""
    state = tmp_path_factory.mktemp("kafka-logging")
    env = dict(MERCH_KAFKA_BOOTSTRAP=kafka.bootstrap, MERCH_KAFKA_TOPIC=kafka.topic)
    with support.logging_service(state, **env) as (first, _), support.logging_service(state, **env) as (second, _):
        yield first, second


def write(address: str, records: list[logging_pb2.LogRecord]) -> logging_pb2.WriteLogsResponse:
    with support.channel(address) as channel:
        stub = logging_pb2_grpc.LoggingServiceStub(channel)
        return stub.WriteLogs(iter([logging_pb2.WriteLogsRequest(records=records[i:i + 50])
                                    for i in range(0, len(records), 50)]), timeout=30)


def of_request(messages, rid: str) -> list[dict]:
    return [json.loads(m.value) for m in messages if m.key == rid.encode()]


def test_records_arrive_in_the_topic_in_order_per_request_id(kafka, kafka_log_services):
    rids = [uuid.uuid4().hex for _ in range(3)]
    records = [logging_pb2.LogRecord(service="api_rest", message=f"{rid[:4]} step {i}", request_id=rid,
                                     fields={"step": str(i)}) for i in range(40) for rid in rids]
    assert write(kafka_log_services[0], records).accepted_count == 120
    messages = kafka.read_all(expected=120)
    for rid in rids:
        mine = of_request(messages, rid)
        assert [m["message"] for m in mine] == [f"{rid[:4]} step {i}" for i in range(40)]
        assert mine[0]["service"] == "api_rest" and mine[0]["level"] == "LOG_LEVEL_INFO"
    partitions = {m.partition for m in messages if m.key in {r.encode() for r in rids}}
    assert len(messages) >= 120 and partitions  # keyed: each request id sticks to one partition
    assert all(len({m.partition for m in messages if m.key == rid.encode()}) == 1 for rid in rids)


def test_tail_on_one_replica_follows_records_written_to_the_other(kafka_log_services):
    writer, follower = kafka_log_services
    rid = uuid.uuid4().hex
    write(writer, [logging_pb2.LogRecord(service="db_service", message="earlier", request_id=rid)])
    got = []
    with support.channel(follower) as channel:
        call = logging_pb2_grpc.LoggingServiceStub(channel).TailLogs(
            logging_pb2.TailLogsRequest(request_id=rid, last_n=10), timeout=60)

        def follow():
            try:
                for reply in call:
                    got.append(reply.record.message)
            except grpc.RpcError:
                pass

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        support.wait_for(lambda: got == ["earlier"], timeout=30)
        write(writer, [logging_pb2.LogRecord(service="db_service", message=f"live {i}", request_id=rid) for i in range(3)])
        support.wait_for(lambda: len(got) >= 4, timeout=30)
        call.cancel()
        reader.join(5)
    assert got == ["earlier", "live 0", "live 1", "live 2"]


def test_kafkas_console_consumer_shows_a_requests_records(kafka, kafka_log_services):
    rid = uuid.uuid4().hex
    write(kafka_log_services[0], [logging_pb2.LogRecord(service="api_rest", message="Incoming request: GET /products",
                                                          request_id=rid)])
    kafka.read_all(expected=1)  # published
    result = kafka.script("consume", "--from-beginning", "--timeout-ms", "10000",
                          "--formatter-property", "print.key=true")
    lines = [line for line in result.stdout.splitlines() if line.startswith(rid)]
    assert lines, result.stderr[-2000:]
    key, value = lines[0].split("\t", 1)
    assert json.loads(value)["message"] == "Incoming request: GET /products"


def test_a_record_sent_while_the_broker_is_down_is_delivered_after_it_returns(kafka, kafka_log_services):
    writer = kafka_log_services[0]
    rid = uuid.uuid4().hex
    kafka.stop()
    try:
        started = time.monotonic()
        reply = write(writer, [logging_pb2.LogRecord(service="db_service", message="while down", request_id=rid)])
        assert reply.accepted_count == 1 and time.monotonic() - started < 5, "the stream must not wait for Kafka"
        with support.channel(writer) as channel:
            stats = logging_pb2_grpc.LoggingServiceStub(channel).GetLoggingStats(logging_pb2.GetLoggingStatsRequest(), timeout=5)
        assert stats.pending_count == 1 and stats.published_count < stats.accepted_count
    finally:
        kafka.start()
    support.wait_for(lambda: of_request(kafka.read_all(expected=1_000_000, timeout=3), rid), timeout=90, interval=1)
