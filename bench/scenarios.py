"""The scenarios: what is measured against what, with which tool, at which concurrency.

Each scenario has two sides, `ours` and `anchor`, each a callable returning a tool result
(`rate` and, where measured, latency). The runner interleaves them (A, B, A, B, …) and, for
P1–P3, also runs both sides at one fixed moderate rate for latency percentiles.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from bench import log_ingest, tools
from py_server.store import sql


@dataclasses.dataclass
class Scenario:
    id: str
    title: str
    ours_label: str
    anchor_label: str
    unit: str
    goal: float
    ours: Callable[[float], dict]  # duration -> result
    anchor: Callable[[float], dict]
    ours_at: Callable[[float, float], dict] | None = None  # (rate, duration) -> result with latency
    anchor_at: Callable[[float, float], dict] | None = None
    # Processes whose CPU time is charged to each side (names of stack processes or groups).
    ours_procs: tuple[str, ...] = ()
    anchor_procs: tuple[str, ...] = ()
    notes: str = ""


@dataclasses.dataclass
class Fixture:
    """What the scenarios run against; filled in by the runner once the stack is up."""

    db_addr: str
    log_addr: str
    database_url: str
    pgbench: str
    kafka_script: Callable
    gw_on: str  # gateway shipping its request logs
    gw_off: str  # the same gateway with MERCH_LOG_SHIPPING=off
    nginx: str  # nginx in front of gw_on
    product_id: int  # a product with a stock that never runs out
    user_min: int
    user_max: int
    tokens: list[str]
    concurrency: int
    p4_records: int
    p4_record_size: int
    # Connections of each ghz run. The DB service's processes share its port and the kernel spreads
    # connections, not calls: with several processes a client needs one connection per client to
    # reach them all; with one, a single connection is cheaper (measured: P1 0.58 against 0.49).
    grpc_connections: int = 1


def place_order_sql() -> str:
    """pgbench's script: the very statement the store prepares for PlaceOrder on PostgreSQL (user check,
    conditional stock update and insert in one), with pgbench's variables for its parameters."""
    now = "(now() AT TIME ZONE 'UTC')"
    statement = sql.place_order_with({
        "user_id": ":uid", "product_id": ":pid", "quantity": "1", "status": "'placed'",
        "create_time": now, "update_time": now,
        "deadline": "'infinity'::timestamp",  # pgbench has no deadline
        "caller_id": "NULL::integer", "caller_version": "NULL::integer",  # ghz names no caller either
    })
    return "\\set uid random(:umin, :umax)\n" + statement + ";\n"


def build(f: Fixture) -> list[Scenario]:
    c = f.concurrency
    # ghz templates string values; protobuf's JSON mapping takes an int32 as a string too.
    place_data = (f'{{"user_id": "{{{{randomInt {f.user_min} {f.user_max + 1}}}}}", '
                  f'"product_id": {f.product_id}, "quantity": 1}}')
    order_body = f'{{"product_id": {f.product_id}, "quantity": 1}}'
    pg_defines = {"umin": f.user_min, "umax": f.user_max, "pid": f.product_id}
    pgbench_sql = place_order_sql()

    def place_grpc(duration, rps=None):
        return tools.ghz(f.db_addr, "merch.store.v1.OrderService/PlaceOrder", place_data,
                         proto="merch/store/v1/order.proto", concurrency=c, duration=duration, rps=rps,
                         connections=f.grpc_connections)

    def place_pgbench(duration, rate=None):
        return tools.pgbench(f.pgbench, f.database_url, pgbench_sql, concurrency=c, duration=duration,
                             rate=rate, defines=pg_defines)

    def get_product_grpc(duration, rps=None):
        return tools.ghz(f.db_addr, "merch.store.v1.ProductService/GetProduct", '{"product_id": 1}',
                         proto="merch/store/v1/product.proto", concurrency=c, duration=duration, rps=rps,
                         connections=f.grpc_connections)

    get_lua = tools.wrk_lua("GET", "/products/1", tokens=f.tokens)
    post_lua = tools.wrk_lua("POST", "/orders", body=order_body, tokens=f.tokens)

    def rest_get(base):
        return lambda duration: tools.wrk(base, get_lua, concurrency=c, duration=duration)

    def rest_post(base):
        return lambda duration: tools.wrk(base, post_lua, concurrency=c, duration=duration)

    def fixed_get(base):
        return lambda rate, duration: tools.vegeta(base + "/products/1", rate=rate, concurrency=c,
                                                   duration=duration, tokens=f.tokens)

    def fixed_post(base):
        return lambda rate, duration: tools.vegeta(base + "/orders", rate=rate, concurrency=c, duration=duration,
                                                   method="POST", body=order_body, tokens=f.tokens, ok_status=201)

    def ingest(_duration):
        return log_ingest.measure(f.log_addr, f.p4_records, f.p4_record_size)

    def producer_perf(_duration):
        return tools.producer_perf(f.kafka_script, records=f.p4_records, record_size=f.p4_record_size)

    return [
        Scenario(
            "P1", "PlaceOrder over gRPC on PostgreSQL vs pgbench, same SQL transaction",
            f"ghz PlaceOrder, c={c}", f"pgbench -M prepared, the same SQL, c={c}", "orders/s", 0.80,
            ours=place_grpc, anchor=place_pgbench,
            ours_at=lambda rate, d: place_grpc(d, rps=rate), anchor_at=lambda rate, d: place_pgbench(d, rate=rate),
            ours_procs=("db_service", "postgres"), anchor_procs=("postgres",),
        ),
        Scenario(
            "P2", "REST GET /products/1 through the gateway vs GetProduct over gRPC",
            f"wrk GET /products/1, c={c}", f"ghz GetProduct, c={c}", "req/s", 0.60,
            ours=rest_get(f.gw_on), anchor=get_product_grpc,
            ours_at=fixed_get(f.gw_on), anchor_at=lambda rate, d: get_product_grpc(d, rps=rate),
            ours_procs=("gw_on", "db_service", "logging_service", "postgres"), anchor_procs=("db_service", "postgres"),
        ),
        Scenario(
            "P3", "REST POST /orders with request logs shipped vs shipping off",
            f"wrk POST /orders, logs shipped, c={c}", f"wrk POST /orders, MERCH_LOG_SHIPPING=off, c={c}",
            "orders/s", 0.95,
            ours=rest_post(f.gw_on), anchor=rest_post(f.gw_off),
            ours_at=fixed_post(f.gw_on), anchor_at=fixed_post(f.gw_off),
            ours_procs=("gw_on", "db_service", "logging_service", "postgres"),
            anchor_procs=("gw_off", "db_service", "logging_service", "postgres"),
        ),
        Scenario(
            "P4", "log records through one WriteLogs stream into Kafka vs Kafka's ProducerPerformance",
            f"WriteLogs, 1 stream, {f.p4_record_size} B values, acks=all",
            f"ProducerPerformance, {f.p4_record_size} B, acks=all", "records/s", 0.50,
            ours=ingest, anchor=producer_perf,
            ours_procs=("logging_service", "kafka"), anchor_procs=("kafka",),
        ),
        Scenario(
            "P5", "REST through nginx vs straight to one gateway",
            f"wrk GET /products/1 via nginx, c={c}", f"wrk GET /products/1 direct, c={c}", "req/s", 0.90,
            ours=rest_get(f.nginx), anchor=rest_get(f.gw_on),
            ours_procs=("nginx", "gw_on", "db_service", "logging_service", "postgres"),
            anchor_procs=("gw_on", "db_service", "logging_service", "postgres"),
        ),
    ]
