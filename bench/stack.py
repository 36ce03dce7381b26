"""The system under test, on loopback: PostgreSQL, Kafka, the two Python services, REST gateways, nginx.

Every component gets its own state folder under one work folder and free ports, so a
benchmark never touches a developer's `.merch/` or a running store. The starting, waiting and
stopping is the harness's (harness/): everything started here is stopped by `Stack.close()`,
by the pid it started, last first.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import secrets
import urllib.error
import urllib.request

import harness
from harness.services import nginx_argv, python_module

REPO = harness.REPO
free_port = harness.free_port

# The service token of the services this run starts (service auth is on by default): the one in the
# environment, else a fresh one. Every gRPC call of the benchmark sends it.
SERVICE_TOKEN = os.environ.get("MERCH_SERVICE_TOKEN") or secrets.token_urlsafe(32)
AUTH = (("authorization", f"Bearer {SERVICE_TOKEN}"),)


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process (VmRSS from /proc), in MB (10^6 bytes); None if it is gone."""
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc/PID/task/*/children)."""
    found: list[int] = []
    try:
        tasks = list(pathlib.Path(f"/proc/{pid}/task").iterdir())
    except OSError:  # the process has just exited
        return []
    for task in tasks:
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return sorted(set(found))


def http_json(method: str, url: str, body: dict | None = None, token: str | None = None,
              timeout: float = 10.0) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


class Stack:
    """Starts components on demand; `close()` stops them all, last started first."""

    def __init__(self, work: pathlib.Path, *, pg_fsync: bool = True, say=print):
        self.work = work
        self.work.mkdir(parents=True, exist_ok=True)
        self.work.chmod(0o755)  # PostgreSQL runs as `postgres` when we are root: it must reach its folder
        self.state = work / "state"  # MERCH_STATE_DIR of the services (dev JWT secret, etc.)
        self.state.mkdir(exist_ok=True)
        self.pg_fsync = pg_fsync
        self.say = say
        self.group = harness.Group(work / "logs")
        self.procs = self.group.procs
        self.database_url: str | None = None
        self.kafka_bootstrap: str | None = None
        self.kafka: harness.Kafka | None = None

    @staticmethod
    def pg_bin(tool: str) -> str:
        return str(harness.postgres.bin_dir() / tool)

    def start_postgres(self) -> str:
        """A throwaway PostgreSQL (own folder and port) with pg_stat_statements loaded."""
        import psycopg2

        server = harness.Postgres(self.work / "pgdata", free_port(), fsync=self.pg_fsync, preload="pg_stat_statements")
        self.say(f"starting PostgreSQL on port {server.port} (fsync={'on' if self.pg_fsync else 'off'})")
        self.group.callback(server.stop)
        url = server.start()
        with contextlib.closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        self.database_url = url
        return url

    def start_kafka(self) -> str:
        self.kafka = harness.Kafka(self.work / "kafka-state", free_port(), free_port())
        self.say(f"starting Kafka on port {self.kafka.port}")
        self.group.callback(self.kafka.stop)
        self.kafka_bootstrap = self.kafka.start()
        return self.kafka_bootstrap

    def kafka_script(self, *args: str, **kwargs):
        """scripts/kafka.sh with the bench broker's environment (producer-perf)."""
        return self.kafka.script(*args, **kwargs)

    def service_env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MERCH_")}
        env.update(MERCH_STATE_DIR=str(self.state), MERCH_BCRYPT_ROUNDS="4", PYTHONUNBUFFERED="1",
                   MERCH_SERVICE_TOKEN=SERVICE_TOKEN)
        env.update(overrides)
        return env

    def start_logging_service(self, cpu: int | None = None) -> str:
        address = f"127.0.0.1:{free_port()}"
        env = self.service_env(MERCH_KAFKA_BOOTSTRAP=self.kafka_bootstrap or "")
        self.group.start("logging_service", python_module("py_server.logging_service", "--bind", address, cpu=cpu),
                         env, address, "logging service")
        self.log_addr = address
        return address

    def start_db_service(self, cpu: int | None = None, **env_overrides: str) -> str:
        address = f"127.0.0.1:{free_port()}"
        env = self.service_env(**{"MERCH_DATABASE_URL": self.database_url or "", "MERCH_LOG_ADDR": self.log_addr,
                                  **env_overrides})
        self.group.start("db_service", python_module("py_server.db_service", "--bind", address, cpu=cpu), env,
                         address, "DB service")
        self.db_addr = address
        return address

    def start_gateway(self, name: str, **env_overrides: str) -> str:
        """One REST gateway (`python -m api_rest`); returns its base URL."""
        address = f"127.0.0.1:{free_port()}"
        env = self.service_env(MERCH_DB_ADDR=self.db_addr, MERCH_LOG_ADDR=self.log_addr, MERCH_REST_BIND=address,
                               **env_overrides)
        self.group.start(name, python_module("api_rest", "--bind", address), env, f"http://{address}/healthz",
                         f"gateway {name}")
        return f"http://{address}"

    def start_nginx(self, upstream: str) -> str:
        """nginx (scripts/nginx.sh and the project's own template) in front of one gateway."""
        listen = f"127.0.0.1:{free_port()}"
        env = {**os.environ, "MERCH_STATE_DIR": str(self.work / "nginx-state")}
        self.group.start("nginx", nginx_argv(listen, [upstream]), env, f"http://{listen}/healthz", "nginx")
        return f"http://{listen}"

    def close(self) -> None:
        self.group.close()
