import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LogLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOG_LEVEL_UNSPECIFIED: _ClassVar[LogLevel]
    LOG_LEVEL_DEBUG: _ClassVar[LogLevel]
    LOG_LEVEL_INFO: _ClassVar[LogLevel]
    LOG_LEVEL_WARNING: _ClassVar[LogLevel]
    LOG_LEVEL_ERROR: _ClassVar[LogLevel]
    LOG_LEVEL_CRITICAL: _ClassVar[LogLevel]
LOG_LEVEL_UNSPECIFIED: LogLevel
LOG_LEVEL_DEBUG: LogLevel
LOG_LEVEL_INFO: LogLevel
LOG_LEVEL_WARNING: LogLevel
LOG_LEVEL_ERROR: LogLevel
LOG_LEVEL_CRITICAL: LogLevel

class LogRecord(_message.Message):
    __slots__ = ("time", "service", "level", "message", "request_id", "fields", "trace_id", "span_id", "trace_sampled")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TIME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    SPAN_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_SAMPLED_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    service: str
    level: LogLevel
    message: str
    request_id: str
    fields: _containers.ScalarMap[str, str]
    trace_id: str
    span_id: str
    trace_sampled: bool
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., service: _Optional[str] = ..., level: _Optional[_Union[LogLevel, str]] = ..., message: _Optional[str] = ..., request_id: _Optional[str] = ..., fields: _Optional[_Mapping[str, str]] = ..., trace_id: _Optional[str] = ..., span_id: _Optional[str] = ..., trace_sampled: _Optional[bool] = ...) -> None: ...

class WriteLogsRequest(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[LogRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[LogRecord, _Mapping]]] = ...) -> None: ...

class WriteLogsResponse(_message.Message):
    __slots__ = ("accepted_count", "dropped_count")
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DROPPED_COUNT_FIELD_NUMBER: _ClassVar[int]
    accepted_count: int
    dropped_count: int
    def __init__(self, accepted_count: _Optional[int] = ..., dropped_count: _Optional[int] = ...) -> None: ...

class TailLogsRequest(_message.Message):
    __slots__ = ("service", "min_level", "request_id", "last_n")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    MIN_LEVEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_N_FIELD_NUMBER: _ClassVar[int]
    service: str
    min_level: LogLevel
    request_id: str
    last_n: int
    def __init__(self, service: _Optional[str] = ..., min_level: _Optional[_Union[LogLevel, str]] = ..., request_id: _Optional[str] = ..., last_n: _Optional[int] = ...) -> None: ...

class TailLogsResponse(_message.Message):
    __slots__ = ("record",)
    RECORD_FIELD_NUMBER: _ClassVar[int]
    record: LogRecord
    def __init__(self, record: _Optional[_Union[LogRecord, _Mapping]] = ...) -> None: ...

class GetLoggingStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetLoggingStatsResponse(_message.Message):
    __slots__ = ("accepted_count", "published_count", "dropped_count", "pending_count", "sink", "sink_healthy")
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DROPPED_COUNT_FIELD_NUMBER: _ClassVar[int]
    PENDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    SINK_FIELD_NUMBER: _ClassVar[int]
    SINK_HEALTHY_FIELD_NUMBER: _ClassVar[int]
    accepted_count: int
    published_count: int
    dropped_count: int
    pending_count: int
    sink: str
    sink_healthy: bool
    def __init__(self, accepted_count: _Optional[int] = ..., published_count: _Optional[int] = ..., dropped_count: _Optional[int] = ..., pending_count: _Optional[int] = ..., sink: _Optional[str] = ..., sink_healthy: _Optional[bool] = ...) -> None: ...
