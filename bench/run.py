"""`python -m bench [--quick]`: brings the store up on loopback, runs every scenario against its
anchor with interleaved repetitions, and writes bench/results/ (results.json, summary.md, PNG charts).

Full mode: 5 repetitions of 10 s per side (A, B, A, B, …), latency at half the measured maximum,
py-spy profiles and pg_stat_statements. Quick mode (`--quick`, run by the test suite): one short
repetition per side and no profiles; it proves the harness works and its figures mean nothing.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import grpc
import psycopg2

from merch.logging.v1 import logging_pb2, logging_pb2_grpc
from merch.store.v1 import product_pb2, product_pb2_grpc, user_pb2, user_pb2_grpc
from bench import log_ingest, measure, report, scenarios, tools
from bench.stack import AUTH, REPO, Stack, http_json, rss_mb

PASSWORD = "bench-password-1"
SERVICES = ("db_service", "logging_service", "gw_on", "gw_off")


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one short repetition per side, no profiles")
    parser.add_argument("--out", type=pathlib.Path, default=REPO / "bench" / "results",
                        help="where results go (default %(default)s)")
    parser.add_argument("--only", default="", help="comma-separated scenario ids, e.g. P1,P4 (default: all)")
    parser.add_argument("--reps", type=int, help="repetitions per side (default 5, quick 1)")
    parser.add_argument("--latency-reps", type=int, help="repetitions per side at the fixed rate (default 2, quick 1)")
    parser.add_argument("--duration", type=float, help="seconds per run (default 10, quick 2)")
    parser.add_argument("--concurrency", type=int, default=16, help="clients for every scenario but P4 (default 16)")
    parser.add_argument("--p4-records", type=int, help="records per P4 run (default 200000, quick 20000)")
    parser.add_argument("--record-size", type=int, default=300, help="P4 value size in bytes (default 300)")
    parser.add_argument("--pg-fsync", choices=("on", "off"), default="on",
                        help="PostgreSQL fsync (default on: a durable database, as deployed)")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None,
                        help="py-spy flame graphs and pg_stat_statements (default: on, off in quick mode)")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin the DB service (CPU 1) and the logging service (CPU 0) to one core each")
    parser.add_argument("--db-workers", type=int,
                        help="MERCH_GRPC_WORKERS of the DB service (default: the service's own default)")
    parser.add_argument("--db-processes", type=int,
                        help="MERCH_DB_PROCESSES of the DB service (default: the service's own, one per core); "
                             "with more than one the DB service is not pinned")
    parser.add_argument("--keep-work", action="store_true", help="keep the work folder (logs, data) afterwards")
    args = parser.parse_args(argv)
    args.reps = args.reps or (1 if args.quick else 5)
    args.latency_reps = args.latency_reps or (1 if args.quick else 2)
    args.duration = args.duration or (2.0 if args.quick else 10.0)
    args.p4_records = args.p4_records or (20_000 if args.quick else 200_000)
    args.profile = (not args.quick) if args.profile is None else args.profile
    args.warmup = 1.0 if args.quick else 3.0
    args.latency_duration = 2.0 if args.quick else 10.0
    return args


# --- set-up ----------------------------------------------------------------------------------------


def create_fixture_data(db_addr: str, gw: str, users: int) -> tuple[int, int, int, list[str]]:
    """A product whose stock never runs out, `users` users (contiguous ids) and a token for each."""
    tag = uuid.uuid4().hex[:8]
    with grpc.insecure_channel(db_addr) as channel:
        product = product_pb2_grpc.ProductServiceStub(channel).CreateProduct(product_pb2.CreateProductRequest(
            name=f"Bench Mug {tag}", category="Drinkware", price_cents=1299, slogan="Measured twice.",
            description="A product with a stock that never runs out, for benchmarks.", stock=1_000_000_000,
        ), timeout=10, metadata=AUTH).product
        stub = user_pb2_grpc.UserServiceStub(channel)
        ids = [stub.CreateUser(user_pb2.CreateUserRequest(
            sid=f"b{tag}{i:04d}", username=f"bench_{tag}_{i}", email=f"bench_{tag}_{i}@example.org",
            password=PASSWORD), timeout=10, metadata=AUTH).user.id for i in range(users)]
    if ids != list(range(ids[0], ids[0] + users)):
        raise RuntimeError(f"user ids are not contiguous: {ids}")
    tokens = []
    for i in range(users):
        status, body = http_json("POST", gw + "/login", {"username": f"bench_{tag}_{i}", "password": PASSWORD})
        if status != 200:
            raise RuntimeError(f"POST /login answered {status}: {body}")
        tokens.append(body["token"])
    return product.id, ids[0], ids[-1], tokens


def check_rest(gw: str, fixture: scenarios.Fixture) -> None:
    """One request of each REST shape, so that a broken gateway fails here, loudly, not as 0 req/s."""
    status, body = http_json("GET", gw + "/products/1", token=fixture.tokens[0])
    if status != 200:
        raise RuntimeError(f"GET /products/1 via {gw} answered {status}: {body}")
    status, body = http_json("POST", gw + "/orders", {"product_id": fixture.product_id, "quantity": 1},
                             token=fixture.tokens[0])
    if status != 201:
        raise RuntimeError(f"POST /orders via {gw} answered {status}: {body}")


def logging_accepted(log_addr: str) -> int:
    with grpc.insecure_channel(log_addr) as channel:
        stub = logging_pb2_grpc.LoggingServiceStub(channel)
        return stub.GetLoggingStats(logging_pb2.GetLoggingStatsRequest(), timeout=10, metadata=AUTH).accepted_count


def process_groups(stack: Stack) -> dict[str, int]:
    groups = {name: proc.pid for name, proc in stack.procs.items()}
    pg_pid = (stack.work / "pgdata" / "postmaster.pid")
    if pg_pid.exists():
        groups["postgres"] = int(pg_pid.read_text().split()[0])
    kafka_pid = stack.work / "kafka-state" / "kafka" / "kafka.pid"
    if kafka_pid.exists():
        groups["kafka"] = int(kafka_pid.read_text().strip())
    return groups


def memory(stack: Stack) -> dict[str, dict[str, float]]:
    out = {}
    for name in SERVICES:
        proc = stack.procs.get(name)
        if proc is not None:
            out[name] = {k: round(v, 1) for k, v in measure.tree_rss_mb(proc.pid).items()}
    return out


# --- running ---------------------------------------------------------------------------------------


def timed(side: str, fn, arg, groups, scenario, log_addr) -> dict:
    before = logging_accepted(log_addr)
    with measure.CpuWindow(groups) as cpu:
        started = time.monotonic()
        result = fn(*arg) if isinstance(arg, tuple) else fn(arg)
        result["wall_s"] = round(time.monotonic() - started, 2)
    ops = max(1, result.get("count", 0))
    procs = scenario.ours_procs if side == "ours" else scenario.anchor_procs
    result["cpu_s"] = {name: cpu.used.get(name, 0.0) for name in (*procs, "load_tool")}
    result["cpu_us_per_op"] = {name: round(1e6 * s / ops, 1) for name, s in result["cpu_s"].items()}
    result["machine_busy"] = round(cpu.machine_busy, 3)
    result["log_records_per_op"] = round((logging_accepted(log_addr) - before) / ops, 2)
    return result


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def run_scenario(sc: scenarios.Scenario, args, groups, log_addr) -> dict:
    out = {"id": sc.id, "title": sc.title, "ours_label": sc.ours_label, "anchor_label": sc.anchor_label,
           "unit": sc.unit, "goal": sc.goal, "notes": sc.notes, "ours": [], "anchor": [], "order": []}
    for rep in range(args.reps):
        # A, B, A, B …; the side that goes first alternates too, so neither always runs on a warmer machine.
        sides = ("ours", "anchor") if rep % 2 == 0 else ("anchor", "ours")
        for side in sides:
            fn = sc.ours if side == "ours" else sc.anchor
            result = timed(side, fn, args.duration, groups, sc, log_addr)
            out[side].append(result)
            out["order"].append(side)
            say(f"{sc.id} rep {rep + 1}/{args.reps} {side:6s}: {result['rate']:,.0f} {sc.unit}"
                f" (errors {result.get('errors', 0)})")
    ours = median([r["rate"] for r in out["ours"]])
    anchor = median([r["rate"] for r in out["anchor"]])
    out["ours_rate"], out["anchor_rate"] = ours, anchor
    out["ratio"] = ours / anchor if anchor else None
    pairs = [o["rate"] / a["rate"] for o, a in zip(out["ours"], out["anchor"]) if a["rate"]]
    out["pair_ratios"] = [round(p, 3) for p in pairs]
    out["met"] = out["ratio"] is not None and out["ratio"] >= sc.goal
    out["errors"] = sum(r.get("errors", 0) for r in out["ours"] + out["anchor"])
    if sc.id == "P3":
        # The gateway ships two records per request (incoming, response). If the anchor's gateway
        # shipped as many records as ours, it ignored MERCH_LOG_SHIPPING=off and the ratio means nothing.
        shipped = median([r["log_records_per_op"] for r in out["ours"]])
        anchor_shipped = median([r["log_records_per_op"] for r in out["anchor"]])
        out["anchor_valid"] = anchor_shipped is not None and shipped is not None and anchor_shipped <= shipped - 1.5
        out["met"] = out["met"] and out["anchor_valid"]
    return out


def run_latency(sc: scenarios.Scenario, rate: float, args, groups, log_addr) -> dict:
    out = {"rate": round(rate), "ours": [], "anchor": []}
    for rep in range(args.latency_reps):
        sides = ("ours", "anchor") if rep % 2 == 0 else ("anchor", "ours")
        for side in sides:
            fn = sc.ours_at if side == "ours" else sc.anchor_at
            result = timed(side, fn, (rate, args.latency_duration), groups, sc, log_addr)
            out[side].append(result)
            say(f"{sc.id} latency @ {rate:,.0f}/s {side:6s}: p50 {result.get('p50_ms', 0):.2f} ms, "
                f"p99 {result.get('p99_ms', 0):.2f} ms (achieved {result['rate']:,.0f}/s)")
    for side in ("ours", "anchor"):
        out[f"{side}_summary"] = {key: median([r.get(key) for r in out[side]])
                                  for key in ("p50_ms", "p90_ms", "p99_ms", "rate")}
    return out


def pg_statements(url: str, limit: int = 8) -> list[dict]:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT calls, total_exec_time, mean_exec_time, rows, query FROM pg_stat_statements "
                    "WHERE query NOT ILIKE '%%pg_stat_statements%%' ORDER BY total_exec_time DESC LIMIT %s", (limit,))
        return [{"calls": c, "total_ms": round(t, 1), "mean_ms": round(m, 4), "rows": r, "query": q[:300]}
                for c, t, m, r, q in cur.fetchall()]


def pg_reset(url: str) -> None:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_stat_statements_reset()")
        conn.commit()


def profile(sc, stack: Stack, targets: list[tuple[str, bool]], out: pathlib.Path, duration: float) -> list[dict]:
    """Runs the scenario's own side once more with py-spy attached to each target process."""
    recorders, found = [], []
    for name, subprocesses in targets:
        proc = stack.procs[name]
        svg = out / f"flame-{sc.id}-{name}.svg"
        raw = stack.work / f"flame-{sc.id}-{name}.txt"
        recorders += measure.py_spy(proc.pid, duration, svg, raw, subprocesses=subprocesses)
        found.append((name, svg, raw))
    time.sleep(0.5)  # py-spy attaches
    sc.ours(duration)
    for recorder in recorders:
        try:
            recorder.wait(timeout=30)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait()
    profiles = []
    for name, svg, raw in found:
        profiles.append({"scenario": sc.id, "process": name, "svg": svg.name if svg.exists() else None,
                         **measure.top_frames(raw)})
        say(f"profile {sc.id} {name}: {svg.name if svg.exists() else 'no SVG'}")
    return profiles


def main(argv=None) -> int:
    args = parse_args(argv)
    only = {s.strip().upper() for s in args.only.split(",") if s.strip()}
    args.out.mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="merch-bench-"))
    stack = Stack(work, pg_fsync=args.pg_fsync == "on", say=say)
    started = time.monotonic()
    results: dict = {
        "meta": {
            "mode": "quick" if args.quick else "full",
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "reps": args.reps, "latency_reps": args.latency_reps, "duration_s": args.duration, "concurrency": args.concurrency,
            "latency_duration_s": args.latency_duration, "p4_records": args.p4_records,
            "p4_record_size": args.record_size, "pg_fsync": args.pg_fsync, "pinned": not args.no_pin,
            "db_workers": args.db_workers, "db_processes": args.db_processes or os.cpu_count(),
            "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                        "kernel": platform.release()},
            "git": _git_describe(),
        },
        "scenarios": {}, "latency": {}, "memory": {}, "profiles": [], "pg_stat_statements": [],
    }
    try:
        stack.start_postgres()
        stack.start_kafka()
        stack.start_logging_service(cpu=None if args.no_pin else 0)
        db_env = {"MERCH_GRPC_WORKERS": str(args.db_workers)} if args.db_workers else {}
        processes = args.db_processes or os.cpu_count() or 1
        db_env["MERCH_DB_PROCESSES"] = str(processes)
        stack.start_db_service(cpu=None if args.no_pin or processes > 1 else 1, **db_env)
        gw_on = stack.start_gateway("gw_on")
        gw_off = stack.start_gateway("gw_off", MERCH_LOG_SHIPPING="off")
        nginx = stack.start_nginx(gw_on.removeprefix("http://"))
        say("services up; creating the benchmark's product and users")
        product_id, user_min, user_max, tokens = create_fixture_data(stack.db_addr, gw_on, users=32)
        fixture = scenarios.Fixture(
            db_addr=stack.db_addr, log_addr=stack.log_addr, database_url=stack.database_url,
            pgbench=stack.pg_bin("pgbench"), kafka_script=stack.kafka_script,
            gw_on=gw_on, gw_off=gw_off, nginx=nginx, product_id=product_id, user_min=user_min, user_max=user_max,
            tokens=tokens, concurrency=args.concurrency, p4_records=args.p4_records,
            p4_record_size=args.record_size, grpc_connections=1 if processes == 1 else args.concurrency,
        )
        for base in (gw_on, gw_off, nginx):
            check_rest(base, fixture)
        time.sleep(1.0)  # let start-up work settle before reading idle memory
        results["memory"]["idle"] = memory(stack)
        groups = process_groups(stack)
        chosen = [sc for sc in scenarios.build(fixture) if not only or sc.id in only]

        say("warming up every side")
        for sc in chosen:
            if sc.id == "P4":
                if not args.quick:  # the broker's JIT and the service's producer; each run starts its own JVM
                    log_ingest.measure(stack.log_addr, 20_000, args.record_size)
                    tools.producer_perf(stack.kafka_script, records=20_000, record_size=args.record_size)
                continue
            sc.ours(args.warmup)
            sc.anchor(args.warmup)

        if args.profile and stack.database_url:
            pg_reset(stack.database_url)
        for sc in chosen:
            results["scenarios"][sc.id] = run_scenario(sc, args, groups, stack.log_addr)
            if sc.id == "P1" and args.profile:
                results["pg_stat_statements"] = pg_statements(stack.database_url)
        for sc in chosen:
            if sc.ours_at is None:
                continue
            rate = 0.5 * results["scenarios"][sc.id]["ours_rate"]
            results["latency"][sc.id] = run_latency(sc, rate, args, groups, stack.log_addr)

        if args.profile:
            targets = {"P1": [("db_service", True)], "P2": [("gw_on", True), ("db_service", True)],
                       "P3": [("gw_on", True)], "P4": [("logging_service", False)]}
            for sc in chosen:
                if sc.id in targets:
                    results["profiles"] += profile(sc, stack, targets[sc.id], args.out, args.duration)

        results["memory"]["after"] = memory(stack)
    finally:
        say("stopping everything this run started")
        stack.close()
        if args.keep_work:
            say(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["meta"]["elapsed_s"] = round(time.monotonic() - started, 1)
    report.write(results, args.out)
    print(report.table(results))
    say(f"results in {args.out} ({results['meta']['elapsed_s']} s)")
    return 0


def _git_describe() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "py_server", "api_rest"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
