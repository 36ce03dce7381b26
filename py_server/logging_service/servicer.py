"""merch.logging.v1.LoggingService."""
from __future__ import annotations

import logging
import threading
import time

import grpc

from google.protobuf import timestamp_pb2

from merch.logging.v1 import logging_pb2, logging_pb2_grpc
from py_server.logging_service.buffer import BoundedBuffer
from py_server.logging_service.publisher import Publisher
from py_server.logging_service.records import normalise

_log = logging.getLogger(__name__)

class _Streams:
    """How many WriteLogs streams are open, and when the last one was open."""

    def __init__(self):
        self._changed = threading.Condition()
        self.open = 0
        self.last_seen = time.monotonic()

    def __enter__(self):
        with self._changed:
            self.open += 1

    def __exit__(self, *_exc):
        with self._changed:
            self.open -= 1
            self.last_seen = time.monotonic()
            self._changed.notify_all()

    def wait_quiet(self, quiet_seconds: float, max_seconds: float) -> bool:
        """Waits until no stream is open and none was for `quiet_seconds`; False if `max_seconds` ran out."""
        deadline = time.monotonic() + max_seconds
        with self._changed:
            while True:
                now = time.monotonic()
                if self.open == 0 and now - self.last_seen >= quiet_seconds:
                    return True
                if now >= deadline:
                    return False
                wake = deadline if self.open else min(deadline, self.last_seen + quiet_seconds)
                self._changed.wait(max(0.01, wake - now))


class LoggingServicer(logging_pb2_grpc.LoggingServiceServicer):
    def __init__(self, buffer: BoundedBuffer, publisher: Publisher, follower):
        self._buffer, self._publisher, self._follower = buffer, publisher, follower
        self._last_drop_report = 0.0
        self._streams = _Streams()

    def drain_clients(self, quiet_seconds: float = 2.0, max_seconds: float = 10.0) -> None:
        """At shutdown: keeps taking records until the clients have gone quiet.

        When a whole process group gets Ctrl-C, the DB service and the
        gateways flush their last records while they stop; this service
        stops only once no stream has been open for `quiet_seconds` (at most
        `max_seconds`), so those records are not lost.
        """
        self._streams.last_seen = time.monotonic()
        if not self._streams.wait_quiet(quiet_seconds, max_seconds):
            _log.warning("stopping with %d client streams still open after %.0f s", self._streams.open,
                         max_seconds)

    def WriteLogs(self, request_iterator, context):
        with self._streams:
            try:
                return self._write(request_iterator)
            except grpc.RpcError:
                # The client went away mid-stream (or the server is stopping): what arrived is kept,
                # and the client re-sends the batches this stream never confirmed.
                context.abort(grpc.StatusCode.CANCELLED, "the stream ended before the client closed it")

    def _write(self, request_iterator):
        accepted = dropped = 0
        # Each batch was checked against the proto's rules (1 to 1000 records) as it arrived
        # (py_server.validating); a bad one ends the stream, the batches before it are kept.
        for request in request_iterator:
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
