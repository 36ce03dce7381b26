"""How the store reads and writes: transactions, row locks, and the caller check inside both.

A call may name its caller (request_context.current_caller: the REST gateway's bearer-token user).
Then every read and every write transaction first checks, in the same transaction, that this user
exists, is active and still has the token version the token was issued for; otherwise the call is
UNAUTHENTICATED and nothing is read or changed. Nothing is cached, so a deactivation or a password
change ends older tokens at the very next call, on every DB-service process and replica.
"""
from __future__ import annotations

import contextlib
import threading
import time

import peewee

from py_server import request_context
from py_server.errors import DeadlineExceeded, Unauthenticated
from py_server.store import sql
from py_server.store.models import database_proxy

# The words the REST gateway shows with its 401 (they predate this check and are kept), and the
# google.rpc.ErrorInfo reason that tells them apart from a missing service token by machine.
CALLER_REFUSALS = {
    "missing": ("the token's user does not exist; register or log in again", "CALLER_UNKNOWN"),
    "deactivated": ("this account is deactivated; its tokens no longer work", "CALLER_DEACTIVATED"),
    "stale": ("the token was issued before the password was changed; log in again", "CALLER_TOKEN_STALE"),
}


def _refusal(kind: str) -> Unauthenticated:
    message, reason = CALLER_REFUSALS[kind]
    return Unauthenticated(message, reason=reason)

# SQLite has one writer at a time. Threads of this process queue here for it, in turn, instead of
# racing for the file lock, where a loser may get "database is locked" once busy_timeout runs out
# (6 of 48 concurrent updates did before). Reentrant: a write transaction may nest (a savepoint).
# Other processes on the same file wait through BEGIN IMMEDIATE and busy_timeout instead.
_SQLITE_WRITER = threading.RLock()


def is_postgres() -> bool:
    return isinstance(database_proxy.obj, peewee.PostgresqlDatabase)


@contextlib.contextmanager
def write_transaction():
    """A transaction for a read-then-write unit of work that never commits after the caller's deadline.

    SQLite takes its write lock up front (BEGIN IMMEDIATE), one thread of this
    process at a time: a deferred transaction that reads first can fail with
    "database is locked" when it later tries to write. PostgreSQL uses row
    locks and conditional updates. The caller, if the call names one, is
    checked first thing. Just before the commit, the deadline of the gRPC call
    being served is checked: past it, the work is rolled back and
    DEADLINE_EXCEEDED raised, so nothing is created for a request whose client
    was told it failed.
    """
    database = database_proxy.obj
    outermost = not database.in_transaction()
    if isinstance(database, peewee.SqliteDatabase):
        if not _SQLITE_WRITER.acquire(timeout=min(30.0, max(0.0, _seconds_left(default=30.0)))):
            raise DeadlineExceeded("the deadline passed while waiting for the database; nothing was changed")
        try:
            with database.atomic(lock_type="IMMEDIATE"):
                if outermost:
                    check_caller()
                yield
                _check_deadline()
        finally:
            _SQLITE_WRITER.release()
    else:
        with database.atomic():
            if outermost:
                check_caller()
            yield
            _check_deadline()


def locked(query):
    """`query` with FOR UPDATE where the database has row locks (PostgreSQL). SQLite has none to take:
    there, write_transaction()'s BEGIN IMMEDIATE already holds the only write lock."""
    return query.for_update() if database_proxy.obj.for_update else query


def rows(model: type[peewee.Model], query, *params) -> list:
    """The `model` rows of `query` (a peewee select, or SQL text from store.sql), with the caller checked.

    Outside a transaction, the check and the read share one: on PostgreSQL as one round trip (see
    sql.CALLER_FUNCTION), on SQLite as a deferred (read) transaction. Inside write_transaction()
    the caller was checked when it began.
    """
    database = database_proxy.obj
    if isinstance(query, str):
        text = query.format(p=database.param)
    else:
        text, query_params = query.sql()
        params = (*params, *query_params)
    caller = request_context.current_caller.get()
    if caller is None or database.in_transaction():
        return list(model.raw(text, *params))
    if isinstance(database, peewee.PostgresqlDatabase):
        try:
            return list(model.raw(sql.CHECK_CALLER + text, caller.user_id, caller.token_version, *params))
        except peewee.DatabaseError as error:
            raise _caller_refusal(error) or error
    with database.atomic():
        check_caller()
        return list(model.raw(text, *params))


def first(model: type[peewee.Model], query, *params):
    """The first row of rows(), or None."""
    found = rows(model, query, *params)
    return found[0] if found else None


def check_caller() -> None:
    """Raises UNAUTHENTICATED unless the call's caller (if any) exists, is active and has its token
    version. Call it inside the operation's transaction; rows() and write_transaction() do."""
    caller = request_context.current_caller.get()
    if caller is None:
        return
    database = database_proxy.obj
    if isinstance(database, peewee.PostgresqlDatabase):
        try:
            database.execute_sql(sql.CHECK_CALLER, caller)
        except peewee.DatabaseError as error:
            raise _caller_refusal(error) or error
        return
    found = database.execute_sql(sql.CALLER_BY_ID.format(p=database.param), (caller.user_id,)).fetchone()
    refusal = caller_refusal(caller, found)
    if refusal is not None:
        raise refusal


def caller_refusal(caller, found: tuple | None) -> Unauthenticated | None:
    """The refusal for a caller whose users row is `found` (active, token_version), or None if it may act."""
    if found is None or found[0] is None:
        return _refusal("missing")
    if not found[0]:
        return _refusal("deactivated")
    if found[1] != caller.token_version:
        return _refusal("stale")
    return None


def _caller_refusal(error: peewee.DatabaseError) -> Unauthenticated | None:
    """UNAUTHENTICATED for an error raised by merch_check_caller, else None."""
    cause = getattr(error, "orig", None)  # the driver's error, which peewee's wraps
    if getattr(cause, "pgcode", None) != sql.CALLER_SQLSTATE:
        return None
    kind = cause.diag.message_primary
    return _refusal(kind if kind in CALLER_REFUSALS else "missing")


def _seconds_left(default: float) -> float:
    deadline = request_context.current_deadline.get()
    return default if deadline is None else deadline - time.monotonic()


def _check_deadline() -> None:
    if _seconds_left(default=1.0) <= 0:
        raise DeadlineExceeded("the caller's deadline passed before the change could be committed; nothing was changed")
