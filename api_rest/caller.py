"""Who is calling: the request id, and the user behind the bearer token.

The token names the user; the DB service says whether that user may still
act. Every authenticated request reads the user afresh, so deactivation takes
effect at once, for tokens already issued too.
"""
from __future__ import annotations

import grpc
from bottle import request

from merch.store.v1 import user_pb2
from py_server.request_context import accept_or_generate

from api_rest.auth import bearer_token
from api_rest.errors import forbidden, unauthenticated
from api_rest.requestlog import REQUEST_ID_KEY, USER_ID_KEY


def request_id() -> str:
    environ = request.environ
    if REQUEST_ID_KEY not in environ:  # the app served without the RequestLog middleware
        environ[REQUEST_ID_KEY] = accept_or_generate(environ.get("HTTP_X_REQUEST_ID"))
    return environ[REQUEST_ID_KEY]


def authenticate(deps) -> user_pb2.User:
    """The caller's user record; 401 without a valid token or for a missing or deactivated user."""
    user_id = deps.tokens.user_id(bearer_token(request.get_header("Authorization")))
    request.environ[USER_ID_KEY] = user_id
    try:
        user = deps.backend.call("users", "GetUser", user_pb2.GetUserRequest(user_id=user_id), request_id()).user
    except grpc.RpcError as error:
        if error.code() is grpc.StatusCode.NOT_FOUND:
            raise unauthenticated("the token's user does not exist; register or log in again") from None
        raise
    if not user.active:
        raise unauthenticated("this account is deactivated; its tokens no longer work")
    return user


def require_self(user: user_pb2.User, claimed_id, what: str) -> None:
    """403 unless `claimed_id` (from a path or body) is the caller's own id; None means not given."""
    if claimed_id is not None and claimed_id != user.id:
        raise forbidden(f"you can only {what} your own account (your user id is {user.id})")
