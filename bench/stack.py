"""The system under test, on loopback: PostgreSQL, Kafka, the two Python services, REST gateways, nginx.

Every component gets its own state folder under one work folder and free ports, so a
benchmark never touches a developer's `.merch/` or a running store. Everything started
here is stopped by `Stack.close()`, by the process id this module started (PostgreSQL and
Kafka through their scripts, which stop the pid they recorded themselves).
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO = pathlib.Path(__file__).resolve().parent.parent
PYTHON = sys.executable


# The service token of the services this run starts (service auth is on by default): the one in the
# environment, else a fresh one. Every gRPC call of the benchmark sends it.
SERVICE_TOKEN = os.environ.get("MERCH_SERVICE_TOKEN") or secrets.token_urlsafe(32)
AUTH = (("authorization", f"Bearer {SERVICE_TOKEN}"),)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


class Proc:
    """A process this harness started, with its output in a log file; stopped by its own pid."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: pathlib.Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def tail(self, chars: int = 3000) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]


def wait_until(what: str, condition, timeout: float = 60.0, proc: Proc | None = None) -> None:
    """Polls `condition()` (errors count as not yet) until true; fails early if `proc` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{what}: process exited with {proc.process.returncode}; its log:\n{proc.tail()}")
        try:
            if condition():
                return
        except Exception:  # noqa: BLE001 - a condition that cannot be checked yet is simply not met
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s" + (f"; its log:\n{proc.tail()}" if proc else ""))


def grpc_serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
    return reply.status == health_pb2.HealthCheckResponse.SERVING


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
        self.work.chmod(0o755)  # PostgreSQL runs as `postgres` when we are root: it must reach PGDATA
        self.logs = work / "logs"
        self.logs.mkdir(exist_ok=True)
        self.state = work / "state"  # MERCH_STATE_DIR of the services (dev JWT secret, etc.)
        self.state.mkdir(exist_ok=True)
        self.pg_fsync = pg_fsync
        self.say = say
        self._stops = contextlib.ExitStack()
        self.procs: dict[str, Proc] = {}
        self.database_url: str | None = None
        self.kafka_bootstrap: str | None = None
        self.pg_env: dict[str, str] = {}
        self.kafka_env: dict[str, str] = {}

    # --- PostgreSQL -----------------------------------------------------------------------------

    def pg_bin(self, tool: str) -> str:
        dirs = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not dirs:
            raise RuntimeError("PostgreSQL is not installed (scripts/postgres.sh start installs it)")
        return str(dirs[-1] / tool)

    def _postgres(self, command: str) -> str:
        result = subprocess.run([str(REPO / "scripts/postgres.sh"), command], env=self.pg_env, cwd=REPO,
                                capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"scripts/postgres.sh {command} failed:\n{result.stderr[-3000:]}")
        return result.stdout.strip()

    def start_postgres(self) -> str:
        """A throwaway PostgreSQL (own PGDATA and port) with pg_stat_statements loaded."""
        import psycopg2

        self.pg_env = {**os.environ, "PGDATA": str(self.work / "pgdata"), "PGPORT": str(free_port()),
                       "PG_FSYNC": "on" if self.pg_fsync else "off"}
        self.say(f"starting PostgreSQL on port {self.pg_env['PGPORT']} (fsync={self.pg_env['PG_FSYNC']})")
        url = self._postgres("start")
        self._stops.callback(self._postgres, "stop")
        # pg_stat_statements must be preloaded: set it, then restart once.
        with contextlib.closing(psycopg2.connect(url)) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        self._postgres("stop")
        url = self._postgres("start")
        with contextlib.closing(psycopg2.connect(url)) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        self.database_url = url
        return url

    # --- Kafka ----------------------------------------------------------------------------------

    def kafka_script(self, *args: str, timeout: float = 240, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([str(REPO / "scripts/kafka.sh"), *args], env=self.kafka_env, cwd=REPO,
                              capture_output=True, text=True, timeout=timeout, **kwargs)

    def start_kafka(self) -> str:
        self.kafka_env = {k: v for k, v in os.environ.items() if k != "MERCH_KAFKA_BOOTSTRAP"}
        self.kafka_env.update(MERCH_STATE_DIR=str(self.work / "kafka-state"), KAFKA_PORT=str(free_port()),
                              KAFKA_CONTROLLER_PORT=str(free_port()), MERCH_KAFKA_TOPIC="log-channel",
                              KAFKA_PARTITIONS="3")
        self.say(f"starting Kafka on port {self.kafka_env['KAFKA_PORT']}")
        result = self.kafka_script("start")
        if result.returncode != 0:
            raise RuntimeError(f"scripts/kafka.sh start failed:\n{result.stderr[-3000:]}")
        self._stops.callback(self.kafka_script, "stop")
        self.kafka_bootstrap = result.stdout.strip().splitlines()[-1]
        return self.kafka_bootstrap

    # --- Python services ------------------------------------------------------------------------

    def service_env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MERCH_")}
        env.update(MERCH_STATE_DIR=str(self.state), MERCH_BCRYPT_ROUNDS="4", PYTHONUNBUFFERED="1",
                   MERCH_SERVICE_TOKEN=SERVICE_TOKEN)
        env.update(overrides)
        return env

    def launch(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(name, argv, env, self.logs)
        self.procs[name] = proc
        self._stops.callback(proc.stop)
        return proc

    @staticmethod
    def pinned(cpu: int | None, argv: list[str]) -> list[str]:
        """`argv` on one CPU (taskset execs it: same pid). All of a Python process's threads share one
        GIL; on one core, handing it over is a thread switch instead of a wake-up on the other core."""
        if cpu is None or not shutil.which("taskset") or cpu >= (os.cpu_count() or 1):
            return argv
        return ["taskset", "-c", str(cpu), *argv]

    def start_logging_service(self, cpu: int | None = None) -> str:
        address = f"127.0.0.1:{free_port()}"
        env = self.service_env(MERCH_KAFKA_BOOTSTRAP=self.kafka_bootstrap or "")
        proc = self.launch("logging_service", self.pinned(cpu, [PYTHON, "-m", "py_server.logging_service",
                                                                "--bind", address]), env)
        wait_until("logging service", lambda: grpc_serving(address), proc=proc)
        self.log_addr = address
        return address

    def start_db_service(self, cpu: int | None = None, **env_overrides: str) -> str:
        address = f"127.0.0.1:{free_port()}"
        env = self.service_env(**{"MERCH_DATABASE_URL": self.database_url or "", "MERCH_LOG_ADDR": self.log_addr,
                                  **env_overrides})
        proc = self.launch("db_service", self.pinned(cpu, [PYTHON, "-m", "py_server.db_service", "--bind", address]),
                           env)
        wait_until("DB service", lambda: grpc_serving(address), proc=proc)
        self.db_addr = address
        return address

    def start_gateway(self, name: str, **env_overrides: str) -> str:
        """One REST gateway (`python -m api_rest`); returns its base URL."""
        port = free_port()
        env = self.service_env(MERCH_DB_ADDR=self.db_addr, MERCH_LOG_ADDR=self.log_addr,
                               MERCH_REST_BIND=f"127.0.0.1:{port}", **env_overrides)
        proc = self.launch(name, [PYTHON, "-m", "api_rest", "--bind", f"127.0.0.1:{port}"], env)
        base = f"http://127.0.0.1:{port}"
        wait_until(f"gateway {name}", lambda: http_json("GET", base + "/healthz", timeout=2)[0] == 200, proc=proc)
        return base

    def start_nginx(self, upstream: str) -> str:
        """nginx (scripts/nginx.sh and the project's own template) in front of one gateway."""
        port = free_port()
        env = {**os.environ, "MERCH_STATE_DIR": str(self.work / "nginx-state")}
        proc = self.launch("nginx", [str(REPO / "scripts/nginx.sh"), f"127.0.0.1:{port}", upstream], env)
        base = f"http://127.0.0.1:{port}"
        wait_until("nginx", lambda: http_json("GET", base + "/healthz", timeout=2)[0] == 200, proc=proc)
        return base

    def close(self) -> None:
        self._stops.close()
