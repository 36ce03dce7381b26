"""Records/s through one WriteLogs client stream until the sink confirms them.

    python -m bench.log_ingest --address 127.0.0.1:50052 --records 100000 --record-size 300

Counts from the first message sent to the moment GetLoggingStats says every
record was published (for Kafka: acknowledged by the broker with acks=all).

The records look like the gateway's request logs (service, level, message,
a 32-character request id, method/path/status/latency fields) with 1,000
different request ids, so they spread over the topic's partitions as real
traffic does. `record_size` is the size of the published value, the record's
one-line JSON, as Kafka's ProducerPerformance `--record-size` is: the message
is padded until the JSON form has exactly that many bytes.
"""
from __future__ import annotations

import argparse
import json
import time
import uuid

import grpc

from bench.stack import AUTH
from merch.logging.v1 import logging_pb2, logging_pb2_grpc
from py_server.logging_service.records import normalise, to_json_line

REQUEST_IDS = 1000


def make_record(request_id: str, record_size: int) -> logging_pb2.LogRecord:
    record = logging_pb2.LogRecord(
        service="api_rest", level=logging_pb2.LOG_LEVEL_INFO, request_id=request_id,
        message="Response status: 200 for GET /products/1 ",
        fields={"method": "GET", "path": "/products/1", "status": "200", "latency_ms": "3.14"},
    )
    record.time.FromNanoseconds(1_764_000_000_123_456_789)  # nine digits of nanos: a fixed JSON width
    size = len(to_json_line(normalise(record, record.time)).encode())
    if size > record_size:
        raise ValueError(f"record_size must be at least {size} bytes")
    record.message += "x" * (record_size - size)
    return record


def value_size(record: logging_pb2.LogRecord) -> int:
    return len(to_json_line(normalise(record, record.time)).encode())


def measure(address: str, records: int, record_size: int, batch: int = 500, timeout: float = 600,
            max_pending: int = 30_000) -> dict:
    """Sends `records` records on one stream, never more than `max_pending` of them unpublished
    (the service's buffer holds 50,000 and drops beyond), and times them until all are published."""
    ids = [uuid.uuid4().hex for _ in range(REQUEST_IDS)]
    pool = [make_record(rid, record_size) for rid in ids]
    messages = [logging_pb2.WriteLogsRequest(records=[pool[(i + j) % REQUEST_IDS] for j in range(batch)])
                for i in range(0, REQUEST_IDS, 7)]
    count = records // batch
    with grpc.insecure_channel(address) as channel:
        stub = logging_pb2_grpc.LoggingServiceStub(channel)
        stats = logging_pb2.GetLoggingStatsRequest()
        before = stub.GetLoggingStats(stats, timeout=10, metadata=AUTH).published_count

        def stream():
            for i in range(count):
                if i % 10 == 0:  # pace on the service's own count, so that no record is dropped
                    while True:
                        done = stub.GetLoggingStats(stats, timeout=10, metadata=AUTH).published_count - before
                        if i * batch - done <= max_pending - 10 * batch:
                            break
                        time.sleep(0.002)
                yield messages[i % len(messages)]

        started = time.perf_counter()
        reply = stub.WriteLogs(stream(), timeout=timeout, metadata=AUTH)
        accepted = time.perf_counter()
        target = before + reply.accepted_count
        deadline = started + timeout
        while stub.GetLoggingStats(stats, timeout=10, metadata=AUTH).published_count < target:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"records not published within {timeout}s")
            time.sleep(0.005)
        published = time.perf_counter()
    return {
        "records": reply.accepted_count,
        "dropped": reply.dropped_count,
        "value_bytes": value_size(pool[0]),
        "accepted_per_s": reply.accepted_count / (accepted - started),
        "published_per_s": reply.accepted_count / (published - started),
        "rate": reply.accepted_count / (published - started),
        "count": reply.accepted_count,
        "errors": reply.dropped_count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", default="127.0.0.1:50052")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--record-size", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(measure(args.address, args.records, args.record_size)))


if __name__ == "__main__":
    main()
