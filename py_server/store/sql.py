"""The store's hand-written SQL, in one place. Everything else goes through peewee's query builder.

Each statement here is written by hand because it is measurably faster than what the builder
would send, and says why. `make bench` (scenario P1) runs PLACE_ORDER itself as pgbench's anchor,
through place_order_with(), so that PlaceOrder over gRPC is compared with the very same SQL.
"""
from __future__ import annotations

import re

# --- PostgreSQL: PlaceOrder as one statement ------------------------------------------------------
#
# Why: the user check, the conditional stock update and the insert in one statement are one round
# trip and one implicit transaction. The product's row lock is then held for this statement and its
# commit only, never across round trips to the DB service (a hot product serialises every order on
# that lock: as three statements, the lock was held three times as long). Stock still only moves by
# `stock = stock - n WHERE stock >= n`; the total is computed from the locked row's price.
#
# The statement commits by itself (autocommit), so it checks the caller's deadline (`deadline`, UTC)
# itself, as write_transaction() does before a commit: before taking the stock, and again once the
# order is inserted (the row lock may have been waited for), where merch_deadline_exceeded() aborts
# the whole statement, stock update and insert included.
#
# The caller (`caller_id`, `caller_version`; NULL when the call names none) is the bearer token's
# user, checked in the same statement: the stock is taken only if that user exists, is active and
# has that token version. The answer's columns tell the outcomes apart:
#   buyer_active, caller_active, caller_version, order id, total_price, create_time, update_time, _
PLACE_ORDER_PARAMETERS = ("user_id", "product_id", "quantity", "status", "create_time", "update_time",
                          "deadline", "caller_id", "caller_version")
_PLACE_ORDER_TYPES = ("integer", "integer", "integer", "text", "timestamp", "timestamp", "timestamp",
                      "integer", "integer")
PLACE_ORDER = """\
WITH buyer AS (
    SELECT active FROM users WHERE id = $1
), caller AS (
    SELECT active, token_version FROM users WHERE id = $8
), taken AS (
    UPDATE products SET stock = stock - $3
    WHERE id = $2 AND stock - $3 >= 0 AND (SELECT active FROM buyer)
      AND ($8 IS NULL OR (SELECT active AND token_version = $9 FROM caller))
      AND (clock_timestamp() AT TIME ZONE 'UTC') < $7
    RETURNING price
), placed AS (
    INSERT INTO orders (user_id, product_id, quantity, total_price, status, create_time, update_time)
    SELECT $1, $2, $3, price * $3, $4, $5, $6 FROM taken
    RETURNING id, total_price, create_time, update_time
)
SELECT (SELECT active FROM buyer), (SELECT active FROM caller), (SELECT token_version FROM caller),
       placed.id, placed.total_price, placed.create_time, placed.update_time,
       CASE WHEN placed.id IS NOT NULL AND (clock_timestamp() AT TIME ZONE 'UTC') >= $7
            THEN merch_deadline_exceeded() END
FROM (VALUES (1)) AS one LEFT JOIN placed ON true"""

# Prepared once per connection (session): PostgreSQL then plans it once, as pgbench -M prepared does.
PREPARE_PLACE_ORDER = f"PREPARE merch_place_order ({', '.join(_PLACE_ORDER_TYPES)}) AS\n{PLACE_ORDER}"
EXECUTE_PLACE_ORDER = f"EXECUTE merch_place_order ({', '.join(['%s'] * len(_PLACE_ORDER_TYPES))})"


def place_order_with(values: dict[str, str]) -> str:
    """PLACE_ORDER with each parameter (named as in PLACE_ORDER_PARAMETERS) replaced by an SQL expression.

    For tools that run the statement themselves (pgbench in `make bench`).
    """
    missing = set(PLACE_ORDER_PARAMETERS) - set(values)
    if missing:
        raise ValueError(f"no value for {sorted(missing)}")
    by_number = {str(i): values[name] for i, name in enumerate(PLACE_ORDER_PARAMETERS, start=1)}
    return re.sub(r"\$(\d+)", lambda m: by_number[m.group(1)], PLACE_ORDER)


# Raised by PLACE_ORDER when the deadline passed while it waited for the product's row lock.
DEADLINE_MESSAGE = "merch: the caller's deadline passed"
DEADLINE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION merch_deadline_exceeded() RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'query_canceled', MESSAGE = '{DEADLINE_MESSAGE.replace("'", "''")}';
END
$$
"""

# --- PostgreSQL: the caller check as a statement of its own ----------------------------------------
#
# Why a function: a read (GetProduct, ListOrders …) sends `SELECT merch_check_caller(…); <the read>`
# as one simple query. PostgreSQL runs the statements of one simple query in one transaction, so the
# check and the read share a transaction and a round trip, and a refused caller aborts the read.
# Write transactions run it after BEGIN. It raises SQLSTATE CALLER_SQLSTATE with one of the
# CALLER_REFUSALS as its message (py_server.store.access turns that into UNAUTHENTICATED).
CALLER_SQLSTATE = "MC401"
CALLER_FUNCTION = f"""
CREATE OR REPLACE FUNCTION merch_check_caller(caller integer, version integer) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    is_active boolean;
    current_version integer;
BEGIN
    SELECT active, token_version INTO is_active, current_version FROM users WHERE id = caller;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = '{CALLER_SQLSTATE}', MESSAGE = 'missing';
    ELSIF NOT is_active THEN
        RAISE EXCEPTION USING ERRCODE = '{CALLER_SQLSTATE}', MESSAGE = 'deactivated';
    ELSIF current_version <> version THEN
        RAISE EXCEPTION USING ERRCODE = '{CALLER_SQLSTATE}', MESSAGE = 'stale';
    END IF;
END
$$
"""
CHECK_CALLER = "SELECT merch_check_caller(%s, %s);\n"

# --- either database: primary-key lookups ------------------------------------------------------------
#
# Why: peewee compiles a query on every call, about 100 µs of CPU for these lookups against
# 20 µs for running a fixed text through Model.raw(). `{p}` is the database's parameter placeholder.
PRODUCT_BY_ID = "SELECT * FROM products WHERE id = {p}"
USER_BY_ID = "SELECT * FROM users WHERE id = {p}"
ORDER_BY_ID = "SELECT * FROM orders WHERE id = {p}"
# The SQLite side of the caller check (PostgreSQL uses merch_check_caller).
CALLER_BY_ID = "SELECT active, token_version FROM users WHERE id = {p}"
