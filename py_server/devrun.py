"""The settings as the start-up code (harness/, scripts/*.sh) reads them, so nothing re-parses `.env`.

    python -m py_server.devrun settings
        the resolved settings as shell assignments, read exactly as every process reads them
        (the environment wins over `.env`, `.env` over the defaults); for `eval`.
    python -m py_server.devrun free NAME=HOST:PORT ...
        exit 0 when every address can be bound; else exit 1 with one line naming the taken one.

Starting, waiting for and stopping processes is the harness's (harness/).
"""
from __future__ import annotations

import argparse
import os
import shlex
import socket
import sys

from py_server import config

#: The REST gateway's default address; api_rest.settings reads MERCH_REST_BIND with the same default.
DEFAULT_REST_BIND = "127.0.0.1:5000"


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m py_server.devrun", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("settings")
    free = commands.add_parser("free")
    free.add_argument("addresses", nargs="+", metavar="NAME=HOST:PORT")
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


if __name__ == "__main__":
    sys.exit(main())
