"""The gateway's Prometheus metrics: `http_requests_total{method,route,status}` and
`http_request_duration_seconds{method,route}`, served at `/metrics`.

gunicorn runs several worker processes; prometheus_client's multiprocess mode keeps
each worker's values in memory-mapped files in one folder, and `/metrics`, whichever
worker answers it, adds up every worker's. The master prepares that folder before
it forks (`prepare_multiprocess_dir`: in the state folder, one per gateway, emptied
at start) and reports each worker that exits (`worker_exited`).

Labels stay bounded: `route` is the Bottle route template (`/products/<product_id:int>`),
`unmatched` for a path no route serves; `method` is one of the HTTP methods, else `other`.
`/metrics` itself is neither counted nor traced nor logged.

prometheus_client picks its storage when it is first imported, from
PROMETHEUS_MULTIPROC_DIR: so it is imported here only inside functions, after the
master has set that variable.
"""
from __future__ import annotations

import os
import pathlib
import re
import time

from opentelemetry import trace

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
METRICS_PATH = "/metrics"
# From 1 ms to 10 s: the gateway's gRPC deadline is 5 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


def prepare_multiprocess_dir(state_dir: pathlib.Path, bind: str) -> pathlib.Path:
    """Makes (and empties of old values) this gateway's metrics folder, and points
    PROMETHEUS_MULTIPROC_DIR at it for the workers. An operator's own
    PROMETHEUS_MULTIPROC_DIR is kept. Call it in the master, before any worker starts."""
    given = os.environ.get(MULTIPROC_VARIABLE, "").strip()
    folder = pathlib.Path(given) if given else (
        pathlib.Path(state_dir) / "metrics" / ("api_rest-" + re.sub(r"[^A-Za-z0-9.-]+", "_", bind)))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # a previous run's workers: their counts are not this run's
        stale.unlink()
    os.environ[MULTIPROC_VARIABLE] = str(folder)
    return folder


def worker_exited(pid: int) -> None:
    """gunicorn's child_exit hook, in the master: retires the worker's live gauges."""
    if os.environ.get(MULTIPROC_VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


_instruments = None


def _metrics():
    """The process's two metrics, made once (a second registration would be refused)."""
    global _instruments
    if _instruments is None:
        from prometheus_client import Counter, Histogram

        _instruments = (
            Counter("http_requests_total", "HTTP requests answered, by method, route template and status.",
                    ("method", "route", "status")),
            Histogram("http_request_duration_seconds", "Time to answer an HTTP request, by method and route template.",
                      ("method", "route"), buckets=LATENCY_BUCKETS),
        )
    return _instruments


def exposition() -> tuple[bytes, str]:
    """The metrics text of every worker of this gateway (or of this process alone, outside gunicorn)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if os.environ.get(MULTIPROC_VARIABLE):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


class HttpMetrics:
    """WSGI middleware, outermost: serves `/metrics`, and counts and times every other request."""

    def __init__(self, app):
        self.app = app
        self._requests, self._duration = _metrics()
        self._children: dict = {}  # (method, route, status) → (counter, histogram) children

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == METRICS_PATH:
            return self._serve(environ, start_response)
        started = time.perf_counter()
        answer = []

        def start_counted(status: str, headers: list, exc_info=None):
            answer.append(status)
            route = environ.get("bottle.route")
            if route is not None:  # name the request's span after its route, as OpenTelemetry advises
                span = trace.get_current_span()
                if span.is_recording():
                    span.set_attribute("http.route", route.rule)
                    span.update_name(f"{environ.get('REQUEST_METHOD', '')} {route.rule}")
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, start_counted)
        finally:
            self._record(environ, answer[-1] if answer else "500", time.perf_counter() - started)

    def _record(self, environ, status: str, seconds: float) -> None:
        method = environ.get("REQUEST_METHOD", "")
        if method not in _METHODS:
            method = "other"
        route = environ.get("bottle.route")
        key = (method, route.rule if route is not None else "unmatched", status[:3])
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (self._requests.labels(*key), self._duration.labels(*key[:2]))
        children[0].inc()
        children[1].observe(seconds)

    @staticmethod
    def _serve(environ, start_response):
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Type", "text/plain")])
            return [b"GET /metrics\n"]
        body, content_type = exposition()
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store")])
        return [body] if environ.get("REQUEST_METHOD") == "GET" else []
