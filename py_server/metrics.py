"""Prometheus metrics of the gRPC services, served on an HTTP port of their own.

- `GrpcMetricsInterceptor`: `grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}`
  and `grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}`, the names of
  go-grpc-prometheus, for every call (health checks and refusals included).
- Collectors that read the counters the services already keep, at scrape time, so
  the hot paths gain nothing: the logging service's records accepted / published /
  dropped and buffer depth, the DB pool's connections in use, and a log shipper's
  records sent / dropped / queued.
- `serve(variable, default)`: the metrics HTTP endpoint (`/metrics`), its address from
  MERCH_DB_METRICS_BIND / MERCH_LOG_METRICS_BIND. `off` switches it off; a port that
  is taken is reported and the service runs on without metrics (they are never worth
  an outage). No authentication: it binds to loopback unless told otherwise.
"""
from __future__ import annotations

import logging
import os
import threading
import time

import grpc
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

_log = logging.getLogger(__name__)

# Loopback by default: the endpoints have no authentication. Ports beside Prometheus's own 9090.
DEFAULT_DB_BIND = "127.0.0.1:9451"
DEFAULT_LOG_BIND = "127.0.0.1:9452"

# From 1 ms (a cached product read) to 10 s (beyond the gateway's 5 s deadline).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HANDLED = Counter(
    "grpc_server_handled_total", "RPCs completed on the server, by status code.",
    ("grpc_type", "grpc_service", "grpc_method", "grpc_code"),
)
HANDLING = Histogram(
    "grpc_server_handling_seconds", "Time from the start of an RPC to its status, on the server.",
    ("grpc_type", "grpc_service", "grpc_method"), buckets=LATENCY_BUCKETS,
)

_TYPES = {(False, False): "unary", (False, True): "server_stream",
          (True, False): "client_stream", (True, True): "bidi_stream"}


def _split(method: str) -> tuple[str, str]:
    service, _, name = method.lstrip("/").partition("/")
    return service, name


class GrpcMetricsInterceptor(grpc.ServerInterceptor):
    """Counts and times every call by service, method and final status code.

    Outermost in the chain, so refusals by the token check count too. Label
    children are made once per (method, code), so a call costs two lookups.
    """

    def __init__(self):
        self._timers: dict[str, object] = {}
        self._counters: dict[tuple[str, grpc.StatusCode], object] = {}
        # Wrapped handlers by method, with the handler each wraps: reused while the inner handler is the same.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def _count(self, method: str, kind: str, code: grpc.StatusCode, seconds: float) -> None:
        timer = self._timers.get(method)
        if timer is None:
            timer = self._timers[method] = HANDLING.labels(kind, *_split(method))
        timer.observe(seconds)
        counter = self._counters.get((method, code))
        if counter is None:
            counter = self._counters[(method, code)] = HANDLED.labels(kind, *_split(method), code.name)
        counter.inc()

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        from py_server.interceptors import _wrap_handler

        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        kind = _TYPES[(bool(handler.request_streaming), bool(handler.response_streaming))]
        count = self._count

        def wrap(behavior, streaming):
            if streaming:
                def run_stream(request, context):
                    started, failed = time.perf_counter(), False
                    try:
                        yield from behavior(request, context)
                    except BaseException:
                        failed = True
                        raise
                    finally:
                        count(method, kind, _code(context, failed), time.perf_counter() - started)

                return run_stream

            def run_unary(request, context):
                started, failed = time.perf_counter(), False
                try:
                    return behavior(request, context)
                except BaseException:
                    failed = True
                    raise
                finally:
                    count(method, kind, _code(context, failed), time.perf_counter() - started)

            return run_unary

        wrapped = _wrap_handler(handler, wrap)
        if cached is None:
            self._wrapped[method] = (handler, wrapped)
        return wrapped


def _code(context: grpc.ServicerContext, failed: bool) -> grpc.StatusCode:
    """The status the call ends with: the one set on the context, else OK (or UNKNOWN
    for an exception that set none, as gRPC itself answers)."""
    code = context.code()
    if code is not None:
        return code
    return grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK


class LoggingServiceCollector:
    """The logging service's counters, read from its buffer and publisher at scrape time."""

    def __init__(self, buffer, publisher):
        self._buffer, self._publisher = buffer, publisher

    def collect(self):
        buffer, publisher = self._buffer, self._publisher
        yield CounterMetricFamily("merch_log_records_accepted", "Records taken into the publishing buffer.",
                                  value=buffer.accepted)
        yield CounterMetricFamily("merch_log_records_published",
                                  "Records the sink confirmed (Kafka acks=all, or written to the file).",
                                  value=publisher.published)
        yield CounterMetricFamily("merch_log_records_dropped", "Records lost because the buffer was full.",
                                  value=buffer.dropped)
        yield GaugeMetricFamily("merch_log_buffer_records", "Records waiting in the buffer or being published now.",
                                value=len(buffer) + publisher.in_flight)
        yield GaugeMetricFamily("merch_log_buffer_capacity_records", "Records the buffer holds at most.",
                                value=buffer.capacity)
        yield GaugeMetricFamily("merch_log_sink_healthy", "1 while the sink takes records, 0 while it is down.",
                                value=1 if publisher.healthy else 0)


class DatabasePoolCollector:
    """The DB service's connection pool (peewee's pooled databases), read at scrape time."""

    def __init__(self, database):
        self._database = database

    def collect(self):
        database = self._database
        in_use = len(getattr(database, "_in_use", ()))
        idle = len(getattr(database, "_connections", ()))
        yield GaugeMetricFamily("merch_db_pool_connections_in_use", "Database connections checked out by calls now.",
                                value=in_use)
        yield GaugeMetricFamily("merch_db_pool_connections_idle", "Open database connections waiting in the pool.",
                                value=idle)
        limit = getattr(database, "_max_connections", None)
        if limit:
            yield GaugeMetricFamily("merch_db_pool_connections_max", "The pool's limit (MERCH_DB_POOL_SIZE).",
                                    value=limit)


class ShipperCollector:
    """A process's log shipper (py_server.logship): records sent, dropped, and queued."""

    def __init__(self, shipper):
        self._shipper = shipper

    def collect(self):
        shipper = self._shipper
        yield CounterMetricFamily("merch_logship_records_sent", "Log records this process's shipper delivered.",
                                  value=shipper.sent)
        yield CounterMetricFamily("merch_logship_records_dropped",
                                  "Log records this process's shipper lost to a full queue.", value=shipper.dropped)
        yield GaugeMetricFamily("merch_logship_backlog_records", "Log records queued or awaiting confirmation.",
                                value=shipper.backlog)


def register(*collectors) -> None:
    for collector in collectors:
        REGISTRY.register(collector)


def parse_bind(raw: str | None, default: str) -> tuple[str, int] | None:
    """`host:port` → (host, port); `off` → None. Raises ValueError for anything else."""
    text = (raw or "").strip() or default
    if text.lower() == "off":
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"must be host:port or 'off', got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def serve(variable: str, default: str, environ=None, registry=REGISTRY):
    """Starts the metrics endpoint at the address in `variable` (default `default`).

    Returns the HTTP server, or None when switched off or when the address is taken.
    """
    from py_server.config import ConfigError

    environ = os.environ if environ is None else environ
    try:
        address = parse_bind(environ.get(variable), default)
    except ValueError as error:
        raise ConfigError(f"{variable} {error}") from None
    if address is None:
        return None
    host, port = address
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as error:
        _log.warning("metrics endpoint not started: cannot listen on %s:%d (%s); set %s to a free "
                     "host:port, or to 'off'", host, port, error.strerror or error, variable)
        return None
    _log.info("metrics on http://%s:%d/metrics", host, server.server_port)
    return server


# --- a service of several processes (the DB service with MERCH_DB_PROCESSES > 1) ---------------------
#
# prometheus_client's multiprocess mode: each worker writes its counters and histograms to files in
# PROMETHEUS_MULTIPROC_DIR (set before prometheus_client is first imported), and the parent, which
# serves no calls, serves their sum on the one metrics port.


def shared_registry(folder) -> CollectorRegistry:
    """A registry that reads every worker's metrics from `folder`: the parent's endpoint serves it."""
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))
    return registry


def mirror_to_shared(*collectors, interval: float = 1.0) -> threading.Thread:
    """Publishes what `collectors` read (unlabelled gauges and counters) to the shared files every
    `interval` seconds, from a daemon thread: gauges as the sum over live workers, counters by
    their increments. Started in each worker."""
    gauges: dict[str, Gauge] = {}
    counters: dict[str, tuple[Counter, list[float]]] = {}

    def publish() -> None:
        for collector in collectors:
            for family in collector.collect():
                for sample in family.samples:
                    if family.type == "gauge":
                        gauge = gauges.get(family.name)
                        if gauge is None:
                            gauge = gauges[family.name] = Gauge(family.name, family.documentation,
                                                                multiprocess_mode="livesum")
                        gauge.set(sample.value)
                    elif family.type == "counter" and sample.name.endswith("_total"):
                        counter, last = counters.get(family.name) or (None, [0.0])
                        if counter is None:
                            counter = Counter(family.name, family.documentation)
                            counters[family.name] = (counter, last)
                        counter.inc(max(0.0, sample.value - last[0]))
                        last[0] = sample.value

    def run() -> None:
        while True:
            publish()
            time.sleep(interval)

    publish()
    thread = threading.Thread(target=run, name="metrics-mirror", daemon=True)
    thread.start()
    return thread
