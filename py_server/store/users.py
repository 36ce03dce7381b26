"""User accounts. Password hashes are made and checked here and never leave this module's callers' process."""
from __future__ import annotations

import bcrypt
import peewee

from py_server.errors import AlreadyExists, FailedPrecondition, NotFound, Unauthenticated
from py_server.store.models import Compiled, User, database_proxy, first_model, utcnow
from py_server.validation import Violations

UNIQUE_FIELDS = ("sid", "username", "email")


class PasswordHasher:
    """bcrypt with a configurable cost (tests use the minimum, 4)."""

    def __init__(self, rounds: int = 12):
        self.rounds = rounds
        # Checked against when the username is unknown, so that a wrong name
        # costs as much time as a wrong password and names cannot be probed.
        self._decoy = bcrypt.hashpw(b"decoy-password", bcrypt.gensalt(rounds))

    def hash(self, password: str) -> str:
        return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(self.rounds)).decode("ascii")

    def check(self, password: str, hashed: str | None) -> bool:
        candidate = password.encode("utf-8")
        if hashed is None:
            bcrypt.checkpw(candidate, self._decoy)
            return False
        return bcrypt.checkpw(candidate, hashed.encode("ascii"))


def _check_fields(v: Violations, fields: dict) -> None:
    if "sid" in fields:
        v.text("sid", fields["sid"], max_len=20)
    if "username" in fields:
        v.text("username", fields["username"], max_len=50)
    if "email" in fields:
        v.email("email", fields["email"])
    if "password" in fields:
        v.password("password", fields["password"])


def _raise_if_taken(fields: dict, other_than: int | None = None) -> None:
    for name in UNIQUE_FIELDS:
        if name not in fields:
            continue
        query = User.select().where(getattr(User, name) == fields[name])
        if other_than is not None:
            query = query.where(User.id != other_than)
        if query.exists():
            raise AlreadyExists(f"{name} {fields[name]!r} is already registered")


def _store_fields(fields: dict, hasher: PasswordHasher) -> dict:
    columns = {k: v for k, v in fields.items() if k != "password"}
    if "password" in fields:
        columns["password_hash"] = hasher.hash(fields["password"])
    return columns


def get_user(user_id: int) -> User:
    v = Violations()
    v.positive_id("user_id", user_id)
    v.raise_if_any()
    user = first_model(User, _USER_BY_ID, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


_USER_BY_ID = Compiled(lambda user_id: User.select().where(User.id == user_id).limit(1), 1)


def create_user(fields: dict, hasher: PasswordHasher) -> User:
    v = Violations()
    _check_fields(v, fields)
    v.raise_if_any()
    columns = _store_fields(fields, hasher)  # hash outside the transaction: it is slow
    with database_proxy.atomic():
        _raise_if_taken(fields)
        try:
            return User.create(**columns)
        except peewee.IntegrityError:
            raise AlreadyExists("sid, username or email is already registered") from None


def update_user(user_id: int, changes: dict, hasher: PasswordHasher) -> User:
    v = Violations()
    v.positive_id("user_id", user_id)
    _check_fields(v, changes)
    v.raise_if_any()
    columns = _store_fields(changes, hasher)
    with database_proxy.atomic():
        user = get_user(user_id)
        if not user.active:
            raise FailedPrecondition(f"user {user_id} is deactivated and cannot be changed")
        _raise_if_taken(changes, other_than=user_id)
        try:
            User.update(update_time=utcnow(), **columns).where(User.id == user_id).execute()
        except peewee.IntegrityError:
            raise AlreadyExists("sid, username or email is already registered") from None
        return get_user(user_id)


def deactivate_user(user_id: int) -> User:
    """Soft delete: the row and its orders stay, logins stop. Deactivating twice is harmless."""
    with database_proxy.atomic():
        get_user(user_id)
        User.update(active=False, update_time=utcnow()).where(User.id == user_id, User.active).execute()
        return get_user(user_id)


def authenticate_user(username: str, password: str, hasher: PasswordHasher) -> User:
    v = Violations()
    v.text("username", username, max_len=50)
    if len(password.encode("utf-8")) > 72:
        v.add("password", "must be at most 72 bytes of UTF-8 (bcrypt's limit)")
    elif not password:
        v.add("password", "must not be empty")
    v.raise_if_any()
    user = User.get_or_none(User.username == username)
    ok = hasher.check(password, user.password_hash if user else None)
    # One message for every failure, so a caller learns nothing about which part was wrong.
    if not ok or user is None or not user.active:
        raise Unauthenticated("username or password is incorrect, or the account is deactivated")
    return user
