"""Who is calling: the request id, the user behind the bearer token, and one ownership rule;
and the request's JSON body, parsed into the request message and checked against the proto's rules.

The token names the user and the token version it was issued for; the DB
service says whether that user may still act, inside the request's one call
(see `authenticate`), so deactivation and password changes take effect at
once, for tokens already issued too, on every gateway replica.

Ownership is one rule for every route: a `user_id` given in the path, the
query string or the JSON body must be the caller's own id (403 otherwise),
checked in `authenticate` before any handler runs, so no route can forget it.
"""
from __future__ import annotations

import dataclasses
from typing import TypeVar

from bottle import request, response
from google.protobuf.message import Message

from merch.store.v1 import user_pb2
from py_server import field_rules
from py_server.errors import InvalidArgument
from py_server.request_context import accept_or_generate

from api_rest import bodies
from api_rest.auth import bearer_token
from api_rest.errors import forbidden
from api_rest.requestlog import REQUEST_ID_KEY, USER_ID_KEY

_BODY_KEY = "merch.body"  # the parsed JSON body, read once per request
_CALLER_KEY = "merch.caller"  # (user id, token version) of the bearer token, once authenticated

MessageT = TypeVar("MessageT", bound=Message)


@dataclasses.dataclass(frozen=True)
class CallContext:
    """What every call to the DB service carries besides its request message (api_rest.clients):
    the request id, and the acting user with the token version their token was issued for."""

    request_id: str
    user_id: int | None = None
    token_version: int | None = None


def context() -> CallContext:
    """This request's CallContext: with the token's user once `authenticate` has accepted it."""
    user_id, version = request.environ.get(_CALLER_KEY, (None, None))
    return CallContext(request_id(), user_id, version)


def request_id() -> str:
    environ = request.environ
    if REQUEST_ID_KEY not in environ:  # the app served without the RequestLog middleware
        environ[REQUEST_ID_KEY] = accept_or_generate(environ.get("HTTP_X_REQUEST_ID"))
    return environ[REQUEST_ID_KEY]


def authenticate(deps) -> CallContext:
    """The context of the caller's calls to the DB service, after the ownership rule.

    No call is made here: the token's user travels with the request's one DB
    call (CallContext → `merch-caller-*` metadata), and the DB service checks,
    in the same transaction as the operation, that this user exists, is
    active and holds the token's version; if not, the call is refused with
    UNAUTHENTICATED and a CALLER_* reason, which is the user's 401
    (api_rest.errors). So deactivation and password changes end older
    tokens at once, on every replica, at no extra round trip.

    401 without a valid, unexpired token, or for a user who may no longer
    act; 403 when the path, query or body names another user's id.
    """
    user_id, version = deps.tokens.claims(bearer_token(request.environ.get("HTTP_AUTHORIZATION")))
    request.environ[USER_ID_KEY] = user_id
    ctx = CallContext(request_id(), user_id, version)
    claimed = _claimed_user_ids()
    for where, other in claimed:
        if other != user_id:
            # A refusal, so its one DB call is spent on who is asking: a token that may no
            # longer act is told so (401) rather than that the id is not theirs (403).
            deps.backend.users.GetUser(user_pb2.GetUserRequest(user_id=user_id), ctx)
            raise forbidden(f"the user_id in the {where} is not yours: you can only act on your own account "
                            f"(your user id is {user_id})")
    request.environ[_CALLER_KEY] = (user_id, version)
    return ctx


def _claimed_user_ids() -> list[tuple[str, int]]:
    """The user ids the request names, and where: path, query, body."""
    claimed = []
    path_id = request.url_args.get("user_id")
    if path_id is not None:
        claimed.append(("path", bodies.whole_number("user_id", path_id, minimum=1, maximum=bodies.INT32_MAX)))
    query_id = bodies.query_int(request.query, "user_id", default=None, minimum=1, maximum=bodies.INT32_MAX)
    if query_id is not None:
        claimed.append(("query", query_id))
    data = body(required=False)
    if isinstance(data, dict) and type(data.get("user_id")) is int:  # other types: the body's own 400
        claimed.append(("body", data["user_id"]))
    return claimed


def body(*, required: bool = True):
    """The request's JSON body (bounded, see bodies.read_json), read once; NO_BODY if absent and optional."""
    environ = request.environ
    if _BODY_KEY not in environ:  # any method's body counts: a GET's user_id is checked too
        environ[_BODY_KEY] = bodies.read_json(environ, required=False)
    data = environ[_BODY_KEY]
    if data is bodies.NO_BODY and required:
        raise bodies.invalid([("body", "is required: send a JSON object")], "the request needs a JSON object body")
    return data


def message(spec: bodies.Body[MessageT], *, required: bool = True, **from_route) -> MessageT:
    """The body as the request message of `spec`, with the fields the route knows (the caller's
    id, an id from the path) set from `from_route`, checked against the proto's rules: 400 naming
    every bad field, in the DB service's words. An absent optional body is an empty one."""
    data = body(required=required)
    result = spec.parse({} if data is bodies.NO_BODY else data)
    for name, value in from_route.items():
        setattr(result, name, value)
    return valid(result)


def valid(request_message: MessageT) -> MessageT:
    """The message, if it keeps its proto's field rules; else 400 with the violations, worded as the
    DB service words them (py_server.field_rules), so REST and gRPC clients read the same sentence."""
    found = field_rules.violations(request_message)
    if found:
        raise bodies.invalid(found, InvalidArgument(found).message)
    return request_message


def idempotency_key() -> str | None:
    """The request's `Idempotency-Key` header (an RFC 8941 string, quotes optional), bounded; None if absent."""
    # Read raw from the environ (latin-1, as WSGI gives it): Bottle's get_header() raises on bytes
    # that are not UTF-8, and a key is ASCII anyway.
    raw = request.environ.get("HTTP_IDEMPOTENCY_KEY")
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 3 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise bodies.invalid([("Idempotency-Key", "must be 1 to 255 visible ASCII characters, e.g. a UUID")])
    return key


def replayed(flag: bool) -> None:
    """Marks the response as the stored answer of an earlier request with the same Idempotency-Key."""
    if flag:
        response.set_header("Idempotent-Replayed", "true")
