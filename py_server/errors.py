"""Domain errors and their gRPC form.

Store code raises these; one interceptor turns them into a precise status
code, a human message and, for bad input, `google.rpc.BadRequest` field
violations. Anything unexpected stays INTERNAL with no detail leaked.
"""
from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status


class StoreError(Exception):
    """An expected failure with a status code a client can act on.

    `retry_after` (seconds) adds a google.rpc.RetryInfo; `reason` a
    google.rpc.ErrorInfo (domain merch.store.v1) that names the case for machines.
    """

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    DOMAIN = "merch.store.v1"

    def __init__(self, message: str, *, retry_after: float | None = None, reason: str | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.reason = reason

    def _details(self) -> list:
        details = []
        if self.retry_after is not None:
            retry = error_details_pb2.RetryInfo()
            retry.retry_delay.FromNanoseconds(int(self.retry_after * 1e9))
            details.append(retry)
        if self.reason is not None:
            details.append(error_details_pb2.ErrorInfo(reason=self.reason, domain=self.DOMAIN))
        return details

    def to_status(self) -> grpc.Status:
        packed = []
        for detail in self._details():
            any_detail = any_pb2.Any()
            any_detail.Pack(detail)
            packed.append(any_detail)
        return rpc_status.to_status(
            status_pb2.Status(code=self.code.value[0], message=self.message, details=packed)
        )


class NotFound(StoreError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(StoreError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(StoreError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Unauthenticated(StoreError):
    code = grpc.StatusCode.UNAUTHENTICATED


class Unavailable(StoreError):
    code = grpc.StatusCode.UNAVAILABLE


class PermissionDenied(StoreError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(StoreError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class DeadlineExceeded(StoreError):
    """The caller's deadline passed before the work could be committed: nothing was changed."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Aborted(StoreError):
    code = grpc.StatusCode.ABORTED


class InvalidArgument(StoreError):
    """Bad input: one violation per offending field."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: list[tuple[str, str]]):
        summary = "; ".join(f"{field}: {description}" for field, description in violations)
        super().__init__(f"invalid request: {summary}")
        self.violations = violations

    def _details(self) -> list:
        return [error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in self.violations
        ])]
