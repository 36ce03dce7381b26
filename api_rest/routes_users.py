"""Users: register and log in (open), and read, change or deactivate one's own account.

Resource paths and the seed's paths are routes of the same handlers. The
caller is the token's user: an id in the path, query or body that is not
theirs is refused with 403 (api_rest.caller). Registration takes an
`Idempotency-Key`.
"""
from __future__ import annotations

import grpc
from bottle import Bottle, request, response

from merch.store.v1 import user_pb2

from api_rest import bodies, caller, views
from api_rest.errors import unauthenticated
from api_rest.requestlog import USER_ID_KEY


def install(app: Bottle, deps) -> None:
    users = deps.backend.users

    def with_token(user: user_pb2.User, issued_at: float | None = None) -> dict:
        request.environ[USER_ID_KEY] = user.id  # for the request log
        return {
            "user": views.user(user),
            "token": deps.tokens.issue(user.id, user.token_version, now=issued_at),
            "token_type": "Bearer",
            "expires_in": deps.tokens.ttl_seconds,
        }

    @app.post("/users")
    @app.post("/register")
    def register():
        key = caller.idempotency_key()
        message = caller.message(bodies.REGISTER)
        reply, replayed = users.CreateUser.idempotent(message, caller.context(), key)
        user = reply.user
        caller.replayed(replayed)
        response.status = 201
        response.set_header("Location", f"/users/{user.id}")
        # Issued as of the registration, so that a replay returns the very same body.
        return with_token(user, issued_at=user.create_time.seconds)

    @app.post("/login")
    def login():
        message = caller.message(bodies.LOGIN)
        try:
            user = users.AuthenticateUser(message, caller.context()).user
        except grpc.RpcError as error:
            if error.code() is grpc.StatusCode.UNAUTHENTICATED:
                raise unauthenticated("username or password is incorrect, or the account is deactivated",
                                      invalid_token=False) from None
            raise
        return with_token(user)

    @app.get("/users/<user_id>")
    @app.get("/get-user")
    def get_user(user_id: str | None = None):
        ctx = caller.authenticate(deps)  # the ownership rule has checked any user_id
        return views.user(users.GetUser(user_pb2.GetUserRequest(user_id=ctx.user_id), ctx).user)

    @app.patch("/users/<user_id>")
    @app.put("/update-user")
    def update(user_id: str | None = None) -> dict:
        ctx = caller.authenticate(deps)
        message = caller.message(bodies.UPDATE_USER, user_id=ctx.user_id)
        return views.user(users.UpdateUser(message, ctx).user)

    @app.delete("/users/<user_id>")
    @app.delete("/deactivate-user")
    def deactivate(user_id: str | None = None) -> dict:
        ctx = caller.authenticate(deps)
        message = caller.message(bodies.SEED_USER_REF, required=False, user_id=ctx.user_id)
        return views.user(users.DeactivateUser(message, ctx).user)
