"""Products: read-only over REST (the catalogue is administered over gRPC)."""
from __future__ import annotations

from bottle import Bottle, request

from merch.store.v1 import product_pb2

from api_rest import caller, views
from api_rest.bodies import INT32_MAX, query_int, query_text, whole_number


def install(app: Bottle, deps) -> None:
    @app.get("/products")
    def list_products():
        caller.authenticate(deps)
        query = request.query
        reply = deps.backend.call("products", "ListProducts", product_pb2.ListProductsRequest(
            page_size=query_int(query, "page_size", default=0, minimum=0, maximum=1000),
            page_token=query_text(query, "page_token", max_length=20),
            category=query_text(query, "category", max_length=50),
        ), caller.request_id())
        return {"products": [views.product(p) for p in reply.products], "next_page_token": reply.next_page_token}

    @app.get("/products/<product_id>")
    def get_product(product_id: str):
        caller.authenticate(deps)
        product_id = whole_number("product_id", product_id, minimum=1, maximum=INT32_MAX)
        reply = deps.backend.call("products", "GetProduct", product_pb2.GetProductRequest(product_id=product_id),
                                  caller.request_id())
        return views.product(reply.product)
