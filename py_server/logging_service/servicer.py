"""merch.logging.v1.LoggingService."""
from __future__ import annotations

import logging
import time

from google.protobuf import timestamp_pb2

from merch.logging.v1 import logging_pb2, logging_pb2_grpc
from py_server.errors import InvalidArgument
from py_server.logging_service.buffer import BoundedBuffer
from py_server.logging_service.publisher import Publisher
from py_server.logging_service.records import normalise
from py_server.logging_service.tail import MAX_LAST_N

_log = logging.getLogger(__name__)

MAX_BATCH = 1000


class LoggingServicer(logging_pb2_grpc.LoggingServiceServicer):
    def __init__(self, buffer: BoundedBuffer, publisher: Publisher, follower):
        self._buffer, self._publisher, self._follower = buffer, publisher, follower
        self._last_drop_report = 0.0

    def WriteLogs(self, request_iterator, context):
        accepted = dropped = 0
        for request in request_iterator:
            if len(request.records) > MAX_BATCH:
                raise InvalidArgument([("records", f"must hold at most {MAX_BATCH} records per message, got {len(request.records)}")])
            received = timestamp_pb2.Timestamp()
            received.GetCurrentTime()
            records = [normalise(r, received) for r in request.records]
            taken = self._buffer.offer_many(records)
            accepted += len(taken)
            dropped += len(records) - len(taken)
            if len(taken) < len(records):
                self._report_drops()
            self._follower.publish(taken)
        return logging_pb2.WriteLogsResponse(accepted_count=accepted, dropped_count=dropped)

    def _report_drops(self) -> None:
        now = time.monotonic()
        if now - self._last_drop_report > 5:  # one line every few seconds, not one per record
            self._last_drop_report = now
            _log.error("log buffer full (%d records): %d records dropped so far",
                       self._buffer.capacity, self._buffer.dropped)

    def TailLogs(self, request, context):
        if not 0 <= request.last_n <= MAX_LAST_N:
            raise InvalidArgument([("last_n", f"must be between 0 and {MAX_LAST_N}, got {request.last_n}")])
        for record in self._follower.follow(request, context.is_active):
            yield logging_pb2.TailLogsResponse(record=record)

    def GetLoggingStats(self, request, context):
        return logging_pb2.GetLoggingStatsResponse(
            accepted_count=self._buffer.accepted,
            published_count=self._publisher.published,
            dropped_count=self._buffer.dropped,
            pending_count=len(self._buffer) + self._publisher.in_flight,
            sink=self._publisher.sink.description,
            sink_healthy=self._publisher.healthy,
        )
