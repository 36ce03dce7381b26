"""Tracing: W3C trace context from HTTP through gRPC into every log record, with OpenTelemetry.

Every process calls `configure(service)` once at start-up (the gateway once per
worker, after the fork). Then:

- the gateway's WSGI app is wrapped by `wsgi_middleware`: it continues the
  caller's `traceparent`, or starts a trace;
- its gRPC calls carry the span's context as `traceparent` metadata
  (`traced_channel`, or `outgoing_metadata()` on the lean path);
- both gRPC services run `server_interceptor()`, which continues the trace from
  that metadata;
- the log shipper stamps each record with `current_ids()`, and the logging
  service passes them on in the record and as a Kafka `traceparent` header.

With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set,
spans are recorded by OpenTelemetry's SDK with its WSGI and gRPC instrumentations,
and exported over OTLP/gRPC in batches from a background thread; the standard
`OTEL_*` variables (service name, sampler, batch delay…) apply. Without one,
nothing is recorded: a lean path (below) only makes, reads and passes on the ids,
so the logs still tie together, for a few microseconds a request.
"""
from __future__ import annotations

import os
import random
import re
import threading

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_lock = threading.Lock()
_provider = None  # this process's TracerProvider, once configured


def exporting(environ=None) -> bool:
    """Whether spans are to be exported: an OTLP endpoint is configured."""
    environ = os.environ if environ is None else environ
    return any(environ.get(name, "").strip() for name in _ENDPOINT_VARIABLES)


def configure(service: str):
    """Installs this process's tracer provider, once (a pre-forking server calls it in
    each worker, after the fork: the SDK's batch exporter is a thread). Returns it."""
    global _provider, _exporting
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    with _lock:
        if _provider is not None:
            return _provider
        # OTEL_SERVICE_NAME, when set, names the service instead.
        resource = Resource.create({} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service})
        if exporting():
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider = TracerProvider(resource=resource)  # sampler from OTEL_TRACES_SAMPLER, default parent-based always-on
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            provider = TracerProvider(resource=resource, sampler=ALWAYS_OFF)
        trace.set_tracer_provider(provider)
        _provider = provider
        _exporting = exporting()
        return provider


def shutdown(timeout_millis: int = 3000) -> None:
    """Exports what is still batched (a worker about to exit calls this)."""
    provider = _provider
    if provider is not None:
        provider.force_flush(timeout_millis)
        provider.shutdown()


def _traced_method(details) -> bool:
    """The calls that get a server span: the store's own RPCs, not health probes,
    reflection, or the log shippers' long-lived WriteLogs streams (which carry
    many requests' records, each with its own trace ids)."""
    method = details.method or ""
    return method.startswith("/merch.") and not method.endswith("/WriteLogs")


def server_interceptor() -> grpc.ServerInterceptor:
    """Continues the caller's trace from `traceparent` metadata: OpenTelemetry's gRPC server
    interceptor when spans are exported, else the lean `PropagatingServerInterceptor`."""
    if not exporting():
        return PropagatingServerInterceptor()
    from opentelemetry.instrumentation.grpc import server_interceptor as otel_server_interceptor

    return otel_server_interceptor(filter_=_traced_method)


def traced_channel(channel: grpc.Channel) -> grpc.Channel:
    """When spans are exported: `channel` with OpenTelemetry's client interceptor (each call a
    client span, its context sent as `traceparent` metadata). Otherwise `channel` itself, and
    the caller adds `outgoing_metadata()` to each call."""
    if not exporting():
        return channel
    from opentelemetry.instrumentation.grpc import client_interceptor
    from opentelemetry.instrumentation.grpc.grpcext import intercept_channel

    return intercept_channel(channel, client_interceptor())


def wsgi_middleware(app):
    """One span per HTTP request, continuing a valid W3C `traceparent` header or starting a
    new trace: OpenTelemetry's WSGI middleware when spans are exported, else `PropagatingWsgi`."""
    if not exporting():
        return PropagatingWsgi(app)
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(app)


# --- the lean path: trace context without recording --------------------------------------------
# OpenTelemetry's instrumentations gather a span's attributes (and record its metrics) whether
# or not the span is sampled: measured here, about 80 µs per HTTP request and 20 to 40 µs per
# RPC (bench/observability_overhead.py). With nothing to export, these classes do only what the
# logs and the next hop need: read or make the W3C ids, make the span current (as an
# OpenTelemetry NonRecordingSpan, so `current_ids()` and `outgoing_metadata()` read one place),
# and send them on.

_random_bits = random.getrandbits
_NOT_SAMPLED = TraceFlags(0)
# version - trace id - parent span id - flags [- what a later version adds]
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")


def parse_traceparent(header: str | None) -> tuple[int, int] | None:
    """(trace id, parent span id) of a valid W3C `traceparent`, else None."""
    if not header:
        return None
    match = _TRACEPARENT.fullmatch(header.strip())  # upper-case hex is invalid in W3C trace context
    if match is None or match[1] == "ff" or (match[1] == "00" and match[5]):
        return None
    trace_id, span_id = int(match[2], 16), int(match[3], 16)
    if not trace_id or not span_id:
        return None
    return trace_id, span_id


def _enter(traceparent: str | None):
    """Makes a new (unrecorded) span current, in the caller's trace or a new one; returns the token."""
    parent = parse_traceparent(traceparent)
    trace_id = parent[0] if parent else _random_bits(128)
    span = NonRecordingSpan(SpanContext(trace_id, _random_bits(64), is_remote=False, trace_flags=_NOT_SAMPLED))
    return otel_context.attach(trace.set_span_in_context(span))


class PropagatingWsgi:
    """WSGI middleware: the request's span context, from `traceparent` or new, is current
    while the app runs (the app's log records and gRPC calls take it from there)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        token = _enter(environ.get("HTTP_TRACEPARENT"))
        try:
            return self.app(environ, start_response)
        finally:
            otel_context.detach(token)


class PropagatingServerInterceptor(grpc.ServerInterceptor):
    """Makes the call's span context, from `traceparent` metadata or new, current while it runs."""

    def __init__(self):
        # Wrapped handlers by method, with the handler each wraps: the wrapper reads the call's
        # metadata itself, so it is built once per method, not once per call.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or not _traced_method(handler_call_details):
            return handler
        cached = self._wrapped.get(handler_call_details.method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        from py_server.interceptors import _wrap_handler

        def wrap(behavior, streaming):
            if streaming:
                def run_stream(request, context):
                    token = _enter(_traceparent(context))
                    try:
                        yield from behavior(request, context)
                    finally:
                        otel_context.detach(token)

                return run_stream

            def run_unary(request, context):
                token = _enter(_traceparent(context))
                try:
                    return behavior(request, context)
                finally:
                    otel_context.detach(token)

            return run_unary

        wrapped = _wrap_handler(handler, wrap)
        if cached is None:
            self._wrapped[handler_call_details.method] = (handler, wrapped)
        return wrapped


def _traceparent(context) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "traceparent":
            return value
    return None


def outgoing_metadata() -> tuple[tuple[str, str], ...]:
    """`traceparent` metadata for a gRPC call from the current span, on the lean path; empty
    when a traced channel's interceptor adds it, or outside any trace."""
    if _exporting:
        return ()
    span_context = _get_current_span().get_span_context()
    if not span_context.trace_id:
        return ()
    return (("traceparent", f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-"
                            f"{span_context.trace_flags:02x}"),)


_get_current_span = trace.get_current_span
_exporting = exporting()


def current_ids() -> tuple[int, int, bool]:
    """(trace id, span id, sampled) of the current span; (0, 0, False) outside any trace."""
    context = _get_current_span().get_span_context()
    return context.trace_id, context.span_id, bool(context.trace_flags & 1)
