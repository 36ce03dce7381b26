"""Orders: place, list, read, change and cancel one's own orders.

Every call to the DB service is scoped to the caller (`user_id` of the
request), so another user's order is reported as missing (404): ids cannot be
probed. A `user_id` in a body, as the seed's requests carry it, must be the
caller's own (403 otherwise).
"""
from __future__ import annotations

from bottle import Bottle, request, response

from merch.store.v1 import order_pb2

from api_rest import bodies, caller, views
from api_rest.bodies import INT32_MAX
from api_rest.errors import not_found


def _order_id(order_id: int) -> int:
    if not 1 <= order_id <= INT32_MAX:
        raise not_found(f"order {order_id} does not exist")
    return order_id


def install(app: Bottle, deps) -> None:
    def call(method: str, message):
        return deps.backend.call("orders", method, message, caller.request_id())

    @app.post("/orders")
    @app.post("/place-order")
    def place_order():
        user = caller.authenticate(deps)
        data = bodies.PLACE_ORDER.check(bodies.read_json(request.environ))
        caller.require_self(user, data.get("user_id"), "place orders for")
        order = call("PlaceOrder", order_pb2.PlaceOrderRequest(
            user_id=user.id, product_id=data["product_id"], quantity=data["quantity"])).order
        response.status = 201
        response.set_header("Location", f"/orders/{order.id}")
        return views.order(order)

    @app.get("/orders")
    def list_orders():
        user = caller.authenticate(deps)
        query = request.query
        caller.require_self(user, bodies.query_int(query, "user_id", default=None, minimum=1, maximum=INT32_MAX),
                            "list the orders of")
        reply = call("ListOrders", order_pb2.ListOrdersRequest(
            user_id=user.id,
            page_size=bodies.query_int(query, "page_size", default=0, minimum=0, maximum=1000),
            page_token=bodies.query_text(query, "page_token", max_length=20),
        ))
        return {"orders": [views.order(o) for o in reply.orders], "next_page_token": reply.next_page_token}

    @app.get("/orders/<order_id:int>")
    @app.get("/get-order/<order_id:int>")
    def get_order(order_id: int):
        user = caller.authenticate(deps)
        reply = call("GetOrder", order_pb2.GetOrderRequest(order_id=_order_id(order_id), user_id=user.id))
        return views.order(reply.order)

    def update(user, order_id: int, data: dict) -> dict:
        caller.require_self(user, data.get("user_id"), "change the orders of")
        changes = {k: data[k] for k in ("quantity", "product_id") if k in data}
        reply = call("UpdateOrder", order_pb2.UpdateOrderRequest(order_id=_order_id(order_id), user_id=user.id,
                                                                 **changes))
        return views.order(reply.order)

    @app.patch("/orders/<order_id:int>")
    def update_order(order_id: int):
        user = caller.authenticate(deps)
        return update(user, order_id, bodies.UPDATE_ORDER.check(bodies.read_json(request.environ)))

    @app.put("/update-order")
    def update_order_seed():
        user = caller.authenticate(deps)
        data = bodies.SEED_UPDATE_ORDER.check(bodies.read_json(request.environ))
        return update(user, data["order_id"], data)

    @app.delete("/orders/<order_id:int>")
    @app.delete("/cancel-order/<order_id:int>")
    def cancel_order(order_id: int):
        user = caller.authenticate(deps)
        reply = call("CancelOrder", order_pb2.CancelOrderRequest(order_id=_order_id(order_id), user_id=user.id))
        return views.order(reply.order)
