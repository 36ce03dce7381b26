"""Builds the logging service from its parts."""
from __future__ import annotations

from merch.logging.v1 import logging_pb2_grpc
from py_server import interceptors, validating
from py_server.grpc_server import BoundServer, build_server
from py_server.logging_service.buffer import BoundedBuffer
from py_server.logging_service.publisher import Publisher
from py_server.logging_service.servicer import LoggingServicer
from py_server.logging_service.sinks import FileSink, KafkaSink
from py_server.logging_service.tail import KafkaTail, LocalHub

SERVICE_NAME = "merch.logging.v1.LoggingService"
# 50,000 records of ~300 bytes is ~15 MB: minutes of a busy store's logs while
# Kafka restarts, within the service's memory budget.
DEFAULT_BUFFER_RECORDS = 50_000


def create_server(address: str, *, log_file, kafka_bootstrap: str | None, kafka_topic: str,
                  buffer_records: int = DEFAULT_BUFFER_RECORDS, service_token: str,
                  workers: int = 16) -> tuple[BoundServer, Publisher, LoggingServicer]:
    """Returns the unstarted server, its (unstarted) publisher and its servicer."""
    buffer = BoundedBuffer(buffer_records)
    if kafka_bootstrap:
        sink, follower = KafkaSink(kafka_bootstrap, kafka_topic), KafkaTail(kafka_bootstrap, kafka_topic)
    else:
        sink, follower = FileSink(log_file), LocalHub()
    publisher = Publisher(buffer, sink)
    chain = [interceptors.ServiceTokenInterceptor(service_token)]
    chain.append(interceptors.ServiceInterceptor())
    # The protos' field rules: a WriteLogs stream's batches are checked one by one as they arrive.
    chain.append(validating.ValidationInterceptor())
    servicer = LoggingServicer(buffer, publisher, follower)
    bound = build_server(
        address,
        [(logging_pb2_grpc.add_LoggingServiceServicer_to_server, servicer, SERVICE_NAME)],
        interceptors=chain,
        workers=workers,
    )
    return bound, publisher, servicer
