"""Money is written exactly, from integer cents, with two decimals."""
from __future__ import annotations

import json

import pytest

from api_rest.money import Money, dumps


@pytest.mark.parametrize("cents, text", [
    (4999, "49.99"), (5000, "50.00"), (1, "0.01"), (10, "0.10"), (0, "0.00"), (-250, "-2.50"),
    (99_999_999, "999999.99"), (10**20 + 7, "1000000000000000000.07"),
])
def test_cents_become_two_decimal_number_text(cents, text):
    assert dumps({"price": Money(cents)}) == f'{{"price": {text}}}'


def test_money_refuses_anything_but_integer_cents():
    for bad in (49.99, "4999", True):
        with pytest.raises(TypeError):
            Money(bad)


def test_floats_cannot_slip_into_a_response():
    with pytest.raises(TypeError):
        dumps({"price": 49.99})


def test_the_encoding_is_json_for_everything_else():
    value = {"s": 'quote " and \\ and \u00e9 and \n', "n": None, "t": True, "f": False, "i": -3,
             "l": [1, "two", {"three": []}], "e": {}}
    assert json.loads(dumps(value)) == value
