"""The shared wire vectors, byte for byte, and the `python -m py_server.wire` output.

tests/wire_vectors.json is checked by go_client/internal/wire/vectors_test.go too,
so a vector that passes here and there means Go and Python encode that message
identically.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import json_format

from py_server import wire

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "tests" / "wire_vectors.json").read_text(encoding="utf-8"))

SEED_REPORT = """\
08 01 10 65 18 02

field         wire type   bytes  value
1 user_id     VARINT (0)  08 01  1
2 product_id  VARINT (0)  10 65  101
3 quantity    VARINT (0)  18 02  2
"""


def by_name(vectors):
    return pytest.mark.parametrize("vector", vectors, ids=[v["name"] for v in vectors])


def expected_message(vector):
    return json_format.Parse(json.dumps(vector["json"]), wire.new_message(wire.find_message(vector["type"])))


def test_vectors_cover_both_packages_and_start_with_the_seed():
    assert len(VECTORS) >= 24
    assert {v["type"].rsplit(".", 1)[0] for v in VECTORS} == {"merch.store.v1", "merch.logging.v1"}
    assert VECTORS[0]["hex"] == "08 01 10 65 18 02"
    assert len({v["name"] for v in VECTORS}) == len(VECTORS)


@by_name(VECTORS)
def test_vector_encodes_to_exact_bytes(vector):
    data = wire.encode(wire.find_message(vector["type"]), json.dumps(vector["json"]))
    assert wire.format_hex(data) == vector["hex"]


@by_name(VECTORS)
def test_vector_decodes_back_to_the_same_message(vector):
    desc = wire.find_message(vector["type"])
    decoded = wire.decode(desc, wire.parse_hex(vector["hex"]))
    assert decoded == expected_message(vector)
    # Through JSON and back, as `decode` prints it.
    assert json_format.Parse(wire.to_json(decoded), wire.new_message(desc)) == expected_message(vector)


@by_name(VECTORS)
def test_walker_accounts_for_every_byte(vector):
    data = wire.parse_hex(vector["hex"])
    rows = wire.fields(data, wire.find_message(vector["type"]))
    # Top-level rows hold every byte of the message: whole fields, or a nested
    # message's tag and length followed by its own rows.
    assert b"".join(row.raw for row in rows) == data


def test_optional_zero_is_present_on_the_wire():
    rows = wire.fields(bytes.fromhex("08051800"), wire.find_message("merch.store.v1.UpdateOrderRequest"))
    assert [(r.name, r.value) for r in rows] == [("order_id", "5"), ("quantity", "0")]


@pytest.mark.parametrize(
    ("type_name", "json_text", "expected"),
    [
        (
            "merch.store.v1.GetProductRequest",
            '{"product_id":-1}',
            [("product_id", "-1 (unsigned 18446744073709551615)")],
        ),
        ("merch.store.v1.Order", '{"status":"ORDER_STATUS_CANCELLED"}', [("status", "2 ORDER_STATUS_CANCELLED")]),
        ("merch.store.v1.User", '{"active":true}', [("active", "true")]),
        ("merch.store.v1.CreateUserRequest", '{"username":"李华🎉"}', [("username", '"李华🎉"')]),
        (
            "merch.store.v1.Order",
            '{"create_time":"2024-05-01T12:00:00.5Z"}',
            [("create_time", "message (12 bytes)"), ("seconds", "1714564800"), ("nanos", "500000000")],
        ),
    ],
)
def test_values_follow_the_schema(type_name, json_text, expected):
    desc = wire.find_message(type_name)
    rows = wire.fields(wire.encode(desc, json_text), desc)
    assert [(r.name, r.value) for r in rows] == expected


@pytest.mark.parametrize(
    ("hex_text", "expected"),
    [
        ("08 01 10 65", [(0, 1, "1"), (0, 2, "101")]),
        ("08 ff ff ff ff ff ff ff ff ff 01", [(0, 1, "18446744073709551615 (int64 -1)")]),
        ("1a 04 08 01 10 02", [(0, 3, "message (4 bytes)"), (1, 1, "1"), (1, 2, "2")]),
        ("12 02 68 69", [(0, 2, '"hi"')]),
        ("12 02 ff fe", [(0, 2, "<ff fe>")]),
        ("0d 01 00 00 00 11 02 00 00 00 00 00 00 00", [(0, 1, "1"), (0, 2, "2")]),
    ],
)
def test_raw_dump_guesses_without_a_schema(hex_text, expected):
    rows = wire.fields(wire.parse_hex(hex_text), None)
    assert [(r.depth, r.number, r.value) for r in rows] == expected


def test_malformed_bytes_name_the_offset():
    text, error = wire.report(wire.parse_hex("08 01 12 05 61"), None)
    assert "at byte 2" in str(error)
    assert "08 01  1" in text  # the rows before the bad field are still shown


@pytest.mark.parametrize("text", ["08 01 10 65", "08011065", " 0801\n1065 ", "0x08011065"])
def test_hex_input_is_tolerant(text):
    assert wire.parse_hex(text) == bytes.fromhex("08011065")


def test_go_quote_matches_strconv_quote():
    assert wire.go_quote('a"b\\c\n\x01é🎉'.encode()) == '"a\\"b\\\\c\\n\\x01é🎉"'
    assert wire.go_quote(b"\xff") == '"\\xff"'


def run_module(*args):
    # The child must import `merch.*` the way this process does, however the
    # environment provides it (installed project or PYTHONPATH).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    command = [sys.executable, "-m", "py_server.wire", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)


def test_module_command_prints_the_seed_example():
    proc = run_module("encode", "merch.store.v1.PlaceOrderRequest", '{"user_id":1,"product_id":101,"quantity":2}')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == SEED_REPORT


def test_module_command_decodes_with_a_type_to_json():
    proc = run_module("decode", "PlaceOrderRequest", "08", "01", "10", "65", "18", "02")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == SEED_REPORT + '\n{"user_id":1,"product_id":101,"quantity":2}\n'


def test_module_command_rejects_an_unknown_type_as_usage():
    proc = run_module("encode", "merch.store.v1.Nope", "{}")
    assert proc.returncode == 2
    assert "unknown message type" in proc.stderr


def test_json_sorts_map_keys_like_go():
    desc = wire.find_message("merch.logging.v1.WriteLogsRequest")
    msg = json_format.Parse('{"records":[{"fields":{"z":"1","a":"2","m":"3"}}]}', wire.new_message(desc))
    assert wire.to_json(msg) == '{"records":[{"fields":{"a":"2","m":"3","z":"1"}}]}'


MERCHCTL = ROOT / "bin" / "merchctl"


@pytest.mark.skipif(
    not MERCHCTL.exists(), reason="bin/merchctl is not built (cd go_client && go build -o ../bin/merchctl ./cmd/merchctl)"
)
@by_name(VECTORS)
def test_go_cli_prints_the_same_tables(vector, capsys):
    args = [["encode", vector["type"], json.dumps(vector["json"], ensure_ascii=False)]]
    if vector["hex"]:
        args += [["decode", vector["type"], vector["hex"]], ["decode", vector["hex"]]]
    for a in args:
        go = subprocess.run([str(MERCHCTL), "wire", *a], capture_output=True, text=True)
        code = wire.main(a)  # in process: the module command's own entry point, quicker than a child
        assert (go.returncode, go.stdout) == (code, capsys.readouterr().out), a
