"""Exploring both Python services with grpcurl, by server reflection alone (no .proto files at hand).

One logging service and one DB service (SQLite) shipping its access logs to it.
What grpcurl lists and describes is compared with the generated descriptors,
so the check follows the protos: every service, every RPC with its streaming
kind, every field of every message and every enum value. Then calls of each
kind: unary (answers and errors with their exit codes, 64 + the gRPC code),
the client stream `WriteLogs` from stdin (`-d @`), the server stream
`TailLogs` (backlog and live, bounded with `-max-time`), and health checks.

Describing a single method is left out: it fails against Python servers
(grpc/grpc#34743); describe the service or the message instead.
"""
from __future__ import annotations

import concurrent.futures
import json
import queue
import subprocess
import threading
import time
import uuid

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor
from grpc_health.v1 import health_pb2

from merch.logging.v1 import logging_pb2
from merch.store.v1 import greeting_service_pb2, order_pb2, product_pb2, user_pb2
from tests import support

GRPCURL = str(support.REPO / ".tools/bin/grpcurl")
EXIT_RPC = 64  # grpcurl exits 64 + the gRPC status code when an RPC fails
REFLECTION = {"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}

# Which server serves which proto files.
FILES = {
    "db": [greeting_service_pb2.DESCRIPTOR, product_pb2.DESCRIPTOR, user_pb2.DESCRIPTOR, order_pb2.DESCRIPTOR],
    "log": [logging_pb2.DESCRIPTOR],
}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """{"db": address, "log": address}: a logging service and a DB service that ships its logs there."""
    state = tmp_path_factory.mktemp("grpcurl")
    with support.logging_service(state) as (log, _), support.db_service(state, MERCH_LOG_ADDR=log) as (db, _):
        yield {"db": db, "log": log}


def grpcurl(address: str, *args: str, data: str | None = None, stdin: str | None = None,
            headers: tuple[str, ...] = (), max_time: float | None = None) -> subprocess.CompletedProcess:
    """`grpcurl -plaintext [-H h]… [-max-time T] [-d DATA] ADDRESS ARGS…`.

    Calls of the store's own RPCs carry the service token, as a user's would;
    `list`, `describe` and health checks go without it: they must work with none.
    """
    command = [GRPCURL, "-plaintext"]
    if args and "/" in args[0] and not args[0].startswith("grpc."):
        headers = (f"authorization: Bearer {support.SERVICE_TOKEN}", *headers)
    for header in headers:
        command += ["-H", header]
    if max_time is not None:
        command += ["-max-time", str(max_time)]
    if data is not None:
        command += ["-d", data]
    return subprocess.run([*command, address, *args], input=stdin, capture_output=True, text=True, timeout=30)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"{result.args} exited {result.returncode}: {result.stderr}"
    return result.stdout


def messages(output: str) -> list[dict]:
    """The JSON messages grpcurl prints one after another (pretty-printed, so not one per line)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(output):
        if output[at].isspace():
            at += 1
            continue
        message, at = decoder.raw_decode(output, at)
        found.append(message)
    return found


def services_of(server: str) -> dict[str, object]:
    return {s.full_name: s for fd in FILES[server] for s in fd.services_by_name.values()}


def types_of(server: str) -> list[object]:
    """Every message (map entries aside, grpcurl shows them as map<,>) and enum of a server's files."""
    found = []

    def walk(message):
        if not message.GetOptions().map_entry:
            found.append(message)
            for nested in message.nested_types:
                walk(nested)
            found.extend(message.enum_types)

    for fd in FILES[server]:
        for message in fd.message_types_by_name.values():
            walk(message)
        found.extend(fd.enum_types_by_name.values())
    return found


SERVICE_CASES = [(server, name) for server in FILES for name in services_of(server)]
TYPE_CASES = [(server, t) for server in FILES for t in types_of(server)]

# --- list and describe --------------------------------------------------------------------------


@pytest.mark.parametrize("server", FILES)
def test_list_names_every_service_of_the_protos_plus_health_and_reflection(servers, server):
    listed = set(ok(grpcurl(servers[server], "list")).split())
    assert listed - REFLECTION == set(services_of(server)) | {"grpc.health.v1.Health"}
    assert len(listed & REFLECTION) == 1, listed


@pytest.mark.parametrize("server,service", SERVICE_CASES + [("db", "grpc.health.v1.Health"),
                                                            ("log", "grpc.health.v1.Health")])
def test_list_of_a_service_names_each_of_its_rpcs(servers, server, service):
    listed = set(ok(grpcurl(servers[server], "list", service)).split())
    if service == "grpc.health.v1.Health":
        expected = {f"{service}.{m}" for m in health_pb2.DESCRIPTOR.services_by_name["Health"].methods_by_name}
    else:
        expected = {f"{service}.{m}" for m in services_of(server)[service].methods_by_name}
    assert listed == expected


def rpc_line(method) -> str:
    def kind(streaming: bool, message) -> str:
        return ("stream " if streaming else "") + "." + message.full_name

    return (f"rpc {method.name} ( {kind(method.client_streaming, method.input_type)} ) "
            f"returns ( {kind(method.server_streaming, method.output_type)} );")


@pytest.mark.parametrize("server,service", SERVICE_CASES)
def test_describe_of_a_service_shows_each_rpc_with_its_types_and_streaming(servers, server, service):
    described = ok(grpcurl(servers[server], "describe", service))
    assert described.startswith(f"{service} is a service:\n")
    rpcs = [line.strip() for line in described.splitlines() if line.strip().startswith("rpc ")]
    assert sorted(rpcs) == sorted(rpc_line(m) for m in services_of(server)[service].methods)


def test_describe_shows_both_streaming_kinds_of_the_logging_service(servers):
    described = ok(grpcurl(servers["log"], "describe", "merch.logging.v1.LoggingService"))
    assert ("rpc WriteLogs ( stream .merch.logging.v1.WriteLogsRequest ) "
            "returns ( .merch.logging.v1.WriteLogsResponse );") in described
    assert ("rpc TailLogs ( .merch.logging.v1.TailLogsRequest ) "
            "returns ( stream .merch.logging.v1.TailLogsResponse );") in described


SCALARS = {getattr(FieldDescriptor, f"TYPE_{name.upper()}"): name for name in (
    "double", "float", "int64", "uint64", "int32", "fixed64", "fixed32", "bool", "string", "bytes", "uint32",
    "sfixed32", "sfixed64", "sint32", "sint64")}


def type_name(field) -> str:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return "." + field.message_type.full_name
    if field.type == FieldDescriptor.TYPE_ENUM:
        return "." + field.enum_type.full_name
    return SCALARS[field.type]


def field_line(field) -> str:
    """The field as grpcurl prints it: `optional string name = 2;`, `map<string, string> fields = 6;`."""
    if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
        key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        return f"map<{type_name(key)}, {type_name(value)}> {field.name} = {field.number};"
    if field.is_repeated:
        label = "repeated "
    elif field.containing_oneof is not None and field.containing_oneof.name == "_" + field.name:
        label = "optional "  # proto3 optional: a synthetic oneof
    else:
        label = ""
    return f"{label}{type_name(field)} {field.name} = {field.number};"


@pytest.mark.parametrize("server,descriptor", TYPE_CASES, ids=[t.full_name for _, t in TYPE_CASES])
def test_describe_of_a_message_or_enum_shows_every_field_as_in_the_protos(servers, server, descriptor):
    described = ok(grpcurl(servers[server], "describe", descriptor.full_name))
    lines = {line.strip() for line in described.splitlines()}
    if hasattr(descriptor, "values"):  # an enum
        assert described.startswith(f"{descriptor.full_name} is an enum:\n")
        assert {f"{v.name} = {v.number};" for v in descriptor.values} <= lines
    else:
        assert described.startswith(f"{descriptor.full_name} is a message:\n")
        for field in descriptor.fields:  # a field with protovalidate rules has options: `... = 1 [...`
            line = field_line(field)
            assert line in lines or any(shown.startswith(line.removesuffix(";") + " [") for shown in lines), \
                (line, described)


def test_describe_shows_the_seeds_order_request_money_as_cents_and_no_password_in_a_user(servers):
    """A few lines a reader looks for, spelled out."""
    db = servers["db"]
    request = ok(grpcurl(db, "describe", "merch.store.v1.PlaceOrderRequest"))
    for line in ("int32 user_id = 1 [", "int32 product_id = 2 [", "int32 quantity = 3 ["):
        assert line in request
    # The field rules travel with the descriptors: reflection shows them to any client.
    quantity_rule = request.split("int32 quantity = 3 [", 1)[1].split("];", 1)[0]
    assert "(.buf.validate.field)" in quantity_rule and "gte: 1" in quantity_rule and "lte: 3" in quantity_rule
    assert "int64 total_price_cents = 5;" in ok(grpcurl(db, "describe", "merch.store.v1.Order"))
    assert "pass" not in ok(grpcurl(db, "describe", "merch.store.v1.User"))
    assert "map<string, string> fields = 6;" in ok(grpcurl(servers["log"], "describe", "merch.logging.v1.LogRecord"))


# --- unary calls --------------------------------------------------------------------------------

UNARY = [
    ("greeting", "db", "merch.store.v1.GreetingService/GetGreeting", None,
     lambda r: r == {"message": "Welcome to the gRPC Service!"}),
    ("product", "db", "merch.store.v1.ProductService/GetProduct", {"product_id": 2},
     lambda r: (r["product"]["name"], r["product"]["priceCents"]) == ("SUSTech Water Bottle", "1999")),
    ("first-page", "db", "merch.store.v1.ProductService/ListProducts", {"page_size": 2},
     lambda r: [p["id"] for p in r["products"]] == [1, 2] and r["nextPageToken"]),
    ("category", "db", "merch.store.v1.ProductService/ListProducts", {"category": "Stationery"},
     lambda r: [p["name"] for p in r["products"]] == ["SUSTech Notebook"]),
    ("stats", "log", "merch.logging.v1.LoggingService/GetLoggingStats", None,
     lambda r: r["sink"].startswith("file://") and r["sinkHealthy"] is True),
]


@pytest.mark.parametrize("server,method,request_json,check", [c[1:] for c in UNARY], ids=[c[0] for c in UNARY])
def test_unary_call_answers_in_json(servers, server, method, request_json, check):
    data = None if request_json is None else json.dumps(request_json)
    reply = json.loads(ok(grpcurl(servers[server], method, data=data)))
    assert check(reply), reply


UNARY_ERRORS = [
    ("quantity-4", "db", "merch.store.v1.OrderService/PlaceOrder", {"user_id": 1, "product_id": 1, "quantity": 4},
     grpc.StatusCode.INVALID_ARGUMENT, ["google.rpc.BadRequest", "quantity"]),
    ("unknown-product", "db", "merch.store.v1.ProductService/GetProduct", {"product_id": 999999},
     grpc.StatusCode.NOT_FOUND, ["product 999999 does not exist"]),
    ("wrong-password", "db", "merch.store.v1.UserService/AuthenticateUser",
     {"username": "nobody-at-all", "password": "not the password"}, grpc.StatusCode.UNAUTHENTICATED, []),
    ("backlog-too-long", "log", "merch.logging.v1.LoggingService/TailLogs", {"last_n": 100000},
     grpc.StatusCode.INVALID_ARGUMENT, ["last_n"]),
]


@pytest.mark.parametrize("server,method,request_json,code,mentions", [c[1:] for c in UNARY_ERRORS],
                         ids=[c[0] for c in UNARY_ERRORS])
def test_a_failed_call_exits_64_plus_the_status_code_and_shows_its_details(servers, server, method, request_json,
                                                                           code, mentions):
    result = grpcurl(servers[server], method, data=json.dumps(request_json))
    assert result.returncode == EXIT_RPC + code.value[0], result.stderr
    shown = result.stdout + result.stderr
    for text in mentions:
        assert text in shown, shown


def test_a_user_created_with_grpcurl_is_read_back_and_authenticated(servers):
    db, name = servers["db"], f"g{uuid.uuid4().hex[:12]}"
    created = json.loads(ok(grpcurl(db, "merch.store.v1.UserService/CreateUser", data=json.dumps(
        {"sid": name, "username": name, "email": f"{name}@sustech.edu.cn", "password": "correct horse"}))))["user"]
    read = json.loads(ok(grpcurl(db, "merch.store.v1.UserService/GetUser",
                                 data=json.dumps({"user_id": created["id"]}))))
    assert read["user"] == created
    login = json.loads(ok(grpcurl(db, "merch.store.v1.UserService/AuthenticateUser", data=json.dumps(
        {"username": name, "password": "correct horse"}))))
    assert login["user"]["id"] == created["id"]


# --- streams ------------------------------------------------------------------------------------


def tail(log: str, request: dict, max_time: float = 1) -> list[dict]:
    """TailLogs for `max_time` seconds: the backlog, then whatever arrives; -max-time ends it as DEADLINE_EXCEEDED."""
    result = grpcurl(log, "merch.logging.v1.LoggingService/TailLogs", data=json.dumps(request), max_time=max_time)
    assert result.returncode == EXIT_RPC + grpc.StatusCode.DEADLINE_EXCEEDED.value[0], result.stderr
    return [m["record"] for m in messages(result.stdout)]


def test_client_stream_from_stdin_sends_several_messages_and_tail_filters_them(servers):
    log, rid = servers["log"], f"grpcurl-{uuid.uuid4().hex}"
    batches = [  # three stream messages of 1, 2 and 3 records
        [{"service": "grpcurl", "message": "one", "requestId": rid}],
        [{"service": "grpcurl", "level": "LOG_LEVEL_WARNING", "message": "two", "requestId": rid,
          "fields": {"host": "web1", "disk": "91%"}},
         {"service": "other", "level": "LOG_LEVEL_DEBUG", "message": "three", "requestId": rid}],
        [{"service": "grpcurl", "level": "LOG_LEVEL_ERROR", "message": m, "requestId": rid}
         for m in ("four", "five", "six")],
    ]
    stdin = "\n".join(json.dumps({"records": batch}) for batch in batches)
    answer = json.loads(ok(grpcurl(log, "merch.logging.v1.LoggingService/WriteLogs", data="@", stdin=stdin)))
    assert answer == {"acceptedCount": "6"}  # dropped_count 0 is a default, so not shown

    filters = [{}, {"min_level": "LOG_LEVEL_WARNING"}, {"service": "other"}, {"last_n": 2}]
    with concurrent.futures.ThreadPoolExecutor(len(filters)) as pool:  # each tail takes its -max-time
        every, serious, others, latest = pool.map(lambda f: tail(log, {"request_id": rid, "last_n": 100, **f}), filters)
    assert [r["message"] for r in every] == ["one", "two", "three", "four", "five", "six"]
    assert every[1]["fields"] == {"host": "web1", "disk": "91%"} and every[1]["level"] == "LOG_LEVEL_WARNING"
    assert all(r["requestId"] == rid and r["time"] for r in every)
    assert [r["message"] for r in serious] == ["two", "four", "five", "six"]
    assert [r["message"] for r in others] == ["three"]
    assert [r["message"] for r in latest] == ["five", "six"]


def test_server_stream_delivers_records_written_while_it_is_open(servers):
    log, rid = servers["log"], f"live-{uuid.uuid4().hex}"
    follower = subprocess.Popen(
        [GRPCURL, "-plaintext", "-max-time", "15", "-H", f"authorization: Bearer {support.SERVICE_TOKEN}",
         "-d", json.dumps({"request_id": rid}), log, "merch.logging.v1.LoggingService/TailLogs"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in follower.stdout], daemon=True).start()
    seen, deadline = "", time.monotonic() + 10
    try:
        # No backlog was asked for, so whatever shows up was written after the stream opened;
        # keep writing until the follower (which needs a moment to subscribe) sees one.
        while '"message": "live' not in seen and time.monotonic() < deadline:
            record = {"records": [{"service": "grpcurl", "message": f"live {time.monotonic():.3f}", "requestId": rid}]}
            ok(grpcurl(log, "merch.logging.v1.LoggingService/WriteLogs", data=json.dumps(record)))
            try:
                while True:
                    seen += lines.get(timeout=0.3)
            except queue.Empty:
                pass
    finally:
        follower.terminate()
        follower.wait(timeout=10)
    assert '"message": "live' in seen, f"nothing arrived live; stderr: {follower.stderr.read()}"
    assert f'"requestId": "{rid}"' in seen


def test_request_id_given_to_the_db_service_is_on_its_access_record_in_the_logging_service(servers):
    rid = f"grpcurl-{uuid.uuid4().hex}"
    ok(grpcurl(servers["db"], "merch.store.v1.ProductService/GetProduct", data='{"product_id": 1}',
               headers=(f"x-request-id: {rid}",)))
    records = []
    deadline = time.monotonic() + 10
    while not records and time.monotonic() < deadline:  # the DB service ships its records in the background
        records = tail(servers["log"], {"request_id": rid, "last_n": 10})
    assert [(r["service"], r["message"], r["fields"]["status"]) for r in records] == [
        ("db_service", "Accessing DB service: GetProduct", "OK")]


# --- health -------------------------------------------------------------------------------------

HEALTH = [(server, "") for server in FILES] + SERVICE_CASES


@pytest.mark.parametrize("server,service", HEALTH, ids=[f"{s}:{n or '(server)'}" for s, n in HEALTH])
def test_health_check_says_serving_for_the_server_and_each_service(servers, server, service):
    reply = json.loads(ok(grpcurl(servers[server], "grpc.health.v1.Health/Check",
                                  data=json.dumps({"service": service}))))
    assert reply == {"status": "SERVING"}


@pytest.mark.parametrize("server", ["db", "log"])
def test_a_call_without_the_service_token_is_unauthenticated_and_says_where_the_token_is(servers, server):
    method = {"db": "merch.store.v1.ProductService/GetProduct",
              "log": "merch.logging.v1.LoggingService/GetLoggingStats"}[server]
    command = [GRPCURL, "-plaintext", "-d", '{"product_id": 1}' if server == "db" else "{}", servers[server], method]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "Unauthenticated" in result.stderr and "service_token" in result.stderr, result.stderr


@pytest.mark.parametrize("server", ["db", "log"])
def test_health_check_of_an_unknown_service_is_not_found(servers, server):
    result = grpcurl(servers[server], "grpc.health.v1.Health/Check", data='{"service": "no.such.Service"}')
    assert result.returncode == EXIT_RPC + grpc.StatusCode.NOT_FOUND.value[0], result.stderr


def test_health_watch_streams_the_current_status(servers):
    result = grpcurl(servers["log"], "grpc.health.v1.Health/Watch",
                     data='{"service": "merch.logging.v1.LoggingService"}', max_time=1)
    assert result.returncode == EXIT_RPC + grpc.StatusCode.DEADLINE_EXCEEDED.value[0], result.stderr
    assert messages(result.stdout) == [{"status": "SERVING"}]
