"""The DB service on every core: MERCH_DB_PROCESSES processes share one port (SO_REUSEPORT).

A real DB service of several processes on SQLite: clients with several connections reach every
process, every process answers health checks and writes correctly to the one database file, and
the parent passes SIGTERM on and reports a worker's death.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from merch.store.v1 import order_pb2, order_pb2_grpc, product_pb2, product_pb2_grpc, user_pb2, user_pb2_grpc
from tests import support

AUTH = (("authorization", f"Bearer {support.SERVICE_TOKEN}"),)


def workers_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def connections_served(pid: int, port: int) -> int:
    """Established TCP connections on `port` whose server end process `pid` holds."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    served = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):  # gRPC listens dual-stack: IPv4 as v4-mapped IPv6
        with open(table) as rows:
            for line in rows.readlines()[1:]:
                fields = line.split()
                local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
                served += local_port == port and state == "01" and inode in inodes
    return served


@pytest.fixture
def service(tmp_path):
    with support.db_service(tmp_path, MERCH_DB_PROCESSES="2") as (address, proc):
        yield address, proc


def test_two_processes_share_the_port_and_clients_with_several_connections_reach_both(service):
    address, proc = service
    workers = workers_of(proc.pid)
    assert len(workers) == 2
    cpus = os.sched_getaffinity(proc.pid)
    if len(cpus) == 2:  # one process per core: each pinned to its own
        assert sorted(os.sched_getaffinity(pid) for pid in workers) == sorted({cpu} for cpu in cpus)
    port = int(address.rsplit(":", 1)[1])
    channels = [grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(16)]
    try:
        for channel in channels:
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            product = product_pb2_grpc.ProductServiceStub(channel).GetProduct(
                product_pb2.GetProductRequest(product_id=1), timeout=10, metadata=AUTH).product
            assert product.name == "SUSTech Hoodie"
        served = {pid: connections_served(pid, port) for pid in workers}
        assert sum(served.values()) == 16
        assert all(served.values()), f"every process serves some of the 16 connections: {served}"
    finally:
        for channel in channels:
            channel.close()


def test_orders_from_both_processes_on_one_sqlite_file_never_oversell(service):
    address, _proc = service
    stock, buyers = 30, 8
    with support.channel(address) as setup:
        product = product_pb2_grpc.ProductServiceStub(setup).CreateProduct(product_pb2.CreateProductRequest(
            name=f"Shared Mug {uuid.uuid4().hex[:8]}", description="d", category="Drinkware", price_cents=500,
            slogan="s", stock=stock), timeout=10).product
        users = [user_pb2_grpc.UserServiceStub(setup).CreateUser(user_pb2.CreateUserRequest(
            sid=f"p{uuid.uuid4().hex[:10]}", username=f"p{uuid.uuid4().hex[:10]}",
            email=f"p{uuid.uuid4().hex[:10]}@x.org", password="correct horse"), timeout=10).user for _ in range(buyers)]
    import concurrent.futures

    def buy(user):
        placed = refused = 0
        with grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            orders = order_pb2_grpc.OrderServiceStub(channel)
            for _ in range(6):
                try:
                    orders.PlaceOrder(order_pb2.PlaceOrderRequest(user_id=user.id, product_id=product.id, quantity=1),
                                      timeout=30, metadata=AUTH)
                    placed += 1
                except grpc.RpcError as error:
                    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION, error.details()
                    refused += 1
        return placed, refused

    with concurrent.futures.ThreadPoolExecutor(buyers) as pool:
        results = list(pool.map(buy, users))
    assert sum(placed for placed, _ in results) == stock
    assert sum(refused for _, refused in results) == buyers * 6 - stock
    with support.channel(address) as check:
        left = product_pb2_grpc.ProductServiceStub(check).GetProduct(
            product_pb2.GetProductRequest(product_id=product.id), timeout=10).product.stock
    assert left == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_parent_stops_every_process_cleanly(service, sig):
    _address, proc = service
    workers = workers_of(proc.pid)
    assert proc.stop(sig) == 0
    for pid in workers:
        assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower()
    assert "Traceback" not in proc.log_text()
    assert proc.log_text().count("received %s, shutting down" % sig.name) >= 2


def test_a_worker_that_dies_stops_the_service_loudly(service):
    address, proc = service
    victim, survivor = workers_of(proc.pid)
    os.kill(victim, signal.SIGKILL)
    assert proc.process.wait(timeout=30) == 128 + signal.SIGKILL
    assert not os.path.exists(f"/proc/{survivor}")
    assert f"exited with {128 + signal.SIGKILL}; stopping the others" in proc.log_text()
    with socket.socket() as probe:  # the port is free again
        probe.bind(("127.0.0.1", int(address.rsplit(":", 1)[1])))


def test_a_port_in_use_is_refused_not_shared(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = support.service_env(tmp_path, MERCH_DB_PROCESSES="2")
        result = subprocess.run([support.PYTHON, "-m", "py_server.db_service", "--bind", f"127.0.0.1:{port}"],
                                cwd=support.REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"could not bind 127.0.0.1:{port}" in result.stderr


def test_workers_do_not_outlive_a_parent_killed_outright(service):
    address, proc = service
    workers = workers_of(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.process.wait(timeout=10)
    support.wait_for(lambda: not any(alive(pid) for pid in workers), timeout=30)
    with socket.socket() as probe:  # nobody holds the port
        probe.bind(("127.0.0.1", int(address.rsplit(":", 1)[1])))


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "zombie" not in status.read()
    except FileNotFoundError:
        return False
