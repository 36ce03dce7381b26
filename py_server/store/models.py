"""Peewee models. One database proxy, bound at start-up from the database URL."""
from __future__ import annotations

import contextlib
import datetime
import decimal
import threading
import time
import weakref

import peewee

from py_server import request_context
from py_server.errors import DeadlineExceeded

database_proxy = peewee.DatabaseProxy()

CENT = decimal.Decimal("0.01")


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class MoneyField(peewee.DecimalField):
    """NUMERIC(10,2) in PostgreSQL; exact decimal text in SQLite.

    SQLite would store a DECIMAL column as a binary float, so there the
    database maps DECIMAL to TEXT (see store.database) and the column holds '49.99'.
    """

    def __init__(self, **kwargs):
        super().__init__(max_digits=10, decimal_places=2, auto_round=True, **kwargs)

    def get_modifiers(self):
        return [10, 2] if isinstance(self.model._meta.database.obj, peewee.PostgresqlDatabase) else None

    def db_value(self, value):
        value = super().db_value(value)
        if value is not None and not isinstance(self.model._meta.database.obj, peewee.PostgresqlDatabase):
            return format(value, "f")
        return value


class BaseModel(peewee.Model):
    class Meta:
        database = database_proxy


class Product(BaseModel):
    name = peewee.CharField(max_length=100, unique=True)
    description = peewee.TextField(default="")
    category = peewee.CharField(max_length=50)
    price = MoneyField()
    slogan = peewee.CharField(max_length=200, default="")
    stock = peewee.IntegerField(constraints=[peewee.Check("stock >= 0")])

    class Meta:
        table_name = "products"


class User(BaseModel):
    sid = peewee.CharField(max_length=20, unique=True)
    username = peewee.CharField(max_length=50, unique=True)  # NFKC-normalised, case kept
    email = peewee.CharField(max_length=254, unique=True)
    # What uniqueness and login compare (py_server.store.identity): the username NFKC-normalised
    # and case-folded, the email case-folded. Null only in rows an older version wrote, until
    # prepare_schema fills them.
    username_key = peewee.CharField(max_length=200, unique=True, null=True)
    email_key = peewee.CharField(max_length=254, unique=True, null=True)
    password_hash = peewee.CharField(max_length=60)
    active = peewee.BooleanField(default=True)
    # Grows on every password change and deactivation; bearer tokens carry the version they were
    # issued for, and an older one is refused.
    token_version = peewee.IntegerField(default=1)
    create_time = peewee.DateTimeField(default=utcnow)
    update_time = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "users"


class OrderStatus:
    PLACED = "placed"
    CANCELLED = "cancelled"


class Order(BaseModel):
    user = peewee.ForeignKeyField(User, backref="orders", on_delete="RESTRICT")
    product = peewee.ForeignKeyField(Product, backref="orders", on_delete="RESTRICT")
    quantity = peewee.IntegerField(constraints=[peewee.Check("quantity BETWEEN 1 AND 3")])
    total_price = MoneyField()
    status = peewee.CharField(
        max_length=10,
        default=OrderStatus.PLACED,
        constraints=[peewee.Check("status IN ('placed', 'cancelled')")],
    )
    create_time = peewee.DateTimeField(default=utcnow)
    update_time = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "orders"
        indexes = ((("user", "id"), False),)


class LoginThrottle(BaseModel):
    """Failed logins per username key, kept in the database so that every gateway replica sees them."""

    username_key = peewee.CharField(max_length=200, primary_key=True)
    failures = peewee.IntegerField(default=0)
    window_start = peewee.DateTimeField()
    locked_until = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "login_throttle"


class IdempotencyRecord(BaseModel):
    """An Idempotency-Key's claim and, once its request succeeded, the answer (a serialised response).

    Keyed by the key and the caller (the user id; 0 for registration, where
    there is none yet). `request_hash` tells a retry from a reuse with another
    request. A claim without a response lapses at `locked_until`: its request's
    deadline, after which that request can no longer commit.
    """

    key = peewee.CharField(max_length=255)
    caller = peewee.IntegerField()
    request_hash = peewee.CharField(max_length=64)
    response = peewee.BlobField(null=True)
    locked_until = peewee.DateTimeField()
    create_time = peewee.DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "idempotency_keys"
        primary_key = peewee.CompositeKey("key", "caller")


MODELS = (Product, User, Order, LoginThrottle, IdempotencyRecord)


# SQLite has one writer at a time. Threads of this process queue here for it, in turn, instead of
# racing for the file lock, where a loser may get "database is locked" once busy_timeout runs out
# (6 of 48 concurrent updates did before). Reentrant: a write transaction may nest (a savepoint).
# Other processes on the same file still wait through busy_timeout.
_SQLITE_WRITER = threading.RLock()


@contextlib.contextmanager
def write_transaction():
    """A transaction for a read-then-write unit of work that never commits after the caller's deadline.

    SQLite takes its write lock up front (BEGIN IMMEDIATE), one thread of this
    process at a time: a deferred transaction that reads first can fail with
    "database is locked" when it later tries to write. PostgreSQL uses row
    locks and conditional updates. Just before the commit, the deadline of the
    gRPC call being served is checked: past it, the work is rolled back and
    DEADLINE_EXCEEDED raised, so nothing is created for a request whose
    client was told it failed.
    """
    database = database_proxy.obj
    if isinstance(database, peewee.SqliteDatabase):
        if not _SQLITE_WRITER.acquire(timeout=min(30.0, max(0.0, _seconds_left(default=30.0)))):
            raise DeadlineExceeded("the deadline passed while waiting for the database; nothing was changed")
        try:
            with database.atomic(lock_type="IMMEDIATE"):
                yield
                _check_deadline()
        finally:
            _SQLITE_WRITER.release()
    else:
        with database.atomic():
            yield
            _check_deadline()


def locked(query):
    """`query` with FOR UPDATE where the database has row locks (PostgreSQL). SQLite has none to take:
    there, write_transaction()'s BEGIN IMMEDIATE already holds the only write lock."""
    return query.for_update() if database_proxy.obj.for_update else query


def _seconds_left(default: float) -> float:
    deadline = request_context.current_deadline.get()
    return default if deadline is None else deadline - time.monotonic()


def _check_deadline() -> None:
    if _seconds_left(default=1.0) <= 0:
        raise DeadlineExceeded("the caller's deadline passed before the change could be committed; nothing was changed")


class Compiled:
    """A query whose SQL text peewee compiles once per database, then runs with new parameters.

    Compiling a query is most of peewee's cost on a hot path (about 100 µs for a
    primary-key lookup, against 50 µs for the round trip itself). `build(*params)`
    must return the peewee query for those parameter values; the SQL is compiled
    from placeholder values and checked to take exactly those parameters, in order.
    """

    _PLACEHOLDERS = (-1_000_001, -1_000_002, -1_000_003, -1_000_004)

    def __init__(self, build, arity: int):
        self._build, self._arity = build, arity
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _for(self, database) -> tuple[str, tuple]:
        compiled = self._compiled.get(database)
        if compiled is None:
            placeholders = self._PLACEHOLDERS[: self._arity]
            sql, params = self._build(*placeholders).sql()
            if tuple(params[: self._arity]) != placeholders:
                raise AssertionError(f"compiled query takes {params}, not {placeholders} first")
            # The query's own constants (LIMIT 1 …) follow the caller's parameters.
            compiled = self._compiled[database] = (sql, tuple(params[self._arity:]))
        return compiled

    def rows(self, *params) -> list[tuple]:
        database = database_proxy.obj
        sql, constants = self._for(database)
        return database.execute_sql(sql, (*params, *constants)).fetchall()


def first_model(model: type[BaseModel], compiled: Compiled, *params):
    """The first row of a `model.select()` query as a model instance (converted as peewee would), or None."""
    rows = compiled.rows(*params)
    if not rows:
        return None
    fields = model._meta.sorted_fields
    return model(**{f.name: f.python_value(value) for f, value in zip(fields, rows[0])}, __no_default__=1)
