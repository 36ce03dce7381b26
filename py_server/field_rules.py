"""The protos' field rules (protovalidate `buf.validate` annotations) as BadRequest violations.

The rules are written once, in proto/; protovalidate's engine reads them from the
message descriptors. `violations(message)` turns what it finds into the
(field path, description) pairs of google.rpc.BadRequest. The DB and logging
services apply it to every request message (py_server.validating), and the
REST gateway applies the very same function to the message it is about to send,
so one bad field gets one code and the same words over REST, gRPC and merchctl.

What a proto cannot say stays in code, next to the data it needs: uniqueness,
stock and ownership in the store, the NFKC identity rules of usernames
(py_server.store.identity), page tokens this service issued (py_server.validation).
No database code here: the gateway imports this module too.
"""
from __future__ import annotations

import protovalidate
from google.protobuf.message import Message

from py_server.errors import InvalidArgument

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
