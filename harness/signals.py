"""Ctrl-C, SIGTERM and SIGHUP as an exception, so a foreground run stops what it started in order."""
from __future__ import annotations

import contextlib
import signal
import threading


class Stopped(Exception):
    """A signal asked the run to stop; `code` is the exit status a shell gives (128 + signal)."""

    def __init__(self, code: int):
        super().__init__(f"stopped by a signal (exit {code})")
        self.code = code


@contextlib.contextmanager
def stop_on_signals():
    """Within the block, the first SIGINT/SIGTERM/SIGHUP raises Stopped; once the block sets the yielded
    event (it is stopping), further signals are ignored so the stop itself is never cut short."""
    stopping = threading.Event()

    def handler(signum, _frame):
        if not stopping.is_set():
            stopping.set()
            raise Stopped(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield stopping
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
