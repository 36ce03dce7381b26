"""Tracing with OpenTelemetry: W3C trace context from HTTP through gRPC into every log record.

Every process calls `configure(service)` once at start-up (the gateway once per
worker, after the fork). Then:

- the gateway's WSGI app is wrapped by `wsgi_middleware` (OpenTelemetry's WSGI
  instrumentation): it continues the caller's `traceparent`, or starts a trace;
- its channel to the DB service goes through `traced_channel` (OpenTelemetry's
  gRPC client interceptor), which sends `traceparent` as gRPC metadata;
- both gRPC services run `server_interceptor()` (OpenTelemetry's gRPC server
  interceptor), which continues the trace from that metadata;
- the log shipper stamps each record with `current_ids()`, and the logging
  service passes them on as the record's fields and a Kafka `traceparent` header.

With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set,
spans are recorded and exported over OTLP/gRPC in batches, from a background
thread; the standard `OTEL_*` variables (service name, sampler, batch delay…)
apply. Without one, the sampler is ALWAYS_OFF: trace and span ids are still made
and propagated, so logs still tie together, but no span is recorded, which
costs a few microseconds a request.
"""
from __future__ import annotations

import os
import threading

import grpc
from opentelemetry import trace

_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_INSTRUMENTATION = "merch.store"

_lock = threading.Lock()
_provider = None  # this process's TracerProvider, once configured


def exporting(environ=None) -> bool:
    """Whether spans are to be exported: an OTLP endpoint is configured."""
    environ = os.environ if environ is None else environ
    return any(environ.get(name, "").strip() for name in _ENDPOINT_VARIABLES)


def configure(service: str):
    """Installs this process's tracer provider, once (a pre-forking server calls it in
    each worker, after the fork: the SDK's batch exporter is a thread). Returns it."""
    global _provider
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
    """OpenTelemetry's gRPC server interceptor: continues the caller's trace from `traceparent` metadata."""
    from opentelemetry.instrumentation.grpc import server_interceptor as otel_server_interceptor

    return otel_server_interceptor(filter_=_traced_method)


def traced_channel(channel: grpc.Channel) -> grpc.Channel:
    """`channel` with OpenTelemetry's client interceptor: each call is a client span whose
    context travels as `traceparent` metadata."""
    from opentelemetry.instrumentation.grpc import client_interceptor
    from opentelemetry.instrumentation.grpc.grpcext import intercept_channel

    return intercept_channel(channel, client_interceptor())


def wsgi_middleware(app):
    """OpenTelemetry's WSGI middleware around `app`: one server span per HTTP request,
    continuing a valid W3C `traceparent` header or starting a new trace."""
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(app)


_get_current_span = trace.get_current_span


def current_ids() -> tuple[int, int, bool]:
    """(trace id, span id, sampled) of the current span; (0, 0, False) outside any trace."""
    context = _get_current_span().get_span_context()
    return context.trace_id, context.span_id, bool(context.trace_flags & 1)
