"""Log records: normalising what arrives, the one-line JSON form, and tail filters."""
from __future__ import annotations

from google.protobuf import json_format, timestamp_pb2

from merch.logging.v1 import logging_pb2

MAX_SERVICE, MAX_MESSAGE, MAX_REQUEST_ID = 64, 8192, 128
MAX_FIELDS, MAX_KEY, MAX_VALUE = 32, 64, 1024


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def normalise(record: logging_pb2.LogRecord, received: timestamp_pb2.Timestamp) -> logging_pb2.LogRecord:
    """Makes a record publishable without refusing it: a log line is worth keeping
    even when it is too long, so over-long parts are clipped (marked with …)."""
    out = logging_pb2.LogRecord()
    out.time.CopyFrom(record.time if record.HasField("time") else received)
    out.service = _clip(record.service, MAX_SERVICE) or "unknown"
    out.level = record.level or logging_pb2.LOG_LEVEL_INFO
    out.message = _clip(record.message, MAX_MESSAGE)
    out.request_id = _clip(record.request_id, MAX_REQUEST_ID)
    for key in sorted(record.fields)[:MAX_FIELDS]:
        out.fields[_clip(key, MAX_KEY)] = _clip(record.fields[key], MAX_VALUE)
    return out


def to_json_line(record: logging_pb2.LogRecord) -> str:
    """The record in protobuf's canonical JSON mapping, on one line."""
    return json_format.MessageToJson(record, indent=None, ensure_ascii=False)


def from_json_line(line: str | bytes) -> logging_pb2.LogRecord:
    return json_format.Parse(line, logging_pb2.LogRecord(), ignore_unknown_fields=True)


def matches(record: logging_pb2.LogRecord, request: logging_pb2.TailLogsRequest) -> bool:
    if request.service and record.service != request.service:
        return False
    if request.min_level and record.level < request.min_level:
        return False
    if request.request_id and record.request_id != request.request_id:
        return False
    return True
