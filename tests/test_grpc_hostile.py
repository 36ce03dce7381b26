"""A hostile-input corpus sent to every gRPC method of both services, generated from the descriptors.

Every field of every request message (and of the log records a WriteLogs
stream carries) gets, in turn, the extreme values of its type: the ends of
int32/int64, negative ids, very long strings, NUL and control characters,
invisible format characters, unknown enum numbers, far-off timestamps, too
many records. Each call must be answered within a second with a precise code
(never UNKNOWN or INTERNAL), and the services must keep serving.
"""
from __future__ import annotations

import time

import grpc
import pytest
from buf.validate import validate_pb2
from google.protobuf import descriptor as d
from google.protobuf import message_factory
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from merch.logging.v1 import logging_pb2
from merch.store.v1 import greeting_service_pb2, order_pb2, product_pb2, user_pb2
from tests import support

FILES = {"db": [greeting_service_pb2.DESCRIPTOR, product_pb2.DESCRIPTOR, user_pb2.DESCRIPTOR, order_pb2.DESCRIPTOR],
         "log": [logging_pb2.DESCRIPTOR]}
HOSTILE = {
    d.FieldDescriptor.CPPTYPE_INT32: [-(2**31), 2**31 - 1, -1, 0],
    d.FieldDescriptor.CPPTYPE_INT64: [-(2**63), 2**63 - 1, -1],
    d.FieldDescriptor.CPPTYPE_UINT32: [2**32 - 1],
    d.FieldDescriptor.CPPTYPE_UINT64: [2**64 - 1],
    d.FieldDescriptor.CPPTYPE_STRING: ["x" * 200_000, "\x00", "a\x1bb", "\u200b" * 50, "\u202eevil", " ", "é" * 80,
                                       "9" * 5000],
    d.FieldDescriptor.CPPTYPE_BOOL: [True],
    d.FieldDescriptor.CPPTYPE_ENUM: [999, -1],
}
# Codes a hostile request may get: each says precisely what is wrong (or that the store refuses it).
PRECISE = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
           grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.UNAUTHENTICATED,
           grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.OUT_OF_RANGE}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    state = tmp_path_factory.mktemp("grpc-hostile")
    with support.logging_service(state) as (log, _), support.db_service(state, MERCH_LOG_ADDR=log) as (db, _):
        yield {"db": db, "log": log}


def _variants(message_class):
    """(label, message) pairs: the message with one field, or one field of its records, set hostile."""
    for field in message_class.DESCRIPTOR.fields:
        if field.message_type is not None and field.is_repeated and not field.message_type.GetOptions().map_entry:
            record_class = message_factory.GetMessageClass(field.message_type)
            yield f"{field.name}: 1001 records", message_class(**{field.name: [record_class()] * 1001})
            for label, record in _variants(record_class):
                yield f"{field.name}[0].{label}", message_class(**{field.name: [record]})
        elif field.message_type is not None and field.message_type.full_name == "google.protobuf.Timestamp":
            for seconds in (-(2**62), 2**62, -1):
                message = message_class()
                getattr(message, field.name).seconds = seconds
                yield f"{field.name}.seconds={seconds}", message
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            yield f"{field.name}: 10000 entries", message_class(**{field.name: {f"k{i}": "v" * 100
                                                                              for i in range(10000)}})
        else:
            for value in HOSTILE.get(field.cpp_type, []):
                shown = repr(value)[:30]
                try:
                    yield f"{field.name}={shown}", message_class(**{field.name: value})
                except (ValueError, TypeError):
                    continue  # a value the type cannot hold never reaches the wire


def _methods():
    for server, files in FILES.items():
        for file in files:
            for service in file.services_by_name.values():
                for method in service.methods:
                    yield pytest.param(server, method, id=f"{service.name}.{method.name}")


def _callable(channel: grpc.Channel, method, request_class):
    """A multi-callable for `method` of the right streaming kind, from its descriptor."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    response_class = message_factory.GetMessageClass(method.output_type)
    kind = (channel.stream_unary if method.client_streaming else
            channel.unary_stream if method.server_streaming else channel.unary_unary)
    return kind(path, request_serializer=request_class.SerializeToString,
                response_deserializer=response_class.FromString)


@pytest.mark.parametrize("server,method", list(_methods()))
def test_every_method_answers_hostile_fields_precisely_within_a_second(servers, server, method):
    request_class = message_factory.GetMessageClass(method.input_type)
    failures = []
    with support.channel(servers[server]) as channel:
        rpc = _callable(channel, method, request_class)
        for label, request in _variants(request_class):
            started = time.monotonic()
            try:
                if method.client_streaming:
                    rpc(iter([request]), timeout=5)
                elif method.server_streaming:
                    # A tail streams until told to stop: the first answer (or a refusal) is what counts.
                    stream = rpc(request, timeout=1)
                    try:
                        next(stream)
                    except StopIteration:
                        pass
                    stream.cancel()
                else:
                    rpc(request, timeout=5)
                code = grpc.StatusCode.OK
            except grpc.RpcError as error:
                code = error.code()
            took = time.monotonic() - started
            if method.server_streaming and code is grpc.StatusCode.DEADLINE_EXCEEDED:
                code, took = grpc.StatusCode.OK, 0.0  # an open tail with nothing to send yet: it was accepted
            if code not in PRECISE or took > 1.0:
                failures.append((label, code.name, f"{took:.2f}s"))
        assert not failures, failures[:10]
        support.wait_serving(servers[server], timeout=5)


def _beyond_each_rule(message_class):
    """(field name, value) pairs: for each field with a protovalidate range or length rule, a value just past it."""
    for field in message_class.DESCRIPTOR.fields:
        rules = field.GetOptions().Extensions[validate_pb2.field]
        for kind in ("int32", "int64"):
            if rules.HasField(kind):
                bounds = getattr(rules, kind)
                if bounds.HasField("lte"):
                    yield field.name, bounds.lte + 1
                if bounds.HasField("gte"):
                    yield field.name, bounds.gte - 1
                if bounds.HasField("gt"):
                    yield field.name, bounds.gt
        if rules.string.HasField("max_len"):
            yield field.name, "a" * (rules.string.max_len + 1)
        if rules.string.HasField("max_bytes"):
            yield field.name, "é" * (rules.string.max_bytes // 2 + 1)
        if rules.repeated.HasField("max_items"):
            yield field.name, [message_factory.GetMessageClass(field.message_type)()] * (rules.repeated.max_items + 1)


RULED_METHODS = [p for p in _methods()
                 if any(_beyond_each_rule(message_factory.GetMessageClass(p.values[1].input_type)))]


def test_the_rules_reach_most_methods():
    assert len(RULED_METHODS) >= 15  # every method that takes an id, a size, a text or a batch


@pytest.mark.parametrize("server,method", RULED_METHODS)
def test_every_rule_the_protos_state_is_enforced_by_the_service_naming_the_field(servers, server, method):
    """Read from the descriptors, as grpcurl shows them: one value past each limit is INVALID_ARGUMENT
    with a google.rpc.BadRequest violation for that field."""
    request_class = message_factory.GetMessageClass(method.input_type)
    with support.channel(servers[server]) as channel:
        rpc = _callable(channel, method, request_class)
        for name, value in _beyond_each_rule(request_class):
            request = request_class(**{name: value})
            with pytest.raises(grpc.RpcError) as refused:
                if method.client_streaming:
                    rpc(iter([request]), timeout=5)
                elif method.server_streaming:
                    next(rpc(request, timeout=5))
                else:
                    rpc(request, timeout=5)
            assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT, (name, refused.value.details())
            status = rpc_status.from_call(refused.value)
            bad_request = error_details_pb2.BadRequest()
            assert status is not None and status.details[0].Unpack(bad_request)
            assert name in [v.field for v in bad_request.field_violations], (name, status.message)
