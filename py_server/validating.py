"""The protos' field rules (protovalidate `buf.validate` annotations), checked for every request.

The rules are written once, in proto/; protovalidate's engine reads them from the
message descriptors. `violations(message)` turns what it finds into the
(field path, description) pairs of google.rpc.BadRequest. The DB and logging
services apply it to every request message in `ValidationInterceptor`, and the
REST gateway applies the very same function to the message it is about to send,
so one bad field gets one code and the same words over REST, gRPC and merchctl.

What a proto cannot say stays in code, next to the data it needs: uniqueness,
stock and ownership in the store, the NFKC identity rules of usernames
(py_server.store.identity), page tokens this service issued (py_server.validation).
"""
from __future__ import annotations

import grpc
import protovalidate
from google.protobuf.message import Message

from py_server.errors import InvalidArgument
from py_server.interceptors import _wrap_handler

# One validator for the process: it compiles each message type's rules once and caches them.
_VALIDATOR = protovalidate.Validator()


def _path(field_path) -> str:
    """`records[2].service`: a violation's field path as BadRequest.FieldViolation.field writes it."""
    parts: list[str] = []
    for element in field_path.elements:
        name = element.field_name
        subscript = element.subscript
        if subscript is not None:
            value = subscript.value
            name += f'["{value}"]' if subscript.field == "string_key" else f"[{str(value).lower() if isinstance(value, bool) else value}]"
        parts.append(name)
    return ".".join(parts)


def _description(message: str) -> str:
    # protovalidate says "value is required"; every other rule's message starts with "must".
    return message.removeprefix("value ")


def violations(message: Message) -> list[tuple[str, str]]:
    """The message's rule violations as (field path, description), in field order; empty if valid."""
    return [(_path(v.proto.field), _description(v.proto.message))
            for v in _VALIDATOR.collect_violations(message)]


def check(message: Message) -> None:
    """Raises InvalidArgument (INVALID_ARGUMENT + BadRequest) naming every field that breaks a rule."""
    found = violations(message)
    if found:
        raise InvalidArgument(found)


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
