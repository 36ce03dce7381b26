"""User accounts. Password hashes are made and checked here and never leave this module's callers' process."""
from __future__ import annotations

import contextlib
import datetime
import os
import threading
import time

import bcrypt
import peewee

from py_server import request_context
from py_server.errors import (AlreadyExists, DeadlineExceeded, FailedPrecondition, NotFound, PermissionDenied,
                              ResourceExhausted, Unauthenticated, Unavailable)
from py_server.store import identity, sql
from py_server.store.access import check_caller, first, locked, write_transaction
from py_server.store.models import LoginThrottle, User, utcnow
from py_server.validation import Violations

# Login throttling: this many failures for one username within the window lock it for the window.
MAX_FAILED_LOGINS = 5
THROTTLE_WINDOW = datetime.timedelta(minutes=15)
# How long a call waits for a free password-hashing slot before it is told to come back.
HASH_SLOT_WAIT_SECONDS = 0.25


class PasswordHasher:
    """bcrypt with a configurable cost (tests use the minimum, 4), on at most one thread per core.

    bcrypt is the DB service's most expensive work by far (≈ 250 ms of CPU at
    cost 12). More hashes at once than cores only make each one slower, until
    every caller's deadline has passed while the work goes on; so a call
    waits at most HASH_SLOT_WAIT_SECONDS for a slot, and is otherwise refused
    at once with UNAVAILABLE and a retry delay (503 + Retry-After over REST).
    """

    def __init__(self, rounds: int = 12, slots: int | None = None):
        self.rounds = rounds
        self._slots = threading.BoundedSemaphore(slots or os.cpu_count() or 1)
        # Checked against when the username is unknown, so that a wrong name
        # costs as much time as a wrong password and names cannot be probed.
        self._decoy = bcrypt.hashpw(b"decoy-password", bcrypt.gensalt(rounds))

    @contextlib.contextmanager
    def _slot(self):
        deadline = request_context.current_deadline.get()
        if deadline is not None and deadline <= time.monotonic():
            raise DeadlineExceeded("the caller's deadline passed before the password could be checked")
        if not self._slots.acquire(timeout=HASH_SLOT_WAIT_SECONDS):
            raise Unavailable("the server is busy checking other passwords; retry in a second", retry_after=1)
        try:
            yield
        finally:
            self._slots.release()

    def hash(self, password: str) -> str:
        with self._slot():
            return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(self.rounds)).decode("ascii")

    def check(self, password: str, hashed: str | None) -> bool:
        candidate = password.encode("utf-8")
        with self._slot():
            if hashed is None:
                bcrypt.checkpw(candidate, self._decoy)
                return False
            return bcrypt.checkpw(candidate, hashed.encode("ascii"))


def _check_fields(v: Violations, fields: dict) -> None:
    # Lengths, patterns and password bytes are the proto's rules (py_server.validating);
    # what depends on Unicode normalisation is checked here.
    if "username" in fields:
        identity.check_username(v, "username", fields["username"])


def _raise_if_taken(columns: dict, other_than: int | None = None) -> None:
    for name, column in (("sid", User.sid), ("username", User.username_key), ("email", User.email_key)):
        value = columns.get(column.name)
        if value is None:
            continue
        query = User.select().where(column == value)
        if other_than is not None:
            query = query.where(User.id != other_than)
        if query.exists():
            raise AlreadyExists(f"{name} {columns.get(name, value)!r} is already registered")


def _store_fields(fields: dict, hasher: PasswordHasher) -> dict:
    """The columns for `fields`: normalised identities with their keys, the password as its hash."""
    columns = {k: v for k, v in fields.items() if k != "password"}
    if "username" in fields:
        columns["username"] = identity.normal_username(fields["username"])
        columns["username_key"] = identity.username_key(fields["username"])
    if "email" in fields:
        columns["email_key"] = identity.email_key(fields["email"])
    if "password" in fields:
        columns["password_hash"] = hasher.hash(fields["password"])
    return columns


def get_user(user_id: int) -> User:
    user = first(User, sql.USER_BY_ID, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def new_user_columns(fields: dict, hasher: PasswordHasher) -> dict:
    """Checks a registration and hashes its password (slow: before any transaction)."""
    v = Violations()
    _check_fields(v, fields)
    v.raise_if_any()
    return _store_fields(fields, hasher)


def insert_user(columns: dict) -> User:
    """Stores a user from new_user_columns(); ALREADY_EXISTS for a taken sid, username or email."""
    with write_transaction():
        _raise_if_taken(columns)
        try:
            return User.create(**columns)
        except peewee.IntegrityError:
            raise AlreadyExists("sid, username or email is already registered") from None


def create_user(fields: dict, hasher: PasswordHasher) -> User:
    return insert_user(new_user_columns(fields, hasher))


def update_user(user_id: int, changes: dict, hasher: PasswordHasher, current_password: str | None = None) -> User:
    """Changes a user's fields; a new password needs the current one and ends every older token."""
    v = Violations()
    _check_fields(v, changes)
    if "password" in changes and not current_password:
        v.add("current_password", "is required to change the password")
    v.raise_if_any()
    if "password" in changes:
        user = get_user(user_id)
        if not hasher.check(current_password, user.password_hash):
            raise PermissionDenied("current_password is not this account's password; the password is unchanged")
    columns = _store_fields(changes, hasher)
    with write_transaction():
        user = get_user(user_id)
        if not user.active:
            raise FailedPrecondition(f"user {user_id} is deactivated and cannot be changed")
        _raise_if_taken(columns, other_than=user_id)
        if "password_hash" in columns:
            columns["token_version"] = User.token_version + 1
        try:
            User.update(update_time=utcnow(), **columns).where(User.id == user_id).execute()
        except peewee.IntegrityError:
            raise AlreadyExists("sid, username or email is already registered") from None
        return get_user(user_id)


def deactivate_user(user_id: int) -> User:
    """Soft delete: the row and its orders stay, logins and tokens stop. Deactivating twice is harmless."""
    with write_transaction():
        get_user(user_id)
        User.update(active=False, update_time=utcnow(), token_version=User.token_version + 1).where(
            User.id == user_id, User.active).execute()
        return get_user(user_id)


def authenticate_user(username: str, password: str, hasher: PasswordHasher) -> User:
    """The user whose credentials these are; UNAUTHENTICATED otherwise (one message for every cause).

    Throttled per username key, whether or not such a user exists: after
    MAX_FAILED_LOGINS failures within THROTTLE_WINDOW every attempt is
    RESOURCE_EXHAUSTED until the window has passed; a success resets the count.
    An unknown name costs a bcrypt check too, so timing does not tell it apart.
    """
    key = identity.username_key(username)
    check_caller()  # a log-in names no caller; if one is named anyway, it is held to the same rule
    _refuse_if_throttled(key)
    user = User.get_or_none(User.username_key == key)
    ok = hasher.check(password, user.password_hash if user else None)
    if ok and user is not None and user.active:
        LoginThrottle.delete().where(LoginThrottle.username_key == key).execute()
        return user
    _count_failure(key)
    raise Unauthenticated("username or password is incorrect, or the account is deactivated")


def _refuse_if_throttled(key: str) -> None:
    row = LoginThrottle.get_or_none(LoginThrottle.username_key == key)
    now = utcnow()
    if row is not None and row.locked_until is not None and row.locked_until > now:
        wait = (row.locked_until - now).total_seconds()
        raise ResourceExhausted(
            f"too many failed logins for this username; try again in {int(wait) + 1} seconds",
            retry_after=wait,
        )


def _count_failure(key: str) -> None:
    now = utcnow()
    with write_transaction():
        query = locked(LoginThrottle.select().where(LoginThrottle.username_key == key))
        row = query.first()
        if row is None:
            try:
                with write_transaction():  # a savepoint: a concurrent first failure may insert first
                    LoginThrottle.create(username_key=key, failures=1, window_start=now)
                return
            except peewee.IntegrityError:
                row = query.first()
        if now - row.window_start > THROTTLE_WINDOW:
            row.failures, row.window_start, row.locked_until = 1, now, None
        else:
            row.failures += 1
            if row.failures >= MAX_FAILED_LOGINS:
                row.locked_until = now + THROTTLE_WINDOW
        row.save()
