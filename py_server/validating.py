"""ValidationInterceptor: the protos' field rules (py_server.field_rules) for every request of a service."""
from __future__ import annotations

import grpc

from py_server.field_rules import check
from py_server.interceptors import _wrap_handler


def _validated_stream(requests):
    """A client stream whose messages are checked one by one, as they arrive: the messages before
    a bad one are taken as usual, the bad one ends the call with INVALID_ARGUMENT."""
    for request in requests:
        check(request)
        yield request


class ValidationInterceptor(grpc.ServerInterceptor):
    """Checks each request message against its proto's rules before the servicer sees it.

    Sits inside ServiceInterceptor, which maps the InvalidArgument raised here
    to INVALID_ARGUMENT with google.rpc.BadRequest (and logs the access), and
    outside the DB service's connection-per-call, so a refused request never
    takes a database connection. Health and reflection carry no rules.
    """

    def __init__(self) -> None:
        # Wrapped handlers by method: the handler `continuation` returns for a method is the same
        # on every call, so it is wrapped once.
        self._wrapped: dict[str, grpc.RpcMethodHandler | None] = {}

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        if method in self._wrapped:
            return self._wrapped[method]
        handler = continuation(handler_call_details)
        if handler is None or not method.startswith("/merch."):
            return handler
        client_streaming = handler.request_streaming

        def wrap(behavior, _response_streaming):
            if client_streaming:
                def run_stream(requests, context):
                    return behavior(_validated_stream(requests), context)

                return run_stream

            def run(request, context):
                check(request)
                return behavior(request, context)

            return run

        wrapped = self._wrapped[method] = _wrap_handler(handler, wrap)
        return wrapped
