"""Wiring: the Bottle app, its routes, its error handling, and the request-log middleware around it.

`create_app(deps)` returns the Bottle app; `create_wsgi(deps)` wraps it in the
request-log middleware, and that is what a WSGI server serves. Handlers
return dicts (encoded by api_rest.money.dumps, which writes money exactly);
failures are raised as ApiError or grpc.RpcError and become the one JSON
error shape of api_rest.errors.
"""
from __future__ import annotations

import dataclasses
import functools
import logging

import bottle
import grpc
from bottle import Bottle, HTTPResponse, request, response

from api_rest import caller, money, routes_orders, routes_products, routes_public, routes_users
from api_rest.auth import TokenAuthority
from api_rest.clients import Backend
from api_rest.errors import ApiError, from_rpc_error, internal
from api_rest.metrics import HttpMetrics
from api_rest.requestlog import RequestLog
from py_server import telemetry

_log = logging.getLogger(__name__)

JSON = "application/json"


@dataclasses.dataclass
class Deps:
    """What the app needs from outside: the DB service, the token authority, the log shipper."""

    backend: Backend
    tokens: TokenAuthority
    shipper: object  # py_server.logship.LogShipper or anything with its `log(...)`


def error_response(error: ApiError) -> str:
    """Sets the status and headers of `error` on the current response and returns its JSON body."""
    response.status = error.status
    response.content_type = JSON
    for name, value in error.headers.items():
        response.set_header(name, value)
    return money.dumps(error.body(caller.request_id()))


class ApiPlugin:
    """Runs every handler: dict results become JSON, failures become the error shape."""

    name = "merch_api"
    api = 2

    def apply(self, callback, route):
        @functools.wraps(callback)
        def wrapper(*args, **kwargs):
            try:
                result = callback(*args, **kwargs)
            except HTTPResponse:
                raise
            except ApiError as error:
                return error_response(error)
            except grpc.RpcError as error:
                return error_response(from_rpc_error(error, f"{route.method} {route.rule}"))
            except Exception:  # noqa: BLE001 - anything unforeseen is logged in full and reported without detail
                _log.exception("unexpected error in %s %s (request %s)", request.method, request.path,
                               caller.request_id())
                return error_response(internal())
            if isinstance(result, dict):
                response.content_type = JSON
                return money.dumps(result)
            return result

        return wrapper


def _install_error_handlers(app: Bottle) -> None:
    """Errors raised before or outside a handler (unknown path, wrong method) in the same JSON shape."""

    @app.error(404)
    def no_such_path(_error):
        return error_response(ApiError(404, "NOT_FOUND",
                                       f"no such path: {request.path}; the API is described at /openapi.json"))

    @app.error(405)
    def wrong_method(error):
        allowed = error.headers.get("Allow", "")
        return error_response(ApiError(405, "UNIMPLEMENTED",
                                       f"{request.path} does not support {request.method}; it supports {allowed}",
                                       headers={"Allow": allowed}))

    @app.error(500)
    def unexpected(_error):
        return error_response(internal())

    for status in (400, 413, 414, 431):  # Bottle's own refusals of a malformed request
        app.error(status)(lambda error, status=status: error_response(
            ApiError(status, "INVALID_ARGUMENT", f"the request is malformed: {error.body or 'bad request'}")))


def create_app(deps: Deps) -> Bottle:
    app = Bottle()
    app.uninstall("json")  # ApiPlugin encodes dicts itself, money exactly
    app.install(ApiPlugin())
    _install_error_handlers(app)
    routes_public.install(app, deps)
    routes_products.install(app, deps)
    routes_users.install(app, deps)
    routes_orders.install(app, deps)
    return app


def create_wsgi(deps: Deps):
    """The app inside the request-log middleware, inside the trace span (OpenTelemetry's
    WSGI middleware), inside the metrics: what the WSGI server runs."""
    bottle.BaseRequest.MEMFILE_MAX = 64 * 1024
    return HttpMetrics(telemetry.wsgi_middleware(RequestLog(create_app(deps), deps.shipper)))
