"""Opens the database named by MERCH_DATABASE_URL and prepares its schema.

SQLite (a file in the state folder) is the embedded default; a postgresql://
URL selects PostgreSQL through psycopg2 with a connection pool. Both share
every model and query.
"""
from __future__ import annotations

import logging
import pathlib
import urllib.parse

import peewee
from playhouse.migrate import SchemaMigrator, migrate
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

from py_server.store import identity, models, seed, sql

_log = logging.getLogger(__name__)

# Any fixed number shared by every DB-service process: it serialises schema
# creation and seeding when several replicas start at once on one PostgreSQL.
_SCHEMA_LOCK_KEY = 0x6D65726368  # "merch"


def open_database(url: str, *, pool_size: int = 16) -> peewee.Database:
    """Returns an unconnected database for `url` (connections open on use)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("postgresql", "postgres"):
        query = dict(urllib.parse.parse_qsl(parsed.query))
        return PooledPostgresqlDatabase(
            (parsed.path or "/").lstrip("/") or "postgres",
            user=urllib.parse.unquote(parsed.username or "") or None,
            password=urllib.parse.unquote(parsed.password or "") or None,
            host=parsed.hostname or None,
            port=parsed.port,
            max_connections=pool_size,
            stale_timeout=300,
            timeout=10,  # wait this long for a free pooled connection
            connect_timeout=int(query.pop("connect_timeout", 5)),
            **query,
        )
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else parsed.path
        if path != ":memory:":
            pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        return PooledSqliteDatabase(
            path,
            max_connections=pool_size,
            stale_timeout=300,
            field_types={"DECIMAL": "TEXT"},
            pragmas={"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10_000, "synchronous": "normal"},
            check_same_thread=False,
        )
    raise ValueError(f"MERCH_DATABASE_URL must start with sqlite:/// or postgresql://, got {parsed.scheme or url!r}")


def bind(database: peewee.Database) -> None:
    models.database_proxy.initialize(database)


def prepare_schema(database: peewee.Database) -> None:
    """Creates missing tables and seeds the catalogue once; safe to run by every replica."""
    postgres = isinstance(database, peewee.PostgresqlDatabase)
    with database.connection_context():
        with database.atomic(**({} if postgres else {"lock_type": "IMMEDIATE"})):
            if postgres:
                database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
                database.execute_sql(sql.DEADLINE_FUNCTION)
                database.execute_sql(sql.CALLER_FUNCTION)
            _add_user_columns(database)  # before create_tables makes indexes on the new columns
            database.create_tables(models.MODELS, safe=True)
            _fill_identity_keys()
            seed.seed_products_once()


def _add_user_columns(database: peewee.Database) -> None:
    """Adds the identity keys and token versions to a users table made by an older version."""
    if not database.table_exists("users"):
        return
    columns = {column.name for column in database.get_columns("users")}
    migrator = SchemaMigrator.from_database(database)
    added = [
        migrator.add_column("users", name, field)
        for name, field in (
            ("username_key", peewee.CharField(max_length=200, null=True)),
            ("email_key", peewee.CharField(max_length=254, null=True)),
            ("token_version", peewee.IntegerField(default=1)),
        )
        if name not in columns
    ]
    if added:
        migrate(*added)


def _fill_identity_keys() -> None:
    """Gives rows an older version wrote their normalised keys.

    Two old rows whose names (or emails) only differed in case or form cannot
    both keep them: the later one's key is suffixed with its id (its owner is
    told the name is taken if they try to reuse it), and a warning names it.
    """
    user = models.User
    for row in user.select().where(user.username_key.is_null() | user.email_key.is_null()).order_by(user.id):
        keys = {"username_key": identity.username_key(row.username), "email_key": identity.email_key(row.email)}
        for column, key in keys.items():
            if user.select().where(getattr(user, column) == key, user.id != row.id).exists():
                keys[column] = f"{key}#{row.id}"
                _log.warning("user %d: %s %r collides with another user's; stored as %r",
                             row.id, column, key, keys[column])
        user.update(**keys).where(user.id == row.id).execute()


def ping(database: peewee.Database) -> None:
    """Raises peewee.OperationalError (or InterfaceError) if the database cannot answer."""
    with database.connection_context():
        database.execute_sql("SELECT 1")
