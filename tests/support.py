"""Starting and stopping the real components that tests run against."""
from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket  # noqa: F401 - tests use support.socket
import tempfile
import time
import uuid

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

import harness
from merch.logging.v1 import logging_pb2, logging_pb2_grpc

# The harness's paths, wait and process handling (one copy for tests, benchmark and make run / make stack).
REPO, PYTHON, START_TIMEOUT = harness.REPO, harness.PYTHON, harness.START_TIMEOUT
free_port, wait_for = harness.free_port, harness.wait_for
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


class ServiceProcess(harness.Proc):
    """A service run as its own process (`python -m module`) in its own process group, stopped by its pid."""

    def __init__(self, module: str, args: list[str], env: dict[str, str], log_dir: pathlib.Path):
        name = f"{module.rsplit('.', 1)[-1]}-{uuid.uuid4().hex[:6]}"
        super().__init__(name, harness.python_module(module, *args), env=env, log_path=log_dir / f"{name}.log")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        return super().stop(sig, timeout)


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
            proc.wait_serving(address, module)  # this process listens there, and answers SERVING
        except (harness.Died, harness.NotReady) as error:
            raise RuntimeError(f"{error}; its log:\n{proc.tail()}") from None
        yield address, proc
    finally:
        proc.stop()


def db_service(state_dir: pathlib.Path, database_url: str | None = None, **env_overrides):
    """Runs a DB service on a free port; yields (address, process)."""
    if database_url:
        env_overrides["MERCH_DATABASE_URL"] = database_url
    return grpc_service("py_server.db_service", state_dir, **env_overrides)


class Postgres(harness.Postgres):
    """A throwaway PostgreSQL (its own folder and port, fsync off); one fresh database per `new_database()`."""

    def __init__(self):
        folder = pathlib.Path(tempfile.mkdtemp(prefix="merch-pg-"))
        folder.chmod(0o755)  # the postgres user, when we are root, must reach its data folder
        super().__init__(folder / "data", free_port(), fsync=False)
        self.start()


def logging_service(state_dir: pathlib.Path, *extra_args: str, **env_overrides):
    """Runs a logging service on a free port; yields (address, process)."""
    return grpc_service("py_server.logging_service", state_dir, extra_args, **env_overrides)


class Kafka(harness.Kafka):
    """The real Kafka 4.x KRaft broker (scripts/kafka.sh run) on free loopback ports, its own state folder."""

    def __init__(self, topic: str = "log-channel"):
        super().__init__(pathlib.Path(tempfile.mkdtemp(prefix="merch-kafka-")), free_port(), free_port(), topic=topic)
        self.start()

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


def tail_records(log_address: str, request_id: str, wanted=None, timeout: float = 15.0) -> list:
    """The logging service's records of `request_id`: its backlog, then what arrives until `wanted(records)`
    holds (or `timeout` passes; with no `wanted`, everything until then)."""
    records = []
    with channel(log_address) as open_channel:
        call = logging_pb2_grpc.LoggingServiceStub(open_channel).TailLogs(
            logging_pb2.TailLogsRequest(request_id=request_id, last_n=100), timeout=timeout)
        try:
            for reply in call:
                records.append(reply.record)
                if wanted is not None and wanted(records):
                    call.cancel()
        except grpc.RpcError as error:
            if error.code() not in (grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise
    return records
