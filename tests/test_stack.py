"""The scaled-out stack (scripts/stack.sh, i.e. `make stack`): PostgreSQL, Kafka, 2 DB services,
a logging service, 3 gateways behind nginx — under a mixed workload, with one gateway and one
DB-service replica killed mid-run."""
from __future__ import annotations

import concurrent.futures
import http.client
import json
import os
import pathlib
import random
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import grpc
import pytest

from merch.store.v1 import product_pb2, product_pb2_grpc
from tests import guide, support

pytestmark = pytest.mark.kafka

WORKERS = 12
RUN_SECONDS = 24
KILL_AT = 9  # seconds into the run


class Stack:
    def __init__(self):
        self.state = pathlib.Path(tempfile.mkdtemp(prefix="merch-stack-"))
        self.state.chmod(0o755)
        ports = {name: support.free_port() for name in
                 ("pg", "kafka", "controller", "log", "db1", "db2", "r1", "r2", "r3", "nginx",
                  "log_metrics", "db1_metrics", "db2_metrics", "prometheus")}
        self.ports = ports
        env = {k: v for k, v in os.environ.items() if not k.startswith("MERCH_")}
        env.update(MERCH_STATE_DIR=str(self.state), MERCH_BCRYPT_ROUNDS="4", STACK_PG_PORT=str(ports["pg"]),
                   KAFKA_PORT=str(ports["kafka"]), KAFKA_CONTROLLER_PORT=str(ports["controller"]),
                   STACK_LOG_PORT=str(ports["log"]), STACK_DB_PORTS=f"{ports['db1']} {ports['db2']}",
                   STACK_REST_PORTS=f"{ports['r1']} {ports['r2']} {ports['r3']}", STACK_NGINX_PORT=str(ports["nginx"]),
                   STACK_LOG_METRICS_PORT=str(ports["log_metrics"]), STACK_PROMETHEUS_PORT=str(ports["prometheus"]),
                   STACK_DB_METRICS_PORTS=f"{ports['db1_metrics']} {ports['db2_metrics']}", PROMETHEUS_SCRAPE_INTERVAL="1s")
        self.log = open(self.state / "stack.out", "wb")
        self.process = subprocess.Popen([str(support.REPO / "scripts/stack.sh")], env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, cwd=support.REPO)
        self.run_dir = self.state / "stack"
        try:
            support.wait_for(lambda: (self.run_dir / "ready").exists() or self.process.poll() is not None, timeout=360)
        finally:
            if not (self.run_dir / "ready").exists():
                self.stop()
                raise RuntimeError("stack did not start:\n" + (self.state / "stack.out").read_text()[-4000:])
        self.bootstrap = f"127.0.0.1:{ports['kafka']}"

    def pid(self, name: str) -> int:
        return int((self.run_dir / f"{name}.pid").read_text())

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(120)
        self.log.close()
        return self.process.returncode


@pytest.fixture(scope="module")
def stack():
    running = Stack()
    yield running
    assert running.stop() in (0, 143), "the stack must stop cleanly on SIGTERM"


class Client:
    """HTTP through nginx, counting what is in flight (to judge the kill test)."""

    def __init__(self, port: int):
        self.port = port
        self.lock = threading.Lock()
        self.in_flight = 0
        self.outcomes: list[tuple[str, str, int | str, str]] = []  # (request id, method path, status, upstream)

    def request(self, method: str, path: str, body=None, token=None):
        rid = uuid.uuid4().hex
        headers = {"X-Request-ID": rid, "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        with self.lock:
            self.in_flight += 1
        status, data, upstream = "connection-error", None, ""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            reply = conn.getresponse()
            status, upstream = reply.status, reply.getheader("X-Upstream", "")
            data = json.loads(reply.read() or b"null")
            conn.close()
        except (OSError, http.client.HTTPException, json.JSONDecodeError):
            pass
        finally:
            with self.lock:
                self.in_flight -= 1
                self.outcomes.append((rid, f"{method} {path}", status, upstream))
        return status, data


def journey(client: Client, stop_at: float, orders: dict):
    name = f"s{uuid.uuid4().hex[:12]}"
    status, data = client.request("POST", "/users", {"sid": name, "username": name, "email": f"{name}@sustech.edu.cn",
                                                     "password": "password-123"})
    if status != 201:
        return
    status, data = client.request("POST", "/login", {"username": name, "password": "password-123"})
    if status != 200:
        return
    token = data["token"]
    while time.monotonic() < stop_at:
        client.request("GET", "/products", token=token)
        product = random.randint(1, 3)
        client.request("GET", f"/products/{product}", token=token)
        status, order = client.request("POST", "/orders", {"product_id": product, "quantity": random.randint(1, 3)}, token=token)
        if status != 201:
            continue
        orders[order["id"]] = order
        roll = random.random()
        if roll < 0.3:
            status, changed = client.request("PATCH", f"/orders/{order['id']}", {"quantity": random.randint(1, 3)}, token=token)
        elif roll < 0.5:
            client.request("DELETE", f"/orders/{order['id']}", token=token)


def test_the_guide_runs_command_by_command(stack):
    """Runs docs/guide.md's blocks for `make stack` (tests/guide.py says how), in one bash session.

    BASE is nginx; the other default addresses of the blocks it runs (DB 50051/50061, logging 50052, the first
    gateway 5001, Prometheus 9090, the first DB service's metrics 9451 and the logging service's 9452) become
    this stack's ports.
    """
    guide.check_page()
    script = guide.script("stack")
    for default, port in (("127.0.0.1:50051", "db1"), ("127.0.0.1:50061", "db2"), ("127.0.0.1:50052", "log"),
                          ("127.0.0.1:9090", "prometheus"), ("127.0.0.1:5001", "r1"),
                          ("127.0.0.1:9451", "db1_metrics"), ("127.0.0.1:9452", "log_metrics")):
        script = script.replace(default, f"127.0.0.1:{stack.ports[port]}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERCH_")}
    env.update(BASE=f"http://127.0.0.1:{stack.ports['nginx']}",
               MERCH_DB_ADDR=f"127.0.0.1:{stack.ports['db1']}", MERCH_LOG_ADDR=f"127.0.0.1:{stack.ports['log']}",
               MERCH_STATE_DIR=str(stack.state), KAFKA_PORT=str(stack.ports["kafka"]),
               KAFKA_CONTROLLER_PORT=str(stack.ports["controller"]))
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=support.REPO, env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    out = result.stdout
    guide.check_common_output(out)
    assert "http_requests_total{" in out and "grpc_server_handled_total{" in out
    assert out.count(" up\n") == 7, "every Prometheus target is up"
    compact = out.replace(" ", "")
    assert '"route":"/"' in compact, "the request rate by route names the route template"
    assert compact.count('"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"') >= 3, "gateway and DB records share the trace"
    upstreams = {line.split(":", 1)[1].strip() for line in out.splitlines() if line.lower().startswith("x-upstream")}
    assert len(upstreams) == 3, upstreams


def test_the_postman_collection_runs_the_seed_flows(stack):
    """newman (Postman's runner) plays docs/postman_collection.json through nginx; every step's status passes."""
    check = subprocess.run([support.PYTHON, "scripts/postman.py", "--check"], cwd=support.REPO,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    result = subprocess.run(
        [str(support.REPO / ".tools/bin/newman"), "run", "docs/postman_collection.json", "--bail",
         "--env-var", f"baseUrl=http://127.0.0.1:{stack.ports['nginx']}", "--reporters", "cli"],
        cwd=support.REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:]


def prometheus_query(stack, query: str) -> float:
    """The value of a PromQL query that yields one number (0 when it yields nothing yet)."""
    url = f"http://127.0.0.1:{stack.ports['prometheus']}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=5) as reply:
        data = json.load(reply)["data"]["result"]
    return float(data[0]["value"][1]) if data else 0.0


def test_prometheus_scrapes_every_process_and_sees_the_counters_move(stack):
    """Runs before the kill test below: every target is up, and traffic moves each process's counters."""
    base = f"http://127.0.0.1:{stack.ports['prometheus']}"
    ports = stack.ports
    expected = {("prometheus", ports["prometheus"]), ("logging_service", ports["log_metrics"]),
                ("db_service", ports["db1_metrics"]), ("db_service", ports["db2_metrics"]),
                *(("api_rest", ports[r]) for r in ("r1", "r2", "r3"))}
    targets: dict = {}

    def all_up():
        with urllib.request.urlopen(base + "/api/v1/targets?state=active", timeout=5) as reply:
            active = json.load(reply)["data"]["activeTargets"]
        targets.clear()
        targets.update({(t["labels"]["job"], int(t["labels"]["instance"].rsplit(":", 1)[1])): t["health"]
                        for t in active})
        return set(targets) == expected and set(targets.values()) == {"up"}

    try:
        support.wait_for(all_up, timeout=60, interval=0.5)
    except TimeoutError:
        raise AssertionError(f"targets: {targets}, expected {sorted(expected)} all up") from None

    queries = {
        "gateway requests": 'sum(http_requests_total{route="/",status="200"})',
        "DB service calls": 'sum(grpc_server_handled_total{grpc_method="GetGreeting",grpc_code="OK"})',
        "log records accepted": "sum(merch_log_records_accepted_total)",
        "log records published": "sum(merch_log_records_published_total)",
    }
    before = {name: prometheus_query(stack, query) for name, query in queries.items()}
    for _ in range(30):
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['nginx']}/", timeout=10) as reply:
            assert reply.status == 200
    moved: dict = {}

    def counters_moved():
        moved.update({name: prometheus_query(stack, query) - before[name] for name, query in queries.items()})
        return moved["gateway requests"] >= 30 and moved["DB service calls"] >= 30 and \
            moved["log records accepted"] >= 60 and moved["log records published"] >= 60

    try:
        support.wait_for(counters_moved, timeout=60, interval=0.5)
    except TimeoutError:
        raise AssertionError(f"how far each counter moved: {moved}") from None
    with pytest.raises(urllib.error.HTTPError) as hidden:  # nginx keeps the gateways' metrics to Prometheus
        urllib.request.urlopen(f"http://127.0.0.1:{ports['nginx']}/metrics", timeout=5)
    assert hidden.value.code == 404


def test_mixed_workload_survives_killing_a_gateway_and_a_db_replica(stack):
    # The stack runs as `make stack` does in dev: its services made their token in the state folder.
    token = (stack.state / "service_token").read_text().strip()
    db_url = f"postgresql://merch@127.0.0.1:{stack.ports['pg']}/merch"
    import psycopg2

    # Orders that earlier tests left placed (the guide's, for one) are not this run's: count from here.
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM orders")
        (first_order_id,) = cur.fetchone()
    with support.channel(f"127.0.0.1:{stack.ports['db1']}", token=token) as channel:
        products = product_pb2_grpc.ProductServiceStub(channel)
        for pid in (1, 2, 3):  # enough stock that nobody is refused for it
            products.UpdateProduct(product_pb2.UpdateProductRequest(product_id=pid, stock=100_000), timeout=10)
        initial = {pid: 100_000 for pid in (1, 2, 3)}

        client = Client(stack.ports["nginx"])
        orders: dict = {}
        stop_at = time.monotonic() + RUN_SECONDS
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            futures = [pool.submit(lambda: [journey(client, stop_at, orders) for _ in range(1000)
                                            if time.monotonic() < stop_at]) for _ in range(WORKERS)]
            time.sleep(KILL_AT)
            with client.lock:
                in_flight_at_kill = client.in_flight
                done_before_kill = len(client.outcomes)
            os.kill(stack.pid("gateway2"), signal.SIGKILL)
            os.kill(stack.pid("db2"), signal.SIGKILL)
            for future in futures:
                future.result()

        failed = [o for o in client.outcomes if o[2] == "connection-error" or (isinstance(o[2], int) and o[2] >= 500)]
        served_by = {o[3] for o in client.outcomes if o[3]}
        by_kind: dict = {}
        for _, call, status, upstream in failed:
            by_kind[(call.split()[0], status, upstream)] = by_kind.get((call.split()[0], status, upstream), 0) + 1
        print(f"\nrequests: {len(client.outcomes)}, failed: {len(failed)} {by_kind}, "
              f"in flight at the kill: {in_flight_at_kill}, upstreams: {sorted(served_by)}")
        # Every gateway served traffic (gateway 2 until it was killed).
        assert {f"127.0.0.1:{stack.ports[r]}" for r in ("r1", "r2", "r3")} <= served_by
        assert done_before_kill > 0 and len(client.outcomes) > 3 * done_before_kill // 2
        assert len(failed) <= in_flight_at_kill, failed

        # The stock never drifts from the orders, whatever was killed.
        final = {p.id: p.stock for p in products.ListProducts(product_pb2.ListProductsRequest(), timeout=10).products}

    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT product_id, coalesce(sum(quantity), 0) FROM orders WHERE status = 'placed' AND id > %s "
                    "GROUP BY product_id", (first_order_id,))
        placed = dict(cur.fetchall())
    for pid in (1, 2, 3):
        assert final[pid] == initial[pid] - placed.get(pid, 0)

    # Every answered request's "Incoming request" and "Response status" records reached Kafka. One consumer
    # reads the topic once, from the beginning, keeping its place: re-reading thousands of records per poll
    # is what a busy machine cannot do within a fixed time.
    answered = {o[0] for o in client.outcomes if isinstance(o[2], int) and o[2] < 500}
    seen: dict[str, set] = {}
    from kafka import KafkaConsumer

    consumer = KafkaConsumer("log-channel", bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest",
                             group_id=None, enable_auto_commit=False)
    try:
        def collect():
            for messages in consumer.poll(timeout_ms=1000, max_records=5000).values():
                for message in messages:
                    record = json.loads(message.value)
                    if record.get("service") == "api_rest":
                        seen.setdefault(record.get("requestId", ""), set()).add(record["message"].split(":")[0])
            return all(seen.get(rid, set()) >= {"Incoming request", "Response status"} for rid in answered)

        try:
            support.wait_for(collect, timeout=240, interval=0)
        except TimeoutError:
            missing = [rid for rid in answered if seen.get(rid, set()) < {"Incoming request", "Response status"}]
            raise AssertionError(f"{len(missing)} of {len(answered)} answered requests lack their records in Kafka")
    finally:
        consumer.close()
