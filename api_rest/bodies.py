"""Request bodies and query parameters: read them within bounds, and parse them into request messages.

What a valid request is (ranges, lengths, patterns, required fields) is stated
once, as protovalidate rules in the protos: api_rest.caller checks the parsed
message with the same rules as the DB service, and api_rest.openapi writes the
same rules into the document. What stays here is what a proto cannot say: the
limits of the JSON text itself (size, depth, members, digits, checked before
anything is converted), the JSON type of each member, which members a body
takes (unknown ones are refused), and the few rules that belong to a body
rather than to its message (an update must change something).
"""
from __future__ import annotations

import dataclasses
import json
import re
from typing import Generic, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from merch.store.v1 import order_pb2, user_pb2

from api_rest.errors import ApiError, invalid

MAX_BODY_BYTES = 64 * 1024
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

MessageT = TypeVar("MessageT", bound=Message)


@dataclasses.dataclass(frozen=True)
class Member:
    """One JSON member of a body: a field of the request message, under the field's own name
    (the seed's keys are the proto's field names, so no key needs mapping)."""

    name: str
    description: str
    example: object = None
    from_caller: bool = False  # the route sets it (the token's user); the body may only repeat it
    secret: bool = False  # a password: OpenAPI format "password"


@dataclasses.dataclass(frozen=True)
class Body(Generic[MessageT]):
    """A JSON object body that fills the request message `message`."""

    name: str  # its schema's name in the OpenAPI document
    description: str
    message: type[MessageT]
    members: tuple[Member, ...]
    at_least_one_of: tuple[str, ...] = ()
    # (a, b): when a is given, b is required too. Checked by the DB service (a rule between two
    # fields that the proto states in words); here so that the OpenAPI document states it.
    needs: tuple[tuple[str, str], ...] = ()

    def field(self, member: Member) -> FieldDescriptor:
        return self.message.DESCRIPTOR.fields_by_name[member.name]

    def parse(self, data) -> MessageT:
        """The message `data` describes; 400 naming every member that is unknown or of the wrong
        JSON type, or when none of `at_least_one_of` is given. The proto's rules are checked after."""
        if not isinstance(data, dict):
            raise invalid([("body", f"must be a JSON object, got {_json_type(data)}")],
                          "the request body must be a JSON object")
        known = {m.name: m for m in self.members}
        violations: list[tuple[str, str]] = []
        for name in data:
            if name not in known:
                violations.append((name[:_SHOWN], f"is not a field of this request; it takes {', '.join(known)}"))
        for name, value in data.items():
            if name in known:
                problem = _type_problem(self.field(known[name]), value)
                if problem:
                    violations.append((name, problem))
        if self.at_least_one_of and not any(name in data for name in self.at_least_one_of):
            violations.append(("body", f"give at least one of {', '.join(self.at_least_one_of)}"))
        if violations:
            raise invalid(violations)
        return json_format.ParseDict(data, self.message())


_INTEGER_RANGE = {FieldDescriptor.CPPTYPE_INT32: (INT32_MIN, INT32_MAX),
                  FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1)}


def _type_problem(field: FieldDescriptor, value) -> str | None:
    """What is wrong with `value` as JSON for `field`, before it is converted; None if nothing.
    Stricter than protobuf's JSON mapping, which also takes numbers written as strings."""
    if field.cpp_type in _INTEGER_RANGE:
        low, high = _INTEGER_RANGE[field.cpp_type]
        if isinstance(value, _BadNumber):
            return f"must be a whole number from {low} to {high}; {value.reason}, got {value.sample}"
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer, got {_json_type(value)}"
        if not low <= value <= high:
            return f"must be a whole number from {low} to {high}, got {value}"
        return None
    if not isinstance(value, str):
        return f"must be a string, got {_json_type(value)}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (it holds a lone surrogate)"
    return None


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, _BadNumber):
        return "a number that is not a valid integer"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# --- bounded JSON -------------------------------------------------------------------------------
# Every limit is checked before the value it guards is converted or walked, so no body, however
# hostile, costs more than a linear scan of its (at most 64 KiB) text.

MAX_DEPTH = 4  # the deepest valid body is one object; a little room for a clear field error
MAX_KEYS = 32  # members of one object; the widest valid body has 6
MAX_NUMBER_DIGITS = 19  # int64's width: no field is wider, so a longer literal is never converted
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_SHOWN = 24  # characters of a refused literal quoted back in a message


class _BadNumber:
    """A JSON number that cannot be any field's integer, kept as (a bounded sample of) its text."""

    __slots__ = ("sample", "reason")

    def __init__(self, text: str, reason: str):
        self.sample = text if len(text) <= _SHOWN else f"{text[:_SHOWN]}… ({len(text)} characters)"
        self.reason = reason


def _parse_int(text: str):
    if len(text) - text.startswith("-") > MAX_NUMBER_DIGITS:
        return _BadNumber(text, "too many digits")
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else _BadNumber(text, "outside the 64-bit range")


def _parse_float(text: str):
    if "e" in text or "E" in text:
        return _BadNumber(text, "write it without an exponent")
    whole, _, fraction = text.partition(".")
    if fraction.strip("0"):
        return _BadNumber(text, "it has a fraction")
    return _parse_int(whole)  # 2.0 is the integer 2


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class _Refused(ValueError):
    """A body that is JSON but breaks a structural limit; the message says which."""


def _object(pairs: list[tuple[str, object]]) -> dict:
    if len(pairs) > MAX_KEYS:
        raise _Refused(f"an object has {len(pairs)} members; at most {MAX_KEYS} are allowed")
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(name for name, _ in pairs if name in seen or seen.add(name))
        raise _Refused(f"the member {_shown(duplicate)} is given twice")
    return result


_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def _check_depth(text: str) -> None:
    """Refuses nesting deeper than MAX_DEPTH before the parser recurses into it."""
    depth = 0
    for bracket in _NOT_A_BRACKET.sub("", _STRING_LITERAL.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            raise _Refused(f"the body nests deeper than {MAX_DEPTH} levels")


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else f"{text[:_SHOWN]}…")


_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_int=_parse_int, parse_float=_parse_float,
                            parse_constant=_refuse_constant)


NO_BODY = object()  # what read_json returns for an absent optional body (JSON null is a body)


def read_json(environ, *, required: bool = True):
    """Reads the request body as bounded JSON: 413 over 64 KiB, 415 for another media type, 400 if
    malformed or beyond a limit (depth, members, duplicate members).

    Integer literals longer than int64, or written with an exponent or a
    fraction, are not converted: they stay _BadNumber and the field that
    receives one reports it. Returns NO_BODY for an empty optional body.
    """
    content_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    raw = _read_limited(environ)
    if not raw:
        if required:
            raise invalid([("body", "is required: send a JSON object")], "the request needs a JSON object body")
        return NO_BODY
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError(415, "INVALID_ARGUMENT",
                       f"the body must be JSON: send 'Content-Type: application/json', not {content_type!r}")
    try:
        text = raw.decode("utf-8")
        _check_depth(text)
        return _DECODER.decode(text)
    except UnicodeDecodeError:
        raise invalid([("body", "must be UTF-8 encoded JSON")], "the request body is not UTF-8") from None
    except _Refused as error:
        raise invalid([("body", str(error))], f"the request body is refused: {error}") from None
    except (ValueError, RecursionError) as error:
        where = f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        raise invalid([("body", f"is not valid JSON{where}")], f"the request body is not valid JSON{where}") from None


MAX_DRAINED_BYTES = 1024 * 1024


def _too_large(stream, remaining: int | None) -> ApiError:
    """413; a body of up to 1 MiB is first read to its end and dropped.

    A client still writing its body when the server closes the connection
    sees a reset instead of the answer, so a moderately large body is
    drained and the connection stays usable; a larger one (by its
    Content-Length, or once 1 MiB of a chunked one was read) is not waited
    for: the answer asks to close the connection (gunicorn closes by itself a
    connection whose leftover body it cannot drain).
    """
    drained, finished = 0, False
    if stream is not None and (remaining is None or remaining <= MAX_DRAINED_BYTES):
        while drained <= MAX_DRAINED_BYTES:
            chunk = stream.read(64 * 1024 if remaining is None else min(64 * 1024, remaining - drained))
            drained += len(chunk)
            if not chunk or remaining is not None and drained >= remaining:
                finished = True
                break
    return ApiError(413, "RESOURCE_EXHAUSTED",
                    f"the request body is larger than {MAX_BODY_BYTES // 1024} KiB; no request here needs that much",
                    headers={} if finished else {"Connection": "close"})


def _read_limited(environ) -> bytes:
    stream = environ.get("wsgi.input")
    length_text = environ.get("CONTENT_LENGTH", "").strip()
    if length_text:
        try:
            length = int(length_text)
        except ValueError:
            raise ApiError(400, "INVALID_ARGUMENT", "the Content-Length header is not a number") from None
        if length > MAX_BODY_BYTES:
            raise _too_large(stream, length)
        return stream.read(length) if length > 0 and stream is not None else b""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() and stream is not None:
        data = stream.read(MAX_BODY_BYTES + 1)
        if len(data) > MAX_BODY_BYTES:
            raise _too_large(stream, None)
        return data
    return b""


def whole_number(name: str, raw: str, *, minimum: int = INT32_MIN, maximum: int = INT32_MAX) -> int:
    """A decimal integer from a query parameter or path segment, bounded before it is converted
    (by default to int32, the type of every id and size; the proto's rules come after)."""
    digits = raw[1:] if raw.startswith("-") else raw
    if not (digits.isascii() and digits.isdigit() and len(digits) <= MAX_NUMBER_DIGITS) \
            or not minimum <= int(raw) <= maximum:
        raise invalid([(name, f"must be a whole number from {minimum} to {maximum}, got {_shown(raw)}")])
    return int(raw)


def query_int(query, name: str, *, default: int | None, minimum: int = INT32_MIN, maximum: int = INT32_MAX) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    return whole_number(name, raw, minimum=minimum, maximum=maximum)


def query_text(query, name: str) -> str:
    return query.get(name) or ""


# --- the bodies --------------------------------------------------------------------------------

OWN_USER_ID = Member("user_id", "the caller's own user id, optional; when given it must match the token's user "
                                "(else 403)", example=1, from_caller=True)
_SID = Member("sid", "the SUSTech student id, 1 to 20 characters, unique", "12110001")
_USERNAME = Member("username", "the login name, 1 to 50 characters, unique", "alice")
_EMAIL = Member("email", "the contact address, 3 to 254 characters with an '@', unique", "alice@sustech.edu.cn")
_PASSWORD = Member("password", "the password, 8 to 72 bytes of UTF-8 (bcrypt's limit); never stored or returned "
                               "as given", "correct horse", secret=True)
_CHANGES = ("sid", "username", "email", "password")

REGISTER = Body("RegisterRequest", "A new user's details.", user_pb2.CreateUserRequest,
                (_SID, _USERNAME, _EMAIL, _PASSWORD))
LOGIN = Body("LoginRequest", "Login credentials.", user_pb2.AuthenticateUserRequest, (
    Member("username", "the login name", "alice"),
    Member("password", "the password, at most 72 bytes of UTF-8", "correct horse", secret=True),
))
UPDATE_USER = Body(
    "UpdateUserRequest", "The fields to change; the others keep their value. A new password needs "
    "current_password, and ends every token issued before it.", user_pb2.UpdateUserRequest,
    (OWN_USER_ID, _SID, _USERNAME, _EMAIL, _PASSWORD,
     Member("current_password", "the present password; required with password (403 when wrong)", "correct horse",
            secret=True)),
    at_least_one_of=_CHANGES, needs=(("password", "current_password"),))
SEED_UPDATE_USER = dataclasses.replace(
    UPDATE_USER, name="SeedUpdateUserRequest",
    description="The seed's form of a user update: the fields to change, optionally with the caller's id.")
SEED_USER_REF = Body("SeedUserReference", "Optionally, the caller's own id, as the seed's requests carry it.",
                     user_pb2.DeactivateUserRequest, (OWN_USER_ID,))

_PRODUCT_ID = Member("product_id", "the product to buy, 1 or more", 3)
_QUANTITY = Member("quantity", "the number of items, 1 to 3", 2)
PLACE_ORDER = Body("PlaceOrderRequest", "The order to place. The buyer is the token's user.",
                   order_pb2.PlaceOrderRequest, (OWN_USER_ID, _PRODUCT_ID, _QUANTITY))
_ORDER_CHANGES = (OWN_USER_ID, dataclasses.replace(_PRODUCT_ID, description="the new product, 1 or more"),
                  dataclasses.replace(_QUANTITY, description="the new number of items, 1 to 3"))
UPDATE_ORDER = Body("UpdateOrderRequest", "The order's new quantity and/or product.", order_pb2.UpdateOrderRequest,
                    _ORDER_CHANGES, at_least_one_of=("quantity", "product_id"))
SEED_UPDATE_ORDER = Body("SeedUpdateOrderRequest", "The seed's form of an order update: the order id in the body.",
                         order_pb2.UpdateOrderRequest,
                         (Member("order_id", "the order to change, 1 or more", 1), *_ORDER_CHANGES),
                         at_least_one_of=("quantity", "product_id"))

ALL_BODIES = (REGISTER, LOGIN, UPDATE_USER, SEED_UPDATE_USER, SEED_USER_REF, PLACE_ORDER, UPDATE_ORDER,
              SEED_UPDATE_ORDER)
