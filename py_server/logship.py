"""The log-shipping client: `log.info(...)` that returns at once.

Records go into a bounded queue; a background thread keeps one client
stream (`LoggingService.WriteLogs`) open to the logging service, sends them
in batches, and reconnects with backoff when the service goes away. A caller
never waits on the network and never sees an error: the only loss is when
the queue is full, and that is counted (`dropped`).

Delivery is at least once: a batch is kept until the stream that carried it
is confirmed (the stream is closed and answered after a short idle time or
every `confirm_every` records), and re-sent if that stream failed.
"""
from __future__ import annotations

import collections
import logging
import random
import threading
import time

import grpc
from google.protobuf import timestamp_pb2

from merch.logging.v1 import logging_pb2, logging_pb2_grpc
from py_server import channels, request_context
from py_server.telemetry import current_ids

_log = logging.getLogger(__name__)

LEVELS = {
    "debug": logging_pb2.LOG_LEVEL_DEBUG,
    "info": logging_pb2.LOG_LEVEL_INFO,
    "warning": logging_pb2.LOG_LEVEL_WARNING,
    "error": logging_pb2.LOG_LEVEL_ERROR,
    "critical": logging_pb2.LOG_LEVEL_CRITICAL,
}

_END_STREAM = object()


class LogShipper:
    def __init__(self, address: str, service: str, *, token: str | None = None, queue_size: int = 10_000,
                 batch_size: int = 200, linger: float = 0.05, idle_confirm: float = 1.0,
                 confirm_every: int = 5_000):
        self.address, self.service = address, service
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        # A deque, not a queue.Queue, whose every put notifies the background thread: a log call
        # wakes it only when its record is the first of a batch or fills one (`_wake`), so a batch
        # costs one or two thread switches instead of one per record. Calls racing on the last
        # free places may overfill it by as many records as there are threads.
        self._queue: collections.deque = collections.deque()
        self._queue_size = queue_size
        self._wake = threading.Event()
        self._batch_size, self._linger = batch_size, linger
        self._idle_confirm, self._confirm_every = idle_confirm, confirm_every
        self._pending: list[list[logging_pb2.LogRecord]] = []  # sent on the open stream, not yet confirmed
        # gRPC reads a stream's messages on its own thread, which may still pull a
        # batch after the stream failed; such batches are kept here, not lost.
        self._lock = threading.Lock()
        self._streams = 0  # numbers each stream; a stale stream's reader sees it is not the live one
        self._live_stream: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"logship-{service}", daemon=True)
        self.sent = 0
        self.dropped = 0
        self.connected = False

    # --- the caller's side: never blocks, never raises ------------------------------------------

    def log(self, level: str, message: str, *, request_id: str | None = None, **fields) -> bool:
        """Queues a record; False if the queue was full and it was dropped (counted)."""
        if len(self._queue) >= self._queue_size:
            self.dropped += 1
            return False
        rid = request_context.current_request_id.get() if request_id is None else request_id
        queued = len(self._queue)
        self._queue.append((time.time_ns(), LEVELS.get(level, logging_pb2.LOG_LEVEL_INFO), str(message), rid or "",
                            {k: str(v) for k, v in fields.items() if v is not None}, current_ids()))
        if queued == 0 or queued + 1 == self._batch_size:
            self._wake.set()
        return True

    def debug(self, message: str, **kw) -> bool:
        return self.log("debug", message, **kw)

    def info(self, message: str, **kw) -> bool:
        return self.log("info", message, **kw)

    def warning(self, message: str, **kw) -> bool:
        return self.log("warning", message, **kw)

    def error(self, message: str, **kw) -> bool:
        return self.log("error", message, **kw)

    def start(self) -> "LogShipper":
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Sends what is queued (for at most `timeout` seconds) and stops the thread."""
        self._deadline = time.monotonic() + timeout
        self._stop.set()
        self._thread.join(timeout + 1)

    @property
    def backlog(self) -> int:
        return len(self._queue) + sum(len(b) for b in self._pending)

    # --- the background thread ------------------------------------------------------------------

    def _record(self, item) -> logging_pb2.LogRecord:
        stamp, level, message, rid, fields, (trace_id, span_id, sampled) = item
        record = logging_pb2.LogRecord(service=self.service, level=level, message=message, request_id=rid, fields=fields)
        if trace_id:  # hex digits made here, on the shipper's thread, not on the caller's
            record.trace_id, record.span_id, record.trace_sampled = f"{trace_id:032x}", f"{span_id:016x}", sampled
        record.time.FromNanoseconds(stamp)
        return record

    def _done(self) -> bool:
        return self._stop.is_set() and (
            (not self._queue and not self._pending) or time.monotonic() > self._deadline
        )

    def _run(self) -> None:
        backoff = 0.1
        with channels.open_channel(self.address) as channel:
            stub = logging_pb2_grpc.LoggingServiceStub(channel)
            while not self._done():
                if not self._queue and not self._pending:
                    self._stop.wait(0.05)  # nothing to send: no stream needed yet
                    continue
                with self._lock:
                    self._streams += 1
                    self._live_stream = self._streams
                carried: list = []  # the batches this stream sent
                try:
                    stub.WriteLogs(self._requests(self._streams, carried), metadata=self._metadata, wait_for_ready=False)
                    with self._lock:
                        self._live_stream = None
                        confirmed = {id(b) for b in carried}
                        self._pending = [b for b in self._pending if id(b) not in confirmed]
                        self.sent += sum(len(b) for b in carried)
                    self.connected, backoff = True, 0.1
                except grpc.RpcError as error:
                    with self._lock:
                        self._live_stream = None
                    self.connected = False
                    if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                        # The service refuses these records as they are: re-sending cannot help.
                        with self._lock:
                            self.dropped += sum(len(b) for b in self._pending)
                            self._pending.clear()
                    if self._stop.is_set() and time.monotonic() > self._deadline:
                        break
                    time.sleep(backoff * (0.5 + random.random()))
                    backoff = min(backoff * 2, 5.0)
        if self._queue or self._pending:
            _log.warning("log shipper for %s stopped with %d records unsent", self.service, self.backlog)

    def _requests(self, stream: int, carried: list):
        """One stream's messages: first the unconfirmed batches, then new ones, until idle."""
        with self._lock:
            resend = list(self._pending)
        for batch in resend:
            carried.append(batch)
            yield logging_pb2.WriteLogsRequest(records=batch)
        on_stream = sum(len(b) for b in resend)
        idle_since = time.monotonic()
        while on_stream < self._confirm_every and self._live_stream == stream:
            batch = self._next_batch()
            if batch:
                with self._lock:
                    self._pending.append(batch)  # kept for the next stream if this one has ended
                    if self._live_stream != stream:
                        return
                    carried.append(batch)
                on_stream += len(batch)
                idle_since = time.monotonic()
                yield logging_pb2.WriteLogsRequest(records=batch)
            elif self._stop.is_set() or time.monotonic() - idle_since > self._idle_confirm:
                return  # close the stream: the answer confirms everything on it

    def _next_batch(self) -> list[logging_pb2.LogRecord]:
        """Up to `batch_size` records: waits up to 0.1 s for a first one, then up to `linger` for more."""
        queue = self._queue
        if not queue:
            self._wake.clear()
            if not queue:  # checked again after clear(): a record queued in between has set it
                self._wake.wait(0.1)
            if not queue:
                return []
        if len(queue) < self._batch_size:
            self._wake.clear()
            if len(queue) < self._batch_size:
                self._wake.wait(self._linger)  # cut short by the record that fills the batch
        batch = []
        take = queue.popleft
        for _ in range(min(self._batch_size, len(queue))):
            batch.append(self._record(take()))
        return batch


class DisabledShipper:
    """LogShipper's interface for a process whose log shipping is switched off: every call
    returns at once and ships nothing (nothing is counted as dropped either)."""

    sent = dropped = backlog = 0
    connected = False

    def log(self, level: str, message: str, *, request_id: str | None = None, **fields) -> bool:
        return True

    def debug(self, message: str, **kw) -> bool:
        return True

    info = warning = error = debug

    def start(self) -> "DisabledShipper":
        return self

    def close(self, timeout: float = 5.0) -> None:
        pass
