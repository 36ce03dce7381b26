"""Request bodies and query parameters: read, parse and check them, reporting every bad field at once.

Each body is described once, as a `Body` of `Field`s; the same description
checks requests here and becomes the body's JSON Schema in the OpenAPI spec,
so the two cannot disagree. The gateway checks everything the spec states
(JSON object, types, int32 ranges, lengths in characters and bytes, no
control characters, unknown fields refused); the DB service checks the rest
(uniqueness, existence, stock) and its field violations are passed on unchanged.
"""
from __future__ import annotations

import dataclasses
import json
import re

from api_rest.errors import ApiError, invalid

MAX_BODY_BYTES = 64 * 1024
INT32_MAX = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Pattern:
    """A regular expression written so that Python and ECMA-262 (JSON Schema) read it alike
    (character classes with \\x escapes; `\\s` is Python's Unicode whitespace, as str.strip() uses)."""

    regex: str
    description: str

    def matches(self, value: str) -> bool:
        return re.fullmatch(self.regex, value) is not None


# No control characters (C0, DEL, C1), as the DB service demands of text a person reads.
_PRINTABLE = r"[^\x00-\x1f\x7f-\x9f]"
NAME = Pattern(rf"^{_PRINTABLE}*[^\s\x00-\x1f\x7f-\x9f]{_PRINTABLE}*$",
               "must contain a visible character and no control characters")
EMAIL_ADDRESS = Pattern(r"^[^\x00-\x20\x7f-\x9f]+@[^\x00-\x20\x7f-\x9f@]+$",
                        "must be an email address like name@example.com (no spaces or control characters)")
NO_NUL = Pattern(r"^[^\x00]*$", "must not contain NUL characters")


@dataclasses.dataclass(frozen=True)
class Field:
    """One JSON member: an integer (int32) or a string, with its limits."""

    name: str
    kind: str  # "integer" or "string"
    description: str
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    max_bytes: int | None = None  # UTF-8 bytes (bcrypt reads at most 72)
    min_bytes: int | None = None
    format: str | None = None
    pattern: Pattern | None = None
    example: object = None

    def check(self, value, violations: list[tuple[str, str]]):
        """The value as the gateway uses it; a violation is recorded when it does not fit."""
        if self.kind == "integer":
            return self._check_integer(value, violations)
        if not isinstance(value, str):
            violations.append((self.name, f"must be a string, got {_json_type(value)}"))
            return value
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            violations.append((self.name, "must be valid Unicode text (it holds a lone surrogate)"))
            return value
        if self.min_length is not None and len(value) < self.min_length:
            violations.append((self.name, "must not be empty" if self.min_length == 1
                               else f"must be at least {self.min_length} characters"))
        elif self.max_length is not None and len(value) > self.max_length:
            violations.append((self.name, f"must be at most {self.max_length} characters, got {len(value)}"))
        elif self.min_bytes is not None and size < self.min_bytes:
            violations.append((self.name, f"must be at least {self.min_bytes} bytes"))
        elif self.max_bytes is not None and size > self.max_bytes:
            violations.append((self.name, f"must be at most {self.max_bytes} bytes of UTF-8, got {size}"))
        elif self.pattern is not None and not self.pattern.matches(value):
            violations.append((self.name, self.pattern.description))
        return value

    def _check_integer(self, value, violations: list[tuple[str, str]]):
        # Numbers were bounded while parsing (see _BadNumber): one that could not be a valid
        # integer of any field never became a Python int. 2.0 was read as 2 (JSON Schema's rule).
        if isinstance(value, _BadNumber):
            violations.append((self.name, f"must be a whole number from {self.minimum} to {self.maximum}; "
                                          f"{value.reason}, got {value.sample}"))
        elif isinstance(value, bool) or not isinstance(value, int):
            violations.append((self.name, f"must be an integer, got {_json_type(value)}"))
        elif self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
            violations.append((self.name, f"must be between {self.minimum} and {self.maximum}, got {value}"))
        return value

    def json_schema(self) -> dict:
        schema: dict = {"type": self.kind, "description": self.description}
        if self.kind == "integer":
            schema["format"] = "int32"
        for key, value in (("minimum", self.minimum), ("maximum", self.maximum),
                           ("minLength", self.min_length), ("maxLength", self.max_length),
                           ("format", self.format)):
            if value is not None:
                schema[key] = value
        if self.pattern is not None:
            schema["pattern"] = self.pattern.regex
        if self.example is not None:
            schema["examples"] = [self.example]
        return schema


@dataclasses.dataclass(frozen=True)
class Body:
    """A JSON object body: its fields, and which of them at least one must be given."""

    name: str
    description: str
    fields: tuple[Field, ...]
    at_least_one_of: tuple[str, ...] = ()
    needs: tuple[tuple[str, str], ...] = ()  # (a, b): when a is given, b is required too

    def check(self, data) -> dict:
        if not isinstance(data, dict):
            raise invalid([("body", f"must be a JSON object, got {_json_type(data)}")],
                          "the request body must be a JSON object")
        violations: list[tuple[str, str]] = []
        known = {f.name: f for f in self.fields}
        for name in data:
            if name not in known:
                violations.append((name[:_SHOWN], f"is not a field of this request; it takes {', '.join(known)}"))
        checked = {}
        for field in self.fields:
            if field.name in data:
                checked[field.name] = field.check(data[field.name], violations)
            elif field.required:
                violations.append((field.name, "is required"))
        if self.at_least_one_of and not any(name in data for name in self.at_least_one_of):
            violations.append(("body", f"give at least one of {', '.join(self.at_least_one_of)}"))
        for given, needed in self.needs:
            if given in data and needed not in data:
                violations.append((needed, f"is required with {given}"))
        if violations:
            raise invalid(violations)
        return checked

    def json_schema(self) -> dict:
        schema = {
            "type": "object",
            "description": self.description,
            "properties": {f.name: f.json_schema() for f in self.fields},
            "additionalProperties": False,
        }
        required = [f.name for f in self.fields if f.required]
        if required:
            schema["required"] = required
        if self.at_least_one_of:
            schema["minProperties"] = 1
            schema["anyOf"] = [{"required": [name]} for name in self.at_least_one_of]
        if self.needs:
            schema["dependentRequired"] = {given: [needed] for given, needed in self.needs}
        return schema


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


def whole_number(name: str, raw: str, *, minimum: int, maximum: int) -> int:
    """A decimal integer from a query parameter or path segment, bounded before it is converted."""
    digits = raw[1:] if raw.startswith("-") else raw
    if not (digits.isascii() and digits.isdigit() and len(digits) <= MAX_NUMBER_DIGITS) \
            or not minimum <= int(raw) <= maximum:
        raise invalid([(name, f"must be a whole number from {minimum} to {maximum}, got {_shown(raw)}")])
    return int(raw)


def query_int(query, name: str, *, default: int | None, minimum: int, maximum: int) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    return whole_number(name, raw, minimum=minimum, maximum=maximum)


def query_text(query, name: str, *, max_length: int) -> str:
    raw = query.get(name) or ""
    if len(raw) > max_length:
        raise invalid([(name, f"must be at most {max_length} characters, got {len(raw)}")])
    return raw


# --- the bodies --------------------------------------------------------------------------------

USER_ID_IN_BODY = Field(
    "user_id", "integer", "the caller's own user id, optional; when given it must match the token's user (else 403)",
    minimum=1, maximum=INT32_MAX, example=1)
SID = "sid", "string", "the SUSTech student id, 1 to 20 characters, unique"
USERNAME = "username", "string", "the login name, 1 to 50 characters, unique"
EMAIL = "email", "string", "the contact address, 3 to 254 characters with an '@', unique"
PASSWORD = ("password", "string",
            "the password, 8 to 72 bytes of UTF-8 (bcrypt's limit); never stored or returned as given")


def _user_fields(required: bool) -> tuple[Field, ...]:
    return (
        Field(*SID, required=required, min_length=1, max_length=20, pattern=NAME, example="12110001"),
        Field(*USERNAME, required=required, min_length=1, max_length=50, pattern=NAME, example="alice"),
        Field(*EMAIL, required=required, min_length=3, max_length=254, pattern=EMAIL_ADDRESS,
              example="alice@sustech.edu.cn"),
        Field(*PASSWORD, required=required, min_length=8, max_length=72, min_bytes=8, max_bytes=72,
              pattern=NO_NUL, format="password", example="correct horse"),
    )


REGISTER = Body("RegisterRequest", "A new user's details.", _user_fields(required=True))
LOGIN = Body("LoginRequest", "Login credentials.", (
    Field("username", "string", "the login name", required=True, min_length=1, max_length=50, pattern=NAME,
          example="alice"),
    Field("password", "string", "the password, at most 72 bytes of UTF-8", required=True, min_length=1,
          max_length=72, max_bytes=72, format="password", example="correct horse"),
))
CURRENT_PASSWORD = Field(
    "current_password", "string", "the present password; required with password (403 when wrong)",
    min_length=1, max_length=72, max_bytes=72, format="password", example="correct horse")
UPDATE_USER = Body("UpdateUserRequest",
                   "The fields to change; the others keep their value. A new password needs current_password, "
                   "and ends every token issued before it.",
                   (USER_ID_IN_BODY, *_user_fields(required=False), CURRENT_PASSWORD),
                   at_least_one_of=("sid", "username", "email", "password"),
                   needs=(("password", "current_password"),))
SEED_UPDATE_USER = dataclasses.replace(
    UPDATE_USER, name="SeedUpdateUserRequest",
    description="The seed's form of a user update: the fields to change, optionally with the caller's id.")
SEED_USER_REF = Body("SeedUserReference", "Optionally, the caller's own id, as the seed's requests carry it.",
                     (USER_ID_IN_BODY,))

PRODUCT_ID = Field("product_id", "integer", "the product to buy, 1 or more", minimum=1, maximum=INT32_MAX, example=3)
QUANTITY = Field("quantity", "integer", "the number of items, 1 to 3", minimum=1, maximum=3, example=2)

PLACE_ORDER = Body("PlaceOrderRequest", "The order to place. The buyer is the token's user.", (
    USER_ID_IN_BODY, dataclasses.replace(PRODUCT_ID, required=True), dataclasses.replace(QUANTITY, required=True),
))
UPDATE_ORDER = Body("UpdateOrderRequest", "The order's new quantity and/or product.", (
    USER_ID_IN_BODY,
    dataclasses.replace(PRODUCT_ID, description="the new product, 1 or more"),
    dataclasses.replace(QUANTITY, description="the new number of items, 1 to 3"),
), at_least_one_of=("quantity", "product_id"))
SEED_UPDATE_ORDER = Body("SeedUpdateOrderRequest", "The seed's form of an order update: the order id in the body.", (
    Field("order_id", "integer", "the order to change, 1 or more", required=True, minimum=1, maximum=INT32_MAX,
          example=1),
    *UPDATE_ORDER.fields,
), at_least_one_of=("quantity", "product_id"))

ALL_BODIES = (REGISTER, LOGIN, UPDATE_USER, SEED_UPDATE_USER, SEED_USER_REF, PLACE_ORDER, UPDATE_ORDER,
              SEED_UPDATE_ORDER)
