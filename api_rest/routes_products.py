"""Products: read-only over REST (the catalogue is administered over gRPC)."""
from __future__ import annotations

from bottle import Bottle, request

from merch.store.v1 import product_pb2

from api_rest import caller, views
from api_rest.bodies import query_int, query_text, whole_number


def install(app: Bottle, deps) -> None:
    products = deps.backend.products

    @app.get("/products")
    def list_products():
        ctx = caller.authenticate(deps)
        query = request.query
        message = caller.valid(product_pb2.ListProductsRequest(
            page_size=query_int(query, "page_size", default=0),
            page_token=query_text(query, "page_token"),
            category=query_text(query, "category"),
        ))
        reply = products.ListProducts(message, ctx)
        return {"products": [views.product(p) for p in reply.products], "next_page_token": reply.next_page_token}

    @app.get("/products/<product_id>")
    def get_product(product_id: str):
        ctx = caller.authenticate(deps)
        message = caller.valid(product_pb2.GetProductRequest(product_id=whole_number("product_id", product_id)))
        return views.product(products.GetProduct(message, ctx).product)
