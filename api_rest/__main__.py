"""Serves the REST gateway: `python -m api_rest [--bind HOST:PORT] [--workers N] [--threads N]`.

Reads the configuration, then runs gunicorn (pre-forked worker processes,
each with a pool of threads). Each worker builds its own dependencies after
the fork: its gRPC channel to the DB service and its log shipper. SIGTERM or
Ctrl-C stops taking requests, lets running ones finish, and flushes the logs.
"""
from __future__ import annotations

import argparse
import logging

from api_rest import settings as gateway_settings
from py_server import config
from api_rest.server import GatewayServer


def main() -> None:
    settings = gateway_settings.load()
    config.prepare_state_dir(settings.shared.state_dir)
    parser = argparse.ArgumentParser(prog="python -m api_rest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bind", default=settings.bind,
                        help="address to listen on (MERCH_REST_BIND, default %(default)s)")
    parser.add_argument("--workers", type=int, default=settings.workers,
                        help="worker processes (MERCH_REST_WORKERS, default: one per core, here %(default)s)")
    parser.add_argument("--threads", type=int, default=settings.threads,
                        help="threads per worker (MERCH_REST_THREADS, default %(default)s)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s api_rest[%(process)d] %(levelname)s %(message)s")
    GatewayServer(settings, bind=args.bind, workers=args.workers, threads=args.threads).run()


if __name__ == "__main__":
    main()
