"""Domain errors and their gRPC form.

Store code raises these; one interceptor turns them into a precise status
code, a human message and, for bad input, `google.rpc.BadRequest` field
violations. Anything unexpected stays INTERNAL with no detail leaked.
"""
from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status


class StoreError(Exception):
    """An expected failure with a status code a client can act on."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_status(self) -> grpc.Status:
        return rpc_status.to_status(
            status_pb2.Status(code=self.code.value[0], message=self.message)
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


class Aborted(StoreError):
    code = grpc.StatusCode.ABORTED


class InvalidArgument(StoreError):
    """Bad input: one violation per offending field."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: list[tuple[str, str]]):
        summary = "; ".join(f"{field}: {description}" for field, description in violations)
        super().__init__(f"invalid request: {summary}")
        self.violations = violations

    def to_status(self) -> grpc.Status:
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                    for f, d in self.violations
                ]
            )
        )
        return rpc_status.to_status(
            status_pb2.Status(
                code=code_pb2.INVALID_ARGUMENT, message=self.message, details=[detail]
            )
        )
