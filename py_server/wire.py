"""Protobuf wire analysis: the Python twin of `merchctl wire`.

    python -m py_server.wire encode merch.store.v1.PlaceOrderRequest '{"user_id":1,"product_id":101,"quantity":2}'
    python -m py_server.wire decode [<message-type>] '08 01 10 65 18 02'

Both print the bytes in hex and then one line per field (number and name, wire
type, raw bytes, decoded value), the same table the Go CLI prints, so the two
languages can be compared byte for byte and line for line. Message types come
from the generated stubs; JSON is protojson via google.protobuf.json_format.

Python's protobuf has no public wire-level reader, so the walker below reads
tags, varints and lengths itself, following the encoding guide
(https://protobuf.dev/programming-guides/encoding/).
"""
from __future__ import annotations

import argparse
import json
import struct
import sys
from typing import NamedTuple

from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

# Imported for their side effect: registering the message types by name.
from merch.logging.v1 import logging_pb2
from merch.store.v1 import greeting_service_pb2, order_pb2, product_pb2, user_pb2

STUB_MODULES = (greeting_service_pb2, product_pb2, user_pb2, order_pb2, logging_pb2)

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
WIRE_TYPE_NAMES = {VARINT: "VARINT", I64: "I64", LEN: "LEN", SGROUP: "SGROUP", EGROUP: "EGROUP", I32: "I32"}
MAX_FIELD_NUMBER = (1 << 29) - 1


class WireError(ValueError):
    """The bytes are not valid protobuf wire format."""


class Row(NamedTuple):
    """One line of the field table; depth > 0 for fields of nested messages."""

    depth: int
    number: int
    name: str  # "" when no schema knows the field
    wire_type: int
    raw: bytes  # tag and value; for a nested message only tag and length
    value: str


# --- types, JSON and hex ----------------------------------------------------


def find_message(name: str) -> Descriptor:
    """Resolve a full message name, or a short one that only one stub defines."""
    name = name.strip().lstrip(".")
    try:
        return descriptor_pool.Default().FindMessageTypeByName(name)
    except KeyError:
        pass
    by_name = [m.DESCRIPTOR.message_types_by_name for m in STUB_MODULES]
    matches = [types[name] for types in by_name if name in types]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise KeyError(f"message type {name!r} is ambiguous: {[m.full_name for m in matches]}")
    raise KeyError(f"unknown message type {name!r} (give a full name such as merch.store.v1.PlaceOrderRequest)")


def new_message(desc: Descriptor) -> Message:
    return message_factory.GetMessageClass(desc)()


def encode(desc: Descriptor, json_text: str) -> bytes:
    """protojson text to wire bytes; deterministic, so map entries are sorted by key as in Go."""
    msg = json_format.Parse(json_text, new_message(desc))
    return msg.SerializeToString(deterministic=True)


def decode(desc: Descriptor, data: bytes) -> Message:
    msg = new_message(desc)
    msg.ParseFromString(data)
    return msg


def to_json(msg: Message) -> str:
    """Compact protojson with proto field names, as `merchctl wire decode` prints it."""
    as_dict = json_format.MessageToDict(msg, preserving_proto_field_name=True)
    return json.dumps(sort_maps(as_dict, msg.DESCRIPTOR), separators=(",", ":"), ensure_ascii=False)


_INTEGER_TYPES = {
    getattr(FieldDescriptor, f"TYPE_{name}")
    for name in ("INT32", "INT64", "UINT32", "UINT64", "SINT32", "SINT64", "FIXED32", "FIXED64", "SFIXED32", "SFIXED64")
}


def sort_maps(value: dict, desc: Descriptor) -> dict:
    """Sort map entries by key in a MessageToDict result, in place.

    Go's protojson writes maps sorted by key; json_format keeps the map's own
    iteration order, which varies from run to run.
    """
    for field in desc.fields:
        if field.name not in value or field.message_type is None:
            continue
        entry = field.message_type
        if entry.GetOptions().map_entry:
            numeric = entry.fields_by_name["key"].type in _INTEGER_TYPES
            value_desc = entry.fields_by_name["value"].message_type
            items = sorted(value[field.name].items(), key=lambda kv: int(kv[0]) if numeric else kv[0])
            if value_desc is not None:
                items = [(k, sort_maps(v, value_desc) if isinstance(v, dict) else v) for k, v in items]
            value[field.name] = dict(items)
            continue
        for child in value[field.name] if field.is_repeated else [value[field.name]]:
            if isinstance(child, dict):  # well-known types such as Timestamp are strings
                sort_maps(child, entry)
    return value


def parse_hex(text: str) -> bytes:
    """Hex with or without spaces: "08 01 10 65" or "08011065"."""
    compact = "".join(text.split())
    if compact[:2] in ("0x", "0X"):
        compact = compact[2:]
    return bytes.fromhex(compact)


def format_hex(data: bytes) -> str:
    return data.hex(" ")


# --- the wire walker --------------------------------------------------------


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read a base-128 varint at pos; return its value and the position after it."""
    value = 0
    for i in range(10):
        if pos >= len(data):
            raise WireError("unexpected end of input")
        byte = data[pos]
        pos += 1
        if i == 9 and byte > 1:
            break  # more than 64 bits
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            return value, pos
    raise WireError("variable length integer overflow")


def read_tag(data: bytes, pos: int) -> tuple[int, int, int]:
    key, pos = read_varint(data, pos)
    number, wire_type = key >> 3, key & 7
    if not 1 <= number <= MAX_FIELD_NUMBER:
        raise WireError(f"invalid field number {number}")
    return number, wire_type, pos


def skip_value(data: bytes, number: int, wire_type: int, pos: int) -> int:
    """Return the position after the value of a field whose tag ended at pos."""
    if wire_type == VARINT:
        return read_varint(data, pos)[1]
    if wire_type in (I64, I32):
        end = pos + (8 if wire_type == I64 else 4)
    elif wire_type == LEN:
        length, pos = read_varint(data, pos)
        end = pos + length
    elif wire_type == SGROUP:  # proto3 has no groups, but a dump must step over them
        while True:
            inner, inner_type, pos = read_tag(data, pos)
            if inner_type == EGROUP:
                if inner != number:
                    raise WireError("mismatching end group marker")
                return pos
            pos = skip_value(data, inner, inner_type, pos)
    else:
        raise WireError(f"invalid wire type {wire_type}")
    if end > len(data):
        raise WireError("unexpected end of input")
    return end


def fields(
    data: bytes, desc: Descriptor | None, depth: int = 0, offset: int = 0, rows: list[Row] | None = None
) -> list[Row]:
    """Walk data field by field; desc (or None) gives names and value types.

    On malformed input raises WireError naming the byte offset; the rows read
    so far are in the list passed as rows.
    """
    rows = [] if rows is None else rows
    pos = 0
    while pos < len(data):
        start = pos
        try:
            number, wire_type, pos = read_tag(data, pos)
            end = skip_value(data, number, wire_type, pos)
        except WireError as err:
            raise WireError(f"at byte {offset + start}: {err}") from None
        field = desc.fields_by_number.get(number) if desc is not None else None
        name = field.name if field is not None else ""

        def add(raw_end: int, value: str) -> None:
            rows.append(Row(depth, number, name, wire_type, data[start:raw_end], value))

        if wire_type == VARINT:
            add(end, varint_value(read_varint(data, pos)[0], field))
        elif wire_type in (I32, I64):
            add(end, fixed_value(data[pos:end], field))
        elif wire_type == LEN:
            payload_start = read_varint(data, pos)[1]
            payload = data[payload_start:end]
            nested, is_message = nested_message(payload, field)
            if is_message:  # the tag and length here, the payload as rows under it
                add(payload_start, f"message ({len(payload)} bytes)")
                fields(payload, nested, depth + 1, offset + payload_start, rows)
            else:
                add(end, bytes_value(payload, field))
        else:
            add(end, "group")
        pos = end
    return rows


def to_signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def varint_value(v: int, field: FieldDescriptor | None) -> str:
    kind = field.type if field is not None else None
    if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64):
        # A negative int32 is sign-extended to 64 bits: ten bytes on the wire.
        signed = to_signed(v, 32 if kind == FieldDescriptor.TYPE_INT32 else 64)
        if signed < 0:
            return f"{signed} (unsigned {v})"
    elif kind in (FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64):
        return f"{(v >> 1) ^ -(v & 1)} (zig-zag {v})"
    elif kind == FieldDescriptor.TYPE_BOOL and v <= 1:
        return "true" if v else "false"
    elif kind == FieldDescriptor.TYPE_ENUM:
        number = to_signed(v, 32)
        enum_value = field.enum_type.values_by_number.get(number)
        if enum_value is not None:
            return f"{number} {enum_value.name}"
        return f"{number} (not in {field.enum_type.name})"
    elif field is None and v >> 63:
        # Without a schema a huge varint is most likely a negative number.
        return f"{v} (int64 {to_signed(v, 64)})"
    return str(v)


def fixed_value(value: bytes, field: FieldDescriptor | None) -> str:
    kind = field.type if field is not None else None
    wide = len(value) == 8
    if kind in (FieldDescriptor.TYPE_SFIXED32, FieldDescriptor.TYPE_SFIXED64):
        return str(struct.unpack("<q" if wide else "<i", value)[0])
    if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return repr(struct.unpack("<d" if wide else "<f", value)[0])
    return str(struct.unpack("<Q" if wide else "<I", value)[0])


def nested_message(payload: bytes, field: FieldDescriptor | None) -> tuple[Descriptor | None, bool]:
    """Whether a length-delimited payload is opened as a message, and with which schema.

    Known message fields (map entries included) always are. Unknown ones are
    guessed: readable text stays text (so "hi", which happens to parse as
    field 13, is not shown as a message); otherwise bytes that parse
    completely as fields are a message.
    """
    if field is not None and field.type == FieldDescriptor.TYPE_MESSAGE:
        return field.message_type, True
    if field is not None or not payload or printable(payload):
        return None, False
    return None, parses_as_message(payload)


def parses_as_message(data: bytes) -> bool:
    pos = 0
    try:
        while pos < len(data):
            number, wire_type, pos = read_tag(data, pos)
            if wire_type in (SGROUP, EGROUP):
                return False
            pos = skip_value(data, number, wire_type, pos)
    except WireError:
        return False
    return True


def printable(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\n\r\t" for ch in text)


def bytes_value(payload: bytes, field: FieldDescriptor | None) -> str:
    kind = field.type if field is not None else None
    if kind == FieldDescriptor.TYPE_STRING:
        return go_quote(payload)
    if kind is None:
        try:
            payload.decode("utf-8")
            return go_quote(payload)
        except UnicodeDecodeError:
            pass
    return f"<{format_hex(payload)}>"


_ESCAPES = {
    "\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v",
    '"': r"\"", "\\": r"\\",
}


def go_quote(data: bytes) -> str:
    """Quote text the way Go's strconv.Quote does, so both tables match."""
    out = []
    for ch in data.decode("utf-8", errors="surrogateescape"):
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


# --- output -----------------------------------------------------------------


def format_table(rows: list[Row]) -> str:
    """Columns padded to their widest cell plus two spaces, as the Go CLI does."""
    cells = [["field", "wire type", "bytes", "value"]]
    for row in rows:
        label = "  " * row.depth + str(row.number) + (f" {row.name}" if row.name else "")
        cells.append([label, f"{WIRE_TYPE_NAMES[row.wire_type]} ({row.wire_type})", format_hex(row.raw), row.value])
    widths = [max(len(line[i]) for line in cells) for i in range(4)]
    lines = ["".join(cell.ljust(width + 2) for cell, width in zip(line[:-1], widths)) + line[-1] for line in cells]
    return "\n".join(lines) + "\n"


def report(data: bytes, desc: Descriptor | None) -> tuple[str, WireError | None]:
    """The hex, a blank line and the field table; for malformed bytes, the
    rows read before the bad field and the error."""
    if not data:
        return "(0 bytes: every field has its default value)\n", None
    rows: list[Row] = []
    error = None
    try:
        fields(data, desc, rows=rows)
    except WireError as err:
        error = err
    return f"{format_hex(data)}\n\n{format_table(rows)}", error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m py_server.wire",
        description="Show protobuf messages as wire bytes, field by field (the twin of `merchctl wire`).",
        epilog="example: python -m py_server.wire encode merch.store.v1.PlaceOrderRequest "
        '\'{"user_id":1,"product_id":101,"quantity":2}\'  ->  08 01 10 65 18 02',
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    enc = verbs.add_parser("encode", help="protojson to bytes")
    enc.add_argument("type", help="message type, e.g. merch.store.v1.PlaceOrderRequest")
    enc.add_argument("json", help="the message as protojson, or - for stdin")
    dec = verbs.add_parser("decode", help="bytes (hex) to fields, and JSON when the type is given")
    dec.add_argument(
        "args", nargs="+", metavar="[type] hex", help="optional message type, then hex (spaces allowed), or - for stdin"
    )
    opts = parser.parse_args(argv)

    def arg_or_stdin(text: str) -> str:
        return sys.stdin.read().strip() if text == "-" else text

    try:
        if opts.verb == "encode":
            desc = find_message(opts.type)
            data = encode(desc, arg_or_stdin(opts.json))
        else:
            desc, hex_args = None, opts.args
            if hex_args[0] != "-" and not _is_hex(hex_args[0]):  # hex may span several arguments
                desc, hex_args = find_message(hex_args[0]), hex_args[1:]
                if not hex_args:
                    parser.error("give the bytes to decode, in hex, after the type")
            data = parse_hex(arg_or_stdin(" ".join(hex_args)))
    except KeyError as err:  # unknown type
        print(f"wire: {err.args[0]}", file=sys.stderr)
        return 2
    except (ValueError, json_format.ParseError) as err:  # bad hex or JSON
        print(f"wire: {err}", file=sys.stderr)
        return 2
    text, error = report(data, desc)
    sys.stdout.write(text)
    if error is None and desc is not None and opts.verb == "decode":
        try:
            sys.stdout.write(f"\n{to_json(decode(desc, data))}\n")
        except DecodeError as err:
            error = err
    if error is not None:
        print(f"wire: {error}", file=sys.stderr)
        return 1
    return 0


def _is_hex(text: str) -> bool:
    try:
        parse_hex(text)
        return True
    except ValueError:
        return False


if __name__ == "__main__":
    sys.exit(main())
