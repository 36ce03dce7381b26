"""The fast record paths write what the generic protobuf code wrote before them (map keys sorted)."""
from __future__ import annotations

import json
import random

from google.protobuf import json_format, timestamp_pb2

from merch.logging.v1 import logging_pb2
from py_server.logging_service import records

ALPHABET = "abcXYZ09 _-.:/\\\"'\n\t\x00\x7féü€漢字😀…"


def random_text(rng: random.Random, long: bool = False) -> str:
    size = rng.choice([0, 1, 5, 30, 63, 64, 65, 127, 128, 129, 1024, 1025, 8191, 8192, 8193]) if long else rng.randint(0, 12)
    return "".join(rng.choice(ALPHABET) for _ in range(size))


def random_record(rng: random.Random) -> logging_pb2.LogRecord:
    record = logging_pb2.LogRecord(
        service=random_text(rng, long=rng.random() < 0.3), message=random_text(rng, long=rng.random() < 0.3),
        request_id=random_text(rng, long=rng.random() < 0.3), level=rng.choice([0, 1, 2, 3, 4, 5, 7, 99]),
        fields={random_text(rng, long=rng.random() < 0.2): random_text(rng, long=rng.random() < 0.2)
                for _ in range(rng.choice([0, 1, 3, 31, 32, 33, 40]))},
    )
    if rng.random() < 0.4:  # trace context: mostly well-formed, sometimes not
        hexdigits = "0123456789abcdef" if rng.random() < 0.8 else "0123456789abcdefABXZ-"
        record.trace_id = "".join(rng.choice(hexdigits) for _ in range(rng.choice([32, 32, 32, 31, 33, 0])))
        record.span_id = "".join(rng.choice(hexdigits) for _ in range(rng.choice([16, 16, 16, 15, 17, 0])))
        record.trace_sampled = rng.random() < 0.5
    if rng.random() < 0.7:
        record.time.seconds = rng.randint(0, 253402300799)
        record.time.nanos = rng.choice([0, 1, 1_000, 1_000_000, 123_000, 5, 999_000_000, 999_999_999, 100_000_000])
    return record


def reference_normalise(record, received):
    """normalise() as it was written first, field by field: the specification."""
    out = logging_pb2.LogRecord()
    out.time.CopyFrom(record.time if record.HasField("time") else received)
    out.service = records._clip(record.service, records.MAX_SERVICE) or "unknown"
    out.level = record.level or logging_pb2.LOG_LEVEL_INFO
    out.message = records._clip(record.message, records.MAX_MESSAGE)
    out.request_id = records._clip(record.request_id, records.MAX_REQUEST_ID)
    for key in sorted(record.fields)[:records.MAX_FIELDS]:
        out.fields[records._clip(key, records.MAX_KEY)] = records._clip(record.fields[key], records.MAX_VALUE)
    hexdigits = set("0123456789abcdef")
    if (len(record.trace_id) == 32 and len(record.span_id) == 16
            and set(record.trace_id) <= hexdigits and set(record.span_id) <= hexdigits):
        out.trace_id, out.span_id, out.trace_sampled = record.trace_id, record.span_id, record.trace_sampled
    return out


def same_line(fast_line: str, record: logging_pb2.LogRecord) -> bool:
    """`fast_line` says what the generic printer says of `record`, with the map's keys sorted."""
    generic = json.loads(json_format.MessageToJson(record, indent=None, ensure_ascii=False))
    if "fields" in generic:
        generic["fields"] = dict(sorted(generic["fields"].items()))
    return fast_line == json.dumps(generic, ensure_ascii=False)


def test_normalise_and_json_line_match_the_generic_code():
    rng = random.Random(20261124)
    received = timestamp_pb2.Timestamp(seconds=1_764_000_000, nanos=42)
    kept = 0
    for _ in range(1500):
        record = random_record(rng)
        fast = records.normalise(record, received)
        slow = reference_normalise(record, received)
        assert fast == slow
        kept += fast == record
        assert same_line(records.to_json_line(fast), slow)
    assert kept > 50  # records that needed nothing (the fast path) were among them, and checked too


def test_a_shippers_record_is_kept_as_it_came_in_a_copy_and_its_line_has_its_fields_sorted():
    record = logging_pb2.LogRecord(service="api_rest", level=logging_pb2.LOG_LEVEL_INFO, message="m",
                                   request_id="r1", fields={"z": "1", "a": "2", "m": "3"})
    record.time.seconds = 1_764_000_000
    kept = records.normalise(record, timestamp_pb2.Timestamp())
    assert kept == record and kept is not record
    assert '"fields": {"a": "2", "m": "3", "z": "1"}' in records.to_json_line(record)


def test_trace_context_is_kept_whole_or_not_at_all():
    received = timestamp_pb2.Timestamp(seconds=1_700_000_000)
    good = logging_pb2.LogRecord(service="s", trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
                                 span_id="00f067aa0ba902b7", trace_sampled=True)
    kept = records.normalise(good, received)
    assert (kept.trace_id, kept.span_id, kept.trace_sampled) == (good.trace_id, good.span_id, True)
    assert '"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7", "traceSampled": true' \
        in records.to_json_line(kept)
    for trace_id, span_id in (("4BF92F3577B34DA6A3CE929D0E0E4736", "00f067aa0ba902b7"),
                              ("4bf92f3577b34da6a3ce929d0e0e473", "00f067aa0ba902b7"),
                              ("4bf92f3577b34da6a3ce929d0e0e4736", "")):
        dropped = records.normalise(logging_pb2.LogRecord(trace_id=trace_id, span_id=span_id), received)
        assert (dropped.trace_id, dropped.span_id) == ("", "")


def test_a_record_with_no_fields_set_but_time_is_written_like_the_generic_code():
    record = logging_pb2.LogRecord()
    record.time.seconds = 0
    assert same_line(records.to_json_line(record), record)
    assert records.to_json_line(logging_pb2.LogRecord()) == "{}"


def test_an_out_of_range_time_fails_as_the_generic_code_does():
    import pytest

    for seconds, nanos in ((253402300800, 0), (-62135596801, 0), (5, 1_000_000_000), (5, -1)):
        record = logging_pb2.LogRecord(service="s")
        record.time.seconds, record.time.nanos = seconds, nanos
        with pytest.raises(json_format.SerializeToJsonError):
            json_format.MessageToJson(record, indent=None, ensure_ascii=False)
        with pytest.raises(json_format.SerializeToJsonError):
            records.to_json_line(record)


def test_an_out_of_range_client_time_is_replaced_by_the_receive_time():
    received = timestamp_pb2.Timestamp(seconds=1_700_000_000)
    for seconds, nanos in ((253402300800, 0), (-62135596801, 0), (5, 1_000_000_000), (5, -1)):
        bad = logging_pb2.LogRecord(service="s", message="m")
        bad.time.seconds, bad.time.nanos = seconds, nanos
        normalised = records.normalise(bad, received)
        assert normalised.time == received
        assert same_line(records.to_json_line(normalised), normalised)
