"""Peewee models. One database proxy, bound at start-up from the database URL."""
from __future__ import annotations

import datetime
import decimal

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
