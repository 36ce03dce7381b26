"""Runs the logging service: `python -m py_server.logging_service [--bind HOST:PORT]`."""
from __future__ import annotations

import argparse
import logging

from py_server import config, metrics, telemetry
from py_server.grpc_server import run_until_signal
from py_server.logging_service.server import DEFAULT_BUFFER_RECORDS, create_server


def main() -> None:
    settings = config.load_settings()
    config.prepare_state_dir(settings.state_dir)
    parser = argparse.ArgumentParser(prog="python -m py_server.logging_service", description=__doc__)
    parser.add_argument("--bind", default=settings.log_bind,
                        help="address to listen on (MERCH_LOG_BIND, default %(default)s)")
    parser.add_argument("--buffer-records", type=int, default=DEFAULT_BUFFER_RECORDS,
                        help="records held while the sink is slow or down (default %(default)s)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s logging_service %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.ERROR)  # its reconnect chatter would drown our own lines

    bound, publisher, servicer = create_server(
        args.bind,
        log_file=settings.log_file,
        kafka_bootstrap=settings.kafka_bootstrap,
        kafka_topic=settings.kafka_topic,
        buffer_records=args.buffer_records,
        service_token=settings.service_token,
        workers=settings.grpc_workers,
    )
    telemetry.configure("logging_service")
    metrics.register(metrics.LoggingServiceCollector(publisher.buffer, publisher))
    metrics.serve("MERCH_LOG_METRICS_BIND", metrics.DEFAULT_LOG_BIND)
    publisher.start()
    bound.server.start()
    bound.set_serving(True)
    logging.info("logging service listening on port %d, publishing to %s", bound.port, publisher.sink.description)
    # Stops last: first takes the records its clients flush as they stop, then drains its sink.
    run_until_signal(bound, before_stop=servicer.drain_clients, on_stop=publisher.stop)


if __name__ == "__main__":
    main()
