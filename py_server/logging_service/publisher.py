"""The background thread that moves records from the buffer to the sink.

While the sink is down, records wait in the buffer (retried in order, with
backoff) and are delivered when it returns; only a full buffer loses records,
and that loss is counted by the buffer.
"""
from __future__ import annotations

import logging
import threading
import time

from py_server.logging_service.buffer import BoundedBuffer
from py_server.logging_service.sinks import SinkUnavailable

_log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, buffer: BoundedBuffer, sink, batch_size: int = 1000):
        self.buffer, self.sink, self.batch_size = buffer, sink, batch_size
        self.published = 0
        self.in_flight = 0  # taken from the buffer, not yet confirmed by the sink
        self.healthy = True
        self._stopping = threading.Event()
        self._drain_deadline = float("inf")
        self._thread = threading.Thread(target=self._run, name="log-publisher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        backoff = 0.1
        while not (self._stopping.is_set() and (not len(self.buffer) or time.monotonic() > self._drain_deadline)):
            batch = self.buffer.take(self.batch_size, timeout=0.2)
            if not batch:
                continue
            self.in_flight = len(batch)
            try:
                self.sink.publish(batch)
            except SinkUnavailable as error:
                self.in_flight = 0
                delivered = len(batch) - len(error.undelivered)
                self.published += delivered
                self.buffer.put_back(error.undelivered)
                if self.healthy:
                    _log.warning("log sink unavailable, %d records waiting: %s", len(self.buffer), error)
                self.healthy = False
                # Once stopping, the event no longer paces the retries: sleep instead.
                time.sleep(backoff) if self._stopping.is_set() else self._stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self.published += len(batch)
            self.in_flight = 0
            if not self.healthy:
                _log.info("log sink is back; %d records still waiting", len(self.buffer))
            self.healthy, backoff = True, 0.1

    def stop(self, drain_seconds: float = 10.0) -> None:
        """Publishes what the buffer holds (for at most `drain_seconds`), then closes the sink."""
        self._drain_deadline = time.monotonic() + drain_seconds
        self._stopping.set()
        self._thread.join(drain_seconds + 40)
        if len(self.buffer):
            _log.error("shutting down with %d records unpublished (sink unavailable)", len(self.buffer))
        self.sink.close()
