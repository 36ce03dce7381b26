"""Peewee models. One database proxy, bound at start-up from the database URL."""
from __future__ import annotations

import datetime
import decimal
import weakref

import peewee

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
    username = peewee.CharField(max_length=50, unique=True)
    email = peewee.CharField(max_length=254, unique=True)
    password_hash = peewee.CharField(max_length=60)
    active = peewee.BooleanField(default=True)
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


MODELS = (Product, User, Order)


def write_transaction():
    """A transaction for a read-then-write unit of work.

    SQLite takes its write lock up front (BEGIN IMMEDIATE): a deferred
    transaction that reads first can fail with "database is locked" when it
    later tries to write. PostgreSQL uses row locks and conditional updates.
    """
    database = database_proxy.obj
    if isinstance(database, peewee.SqliteDatabase):
        return database.atomic(lock_type="IMMEDIATE")
    return database.atomic()


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
