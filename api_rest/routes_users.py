"""Users: register and log in (open), and read, change or deactivate one's own account.

Resource paths and the seed's paths are routes of the same handlers. The
caller is the token's user: an id in the path, query or body that is not
theirs is refused with 403.
"""
from __future__ import annotations

import grpc
from bottle import Bottle, request, response

from merch.store.v1 import user_pb2

from api_rest import bodies, caller, views
from api_rest.errors import unauthenticated
from api_rest.requestlog import USER_ID_KEY


def install(app: Bottle, deps) -> None:
    def with_token(user: user_pb2.User) -> dict:
        request.environ[USER_ID_KEY] = user.id  # for the request log
        return {
            "user": views.user(user),
            "token": deps.tokens.issue(user.id),
            "token_type": "Bearer",
            "expires_in": deps.tokens.ttl_seconds,
        }

    @app.post("/users")
    @app.post("/register")
    def register():
        data = bodies.REGISTER.check(bodies.read_json(request.environ))
        user = deps.backend.call("users", "CreateUser", user_pb2.CreateUserRequest(**data), caller.request_id()).user
        response.status = 201
        response.set_header("Location", f"/users/{user.id}")
        return with_token(user)

    @app.post("/login")
    def login():
        data = bodies.LOGIN.check(bodies.read_json(request.environ))
        try:
            user = deps.backend.call("users", "AuthenticateUser", user_pb2.AuthenticateUserRequest(**data),
                                     caller.request_id()).user
        except grpc.RpcError as error:
            if error.code() is grpc.StatusCode.UNAUTHENTICATED:
                raise unauthenticated("username or password is incorrect, or the account is deactivated",
                                      invalid_token=False) from None
            raise
        return with_token(user)

    @app.get("/users/<user_id:int>")
    def get_user(user_id: int):
        user = caller.authenticate(deps)
        caller.require_self(user, user_id, "read")
        return views.user(user)

    @app.get("/get-user")
    def get_user_seed():
        user = caller.authenticate(deps)
        claimed = bodies.query_int(request.query, "user_id", default=None, minimum=1, maximum=bodies.INT32_MAX)
        caller.require_self(user, claimed, "read")
        return views.user(user)

    def update(user: user_pb2.User, data: dict) -> dict:
        changes = {k: v for k, v in data.items() if k != "user_id"}
        reply = deps.backend.call("users", "UpdateUser", user_pb2.UpdateUserRequest(user_id=user.id, **changes),
                                  caller.request_id())
        return views.user(reply.user)

    @app.patch("/users/<user_id:int>")
    def update_user(user_id: int):
        user = caller.authenticate(deps)
        caller.require_self(user, user_id, "change")
        return update(user, bodies.UPDATE_USER.check(bodies.read_json(request.environ)))

    @app.put("/update-user")
    def update_user_seed():
        user = caller.authenticate(deps)
        data = bodies.SEED_UPDATE_USER.check(bodies.read_json(request.environ))
        caller.require_self(user, data.get("user_id"), "change")
        return update(user, data)

    def deactivate(user: user_pb2.User) -> dict:
        reply = deps.backend.call("users", "DeactivateUser", user_pb2.DeactivateUserRequest(user_id=user.id),
                                  caller.request_id())
        return views.user(reply.user)

    @app.delete("/users/<user_id:int>")
    def deactivate_user(user_id: int):
        user = caller.authenticate(deps)
        caller.require_self(user, user_id, "deactivate")
        return deactivate(user)

    @app.delete("/deactivate-user")
    def deactivate_user_seed():
        user = caller.authenticate(deps)
        data = bodies.read_json(request.environ, required=False)
        if data is not bodies.NO_BODY:
            data = bodies.SEED_USER_REF.check(data)
            caller.require_self(user, data.get("user_id"), "deactivate")
        return deactivate(user)
