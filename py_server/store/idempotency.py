"""Idempotency keys (the IETF httpapi draft's `Idempotency-Key`, with Stripe's semantics).

A request that carries a key first claims it (its own short transaction);
its work then runs in one transaction with `complete()`, which stores the
answer, so an order and the record of its answer commit together or not at
all, on any number of DB-service replicas. A retry with the same key and
the same request gets the stored answer; with another request, a refusal;
while the first is still running, a refusal to come back shortly. A request
that failed releases its claim: a refusal is not remembered, and a retry
runs again (it cannot double anything, since nothing was committed).
"""
from __future__ import annotations

import datetime
import hashlib
import time

import peewee

from py_server import request_context
from py_server.errors import Aborted, FailedPrecondition, InvalidArgument
from py_server.store.access import locked, write_transaction
from py_server.store.models import IdempotencyRecord, utcnow

TTL = datetime.timedelta(hours=24)
MAX_KEY_LENGTH = 255
# How long a claim holds when the call has no deadline; with one, the deadline (plus a margin).
DEFAULT_CLAIM_SECONDS = 60.0
_PURGE_EVERY_SECONDS = 60.0
_last_purge = 0.0


def check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidArgument([("idempotency-key", f"must be 1 to {MAX_KEY_LENGTH} visible ASCII characters")])


def request_hash(method: str, request) -> str:
    """The fingerprint of a request: its method and its deterministic serialisation."""
    digest = hashlib.sha256(method.encode())
    digest.update(b"\0")
    digest.update(request.SerializeToString(deterministic=True))
    return digest.hexdigest()


def claim(key: str, caller: int, fingerprint: str) -> bytes | None:
    """Claims `key` for this request; returns the stored answer instead if an earlier one succeeded.

    FAILED_PRECONDITION (reason IDEMPOTENCY_KEY_REUSED) for the same key with
    another request; ABORTED (IDEMPOTENCY_KEY_IN_FLIGHT) while the first
    request with this key is still running.
    """
    _purge_expired()
    now = utcnow()
    deadline = request_context.current_deadline.get()
    hold = DEFAULT_CLAIM_SECONDS if deadline is None else max(0.0, deadline - time.monotonic()) + 1.0
    locked_until = now + datetime.timedelta(seconds=hold)
    with write_transaction():
        row = locked(IdempotencyRecord.select().where(IdempotencyRecord.key == key,
                                                      IdempotencyRecord.caller == caller)).first()
        if row is not None and row.create_time < now - TTL:
            row.delete_instance()
            row = None
        if row is None:
            try:
                with write_transaction():  # a savepoint: a concurrent first use may insert first
                    IdempotencyRecord.insert(key=key, caller=caller, request_hash=fingerprint,
                                             locked_until=locked_until, create_time=now).execute()
                return None
            except peewee.IntegrityError:
                raise _in_flight() from None
        if row.request_hash != fingerprint:
            raise FailedPrecondition(
                "this Idempotency-Key was already used with a different request; use a new key for a new request",
                reason="IDEMPOTENCY_KEY_REUSED",
            )
        if row.response is not None:
            return bytes(row.response)
        if row.locked_until > now:
            raise _in_flight()
        # The first request's claim lapsed: its deadline passed, so it can no longer commit.
        IdempotencyRecord.update(locked_until=locked_until).where(
            IdempotencyRecord.key == key, IdempotencyRecord.caller == caller).execute()
        return None


def complete(key: str, caller: int, answer: bytes) -> None:
    """Stores the answer; call it inside the transaction of the work itself."""
    IdempotencyRecord.update(response=answer).where(
        IdempotencyRecord.key == key, IdempotencyRecord.caller == caller).execute()


def release(key: str, caller: int) -> None:
    """Drops an unanswered claim after its request failed, so that a retry may run."""
    with write_transaction():
        IdempotencyRecord.delete().where(IdempotencyRecord.key == key, IdempotencyRecord.caller == caller,
                                         IdempotencyRecord.response.is_null()).execute()


def _in_flight() -> Aborted:
    return Aborted("a request with this Idempotency-Key is still being processed; retry in a moment",
                   reason="IDEMPOTENCY_KEY_IN_FLIGHT", retry_after=1)


def _purge_expired() -> None:
    """Deletes answers older than TTL, at most once a minute per process."""
    global _last_purge
    if time.monotonic() - _last_purge < _PURGE_EVERY_SECONDS:
        return
    _last_purge = time.monotonic()
    IdempotencyRecord.delete().where(IdempotencyRecord.create_time < utcnow() - TTL).execute()
