"""`make stack`: the whole store scaled out on loopback, in the foreground.

PostgreSQL, Kafka (KRaft), 2 DB services, 1 logging service, 3 REST gateways, nginx, and Prometheus
scraping the services' and gateways' metrics. Waits for each part by its health, prints where everything
is, and on Ctrl-C (exit 130) or SIGTERM (143) stops every process it started, by pid, last first. Data
(PostgreSQL, Kafka) stays in $MERCH_STATE_DIR between runs; logs and pids are in $MERCH_STATE_DIR/stack,
and $MERCH_STATE_DIR/stack/ready appears once everything is up. A crashed part is reported and the
rest runs on.

Ports: STACK_PG_PORT [54329], KAFKA_PORT [9092], KAFKA_CONTROLLER_PORT [9093], STACK_LOG_PORT [50052],
STACK_DB_PORTS ["50051 50061"], STACK_REST_PORTS ["5001 5002 5003"], STACK_NGINX_PORT [8080], and the
metrics ports STACK_LOG_METRICS_PORT [9452], STACK_DB_METRICS_PORTS ["9451 9461"], STACK_PROMETHEUS_PORT [9090].
PostgreSQL takes PG_MAX_CONNECTIONS [200] and PG_FSYNC [on]; Prometheus PROMETHEUS_SCRAPE_INTERVAL [5s].
"""
from __future__ import annotations

import os
import time

from harness import signals
from harness.kafka import Kafka
from harness.postgres import Postgres
from harness.procs import Died, NotReady
from harness.run import out
from harness.services import Group, nginx_argv, prometheus_argv, python_module
from py_server import config, devrun


def ports(env: dict[str, str], name: str, default: str) -> list[int]:
    return [int(p) for p in (env.get(name) or default).split()]


def main() -> int:
    try:
        settings = config.load_settings()
    except config.ConfigError as error:
        out(str(error), err=True)
        return 1
    env = {**os.environ, **devrun.shell_settings(settings, dict(os.environ))}
    timeout = float(env["MERCH_START_TIMEOUT"])
    state = settings.state_dir
    run_dir = state / "stack"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "ready").unlink(missing_ok=True)

    log_port = ports(env, "STACK_LOG_PORT", "50052")[0]
    db_ports = ports(env, "STACK_DB_PORTS", "50051 50061")
    rest_ports = ports(env, "STACK_REST_PORTS", "5001 5002 5003")
    nginx_port = ports(env, "STACK_NGINX_PORT", "8080")[0]
    log_metrics = ports(env, "STACK_LOG_METRICS_PORT", "9452")[0]
    db_metrics = ports(env, "STACK_DB_METRICS_PORTS", "9451 9461")
    db_metrics += [9451 + 10 * i for i in range(len(db_metrics), len(db_ports))]
    prometheus_port = ports(env, "STACK_PROMETHEUS_PORT", "9090")[0]
    # The ports of the processes started here (PostgreSQL and Kafka check their own).
    wanted = [("STACK_LOG_PORT", log_port), *(("STACK_DB_PORTS", p) for p in db_ports),
              *(("STACK_REST_PORTS", p) for p in rest_ports), ("STACK_NGINX_PORT", nginx_port),
              ("STACK_LOG_METRICS_PORT", log_metrics), *(("STACK_DB_METRICS_PORTS", p) for p in db_metrics),
              ("STACK_PROMETHEUS_PORT", prometheus_port)]
    if devrun.main(["free", *(f"{name}=127.0.0.1:{port}" for name, port in wanted)]) != 0:
        return 1

    group = Group(run_dir)
    with signals.stop_on_signals() as stopping:
        try:
            return serve(group, env, state, run_dir, timeout, log_port, db_ports, rest_ports, nginx_port,
                         log_metrics, db_metrics, prometheus_port)
        except (Died, NotReady, RuntimeError) as error:
            out(f"{error}", err=True)
            return 1
        except signals.Stopped as stop:
            return stop.code
        finally:
            stopping.set()
            out("stopping the stack", err=True)
            group.close()
            out("stack stopped", err=True)


def serve(group: Group, env, state, run_dir, timeout, log_port, db_ports, rest_ports, nginx_port, log_metrics,
          db_metrics, prometheus_port) -> int:
    def launch(name, argv, extra=None):
        proc = group.launch(name, argv, {**env, **(extra or {})})
        (run_dir / f"{name}.pid").write_text(f"{proc.pid}\n")
        group.callback((run_dir / f"{name}.pid").unlink, True)  # missing_ok
        return proc

    postgres = Postgres(state / "postgres", ports(env, "STACK_PG_PORT", "54329")[0],
                        fsync=env.get("PG_FSYNC", "on") != "off", max_connections=int(env.get("PG_MAX_CONNECTIONS", "200")))
    group.callback(postgres.stop)
    env["MERCH_DATABASE_URL"] = postgres.start()
    out(f"PostgreSQL      {env['MERCH_DATABASE_URL']}")

    kafka = Kafka(state, int(env.get("KAFKA_PORT", "9092")), int(env.get("KAFKA_CONTROLLER_PORT", "9093")),
                  topic=env["MERCH_KAFKA_TOPIC"], env=env)
    group.callback(kafka.stop)
    env["MERCH_KAFKA_BOOTSTRAP"] = kafka.start(timeout)
    out(f"Kafka           {env['MERCH_KAFKA_BOOTSTRAP']} (topic {env['MERCH_KAFKA_TOPIC']})")

    env["MERCH_LOG_ADDR"] = f"127.0.0.1:{log_port}"
    launch("logging", python_module("py_server.logging_service", "--bind", env["MERCH_LOG_ADDR"]),
           {"MERCH_LOG_METRICS_BIND": f"127.0.0.1:{log_metrics}"})
    group.ready("logging", env["MERCH_LOG_ADDR"], timeout=timeout)
    out(f"logging service {env['MERCH_LOG_ADDR']}")

    db_addrs = [f"127.0.0.1:{port}" for port in db_ports]
    for i, address in enumerate(db_addrs):
        launch(f"db{i + 1}", python_module("py_server.db_service", "--bind", address),
               {"MERCH_DB_METRICS_BIND": f"127.0.0.1:{db_metrics[i]}"})
    for i, address in enumerate(db_addrs):
        group.ready(f"db{i + 1}", address, timeout=timeout)
    env["MERCH_DB_ADDR"] = ",".join(db_addrs)
    out(f"DB services     {env['MERCH_DB_ADDR']} (round-robin from every client)")

    rest_addrs = [f"127.0.0.1:{port}" for port in rest_ports]
    for i, address in enumerate(rest_addrs):
        launch(f"gateway{i + 1}", python_module("api_rest"), {"MERCH_REST_BIND": address})
    for i, address in enumerate(rest_addrs):
        group.ready(f"gateway{i + 1}", f"http://{address}/", timeout=timeout)
    out(f"gateways        {' '.join(rest_addrs)}")

    launch("nginx", nginx_argv(f"127.0.0.1:{nginx_port}", rest_addrs))
    group.ready("nginx", f"http://127.0.0.1:{nginx_port}/", timeout=timeout)
    out(f"nginx           http://127.0.0.1:{nginx_port}  (Swagger UI: /docs; X-Upstream names the replica)")
    metrics = [f"127.0.0.1:{port}" for port in db_metrics[:len(db_ports)]]
    launch("prometheus", prometheus_argv(f"127.0.0.1:{prometheus_port}", {
        "api_rest": rest_addrs, "db_service": metrics, "logging_service": [f"127.0.0.1:{log_metrics}"]}))
    group.ready("prometheus", f"http://127.0.0.1:{prometheus_port}/-/ready", timeout=timeout)
    out(f"Prometheus      http://127.0.0.1:{prometheus_port}  (targets: /targets; metrics: each gateway's /metrics,")
    out(f"                DB services {' '.join(metrics)}, logging service 127.0.0.1:{log_metrics})")
    out(f"logs and pids   {run_dir}")
    out("The stack is up. Ctrl-C stops it.")
    (run_dir / "ready").touch()  # tests wait for this file

    reported: set[str] = set()
    while True:  # until a signal; a crashed part is reported, the rest runs on
        for name, proc in group.procs.items():
            if name not in reported and not proc.alive():
                reported.add(name)
                out(f"{name} (pid {proc.pid}) exited; see {proc.log_path}", err=True)
                (run_dir / f"{name}.pid").unlink(missing_ok=True)
        time.sleep(1)
