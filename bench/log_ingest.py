"""Records/s through one WriteLogs client stream until the sink confirms them.

    python -m bench.log_ingest --address 127.0.0.1:50052 --records 100000 --record-size 200

Counts from the first message sent to the moment GetLoggingStats says every
record was published (for Kafka: acknowledged by the broker with acks=all).
"""
from __future__ import annotations

import argparse
import json
import time

import grpc

from merch.logging.v1 import logging_pb2, logging_pb2_grpc


def measure(address: str, records: int, record_size: int, batch: int = 500) -> dict:
    with grpc.insecure_channel(address) as channel:
        stub = logging_pb2_grpc.LoggingServiceStub(channel)
        before = stub.GetLoggingStats(logging_pb2.GetLoggingStatsRequest(), timeout=10).published_count
        record = logging_pb2.LogRecord(service="bench", level=logging_pb2.LOG_LEVEL_INFO, request_id="bench-0")
        record.message = "x" * max(0, record_size - record.ByteSize() - 3)
        message = logging_pb2.WriteLogsRequest(records=[record] * batch)

        def stream():
            for _ in range(records // batch):
                yield message

        started = time.perf_counter()
        reply = stub.WriteLogs(stream(), timeout=600)
        accepted = time.perf_counter()
        target = before + reply.accepted_count
        while stub.GetLoggingStats(logging_pb2.GetLoggingStatsRequest(), timeout=10).published_count < target:
            time.sleep(0.01)
        published = time.perf_counter()
    return {
        "records": reply.accepted_count,
        "dropped": reply.dropped_count,
        "record_bytes": record.ByteSize(),
        "accepted_per_s": reply.accepted_count / (accepted - started),
        "published_per_s": reply.accepted_count / (published - started),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", default="127.0.0.1:50052")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--record-size", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(measure(args.address, args.records, args.record_size)))


if __name__ == "__main__":
    main()
