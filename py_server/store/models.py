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
