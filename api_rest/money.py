"""Exact money in JSON, and the gateway's JSON encoder.

Prices travel as integer cents (int64) from the DB service. In REST they are
JSON numbers with two decimals (`49.99`, `50.00`): the text is written from
the integer, never through a binary float.
"""
from __future__ import annotations

import json


class Money:
    """An amount in integer cents that encodes as a two-decimal JSON number."""

    __slots__ = ("cents",)

    def __init__(self, cents: int):
        if not isinstance(cents, int) or isinstance(cents, bool):
            raise TypeError(f"Money takes integer cents, got {type(cents).__name__}")
        self.cents = cents

    def json_text(self) -> str:
        sign = "-" if self.cents < 0 else ""
        whole, cents = divmod(abs(self.cents), 100)
        return f"{sign}{whole}.{cents:02d}"

    def __eq__(self, other) -> bool:
        return isinstance(other, Money) and other.cents == self.cents

    def __hash__(self) -> int:
        return hash(self.cents)

    def __repr__(self) -> str:
        return f"Money({self.json_text()})"


_string = json.encoder.encode_basestring  # the stdlib's own escaping (UTF-8 output)


def dumps(value) -> str:
    """JSON text for dicts, lists, str, int, bool, None and Money; anything else is a bug."""
    parts: list[str] = []
    _encode(value, parts.append)
    return "".join(parts)


def _encode(value, emit) -> None:
    if value is None:
        emit("null")
    elif value is True:
        emit("true")
    elif value is False:
        emit("false")
    elif isinstance(value, str):
        emit(_string(value))
    elif isinstance(value, int):
        emit(int.__repr__(value))
    elif isinstance(value, Money):
        emit(value.json_text())
    elif isinstance(value, dict):
        emit("{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {type(key).__name__}")
            if index:
                emit(", ")
            emit(_string(key))
            emit(": ")
            _encode(item, emit)
        emit("}")
    elif isinstance(value, (list, tuple)):
        emit("[")
        for index, item in enumerate(value):
            if index:
                emit(", ")
            _encode(item, emit)
        emit("]")
    else:
        # Floats included: money is Money, and nothing else here is fractional.
        raise TypeError(f"cannot encode {type(value).__name__} as JSON here")
