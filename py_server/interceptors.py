"""Server interceptors shared by both gRPC services.

- ServiceTokenInterceptor: the MERCH_SERVICE_TOKEN check (health and reflection are open), and the
  caller a token holder acts for.
- ServiceInterceptor: request id, domain-error mapping and access logs.
"""
from __future__ import annotations

import hmac
import logging
import time
from typing import Callable

import grpc

from py_server import request_context
from py_server.errors import InvalidArgument, StoreError

_log = logging.getLogger(__name__)

# Services every caller may use without the service token: orchestrators probe health, and
# `grpcurl list/describe` explore the API. Neither reveals or changes any store data.
_OPEN_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


def _wrap_handler(handler: grpc.RpcMethodHandler, wrap: Callable) -> grpc.RpcMethodHandler:
    """Rebuilds a method handler with its behaviour passed through `wrap(behavior, streaming)`."""
    if handler.unary_unary:
        factory, behavior = grpc.unary_unary_rpc_method_handler, handler.unary_unary
    elif handler.unary_stream:
        factory, behavior = grpc.unary_stream_rpc_method_handler, handler.unary_stream
    elif handler.stream_unary:
        factory, behavior = grpc.stream_unary_rpc_method_handler, handler.stream_unary
    else:
        factory, behavior = grpc.stream_stream_rpc_method_handler, handler.stream_stream
    return factory(
        wrap(behavior, handler.response_streaming),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _metadata(context: grpc.ServicerContext, key: str) -> str | None:
    for name, value in context.invocation_metadata() or ():
        if name == key:
            return value
    return None


class ServiceTokenInterceptor(grpc.ServerInterceptor):
    """Refuses calls without `authorization: Bearer <token>` (health and reflection excepted), and
    sets the caller a token holder names (`merch-caller-id`, `merch-caller-token-version`).

    The caller metadata is trusted only on a call whose service token was checked: the REST gateway
    has verified the user's bearer token and says whom it acts for. With checking off (`token`
    empty) a call that names a caller is refused, never trusted. Malformed caller metadata is
    INVALID_ARGUMENT. The store checks the caller in the operation's own transaction.
    """

    def __init__(self, token: str | None):
        self._expected = f"Bearer {token}".encode() if token else None

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(_OPEN_SERVICES):
            return handler
        given = caller_id = caller_version = None
        for name, value in handler_call_details.invocation_metadata or ():
            if name == "authorization":
                given = value
            elif name == request_context.CALLER_ID_HEADER:
                caller_id = value
            elif name == request_context.CALLER_VERSION_HEADER:
                caller_version = value
        names_caller = caller_id is not None or caller_version is not None
        if self._expected is None:
            return _refusing(handler, grpc.StatusCode.UNAUTHENTICATED, _UNTRUSTED_CALLER) if names_caller else handler
        if not hmac.compare_digest(str(given or "").encode(), self._expected):
            return _refusing(handler, grpc.StatusCode.UNAUTHENTICATED, _TOKEN_REQUIRED)
        if not names_caller:
            return handler
        try:
            caller = request_context.parse_caller(caller_id, caller_version)
        except ValueError as error:
            refusal = InvalidArgument([error.args]).to_status()
            return _wrap_handler(handler, lambda behavior, streaming: lambda request, context:
                                 context.abort_with_status(refusal))
        return _wrap_handler(handler, lambda behavior, streaming: _acting_for(caller, behavior, streaming))


_TOKEN_REQUIRED = ("this service requires 'authorization: Bearer <token>' metadata: the token is "
                   "MERCH_SERVICE_TOKEN, or in dev the file service_token in the state folder (.merch/)")
_UNTRUSTED_CALLER = ("caller metadata (merch-caller-id) is honoured only on calls that carry the service "
                     "token, and this service checks none")


def _refusing(handler, code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    def refuse(behavior, streaming):
        def deny(request, context):
            context.abort(code, message)

        return deny

    return _wrap_handler(handler, refuse)


def _acting_for(caller: request_context.Caller, behavior, streaming):
    """`behavior` with request_context.current_caller set to `caller` while it runs (reset after:
    the server's threads serve other calls next)."""
    if streaming:
        def run_stream(request, context):
            token = request_context.current_caller.set(caller)
            try:
                yield from behavior(request, context)
            finally:
                request_context.current_caller.reset(token)

        return run_stream

    def run_unary(request, context):
        token = request_context.current_caller.set(caller)
        try:
            return behavior(request, context)
        finally:
            request_context.current_caller.reset(token)

    return run_unary


def _status_for(error: BaseException, unavailable: tuple[type[BaseException], ...] = ()
                ) -> tuple[grpc.StatusCode, grpc.Status | None, str]:
    """Maps an exception to (code, rich status or None, message)."""
    if isinstance(error, StoreError):
        return error.code, error.to_status(), error.message
    if unavailable and isinstance(error, unavailable):
        return grpc.StatusCode.UNAVAILABLE, None, "the database is unavailable; retry shortly"
    return grpc.StatusCode.INTERNAL, None, "internal error; the service log has the details"


_NO_DEADLINE_SECONDS = 365 * 24 * 3600


class ServiceInterceptor(grpc.ServerInterceptor):
    """Gives each call a request id, maps domain errors to status codes, and logs the access.

    `access_log(method, code, latency_ms)` is called once per call, with the
    request id already set in `request_context.current_request_id`.
    `unavailable` are the exception types that mean the service's backing
    store cannot answer (UNAVAILABLE, retry); the DB service names its
    database driver's, so this module imports none.
    """

    def __init__(self, access_log: Callable[[str, grpc.StatusCode, float], None] | None = None, *,
                 unavailable: tuple[type[BaseException], ...] = ()):
        self._access_log = access_log
        self._unavailable = unavailable
        # Wrapped handlers by method, with the handler they wrap: the wrapper depends on the method
        # only, so a call whose inner handler is the usual one reuses it instead of building another.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        unavailable = self._unavailable

        def wrap(behavior, streaming):
            if streaming:
                def run_stream(request, context):
                    token, started = self._enter(context)
                    code = grpc.StatusCode.OK
                    try:
                        yield from behavior(request, context)
                    except Exception as error:  # noqa: BLE001 - mapped to a precise status below
                        code = _status_for(error, unavailable)[0]
                        self._abort(context, method, error)
                    finally:
                        self._leave(token, method, code, started, context)

                return run_stream

            def run_unary(request, context):
                token, started = self._enter(context)
                code = grpc.StatusCode.OK
                try:
                    return behavior(request, context)
                except Exception as error:  # noqa: BLE001 - mapped to a precise status below
                    code = _status_for(error, unavailable)[0]
                    self._abort(context, method, error)
                finally:
                    self._leave(token, method, code, started, context)

            return run_unary

        wrapped = _wrap_handler(handler, wrap)
        if cached is None:
            self._wrapped[method] = (handler, wrapped)
        return wrapped

    @staticmethod
    def _enter(context):
        request_id = request_context.accept_or_generate(_metadata(context, request_context.REQUEST_ID_HEADER))
        remaining = context.time_remaining()
        # The caller's deadline, for the store's pre-commit check. None: no deadline was sent (gRPC
        # then reports a remaining time of centuries).
        no_deadline = remaining is None or remaining > _NO_DEADLINE_SECONDS
        request_context.current_deadline.set(None if no_deadline else time.monotonic() + remaining)
        return request_context.current_request_id.set(request_id), time.perf_counter()

    def _leave(self, token, method, code, started, context):
        if context.code() not in (None, grpc.StatusCode.OK):
            code = context.code()  # the status actually sent, also when a handler aborted by itself
        try:
            if self._access_log is not None:
                self._access_log(method, code, (time.perf_counter() - started) * 1000)
        finally:
            request_context.current_request_id.reset(token)

    def _abort(self, context, method, error) -> None:
        if context.code() not in (None, grpc.StatusCode.OK) and not isinstance(error, StoreError):
            raise error  # the handler aborted by itself: keep its status
        code, rich, message = _status_for(error, self._unavailable)
        if code is grpc.StatusCode.INTERNAL:
            _log.exception("unexpected error in %s (request %s)", method, request_context.current_request_id.get())
        elif code is grpc.StatusCode.UNAVAILABLE:
            _log.warning("%s: database unavailable: %s", method, error)
        if rich is not None:
            context.abort_with_status(rich)
        context.abort(code, message)
