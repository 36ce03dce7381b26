"""The logging service on its embedded default (a JSONL file), and the log-shipping client."""
from __future__ import annotations

import json
import statistics
import threading
import time
import uuid

import grpc
import pytest

from merch.logging.v1 import logging_pb2, logging_pb2_grpc
from py_server.logship import LogShipper
from tests import support


@pytest.fixture(scope="module")
def log_service(tmp_path_factory):
    state = tmp_path_factory.mktemp("logging")
    with support.logging_service(state) as (address, proc):
        yield address, state, proc


@pytest.fixture
def log_stub(log_service):
    with support.channel(log_service[0]) as channel:
        yield logging_pb2_grpc.LoggingServiceStub(channel)


def record(message: str, request_id: str = "", level=logging_pb2.LOG_LEVEL_INFO, service="test", **fields):
    return logging_pb2.LogRecord(service=service, level=level, message=message, request_id=request_id, fields=fields)


def file_records(state) -> list[dict]:
    path = state / "logs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_client_stream_is_answered_with_the_accepted_count_and_lands_in_the_file(log_service, log_stub):
    _, state, _ = log_service
    rid = uuid.uuid4().hex
    batches = [logging_pb2.WriteLogsRequest(records=[record(f"m{i}-{j}", rid, path="/orders") for j in range(3)])
               for i in range(4)]
    reply = log_stub.WriteLogs(iter(batches), timeout=10)
    assert (reply.accepted_count, reply.dropped_count) == (12, 0)
    support.wait_for(lambda: len([r for r in file_records(state) if r.get("requestId") == rid]) == 12, timeout=10)
    mine = [r for r in file_records(state) if r.get("requestId") == rid]
    assert [r["message"] for r in mine] == [f"m{i}-{j}" for i in range(4) for j in range(3)]
    assert mine[0]["level"] == "LOG_LEVEL_INFO" and mine[0]["fields"] == {"path": "/orders"}
    assert "time" in mine[0], "a record without a time is stamped on arrival"


def test_a_batch_breaking_the_protos_rules_ends_the_stream_and_keeps_the_batches_before_it(log_service, log_stub):
    """Each batch is checked as it arrives (1 to 1000 records): the good batch before a bad one is
    published, the bad one ends the stream with INVALID_ARGUMENT naming `records`, nothing after it is read."""
    _, state, _ = log_service
    rid = uuid.uuid4().hex
    batches = [logging_pb2.WriteLogsRequest(records=[record("before", rid)]),
               logging_pb2.WriteLogsRequest(records=[record("too many", rid)] * 1001),
               logging_pb2.WriteLogsRequest(records=[record("after", rid)])]
    with pytest.raises(grpc.RpcError) as refused:
        log_stub.WriteLogs(iter(batches), timeout=10)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details().startswith("invalid request: records: must contain no more than 1000 item")
    # A later stream's record is published after anything the refused stream had got into the buffer.
    log_stub.WriteLogs(iter([logging_pb2.WriteLogsRequest(records=[record("marker", rid)])]), timeout=10)
    support.wait_for(lambda: any(r.get("message") == "marker" and r.get("requestId") == rid
                                 for r in file_records(state)), timeout=10)
    assert [r["message"] for r in file_records(state) if r.get("requestId") == rid] == ["before", "marker"]


def test_tail_streams_live_records_with_filters_and_backlog(log_stub):
    rid = uuid.uuid4().hex
    log_stub.WriteLogs(iter([logging_pb2.WriteLogsRequest(records=[
        record("info before is filtered", rid), record("warned before", rid, logging_pb2.LOG_LEVEL_WARNING)])]),
        timeout=10)
    call = log_stub.TailLogs(logging_pb2.TailLogsRequest(request_id=rid, min_level=logging_pb2.LOG_LEVEL_WARNING,
                                                          last_n=5), timeout=20)
    got = []

    def follow():
        try:
            got.extend(r.record.message for r in call)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.CANCELLED

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    # The backlog is sent once the tail has subscribed: its record arriving means later ones come live.
    support.wait_for(lambda: got == ["warned before"], timeout=10)
    log_stub.WriteLogs(iter([logging_pb2.WriteLogsRequest(records=[
        record("info is filtered", rid), record("warned", rid, logging_pb2.LOG_LEVEL_WARNING),
        record("other request", "x" + rid, logging_pb2.LOG_LEVEL_ERROR), record("failed", rid, logging_pb2.LOG_LEVEL_ERROR),
    ])]), timeout=10)
    support.wait_for(lambda: len(got) >= 3, timeout=10)
    call.cancel()
    reader.join(5)
    assert got == ["warned before", "warned", "failed"]


def test_tail_rejects_an_oversized_backlog_request(log_stub):
    with pytest.raises(grpc.RpcError) as error:
        next(iter(log_stub.TailLogs(logging_pb2.TailLogsRequest(last_n=5000), timeout=5)))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_stats_count_what_was_accepted_and_published(log_stub):
    before = log_stub.GetLoggingStats(logging_pb2.GetLoggingStatsRequest(), timeout=5)
    log_stub.WriteLogs(iter([logging_pb2.WriteLogsRequest(records=[record("s")] * 5)]), timeout=10)
    support.wait_for(lambda: log_stub.GetLoggingStats(logging_pb2.GetLoggingStatsRequest(), timeout=5).published_count
                     >= before.published_count + 5, timeout=10)
    after = log_stub.GetLoggingStats(logging_pb2.GetLoggingStatsRequest(), timeout=5)
    assert after.accepted_count - before.accepted_count == 5
    assert after.sink.startswith("file://") and after.sink_healthy and after.dropped_count == 0


def test_service_starts_without_kafka_and_counts_drops_of_a_full_buffer(tmp_path):
    # Kafka configured but not running, and a tiny buffer: records wait, then overflow.
    with support.logging_service(tmp_path, "--buffer-records", "10",
                                 MERCH_KAFKA_BOOTSTRAP=f"127.0.0.1:{support.free_port()}") as (address, proc):
        with support.channel(address) as channel:
            stub = logging_pb2_grpc.LoggingServiceStub(channel)
            reply = stub.WriteLogs(iter([logging_pb2.WriteLogsRequest(records=[record(f"r{i}") for i in range(50)])]), timeout=10)
            assert reply.accepted_count + reply.dropped_count == 50 and reply.dropped_count >= 39
            stats = stub.GetLoggingStats(logging_pb2.GetLoggingStatsRequest(), timeout=5)
            assert stats.dropped_count == reply.dropped_count and stats.published_count == 0
            assert stats.sink.startswith("kafka://")
    assert "dropped" in proc.log_text()


# --- the shipping client -------------------------------------------------------------------------

def test_shipper_delivers_in_order_and_log_calls_return_at_once(log_service):
    address, state, _ = log_service
    rid = uuid.uuid4().hex
    shipper = LogShipper(address, "shipper-test", token=support.SERVICE_TOKEN).start()
    latencies = []
    for i in range(2000):
        started = time.perf_counter_ns()
        shipper.info(f"event {i}", request_id=rid, n=i)
        latencies.append(time.perf_counter_ns() - started)
    shipper.close(timeout=10)
    support.wait_for(lambda: len([r for r in file_records(state) if r.get("requestId") == rid]) == 2000, timeout=15)
    assert [r["message"] for r in file_records(state) if r.get("requestId") == rid] == [f"event {i}" for i in range(2000)]
    latencies.sort()
    median_us, p99_us = latencies[1000] / 1000, latencies[1980] / 1000
    print(f"log call latency: median {median_us:.1f} µs, p99 {p99_us:.1f} µs")
    assert statistics.median(latencies) < 1_000_000  # far below a millisecond; generous for a shared machine


def test_killing_the_logging_service_never_blocks_callers_and_nothing_is_lost(tmp_path):
    port = support.free_port()
    address = f"127.0.0.1:{port}"
    env = support.service_env(tmp_path)

    def start():
        proc = support.ServiceProcess("py_server.logging_service", ["--bind", address], env, tmp_path)
        support.wait_serving(address, process=proc.process)
        return proc

    proc = start()
    shipper = LogShipper(address, "outage-test", idle_confirm=0.2, token=support.SERVICE_TOKEN).start()
    rid = uuid.uuid4().hex
    try:
        for i in range(100):
            shipper.info(f"before {i}", request_id=rid)
        support.wait_for(lambda: shipper.sent >= 100, timeout=10)
        proc.stop(sig=9)  # killed, not stopped: no goodbye
        slowest = 0.0
        for i in range(500):
            started = time.perf_counter()
            assert shipper.info(f"during {i}", request_id=rid) is True
            slowest = max(slowest, time.perf_counter() - started)
        assert slowest < 0.05, f"a log call took {slowest * 1000:.1f} ms while the service was down"
        proc = start()
        shipper.close(timeout=20)
    finally:
        proc.stop()
    messages = [r["message"] for r in file_records(tmp_path) if r.get("requestId") == rid]
    expected = [f"before {i}" for i in range(100)] + [f"during {i}" for i in range(500)]
    assert set(messages) == set(expected), "at-least-once: every record arrives"
    assert [m for m in dict.fromkeys(messages)] == expected, "in order"
    assert shipper.dropped == 0


def test_shipper_drops_only_when_its_queue_is_full_and_counts_it(tmp_path):
    shipper = LogShipper(f"127.0.0.1:{support.free_port()}", "nobody-listens", queue_size=10).start()
    results = [shipper.info(f"r{i}") for i in range(15)]
    assert results.count(False) == shipper.dropped >= 5
    shipper.close(timeout=0.5)
