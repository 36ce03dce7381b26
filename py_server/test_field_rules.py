"""The protos' field rules as BadRequest violations: the words both the services and the gateway send."""
from __future__ import annotations

import pytest

from merch.logging.v1 import logging_pb2
from merch.store.v1 import order_pb2, product_pb2, user_pb2
from py_server import field_rules
from py_server.errors import InvalidArgument

GOOD_USER = dict(sid="12110001", username="alice", email="alice@sustech.edu.cn", password="correct horse")

CASES = [
    ("quantity beyond 3", order_pb2.PlaceOrderRequest(user_id=1, product_id=2, quantity=4),
     [("quantity", "must be greater than or equal to 1 and less than or equal to 3")]),
    ("nothing given", order_pb2.PlaceOrderRequest(),
     [("user_id", "is required"), ("product_id", "is required"), ("quantity", "is required")]),
    ("a negative owner", order_pb2.GetOrderRequest(order_id=1, user_id=-1),
     [("user_id", "must be greater than or equal to 0")]),
    ("a page too large", order_pb2.ListOrdersRequest(user_id=1, page_size=1001),
     [("page_size", "must be greater than or equal to 0 and less than or equal to 1000")]),
    ("a blank name", product_pb2.CreateProductRequest(name="   ", category="Apparel"),
     [("name", "must contain a visible character and no control characters")]),
    ("a control character in a slogan", product_pb2.CreateProductRequest(name="n", category="c", slogan="a\x1bb"),
     [("slogan", "must not contain control characters")]),
    ("newlines in a description are fine", product_pb2.CreateProductRequest(name="n", category="c",
                                                                            description="one\n\ttwo"), []),
    ("74 bytes of UTF-8 in 37 characters", user_pb2.CreateUserRequest(**{**GOOD_USER, "password": "é" * 37}),
     [("password", "must be at most 72 bytes")]),
    ("an email without @", user_pb2.CreateUserRequest(**{**GOOD_USER, "email": "not-an-email"}),
     [("email", "must be an email address like name@example.com")]),
    ("an update sets an empty sid", user_pb2.UpdateUserRequest(user_id=1, sid=""),
     [("sid", "must be at least 1 characters")]),
    ("an update leaves fields unset", user_pb2.UpdateUserRequest(user_id=1), []),
    ("1001 log records", logging_pb2.WriteLogsRequest(records=[logging_pb2.LogRecord()] * 1001),
     [("records", "must contain no more than 1000 item(s)")]),
    ("an unknown level filter", logging_pb2.TailLogsRequest(min_level=99),
     [("min_level", "must be one of the defined enum values")]),
    # Not a proto rule: a zero-width character passes here and is refused by the store (NFKC identity rules).
    ("a zero-width space in a username", user_pb2.CreateUserRequest(**{**GOOD_USER, "username": "al\u200bice"}), []),
]


@pytest.mark.parametrize("case, message, expected", CASES, ids=[c[0] for c in CASES])
def test_violations_name_each_field_in_the_words_every_client_sees(case, message, expected):
    assert field_rules.violations(message) == expected


def test_check_raises_invalid_argument_with_one_sentence_naming_every_field():
    with pytest.raises(InvalidArgument) as raised:
        field_rules.check(order_pb2.PlaceOrderRequest(user_id=1, product_id=-2, quantity=9))
    assert raised.value.message == ("invalid request: product_id: must be greater than 0; "
                                    "quantity: must be greater than or equal to 1 and less than or equal to 3")
