"""What tracing and metrics add to one request, in µs, with no OTLP exporter configured.

    .venv/bin/python -m bench.observability_overhead [--calls N]

In-process and single-threaded, so the numbers are the CPU cost of the added layers
alone (no network, no other work to hide behind):

- gateway: the WSGI stack `create_wsgi` builds (metrics → OpenTelemetry WSGI →
  request log → Bottle) against the request log and Bottle alone, for `GET /`,
  with the backend call replaced by a traced-channel-free stand-in and a shipper
  that queues (the real LogShipper, not started);
- client: the `traceparent` metadata the gateway adds to each gRPC call;
- server: the two server interceptors every gRPC service now runs (metrics, trace
  context) around one unary handler, and each alone;
- log record: `LogShipper.log`, which now also reads the current span's ids.
"""
from __future__ import annotations

import argparse
import collections
import io
import os
import tempfile
import time


def per_call(fn, calls: int, rounds: int = 5) -> float:
    """The least over `rounds` of the mean CPU µs per call of `fn` (this thread's CPU time, and
    the least disturbed round: other work on a busy machine inflates wall-clock times)."""
    results = []
    for _ in range(rounds):
        started = time.thread_time()
        for _ in range(calls):
            fn()
        results.append((time.thread_time() - started) / calls * 1e6)
    return min(results)


def environ(path: str = "/") -> dict:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
            "HTTP_HOST": "127.0.0.1:5000", "REMOTE_ADDR": "127.0.0.1", "QUERY_STRING": ""}


def gateway(calls: int) -> tuple[float, float]:
    import bottle

    from api_rest.metrics import HttpMetrics
    from api_rest.requestlog import RequestLog
    from py_server import telemetry
    from py_server.logship import LogShipper

    telemetry.configure("bench")
    app = bottle.Bottle()

    @app.get("/")
    def greet():
        return "Welcome"

    shipper = LogShipper("127.0.0.1:9", "bench", queue_size=10**9)  # not started: log() only queues
    plain = RequestLog(app, shipper)
    full = HttpMetrics(telemetry.wsgi_middleware(RequestLog(app, shipper)))

    def start_response(status, headers, exc_info=None):
        return None

    def run(wsgi):
        return lambda: b"".join(wsgi(environ(), start_response))

    return per_call(run(plain), calls), per_call(run(full), calls)


_Metadatum = collections.namedtuple("_Metadatum", ("key", "value"))  # what grpc hands a server


def gateway_metrics(calls: int) -> tuple[float, float]:
    from api_rest.metrics import HttpMetrics

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b""]

    def start_response(status, headers, exc_info=None):
        return None

    wrapped = HttpMetrics(app)
    return per_call(lambda: app(environ(), start_response), calls), per_call(lambda: wrapped(environ(), start_response), calls)


class _Context:
    def invocation_metadata(self):
        return (_Metadatum("x-request-id", "r1"),
                _Metadatum("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))

    def peer(self):
        return "ipv4:127.0.0.1:50000"

    def code(self):
        return None


class _Details:
    method = "/merch.store.v1.GreetingService/GetGreeting"
    invocation_metadata = _Context().invocation_metadata()


def server(calls: int, only: int | None = None) -> tuple[float, float]:
    import grpc

    from py_server import metrics, telemetry

    telemetry.configure("bench")
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
    chain = [metrics.GrpcMetricsInterceptor(), telemetry.server_interceptor()]
    if only is not None:
        chain = [chain[only]]

    def continuation_for(index):
        def continuation(details):
            if index == len(chain):
                return handler
            return chain[index].intercept_service(continuation_for(index + 1), details)

        return continuation

    context, details = _Context(), _Details()

    def plain():
        return handler.unary_unary(b"", context)

    def full():
        return continuation_for(0)(details).unary_unary(b"", context)

    return per_call(plain, calls), per_call(full, calls)


def client(calls: int) -> tuple[float, float]:
    """The metadata a gateway's gRPC call carries, without and with its `traceparent`."""
    from py_server import telemetry

    telemetry.configure("bench")
    token = telemetry._enter(None)  # noqa: SLF001 - inside a request's span, as in the gateway
    try:
        return (per_call(lambda: (("x-request-id", "r1"), ("authorization", "Bearer t")), calls),
                per_call(lambda: (("x-request-id", "r1"), ("authorization", "Bearer t"),
                                  *telemetry.outgoing_metadata()), calls))
    finally:
        telemetry.otel_context.detach(token)


def log_record(calls: int) -> float:
    from py_server.logship import LogShipper

    shipper = LogShipper("127.0.0.1:9", "bench", queue_size=10**9)
    return per_call(lambda: shipper.log("info", "Accessing DB service: GetGreeting", method="/x", status="OK"), calls)


def main() -> None:
    # As under gunicorn: metric values in memory-mapped files (set before prometheus_client loads).
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="bench-metrics-"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    calls = parser.parse_args().calls
    base, full = gateway(calls)
    print(f"gateway WSGI stack, GET /      without {base:6.1f} µs   with {full:6.1f} µs   added {full - base:5.1f} µs")
    base, full = client(calls)
    print(f"gateway gRPC client call       without {base:6.1f} µs   with {full:6.1f} µs   added {full - base:5.1f} µs")
    base, full = server(calls)
    print(f"gRPC server call               without {base:6.1f} µs   with {full:6.1f} µs   added {full - base:5.1f} µs")
    for index, name in ((0, "metrics"), (1, "trace context")):
        base, full = server(calls, only=index)
        print(f"  of which {name:20s}                            added {full - base:5.1f} µs")
    base, full = gateway_metrics(calls)
    print(f"  of which metrics (multiprocess files)                  added {full - base:5.1f} µs")
    print(f"one log record (LogShipper.log, with the span's ids)  {log_record(calls):5.1f} µs")


if __name__ == "__main__":
    main()
