"""Orders: place, list, read, change and cancel one's own orders.

Every call to the DB service is scoped to the caller (`user_id` of the
request), so another user's order is reported as missing (404): ids cannot be
probed. A `user_id` in the path, query or body, as the seed's requests carry
it, must be the caller's own (403 otherwise; api_rest.caller). Placing an
order takes an `Idempotency-Key`.
"""
from __future__ import annotations

from bottle import Bottle, request, response

from merch.store.v1 import order_pb2

from api_rest import bodies, caller, views


def install(app: Bottle, deps) -> None:
    orders = deps.backend.orders

    @app.post("/orders")
    @app.post("/place-order")
    def place_order():
        ctx = caller.authenticate(deps)
        key = caller.idempotency_key()
        message = caller.message(bodies.PLACE_ORDER, user_id=ctx.user_id)
        reply, replayed = orders.PlaceOrder.idempotent(message, ctx, key)
        caller.replayed(replayed)
        response.status = 201
        response.set_header("Location", f"/orders/{reply.order.id}")
        return views.order(reply.order)

    @app.get("/orders")
    def list_orders():
        ctx = caller.authenticate(deps)
        query = request.query
        message = caller.valid(order_pb2.ListOrdersRequest(
            user_id=ctx.user_id,
            page_size=bodies.query_int(query, "page_size", default=0),
            page_token=bodies.query_text(query, "page_token"),
        ))
        reply = orders.ListOrders(message, ctx)
        return {"orders": [views.order(o) for o in reply.orders], "next_page_token": reply.next_page_token}

    @app.get("/orders/<order_id>")
    @app.get("/get-order/<order_id>")
    def get_order(order_id: str):
        ctx = caller.authenticate(deps)
        message = caller.valid(order_pb2.GetOrderRequest(order_id=bodies.whole_number("order_id", order_id),
                                                         user_id=ctx.user_id))
        return views.order(orders.GetOrder(message, ctx).order)

    @app.patch("/orders/<order_id>")
    def update_order(order_id: str):
        ctx = caller.authenticate(deps)
        message = caller.message(bodies.UPDATE_ORDER, user_id=ctx.user_id,
                                 order_id=bodies.whole_number("order_id", order_id))
        return views.order(orders.UpdateOrder(message, ctx).order)

    @app.put("/update-order")
    def update_order_seed():
        ctx = caller.authenticate(deps)
        message = caller.message(bodies.SEED_UPDATE_ORDER, user_id=ctx.user_id)
        return views.order(orders.UpdateOrder(message, ctx).order)

    @app.delete("/orders/<order_id>")
    @app.delete("/cancel-order/<order_id>")
    def cancel_order(order_id: str):
        ctx = caller.authenticate(deps)
        message = caller.valid(order_pb2.CancelOrderRequest(order_id=bodies.whole_number("order_id", order_id),
                                                            user_id=ctx.user_id))
        return views.order(orders.CancelOrder(message, ctx).order)
