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
from api_rest.bodies import INT32_MAX


def _order_id(raw) -> int:
    return raw if isinstance(raw, int) else bodies.whole_number("order_id", raw, minimum=1, maximum=INT32_MAX)


def install(app: Bottle, deps) -> None:
    def call(method: str, message):
        return deps.backend.call("orders", method, message, caller.request_id())

    @app.post("/orders")
    @app.post("/place-order")
    def place_order():
        user = caller.authenticate(deps)
        key = caller.idempotency_key()
        data = caller.checked_body(bodies.PLACE_ORDER)
        reply, replayed = deps.backend.call_idempotent("orders", "PlaceOrder", order_pb2.PlaceOrderRequest(
            user_id=user.id, product_id=data["product_id"], quantity=data["quantity"]), caller.request_id(), key)
        caller.replayed(replayed)
        response.status = 201
        response.set_header("Location", f"/orders/{reply.order.id}")
        return views.order(reply.order)

    @app.get("/orders")
    def list_orders():
        user = caller.authenticate(deps)
        query = request.query
        reply = call("ListOrders", order_pb2.ListOrdersRequest(
            user_id=user.id,
            page_size=bodies.query_int(query, "page_size", default=0, minimum=0, maximum=1000),
            page_token=bodies.query_text(query, "page_token", max_length=20),
        ))
        return {"orders": [views.order(o) for o in reply.orders], "next_page_token": reply.next_page_token}

    @app.get("/orders/<order_id>")
    @app.get("/get-order/<order_id>")
    def get_order(order_id: str):
        user = caller.authenticate(deps)
        reply = call("GetOrder", order_pb2.GetOrderRequest(order_id=_order_id(order_id), user_id=user.id))
        return views.order(reply.order)

    def update(user, order_id, data: dict) -> dict:
        changes = {k: data[k] for k in ("quantity", "product_id") if k in data}
        reply = call("UpdateOrder", order_pb2.UpdateOrderRequest(order_id=_order_id(order_id), user_id=user.id,
                                                                 **changes))
        return views.order(reply.order)

    @app.patch("/orders/<order_id>")
    def update_order(order_id: str):
        user = caller.authenticate(deps)
        return update(user, order_id, caller.checked_body(bodies.UPDATE_ORDER))

    @app.put("/update-order")
    def update_order_seed():
        user = caller.authenticate(deps)
        data = caller.checked_body(bodies.SEED_UPDATE_ORDER)
        return update(user, data["order_id"], data)

    @app.delete("/orders/<order_id>")
    @app.delete("/cancel-order/<order_id>")
    def cancel_order(order_id: str):
        user = caller.authenticate(deps)
        reply = call("CancelOrder", order_pb2.CancelOrderRequest(order_id=_order_id(order_id), user_id=user.id))
        return views.order(reply.order)
