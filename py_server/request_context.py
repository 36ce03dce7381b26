"""The id of the request being served, carried from gRPC metadata into every log record."""
from __future__ import annotations

import contextvars
import re
import uuid

REQUEST_ID_HEADER = "x-request-id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def accept_or_generate(candidate: str | None) -> str:
    """Keeps a caller's request id if it is a sane token, else makes a new one."""
    if candidate and _VALID.match(candidate):
        return candidate
    return uuid.uuid4().hex

# When the caller's deadline passes, as time.monotonic(); None when the call has no deadline.
# Write transactions check it just before they commit (py_server.store.models.write_transaction).
current_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)
