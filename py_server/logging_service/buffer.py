"""The bounded buffer between the gRPC handlers and the sink.

Handlers never wait on the sink: `offer` either takes a record at once or
refuses it, and every refusal is counted (and reported), never silent.
"""
from __future__ import annotations

import collections
import threading


class BoundedBuffer:
    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: collections.deque = collections.deque()
        self._lock = threading.Condition()
        self.accepted = 0
        self.dropped = 0

    def offer(self, item) -> bool:
        with self._lock:
            if len(self._items) >= self.capacity:
                self.dropped += 1
                return False
            self._items.append(item)
            self.accepted += 1
            self._lock.notify()
            return True

    def offer_many(self, items: list) -> list:
        """`offer` for each item in order, under one lock: returns the items taken (the first ones)."""
        with self._lock:
            room = max(0, self.capacity - len(self._items))
            taken = items if len(items) <= room else items[:room]
            if taken:
                self._items.extend(taken)
                self.accepted += len(taken)
                self._lock.notify()
            self.dropped += len(items) - len(taken)
            return taken

    def take(self, max_items: int, timeout: float) -> list:
        """Up to `max_items`, waiting at most `timeout` seconds for the first one."""
        with self._lock:
            if not self._items:
                self._lock.wait(timeout)
            count = min(max_items, len(self._items))
            return [self._items.popleft() for _ in range(count)]

    def put_back(self, items: list) -> None:
        """Returns undelivered items to the front, in order (they were counted already)."""
        with self._lock:
            self._items.extendleft(reversed(items))
            self._lock.notify()

    def __len__(self) -> int:
        return len(self._items)
