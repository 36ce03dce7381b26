"""compose.yaml and the Dockerfile for real: every image built, `docker compose up --build --wait`, and the
stack driven end to end through nginx, then `docker compose down -v`.

Where no image registry answers (this project's machines), the images are the local stand-ins that
scripts/images.sh builds from Debian's packages and Maven (sustech-merch-local/*), passed through
compose.yaml's MERCH_*_IMAGE variables. The Docker engine is Debian's docker.io: scripts/docker-host.sh
starts dockerd if none answers and this module stops it again (by pid) at the end.

The stack gets a project name, secrets (a generated env file, never the repository's .env) and host ports
of its own, so it clashes neither with `make run` / `make stack` nor with a user's `docker compose up`.
MERCH_COMPOSE_IMAGES=official uses compose.yaml's default (official) images instead, on a machine that
reaches Docker Hub. MERCH_SKIP_COMPOSE=1 skips the module; nothing else does.
"""
from __future__ import annotations

import fcntl
import http.client
import json
import os
import secrets
import subprocess
import time
import uuid

import pytest

from tests import support

pytestmark = pytest.mark.skipif(os.environ.get("MERCH_SKIP_COMPOSE") == "1", reason="MERCH_SKIP_COMPOSE=1")

IMAGE_VARS = ("MERCH_PYTHON_IMAGE", "MERCH_POSTGRES_IMAGE", "MERCH_KAFKA_IMAGE", "MERCH_NGINX_IMAGE")
OFFICIAL_NAMES = ("python", "postgres", "apache/kafka", "nginx", "library/")
SERVICES = {"postgres": 1, "kafka": 1, "kafka-init": 1, "logging": 1, "db": 2, "gateway": 3, "nginx": 1}
UP_TIMEOUT = 900  # a cold build on a busy 2-core machine; `up --wait` itself polls the healthchecks
# One compose test at a time on a machine: a run that started dockerd stops it at its end, which must not
# pull the engine from under another worktree's run.
MACHINE_LOCK = "/tmp/merch-compose-test.lock"
LOCK_WAIT = 1800


def _say(request, text: str) -> None:
    """A progress line on the terminal as it happens (phase timings), past pytest's output capture."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"[compose] {text}")


class Compose:
    """One compose project of this test run: its name, env file, ports and the `docker compose` wrapper."""

    def __init__(self, workdir, env: dict[str, str]):
        self.project = f"merch-e2e-{uuid.uuid4().hex[:8]}"
        self.http_port = support.free_port()
        self.kafka_port = support.free_port()
        self.service_token = secrets.token_hex(24)
        self.env_file = workdir / "compose.env"
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in {
            "POSTGRES_PASSWORD": secrets.token_hex(16),
            "MERCH_JWT_SECRET": secrets.token_hex(32),
            "MERCH_SERVICE_TOKEN": self.service_token,
            "MERCH_HTTP_PORT": self.http_port,
            "MERCH_KAFKA_PORT": self.kafka_port,
        }.items()))
        self.env_file.chmod(0o600)
        self.env = env
        self.shared: dict = {}  # what one test leaves for the next (the user, their order)

    def run(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        command = ["docker", "compose", "-p", self.project, "--env-file", str(self.env_file), *args]
        result = subprocess.run(command, cwd=support.REPO, env=self.env, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
                                 f"{result.stderr[-4000:]}")
        return result

    def docker(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def containers(self) -> list[dict]:
        """Every container of the project, running or not, as `docker inspect` sees it."""
        ids = self.docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}").stdout.split()
        return json.loads(self.docker("inspect", *ids).stdout) if ids else []

    def of(self, service: str) -> list[dict]:
        return sorted((c for c in self.containers() if c["Config"]["Labels"]["com.docker.compose.service"] == service),
                      key=lambda c: c["Config"]["Labels"]["com.docker.compose.container-number"])

    def all_healthy(self) -> bool:
        containers = self.containers()
        counts = {name: 0 for name in SERVICES}
        for c in containers:
            service = c["Config"]["Labels"]["com.docker.compose.service"]
            counts[service] += 1
            if service == "kafka-init":
                if c["State"]["Status"] != "exited" or c["State"]["ExitCode"] != 0:
                    return False
            elif c["State"].get("Health", {}).get("Status") != "healthy":
                return False
        return counts == SERVICES

    def psql(self, sql: str) -> str:
        return self.run("exec", "-T", "postgres", "psql", "-U", "merch", "-d", "merch", "-Atc", sql).stdout.strip()

    def request(self, method: str, path: str, body=None, token=None, request_id=None):
        headers = {"Content-Type": "application/json", "X-Request-ID": request_id or uuid.uuid4().hex}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
            return reply.status, json.loads(data) if data else None, reply.getheader("X-Upstream", "")
        finally:
            conn.close()

    def kafka_records(self, want, timeout: float = 60.0) -> list[dict]:
        """Polls log-channel from the beginning (through the published port) until `want(records)` holds."""
        from kafka import KafkaConsumer

        records: list[dict] = []
        consumer = KafkaConsumer("log-channel", bootstrap_servers=f"127.0.0.1:{self.kafka_port}",
                                 auto_offset_reset="earliest", group_id=None, enable_auto_commit=False)
        deadline = time.monotonic() + timeout
        try:
            while not want(records) and time.monotonic() < deadline:
                for batch in consumer.poll(timeout_ms=500).values():
                    records.extend(json.loads(m.value) for m in batch)
        finally:
            consumer.close()
        return records


@pytest.fixture(scope="module")
def machine_lock(request):
    with open(MACHINE_LOCK, "a") as lock:
        deadline, waiting = time.monotonic() + LOCK_WAIT, False
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waiting:
                    _say(request, f"another compose test runs on this machine; waiting for {MACHINE_LOCK}")
                    waiting = True
                assert time.monotonic() < deadline, f"{MACHINE_LOCK} still held after {LOCK_WAIT}s"
                time.sleep(1)
        yield
        fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def compose(request, tmp_path_factory, machine_lock):
    local = os.environ.get("MERCH_COMPOSE_IMAGES", "local") == "local"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MERCH_", "POSTGRES_", "COMPOSE_"))}
    env["PATH"] = f"{support.REPO / '.venv/bin'}:{env.get('PATH', '')}"
    started = time.monotonic()
    host = subprocess.run([str(support.REPO / "scripts/docker-host.sh"), "start"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert host.returncode == 0, f"no Docker engine:\n{host.stderr[-4000:]}"
    dockerd_pid = host.stdout.strip()
    env["DOCKER_CONFIG"] = str(support.REPO / ".tools/docker/config")
    _say(request, f"Docker engine ready in {time.monotonic() - started:.0f}s"
                  f" ({'dockerd pid ' + dockerd_pid + ' started' if dockerd_pid else 'already running'})")
    stack = None
    try:
        if local:
            t = time.monotonic()
            images = subprocess.run([str(support.REPO / "scripts/images.sh")], env=env, capture_output=True,
                                    text=True, timeout=1200)
            assert images.returncode == 0, f"scripts/images.sh failed:\n{images.stderr[-4000:]}"
            for line in images.stdout.splitlines():
                name, _, value = line.removeprefix("export ").partition("=")
                env[name] = value
            assert all(env.get(var) for var in IMAGE_VARS), images.stdout
            _say(request, f"local images ready in {time.monotonic() - t:.0f}s")
        stack = Compose(tmp_path_factory.mktemp("compose"), env)
        t = time.monotonic()
        # Stand-ins exist only here: never ask a registry for them (nor for the official names).
        stack.run("up", "--build", "--wait", "--pull", "never" if local else "missing", "--quiet-pull",
                  timeout=UP_TIMEOUT)
        _say(request, f"`docker compose up --build --wait` ({stack.project}) in {time.monotonic() - t:.0f}s; "
                      f"nginx on 127.0.0.1:{stack.http_port}, Kafka on 127.0.0.1:{stack.kafka_port}")
        yield stack
    finally:
        if stack is not None:
            if request.session.testsfailed:
                logs = stack.run("logs", "--no-color", "--tail", "40", check=False, timeout=120)
                _say(request, "last container logs:\n" + logs.stdout[-12000:])
            stack.run("down", "-v", "--remove-orphans", "--timeout", "20", check=False, timeout=300)
        if dockerd_pid:
            subprocess.run([str(support.REPO / "scripts/docker-host.sh"), "stop", dockerd_pid], env=env,
                           timeout=180, check=True)
        _say(request, f"container stage took {time.monotonic() - started:.0f}s in all")


def test_every_service_is_up_healthy_and_built_from_the_chosen_images(compose):
    assert compose.all_healthy(), [(c["Name"], c["State"]) for c in compose.containers()]
    if os.environ.get("MERCH_COMPOSE_IMAGES", "local") == "local":
        used = {c["Config"]["Labels"]["com.docker.compose.service"]: c["Config"]["Image"] for c in compose.containers()}
        assert used["postgres"] == compose.env["MERCH_POSTGRES_IMAGE"]
        assert used["kafka"] == used["kafka-init"] == compose.env["MERCH_KAFKA_IMAGE"]
        assert used["nginx"] == compose.env["MERCH_NGINX_IMAGE"]
        for service, image in used.items():
            if service in ("logging", "db", "gateway"):
                assert image == "sustech-merch-store:local"
            else:  # a stand-in never takes an official image's name
                assert image.startswith("sustech-merch-local/") and not image.startswith(OFFICIAL_NAMES), image
        app = json.loads(compose.docker("image", "inspect", "sustech-merch-store:local").stdout)[0]
        base = json.loads(compose.docker("image", "inspect", compose.env["MERCH_PYTHON_IMAGE"]).stdout)[0]
        assert base["RootFS"]["Layers"] == app["RootFS"]["Layers"][:len(base["RootFS"]["Layers"])], \
            "the store's image is built on MERCH_PYTHON_IMAGE"
    # Production mode: the services run with the generated token, as a non-root user.
    gateway = compose.of("gateway")[0]
    assert f"MERCH_SERVICE_TOKEN={compose.service_token}" in gateway["Config"]["Env"]
    assert gateway["Config"]["User"] == "merch"
    assert compose.run("exec", "-T", "gateway", "id", "-u").stdout.strip() not in ("", "0")


def test_the_store_image_holds_exactly_the_pinned_packages(compose):
    """The Dockerfile installs requirements.txt's exact pins: the image's own pip reports each at its version."""
    pins = {line.split("==")[0].lower().replace("_", "-"): line.split("==")[1] for line in
            (support.REPO / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")}
    frozen = compose.run("exec", "-T", "gateway", "python", "-m", "pip", "list", "--format=json").stdout
    installed = {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(frozen)}
    assert {name: installed.get(name) for name in pins} == pins


def test_register_login_and_order_through_nginx_land_in_postgres_and_kafka(compose):
    name = f"e2e{uuid.uuid4().hex[:10]}"
    status, user, _ = compose.request("POST", "/users", {"sid": name, "username": name,
                                                         "email": f"{name}@sustech.edu.cn", "password": "password-123"})
    assert status == 201, user
    status, login, _ = compose.request("POST", "/login", {"username": name, "password": "password-123"})
    assert status == 200, login
    token = login["token"]
    stock_before = int(compose.psql("SELECT stock FROM products WHERE id = 2"))

    order_request = uuid.uuid4().hex
    status, order, _ = compose.request("POST", "/orders", {"product_id": 2, "quantity": 3}, token=token,
                                       request_id=order_request)
    assert status == 201, order
    assert order["quantity"] == 3 and order["total_price"] == 59.97

    row = compose.psql(f"SELECT u.username, o.product_id, o.quantity, o.total_price, o.status "
                       f"FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = {int(order['id'])}")
    assert row == f"{name}|2|3|59.97|placed"
    assert int(compose.psql("SELECT stock FROM products WHERE id = 2")) == stock_before - 3

    wanted = {"Incoming request: POST /orders", "Response status: 201 for POST /orders"}

    def ours(records):
        return {r["message"] for r in records if r.get("requestId") == order_request}

    records = compose.kafka_records(lambda rs: wanted <= ours(rs))
    assert wanted <= ours(records), sorted(ours(records))
    assert any(r["service"] == "db_service" for r in records if r.get("requestId") == order_request), \
        "the DB service's access log of the same request is in Kafka too"
    compose.shared.update(name=name, order=order)


def test_requests_spread_over_the_three_gateway_replicas(compose):
    addresses = {c["NetworkSettings"]["Networks"][f"{compose.project}_default"]["IPAddress"]
                 for c in compose.of("gateway")}
    assert len(addresses) == 3
    seen = set()
    for _ in range(60):
        status, body, upstream = compose.request("GET", "/")
        assert status == 200 and body == {"message": "Welcome to the gRPC Service!"}, body
        seen.add(upstream.rsplit(":", 1)[0])
        if seen == addresses:
            break
    assert seen == addresses, f"nginx answered from {seen}, the replicas are {addresses}"


def test_nginx_routes_around_a_killed_gateway(compose, request):
    victim = compose.of("gateway")[1]
    dead = victim["NetworkSettings"]["Networks"][f"{compose.project}_default"]["IPAddress"]
    assert compose.request("GET", "/")[0] == 200  # nginx has just resolved all three replicas
    killed = compose.docker("kill", victim["Id"])
    assert killed.returncode == 0, killed.stderr
    assert json.loads(compose.docker("inspect", victim["Id"]).stdout)[0]["State"]["Running"] is False

    answered_by, retried = [], 0
    for _ in range(40):
        status, body, upstream = compose.request("GET", "/products/1", token=None)
        assert status == 401, (status, body)  # answered by a gateway: it wants a login
        tried = [address.strip().rsplit(":", 1)[0] for address in upstream.split(",")]
        answered_by.append(tried[-1])  # the replica that answered; any before it failed
        retried += dead in tried[:-1]
    _say(request, f"killed gateway {dead}: {retried} of 40 requests tried it first and were handed on by nginx")
    assert dead not in answered_by
    assert len(set(answered_by)) == 2, f"both surviving replicas keep answering: {set(answered_by)}"
    # The killed container stays down (a kill is a manual stop for the restart policy) ...
    assert json.loads(compose.docker("inspect", victim["Id"]).stdout)[0]["State"]["Running"] is False


def test_the_stack_survives_docker_compose_restart_with_its_data(compose):
    compose.run("restart", "--timeout", "20", timeout=300)
    support.wait_for(compose.all_healthy, timeout=300, interval=1.0)  # ... and `restart` brings it back too
    name, order = compose.shared["name"], compose.shared["order"]
    status, login, _ = compose.request("POST", "/login", {"username": name, "password": "password-123"})
    assert status == 200, login
    status, again, _ = compose.request("GET", f"/orders/{order['id']}", token=login["token"])
    assert status == 200 and again["id"] == order["id"] and again["quantity"] == 3, again
    request_id = uuid.uuid4().hex
    status, second, _ = compose.request("POST", "/orders", {"product_id": 1, "quantity": 1}, token=login["token"],
                                        request_id=request_id)
    assert status == 201, second
    records = compose.kafka_records(lambda rs: any(r.get("requestId") == request_id for r in rs))
    assert any(r.get("requestId") == request_id for r in records), "logs reach Kafka after the restart"


def test_down_removes_every_container_volume_and_network(compose):
    compose.run("down", "-v", "--remove-orphans", "--timeout", "20", timeout=300)
    label = f"label=com.docker.compose.project={compose.project}"
    assert compose.docker("ps", "-aq", "--filter", label).stdout.split() == []
    assert compose.docker("volume", "ls", "-q", "--filter", label).stdout.split() == []
    assert compose.docker("network", "ls", "-q", "--filter", label).stdout.split() == []
