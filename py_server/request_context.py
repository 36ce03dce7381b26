"""What a call carries besides its request: its id (into every log record), its deadline and its caller."""
from __future__ import annotations

import contextvars
import re
import random
from typing import NamedTuple

REQUEST_ID_HEADER = "x-request-id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_random_bits = random.getrandbits

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def accept_or_generate(candidate: str | None) -> str:
    """Keeps a caller's request id if it is a sane token, else makes a new one: 32 random hex digits,
    as uuid4().hex (an id to find a request's records by, not a secret, so not from os.urandom: a
    third of the cost on every call that comes without one)."""
    if candidate and _VALID.match(candidate):
        return candidate
    return f"{_random_bits(128):032x}"

# When the caller's deadline passes, as time.monotonic(); None when the call has no deadline.
# Write transactions check it just before they commit (py_server.store.models.write_transaction).
current_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)

# The user a call acts for, sent by the REST gateway with each operation so that the DB service checks
# the bearer token's user in the same transaction as the operation: one RPC per REST request instead
# of a GetUser first. Trusted only on calls that carry the service token (py_server.interceptors).
CALLER_ID_HEADER = "merch-caller-id"
CALLER_VERSION_HEADER = "merch-caller-token-version"
_INT32_MAX = 2**31 - 1


class Caller(NamedTuple):
    user_id: int
    token_version: int


# The caller of the call being served; None when the call names none (a service acting for itself).
current_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("caller", default=None)


def parse_caller(user_id: str | None, token_version: str | None) -> Caller:
    """The caller named by the two metadata values; ValueError (header, reason) if either is missing or malformed."""
    values = []
    for header, raw, low in ((CALLER_ID_HEADER, user_id, 1), (CALLER_VERSION_HEADER, token_version, 0)):
        if raw is None:
            raise ValueError(header, "is required when the other caller header is sent")
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and low <= int(raw) <= _INT32_MAX):
            raise ValueError(header, f"must be a whole number from {low} to {_INT32_MAX} in decimal digits")
        values.append(int(raw))
    return Caller(*values)
