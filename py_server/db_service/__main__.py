"""Runs the DB service: `python -m py_server.db_service [--bind HOST:PORT]`."""
from __future__ import annotations

import argparse
import logging

from py_server import config, metrics, telemetry
from py_server.db_service.server import access_logger, create_server
from py_server.grpc_server import run_until_signal
from py_server.logship import LogShipper
from py_server.store import database as store_database
from py_server.store.users import PasswordHasher


def main() -> None:
    settings = config.load_settings()
    settings.require_production_database()
    settings.require_pool_for_workers()
    config.prepare_state_dir(settings.state_dir)
    parser = argparse.ArgumentParser(prog="python -m py_server.db_service", description=__doc__)
    parser.add_argument("--bind", default=settings.db_bind,
                        help="address to listen on (MERCH_DB_BIND, default %(default)s)")
    parser.add_argument("--reuse-port", action="store_true",
                        help="share the port with other DB-service processes (SO_REUSEPORT)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s db_service %(levelname)s %(message)s")

    database = store_database.open_database(settings.database_url, pool_size=settings.db_pool_size)
    store_database.bind(database)
    store_database.prepare_schema(database)
    telemetry.configure("db_service")
    shipper = LogShipper(settings.log_addr, "db_service", token=settings.service_token).start()
    metrics.register(metrics.DatabasePoolCollector(database), metrics.ShipperCollector(shipper))
    metrics.serve("MERCH_DB_METRICS_BIND", metrics.DEFAULT_DB_BIND)
    bound, monitor = create_server(
        args.bind, database,
        access_log=access_logger(shipper),
        hasher=PasswordHasher(settings.bcrypt_rounds),
        service_token=settings.service_token,
        workers=settings.grpc_workers,
        reuse_port=args.reuse_port,
    )
    bound.server.start()
    monitor.start()
    logging.info("DB service listening on %s (database: %s)", args.bind.rsplit(":", 1)[0] + f":{bound.port}",
                 settings.database_url.split("@")[-1])
    run_until_signal(bound, on_stop=monitor.stop)
    database.close_all()
    shipper.close(timeout=5)


if __name__ == "__main__":
    main()
