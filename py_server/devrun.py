"""What the start-up scripts (scripts/run.sh, scripts/stack.sh) ask Python, so they never re-parse `.env`.

    python -m py_server.devrun settings
        the resolved settings as shell assignments, read exactly as every process reads them
        (the environment wins over `.env`, `.env` over the defaults); for `eval`.
    python -m py_server.devrun free NAME=HOST:PORT ...
        exit 0 when every address can be bound; else exit 1 with one line naming the taken one.
    python -m py_server.devrun wait PID TARGET [--timeout S]
        polls until the process PID (or one of its children) listens on TARGET's port and TARGET
        answers healthy: a gRPC address (grpc.health.v1) or an http:// URL (HTTP 200). Another
        process answering on that port does not count. Exit 0 ready, 3 PID exited, 4 timed out.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shlex
import socket
import sys
import time

from py_server import config

#: The REST gateway's default address; api_rest.settings reads MERCH_REST_BIND with the same default.
DEFAULT_REST_BIND = "127.0.0.1:5000"

EXIT_READY, EXIT_DIED, EXIT_TIMEOUT = 0, 3, 4


def shell_settings(settings: config.Settings, environ: dict[str, str]) -> dict[str, str]:
    """The settings the scripts use, by variable name."""
    return {
        "MERCH_ENV": settings.env,
        "MERCH_STATE_DIR": str(settings.state_dir),
        "MERCH_DATABASE_URL": settings.database_url,
        "MERCH_KAFKA_BOOTSTRAP": settings.kafka_bootstrap or "",
        "MERCH_KAFKA_TOPIC": settings.kafka_topic,
        "MERCH_DB_ADDR": settings.db_addr,
        "MERCH_LOG_ADDR": settings.log_addr,
        "MERCH_DB_BIND": settings.db_bind,
        "MERCH_LOG_BIND": settings.log_bind,
        "MERCH_REST_BIND": environ.get("MERCH_REST_BIND", "").strip() or DEFAULT_REST_BIND,
        # Only the start-up scripts read it: how long a service may take to become ready.
        "MERCH_START_TIMEOUT": str(config._int(environ, "MERCH_START_TIMEOUT", 120, 1, 3600)),
    }


def split_address(address: str) -> tuple[str, int]:
    """'host:port', '[v6]:port' or 'http://host:port/path' -> (host, port)."""
    rest = address.split("://", 1)[-1].split("/", 1)[0]
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{address!r} is not host:port")
    return host.strip("[]"), int(port)


def connectable(address: str) -> str:
    """Where a client on this machine reaches a server bound to `address` (0.0.0.0 -> 127.0.0.1)."""
    host, port = split_address(address)
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def taken(address: str) -> str | None:
    """None when `address` can be bound now (as the servers bind it), else the reason."""
    try:
        host, port = split_address(address)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (ValueError, OSError) as error:
        return str(error)
    for family, kind, proto, _, sockaddr in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(sockaddr)
                sock.listen(1)
            except OSError as error:
                return error.strerror or str(error)
    return None


def _listening_inodes(port: int) -> set[str] | None:
    """Socket inodes listening on `port` (any address), from /proc; None where /proc is not Linux's."""
    inodes, seen = set(), False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = pathlib.Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        seen = True
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes if seen else None


def _family(pid: int) -> set[int]:
    """`pid` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    family, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current not in family:
            family.add(current)
            todo.extend(children.get(current, ()))
    return family


def owns_listener(pid: int, port: int) -> bool:
    """True when `pid` or a descendant holds a socket listening on `port` (True where /proc cannot tell)."""
    inodes = _listening_inodes(port)
    if inodes is None:
        return True
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for member in _family(pid):
        try:
            fds = os.listdir(f"/proc/{member}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{member}/fd/{fd}") in wanted:
                    return True
            except OSError:
                continue
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited; only its parent's wait is missing
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def healthy(target: str) -> bool:
    from py_server import healthcheck

    if target.startswith(("http://", "https://")):
        return healthcheck.http_ok(target, timeout=2.0)
    return healthcheck.grpc_serving(target, timeout=2.0)


def wait_ready(pid: int, target: str, timeout: float) -> int:
    port = split_address(target)[1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return EXIT_DIED
        if owns_listener(pid, port) and healthy(target) and alive(pid):
            return EXIT_READY
        time.sleep(0.2)
    return EXIT_DIED if not alive(pid) else EXIT_TIMEOUT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m py_server.devrun", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("settings")
    free = commands.add_parser("free")
    free.add_argument("addresses", nargs="+", metavar="NAME=HOST:PORT")
    wait = commands.add_parser("wait")
    wait.add_argument("pid", type=int)
    wait.add_argument("target")
    wait.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    if args.command == "settings":
        settings = config.load_settings()  # loads .env into os.environ, the environment winning
        for name, value in shell_settings(settings, dict(os.environ)).items():
            print(f"{name}={shlex.quote(value)}")
        return 0
    if args.command == "free":
        for item in args.addresses:
            name, _, address = item.rpartition("=")
            if reason := taken(address):
                where = f" ({name})" if name else ""
                print(f"{address}{where} is not free: {reason}. Stop whatever listens there, or set "
                      f"{name or 'the address'} to a free one (in .env or the environment).", file=sys.stderr)
                return 1
        return 0
    return wait_ready(args.pid, args.target, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
