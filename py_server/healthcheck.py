"""A container healthcheck: exit 0 when a gRPC service (or an HTTP URL) answers healthy.

    python -m py_server.healthcheck 127.0.0.1:50051          # grpc.health.v1, overall status
    python -m py_server.healthcheck http://127.0.0.1:5000/   # HTTP 200
"""
from __future__ import annotations

import sys
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def grpc_serving(address: str, timeout: float = 3.0) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        except grpc.RpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def http_ok(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    target = sys.argv[1]
    healthy = http_ok(target) if target.startswith(("http://", "https://")) else grpc_serving(target)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
