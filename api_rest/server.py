"""The production WSGI server: gunicorn with pre-forked `gthread` workers.

Chosen by measurement on this 2-core machine (api_rest/README.md): with the
DB service as the bottleneck gunicorn and waitress serve GET /products/1
equally fast, but on the gateway's own work gunicorn's worker processes use
every core where waitress, one process, is held to one by the GIL. Defaults:
one worker per core, 4 threads each (8 calls in flight into the DB service on
2 cores, which kept POST /orders' p99 lowest). Dependencies (the gRPC
channel, the log shipper) are built in each worker after the fork, never in
the master.
"""
from __future__ import annotations

import logging

from gunicorn.app.base import BaseApplication

from api_rest import metrics as gateway_metrics
from api_rest.app import Deps, create_wsgi
from api_rest.auth import TokenAuthority
from api_rest.clients import Backend
from api_rest.settings import GatewaySettings
from py_server import telemetry
from py_server.logship import LogShipper

_log = logging.getLogger(__name__)


def build_deps(settings: GatewaySettings) -> Deps:
    """The gateway's dependencies for this process (call it after any fork)."""
    return Deps(
        backend=Backend(settings.db_addr, timeout_seconds=settings.grpc_timeout_seconds,
                        service_token=settings.service_token),
        tokens=TokenAuthority(settings.jwt_secret, settings.jwt_ttl_seconds),
        shipper=(LogShipper(settings.log_addr, "api_rest", token=settings.service_token).start()
                 if settings.log_shipping else _NoShipping()),
    )


class _NoShipping:
    """MERCH_LOG_SHIPPING=off: request records are not shipped at all.

    Only for measuring what shipping costs (the benchmarks' P3 anchor); a real
    deployment keeps it on.
    """

    def log(self, *args, **kwargs) -> bool:
        return False

    def close(self, timeout: float = 0.0) -> None:
        pass


class GatewayServer(BaseApplication):
    def __init__(self, settings: GatewaySettings, *, bind: str, workers: int, threads: int):
        self.settings = settings
        self.options = {
            "bind": bind,
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "preload_app": False,  # load() runs in each worker, after the fork
            "proc_name": "api_rest",
            "accesslog": None,  # the request log goes to the logging service instead
            "errorlog": "-",
            "loglevel": "info",
            "timeout": 30,
            "graceful_timeout": 10,
            "keepalive": 5,
            "limit_request_line": 8190,
            "limit_request_fields": 100,
            "control_socket_disable": True,  # one shared ~/.gunicorn socket would clash between gateways
            "worker_exit": self._worker_exit,
            "child_exit": lambda _arbiter, worker: gateway_metrics.worker_exited(worker.pid),
        }
        # Before any worker exists: every worker's metrics go to this gateway's folder.
        gateway_metrics.prepare_multiprocess_dir(settings.shared.state_dir, bind)
        self.deps: Deps | None = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        telemetry.configure("api_rest")
        self.deps = build_deps(self.settings)
        return create_wsgi(self.deps)

    def _worker_exit(self, _arbiter, _worker) -> None:
        if self.deps is not None:
            self.deps.shipper.close(timeout=3)
            self.deps.backend.close()
        telemetry.shutdown()
