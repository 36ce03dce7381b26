"""Following the live log.

- LocalHub: the records this process accepted, for the embedded (file) mode.
- KafkaTail: reads the topic itself, so with several logging-service
  replicas a tail sees every replica's records, not just this process's.
"""
from __future__ import annotations

import collections
import queue
import threading
from typing import Callable, Iterator

from kafka import KafkaConsumer, TopicPartition

from merch.logging.v1 import logging_pb2
from py_server.logging_service.records import from_json_line, matches

MAX_LAST_N = 1000


class LocalHub:
    def __init__(self, history: int = MAX_LAST_N, subscriber_queue: int = 10_000):
        self._recent: collections.deque = collections.deque(maxlen=history)
        self._subscribers: set[queue.Queue] = set()
        self._lock = threading.Lock()
        self._subscriber_queue = subscriber_queue

    def publish(self, records: list[logging_pb2.LogRecord]) -> None:
        with self._lock:
            self._recent.extend(records)
            for subscriber in self._subscribers:
                for record in records:
                    try:
                        subscriber.put_nowait(record)
                    except queue.Full:
                        break  # a follower that cannot keep up misses records, the service does not stall

    def follow(self, request: logging_pb2.TailLogsRequest, is_active: Callable[[], bool]) -> Iterator[logging_pb2.LogRecord]:
        inbox: queue.Queue = queue.Queue(self._subscriber_queue)
        with self._lock:
            backlog = [r for r in self._recent if matches(r, request)][-request.last_n:] if request.last_n else []
            self._subscribers.add(inbox)
        try:
            yield from backlog
            while is_active():
                try:
                    record = inbox.get(timeout=0.5)
                except queue.Empty:
                    continue
                if matches(record, request):
                    yield record
        finally:
            with self._lock:
                self._subscribers.discard(inbox)


class KafkaTail:
    # How far back, per partition, to look for the last N matching records.
    LOOKBACK_PER_PARTITION = 10_000

    def __init__(self, bootstrap: str, topic: str):
        self.bootstrap, self.topic = bootstrap, topic

    def publish(self, records) -> None:
        """Nothing to do: the topic itself is the source for followers."""

    def follow(self, request: logging_pb2.TailLogsRequest, is_active: Callable[[], bool]) -> Iterator[logging_pb2.LogRecord]:
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap.split(","),
            group_id=None,
            enable_auto_commit=False,
            client_id="merch-log-tail",
            request_timeout_ms=15_000,
        )
        try:
            partitions = [TopicPartition(self.topic, p) for p in sorted(consumer.partitions_for_topic(self.topic) or ())]
            consumer.assign(partitions)
            ends = consumer.end_offsets(partitions)
            if request.last_n:
                yield from self._backlog(consumer, partitions, ends, request)
            for partition in partitions:
                consumer.seek(partition, ends[partition])
            while is_active():
                for messages in consumer.poll(timeout_ms=300).values():
                    for message in messages:
                        record = from_json_line(message.value)
                        if matches(record, request):
                            yield record
        finally:
            consumer.close()

    def _backlog(self, consumer, partitions, ends, request):
        starts = consumer.beginning_offsets(partitions)
        found = []
        for partition in partitions:
            start = max(starts[partition], ends[partition] - self.LOOKBACK_PER_PARTITION)
            consumer.seek(partition, start)
        remaining = {p for p in partitions if ends[p] > starts[p]}
        while remaining:
            batch = consumer.poll(timeout_ms=1000)
            if not batch:
                break
            for partition, messages in batch.items():
                for message in messages:
                    if message.offset < ends[partition]:
                        record = from_json_line(message.value)
                        if matches(record, request):
                            found.append(record)
                if consumer.position(partition) >= ends[partition]:
                    remaining.discard(partition)
        found.sort(key=lambda r: (r.time.seconds, r.time.nanos))
        return found[-request.last_n:]
