"""The open paths: the greeting, health, the OpenAPI spec and Swagger UI."""
from __future__ import annotations

from bottle import Bottle, HTTPResponse, response

from merch.store.v1 import greeting_service_pb2

from api_rest import caller, docs, openapi
from api_rest.errors import ApiError


def install(app: Bottle, deps) -> None:
    spec = openapi.spec_bytes()

    @app.get("/")
    def greeting():
        reply = deps.backend.greeting.GetGreeting(greeting_service_pb2.GetGreetingRequest(), caller.context())
        return {"message": reply.message}

    @app.get("/healthz")
    def healthz():
        if not deps.backend.serving():
            raise ApiError(503, "UNAVAILABLE", "the DB service is not serving; retry in a few seconds")
        return {"status": "SERVING"}

    @app.get("/openapi.json")
    def openapi_json():
        response.content_type = "application/json"
        response.set_header("Cache-Control", "no-cache")
        return spec

    @app.get("/docs")
    def swagger_ui():
        return HTTPResponse(docs.INDEX_HTML, headers={"Content-Type": "text/html; charset=utf-8",
                                                      "Cache-Control": "no-cache"})

    @app.get("/docs/<name>")
    def swagger_asset(name: str):
        return docs.asset(name)
