"""What both gRPC services share: building a server with health and
reflection, running it until SIGTERM/SIGINT with a graceful shutdown, and
running several copies of a service on one port (one process per core)."""
from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import signal
import socket
import sys
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


def reserve_port(address: str) -> tuple[str, socket.socket]:
    """Claims `address` for processes that will share it with SO_REUSEPORT; returns it with a
    concrete port, and the socket that holds it (keep it open while they run).

    First bound without SO_REUSEPORT, so a port another program (or another copy of this
    service) already listens on fails loudly here instead of being shared silently. With
    SO_REUSEADDR, as gRPC binds: connections of a previous run still in TIME_WAIT do not
    keep a restarted service off its own port.
    """
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError as error:
            raise OSError(f"could not bind {address}: is another process using it? ({error.strerror})") from None
        port = probe.getsockname()[1]
    holder = socket.socket(family, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, port))
    return f"{address.rpartition(':')[0]}:{port}", holder


def serve_in_processes(count: int, worker: Callable[[int], None], *, after_fork: Callable[[], None] | None = None) -> int:
    """Runs `worker(index)` in `count` forked processes and waits for them; returns the exit code.

    gRPC's multiprocessing pattern: the caller must not have created any gRPC object (server,
    channel) or thread before this; each worker builds its own server on the shared port
    (SO_REUSEPORT) and the kernel spreads connections across them. SIGTERM and SIGINT are passed
    on to every worker, which stops gracefully; the parent exits once all have, with 0 if every
    worker exited 0. A worker that dies on its own stops the others: the service is down, loudly,
    not silently short of a core. With as many workers as the CPUs this process may use, each is
    pinned to one. `after_fork` runs in the parent once the workers exist.
    """
    children: dict[int, int] = {}
    parent = os.getpid()
    # One process per core: each is pinned to its own. A process's threads take turns at one GIL;
    # on one core a hand-over is a thread switch, across cores a wake-up of another core (measured
    # with `make bench` P1 on 2 cores: 0.59 pinned against 0.40 unpinned, the same pairs interleaved).
    cpus = sorted(os.sched_getaffinity(0))
    pin = count == len(cpus) > 1
    for index in range(count):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _stop_with(parent)
                if pin:
                    os.sched_setaffinity(0, {cpus[index]})
                worker(index)
                code = 0
            except SystemExit as error:
                code = error.code if isinstance(error.code, int) else 1
            except BaseException:  # noqa: BLE001 - a worker's last words go to its log, then it exits non-zero
                _log.exception("DB-service worker %d failed", index)
            finally:
                logging.shutdown()
                os._exit(code)
        children[pid] = index
    stopping = threading.Event()

    def forward(signum, _frame):
        stopping.set()
        for child in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    if after_fork is not None:
        # Threads it starts (a metrics endpoint) block the two signals, so that they always reach
        # this thread, which is asleep in waitpid() and must forward them.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        try:
            after_fork()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    exit_code = 0
    while children:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        index = children.pop(pid, None)
        if index is None:
            continue
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code  # killed by a signal: the shell's convention
        if code != 0:
            exit_code = exit_code or code
            if not stopping.is_set():
                _log.error("worker %d (pid %d) exited with %d; stopping the others", index, pid, code)
                forward(signal.SIGTERM, None)
    return exit_code


def _stop_with(parent: int) -> None:
    """Has the kernel send this process SIGTERM when `parent` dies, even by SIGKILL (Linux's
    PR_SET_PDEATHSIG): a worker never outlives its parent to hold the port unseen."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
