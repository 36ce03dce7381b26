"""Runs the DB service: `python -m py_server.db_service [--bind HOST:PORT]`.

MERCH_DB_PROCESSES processes (default: one per core) share the port with SO_REUSEPORT, so calls
use every core: a Python process runs Python on one core at a time. The parent prepares the
schema, forks the workers before it creates any gRPC object or thread (gRPC's multiprocessing
pattern), serves the metrics of them all, and passes SIGTERM/SIGINT on. With one process the
service runs in this process itself.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys

from py_server import config

# prometheus_client reads this when it is first imported: the workers' metrics then live in files
# in this folder, and the parent serves their sum.
_MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def main() -> None:
    settings = config.load_settings()
    settings.require_production_database()
    config.prepare_state_dir(settings.state_dir)
    parser = argparse.ArgumentParser(prog="python -m py_server.db_service", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bind", default=settings.db_bind,
                        help="address to listen on (MERCH_DB_BIND, default %(default)s)")
    parser.add_argument("--processes", type=int, default=settings.db_processes,
                        help="processes sharing the port (MERCH_DB_PROCESSES, default: one per core, %(default)s)")
    args = parser.parse_args()
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    workers = settings.db_workers_per_process(args.processes)
    settings.require_pool_for_workers(workers)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s db_service %(levelname)s %(message)s")

    metrics_dir = None
    if args.processes > 1:
        metrics_dir = _share_metrics(settings.state_dir, args.bind)
    from py_server.store import database as store_database

    database = store_database.open_database(settings.database_url, pool_size=settings.db_pool_size)
    store_database.bind(database)
    store_database.prepare_schema(database)
    if args.processes == 1:
        serve(settings, args.bind, database, processes=1, workers=workers)
        return
    database.close_all()  # no connection may cross the fork

    from py_server.grpc_server import reserve_port, serve_in_processes

    try:
        address, holder = reserve_port(args.bind)
    except OSError as error:
        raise SystemExit(f"db_service: {error}") from None

    def serve_metrics():
        from py_server import metrics

        metrics.serve("MERCH_DB_METRICS_BIND", metrics.DEFAULT_DB_BIND, registry=metrics.shared_registry(metrics_dir))

    logging.info("DB service: %d processes of %d worker threads on %s", args.processes, workers, address)
    try:
        code = serve_in_processes(args.processes, lambda index: serve(settings, address, database,
                                                                       processes=args.processes, workers=workers),
                                  after_fork=serve_metrics)
    finally:
        holder.close()
        if metrics_dir is not None and metrics_dir.name.startswith("db_service-"):
            shutil.rmtree(metrics_dir, ignore_errors=True)
    sys.exit(code)


def serve(settings: config.Settings, address: str, database, *, processes: int, workers: int) -> None:
    """One DB-service process of `processes`: its gRPC server, log shipper and health monitor, until
    SIGTERM/SIGINT. With several, they share the port and the parent serves the metrics."""
    from py_server import metrics, telemetry
    from py_server.db_service.server import access_logger, create_server
    from py_server.grpc_server import run_until_signal
    from py_server.logship import LogShipper
    from py_server.store.users import PasswordHasher

    telemetry.configure("db_service")
    shipper = LogShipper(settings.log_addr, "db_service", token=settings.service_token).start()
    collectors = (metrics.DatabasePoolCollector(database), metrics.ShipperCollector(shipper))
    if processes > 1:
        metrics.mirror_to_shared(*collectors)
    else:
        metrics.register(*collectors)
        metrics.serve("MERCH_DB_METRICS_BIND", metrics.DEFAULT_DB_BIND)
    bound, monitor = create_server(
        address, database,
        access_log=access_logger(shipper),
        # bcrypt on at most one thread per core in all the processes together.
        hasher=PasswordHasher(settings.bcrypt_rounds, slots=max(1, (os.cpu_count() or 1) // processes)),
        service_token=settings.service_token,
        workers=workers,
        reuse_port=processes > 1,
    )
    bound.server.start()
    monitor.start()
    logging.info("DB service listening on %s (pid %d, database: %s)",
                 address.rsplit(":", 1)[0] + f":{bound.port}", os.getpid(), settings.database_url.split("@")[-1])
    run_until_signal(bound, on_stop=monitor.stop)
    database.close_all()
    shipper.close(timeout=5)


def _share_metrics(state_dir, bind: str):
    """Points prometheus_client at a folder for the workers' metrics (an operator's own folder is kept)."""
    import pathlib

    if os.environ.get(_MULTIPROC_VARIABLE):
        return pathlib.Path(os.environ[_MULTIPROC_VARIABLE])
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess folder was set")
    folder = state_dir / "metrics" / f"db_service-{bind.replace(':', '_').replace('/', '_')}"
    shutil.rmtree(folder, ignore_errors=True)  # a previous run's files would be summed in
    folder.mkdir(parents=True)
    os.environ[_MULTIPROC_VARIABLE] = str(folder)
    return folder


if __name__ == "__main__":
    main()
