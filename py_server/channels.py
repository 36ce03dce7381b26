"""gRPC client channels to the store's services, with round-robin over replicas.

`MERCH_DB_ADDR=127.0.0.1:50051,127.0.0.1:50061` becomes one channel that
balances calls over both addresses and reconnects to a replica that returns.
"""
from __future__ import annotations

import ipaddress
import json
import socket

import grpc

_SERVICE_CONFIG = json.dumps({
    "loadBalancingConfig": [{"round_robin": {}}],
    # Transparent retries of calls that never reached a replica (e.g. one just went away).
    "methodConfig": [{
        "name": [{}],
        "retryPolicy": {
            "maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "0.5s",
            "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }],
})


def _ip_literal(host_port: str) -> str:
    """`host:port` with the host as an IP address (names are resolved once, now)."""
    host, _, port = host_port.rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        return host_port
    except ValueError:
        address = socket.getaddrinfo(host, int(port), socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
        return f"{address}:{port}"


def target(addresses: str) -> str:
    """`host:port[,host:port…]` as a gRPC target.

    One address (or any gRPC target such as `dns:///db:50051`, whose name may
    resolve to several replicas) passes through; several addresses use the
    static ipv4/ipv6 resolver.
    """
    parts = [a.strip() for a in addresses.split(",") if a.strip()]
    if not parts:
        raise ValueError("an address list must name at least one host:port")
    if len(parts) == 1:
        return parts[0]
    literals = [_ip_literal(p) for p in parts]
    scheme = "ipv6" if literals[0].startswith("[") else "ipv4"
    return f"{scheme}:{','.join(literals)}"


def open_channel(addresses: str, *, retry_unavailable: bool = False) -> grpc.Channel:
    """A channel over every address in the list, round-robin.

    Retrying UNAVAILABLE is only safe for calls that may be repeated; it is
    off unless asked for (PlaceOrder is not idempotent).
    """
    config = json.loads(_SERVICE_CONFIG)
    if not retry_unavailable:
        config.pop("methodConfig")
    return grpc.insecure_channel(
        target(addresses),
        options=[
            ("grpc.service_config", json.dumps(config)),
            # Stays on even without a retry policy: gRPC then still transparently
            # retries calls that never reached a replica (one that just went away).
            ("grpc.enable_retries", 1),
            ("grpc.keepalive_time_ms", 30_000),
            # Reconnect to a replica that returns within seconds, not gRPC's default of up to 120 s.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 2000),
        ],
    )
