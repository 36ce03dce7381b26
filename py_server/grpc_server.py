"""What both gRPC services share: building a server with health and
reflection, and running it until SIGTERM/SIGINT with a graceful shutdown."""
from __future__ import annotations

import concurrent.futures
import logging
import signal
import threading
from typing import Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from py_server import metrics, telemetry

_log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 1024 * 1024  # far above any valid request; a 10 MB one is refused up front


class BoundServer:
    """A started-or-startable gRPC server, its bound port and its health servicer."""

    def __init__(self, server: grpc.Server, port: int, health_servicer: health.HealthServicer,
                 service_names: tuple[str, ...]):
        self.server = server
        self.port = port
        self.health = health_servicer
        self.service_names = service_names

    def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", *self.service_names):
            self.health.set(name, status)


def build_server(
    address: str,
    registrations: Iterable[tuple[Callable, object, str]],
    *,
    interceptors: Iterable[grpc.ServerInterceptor] = (),
    workers: int = 16,
    reuse_port: bool = False,
) -> BoundServer:
    """Creates a server on `address` ("host:port"; port 0 picks a free one).

    `registrations` are (add_XServicer_to_server, servicer, full service name).
    SO_REUSEPORT is off unless asked for, so a second copy on a taken port
    fails loudly instead of silently sharing it.
    """
    server = grpc.server(
        concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grpc"),
        # Outermost: metrics (every call counted, refusals too), then the trace span.
        interceptors=[metrics.GrpcMetricsInterceptor(), telemetry.server_interceptor(), *interceptors],
        options=[
            ("grpc.so_reuseport", 1 if reuse_port else 0),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", 16 * MAX_MESSAGE_BYTES),
        ],
        maximum_concurrent_rpcs=None,
    )
    names = []
    for add_to_server, servicer, name in registrations:
        add_to_server(servicer, server)
        names.append(name)
    health_servicer = health.HealthServicer(
        experimental_non_blocking=True,
        experimental_thread_pool=concurrent.futures.ThreadPoolExecutor(max_workers=2),
    )
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind {address}: is another process using it?")
    bound = BoundServer(server, port, health_servicer, tuple(names))
    bound.set_serving(False)
    return bound


def run_until_signal(bound: BoundServer, *, grace_seconds: float = 5.0,
                     before_stop: Callable[[], None] | None = None,
                     on_stop: Callable[[], None] | None = None) -> None:
    """Waits for SIGTERM/SIGINT, then stops taking calls, lets running ones finish, and returns.

    `before_stop` runs after the signal while the server still serves (the
    logging service uses it to take its clients' last records); `on_stop` runs
    once the server has stopped. A second signal changes nothing: the stop
    already under way finishes, so nothing is cut short.
    """
    stop = threading.Event()

    def request_stop(signum, _frame):
        _log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    # Wait in short slices: a process signal may be delivered to any thread (gRPC's, the log
    # shipper's), and CPython runs the Python handler only when the main thread next executes
    # bytecode; a wait with no timeout could then sleep through SIGTERM for good.
    while not stop.wait(0.2):
        pass
    bound.health.enter_graceful_shutdown()  # every service NOT_SERVING from now on
    if before_stop is not None:
        before_stop()
    bound.server.stop(grace_seconds).wait()
    if on_stop is not None:
        on_stop()
