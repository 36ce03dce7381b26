"""Where records go: a Kafka topic, or a JSONL file when no Kafka is configured."""
from __future__ import annotations

import functools
import logging
import pathlib

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.partitioner.default import DefaultPartitioner, murmur2

from merch.logging.v1 import logging_pb2
from py_server.logging_service.records import to_json_line

_log = logging.getLogger(__name__)


class SinkUnavailable(Exception):
    """The sink could not take these records now; they are to be retried, in order."""

    def __init__(self, undelivered: list, reason: str):
        super().__init__(reason)
        self.undelivered = undelivered


class FileSink:
    """Appends one JSON line per record; the embedded default."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")
        self.description = path.resolve().as_uri()

    def publish(self, records: list[logging_pb2.LogRecord]) -> None:
        try:
            self._file.write("".join(to_json_line(r) + "\n" for r in records))
            self._file.flush()
        except OSError as error:
            raise SinkUnavailable(records, f"cannot write {self.path}: {error}") from error

    def close(self) -> None:
        self._file.close()


def trace_headers(record: logging_pb2.LogRecord) -> list[tuple[str, bytes]] | None:
    """The record's trace context as a W3C `traceparent` Kafka header, so a consumer can
    continue (or link to) the trace of the request that logged it."""
    if not record.trace_id:
        return None
    flags = "01" if record.trace_sampled else "00"
    return [("traceparent", f"00-{record.trace_id}-{record.span_id}-{flags}".encode("ascii"))]


class RememberingPartitioner(DefaultPartitioner):
    """Kafka's default key partitioning (murmur2, as the Java client), with each key's hash remembered.

    kafka-python hashes in pure Python, about a quarter of its `send()`; one
    request's records (the gateway's two, the DB service's access logs) share
    a key and arrive together, so most hashes are repeats. Same partitions as
    the default partitioner, so consumers see one request's records in order.
    """

    @staticmethod
    @functools.lru_cache(maxsize=8192)
    def _hash(key: bytes) -> int:
        return murmur2(key) & 0x7FFFFFFF

    def partition(self, topic, key, serialized_key, value, serialized_value, cluster):
        if serialized_key is None:
            return super().partition(topic, key, serialized_key, value, serialized_value, cluster)
        if topic not in cluster.topics():
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        partitions = sorted(cluster.partitions_for_topic(topic))
        return partitions[self._hash(serialized_key) % len(partitions)]


class KafkaSink:
    """Publishes to a topic with acks=all and the idempotent producer, keyed by request id,
    so one request's records stay in order on one partition.

    The producer is created on first use, from the publisher thread: the
    service starts even when Kafka is not up yet.
    """

    def __init__(self, bootstrap: str, topic: str):
        self.bootstrap, self.topic = bootstrap, topic
        self.description = f"kafka://{bootstrap}/{topic}"
        self._producer: KafkaProducer | None = None

    def _ensure_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self.bootstrap.split(","),
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                batch_size=256 * 1024,
                max_block_ms=5000,  # blocks only this publisher thread, never a gRPC handler
                delivery_timeout_ms=30_000,
                request_timeout_ms=10_000,
                client_id="merch-logging-service",
                partitioner=RememberingPartitioner(),
            )
        return self._producer

    def publish(self, records: list[logging_pb2.LogRecord]) -> None:
        try:
            producer = self._ensure_producer()
        except KafkaError as error:
            raise SinkUnavailable(records, f"Kafka at {self.bootstrap} unreachable: {error}") from error
        futures, unsent = [], []
        for index, record in enumerate(records):
            try:
                futures.append(producer.send(
                    self.topic,
                    key=record.request_id.encode() or None,
                    value=to_json_line(record).encode("utf-8"),
                    headers=trace_headers(record),
                ))
            except KafkaError:
                unsent = records[index:]
                break
        try:
            producer.flush(timeout=35)
        except KafkaError:
            pass  # the futures below say which records made it
        undelivered = [r for r, f in zip(records, futures) if not (f.is_done and f.succeeded())]
        undelivered += unsent
        if undelivered:
            raise SinkUnavailable(undelivered, f"Kafka at {self.bootstrap} did not confirm {len(undelivered)} records")

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=10)
