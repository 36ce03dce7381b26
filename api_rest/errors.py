"""One error shape for every failure, and the one table from gRPC codes to HTTP statuses.

Every error response is

    {"error": {"code": "INVALID_ARGUMENT", "status": 400, "message": "...",
               "field_violations": [{"field": "quantity", "description": "..."}],
               "request_id": "..."}}

`code` is always a gRPC status code name, `status` the HTTP status, `message`
a sentence a person can act on; `field_violations` is present (possibly empty)
only for bad input. Nothing from a stack trace, a SQL statement or a gRPC
debug string ever reaches the body.
"""
from __future__ import annotations

import logging

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

_log = logging.getLogger(__name__)

# The standard mapping (google/rpc/code.proto), one line per code.
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}

# Codes whose backend message is written for people and safe to pass on.
_PASS_MESSAGE = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE,
}

_FIXED_MESSAGE = {
    grpc.StatusCode.UNAVAILABLE: "the store's backend is unavailable right now; retry in a few seconds",
    grpc.StatusCode.DEADLINE_EXCEEDED: "the store's backend did not answer in time; retry in a few seconds",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "the store's backend is overloaded or the request is too large; retry later",
    grpc.StatusCode.CANCELLED: "the request was cancelled",
}

INTERNAL_MESSAGE = "internal error; the gateway's log has the details (quote the request_id)"

BEARER_CHALLENGE = 'Bearer realm="merch-store"'


class ApiError(Exception):
    """A failure with an HTTP status, a gRPC code name and a message for people."""

    def __init__(self, status: int, code: str, message: str, *,
                 field_violations: list[tuple[str, str]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field_violations = field_violations
        self.headers = dict(headers or {})

    def body(self, request_id: str) -> dict:
        error = {"code": self.code, "status": self.status, "message": self.message}
        if self.field_violations is not None:
            error["field_violations"] = [
                {"field": field, "description": description} for field, description in self.field_violations
            ]
        error["request_id"] = request_id
        return {"error": error}


def invalid(violations: list[tuple[str, str]], message: str | None = None) -> ApiError:
    summary = "; ".join(f"{field}: {description}" for field, description in violations)
    return ApiError(400, "INVALID_ARGUMENT", message or f"invalid request: {summary}",
                    field_violations=violations)


def unauthenticated(message: str, *, invalid_token: bool = True) -> ApiError:
    challenge = BEARER_CHALLENGE + (', error="invalid_token"' if invalid_token else "")
    return ApiError(401, "UNAUTHENTICATED", message, headers={"WWW-Authenticate": challenge})


def forbidden(message: str) -> ApiError:
    return ApiError(403, "PERMISSION_DENIED", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", message)


def internal() -> ApiError:
    return ApiError(500, "INTERNAL", INTERNAL_MESSAGE)


# The ErrorInfo reasons (domain merch.store.v1) of an UNAUTHENTICATED that refuses the end user the
# gateway named as the caller, not the gateway itself: a 401 for the user, with the DB service's words.
CALLER_REFUSED = frozenset({
    "CALLER_UNKNOWN",  # the token's user does not exist
    "CALLER_DEACTIVATED",
    "CALLER_TOKEN_STALE",  # the token is older than the user's last password change
})

# ErrorInfo reasons (domain merch.store.v1) that choose a more precise HTTP status than the code's.
_REASON_STATUS = {
    "IDEMPOTENCY_KEY_REUSED": 422,  # the same Idempotency-Key with another request body
}


class _Details:
    """What a backend status carries besides its code: field violations, a retry delay, a reason."""

    def __init__(self, error: grpc.RpcError):
        self.violations: list[tuple[str, str]] = []
        self.retry_after: int | None = None
        self.reason: str | None = None
        try:
            status = rpc_status.from_call(error)
        except ValueError:  # a status whose details disagree with its code: ignore the details
            return
        for detail in status.details if status is not None else ():
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                self.violations.extend((v.field, v.description) for v in bad_request.field_violations)
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                info = error_details_pb2.RetryInfo()
                detail.Unpack(info)
                self.retry_after = max(1, info.retry_delay.seconds + (info.retry_delay.nanos > 0))
            elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                self.reason = info.reason


def from_rpc_error(error: grpc.RpcError, method: str) -> ApiError:
    """Turns a failed gRPC call into the HTTP error the caller sees.

    UNAUTHENTICATED from the backend is a 401 when its reason is one of
    CALLER_REFUSED (the token's user may no longer act); otherwise it means the gateway's own
    service token is wrong: that is the operator's problem, so it is logged and
    reported as an internal error. Login handles the backend's UNAUTHENTICATED itself. A RetryInfo detail
    becomes `Retry-After` (login throttling, a busy password hasher); every
    503 carries one.
    """
    code = error.code()
    if code in _PASS_MESSAGE or code in _FIXED_MESSAGE:
        details = _Details(error)
        headers = {}
        retry_after = details.retry_after or (1 if code is grpc.StatusCode.UNAVAILABLE else None)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        status = _REASON_STATUS.get(details.reason, HTTP_STATUS[code])
        if code in _PASS_MESSAGE or details.retry_after is not None:
            violations = details.violations if code is grpc.StatusCode.INVALID_ARGUMENT else None
            return ApiError(status, code.name, error.details() or code.name.lower(),
                            field_violations=violations, headers=headers)
        _log.warning("%s failed: %s", method, code.name)
        return ApiError(status, code.name, _FIXED_MESSAGE[code], headers=headers)
    if code is grpc.StatusCode.UNAUTHENTICATED:
        if _Details(error).reason in CALLER_REFUSED:
            return unauthenticated(error.details() or "log in again")
        _log.error("%s refused the gateway: %s (is MERCH_SERVICE_TOKEN the same everywhere?)",
                   method, error.details())
    else:
        _log.error("%s failed: %s %s", method, code.name, error.details())
    return internal()
