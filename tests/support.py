"""Starting and stopping the real components that tests run against."""
from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO = pathlib.Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# How long a component may take to start. Waits poll and end as soon as it is up (or has exited),
# so a generous bound costs nothing on an idle machine and keeps a busy one (other work on both
# cores) from failing a test on start-up time alone.
START_TIMEOUT = 120.0
# Every service a test starts demands this token (service auth is on by default); test clients send it.
SERVICE_TOKEN = "test-service-token-" + uuid.uuid4().hex
AUTH_METADATA = (("authorization", f"Bearer {SERVICE_TOKEN}"),)


class _WithToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                 grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the service token to every call, as the gateway and merchctl do."""

    def __init__(self, token: str):
        self._auth = (("authorization", f"Bearer {token}"),)

    def _details(self, details):
        metadata = tuple(details.metadata or ())
        if not any(name == "authorization" for name, _ in metadata):
            metadata += self._auth
        return details._replace(metadata=metadata) if hasattr(details, "_replace") else _Details(details, metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    intercept_unary_stream = intercept_unary_unary

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)

    intercept_stream_stream = intercept_stream_unary


class _Details(grpc.ClientCallDetails):
    def __init__(self, details, metadata):
        self.method, self.timeout, self.metadata = details.method, details.timeout, metadata
        self.credentials = details.credentials
        self.wait_for_ready = getattr(details, "wait_for_ready", None)
        self.compression = getattr(details, "compression", None)


def channel(address: str, options=None, token: str = SERVICE_TOKEN) -> grpc.Channel:
    """An insecure channel to a test's service that sends the service token with every call."""
    return grpc.intercept_channel(grpc.insecure_channel(address, options=options), _WithToken(token))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float = 30.0, interval: float = 0.1) -> None:
    """Polls `condition()` until it is true; errors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # noqa: BLE001 - a condition that cannot be checked yet is simply not met
            pass
        time.sleep(interval)
    raise TimeoutError(f"condition not met after {timeout}s")


def wait_serving(address: str, timeout: float = START_TIMEOUT, service: str = "", process=None) -> None:
    """Polls grpc.health.v1 until `address` reports SERVING."""
    deadline = time.monotonic() + timeout
    last = None
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"process for {address} exited with {process.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = reply.status
            except grpc.RpcError as error:
                last = error.code()
            time.sleep(0.1)
    raise TimeoutError(f"{address} not SERVING after {timeout}s (last: {last})")


class ServiceProcess:
    """A service run as its own process (`python -m module`), stopped by its pid."""

    def __init__(self, module: str, args: list[str], env: dict[str, str], log_dir: pathlib.Path):
        self.log_path = log_dir / f"{module.rsplit('.', 1)[-1]}-{uuid.uuid4().hex[:6]}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [PYTHON, "-m", module, *args], cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")


def service_env(state_dir: pathlib.Path, **overrides: str) -> dict[str, str]:
    """A clean environment for a service: no MERCH_* from the developer's shell or .env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERCH_")}
    # Logs go nowhere unless a test asks for a logging service: never to a developer's
    # `make run` on the default port.
    env.update(MERCH_STATE_DIR=str(state_dir), MERCH_BCRYPT_ROUNDS="4", PYTHONUNBUFFERED="1",
               MERCH_LOG_ADDR=f"127.0.0.1:{free_port()}", MERCH_SERVICE_TOKEN=SERVICE_TOKEN)
    # Metrics endpoints off unless a test asks (their default ports are a developer's `make run`'s).
    env.update(MERCH_DB_METRICS_BIND="off", MERCH_LOG_METRICS_BIND="off")
    env.update(overrides)
    return env


@contextlib.contextmanager
def grpc_service(module: str, state_dir: pathlib.Path, extra_args: tuple[str, ...] = (), **env_overrides):
    """Runs `python -m module --bind 127.0.0.1:<free port>` until SERVING; yields (address, process)."""
    address = f"127.0.0.1:{free_port()}"
    proc = ServiceProcess(module, ["--bind", address, *extra_args], service_env(state_dir, **env_overrides), state_dir)
    try:
        try:
            wait_serving(address, process=proc.process)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}; its log:\n{proc.log_text()[-3000:]}") from None
        yield address, proc
    finally:
        proc.stop()


def db_service(state_dir: pathlib.Path, database_url: str | None = None, **env_overrides):
    """Runs a DB service on a free port; yields (address, process)."""
    if database_url:
        env_overrides["MERCH_DATABASE_URL"] = database_url
    return grpc_service("py_server.db_service", state_dir, **env_overrides)


class Postgres:
    """A throwaway PostgreSQL from scripts/postgres.sh; one fresh database per `new_database()`."""

    def __init__(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="merch-pg-"))
        self.dir.chmod(0o755)  # the postgres user, when we are root, must reach PGDATA
        self.env = {**os.environ, "PGDATA": str(self.dir / "data"), "PGPORT": str(free_port()),
                    "PG_FSYNC": "off"}
        self.url = self.start()

    def start(self) -> str:
        return subprocess.run(
            [str(REPO / "scripts/postgres.sh"), "start"], env=self.env, check=True, capture_output=True, text=True
        ).stdout.strip()

    def new_database(self) -> str:
        import psycopg2

        name = f"t_{uuid.uuid4().hex[:12]}"
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
        conn.close()
        return self.url.rsplit("/", 1)[0] + "/" + name

    def stop(self) -> None:
        subprocess.run([str(REPO / "scripts/postgres.sh"), "stop"], env=self.env, check=False)


def logging_service(state_dir: pathlib.Path, *extra_args: str, **env_overrides):
    """Runs a logging service on a free port; yields (address, process)."""
    return grpc_service("py_server.logging_service", state_dir, extra_args, **env_overrides)


class Kafka:
    """The real Kafka 4.x KRaft broker from scripts/kafka.sh, on free loopback ports."""

    def __init__(self, topic: str = "log-channel", partitions: int = 3):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="merch-kafka-"))
        self.topic = topic
        self.env = {**os.environ, "MERCH_STATE_DIR": str(self.dir), "KAFKA_PORT": str(free_port()),
                    "KAFKA_CONTROLLER_PORT": str(free_port()), "MERCH_KAFKA_TOPIC": topic,
                    "KAFKA_PARTITIONS": str(partitions)}
        self.env.pop("MERCH_KAFKA_BOOTSTRAP", None)
        self.bootstrap = self.start()

    def script(self, *args: str, timeout: float = 180, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([str(REPO / "scripts/kafka.sh"), *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout, **kwargs)

    def start(self) -> str:
        result = self.script("start")
        if result.returncode != 0:
            raise RuntimeError(f"kafka.sh start failed:\n{result.stderr[-3000:]}")
        return result.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        self.script("stop")

    def read_all(self, expected: int, timeout: float = 30.0) -> list:
        """Every message of the topic from the beginning (until `expected` arrived or time is up)."""
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(self.topic, bootstrap_servers=self.bootstrap, auto_offset_reset="earliest",
                                 group_id=None, enable_auto_commit=False, consumer_timeout_ms=2000)
        messages, deadline = [], time.monotonic() + timeout
        try:
            while len(messages) < expected and time.monotonic() < deadline:
                for partition_messages in consumer.poll(timeout_ms=500).values():
                    messages.extend(partition_messages)
        finally:
            consumer.close()
        return messages
