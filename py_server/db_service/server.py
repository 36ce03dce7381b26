"""Builds the DB service's gRPC server from its parts."""
from __future__ import annotations

import logging
import threading

import grpc
import peewee
from playhouse.pool import MaxConnectionsExceeded

from merch.store.v1 import greeting_service_pb2_grpc, order_pb2_grpc, product_pb2_grpc, user_pb2_grpc
from py_server import interceptors, validating
from py_server.db_service import servicers
from py_server.grpc_server import BoundServer, build_server
from py_server.store import database as store_database
from py_server.store.users import PasswordHasher

_log = logging.getLogger(__name__)

SERVICE_NAMES = {
    "greeting": "merch.store.v1.GreetingService",
    "products": "merch.store.v1.ProductService",
    "users": "merch.store.v1.UserService",
    "orders": "merch.store.v1.OrderService",
}


class _ConnectionPerThread(grpc.ServerInterceptor):
    """Lets each server thread keep its database connection from call to call.

    peewee's connections are per thread; a pooled one checked out and back in for every call
    costs a `SELECT 1` round trip at each check-out (peewee's pool probes PostgreSQL connections
    so), under the pool's lock. Kept, it costs nothing. A call that fails on the connection
    itself (the database restarted, the network broke) hands it back: the pool discards a broken
    one, and the thread's next call opens or probes another. So the pool needs a connection for
    every worker thread and one for the health monitor (config.Settings.require_pool_for_workers).
    """

    def __init__(self, database: peewee.Database):
        self._database = database
        # Wrapped handlers by method: this is the innermost interceptor, so the handler
        # `continuation` returns for a method is the registered one, the same on every call.
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is not None:
            return wrapped
        handler = continuation(handler_call_details)
        if handler is None or not method.startswith("/merch."):
            return handler
        database = self._database

        def wrap(behavior, streaming):
            def run(request, context):
                try:
                    return behavior(request, context)
                except (peewee.OperationalError, peewee.InterfaceError):
                    if not database.in_transaction():
                        database.close()
                    raise

            return run

        wrapped = self._wrapped[method] = interceptors._wrap_handler(handler, wrap)
        return wrapped


class DatabaseHealthMonitor:
    """Polls the database and keeps the health service's status in step:
    NOT_SERVING while the database cannot answer."""

    def __init__(self, database: peewee.Database, bound: BoundServer, interval: float = 2.0):
        self._database, self._bound, self._interval = database, bound, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="db-health", daemon=True)
        self.healthy: bool | None = None

    def start(self) -> None:
        self.check()
        self._thread.start()

    def check(self) -> bool:
        try:
            store_database.ping(self._database)
            healthy = True
        except (peewee.OperationalError, peewee.InterfaceError) as error:
            healthy = False
            if self.healthy is not False:
                _log.warning("database unreachable: %s", error)
        if healthy != self.healthy:
            self._bound.set_serving(healthy)
            self.healthy = healthy
        return healthy

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.check()

    def stop(self) -> None:
        self._stop.set()


def access_logger(shipper):
    """The DB service's access log, in the seed's words, shipped without blocking the call."""

    def log_access(method: str, code: grpc.StatusCode, latency_ms: float) -> None:
        if not method.startswith("/merch."):
            return  # health probes and reflection would drown the store's own accesses
        shipper.log(
            "info" if code in _CLIENT_CODES else "error",
            f"Accessing DB service: {method.rsplit('/', 1)[-1]}",
            method=method, status=code.name, latency_ms=f"{latency_ms:.2f}",
        )

    return log_access


# Outcomes that are the caller's business, not a fault of the service.
_CLIENT_CODES = {
    grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.CANCELLED, grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def create_server(address: str, database: peewee.Database, *, hasher: PasswordHasher,
                  service_token: str, access_log=None, workers: int = 16,
                  reuse_port: bool = False) -> tuple[BoundServer, DatabaseHealthMonitor]:
    """Returns the (unstarted) server bound to `address`, and its database health monitor."""
    # The database cannot answer: UNAVAILABLE (retry shortly), not INTERNAL.
    unavailable = (peewee.OperationalError, peewee.InterfaceError, MaxConnectionsExceeded)
    chain = [interceptors.ServiceTokenInterceptor(service_token),
             interceptors.ServiceInterceptor(access_log, unavailable=unavailable)]
    # The protos' field rules, before a database connection is taken.
    chain.append(validating.ValidationInterceptor())
    chain.append(_ConnectionPerThread(database))
    bound = build_server(
        address,
        [
            (greeting_service_pb2_grpc.add_GreetingServiceServicer_to_server, servicers.GreetingServicer(), SERVICE_NAMES["greeting"]),
            (product_pb2_grpc.add_ProductServiceServicer_to_server, servicers.ProductServicer(), SERVICE_NAMES["products"]),
            (user_pb2_grpc.add_UserServiceServicer_to_server, servicers.UserServicer(hasher), SERVICE_NAMES["users"]),
            (order_pb2_grpc.add_OrderServiceServicer_to_server, servicers.OrderServicer(), SERVICE_NAMES["orders"]),
        ],
        interceptors=chain,
        workers=workers,
        reuse_port=reuse_port,
    )
    return bound, DatabaseHealthMonitor(database, bound)
